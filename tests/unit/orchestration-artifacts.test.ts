// Artifacts, result links and logs over in-memory ports: the listing (name, contentType, bytes,
// link), one artifact streamed with its content type (the chart as image/svg+xml, sandboxed), the
// status's result.urls rewritten from Blob URLs (403 to a tenant) to API links or SAS links, every
// link of a finished job opening for its tenant and 404 for another, `?tail=N`, and the
// `?follow=true&since=` long poll with X-Log-Offset / X-Job-State.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { handle, type ApiRequest, type ApiResponse } from '../../orchestration/src/api/http';
import { artifactNameOf, presentStatus } from '../../orchestration/src/api/result-links';
import { tailOffset } from '../../orchestration/src/api/job-logs';
import {
  blobNames,
  initialStatus,
  instanceIdOf,
  type JobEnvelope,
  type JobStatus,
} from '../../orchestration/src/contracts';
import { apiHarness, auth, goodInput, request, silentLog, type ApiHarness } from '../fixtures/tenants/harness';

const run = (fn: (r: ApiRequest) => Promise<ApiResponse>, req: ApiRequest) => handle(silentLog, 'test', fn)(req);
const text = async (r: ApiResponse): Promise<string> => {
  const b = r.body;
  if (b === undefined || typeof b === 'string') return b ?? '';
  if (Buffer.isBuffer(b)) return b.toString('utf8');
  const chunks: Buffer[] = [];
  for await (const c of b) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
};

const SVG = '<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>';

/** A submitted job for alpha, finished the way teardown leaves it: files in Blob, Blob URLs in the status. */
async function finishedJob(h: ApiHarness, logs = 'line 1\nline 2\nline 3\n'): Promise<string> {
  const r = await run(
    (q) => h.api.submit(q, h.jobs),
    request({ method: 'POST', params: { tenant: 'alpha' }, headers: auth('alpha-key'), body: { input: goodInput() } }),
  );
  const id = (r.jsonBody as { id: string }).id;
  const names = blobNames('alpha', id);
  const urls = {
    result: await h.results.put(names.result, JSON.stringify({ result: { k: 2 } }), 'application/json'),
    'chart.svg': await h.results.put(names.chart, SVG, 'image/svg+xml'),
    'artifacts/fit.csv': await h.results.put(names.artifact('fit.csv'), 'a,b\n1,2\n', 'application/octet-stream'),
    logs: await h.results.put(names.logs, logs, 'text/plain; charset=utf-8'),
  };
  const info = h.jobs.instances.get(instanceIdOf('alpha', id))!;
  info.runtimeStatus = 'Completed';
  info.output = {
    ...initialStatus((info.input as JobEnvelope).job),
    state: 'succeeded',
    phase: 'done',
    result: { urls },
  };
  return id;
}

