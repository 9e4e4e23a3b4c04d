// Controller overhead on the local stack (`npm run bench -- controller`): N jobs of a 1-second batch
// (the agent in command mode running `sleep 1`) submitted at once, with the emulator's
// provisioning delay at zero, for N = 1, 100 and 1,000. A fresh stack per N (so the host's peak
// RSS is that run's).
//
// Where each timestamp comes from (all on this machine's clock):
//   submit            this process, just before the job's POST
//   group created     emulator log "container started" (its process launched)
//   agent /start      agent log "job started" (in the job's archived logs, GET …/logs)
//   batch finished    agent log "job finished"
//   group deleted     emulator log "container group deleted" — the delete request's end; it is
//                     at most the agent's SIGTERM shutdown (tens of ms) after the request
// Reported: submit → /start and finished → deleted (p50/p99/max), jobs per minute, the host's peak
// RSS (VmHWM) and the whole stack's peak RSS (sampled: emulator, Azurite, host and every container
// process), and billable group-seconds after the batch finished (Σ deleted − finished).
// BENCH_SIZES=1,100 limits the sizes (e.g. for a quick look).
import { randomBytes, createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ApiClient, TERMINAL, type JobStatusView } from '../local/stack/api-client';
import { descendantsOf, listProcesses } from '../local/stack/processes';
import { REPO_ROOT, startStack, type Stack } from '../local/stack/stack';
import { machineInfo, percentile } from './machine';

