// POST /start validation, table-driven, with the real model validator for model mode.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { regimeSwitchingModel } from '../../batch-image/src/agent/model-runner';
import { MAX_INPUT_DEPTH, parseJobId, planStart, type StartOptions } from '../../batch-image/src/agent/start-request';

const y = Array.from({ length: 40 }, (_, i) => (i < 20 ? 0 : 3) + Math.sin(i));
const MODEL: StartOptions = { expectedJobId: undefined, mode: 'model', defaultCommand: undefined };
const COMMAND: StartOptions = { expectedJobId: undefined, mode: 'command', defaultCommand: undefined };
const WITH_DEFAULT: StartOptions = { expectedJobId: 'job-1', mode: 'command', defaultCommand: ['python', 'main.py'] };

const fieldsOf = (body: unknown, opts: StartOptions): string[] => {
  const r = planStart(body, opts, regimeSwitchingModel.validateInput);
  return r.ok ? [] : r.errors.map((e) => e.field);
};

test('invalid bodies name every bad field at once', () => {
  const cases: [string, unknown, StartOptions, string[]][] = [
    ['not an object', [1, 2], MODEL, ['body']],
    ['null body', null, MODEL, ['body']],
    ['no jobId, no input', {}, MODEL, ['jobId', 'input']],
    ['jobId of the wrong type', { jobId: 42, input: { y, k: 2 } }, MODEL, ['jobId']],
    ['jobId with a newline', { jobId: 'a\nb', input: { y, k: 2 } }, MODEL, ['jobId']],
    ['jobId too long', { jobId: 'x'.repeat(257), input: { y, k: 2 } }, MODEL, ['jobId']],
    [
      'model input errors are prefixed with input.',
      { jobId: 'j', input: { y: [1, null], k: 7 } },
      MODEL,
      ['input.y[1]', 'input.k'],
    ],
    ['env without a command in model mode', { jobId: 'j', input: { y, k: 2 }, env: { A: 'b' } }, MODEL, ['env']],
    ['command of the wrong shape', { jobId: 'j', command: 'python main.py' }, COMMAND, ['command']],
    ['empty command', { jobId: 'j', command: [] }, COMMAND, ['command']],
    [
      'command elements',
      { jobId: 'j', command: [' ', 3, 'ok', 'a\u0000b'] },
      COMMAND,
      ['command[0]', 'command[1]', 'command[3]'],
    ],
    [
      'env names and values',
      { jobId: 'j', command: ['x'], env: { '1A': 'v', B: 2, C: 'ok' } },
      COMMAND,
      ['env.1A', 'env.B'],
    ],
    ['env not an object', { jobId: 'j', command: ['x'], env: ['A=b'] }, COMMAND, ['env']],
    ['command mode without any command', { jobId: 'j' }, COMMAND, ['command']],
    ['JOB_ID mismatch', { jobId: 'job-2' }, WITH_DEFAULT, ['jobId']],
    ['everything wrong at once', { jobId: '', command: [1], env: 5 }, COMMAND, ['jobId', 'command[0]', 'env']],
  ];
  for (const [name, body, opts, fields] of cases) assert.deepEqual(fieldsOf(body, opts), fields, name);
});

test('every error says what is wrong', () => {
  const r = planStart({ jobId: 'j', command: ['x'], env: { B: 2 } }, COMMAND, regimeSwitchingModel.validateInput);
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.errors.every((e) => e.message.length > 5));
});

test('valid bodies become plans', () => {
  const model = planStart({ jobId: 'j', input: { y, k: 2 } }, MODEL, regimeSwitchingModel.validateInput);
  assert.ok(model.ok && model.plan.mode === 'model');
  assert.equal(
    (model.plan.input as { starts: number }).starts,
    8,
    'the validated input, with the model defaults filled in',
  );

  const explicit = planStart(
    { jobId: 'j', command: ['python', '-c', ''], env: { A: '1' }, input: [1] },
    MODEL,
    regimeSwitchingModel.validateInput,
  );
  assert.deepEqual(explicit, {
    ok: true,
    plan: { mode: 'command', jobId: 'j', command: ['python', '-c', ''], env: { A: '1' }, input: [1] },
  });

  const byDefault = planStart(
    { jobId: 'job-1', input: { any: 'thing' }, unknownField: true },
    WITH_DEFAULT,
    regimeSwitchingModel.validateInput,
  );
  assert.deepEqual(byDefault, {
    ok: true,
    plan: { mode: 'command', jobId: 'job-1', command: ['python', 'main.py'], env: {}, input: { any: 'thing' } },
  });
});

test('parseJobId reads just enough for idempotency and 409', () => {
  assert.deepEqual(parseJobId({ jobId: 'a', input: 'garbage' }, undefined), { jobId: 'a' });
  assert.deepEqual(parseJobId({ jobId: 'a' }, 'b'), {
    errors: [{ field: 'jobId', message: "does not match this container's JOB_ID" }],
  });
  assert.ok('errors' in parseJobId('x', undefined));
});

test('non-finite numbers in the input are refused, each named (JSON.parse reads 1e309 as Infinity)', () => {
  const parse = (text: string): unknown => JSON.parse(text);
  const cases: [string, unknown, StartOptions, string[]][] = [
    [
      'command input, nested',
      parse('{"jobId":"j","command":["x"],"input":{"a":[1,1e309],"b":{"c":-1e309},"my key":1e400}}'),
      COMMAND,
      ['input.a[1]', 'input.b.c', 'input["my key"]'],
    ],
    ['command input, top level', parse('{"jobId":"j","command":["x"],"input":1e309}'), COMMAND, ['input']],
    [
      'model input: y, exog and tolerance',
      parse(
        `{"jobId":"j","input":{"y":[${y.slice(0, 39).join(',')},1e309],"exog":[${y.map((_, i) => (i === 3 ? '[-1e999]' : `[${i % 7}]`)).join(',')}],"k":2,"tolerance":1e309}}`,
      ),
      MODEL,
      ['input.y[39]', 'input.tolerance', 'input.exog[3][0]'],
    ],
  ];
  for (const [name, body, opts, fields] of cases) assert.deepEqual(fieldsOf(body, opts), fields, name);
  const r = planStart(parse('{"jobId":"j","command":["x"],"input":{"a":1e309}}'), COMMAND, () => ({
    ok: true,
    value: null,
  }));
  assert.ok(!r.ok && /finite number, got Infinity/.test(r.errors[0]!.message));
});

test('command input nested deeper than MAX_INPUT_DEPTH is refused (writing it to INPUT_FILE would overflow)', () => {
  const deep = JSON.parse('{"jobId":"j","command":["x"],"input":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}');
  assert.deepEqual(fieldsOf(deep, COMMAND), [`input${'[0]'.repeat(MAX_INPUT_DEPTH)}`]);
  const ok = JSON.parse(
    '{"jobId":"j","command":["x"],"input":' + '['.repeat(MAX_INPUT_DEPTH) + ']'.repeat(MAX_INPUT_DEPTH) + '}',
  );
  assert.deepEqual(fieldsOf(ok, COMMAND), []);
});
