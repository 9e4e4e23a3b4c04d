// `npm run demo`: one regime-switching job per demo tenant, on generated data with known
// parameters, submitted at once through the HTTP API. Shows each job's progress as it changes,
// then the fitted model next to the truth and where the logs and results are (API links, blob
// URLs, a local copy). Uses a running stack when --api is given or one answers on :7071;
// otherwise starts its own and stops it at the end.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiClient, type JobStatusView } from './api-client';
import { generateRegimeSeries, modelInput, type RegimeSeries } from './demo-data';
import { requestJson } from './http-json';
import { DEFAULT_TENANTS_FILE, portIsFree, startStack, type Stack } from './stack';
import { readTenants } from './tenants-info';

const USAGE = `usage: npm run demo -- [--api <base url, e.g. http://127.0.0.1:7071/api>] [--data <dir>] [--n <observations>]
  Without --api, uses a stack answering on http://127.0.0.1:7071/api, or starts one in <data> (default .data/demo).`;

interface DemoJob {
  tenant: string;
  key: string;
  series: RegimeSeries;
  id?: string;
  links?: Record<string, string>;
  final?: JobStatusView;
}

function pct(p: number | undefined): string {
  return `${Math.round((p ?? 0) * 100)}%`.padStart(4);
}

function fmt(x: unknown, digits = 3): string {
  if (typeof x === 'number') return x.toFixed(digits);
  if (Array.isArray(x)) return `[${x.map((v) => fmt(v, digits)).join(', ')}]`;
  if (x && typeof x === 'object')
    return `{${Object.entries(x)
      .map(([k, v]) => `${k}: ${fmt(v, digits)}`)
      .join(', ')}}`;
  return String(x);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        api: { type: 'string' },
        data: { type: 'string', default: join('.data', 'demo') },
        n: { type: 'string', default: '600' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const n = Number(values.n);
  if (!Number.isInteger(n) || n < 30 || n > 100_000) {
    console.error(`--n must be an integer in [30, 100000]\n${USAGE}`);
    process.exit(2);
  }
  const say = (m: string): void => console.log(m);

  // Which stack.
  let stack: Stack | undefined;
  let api = values.api?.replace(/\/+$/, '');
  if (!api) {
    const probe = await requestJson('http://127.0.0.1:7071/api/health', { timeoutMs: 2000 }).catch(() => undefined);
    if (probe?.status === 200) {
      api = 'http://127.0.0.1:7071/api';
      say(`Using the stack already running at ${api}.`);
    }
  }
  const stopStack = async (): Promise<void> => {
    if (!stack) return;
    say('\nStopping the demo stack…');
    const report = await stack.stop();
    if (report.leftoverGroups.length) say(`  deleted leftover container groups: ${report.leftoverGroups.join(', ')}`);
    if (report.strayProcesses.length) say(`  killed stray processes: ${report.strayProcesses.join('; ')}`);
    stack = undefined;
  };
  process.on('SIGINT', () => {
    say('\nInterrupted.');
    void stopStack().then(() => process.exit(130));
  });
  if (!api) {
    const dataDir = resolve(values.data);
    say(`Starting a local stack in ${dataDir} (its logs: ${join(dataDir, 'logs')})…`);
    stack = await startStack({
      dataDir,
      tenantsFile: DEFAULT_TENANTS_FILE,
      // npm start's port when it is free, so that the printed links work again with npm start later.
      ports: { api: (await portIsFree(7071)) ? 7071 : 0 },
      provisioningDelayMs: 500,
      pollIntervalSeconds: 0.5,
      log: (m) => say(`  [stack] ${m}`),
    });
    api = stack.apiBaseUrl;
  }

  // The demo tenants: every tenant of the example file whose local demo key it accepts.
  const tenants = readTenants(DEFAULT_TENANTS_FILE).filter((t) => t.localKey);
  if (tenants.length === 0) throw new Error(`${DEFAULT_TENANTS_FILE} accepts no "<tenant>-local-key" demo key`);
  const truths: Array<Omit<Parameters<typeof generateRegimeSeries>[0], 'n' | 'seed'>> = [
    { mu: [0, 2], sigma2: [0.25, 1], stay: [0.95, 0.9] },
    { mu: [-1, 1.5], sigma2: [0.5, 0.1], stay: [0.9, 0.97] },
  ];
  const jobs: DemoJob[] = tenants.map((t, i) => ({
    tenant: t.id,
    key: t.localKey!,
    series: generateRegimeSeries({ n, seed: 1000 + i, ...truths[i % truths.length]! }),
  }));

  try {
    say(`\nSubmitting one regime-switching job per tenant (${n} generated observations each) to ${api}…`);
    await Promise.all(
      jobs.map(async (j) => {
        const client = new ApiClient(api!, j.tenant, j.key);
        const answer = await client.submitOk({ image: 'batch/regime-switching:1.0', input: modelInput(j.series, 7) });
        j.id = answer.id;
        j.links = answer.links;
        say(
          `  ${j.tenant}: job ${answer.id} ${answer.state}  (${new URL(answer.links.self, new URL(api!).origin).toString()})`,
        );
      }),
    );
    say('\nProgress:');
    await Promise.all(
      jobs.map(async (j) => {
        const client = new ApiClient(api!, j.tenant, j.key);
        j.final = await client.waitForEnd(
          j.id!,
          10 * 60_000,
          (s) => {
            const ts = new Date().toISOString().slice(11, 19);
            say(
              `  ${ts} ${j.tenant.padEnd(10)} ${s.state.padEnd(12)} ${s.phase.padEnd(12)} ${pct(s.progress)}  ${s.message ?? ''}`,
            );
          },
          300,
        );
      }),
    );

    const origin = new URL(api).origin;
    const absolute = (link: string): string => new URL(link, origin).toString();
    const outDir = resolve(stack ? stack.dataDir : '.data', 'demo-results');
    mkdirSync(outDir, { recursive: true });
    say('\nResults:');
    for (const j of jobs) {
      const s = j.final!;
      const client = new ApiClient(api, j.tenant, j.key);
      say(
        `\n  ${j.tenant} — job ${s.id}: ${s.state}${s.error ? ` (${s.error.code}: ${s.error.message})` : ''}; container ${s.container.state}; ` +
          `attempts ${s.attempts}; usage ${s.usage.vcpuSeconds.toFixed(1)} vCPU-s, ${s.usage.gbSeconds.toFixed(1)} GB-s, ~${s.usage.estimatedCost.toFixed(6)} ${s.usage.currency ?? ''}`,
      );
      const truth = j.series.spec;
      say(`    truth:     mu ${fmt(truth.mu)}  sigma2 ${fmt(truth.sigma2)}  P(stay) ${fmt(truth.stay)}`);
      if (s.state === 'succeeded') {
        const r = await client.result(s.id);
        if (r.status === 200) {
          const result = r.body as {
            logLikelihood?: number;
            aic?: number;
            bic?: number;
            transitionMatrix?: number[][];
            regimes?: Array<{ coefficients?: unknown; sigma2?: number }>;
          };
          say(
            `    fitted:    log-likelihood ${fmt(result.logLikelihood)}${result.aic !== undefined ? `  AIC ${fmt(result.aic)}` : ''}${result.bic !== undefined ? `  BIC ${fmt(result.bic)}` : ''}`,
          );
          (result.regimes ?? []).forEach((g, i) =>
            say(`      regime ${i}: coefficients ${fmt(g.coefficients)}  sigma2 ${fmt(g.sigma2)}`),
          );
          if (result.transitionMatrix) say(`      transition matrix ${fmt(result.transitionMatrix)}`);
          const file = join(outDir, `${j.tenant}-${s.id}-result.json`);
          writeFileSync(file, JSON.stringify(result, null, 2));
          say(`    local copy: ${file}`);
        } else {
          say(`    GET result answered ${r.status}: ${r.text.slice(0, 300)}`);
        }
      }
      const links = Object.fromEntries(Object.entries(j.links ?? {}).map(([k, v]) => [k, absolute(v)]));
      say(
        `    API:   status ${links.self ?? ''}\n           logs   ${links.logs ?? ''}\n           result ${links.result ?? ''}`,
      );
      for (const [name, url] of Object.entries(s.result?.urls ?? {})) say(`    Blob:  ${name.padEnd(11)} ${url}`);
      say(`    curl -s ${links.result ?? api} -H 'Authorization: Bearer ${j.key}'`);
    }
    if (stack) {
      say(
        `\nThe jobs, logs and results stay in ${stack.dataDir} (Azurite's blobs in ${join(stack.dataDir, 'azurite')}, the jobs in the host's SQLite).`,
      );
      say(
        `To look at them again through the API: npm start -- --data ${stack.dataDir}${new URL(api).port === '7071' ? '' : `   (the API is then on port 7071, not ${new URL(api).port})`}`,
      );
    }
    const failed = jobs.filter((j) => j.final?.state !== 'succeeded');
    if (failed.length) process.exitCode = 1;
  } finally {
    await stopStack();
  }
}

main().catch((err: Error) => {
  console.error(`demo failed: ${err.message}`);
  process.exit(1);
});
