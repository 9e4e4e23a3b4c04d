// The degenerate-fit rules (issue 10 item 7): assessFit's table on constructed facts, then end to end
// through fitModel — a series that only a collapsed regime can fit is reported unusable, a clean fit
// has no warnings, an unconverged one is usable with a NotConverged warning — and the CLI's exit 3.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assessFit, fitModel, parseFitInput, type FitInput } from '../../batch-image/src/model';
import type { FitFacts } from '../../batch-image/src/model/diagnostics';

const root = join(__dirname, '..', '..');

/** Two regimes (means 0 and 3, long spells) with nothing degenerate about them. */
const CLEAN: FitFacts = {
  k: 2,
  p: 1,
  switchingCoefficients: true,
  switchingVariance: true,
  varianceY: 2.5,
  logLikelihood: -300,
  converged: true,
  occupancy: [120, 80],
  sigma2: [1, 0.25],
  regimesWithoutStandardErrors: [],
};

/** 57 zeros and 3 spikes: a regime on the zeros has variance → 0 and an unbounded likelihood. */
const ZEROS_AND_SPIKES = Array.from({ length: 60 }, (_, t) => (t % 20 === 7 ? 1 + t / 10 : 0));

function input(raw: Record<string, unknown>): FitInput {
  const r = parseFitInput(raw);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.value;
}

const codes = (f: FitFacts): [string, number | undefined, boolean][] =>
  assessFit(f).warnings.map((w) => [w.code, w.regime, w.fatal]);

test('assessFit: each rule on its own, fatal ones make the fit unusable', () => {
  assert.deepEqual(assessFit(CLEAN), { usable: true, warnings: [] });
  const cases: [string, Partial<FitFacts>, [string, number | undefined, boolean][]][] = [
    // Fewer expected observations than coefficients + 1 (here 1 + 1).
    ['regime on one observation', { occupancy: [199.2, 0.8] }, [['RegimeCollapsed', 1, true]]],
    ['variance below 1e-6 var(y)', { sigma2: [1, 2e-6] }, [['VarianceCollapsed', 1, true]]],
    ['log-likelihood not finite', { logLikelihood: Infinity }, [['LikelihoodNotFinite', undefined, true]]],
    // 5 per regime-specific parameter: a constant and a variance → 10.
    ['small regime', { occupancy: [191, 9] }, [['SmallRegime', 1, false]]],
    ['variance ratio below 1e-3', { sigma2: [1, 5e-4] }, [['NearlyCollapsedVariance', 1, false]]],
    ['common variance: no ratio rule', { sigma2: [1, 5e-4], switchingVariance: false }, []],
    ['not converged', { converged: false }, [['NotConverged', undefined, false]]],
    ['no standard errors', { regimesWithoutStandardErrors: [0] }, [['StandardErrorsUnavailable', undefined, false]]],
  ];
  for (const [name, change, expected] of cases) {
    const facts = { ...CLEAN, ...change };
    assert.deepEqual(codes(facts), expected, name);
    assert.equal(assessFit(facts).usable, !expected.some(([, , fatal]) => fatal), name);
  }
  const collapsed = assessFit({ ...CLEAN, sigma2: [1, 1e-9] }).warnings[0]!;
  assert.match(collapsed.message, /regime 1's variance .* below 0.000001 × var\(y\)/);
  assert.match(collapsed.message, /use fewer regimes \(k\), set switchingVariance to false/);
});

test('a series only a collapsed regime can fit is unusable, with the regime and the rule named', async () => {
  const r = await fitModel(input({ y: ZEROS_AND_SPIKES, k: 2, starts: 4 }), { workers: 1 });
  assert.equal(r.usable, false);
  assert.ok(
    r.starts.every((s) => s.degenerate),
    'every start is degenerate, so a degenerate one had to win',
  );
  const fatal = r.warnings.filter((w) => w.fatal);
  assert.deepEqual(
    fatal.map((w) => [w.code, w.regime]),
    [['VarianceCollapsed', 0]],
  );
  assert.ok(r.regimes[0]!.sigma2 < 1e-6 * 0.5, 'the zeros regime has (almost) no variance');
});

test('a clean fit has no warnings; an unconverged one is usable with NotConverged', async () => {
  let s = 7;
  const u = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  const n = (): number => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const y = Array.from({ length: 200 }, (_, t) => (Math.floor(t / 40) % 2 === 0 ? n() : 3 + 0.5 * n()));
  const clean = await fitModel(input({ y, k: 2, starts: 2 }), { workers: 1 });
  assert.equal(clean.usable, true);
  assert.deepEqual(clean.warnings, []);
  const early = await fitModel(input({ y, k: 2, starts: 1, maxIterations: 2 }), { workers: 1 });
  assert.equal(early.usable, true);
  assert.deepEqual(
    early.warnings.map((w) => w.code),
    ['NotConverged'],
  );
});

test('CLI: a degenerate fit prints its result and exits 3 with the reason on stderr', () => {
  const dir = mkdtempSync(join(tmpdir(), 'model-degenerate-'));
  try {
    const file = join(dir, 'in.json');
    writeFileSync(file, JSON.stringify({ y: ZEROS_AND_SPIKES, k: 2, starts: 2 }));
    const cli = join(root, 'batch-image', 'src', 'fit-cli.ts');
    const run = spawnSync(process.execPath, ['--import', 'tsx', cli, file, '--workers', '1', '--quiet'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 3, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { usable: boolean }).usable, false);
    assert.match(run.stderr, /error VarianceCollapsed: regime 0's variance/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
