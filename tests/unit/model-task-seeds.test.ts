// Job arrays (issue 13), the model's side: task i of an array runs starts i·S … i·S+S−1 of the seed's
// one sequence, so tasks explore different starts, task 0 is the plain fit, and together the tasks
// run exactly the starts of one fit with count·S starts; the result says which task it was.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitModel, parseFitInput, type FitInput, type FitResult } from '../../batch-image/src/model';

function input(raw: Record<string, unknown>): FitInput {
  const r = parseFitInput(raw);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.value;
}

/** Seeded series with three mean levels: starts land on different optima, so they are told apart. */
function series(): number[] {
  let s = 3;
  const u = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  const n = (): number => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return Array.from({ length: 150 }, (_, t) => [0, 2, 5][Math.floor(t / 25) % 3]! + n());
}

const startsOf = (r: FitResult): unknown[] =>
  r.starts.map((s) => ({ seed: s.seed, globalIndex: s.globalIndex, logLikelihood: s.logLikelihood }));

test('task i/N runs starts i·S… of one sequence: two tasks of 2 starts = one fit of 4 starts', async () => {
  const base = { y: series(), k: 2, seed: 11 };
  const whole = await fitModel(input({ ...base, starts: 4 }), { workers: 1 });
  const t0 = await fitModel(input({ ...base, starts: 2 }), { workers: 1, task: { index: 0, count: 2 } });
  const t1 = await fitModel(input({ ...base, starts: 2 }), { workers: 1, task: { index: 1, count: 2 } });
  assert.deepEqual(startsOf(t0), startsOf(whole).slice(0, 2));
  assert.deepEqual(startsOf(t1), startsOf(whole).slice(2, 4));
  assert.deepEqual(
    t1.starts.map((s) => s.globalIndex),
    [2, 3],
  );
  assert.notDeepEqual(
    t1.starts.map((s) => s.seed),
    t0.starts.map((s) => s.seed),
    'the tasks draw different starts',
  );
  assert.deepEqual(t1.task, { index: 1, count: 2 });
  assert.equal(whole.task, null);
  // select "best" over the tasks finds the whole fit's optimum.
  const best = Math.max(t0.logLikelihood, t1.logLikelihood);
  assert.ok(
    Math.abs(best - whole.logLikelihood) <= 1e-9 * Math.abs(whole.logLikelihood),
    `${best} vs ${whole.logLikelihood}`,
  );
});

test('task 0 is the plain fit (same starts, same estimate); a bad task is refused', async () => {
  const base = input({ y: series(), k: 2, starts: 2, seed: 5 });
  const plain = await fitModel(base, { workers: 1 });
  const task0 = await fitModel(base, { workers: 1, task: { index: 0, count: 7 } });
  assert.deepEqual(startsOf(task0), startsOf(plain));
  assert.equal(task0.logLikelihood, plain.logLikelihood);
  await assert.rejects(fitModel(base, { task: { index: 3, count: 3 } }), /0 <= index < count/);
});