describe('artifacts', () => {
  test('the listing names each archived file with its type, size and API link (never input.json)', async () => {
    const h = apiHarness();
    const id = await finishedJob(h);
    const r = await run(
      (q) => h.api.listArtifacts(q, h.jobs),
      request({ params: { tenant: 'alpha', id }, headers: auth('alpha-key') }),
    );
    assert.equal(r.status, 200);
    const items = (r.jsonBody as { artifacts: { name: string; contentType: string; bytes: number; link: string }[] })
      .artifacts;
    assert.deepEqual(
      items.map((a) => a.name),
      ['artifacts/fit.csv', 'chart.svg', 'logs.txt', 'result.json'],
    );
    const chart = items.find((a) => a.name === 'chart.svg')!;
    assert.equal(chart.contentType, 'image/svg+xml');
    assert.equal(chart.bytes, Buffer.byteLength(SVG));
    assert.equal(chart.link, `/api/tenants/alpha/jobs/${id}/artifacts/chart.svg`);
    assert.equal(items.find((a) => a.name === 'artifacts/fit.csv')!.contentType, 'text/csv; charset=utf-8');
    assert.ok(await h.results.exists(blobNames('alpha', id).input), 'the fixture has an input blob to hide');
  });

  test('one artifact is streamed with its content type; the SVG is sandboxed; bad or unknown names are 404', async () => {
    const h = apiHarness();
    const id = await finishedJob(h);
    const get = (name: string, key = 'alpha-key', tenant = 'alpha') =>
      run((q) => h.api.getArtifact(q, h.jobs), request({ params: { tenant, id, name }, headers: auth(key) }));
    const chart = await get('chart.svg');
    assert.equal(chart.status, 200);
    assert.equal(chart.headers?.['Content-Type'], 'image/svg+xml');
    assert.match(chart.headers?.['Content-Security-Policy'] ?? '', /sandbox/);
    assert.equal(chart.headers?.['X-Content-Type-Options'], 'nosniff');
    assert.equal(await text(chart), SVG);
    assert.equal((await get('result.json')).headers?.['Content-Type'], 'application/json');
    for (const bad of ['input.json', '../beta/x', 'artifacts/../input.json', 'nothing.txt'])
      assert.equal((await get(bad)).status, 404, bad);
    assert.equal((await get('chart.svg', 'beta-key', 'alpha')).status, 404, "another tenant's key");
    assert.equal((await get('chart.svg', 'nope')).status, 401);
    // The host's catch-all also matches …/artifacts itself: an empty name is the listing.
    assert.ok(Array.isArray(((await get('')).jsonBody as { artifacts: unknown[] }).artifacts));
  });
});

describe('result links', () => {
  test("a finished job's result.urls are API links; each answers 200 to its tenant and 404 to another", async () => {
    const h = apiHarness();
    const id = await finishedJob(h);
    const s = await run(
      (q) => h.api.get(q, h.jobs),
      request({ params: { tenant: 'alpha', id }, headers: auth('alpha-key') }),
    );
    const urls = (s.jsonBody as JobStatus).result!.urls;
    assert.deepEqual(Object.keys(urls).sort(), ['artifacts/fit.csv', 'chart.svg', 'logs', 'result']);
    for (const link of Object.values(urls)) {
      assert.doesNotMatch(link, /results\.example/, 'no Blob URL left');
      const m = new RegExp(`^/api/tenants/alpha/jobs/${id}/artifacts/(.+)$`).exec(link);
      assert.ok(m, link);
      const name = m[1]!.split('/').map(decodeURIComponent).join('/');
      const mine = await run(
        (q) => h.api.getArtifact(q, h.jobs),
        request({ params: { tenant: 'alpha', id, name }, headers: auth('alpha-key') }),
      );
      assert.equal(mine.status, 200, link);
      const theirs = await run(
        (q) => h.api.getArtifact(q, h.jobs),
        request({ params: { tenant: 'alpha', id, name }, headers: auth('beta-key') }),
      );
      assert.equal(theirs.status, 404, link);
    }
    // The list shows the same links.
    const list = await run(
      (q) => h.api.list(q, h.jobs),
      request({ params: { tenant: 'alpha' }, headers: auth('alpha-key') }),
    );
    assert.deepEqual((list.jsonBody as { jobs: JobStatus[] }).jobs[0]!.result!.urls, urls);
  });

  test('RESULT_LINKS=sas: each link is the store’s read-only link, expiring in minutes', async () => {
    const h = apiHarness();
    const id = await finishedJob(h);
    const info = h.jobs.instances.get(instanceIdOf('alpha', id))!;
    const now = new Date('2026-01-01T00:00:00Z');
    const s = await presentStatus(info.output as JobStatus, 'sas', h.results, now);
    assert.equal(
      s.result!.urls['chart.svg'],
      `https://results.example/alpha/${id}/chart.svg?se=${encodeURIComponent('2026-01-01T00:15:00.000Z')}&sp=r&sig=memory`,
    );
  });

  test('only URLs of the job’s own folder become links', () => {
    assert.equal(
      artifactNameOf('https://a.blob.core.windows.net/job-results/alpha/j-1/chart.svg', 'alpha', 'j-1'),
      'chart.svg',
    );
    assert.equal(
      artifactNameOf('https://a.blob.core.windows.net/job-results/alpha/j-1/artifacts/x%20y.csv', 'alpha', 'j-1'),
      undefined,
    );
    assert.equal(
      artifactNameOf('https://a.blob.core.windows.net/job-results/beta/j-1/chart.svg', 'alpha', 'j-1'),
      undefined,
    );
    assert.equal(artifactNameOf('https://a/job-results/alpha/j-1/input.json', 'alpha', 'j-1'), undefined);
  });
});

