// The aci-batch CLI's argument and configuration handling, in-process: submit flags → job body
// (every problem at once, naming the flag), where the API/key/tenant come from (flags > ACI_BATCH_*
// > profile file), exit codes of usage errors (nothing is sent), API errors → code and message, and
// the log cursor that prints only new text while following.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorOf } from '../../cli/src/api-client';
import { run, type Io } from '../../cli/src/commands';
import { configPath, resolveConnection, type ReadText } from '../../cli/src/config';
import { CliError, EXIT } from '../../cli/src/exit-codes';
import { buildJobBody } from '../../cli/src/job-body';
import { LogCursor } from '../../cli/src/logs';

const noFile: ReadText = () => undefined;
const fileOf =
  (doc: unknown, mode = 0o100600): ReadText =>
  () => ({ text: typeof doc === 'string' ? doc : JSON.stringify(doc), mode });

function problemsOf(fn: () => unknown): { code: number; message: string; details: string[] } {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CliError, `a CliError, not ${String(e)}`);
    return { code: e.exitCode, message: e.message, details: e.details };
  }
  assert.fail('expected an error');
}

describe('submit flags → job body', () => {
  const ctx = { readInput: (p: string) => (p === 'in.json' ? '{"y":[1,2],"k":2}' : '{bad'), env: { TOKEN: 's3cret' } };

  test('every flag lands on its API field', () => {
    const body = buildJobBody(
      {
        input: 'in.json',
        image: 'batch/regime-switching:1.0',
        cpu: '2',
        memory: '1.5',
        env: ['A=1', 'B=x=y'],
        secureEnv: ['TOKEN', 'OTHER=v'],
        timeout: '30',
        onComplete: 'keep',
        onFailure: 'restart',
        maxAttempts: '3',
        priority: 'Spot',
        webhook: 'https://example.org/hook',
        array: '{"count": 4, "parallelism": 2}',
        dependsOn: ['j-abcdefghij0123456789:succeeded', 'j-0123456789abcdefghij'],
        retry: '{"attempts": 3}',
      },
      ['python', 'run.py'],
      ctx,
    );
    assert.deepEqual(body, {
      input: { y: [1, 2], k: 2 },
      image: 'batch/regime-switching:1.0',
      cpu: 2,
      memoryGb: 1.5,
      timeoutMinutes: 30,
      maxAttempts: 3,
      env: { A: '1', B: 'x=y' },
      secureEnv: { TOKEN: 's3cret', OTHER: 'v' },
      command: ['python', 'run.py'],
      onComplete: 'keep',
      onFailure: 'restart',
      priority: 'Spot',
      notify: { webhookUrl: 'https://example.org/hook' },
      array: { count: 4, parallelism: 2 },
      retry: { attempts: 3 },
      dependsOn: [{ job: 'j-abcdefghij0123456789', condition: 'succeeded' }, { job: 'j-0123456789abcdefghij' }],
    });
    assert.deepEqual(buildJobBody({ priority: '500', command: '["sleep", "1"]' }, [], ctx), {
      priority: 500,
      command: ['sleep', '1'],
    });
  });

  test('every bad flag is reported at once, naming the flag and the fix; exit code 2', () => {
    const p = problemsOf(() =>
      buildJobBody(
        {
          input: 'broken.json',
          cpu: '-1',
          memory: 'lots',
          maxAttempts: '1.5',
          env: ['NOVALUE', '1BAD=x'],
          secureEnv: ['MISSING'],
          command: '"sleep"',
          array: '[1]',
          retry: '{not json',
          dependsOn: ['j-short', 'j-abcdefghij0123456789:maybe'],
        },
        ['also-positional'],
        ctx,
      ),
    );
    assert.equal(p.code, EXIT.usage);
    const expected = [
      /^--input: broken\.json is not JSON/,
      /^--cpu: "-1" must be a positive number/,
      /^--memory: "lots" must be a positive number/,
      /^--max-attempts: "1\.5" must be a positive whole number/,
      /^--env: "NOVALUE" must be NAME=VALUE/,
      /^--env: "1BAD" is not a variable name/,
      /^--secure-env: MISSING has no value: write MISSING=VALUE, or export MISSING/,
      /^--command: give the command either as --command JSON or after --, not both/,
      /^--command: must be a non-empty JSON array of strings/,
      /^--array: must be a JSON object/,
      /^--retry: not JSON/,
      /^--depends-on: "j-short" must be JOB_ID\[:succeeded\|finished\]/,
      /^--depends-on: condition "maybe" must be one of succeeded, finished/,
    ];
    for (const re of expected)
      assert.ok(
        p.details.some((d) => re.test(d)),
        `${re} among:\n${p.details.join('\n')}`,
      );
    assert.equal(p.details.length, expected.length, p.details.join('\n'));
  });

  test('an unreadable input file names the file and the reason', () => {
    const p = problemsOf(() =>
      buildJobBody({ input: 'gone.json' }, [], {
        readInput: () => {
          throw Object.assign(new Error('nope'), { code: 'ENOENT' });
        },
        env: {},
      }),
    );
    assert.deepEqual(p.details, ['--input: cannot read gone.json (ENOENT)']);
  });
});

