// The API's results, logs and operator routes on the real local stack (emulator + Azurite + the
// functions host running orchestration/): every link in a finished job's status opens with the
// tenant's key (the chart as image/svg+xml) and is 404 to another tenant's; the artifacts listing;
// `logs?follow=true&since=` followed to the job's end gives the whole log; the operator routes
// answer the local operator key, 403 to a tenant key and 401 without one; usage as CSV.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateRegimeSeries, modelInput } from '../../local/stack/demo-data';
import { LOCAL_OPERATOR_KEY } from '../../local/stack/settings';
import { KEYS, startTestStack, stopAndCheck, waitForEnd, type TestStack } from '../fixtures/stack/harness';

let ts: TestStack | undefined;
const stack = (): TestStack => {
  assert.ok(ts, 'the stack did not start (see the before hook)');
  return ts;
};

before(async () => {
  ts = await startTestStack('api-results');
});

after(async () => {
  await stopAndCheck(ts);
});

/** GET with a key and a deadline; the body as bytes. */
async function get(url: string, key?: string, headers: Record<string, string> = {}) {
  const r = await fetch(url, {
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    signal: AbortSignal.timeout(30_000),
  });
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
}

describe('API results, logs and operator routes', { concurrency: true }, () => {
  test("every link in a finished job's status answers 200 to its tenant and 404 to another's", async () => {
    const t = stack();
    const series = generateRegimeSeries({ n: 150, mu: [0, 3], sigma2: [0.25, 0.5], stay: [0.95, 0.95], seed: 5 });
    const { id } = await t.contoso.submitOk({ input: modelInput(series, 2) });
    const final = await waitForEnd(t, t.contoso, id, 120_000);
    assert.equal(final.state, 'succeeded', await t.explain(t.contoso, id));
    const urls = (final as unknown as { result: { urls: Record<string, string> } }).result.urls;
    assert.ok(urls['chart.svg'] && urls.result && urls.logs, `result.urls: ${JSON.stringify(urls)}`);
    for (const [key, link] of Object.entries(urls)) {
      assert.match(link, new RegExp(`^/api/tenants/contoso/jobs/${id}/artifacts/`), key);
      const url = new URL(link, t.stack.apiBaseUrl).toString();
      const mine = await get(url, KEYS.contoso);
      assert.equal(mine.status, 200, `${key} ${link}: ${mine.body.toString().slice(0, 300)}`);
      assert.ok(mine.body.length > 0, `${key} is not empty`);
      assert.equal((await get(url, KEYS.fabrikam)).status, 404, `${key} with fabrikam's key`);
      assert.equal((await get(url)).status, 401, `${key} without a key`);
    }
    const chart = await get(new URL(urls['chart.svg'], t.stack.apiBaseUrl).toString(), KEYS.contoso);
    assert.equal(chart.headers.get('content-type'), 'image/svg+xml');
    assert.match(chart.body.toString('utf8'), /<svg[\s>]/);
    const list = await get(`${t.stack.apiBaseUrl}/tenants/contoso/jobs/${id}/artifacts`, KEYS.contoso);
    assert.equal(list.status, 200);
    const names = (JSON.parse(list.body.toString()) as { artifacts: { name: string }[] }).artifacts.map((a) => a.name);
    for (const n of ['chart.svg', 'logs.txt', 'result.json'])
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
  });

  test('logs?follow=true&since= followed to the end gives the whole log', async () => {
    const t = stack();
    const { id } = await t.fabrikam.submitOk({
      image: 'test/sleep:1.0',
      env: { SLEEP_MS: '4000' },
      cpu: 0.5,
      memoryGb: 0.5,
    });
    const base = `${t.stack.apiBaseUrl}/tenants/fabrikam/jobs/${id}/logs`;
    let since = 0;
    let text = '';
    let state = '';
    let answers = 0;
    const deadline = Date.now() + 120_000;
    while (!['succeeded', 'failed', 'canceled', 'timed_out'].includes(state)) {
      assert.ok(Date.now() < deadline, `follow did not end; state ${state}, text so far: ${text}`);
      const r = await get(`${base}?follow=true&since=${since}`, KEYS.fabrikam);
      assert.equal(r.status, 200, r.body.toString());
      text += r.body.toString('utf8');
      since = Number(r.headers.get('x-log-offset'));
      state = r.headers.get('x-job-state') ?? '';
      answers++;
    }
    assert.equal(state, 'succeeded', await t.explain(t.fabrikam, id));
    const archived = await get(base, KEYS.fabrikam);
    assert.equal(text, archived.body.toString('utf8'), `followed text (${answers} answers) = the archived log`);
    assert.match(text, /sleep: done/);
    const tail = await get(`${base}?tail=1`, KEYS.fabrikam);
    assert.equal(tail.body.toString('utf8').split('\n').filter(Boolean).length, 1);
  });

  test('operator routes: the operator key 200, a tenant key 403, no key 401; usage as CSV', async () => {
    const t = stack();
    const api = t.stack.apiBaseUrl;
    for (const route of ['tenants', 'groups', 'capacity', 'usage']) {
      const ok = await get(`${api}/admin/${route}`, LOCAL_OPERATOR_KEY);
      assert.equal(ok.status, 200, `${route}: ${ok.body.toString().slice(0, 300)}`);
      assert.equal((await get(`${api}/admin/${route}`, KEYS.contoso)).status, 403, route);
      assert.equal((await get(`${api}/admin/${route}`)).status, 401, route);
    }
    const tenants = JSON.parse((await get(`${api}/admin/tenants`, LOCAL_OPERATOR_KEY)).body.toString()) as {
      tenants: { id: string }[];
    };
    assert.deepEqual(tenants.tenants.map((x) => x.id).sort(), ['contoso', 'fabrikam']);
    const capacity = JSON.parse((await get(`${api}/admin/capacity`, LOCAL_OPERATOR_KEY)).body.toString()) as {
      cores: { used: number; max: number };
    };
    assert.ok(capacity.cores.max > 0);
    const csv = await get(`${api}/tenants/contoso/usage?groupBy=day`, KEYS.contoso, { accept: 'text/csv' });
    assert.equal(csv.status, 200);
    assert.match(csv.body.toString(), /^tenant,day,jobs,vcpuSeconds,gbSeconds,estimatedCost,currency\r\n/);
  });
});
