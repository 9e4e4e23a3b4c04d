// parseFitInput: defaults, and every problem reported at once with the field it concerns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFitInput, DEFAULT_STARTS, type FieldError } from '../../batch-image/src/model';

const y = Array.from({ length: 100 }, (_, t) => Math.sin(t) + (t > 50 ? 2 : 0));

function errorsOf(raw: unknown): FieldError[] {
  const r = parseFitInput(raw);
  assert.equal(r.ok, false, 'expected the input to be rejected');
  return r.ok ? [] : r.errors;
}

function fields(raw: unknown): string[] {
  return errorsOf(raw).map((e) => e.field);
}

test('valid minimal input gets the documented defaults', () => {
  const r = parseFitInput({ y, k: 2 });
  assert.ok(r.ok);
  assert.equal(r.value.trend, 'c');
  assert.equal(r.value.switchingVariance, true);
  assert.equal(r.value.switchingCoefficients, true);
  assert.equal(r.value.starts, DEFAULT_STARTS);
  assert.equal(typeof r.value.seed, 'number');
  assert.equal(r.value.exog, undefined);
});

test('explicit settings are kept', () => {
  const exog = y.map((v, t) => [t / 10, v * 0.1]);
  const r = parseFitInput({
    y,
    exog,
    k: 3,
    trend: 'n',
    switchingVariance: false,
    switchingCoefficients: true,
    starts: 3,
    seed: 42,
    maxIterations: 100,
    tolerance: 1e-6,
  });
  assert.ok(r.ok);
  assert.deepEqual(
    { ...r.value, y: undefined, exog: undefined },
    {
      y: undefined,
      exog: undefined,
      k: 3,
      trend: 'n',
      switchingVariance: false,
      switchingCoefficients: true,
      starts: 3,
      seed: 42,
      maxIterations: 100,
      tolerance: 1e-6,
    },
  );
  assert.equal(r.value.exog, exog);
});

test('not an object', () => {
  for (const raw of [null, 3, 'y', [1, 2]]) assert.deepEqual(fields(raw), ['']);
});

test('every field error is reported at once, with paths relative to the input', () => {
  const bad = [...y];
  bad[3] = Number.NaN;
  (bad as unknown[])[7] = 'x';
  const errs = errorsOf({
    y: bad,
    k: 5,
    trend: 't',
    switchingVariance: 'yes',
    starts: 0,
    seed: -1,
    tolerance: 0,
    extra: 1,
  });
  const f = errs.map((e) => e.field).sort();
  assert.deepEqual(
    f,
    ['extra', 'k', 'seed', 'starts', 'switchingVariance', 'tolerance', 'trend', 'y[3]', 'y[7]'].sort(),
  );
  for (const e of errs) assert.ok(e.message.length > 10, `message for ${e.field} should say how to fix it`);
  assert.match(errs.find((e) => e.field === 'k')!.message, /2 to 4/);
});

test('missing y and k', () => {
  assert.deepEqual(fields({}).sort(), ['k', 'y']);
});

test('exog: row count, width consistency and cell values', () => {
  assert.deepEqual(fields({ y, k: 2, exog: y.slice(1).map(() => [1]) }), ['exog']);
  const exog = y.map(() => [1, 2]);
  exog[4] = [1];
  (exog[9] as unknown[])[1] = null;
  assert.deepEqual(fields({ y, k: 2, exog }).sort(), ['exog[4]', 'exog[9][1]']);
  assert.deepEqual(fields({ y, k: 2, exog: 'x' }), ['exog']);
  const rows = y.map(() => [0.5]) as unknown[];
  rows[2] = 7;
  assert.deepEqual(fields({ y, k: 2, exog: rows }), ['exog[2]']);
});

test('too few observations for the number of parameters', () => {
  const errs = errorsOf({ y: y.slice(0, 25), k: 4 });
  assert.deepEqual(
    errs.map((e) => e.field),
    ['y'],
  );
  assert.match(errs[0]!.message, /parameters/);
});

test('models where nothing can switch are rejected', () => {
  assert.deepEqual(fields({ y, k: 2, trend: 'n', switchingVariance: false }), ['switchingVariance']);
  assert.deepEqual(fields({ y, k: 2, switchingVariance: false, switchingCoefficients: false }), [
    'switchingCoefficients',
  ]);
});

test('a constant series is rejected', () => {
  assert.deepEqual(fields({ y: y.map(() => 1), k: 2 }), ['y']);
});

test('error list is bounded for huge bad inputs', () => {
  const errs = errorsOf({ y: new Array(5000).fill('a'), k: 2 });
  assert.ok(errs.length <= 20);
});

test('collinear regressors are rejected naming the column', () => {
  const ones = y.map(() => [1]);
  const e1 = errorsOf({ y, k: 2, exog: ones });
  assert.deepEqual(
    e1.map((e) => e.field),
    ['exog[0][0]'],
  );
  assert.match(e1[0]!.message, /constant/);
  assert.deepEqual(fields({ y, k: 2, exog: y.map((_, t) => [t, Math.cos(t), 2 * t + 3]) }), ['exog[0][2]']);
  assert.deepEqual(fields({ y, k: 2, exog: y.map(() => [0]) }), ['exog[0][0]']);
  // Without a constant a column of ones is fine.
  assert.ok(parseFitInput({ y, k: 2, trend: 'n', exog: ones }).ok);
  assert.ok(parseFitInput({ y, k: 2, exog: y.map((_, t) => [t, t * t]) }).ok);
});