describe('connection: flags > ACI_BATCH_* > profile', () => {
  const file = {
    defaultProfile: 'local',
    profiles: {
      local: { api: 'http://127.0.0.1:7071/api/', key: 'file-key', tenant: 'contoso' },
      prod: { api: 'https://batch.example.org', key: 'prod-key', tenant: 'fabrikam' },
    },
  };

  test('the profile file supplies what flags and variables do not, and the sources say so', () => {
    const c = resolveConnection({}, { ACI_BATCH_CONFIG: '/cfg.json', ACI_BATCH_TENANT: 'other' }, fileOf(file));
    assert.equal(c.api, 'http://127.0.0.1:7071/api', 'trailing slash removed');
    assert.equal(c.key, 'file-key');
    assert.equal(c.tenant, 'other', 'the variable beats the profile');
    assert.deepEqual(c.sources, {
      api: 'profile "local" in /cfg.json',
      key: 'profile "local" in /cfg.json',
      tenant: 'ACI_BATCH_TENANT',
    });
    const flags = resolveConnection(
      { api: 'http://127.0.0.2:9/api', key: 'flag-key', tenant: 'flagged' },
      { ACI_BATCH_API: 'http://x/api', ACI_BATCH_KEY: 'env-key', ACI_BATCH_CONFIG: '/cfg.json' },
      fileOf(file),
    );
    assert.deepEqual([flags.api, flags.key, flags.tenant], ['http://127.0.0.2:9/api', 'flag-key', 'flagged']);
  });

  test('--profile, then ACI_BATCH_PROFILE, chooses the profile; a bare origin gets the /api prefix', () => {
    const env = { ACI_BATCH_CONFIG: '/cfg.json', ACI_BATCH_PROFILE: 'local' };
    const c = resolveConnection({ profile: 'prod' }, env, fileOf(file));
    assert.deepEqual([c.api, c.key, c.tenant], ['https://batch.example.org/api', 'prod-key', 'fabrikam']);
    assert.equal(resolveConnection({}, env, fileOf(file)).key, 'file-key');
  });

  test('the default path follows XDG_CONFIG_HOME, else ~/.config', () => {
    assert.equal(configPath({}, '/home/u'), '/home/u/.config/aci-batch/config.json');
    assert.equal(configPath({ XDG_CONFIG_HOME: '/x' }, '/home/u'), '/x/aci-batch/config.json');
  });

  test('missing values are all listed with how to set them', () => {
    const p = problemsOf(() => resolveConnection({}, {}, noFile));
    assert.equal(p.code, EXIT.usage);
    assert.equal(p.details.length, 3, p.details.join('\n'));
    assert.match(p.details[0]!, /^api: set --api URL, ACI_BATCH_API/);
    assert.match(p.details[1]!, /^key: set ACI_BATCH_KEY/);
    assert.match(p.details[2]!, /^tenant: set --tenant T, ACI_BATCH_TENANT/);
  });

  test('bad values name their source', () => {
    const p = problemsOf(() =>
      resolveConnection({ api: 'ftp://h/api', tenant: 'Bad_Tenant' }, { ACI_BATCH_KEY: 'k' }, noFile),
    );
    assert.match(p.details[0]!, /^api \(from --api\): "ftp:\/\/h\/api" is not an http\(s\) URL/);
    assert.match(p.details[1]!, /^tenant \(from --tenant\): "Bad_Tenant" must be lower-case/);
    const creds = problemsOf(() => resolveConnection({ api: 'https://u:p@h/api', key: 'k', tenant: 't' }, {}, noFile));
    assert.match(creds.details[0]!, /credentials in the URL/);
  });

  test('profile file problems name the field; an unknown profile lists the known ones', () => {
    const bad = problemsOf(() =>
      resolveConnection({}, {}, fileOf({ defaultProfile: 'nope', profiles: { a: { api: 3, token: 'x' } }, extra: 1 })),
    );
    assert.deepEqual(bad.details, [
      'extra: unknown field (allowed: defaultProfile, profiles)',
      'profiles.a.api: must be a non-empty string',
      'profiles.a.token: unknown field (allowed: api, key, tenant)',
      'defaultProfile: no profile named "nope" in profiles',
    ]);
    assert.match(problemsOf(() => resolveConnection({}, {}, fileOf('{oops'))).message, /is not valid JSON/);
    assert.match(
      problemsOf(() => resolveConnection({ profile: 'staging' }, {}, fileOf(file))).message,
      /no profile named "staging" in .*; profiles there: local, prod/,
    );
    assert.match(
      problemsOf(() => resolveConnection({ profile: 'x' }, { ACI_BATCH_CONFIG: '/none' }, noFile)).message,
      /there is no profile file at \/none/,
    );
  });

  test('a profile file others can read draws a warning with the fix', () => {
    const warnings: string[] = [];
    resolveConnection({}, { ACI_BATCH_CONFIG: '/cfg.json' }, fileOf(file, 0o100644), (w) => warnings.push(w));
    assert.deepEqual(warnings, ['/cfg.json can be read by other users and holds API keys: chmod 600 /cfg.json']);
  });
});

