// The aci-batch CLI and job arrays (issue 13), in-process over a fake fetch: `tasks ID` prints the
// tasks as a table by index with the array's tally and the not-started count, follows tokens with
// --all, prints the API's JSON with --json; `status` of a parent shows its counts and of a task its
// parent; `list --include-tasks` asks for the tasks; a non-array is the API's 404 (exit 3).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { run, type Io } from '../../cli/src/commands';
import { EXIT } from '../../cli/src/exit-codes';

const PARENT = 'j-abcdefghij0123456789';
const conn = { ACI_BATCH_API: 'http://127.0.0.1:9/api', ACI_BATCH_KEY: 'k', ACI_BATCH_TENANT: 'contoso' };

const counts = (c: Record<string, number>) => ({
  queued: 0,
  provisioning: 0,
  starting: 0,
  running: 0,
  succeeded: 0,
  failed: 0,
  canceled: 0,
  timed_out: 0,
  ...c,
});

function status(id: string, state: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    tenant: 'contoso',
    state,
    phase: state === 'running' ? 'running' : 'done',
    progress: state === 'running' ? 0.5 : 1,
    message: `task says ${state}`,
    attempts: 1,
    maxAttempts: 1,
    image: { ref: 'batch/regime-switching:1.0', digest: null },
    resources: { cpu: 1, memoryGb: 1 },
    container: { name: 'g', state: 'none', exitCode: null, ip: null },
    createdAt: '2026-01-01T00:00:00.000Z',
    startedAt: null,
    finishedAt: null,
    usage: { vcpuSeconds: 0, gbSeconds: 0, estimatedCost: 0, currency: 'EUR' },
    result: null,
    error: null,
    ...extra,
  };
}

/** A fake API: answers by path, records every URL asked for. */
function io(
  answers: (url: URL) => { status: number; body: unknown },
): Io & { out: string[]; err: string[]; urls: URL[] } {
  const out: string[] = [];
  const err: string[] = [];
  const urls: URL[] = [];
  return {
    out,
    err,
    urls,
    stdout: { write: (s) => out.push(String(s)) },
    stderr: { write: (s) => err.push(String(s)) },
    env: { ACI_BATCH_CONFIG: '/nonexistent/config.json', ...conn },
    readInput: () => assert.fail('no file reads'),
    readConfig: () => undefined,
    writeFile: () => assert.fail('no file writes'),
    fetch: (async (input: string | URL) => {
      const url = new URL(String(input));
      urls.push(url);
      const a = answers(url);
      return new Response(JSON.stringify(a.body), {
        status: a.status,
        headers: { 'content-type': 'application/json' },
      });
    }) as typeof fetch,
  };
}

const page = (tasks: unknown[], token: string | null) => ({
  parent: PARENT,
  state: 'running',
  count: 5,
  parallelism: 2,
  counts: counts({ succeeded: 1, failed: 1, running: 1, queued: 2 }),
  notStarted: 2,
  tasks,
  continuationToken: token,
});

const tasksApi = (url: URL) => {
  assert.equal(url.pathname, `/api/tenants/contoso/jobs/${PARENT}/tasks`);
  return url.searchParams.get('continuationToken') === 'next'
    ? { status: 200, body: page([status(`${PARENT}-2`, 'running', { parent: PARENT, index: 2 })], null) }
    : {
        status: 200,
        body: page(
          [
            status(`${PARENT}-0`, 'succeeded', { parent: PARENT, index: 0 }),
            status(`${PARENT}-1`, 'failed', { parent: PARENT, index: 1 }),
          ],
          'next',
        ),
      };
};

