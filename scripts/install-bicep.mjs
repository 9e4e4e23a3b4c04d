#!/usr/bin/env node
// Restores the Bicep compiler for `npm test` (tests/unit/bicep-*.test.ts) from NuGet, the one registry
// that serves it here: package Azure.Bicep.CommandLine.linux-x64 ships a self-contained `bicep` binary.
// Runs from `npm install` (root postinstall). Where `dotnet` is missing it says so and does nothing: the
// tests then use `bicep` or `az bicep` from PATH, or skip (and fail under CI=true). Nothing is downloaded
// outside the configured NuGet feed; the result lives under node_modules/.cache (already gitignored).
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arch, platform } from 'node:os';

export const BICEP_VERSION = '0.49.2';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE = join(ROOT, 'node_modules', '.cache', 'bicep');

/** NuGet runtime id of this machine, or undefined where Bicep ships no package for it. */
function rid() {
  const os = { linux: 'linux', darwin: 'osx', win32: 'win' }[platform()];
  const cpu = { x64: 'x64', arm64: 'arm64' }[arch()];
  return os && cpu ? `${os}-${cpu}` : undefined;
}

/** Where the restored binary lands (NuGet lower-cases package folders). */
export function restoredBicepPath() {
  const id = rid();
  if (!id) return undefined;
  const exe = platform() === 'win32' ? 'bicep.exe' : 'bicep';
  return join(CACHE, 'packages', `azure.bicep.commandline.${id}`, BICEP_VERSION, 'tools', exe);
}

function main() {
  const strict = process.env.CI === 'true';
  const target = restoredBicepPath();
  const say = (msg) => console.log(`install-bicep: ${msg}`);
  if (!target) {
    say(`no Bicep CLI package for ${platform()}-${arch()}; the Bicep tests will look for bicep or az on PATH`);
    return 0;
  }
  if (existsSync(target)) {
    say(`Bicep ${BICEP_VERSION} already restored at ${target}`);
    return 0;
  }
  const probe = spawnSync('dotnet', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    say('no dotnet on PATH: Bicep not restored; the Bicep tests will look for bicep or az on PATH, else skip');
    return 0;
  }
  // A throwaway project whose only job is PackageDownload: restore fetches the package into --packages
  // without building anything or touching the user's global NuGet cache.
  const project = join(CACHE, 'restore');
  mkdirSync(project, { recursive: true });
  writeFileSync(
    join(project, 'restore.csproj'),
    `<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net${probe.stdout.trim().split('.')[0]}.0</TargetFramework></PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="Azure.Bicep.CommandLine.${rid()}" Version="[${BICEP_VERSION}]" />
  </ItemGroup>
</Project>
`,
  );
  const started = Date.now();
  const r = spawnSync(
    'dotnet',
    ['restore', join(project, 'restore.csproj'), '--packages', join(CACHE, 'packages'), '--nologo'],
    { encoding: 'utf8', env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' } },
  );
  if (r.status !== 0 || !existsSync(target)) {
    const why = `dotnet restore of Azure.Bicep.CommandLine.${rid()} ${BICEP_VERSION} failed:\n${r.stdout}${r.stderr}`;
    if (strict) {
      console.error(`install-bicep: ${why}`);
      return 1;
    }
    say(`${why}\nthe Bicep tests will look for bicep or az on PATH, else skip`);
    return 0;
  }
  // NuGet extracts without the executable bit.
  chmodSync(target, 0o755);
  say(`restored Bicep ${BICEP_VERSION} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${target}`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exit(main());
