// Finds and runs the real Bicep compiler for the tests and for scripts/deployed-grants.ts, so checks read
// the ARM JSON Azure would deploy instead of guessing at Bicep source. Order: $BICEP_PATH, the copy
// restored from NuGet by scripts/install-bicep.mjs (npm install), `bicep` on PATH, then `az bicep`
// (BICEP_PATH=none: as if there were none).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { arch, platform, tmpdir } from 'node:os';

export const ROOT = resolve(__dirname, '..');
/** Keep in step with BICEP_VERSION in scripts/install-bicep.mjs. */
export const RESTORED_VERSION = '0.49.2';

export interface BicepCli {
  /** How it was found, for messages. */
  readonly description: string;
  /** Runs `bicep <args>` (or `az bicep <args>`) with extra environment; never throws on a non-zero exit. */
  run(args: readonly string[], env?: Record<string, string>): { status: number; stdout: string; stderr: string };
}

function restoredPath(): string | undefined {
  const os = ({ linux: 'linux', darwin: 'osx', win32: 'win' } as Record<string, string>)[platform()];
  const cpu = ({ x64: 'x64', arm64: 'arm64' } as Record<string, string>)[arch()];
  if (!os || !cpu) return undefined;
  const exe = platform() === 'win32' ? 'bicep.exe' : 'bicep';
  const dir = `azure.bicep.commandline.${os}-${cpu}`;
  return join(ROOT, 'node_modules', '.cache', 'bicep', 'packages', dir, RESTORED_VERSION, 'tools', exe);
}

function direct(bin: string, description: string): BicepCli {
  return {
    description,
    run(args, env) {
      const r = spawnSync(bin, args, {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, ...env },
      });
      return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error?.message ?? '') };
    },
  };
}

function works(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

let cached: BicepCli | null | undefined;

/** The compiler, or undefined when none can be had on this machine. */
export function findBicep(): BicepCli | undefined {
  if (cached !== undefined) return cached ?? undefined;
  const fromEnv = process.env.BICEP_PATH;
  const restored = restoredPath();
  // BICEP_PATH=none: behave as a machine without any compiler (how the skip and CI paths are tested).
  if (fromEnv === 'none') cached = null;
  else if (fromEnv && existsSync(fromEnv)) cached = direct(fromEnv, `$BICEP_PATH (${fromEnv})`);
  else if (restored && existsSync(restored)) cached = direct(restored, `restored from NuGet (${restored})`);
  else if (works('bicep', ['--version'])) cached = direct('bicep', 'bicep on PATH');
  else if (works('az', ['bicep', 'version'])) {
    cached = {
      description: 'az bicep',
      run(args, env) {
        const r = spawnSync('az', ['bicep', ...args], {
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
          env: { ...process.env, ...env },
        });
        return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
      },
    };
  } else cached = null;
  return cached ?? undefined;
}

/** What to say when no compiler was found (and why CI fails on it). */
export const NO_COMPILER =
  'no Bicep compiler: none restored by `npm install` (needs dotnet), no `bicep` and no `az bicep` on PATH, and no $BICEP_PATH';

export interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly level: 'Error' | 'Warning' | 'Info';
  readonly code: string;
  readonly message: string;
}

/** Parses `path(line,col) : Level CODE: message` lines, the compiler's diagnostic format. */
export function parseDiagnostics(output: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const m of output.matchAll(/^(.+?)\((\d+),(\d+)\) : (Error|Warning|Info) ([\w-]+): (.*)$/gm)) {
    out.push({
      file: m[1]!,
      line: Number(m[2]),
      column: Number(m[3]),
      level: m[4] as Diagnostic['level'],
      code: m[5]!,
      message: m[6]!,
    });
  }
  return out;
}

const compiled = new Map<string, unknown>();

/**
 * Compiles a .bicep file (path relative to the repository root) to its ARM JSON; throws on errors. Files
 * under bicep/ are compiled all at once the first time (one process: the CLI's start-up dominates).
 */
export function compileBicep(file: string, cli: BicepCli | undefined = findBicep()): ArmTemplate {
  if (!cli) throw new Error(NO_COMPILER);
  if (!compiled.has(file) && file.startsWith('bicep/')) compileAll(cli);
  const hit = compiled.get(file);
  if (hit) return hit as ArmTemplate;
  const r = cli.run(['build', join(ROOT, file), '--stdout']);
  const errors = parseDiagnostics(r.stderr).filter((d) => d.level === 'Error');
  if (r.status !== 0 || errors.length > 0)
    throw new Error(`bicep build ${file} failed (${cli.description}):\n${r.stderr.trim()}`);
  const template = JSON.parse(r.stdout) as ArmTemplate;
  compiled.set(file, template);
  return template;
}

function compileAll(cli: BicepCli): void {
  const out = mkdtempSync(join(tmpdir(), 'bicep-'));
  try {
    const r = cli.run(['build', '--pattern', join(ROOT, 'bicep/**/*.bicep'), '--outdir', out]);
    const errors = parseDiagnostics(r.stdout + r.stderr).filter((d) => d.level === 'Error');
    if (r.status !== 0 || errors.length > 0)
      throw new Error(`bicep build bicep/**/*.bicep failed (${cli.description}):\n${(r.stdout + r.stderr).trim()}`);
    const walk = (dir: string): void => {
      for (const d of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, d.name);
        if (d.isDirectory()) walk(p);
        else if (d.name.endsWith('.json'))
          compiled.set(
            `bicep/${relative(out, p)
              .split(sep)
              .join('/')
              .replace(/\.json$/, '.bicep')}`,
            JSON.parse(readFileSync(p, 'utf8')),
          );
      }
    };
    walk(out);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** The parts of an ARM template the checks read. */
export interface ArmTemplate {
  readonly metadata?: { _generator?: { version?: string } };
  readonly parameters?: Record<string, ArmParameter>;
  readonly variables?: Record<string, unknown>;
  readonly resources: ArmResource[];
  readonly outputs?: Record<string, { type: string; value: unknown; metadata?: { description?: string } }>;
}

export interface ArmParameter {
  readonly type: string;
  readonly defaultValue?: unknown;
  readonly allowedValues?: unknown[];
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minValue?: number;
  readonly maxValue?: number;
  readonly metadata?: { description?: string };
}

export interface ArmResource {
  readonly type: string;
  readonly apiVersion: string;
  readonly name: string;
  readonly condition?: string;
  readonly scope?: string;
  readonly resourceGroup?: string;
  readonly copy?: { name: string; count: string | number };
  readonly existing?: boolean;
  readonly sku?: Record<string, unknown>;
  readonly kind?: string;
  readonly identity?: Record<string, unknown>;
  readonly properties?: Record<string, unknown>;
  readonly dependsOn?: string[];
}

/**
 * For tests: the compiler, or — when none can be had — a skip that says why; under CI=true a missing
 * compiler is a failure instead, so CI never passes without having compiled the Bicep.
 */
export function bicepOrSkip(t: { skip(message?: string): void }): BicepCli | undefined {
  const cli = findBicep();
  if (cli) return cli;
  if (process.env.CI === 'true') throw new Error(`${NO_COMPILER} (CI=true: the Bicep checks must run in CI)`);
  t.skip(NO_COMPILER);
  return undefined;
}
