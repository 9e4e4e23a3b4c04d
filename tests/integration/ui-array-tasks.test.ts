// The dashboard's job-array view (issue 13) in a real headless browser (Debian's chromium driven by
// playwright-core): the page and the API's real job handlers served on 127.0.0.1 over the in-memory
// ports of the unit tests (no controller stack: the parent and its tasks are placed as its orchestrator
// would leave them). The list shows the parent only; its detail shows the tasks per state; "Show
// tasks" lists the started ones by index with the not-started count; a task opens as a job of its own
// and links back to its parent; no CSP violation or script error on the way.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { handle, type ApiRequest, type ApiResponse } from '../../orchestration/src/api/http';
import { uiResponse } from '../../orchestration/src/api/ui';
import { initialStatus, type JobInput } from '../../orchestration/src/contracts';
import { addTask, publishParent, submitArray } from '../fixtures/tenants/array-fixture';
import { apiHarness, silentLog, type ApiHarness } from '../fixtures/tenants/harness';
import { REPO_ROOT } from '../../local/stack/stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const noChromium = existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM} (apt-get install -y chromium)`;
const OUTPUT = process.env.TEST_OUTPUT_DIR
  ? join(process.env.TEST_OUTPUT_DIR, 'ui-array-tasks')
  : join(REPO_ROOT, '.data', 'test-output', 'ui-array-tasks');
if (noChromium && process.env.CI === 'true') throw new Error(`CI=true needs the browser: ${noChromium}`);

let h: ApiHarness;
let parent: JobInput;
let server: Server | undefined;
let browser: Browser | undefined;
let base = '';

type Handler = (req: ApiRequest) => Promise<ApiResponse>;

/** The routes the tenant view calls, matched as contracts/routes.ts spells them. */
function route(method: string, path: string): { fn: Handler; params: Record<string, string> } | undefined {
  const api = h.api;
  const table: [string, RegExp, (r: ApiRequest) => Promise<ApiResponse>][] = [
    ['GET', /^\/api\/ui(?:\/(?<path>[^/]*))?$/, async (r) => uiResponse(r.params.path, { requestUrl: r.url })],
    ['GET', /^\/api\/tenants\/(?<tenant>[^/]+)$/, (r) => api.tenant(r, h.jobs)],
    ['GET', /^\/api\/tenants\/(?<tenant>[^/]+)\/jobs$/, (r) => api.list(r, h.jobs)],
    ['GET', /^\/api\/tenants\/(?<tenant>[^/]+)\/jobs\/(?<id>[^/]+)$/, (r) => api.get(r, h.jobs)],
    ['GET', /^\/api\/tenants\/(?<tenant>[^/]+)\/jobs\/(?<id>[^/]+)\/tasks$/, (r) => api.tasks(r, h.jobs)],
    ['GET', /^\/api\/tenants\/(?<tenant>[^/]+)\/jobs\/(?<id>[^/]+)\/logs$/, (r) => api.logs(r, h.jobs)],
    ['GET', /^\/api\/tenants\/(?<tenant>[^/]+)\/jobs\/(?<id>[^/]+)\/result$/, (r) => api.result(r, h.jobs)],
    [
      'GET',
      /^\/api\/tenants\/(?<tenant>[^/]+)\/jobs\/(?<id>[^/]+)\/artifacts\/(?<name>.+)$/,
      (r) => api.getArtifact(r, h.jobs),
    ],
  ];
  for (const [m, re, fn] of table) {
    const match = m === method ? re.exec(path) : null;
    if (match) return { fn, params: Object.fromEntries(Object.entries(match.groups ?? {}).filter(([, v]) => v)) };
  }
  return undefined;
}

