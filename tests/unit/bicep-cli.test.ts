// scripts/bicep-cli.ts: where no Bicep compiler can be had, the Bicep checks say so and skip, except under
// CI=true, where a missing compiler fails the run (so CI never passes without compiling the Bicep).
// Also the diagnostic parser the compile test relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDiagnostics, RESTORED_VERSION, ROOT } from '../../scripts/bicep-cli';

function runBicepTestsWithoutCompiler(ci: boolean): { status: number | null; out: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, BICEP_PATH: 'none' };
  delete env.CI;
  if (ci) env.CI = 'true';
  // Only the files themselves; the test runner's own context variables would make it a subtest.
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', 'tests/unit/bicep-compile.test.ts'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('without a compiler the Bicep checks skip and say why', () => {
  const r = runBicepTestsWithoutCompiler(false);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /# SKIP no Bicep compiler: none restored by `npm install` \(needs dotnet\)/);
  assert.match(r.out, /^# skipped [1-9]/m);
});

test('without a compiler under CI=true the Bicep checks fail, naming what is missing', () => {
  const r = runBicepTestsWithoutCompiler(true);
  assert.notEqual(r.status, 0, r.out);
  assert.match(r.out, /no Bicep compiler: .* \(CI=true: the Bicep checks must run in CI\)/);
  assert.match(r.out, /^# fail [1-9]/m);
});

test('compiler diagnostics are parsed with file, position, level and code', () => {
  const out =
    "/w/bicep/x.bicep(214,15) : Warning no-unnecessary-dependson: Remove unnecessary dependsOn entry 'vnet'. [https://aka.ms/x]\n" +
    '/w/bicep/main.bicepparam(10,28) : Error BCP333: The provided value is too short.\n' +
    'Bicep CLI version 0.49.2\n';
  assert.deepEqual(parseDiagnostics(out), [
    {
      file: '/w/bicep/x.bicep',
      line: 214,
      column: 15,
      level: 'Warning',
      code: 'no-unnecessary-dependson',
      message: "Remove unnecessary dependsOn entry 'vnet'. [https://aka.ms/x]",
    },
    {
      file: '/w/bicep/main.bicepparam',
      line: 10,
      column: 28,
      level: 'Error',
      code: 'BCP333',
      message: 'The provided value is too short.',
    },
  ]);
});

test('the tests look for the Bicep version npm install restores', () => {
  const script = readFileSync(join(ROOT, 'scripts/install-bicep.mjs'), 'utf8');
  assert.equal(/export const BICEP_VERSION = '([^']+)'/.exec(script)?.[1], RESTORED_VERSION);
});