describe('run(): exit codes without the network', () => {
  function io(env: NodeJS.ProcessEnv = {}): Io & { out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      stdout: { write: (s) => out.push(String(s)) },
      stderr: { write: (s) => err.push(String(s)) },
      env: { ACI_BATCH_CONFIG: '/nonexistent/config.json', ...env },
      readInput: () => {
        throw new Error('no file reads in this test');
      },
      readConfig: noFile,
      writeFile: () => assert.fail('no file writes in this test'),
      // Usage errors must be found before anything is sent.
      fetch: () => assert.fail('nothing may be sent'),
    };
  }
  const conn = { ACI_BATCH_API: 'http://127.0.0.1:9/api', ACI_BATCH_KEY: 'k', ACI_BATCH_TENANT: 'contoso' };

  test('--help and --version exit 0', async () => {
    const a = io();
    assert.equal(await run(['--help'], a), EXIT.ok);
    assert.match(a.out.join(''), /Usage: aci-batch/);
    assert.match(a.out.join(''), /Exit codes: 0 ok, 1 job failed/);
    assert.equal(await run(['--version'], io()), EXIT.ok);
  });

  test('unknown commands and options, missing arguments and bad values exit 2', async () => {
    for (const argv of [
      ['frobnicate'],
      ['status'],
      ['submit', '--bogus'],
      ['submit', '--on-complete', 'explode'],
      ['status', 'not-a-job-id'],
      ['submit', '--cpu', 'many'],
      ['logs', 'j-abcdefghij0123456789', '--tail', 'ten'],
      ['artifacts', 'get', 'j-abcdefghij0123456789', '../etc/passwd'],
    ]) {
      const a = io(conn);
      assert.equal(await run(argv, a), EXIT.usage, `${argv.join(' ')} → 2; stderr: ${a.err.join('')}`);
      assert.notEqual(a.err.join(''), '', `${argv.join(' ')} says why`);
    }
  });

  test('no connection configured: exit 2 naming what to set; --json puts the error as JSON on stderr', async () => {
    const a = io();
    assert.equal(await run(['list'], a), EXIT.usage);
    assert.match(a.err.join(''), /cannot tell which API to call:\n {2}- api: set --api URL/);
    const j = io();
    assert.equal(await run(['list', '--json'], j), EXIT.usage);
    const doc = JSON.parse(j.err.join('')) as { error: { code: string }; problems: string[]; exitCode: number };
    assert.equal(doc.error.code, 'UsageError');
    assert.equal(doc.exitCode, 2);
    assert.equal(doc.problems.length, 3);
    assert.deepEqual(j.out, [], 'stdout stays clean for the JSON consumer');
  });
});