describe('aci-batch tasks', () => {
  test('a table by index with the tally and the not-started count; the next page is named', async () => {
    const a = io(tasksApi);
    assert.equal(await run(['tasks', PARENT, '--limit', '2', '--state', 'succeeded'], a), EXIT.ok, a.err.join(''));
    assert.equal(a.urls.length, 1);
    assert.equal(a.urls[0]!.searchParams.get('limit'), '2');
    assert.equal(a.urls[0]!.searchParams.get('state'), 'succeeded');
    const text = a.out.join('');
    assert.match(text, /INDEX\s.*ID\s.*STATE/);
    const rows = text.split('\n').filter((l) => l.includes(`${PARENT}-`));
    assert.equal(rows.length, 2);
    assert.match(rows[0]!, new RegExp(`\\b0\\b.*${PARENT}-0.*succeeded`));
    assert.match(rows[1]!, new RegExp(`\\b1\\b.*${PARENT}-1.*failed`));
    assert.match(
      text,
      /5 tasks of j-\S+ \(running, parallelism 2\): 2 queued, 1 running, 1 succeeded, 1 failed; 2 not started yet/,
    );
    assert.match(text, new RegExp(`more: aci-batch tasks ${PARENT} --continuation-token next`));
  });

  test('--all follows the tokens; --json prints the API document (one, with --all)', async () => {
    const a = io(tasksApi);
    assert.equal(await run(['tasks', PARENT, '--all'], a), EXIT.ok);
    assert.equal(a.urls.length, 2);
    assert.equal(
      a.out
        .join('')
        .split('\n')
        .filter((l) => l.includes(`${PARENT}-`)).length,
      3,
    );
    assert.doesNotMatch(a.out.join(''), /more:/);
    const j = io(tasksApi);
    assert.equal(await run(['tasks', PARENT, '--all', '--json'], j), EXIT.ok);
    const doc = JSON.parse(j.out.join('')) as {
      tasks: { index: number }[];
      continuationToken: null;
      notStarted: number;
    };
    assert.deepEqual(
      doc.tasks.map((t) => t.index),
      [0, 1, 2],
    );
    assert.equal(doc.continuationToken, null);
    assert.equal(doc.notStarted, 2);
    const one = io(tasksApi);
    assert.equal(await run(['tasks', PARENT, '--json'], one), EXIT.ok);
    assert.equal((JSON.parse(one.out.join('')) as { continuationToken: string }).continuationToken, 'next');
  });

  test("a job that is not an array is the API's 404 (exit 3); a bad id or limit is a usage error before sending", async () => {
    const a = io(() => ({ status: 404, body: { error: { code: 'NotFound', message: 'No such job array.' } } }));
    assert.equal(await run(['tasks', PARENT], a), EXIT.api);
    assert.match(a.err.join(''), /404 NotFound: No such job array/);
    for (const argv of [
      ['tasks', 'nope'],
      ['tasks', PARENT, '--limit', 'many'],
    ]) {
      const b = io(() => assert.fail('nothing may be sent'));
      assert.equal(await run(argv, b), EXIT.usage, argv.join(' '));
    }
  });
});

describe('status and list of arrays', () => {
  test('status of a parent shows its tally and the best task; of a task, its parent', async () => {
    const parent = status(PARENT, 'running', {
      array: {
        count: 5,
        parallelism: 2,
        counts: counts({ succeeded: 3, running: 2 }),
        selected: { id: `${PARENT}-3`, index: 3, logLikelihood: -12.5 },
      },
    });
    const a = io(() => ({ status: 200, body: parent }));
    assert.equal(await run(['status', PARENT], a), EXIT.ok);
    const text = a.out.join('');
    assert.match(text, /Tasks\s+5 \(parallelism 2\): 2 running, 3 succeeded/);
    assert.match(text, new RegExp(`Selected\\s+task 3 \\(${PARENT}-3\\), logLikelihood -12.5`));
    assert.match(text, new RegExp(`aci-batch tasks ${PARENT}`));
    const t = io(() => ({ status: 200, body: status(`${PARENT}-4`, 'running', { parent: PARENT, index: 4 }) }));
    assert.equal(await run(['status', `${PARENT}-4`], t), EXIT.ok);
    assert.match(t.out.join(''), new RegExp(`Task\\s+4 of array ${PARENT}`));
    assert.doesNotMatch(t.out.join(''), /Tasks/);
  });

  test('list --include-tasks asks the API for the tasks; plain list does not', async () => {
    const empty = () => ({ status: 200, body: { jobs: [], continuationToken: null } });
    const a = io(empty);
    assert.equal(await run(['list', '--include-tasks'], a), EXIT.ok);
    assert.equal(a.urls[0]!.searchParams.get('includeTasks'), 'true');
    const b = io(empty);
    assert.equal(await run(['list'], b), EXIT.ok);
    assert.equal(b.urls[0]!.searchParams.get('includeTasks'), null);
  });
});