const SIZES = (process.env.BENCH_SIZES ?? '1,100,1000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => n > 0);
const POLL_INTERVAL_SECONDS = Number(process.env.BENCH_POLL_INTERVAL_SECONDS ?? '2');
const CLIENT_CONCURRENCY = 50;
// ACI allows about 100 creates per 5 minutes per region and the controller paces itself to
// GLOBAL_MAX_CREATES_PER_5MIN (default 100): at that pace 1,000 jobs take at least 45 minutes
// whatever the controller does. The bench lifts the create-rate cap (not the 100-group quota) so
// that it measures the controller; BENCH_CREATES_PER_5MIN=100 measures Azure's pacing instead.
const CREATES_PER_5MIN = Number(process.env.BENCH_CREATES_PER_5MIN ?? '100000');
const QUOTA_GROUPS = 100;
const TMP = join(__dirname, '.tmp');
const RESULTS = join(__dirname, 'results');

interface JobTimes {
  id: string;
  group: string;
  state: string;
  submit: number;
  /** When the POST answered 202. */
  accepted: number;
  created?: number;
  /** The agent logged "listening": the container is up, the controller may start it. */
  agentReady?: number;
  agentStart?: number;
  agentFinish?: number;
  deleted?: number;
}

interface Dist {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

function dist(values: number[]): Dist {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    n: s.length,
    p50: r(percentile(s, 50)),
    p99: r(percentile(s, 99)),
    max: r(s[s.length - 1] ?? NaN),
    mean: r(mean),
  };
}

function rssKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function writeFixtures(dir: string): { tenantsFile: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const key = randomBytes(24).toString('hex');
  const tenants = {
    tenants: [
      {
        id: 'bench',
        displayName: 'Benchmark tenant',
        apiKeys: [{ id: 'bench', sha256: createHash('sha256').update(key).digest('hex') }],
        // The default image stays the model: the app checks `input` for the tenant's default repository.
        allowedRepositories: ['batch/regime-switching', 'bench/sleep'],
        limits: {
          maxCpu: 1,
          maxMemoryGb: 1,
          maxGpu: 0,
          maxConcurrentJobs: 1000,
          maxQueuedJobs: 5000,
          maxRuntimeMinutes: 60,
        },
        defaults: {
          image: 'batch/regime-switching:1.0',
          cpu: 1,
          memoryGb: 0.5,
          onComplete: 'delete',
          onFailure: 'delete',
          maxAttempts: 1,
          timeoutMinutes: 30,
        },
        costRates: { currency: 'EUR', vcpuHour: 0.0405, gbHour: 0.0045 },
      },
    ],
  };
  const tenantsFile = join(dir, 'tenants.json');
  writeFileSync(tenantsFile, JSON.stringify(tenants, null, 2));
  return { tenantsFile, key };
}

function agentTimes(logText: string): { ready?: number; start?: number; finish?: number } {
  let text = logText;
  try {
    const parsed = JSON.parse(logText) as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as { content?: unknown }).content === 'string')
      text = (parsed as { content: string }).content;
  } catch {
    // plain text
  }
  const out: { ready?: number; start?: number; finish?: number } = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('{');
    if (i < 0) continue;
    let rec: { msg?: string; time?: string };
    try {
      rec = JSON.parse(line.slice(i)) as typeof rec;
    } catch {
      continue;
    }
    if (rec.msg === 'listening' && rec.time && out.ready === undefined) out.ready = Date.parse(rec.time);
    if (rec.msg === 'job started' && rec.time && out.start === undefined) out.start = Date.parse(rec.time);
    if (rec.msg === 'job finished' && rec.time) out.finish = Date.parse(rec.time);
  }
  return out;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function runSize(n: number, fixtures: { tenantsFile: string; key: string }): Promise<Record<string, unknown>> {
  const dataDir = join(TMP, `controller-${n}-${Date.now()}`);
  const created = new Map<string, number>();
  const deleted = new Map<string, number>();
  let maxGroups = 0;
  let live = 0;
  const onEmulatorLine = (line: string): void => {
    if (!line.startsWith('{')) return;
    let rec: { msg?: string; time?: number; group?: string };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      return;
    }
    if (!rec.group || typeof rec.time !== 'number') return;
    if (rec.msg === 'container started' && !created.has(rec.group)) {
      created.set(rec.group, rec.time);
      maxGroups = Math.max(maxGroups, ++live);
    } else if (rec.msg === 'container group deleted') {
      deleted.set(rec.group, rec.time);
      live--;
    }
  };
  const stack: Stack = await startStack({
    dataDir,
    tenantsFile: fixtures.tenantsFile,
    provisioningDelayMs: 0,
    pollIntervalSeconds: POLL_INTERVAL_SECONDS,
    extraImages: {
      repositories: {
        'bench/sleep': {
          tags: {
            '1.0': {
              command: ['node', join(REPO_ROOT, 'batch-image/dist/agent/main.js')],
              env: { AGENT_MODE: 'command', AGENT_COMMAND: JSON.stringify(['sleep', '1']) },
            },
          },
        },
      },
    },
    settings: {
      GLOBAL_MAX_GROUPS: String(QUOTA_GROUPS),
      GLOBAL_MAX_CORES: String(QUOTA_GROUPS),
      GLOBAL_MAX_CREATES_PER_5MIN: String(CREATES_PER_5MIN),
      LOG_LEVEL: 'warn',
    },
    emulatorArgs: ['--max-groups', String(QUOTA_GROUPS), '--max-cores', String(QUOTA_GROUPS)],
    componentLog: (component, line) => {
      if (component === 'azure-emulator') onEmulatorLine(line);
    },
    log: (m) => console.error(`  [stack] ${m}`),
  });
  const onSignal = (): void => {
    console.error('  interrupted: stopping the stack…');
    void stack.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let stackPeakKiB = 0;
  let keepData = true;
  const sampler = setInterval(() => {
    const pids = stack.pids();
    const roots = [pids.host, pids.emulator, pids.azurite].filter((p): p is number => p !== undefined);
    const procs = listProcesses();
    const all = [...roots, ...descendantsOf(roots, procs).map((p) => p.pid)];
    stackPeakKiB = Math.max(
      stackPeakKiB,
      all.reduce((a, pid) => a + rssKiB(pid, 'VmRSS'), 0),
    );
  }, 500);
  try {
    const client = new ApiClient(stack.apiBaseUrl, 'bench', fixtures.key, 300_000);
    const jobs: JobTimes[] = [];
    const submitErrors: Array<{ status: number; body: string }> = [];
    const t0 = Date.now();
    await pool(
      Array.from({ length: n }, (_, i) => i),
      CLIENT_CONCURRENCY,
      async () => {
        // As a platform client would: retry 429/5xx (counted and reported), measure from the first try.
        const submit = Date.now();
        for (let attempt = 1; ; attempt++) {
          const r = await client.submit({ image: 'bench/sleep:1.0', cpu: 1, memoryGb: 0.5 });
          if (r.status === 202) {
            jobs.push({ id: r.body.id, group: '', state: r.body.state, submit, accepted: Date.now() });
            return;
          }
          submitErrors.push({ status: r.status, body: r.text.slice(0, 300) });
          if (!(r.status === 429 || r.status >= 500) || attempt >= 5)
            throw new Error(`submit answered ${r.status} (attempt ${attempt}): ${r.text.slice(0, 300)}`);
          await new Promise((res) => setTimeout(res, 500 * attempt));
        }
      },
    );
    const submitted = Date.now();
    console.error(`  ${n} job(s) submitted in ${((submitted - t0) / 1000).toFixed(1)} s`);
    // Wait without loading the host: the emulator's log says when groups go.
    const deadline = Date.now() + Math.max(180_000, n * 2_000);
    while (deleted.size < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const timedOut = deleted.size < n;
    if (timedOut)
      console.error(
        `  only ${deleted.size} of ${n} groups were deleted within ${Math.round((deadline - submitted) / 1000)} s; measuring those`,
      );
    const hostPeakKiB = stack.pids().host ? rssKiB(stack.pids().host!, 'VmHWM') : 0;
    // Final statuses and the agents' own timestamps.
    const statuses = new Map<string, JobStatusView>();
    await pool(jobs, 20, async (j) => {
      let s = await client.status(j.id);
      const end = timedOut ? 0 : Date.now() + 60_000;
      while (!TERMINAL.includes(s.state) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 500));
        s = await client.status(j.id);
      }
      statuses.set(j.id, s);
      j.state = s.state;
      j.group = s.container.name;
      j.created = created.get(j.group);
      j.deleted = deleted.get(j.group);
      const logs = await client.logs(j.id);
      if (logs.status === 200) {
        const t = agentTimes(logs.text);
        j.agentReady = t.ready;
        j.agentStart = t.start;
        j.agentFinish = t.finish;
      }
    });
    const ok = jobs.filter((j) => j.state === 'succeeded');
    const complete = ok.filter(
      (j) => j.agentStart !== undefined && j.agentFinish !== undefined && j.deleted !== undefined,
    );
    const s = (ms: number): number => ms / 1000;
    const lastDeleted = Math.max(...complete.map((j) => j.deleted!));
    const result = {
      jobs: n,
      finishedWithinDeadline: !timedOut,
      succeeded: ok.length,
      notSucceeded: jobs
        .filter((j) => j.state !== 'succeeded')
        .map((j) => ({ id: j.id, state: j.state, error: statuses.get(j.id)?.error ?? null }))
        .slice(0, 10),
      measured: complete.length,
      submitSeconds: s(submitted - t0),
      wallSeconds: s(lastDeleted - t0),
      jobsPerMinute: Math.round((complete.length / s(lastDeleted - t0)) * 60 * 10) / 10,
      maxConcurrentGroups: maxGroups,
      submitResponseSeconds: dist(jobs.map((j) => s(j.accepted - j.submit))),
      submitErrors: {
        count: submitErrors.length,
        byStatus: submitErrors.reduce<Record<string, number>>(
          (a, e) => ({ ...a, [e.status]: (a[e.status] ?? 0) + 1 }),
          {},
        ),
        first: submitErrors[0] ?? null,
      },
      overheadSeconds: {
        submitToAgentStart: dist(complete.map((j) => s(j.agentStart! - j.submit))),
        submitToGroupCreated: dist(complete.filter((j) => j.created).map((j) => s(j.created! - j.submit))),
        groupCreatedToAgentStart: dist(complete.filter((j) => j.created).map((j) => s(j.agentStart! - j.created!))),
        agentReadyToAgentStart: dist(complete.filter((j) => j.agentReady).map((j) => s(j.agentStart! - j.agentReady!))),
        batchFinishedToGroupDeleted: dist(complete.map((j) => s(j.deleted! - j.agentFinish!))),
      },
      batchSeconds: dist(complete.map((j) => s(j.agentFinish! - j.agentStart!))),
      billableGroupSecondsAfterFinish: {
        total: Math.round(complete.reduce((a, j) => a + s(j.deleted! - j.agentFinish!), 0) * 1000) / 1000,
        perJob: dist(complete.map((j) => s(j.deleted! - j.agentFinish!))),
      },
      memoryMiB: { hostPeakRss: Math.round(hostPeakKiB / 1024), stackPeakRssSampled: Math.round(stackPeakKiB / 1024) },
    };
    keepData = submitErrors.length > 0 || ok.length < n;
    return result;
  } finally {
    clearInterval(sampler);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    const report = await stack.stop();
    if (report.leftoverGroups.length || report.strayProcesses.length) {
      console.error(
        `  stop: leftover groups ${report.leftoverGroups.length}, stray processes ${report.strayProcesses.length}`,
      );
    }
    if (keepData) console.error(`  kept ${dataDir} (logs in ${join(dataDir, 'logs')}) because something failed`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}

function table(runs: Array<Record<string, unknown>>): string {
  const row = (r: Record<string, unknown>): string => {
    const o = r.overheadSeconds as Record<string, Dist>;
    const b = r.billableGroupSecondsAfterFinish as { total: number; perJob: Dist };
    const m = r.memoryMiB as { hostPeakRss: number; stackPeakRssSampled: number };
    const sub = r.submitResponseSeconds as Dist;
    const errs = r.submitErrors as { count: number };
    const load = r.loadAverage1m as { before: number; after: number } | undefined;
    const when = `${typeof r.date === 'string' ? r.date.slice(0, 16).replace('T', ' ') : '?'} (${load ? `${load.before} → ${load.after}` : 'n/a'})`;
    return `| ${r.jobs} | ${when} | ${r.succeeded} | ${sub.p50} / ${sub.p99} (${errs.count} retried) | ${o.submitToAgentStart!.p50} / ${o.submitToAgentStart!.p99} | ${o.groupCreatedToAgentStart!.p50} / ${o.groupCreatedToAgentStart!.p99} | ${o.agentReadyToAgentStart?.p50 ?? 'n/a'} / ${o.agentReadyToAgentStart?.p99 ?? 'n/a'} | ${o.batchFinishedToGroupDeleted!.p50} / ${o.batchFinishedToGroupDeleted!.p99} | ${r.jobsPerMinute} | ${r.maxConcurrentGroups} | ${m.hostPeakRss} | ${m.stackPeakRssSampled} | ${b.total} (${b.perJob.mean}/job) |`;
  };
  return [
    '| jobs | when (load avg 1 min before → after) | succeeded | POST answered p50 / p99 (s) | submit → agent /start p50 / p99 (s) | group created → /start p50 / p99 (s) | agent listening → /start p50 / p99 (s) | batch finished → group deleted p50 / p99 (s) | jobs/min | max groups at once | host peak RSS (MiB) | stack peak RSS (MiB) | billable group-s after finish |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...runs.map(row),
  ].join('\n');
}

async function main(): Promise<void> {
  mkdirSync(TMP, { recursive: true });
  mkdirSync(RESULTS, { recursive: true });
  const fixtures = writeFixtures(join(TMP, 'controller-fixtures'));
  // With BENCH_SIZES, the sizes run now replace theirs in the recorded results and the others are
  // kept: each run carries its own date and machine load.
  let runs: Array<Record<string, unknown>> = [];
  if (process.env.BENCH_SIZES) {
    try {
      const recorded = JSON.parse(readFileSync(join(RESULTS, 'controller.json'), 'utf8')) as {
        machine?: { date?: string };
        runs: Array<Record<string, unknown>>;
      };
      runs = recorded.runs
        .filter((r) => !SIZES.includes(r.jobs as number))
        .map((r) => ({ date: recorded.machine?.date, ...r }));
    } catch {
      runs = [];
    }
  }
  for (const n of SIZES) {
    console.error(`controller bench: ${n} job(s)…`);
    const loadBefore = os.loadavg()[0];
    const r = await runSize(n, fixtures);
    Object.assign(r, {
      date: new Date().toISOString(),
      loadAverage1m: { before: round2(loadBefore ?? 0), after: round2(os.loadavg()[0] ?? 0) },
    });
    console.error(`  ${JSON.stringify(r)}`);
    runs.push(r);
  }
  runs.sort((a, b) => (a.jobs as number) - (b.jobs as number));
  const command = `npm run bench -- controller${process.env.BENCH_SIZES ? ` (BENCH_SIZES=${process.env.BENCH_SIZES})` : ''}`;
  const settings = {
    provisioningDelayMs: 0,
    batch: 'agent command mode: sleep 1',
    pollIntervalSeconds: POLL_INTERVAL_SECONDS,
    jobSize: { cpu: 1, memoryGb: 0.5 },
    regionalQuota: { groups: QUOTA_GROUPS, cores: QUOTA_GROUPS, createsPer5Minutes: CREATES_PER_5MIN },
    tenantMaxConcurrentJobs: 1000,
    clientSubmitConcurrency: CLIENT_CONCURRENCY,
  };
  const machine = machineInfo();
  writeFileSync(
    join(RESULTS, 'controller.json'),
    JSON.stringify({ benchmark: 'controller', command, machine, settings, runs }, null, 2) + '\n',
  );
  const md = [
    '# Controller overhead (local stack)',
    '',
    `Command: \`${command}\` — ${machine.date as string}, Node ${machine.node as string}, ${machine.cpus as number} × ${machine.cpuModel as string}, ${machine.memoryGiB as number} GiB, ${machine.platform as string}.`,
    '',
    `Setup: emulator provisioning delay 0, a 1-second batch (the agent in command mode running \`sleep 1\`), 1 vCPU / 0.5 GB per job, POLL_INTERVAL_SECONDS ${POLL_INTERVAL_SECONDS}, regional quota ${QUOTA_GROUPS} groups / ${QUOTA_GROUPS} cores (the controller's GLOBAL_MAX_* and the emulator's), creates per 5 minutes capped at ${CREATES_PER_5MIN} (GLOBAL_MAX_CREATES_PER_5MIN; Azure's ~100 would pace 1,000 jobs to ≥ 45 min by itself, so it is lifted to measure the controller), tenant maxConcurrentJobs 1000; all jobs submitted at once (${CLIENT_CONCURRENCY} requests in flight). A fresh stack per row.`,
    '',
    table(runs),
    '',
    'How to read it:',
    '- *submit → agent /start*: from this process sending the POST to the agent logging "job started". With more jobs than the quota allows (1,000 > 100 groups) it includes the time a job waited in the queue for a slot; *group created → /start* (emulator launched the container → agent started) is the per-job cost without that wait, but it includes the agent\'s own boot (a Node process); *agent listening → /start* (the agent logged that it listens → it logged the job started) is the controller\'s part alone: noticing the group runs, the health check, POST /start.',
    '- This machine has 2 cores: with 100 groups at once, 100 Node agents boot and run side by side with the controller, Azurite and the emulator (see the load averages), so the 100- and 1,000-job rows measure a saturated machine, not an idle controller.',
    '- *batch finished → group deleted*: agent logged "job finished" → emulator logged the group deleted. It includes the completion callback, copying logs and result to Blob, the delete request and the agent\'s SIGTERM shutdown; it is an upper bound of "completion → delete requested". Summed over the jobs it is the billable group-seconds after the batch finished.',
    '- *POST answered*: how long the submit request took. Every submit is a conditional write to the admission ledger (one blob in Azurite); under a burst they contend, and a submit whose ledger retries run out answers 500 — the bench retries 429/5xx like a client would and counts them (in brackets).',
    "- Peak RSS: the host's VmHWM; the stack's is sampled every 0.5 s over the emulator, Azurite, the host and every container process (each container runs a Node agent).",
    '',
  ].join('\n');
  writeFileSync(join(RESULTS, 'controller.md'), md);
  console.log(md);
}

main().catch((err: Error) => {
  console.error(`controller bench failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
