// The dashboard in a real headless browser (Debian's chromium driven by playwright-core) against the
// whole local stack: the page loads under its strict CSP with no violation, takes the key into
// session storage only and never puts it in a URL, submits the README's job from the form, shows it
// reach succeeded with its logs, result and chart, and the operator view answers (or says the admin
// routes are not available). Screenshots go to the test's output folder.
// The page is served by the Function App's own route (GET /api/ui), on the API's origin.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../local/stack/stack';
import { KEYS, startTestStack, stopAndCheck, type TestStack } from '../fixtures/stack/harness';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The local stack's operator key (printed by npm start; its hash is the stack's OPERATOR_KEY_HASH). */
const OPERATOR_KEY = 'operator-local-key';
const OUTPUT = process.env.TEST_OUTPUT_DIR
  ? join(process.env.TEST_OUTPUT_DIR, 'ui-dashboard')
  : join(REPO_ROOT, '.data', 'test-output', 'ui-dashboard');
const noChromium = existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM} (apt-get install -y chromium)`;
if (noChromium && process.env.CI === 'true') throw new Error(`CI=true needs the browser: ${noChromium}`);

let ts: TestStack | undefined;
let browser: Browser | undefined;
let PAGE_URL = '';

before(async () => {
  if (noChromium) return;
  mkdirSync(OUTPUT, { recursive: true });
  ts = await startTestStack('ui-dashboard');
  // The Function App itself serves the page (GET /api/ui), on the API's origin.
  PAGE_URL = `${ts.stack.apiBaseUrl}/ui`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    timeout: 60_000,
  });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await stopAndCheck(ts);
});

interface Watch {
  urls: string[];
  problems: string[];
}

async function openPage(): Promise<{ page: Page; watch: Watch }> {
  const context = await browser!.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const watch: Watch = { urls: [], problems: [] };
  page.on('request', (r) => watch.urls.push(r.url()));
  page.on('pageerror', (e) => watch.problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // An API error answer is handled by the page (a 404 of a route this controller lacks, a 409 for
    // logs before the container runs); a CSP violation ("Refused to …") or a script error is not.
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of/.test(m.text()))
      watch.problems.push(`console: ${m.text()}`);
  });
  const res = await page.goto(PAGE_URL, { waitUntil: 'load', timeout: 30_000 });
  assert.equal(res?.status(), 200);
  assert.match(res!.headers()['content-security-policy'] ?? '', /default-src 'none'; script-src 'self'/);
  assert.equal(res!.headers()['content-type'], 'text/html; charset=utf-8');
  return { page, watch };
}

async function signIn(page: Page, key: string, tenant: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('textbox', { name: 'Tenant', exact: true }).fill(tenant);
  await page.getByRole('textbox', { name: 'Tenant', exact: true }).press('Enter');
  await page.getByRole('status').filter({ hasText: 'Key saved' }).waitFor({ timeout: 10_000 });
}

test(
  'tenant view: submit the README job from the page, watch it succeed, see its logs, result and chart',
  { skip: noChromium },
  async () => {
    const { page, watch } = await openPage();
    await signIn(page, KEYS.contoso, 'contoso');
    assert.equal(await page.evaluate('sessionStorage.getItem("aci-batch.key")'), KEYS.contoso);
    assert.equal(await page.evaluate('localStorage.length'), 0, 'nothing in local storage');

    await page.getByRole('button', { name: 'Load sample data' }).click();
    await page.getByRole('button', { name: 'Submit', exact: true }).click();
    const announced = await page
      .getByRole('status')
      .filter({ hasText: /Submitted j-/ })
      .textContent({ timeout: 15_000 });
    const id = /j-[a-z0-9]{20}/.exec(announced ?? '')?.[0];
    assert.ok(id, `the page announces the job id: ${announced}`);

    await page
      .getByTestId('detail-state')
      .filter({ hasText: 'succeeded' })
      .waitFor({ timeout: 120_000 })
      .catch(async (e: Error) => {
        await page.screenshot({ path: join(OUTPUT, 'failure.png'), fullPage: true });
        const detail = await page.locator('#job-detail').innerText();
        throw new Error(`${e.message}\ndetail panel:\n${detail}\n${await ts!.explain(ts!.contoso, id)}`);
      });
    await page.getByTestId('chart').waitFor({ timeout: 15_000 });
    await page.locator('#job-logs').filter({ hasText: /\S/ }).waitFor({ timeout: 15_000 });
    const row = page.locator(`#jobs-table tr[data-id="${id}"]`);
    await row.filter({ hasText: 'succeeded' }).waitFor({ timeout: 10_000 });
    await page.locator('#result-box summary').click();
    assert.match((await page.locator('#job-result').textContent()) ?? '', /"markov-switching-regression"/);
    await page.screenshot({ path: join(OUTPUT, 'tenant-view.png'), fullPage: true });

    // Keyboard: the job link is a button reachable and usable without a mouse.
    await row.getByRole('button', { name: `Open job ${id}` }).focus();
    await page.keyboard.press('Enter');
    await page.locator('#detail-title:focus').waitFor({ timeout: 5_000 });

    for (const u of watch.urls) assert.ok(!u.includes(KEYS.contoso), `the key is never in a URL: ${u}`);
    assert.deepEqual(watch.problems, [], 'no CSP violation or script error');
    await page.context().close();
  },
);