describe('logs', () => {
  test('?tail=N gives the last N lines; bad parameters name the field', async () => {
    assert.equal(tailOffset(Buffer.from('a\nb\nc\n'), 2), 2);
    assert.equal(tailOffset(Buffer.from('a\nb\nc'), 2), 2);
    assert.equal(tailOffset(Buffer.from('a\nb\n'), 5), 0);
    const h = apiHarness();
    const id = await finishedJob(h);
    const logs = (query: Record<string, string>) =>
      run(
        (q) => h.api.logs(q, h.jobs),
        request({ params: { tenant: 'alpha', id }, headers: auth('alpha-key'), query }),
      );
    assert.equal(await text(await logs({ tail: '2' })), 'line 2\nline 3\n');
    const bad = await logs({ tail: '0', since: '3' });
    assert.equal(bad.status, 400);
    assert.deepEqual(
      (bad.jsonBody as { error: { details: { field: string }[] } }).error.details.map((d) => d.field),
      ['tail', 'since'],
    );
  });

  test('follow=true is a long poll: new text after since, with X-Log-Offset and X-Job-State; it ends with the job', async () => {
    let live = 'one\n';
    const h = apiHarness({ logFollowWaitMs: 5_000, liveLogs: async () => live });
    const r = await run(
      (q) => h.api.submit(q, h.jobs),
      request({
        method: 'POST',
        params: { tenant: 'alpha' },
        headers: auth('alpha-key'),
        body: { input: goodInput() },
      }),
    );
    const id = (r.jsonBody as { id: string }).id;
    const info = h.jobs.instances.get(instanceIdOf('alpha', id))!;
    const base = initialStatus((info.input as JobEnvelope).job);
    info.runtimeStatus = 'Running';
    info.customStatus = {
      ...base,
      state: 'running',
      phase: 'running',
      container: { ...base.container, state: 'running' },
    };
    const follow = (since?: number) =>
      run(
        (q) => h.api.logs(q, h.jobs),
        request({
          params: { tenant: 'alpha', id },
          headers: auth('alpha-key'),
          query: { follow: 'true', ...(since === undefined ? {} : { since: String(since) }) },
        }),
      );
    const first = await follow();
    assert.equal(await text(first), 'one\n');
    assert.equal(first.headers?.['X-Log-Offset'], '4');
    assert.equal(first.headers?.['X-Job-State'], 'running');
    // Nothing new yet: the request waits; text written meanwhile is what it answers.
    const pending = follow(4);
    setTimeout(() => (live = 'one\ntwo\n'), 50);
    const second = await pending;
    assert.equal(await text(second), 'two\n');
    assert.equal(second.headers?.['X-Log-Offset'], '8');
    // The job ends (archived copy): the follow answers at once with the final state.
    info.output = { ...base, state: 'succeeded', phase: 'done' };
    info.runtimeStatus = 'Completed';
    await h.results.put(blobNames('alpha', id).logs, 'one\ntwo\nthree\n', 'text/plain');
    const last = await follow(8);
    assert.equal(await text(last), 'three\n');
    assert.equal(last.headers?.['X-Job-State'], 'succeeded');
    assert.equal(await text(await follow(14)), '');
  });
});