async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', base);
  const found = route(req.method ?? 'GET', url.pathname);
  if (!found) {
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":{"code":"RouteNotFound","message":"-"}}');
    return;
  }
  const apiReq: ApiRequest = {
    method: req.method ?? 'GET',
    url: url.toString(),
    params: found.params,
    query: url.searchParams,
    headers: { get: (n: string) => (req.headers[n.toLowerCase()] as string | undefined) ?? null },
    text: async () => '',
  };
  const r = await handle(silentLog, 'ui-test', found.fn)(apiReq);
  res.writeHead(r.status, r.headers ?? {});
  if (r.jsonBody !== undefined) res.end(JSON.stringify(r.jsonBody));
  else if (r.body instanceof Readable) r.body.pipe(res);
  else res.end(r.body ?? '');
}

before(async () => {
  if (noChromium) return;
  h = apiHarness();
  parent = await submitArray(h, 5);
  const published = initialStatus(parent).array!;
  published.counts = { ...published.counts, queued: 4, succeeded: 1 };
  publishParent(h, parent, { state: 'running', phase: 'fanout', progress: 0.2, array: published });
  addTask(h, parent, 0, 'succeeded');
  addTask(h, parent, 1, 'running', { message: 'Fitting from start 2 of 5', progress: 0.5 });
  addTask(h, parent, 2, 'failed');
  server = createServer((req, res) => {
    serve(req, res).catch((e: unknown) => res.writeHead(500).end(String(e)));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    timeout: 60_000,
  });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

test(
  "tenant view: an array's counts, its tasks by index, a task and back to its parent",
  { skip: noChromium },
  async () => {
    const context = await browser!.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of/.test(m.text()))
        problems.push(`console: ${m.text()}`);
    });
    const res = await page.goto(`${base}/api/ui`, { waitUntil: 'load', timeout: 30_000 });
    assert.equal(res?.status(), 200);
    await page.getByLabel('API key').fill('alpha-key');
    await page.getByRole('textbox', { name: 'Tenant', exact: true }).fill('alpha');
    await page.getByRole('textbox', { name: 'Tenant', exact: true }).press('Enter');

    // The list: the parent only (its tasks are listed under it), marked as an array.
    const row = page.locator(`#jobs-table tr[data-id="${parent.jobId}"]`);
    await row.filter({ hasText: 'array of 5' }).waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#jobs-table tbody tr').count(), 1);
    await row.getByRole('button', { name: `Open job ${parent.jobId}` }).click();

    // The detail: counts from the live tasks (the orchestrator published only one ended task).
    const counts = page.getByTestId('array-counts');
    await counts.waitFor({ timeout: 10_000 });
    assert.match(
      (await counts.textContent()) ?? '',
      /^5 \(parallelism 2\): 2 queued, 1 running, 1 succeeded, 1 failed/,
    );
    assert.match((await page.locator('#job-logs').textContent()) ?? '', /no container of its own: open a task/);
    await counts.getByRole('button', { name: 'Show tasks' }).click();
    await page.locator('#tasks-title:focus').waitFor({ timeout: 10_000 });
    const summary = page.getByTestId('tasks-summary');
    assert.match((await summary.textContent()) ?? '', /5 tasks: .*; 2 not started yet\./);
    const tasks = page.locator('#tasks-table tbody tr');
    assert.deepEqual(await tasks.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id'))), [
      `${parent.jobId}-0`,
      `${parent.jobId}-1`,
      `${parent.jobId}-2`,
    ]);
    assert.match((await tasks.nth(1).textContent()) ?? '', /running.*50%.*Fitting from start 2 of 5/);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'array-tasks.png'), fullPage: true });

    // A task opens as a job of its own and links back to its parent (keyboard: the links are buttons).
    await tasks
      .nth(1)
      .getByRole('button', { name: `Open job ${parent.jobId}-1` })
      .click();
    await page.getByTestId('detail-state').filter({ hasText: 'running' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#tasks-box').isHidden(), true, "a task's detail has no tasks panel");
    const back = page.locator('#detail-fields').getByRole('button', { name: `Open job ${parent.jobId}` });
    assert.match((await page.locator('#detail-fields').textContent()) ?? '', new RegExp(`task 1 of ${parent.jobId}`));
    await back.focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('array-counts').waitFor({ timeout: 10_000 });
    assert.deepEqual(problems, [], 'no CSP violation or script error');
    await context.close();
  },
);