describe('API errors → message and exit code', () => {
  const answer = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers });

  test("the API's code, message and field details are kept; auth is 4, other errors 3", async () => {
    const v = await errorOf(
      answer(400, {
        error: {
          code: 'ValidationFailed',
          message: 'The request is invalid',
          details: [{ field: 'cpu', message: 'too big' }],
        },
      }),
      'POST',
      '/tenants/t/jobs',
    );
    assert.equal(v.exitCode, EXIT.api);
    assert.equal(v.message, '400 ValidationFailed: The request is invalid');
    assert.deepEqual(v.details, ['cpu: too big']);
    const auth = await errorOf(answer(401, { error: { code: 'Unauthorized', message: 'Missing key' } }), 'GET', '/x');
    assert.equal(auth.exitCode, EXIT.auth);
    assert.equal(
      (await errorOf(answer(403, { error: { code: 'Forbidden', message: 'no' } }), 'GET', '/x')).exitCode,
      4,
    );
    const busy = await errorOf(
      answer(429, { error: { code: 'QueueFull', message: 'full' } }, { 'retry-after': '8' }),
      'POST',
      '/x',
    );
    assert.equal(busy.message, '429 QueueFull: full (retry after 8 s)');
  });

  test("a job 404 is an API error; a 404 from a route the controller lacks is 'not available' (5)", async () => {
    const job = await errorOf(answer(404, { error: { code: 'NotFound', message: 'job not found' } }), 'GET', '/j');
    assert.equal(job.exitCode, EXIT.api);
    const local = await errorOf(
      answer(404, { error: { code: 'RouteNotFound', message: 'No function serves GET /x' } }),
      'GET',
      '/x',
      'artifacts',
    );
    assert.equal(local.exitCode, EXIT.unavailable);
    assert.match(local.message, /^artifacts is not available on this API \(404 RouteNotFound/);
    // Azure's host answers an unknown route with an empty 404.
    const azure = await errorOf(answer(404, ''), 'GET', '/x', 'artifacts');
    assert.equal(azure.exitCode, EXIT.unavailable);
  });
});

describe('following logs prints only new text', () => {
  test('growing reads, a repeated read and a stream in chunks', () => {
    const c = new LogCursor(false);
    assert.equal(c.next('a\n', false), 'a\n');
    assert.equal(c.next('a\nb', false), 'b');
    assert.equal(c.next('a', false), '', 'a new read that has not caught up yet prints nothing');
    assert.equal(c.next('a\nb\nc\n', false), '\nc\n');
  });

  test('a first read of the tail anchors the later full reads', () => {
    const c = new LogCursor(true);
    assert.equal(c.next('l9\nl10\n', true), 'l9\nl10\n');
    assert.equal(c.next('l1\nl2\n', false), '', 'a full read still behind the anchor');
    assert.equal(c.next('l1\n…\nl9\nl10\nl11\n', false), 'l11\n');
    assert.equal(c.next('l1\n…\nl9\nl10\nl11\nl12\n', false), 'l12\n');
  });

  test('a rewritten log (live copy then archived copy) prints only what lies beyond', () => {
    const c = new LogCursor(false);
    c.next('live line 1\n', false);
    assert.equal(c.next('LIVE LINE 1\nfinal\n', false), 'final\n');
  });
});