test('operator view: reachable by keyboard; each panel shows data or says why not', { skip: noChromium }, async () => {
  const { page, watch } = await openPage();
  await signIn(page, KEYS.fabrikam, 'fabrikam');
  await page.getByRole('tab', { name: 'Tenant' }).focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.getByRole('tab', { name: 'Operator' }).getAttribute('aria-selected'), 'true');
  assert.equal(await page.locator('#view-tenant').isHidden(), true);
  // A tenant key on the operator routes: 403 once they exist, 404 "not available" until then.
  const panel = page.locator('#tenants-body');
  await panel.filter({ hasText: /not available on this API|may not see this \(403\)/ }).waitFor({ timeout: 15_000 });
  if (/\(403\)/.test(await panel.innerText())) {
    // The operator routes exist: the stack's operator key (local/stack/settings.ts) sees every tenant.
    await signIn(page, OPERATOR_KEY, '');
    await page.getByTestId('tenant-id').filter({ hasText: 'fabrikam' }).waitFor({ timeout: 15_000 });
    const ids = await page.getByTestId('tenant-id').allInnerTexts();
    assert.ok(ids.some((t) => t.startsWith('contoso')) && ids.some((t) => t.startsWith('fabrikam')), ids.join(', '));
    await page.locator('#capacity-body meter').first().waitFor({ timeout: 15_000 });
  }
  await page.screenshot({ path: join(OUTPUT, 'operator-view.png'), fullPage: true });
  for (const u of watch.urls)
    for (const key of [KEYS.fabrikam, OPERATOR_KEY]) assert.ok(!u.includes(key), `the key is never in a URL: ${u}`);
  assert.deepEqual(watch.problems, []);
  await page.context().close();
});

test(
  'the page and its assets: content types, the CSP on each, 404 for any other name, /api/ui/ redirects',
  { skip: noChromium },
  async () => {
    const base = PAGE_URL;
    const js = await fetch(`${base}/app.js`);
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(js.headers.get('content-security-policy') ?? '', /connect-src 'self'/);
    assert.equal(js.headers.get('x-content-type-options'), 'nosniff');
    assert.equal((await fetch(`${base}/dashboard.css`)).headers.get('content-type'), 'text/css; charset=utf-8');
    for (const name of ['nope.js', '..%2Fsrc%2Ffunctions.ts', 'APP.JS', '.hidden.js'])
      assert.equal((await fetch(`${base}/${name}`)).status, 404, name);
    const slash = await fetch(`${base}/`, { redirect: 'manual' });
    assert.equal(slash.status, 308);
    assert.equal(slash.headers.get('location'), new URL(base).pathname);
  },
);
