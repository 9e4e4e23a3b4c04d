// Controller overhead on the local stack (`npm run bench -- controller`), in two parts, each on a
// fresh stack with the emulator's provisioning delay at zero and production-like controller timers
// (POLL_INTERVAL_SECONDS 600, LIVENESS_WATCH_SCHEDULE every minute, ADMISSION_POLL_SECONDS 300,
// READY_FALLBACK_SECONDS 30 unless overridden)
// so that the numbers show the event-driven paths (ready callback, slot-granted event, completion
// callback), not the fallbacks.
//
// 1. Latency rows: N jobs of a 1-second batch (the agent in command mode running `sleep 1`)
//    submitted at once, for N = 1 and 100 (BENCH_SIZES=1,100,1000 adds 1,000).
// 2. History (BENCH_HISTORY=0 skips it): Durable history events and activity calls per job for a
//    short job, a 2-minute job and a short job that waited ~2 minutes in the queue behind a 2-minute
//    job of a tenant with maxConcurrentJobs 1 — the three run side by side on one stack.
//
// Where each timestamp comes from (all on this machine's clock):
//   submit              this process, just before the job's POST
//   group created       emulator log "container started" (its process launched)
//   agent ready         agent log "listening" — it sends its ready callback right after
//   ready delivered     agent log "ready callback delivered" (the callback's answer came back)
//   agent /start        agent log "job started" (in the job's archived logs, GET …/logs)
//   batch finished      agent log "job finished"
//   delete scheduled    the orchestration's history: when DeleteContainerGroup was scheduled
//   delete requested    controller log "container group delete requested" — written when the ARM
//                       DELETE answered, which in the emulator is after the agent's SIGTERM shutdown
//   group deleted       emulator log "container group deleted"
// History counts come from the host's Durable HTTP API (GET /runtime/webhooks/durabletask/instances/
// {id}?showHistory=true: what Azure's API shows, without OrchestratorStarted/Completed and
// TaskScheduled) and from the host's SQLite store, read-only (every stored event). The host keeps only
// the current generation's history after continueAsNew, so during the history part each instance's
// (generation, stored events) is sampled every second and the generations are summed; a generation
// that ended between two samples is counted as last seen and the result says so (exact: false).
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ApiClient, TERMINAL, type JobStatusView } from '../local/stack/api-client';
import { descendantsOf, listProcesses } from '../local/stack/processes';
import { REPO_ROOT, startStack, type Stack } from '../local/stack/stack';
import { machineInfo, percentile } from './machine';
import { benchTenant, rssKiB } from './stack-fixtures';

const SIZES = (process.env.BENCH_SIZES ?? '1,100')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => n > 0);
const RUN_HISTORY = process.env.BENCH_HISTORY !== '0';
const POLL_INTERVAL_SECONDS = Number(process.env.BENCH_POLL_INTERVAL_SECONDS ?? '600');
const LIVENESS_WATCH_SCHEDULE = process.env.BENCH_LIVENESS_WATCH_SCHEDULE ?? '0 * * * * *';
const ADMISSION_POLL_SECONDS = Number(process.env.BENCH_ADMISSION_POLL_SECONDS ?? '300');
const READY_FALLBACK_SECONDS = Number(process.env.BENCH_READY_FALLBACK_SECONDS ?? '30');
const LONG_JOB_SECONDS = Number(process.env.BENCH_LONG_JOB_SECONDS ?? '120');
// The emulator's provisioning delay for the history part (0 = groups run at once; ACI takes tens of
// seconds, during which the controller before the ready event polled the group).
const HISTORY_PROVISIONING_DELAY_MS = Number(process.env.BENCH_HISTORY_PROVISIONING_DELAY_MS ?? '0');
const CLIENT_CONCURRENCY = 50;
/** The one-job row: this many jobs one after another. */
const SINGLE_REPEATS = Number(process.env.BENCH_SINGLE_REPEATS ?? '20');
// ACI allows about 100 creates per 5 minutes per region and the controller paces itself to
// GLOBAL_MAX_CREATES_PER_5MIN (default 100): at that pace 1,000 jobs take at least 45 minutes
// whatever the controller does. The bench lifts the create-rate cap (not the 100-group quota) so
// that it measures the controller; BENCH_CREATES_PER_5MIN=100 measures Azure's pacing instead.
const CREATES_PER_5MIN = Number(process.env.BENCH_CREATES_PER_5MIN ?? '100000');
const QUOTA_GROUPS = 100;
const TMP = join(__dirname, '.tmp');
// Another folder for experiments that should not replace the recorded results.
const RESULTS = process.env.BENCH_RESULTS_DIR ?? join(__dirname, 'results');
/** HISTORY_STEPS_PER_GENERATION, to exercise continueAsNew (and the bench's sum over generations). */
const STEPS_PER_GENERATION = process.env.BENCH_STEPS_PER_GENERATION;
/** The history part measured at the commit before the event-driven change (see README). */

interface JobTimes {
  id: string;
  group: string;
  state: string;
  submit: number;
  /** When the POST answered 202. */
  accepted: number;
  created?: number;
  /** The agent logged "listening" and sends its ready callback. */
  agentReady?: number;
  readyDelivered?: number;
  agentStart?: number;
  agentFinish?: number;
  deleteScheduled?: number;
  deleteRequested?: number;
  deleted?: number;
  history?: HistoryCount;
  stages?: Stages;
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

interface Fixtures {
  tenantsFile: string;
  /** API key per tenant: `bench` (maxConcurrentJobs 1000) and `benchq` (maxConcurrentJobs 1, the queue). */
  keys: Record<'bench' | 'benchq', string>;
}

function writeFixtures(dir: string): Fixtures {
  mkdirSync(dir, { recursive: true });
  const tenant = (id: string, key: string, maxConcurrentJobs: number) =>
    benchTenant(id, key, maxConcurrentJobs, ['bench/sleep']);
  const keys = { bench: randomBytes(24).toString('hex'), benchq: randomBytes(24).toString('hex') };
  const tenantsFile = join(dir, 'tenants.json');
  writeFileSync(
    tenantsFile,
    JSON.stringify({ tenants: [tenant('bench', keys.bench, 1000), tenant('benchq', keys.benchq, 1)] }, null, 2),
  );
  return { tenantsFile, keys };
}

/** Epoch ms of a log record's time: pino writes numbers by default, the app ISO strings. */
function timeOf(t: unknown): number | undefined {
  if (typeof t === 'number') return t;
  if (typeof t === 'string') {
    const v = Date.parse(t);
    return Number.isNaN(v) ? undefined : v;
  }
  return undefined;
}

/** JSON records of a log text (the API's logs answer, plain text or `{content}`), one per line. */
function logRecords(logText: string): Array<Record<string, unknown>> {
  let text = logText;
  try {
    const parsed = JSON.parse(logText) as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as { content?: unknown }).content === 'string')
      text = (parsed as { content: string }).content;
  } catch {
    // plain text
  }
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    const i = line.indexOf('{');
    if (i < 0) continue;
    try {
      out.push(JSON.parse(line.slice(i)) as Record<string, unknown>);
    } catch {
      // not a log record
    }
  }
  return out;
}

function agentTimes(logText: string): { ready?: number; delivered?: number; start?: number; finish?: number } {
  const out: { ready?: number; delivered?: number; start?: number; finish?: number } = {};
  for (const rec of logRecords(logText)) {
    const t = timeOf(rec.time);
    if (t === undefined) continue;
    if (rec.msg === 'listening' && out.ready === undefined) out.ready = t;
    if (rec.msg === 'ready callback delivered' && out.delivered === undefined) out.delivered = t;
    if (rec.msg === 'job started' && out.start === undefined) out.start = t;
    if (rec.msg === 'job finished') out.finish = t;
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

// ---- Durable history -------------------------------------------------------------------------

interface HistoryCount {
  /** Events the Durable HTTP API shows (showHistory=true), all generations. */
  shown: number;
  /** Events the host stores (incl. OrchestratorStarted/Completed and TaskScheduled), all generations. */
  stored: number;
  generations: number;
  /** False when a generation ended between two samples (its last episode is not counted). */
  exact: boolean;
  /** Activity calls (TaskCompleted + TaskFailed), per activity name, current generation + earlier ones. */
  activityCalls: number;
  activities: Record<string, number>;
  timersCreated: number;
  externalEvents: Record<string, number>;
}

interface ShownEvent {
  EventType: string;
  Timestamp?: string;
  FunctionName?: string;
  ScheduledTime?: string;
  Name?: string;
}

/** The instance's current-generation history as the Durable HTTP API shows it. */
async function shownHistory(stack: Stack, instanceId: string): Promise<ShownEvent[]> {
  const url = `${stack.hostBaseUrl}/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}?showHistory=true&showInput=false`;
  const r = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  if (r.status !== 200 && r.status !== 202) throw new Error(`${url} answered ${r.status}: ${await r.text()}`);
  const body = (await r.json()) as { historyEvents?: ShownEvent[] };
  return body.historyEvents ?? [];
}

/** Read-only view of the host's store: stored events and generation per instance. */
class StoreReader {
  private db: Database.Database | undefined;
  /** instance → generation → {stored, shown} as last seen. */
  readonly seen = new Map<string, Map<number, { stored: number; shown?: ShownSummary }>>();
  constructor(private readonly file: string) {}

  private open(): Database.Database | undefined {
    if (!this.db && existsSync(this.file)) this.db = new Database(this.file, { readonly: true, fileMustExist: true });
    return this.db;
  }

  read(instanceId: string): { generation: number; stored: number; scheduled: number } | undefined {
    const db = this.open();
    if (!db) return undefined;
    const row = db.prepare('SELECT generation FROM instances WHERE id = ?').get(instanceId) as
      { generation: number } | undefined;
    if (!row) return undefined;
    const events = db.prepare('SELECT event FROM history WHERE instance_id = ?').all(instanceId) as Array<{
      event: string;
    }>;
    // EventType 4 is TaskScheduled (Azure/durabletask HistoryEvent numbering; local/functions-host/durable/history.ts).
    const scheduled = events.filter((e) => (JSON.parse(e.event) as { EventType: number }).EventType === 4).length;
    return { generation: row.generation, stored: events.length, scheduled };
  }

  /** Records the instance's current generation as seen now. */
  sample(instanceId: string, shown?: ShownSummary): void {
    const r = this.read(instanceId);
    if (!r) return;
    let gens = this.seen.get(instanceId);
    if (!gens) this.seen.set(instanceId, (gens = new Map()));
    const prev = gens.get(r.generation);
    if (!prev || r.stored >= prev.stored) gens.set(r.generation, { stored: r.stored, shown: shown ?? prev?.shown });
  }

  close(): void {
    this.db?.close();
  }
}

interface ShownSummary {
  shown: number;
  activities: Record<string, number>;
  timersCreated: number;
  externalEvents: Record<string, number>;
}

function summarize(events: ShownEvent[]): ShownSummary {
  const activities: Record<string, number> = {};
  const externalEvents: Record<string, number> = {};
  let timersCreated = 0;
  for (const e of events) {
    if (e.EventType === 'TaskCompleted' || e.EventType === 'TaskFailed') {
      const name = e.FunctionName ?? '?';
      activities[name] = (activities[name] ?? 0) + 1;
    } else if (e.EventType === 'TimerCreated') timersCreated++;
    else if (e.EventType === 'EventRaised') {
      const name = e.Name ?? '?';
      externalEvents[name] = (externalEvents[name] ?? 0) + 1;
    }
  }
  return { shown: events.length, activities, timersCreated, externalEvents };
}

/** The whole history count of a finished instance: earlier generations as sampled + the last one now. */
async function historyCount(stack: Stack, store: StoreReader, instanceId: string): Promise<HistoryCount> {
  const events = await shownHistory(stack, instanceId);
  store.sample(instanceId, summarize(events));
  const gens = [...(store.seen.get(instanceId)?.entries() ?? [])].sort((a, b) => a[0] - b[0]);
  const last = gens[gens.length - 1]?.[0];
  const out: HistoryCount = {
    shown: 0,
    stored: 0,
    generations: gens.length,
    // The host numbers generations from 0: one we never saw is missing from the sum.
    exact: gens.length === (last ?? -1) + 1 && gens.length > 0,
    activityCalls: 0,
    activities: {},
    timersCreated: 0,
    externalEvents: {},
  };
  for (const [g, v] of gens) {
    out.stored += v.stored;
    if (g !== last) out.exact = false; // its last episode may have come after the last sample
    if (!v.shown) {
      out.exact = false;
      continue;
    }
    out.shown += v.shown.shown;
    out.timersCreated += v.shown.timersCreated;
    for (const [k, n] of Object.entries(v.shown.activities)) {
      out.activities[k] = (out.activities[k] ?? 0) + n;
      out.activityCalls += n;
    }
    for (const [k, n] of Object.entries(v.shown.externalEvents))
      out.externalEvents[k] = (out.externalEvents[k] ?? 0) + n;
  }
  return out;
}

/**
 * The controller's steps on the start and the end path, from the orchestration's history (epoch ms):
 * EventRaised is stamped when the host received the event, TaskCompleted when the activity ended,
 * ScheduledTime when the episode scheduled it.
 */
interface Stages {
  readyRaised?: number;
  groupRead?: number;
  startScheduled?: number;
  finalCallbackRaised?: number;
  lastObserved?: number;
  archived?: number;
  deleteScheduled?: number;
}

function stagesOf(events: ShownEvent[]): Stages {
  const at = (t: string | undefined): number | undefined => (t ? Date.parse(t) : undefined);
  const last = <T>(xs: T[]): T | undefined => xs[xs.length - 1];
  const done = (name: string): ShownEvent[] =>
    events.filter((e) => e.EventType === 'TaskCompleted' && e.FunctionName === name);
  const del = done('DeleteContainerGroup')[0];
  const before = (e: ShownEvent | undefined, t: number | undefined): boolean =>
    !!e && t !== undefined && Date.parse(e.Timestamp ?? '') <= t;
  const delAt = at(del?.ScheduledTime);
  // After the ready callback the ARM read itself starts the agent (no StartAgent): then the start
  // was scheduled with that read, and there is no separate "ARM read done" step.
  const start = done('StartAgent')[0];
  const startAt =
    at(start?.ScheduledTime) ?? at(last(done('GetContainerGroup').filter((e) => before(e, delAt)))?.ScheduledTime);
  return {
    readyRaised: at(events.find((e) => e.EventType === 'EventRaised' && e.Name === 'AgentReady')?.Timestamp),
    groupRead: start ? at(last(done('GetContainerGroup').filter((e) => before(e, startAt)))?.Timestamp) : undefined,
    startScheduled: startAt,
    finalCallbackRaised: at(
      last(events.filter((e) => e.EventType === 'EventRaised' && e.Name === 'AgentCallback' && before(e, delAt)))
        ?.Timestamp,
    ),
    lastObserved: at(last(done('ObserveJob').filter((e) => before(e, delAt)))?.Timestamp),
    archived: at(
      last([...done('ArchiveJob'), ...done('ArchiveResult'), ...done('ArchiveLogs')].filter((e) => before(e, delAt)))
        ?.Timestamp,
    ),
    deleteScheduled: delAt,
  };
}

// ---- The stack -------------------------------------------------------------------------------

interface BenchStack {
  stack: Stack;
  created: Map<string, number>;
  deleted: Map<string, number>;
  /** jobId → controller log "container group delete requested". */
  deleteRequested: Map<string, number>;
  maxGroups: () => number;
  stackPeakKiB: () => number;
  dataDir: string;
  stop: (keepData: boolean) => Promise<void>;
}

async function benchStack(name: string, fixtures: Fixtures, provisioningDelayMs = 0): Promise<BenchStack> {
  const dataDir = join(TMP, `controller-${name}-${Date.now()}`);
  const created = new Map<string, number>();
  const deleted = new Map<string, number>();
  const deleteRequested = new Map<string, number>();
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
  const onHostLine = (line: string): void => {
    if (!line.includes('container group delete requested')) return;
    const i = line.indexOf('{');
    try {
      const rec = JSON.parse(line.slice(i)) as { time?: unknown; jobId?: string };
      const t = timeOf(rec.time);
      if (rec.jobId && t !== undefined && !deleteRequested.has(rec.jobId)) deleteRequested.set(rec.jobId, t);
    } catch {
      // not the app's JSON line
    }
  };
  const sleepImage = (seconds: number): { command: string[]; env: Record<string, string> } => ({
    command: ['node', join(REPO_ROOT, 'batch-image/dist/agent/main.js')],
    env: { AGENT_MODE: 'command', AGENT_COMMAND: JSON.stringify(['sleep', String(seconds)]) },
  });
  const stack: Stack = await startStack({
    dataDir,
    tenantsFile: fixtures.tenantsFile,
    provisioningDelayMs,
    pollIntervalSeconds: POLL_INTERVAL_SECONDS,
    extraImages: {
      repositories: {
        'bench/sleep': { tags: { '1.0': sleepImage(1), long: sleepImage(LONG_JOB_SECONDS) } },
      },
    },
    settings: {
      GLOBAL_MAX_GROUPS: String(QUOTA_GROUPS),
      GLOBAL_MAX_CORES: String(QUOTA_GROUPS),
      GLOBAL_MAX_CREATES_PER_5MIN: String(CREATES_PER_5MIN),
      ADMISSION_POLL_SECONDS: String(ADMISSION_POLL_SECONDS),
      READY_FALLBACK_SECONDS: String(READY_FALLBACK_SECONDS),
      LIVENESS_WATCH_SCHEDULE,
      ...(STEPS_PER_GENERATION ? { HISTORY_STEPS_PER_GENERATION: STEPS_PER_GENERATION } : {}),
      // info: the controller's "container group delete requested" line is read from the host's log.
      LOG_LEVEL: 'info',
    },
    emulatorArgs: ['--max-groups', String(QUOTA_GROUPS), '--max-cores', String(QUOTA_GROUPS)],
    componentLog: (component, line) => {
      if (component === 'azure-emulator') onEmulatorLine(line);
      else if (component === 'functions-host') onHostLine(line);
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
  return {
    stack,
    created,
    deleted,
    deleteRequested,
    maxGroups: () => maxGroups,
    stackPeakKiB: () => stackPeakKiB,
    dataDir,
    stop: async (keepData) => {
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
    },
  };
}

/** Submits as a platform client would: retries 429/5xx (counted), measures from the first try. */
async function submitJob(
  client: ApiClient,
  image: string,
  errors: Array<{ status: number; body: string }>,
): Promise<JobTimes> {
  const submit = Date.now();
  for (let attempt = 1; ; attempt++) {
    const r = await client.submit({ image, cpu: 1, memoryGb: 0.5 });
    if (r.status === 202) return { id: r.body.id, group: '', state: r.body.state, submit, accepted: Date.now() };
    errors.push({ status: r.status, body: r.text.slice(0, 300) });
    if (!(r.status === 429 || r.status >= 500) || attempt >= 5)
      throw new Error(`submit answered ${r.status} (attempt ${attempt}): ${r.text.slice(0, 300)}`);
    await new Promise((res) => setTimeout(res, 500 * attempt));
  }
}

/** Waits for the job's final status, then fills in its timestamps from the logs, the history and the stack. */
async function collect(
  b: BenchStack,
  client: ApiClient,
  j: JobTimes,
  waitMs: number,
  store?: StoreReader,
): Promise<JobStatusView> {
  let s = await client.status(j.id);
  const end = Date.now() + waitMs;
  while (!TERMINAL.includes(s.state) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    s = await client.status(j.id);
  }
  j.state = s.state;
  j.group = s.container.name;
  j.created = b.created.get(j.group);
  j.deleted = b.deleted.get(j.group);
  j.deleteRequested = b.deleteRequested.get(j.id);
  const instanceId = `${s.tenant}--${j.id}`; // contracts/job.ts instanceIdOf
  j.stages = stagesOf(await shownHistory(b.stack, instanceId));
  j.deleteScheduled = j.stages.deleteScheduled;
  if (store) j.history = await historyCount(b.stack, store, instanceId);
  const logs = await client.logs(j.id);
  if (logs.status === 200) {
    const t = agentTimes(logs.text);
    j.agentReady = t.ready;
    j.readyDelivered = t.delivered;
    j.agentStart = t.start;
    j.agentFinish = t.finish;
  }
  return s;
}

const sec = (ms: number): number => ms / 1000;
const has = (...v: Array<number | undefined>): boolean => v.every((x) => x !== undefined);

// ---- Part 1: latency at N concurrent jobs ----------------------------------------------------

async function runSize(n: number, fixtures: Fixtures): Promise<Record<string, unknown>> {
  const b = await benchStack(String(n), fixtures);
  let keepData = true;
  const store = new StoreReader(join(b.dataDir, 'host', 'durable.sqlite'));
  try {
    const client = new ApiClient(b.stack.apiBaseUrl, 'bench', fixtures.keys.bench, 300_000);
    const jobs: JobTimes[] = [];
    const submitErrors: Array<{ status: number; body: string }> = [];
    const t0 = Date.now();
    // One job at a time is a series (p50/p99 need more than one sample): each job is submitted
    // once the previous one's group is gone.
    const total = n === 1 ? SINGLE_REPEATS : n;
    const deadline = Date.now() + Math.max(180_000, total * 2_000);
    if (n === 1) {
      for (let i = 0; i < total && Date.now() < deadline; i++) {
        jobs.push(await submitJob(client, 'bench/sleep:1.0', submitErrors));
        while (b.deleted.size <= i && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      }
    } else {
      await pool(
        Array.from({ length: n }, (_, i) => i),
        CLIENT_CONCURRENCY,
        async () => {
          jobs.push(await submitJob(client, 'bench/sleep:1.0', submitErrors));
        },
      );
    }
    const submitted = Date.now();
    console.error(`  ${total} job(s) submitted in ${((submitted - t0) / 1000).toFixed(1)} s`);
    // Wait without loading the host: the emulator's log says when groups go.
    while (b.deleted.size < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const timedOut = b.deleted.size < total;
    if (timedOut)
      console.error(
        `  only ${b.deleted.size} of ${total} groups were deleted within ${Math.round((deadline - submitted) / 1000)} s; measuring those`,
      );
    const hostPeakKiB = b.stack.pids().host ? rssKiB(b.stack.pids().host!, 'VmHWM') : 0;
    const statuses = new Map<string, JobStatusView>();
    await pool(jobs, 20, async (j) => {
      statuses.set(j.id, await collect(b, client, j, timedOut ? 0 : 60_000, store));
    });
    const ok = jobs.filter((j) => j.state === 'succeeded');
    const complete = ok.filter((j) => has(j.agentStart, j.agentFinish, j.deleted));
    const lastDeleted = Math.max(...complete.map((j) => j.deleted!));
    const hist = complete.filter((j) => j.history);
    const stage = (from: (j: JobTimes) => number | undefined, to: (j: JobTimes) => number | undefined): Dist =>
      dist(complete.filter((j) => has(from(j), to(j))).map((j) => sec(to(j)! - from(j)!)));
    const activityTotals = hist.reduce<Record<string, number>>((a, j) => {
      for (const [k, v] of Object.entries(j.history!.activities)) a[k] = (a[k] ?? 0) + v;
      return a;
    }, {});
    const result = {
      jobs: n,
      ...(n === 1 ? { sequentialJobs: total } : {}),
      finishedWithinDeadline: !timedOut,
      succeeded: ok.length,
      notSucceeded: jobs
        .filter((j) => j.state !== 'succeeded')
        .map((j) => ({ id: j.id, state: j.state, error: statuses.get(j.id)?.error ?? null }))
        .slice(0, 10),
      measured: complete.length,
      submitSeconds: sec(submitted - t0),
      wallSeconds: sec(lastDeleted - t0),
      jobsPerMinute: Math.round((complete.length / sec(lastDeleted - t0)) * 60 * 10) / 10,
      maxConcurrentGroups: b.maxGroups(),
      submitResponseSeconds: dist(jobs.map((j) => sec(j.accepted - j.submit))),
      submitErrors: {
        count: submitErrors.length,
        byStatus: submitErrors.reduce<Record<string, number>>(
          (a, e) => ({ ...a, [e.status]: (a[e.status] ?? 0) + 1 }),
          {},
        ),
        first: submitErrors[0] ?? null,
      },
      overheadSeconds: {
        submitToAgentStart: dist(complete.map((j) => sec(j.agentStart! - j.submit))),
        submitToGroupCreated: dist(complete.filter((j) => j.created).map((j) => sec(j.created! - j.submit))),
        groupCreatedToAgentStart: dist(complete.filter((j) => j.created).map((j) => sec(j.agentStart! - j.created!))),
        agentReadyToAgentStart: dist(
          complete.filter((j) => j.agentReady).map((j) => sec(j.agentStart! - j.agentReady!)),
        ),
        readyDeliveredToAgentStart: dist(
          complete.filter((j) => j.readyDelivered).map((j) => sec(j.agentStart! - j.readyDelivered!)),
        ),
        batchFinishedToDeleteScheduled: dist(
          complete.filter((j) => j.deleteScheduled).map((j) => sec(j.deleteScheduled! - j.agentFinish!)),
        ),
        batchFinishedToDeleteRequested: dist(
          complete.filter((j) => j.deleteRequested).map((j) => sec(j.deleteRequested! - j.agentFinish!)),
        ),
        batchFinishedToGroupDeleted: dist(complete.map((j) => sec(j.deleted! - j.agentFinish!))),
      },
      batchSeconds: dist(complete.map((j) => sec(j.agentFinish! - j.agentStart!))),
      // Where the two paths spend their time (controller steps from the orchestration's history).
      stagesSeconds: {
        agentReadyToReadyRaised: stage(
          (j) => j.agentReady,
          (j) => j.stages?.readyRaised,
        ),
        readyRaisedToGroupRead: stage(
          (j) => j.stages?.readyRaised,
          (j) => j.stages?.groupRead,
        ),
        groupReadToStartScheduled: stage(
          (j) => j.stages?.groupRead,
          (j) => j.stages?.startScheduled,
        ),
        startScheduledToAgentStart: stage(
          (j) => j.stages?.startScheduled,
          (j) => j.agentStart,
        ),
        batchFinishedToCallbackRaised: stage(
          (j) => j.agentFinish,
          (j) => j.stages?.finalCallbackRaised,
        ),
        callbackRaisedToObserved: stage(
          (j) => j.stages?.finalCallbackRaised,
          (j) => j.stages?.lastObserved,
        ),
        // Without a poll after the final callback (trusted), archiving starts from the callback.
        observedToArchived: stage(
          (j) => j.stages?.lastObserved ?? j.stages?.finalCallbackRaised,
          (j) => j.stages?.archived,
        ),
        archivedToDeleteScheduled: stage(
          (j) => j.stages?.archived,
          (j) => j.stages?.deleteScheduled,
        ),
      },
      activityCallsTotal: activityTotals,
      historyPerJob: {
        shownEvents: dist(hist.map((j) => j.history!.shown)),
        storedEvents: dist(hist.map((j) => j.history!.stored)),
        activityCalls: dist(hist.map((j) => j.history!.activityCalls)),
        generations: dist(hist.map((j) => j.history!.generations)),
      },
      billableGroupSecondsAfterFinish: {
        total: Math.round(complete.reduce((a, j) => a + sec(j.deleted! - j.agentFinish!), 0) * 1000) / 1000,
        perJob: dist(complete.map((j) => sec(j.deleted! - j.agentFinish!))),
      },
      memoryMiB: {
        hostPeakRss: Math.round(hostPeakKiB / 1024),
        stackPeakRssSampled: Math.round(b.stackPeakKiB() / 1024),
      },
    };
    keepData = submitErrors.length > 0 || ok.length < total;
    return result;
  } finally {
    store.close();
    await b.stop(keepData);
  }
}

// ---- Part 2: history per job -----------------------------------------------------------------

type HistoryKind = 'short' | 'long' | 'queued';

async function runHistory(fixtures: Fixtures): Promise<Record<string, unknown>> {
  const b = await benchStack('history', fixtures, HISTORY_PROVISIONING_DELAY_MS);
  let keepData = true;
  const store = new StoreReader(join(b.dataDir, 'host', 'durable.sqlite'));
  const tracked: string[] = [];
  // Each second, every tracked instance's current generation: stored events from the store and what
  // the HTTP API shows, kept only when the generation did not change in between.
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (const id of tracked) {
        try {
          const g = store.read(id)?.generation;
          const shown = summarize(await shownHistory(b.stack, id));
          if (g !== undefined && store.read(id)?.generation === g) store.sample(id, shown);
        } catch {
          // the store is busy or the instance not there yet: the next sample counts
        }
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  try {
    const client = new ApiClient(b.stack.apiBaseUrl, 'bench', fixtures.keys.bench, 60_000);
    const clientQ = new ApiClient(b.stack.apiBaseUrl, 'benchq', fixtures.keys.benchq, 60_000);
    const errors: Array<{ status: number; body: string }> = [];
    // The queue: a 2-minute job holds benchq's only slot, a short job waits behind it.
    const blocker = await submitJob(clientQ, 'bench/sleep:long', errors);
    const queued = await submitJob(clientQ, 'bench/sleep:1.0', errors);
    const short = await submitJob(client, 'bench/sleep:1.0', errors);
    const long = await submitJob(client, 'bench/sleep:long', errors);
    const jobs: Array<{ kind: HistoryKind | 'blocker'; tenant: string; c: ApiClient; j: JobTimes }> = [
      { kind: 'short', tenant: 'bench', c: client, j: short },
      { kind: 'long', tenant: 'bench', c: client, j: long },
      { kind: 'queued', tenant: 'benchq', c: clientQ, j: queued },
      { kind: 'blocker', tenant: 'benchq', c: clientQ, j: blocker },
    ];
    for (const x of jobs) tracked.push(`${x.tenant}--${x.j.id}`);
    const waitMs = (2 * LONG_JOB_SECONDS + 240) * 1000;
    const results: Record<string, unknown> = {};
    await Promise.all(
      jobs.map(async (x) => {
        const s = await collect(b, x.c, x.j, waitMs, store);
        const events = await shownHistory(b.stack, `${x.tenant}--${x.j.id}`);
        const started = events.find((e) => e.EventType === 'ExecutionStarted')?.Timestamp;
        const create = events.find((e) => e.FunctionName === 'CreateContainerGroup')?.ScheduledTime;
        results[x.kind] = {
          state: s.state,
          error: s.error,
          history: x.j.history,
          batchSeconds: has(x.j.agentStart, x.j.agentFinish) ? sec(x.j.agentFinish! - x.j.agentStart!) : null,
          // The time in the queue: the orchestration's start → CreateContainerGroup scheduled; with
          // several generations the first one's start is gone, then submit → group started.
          queuedSeconds:
            x.j.history?.generations === 1 && started && create
              ? sec(Date.parse(create) - Date.parse(started))
              : x.j.created
                ? sec(x.j.created - x.j.submit)
                : null,
          submitToAgentStartSeconds: x.j.agentStart ? sec(x.j.agentStart - x.j.submit) : null,
        };
      }),
    );
    keepData = Object.values(results).some((r) => (r as { state: string }).state !== 'succeeded');
    return { jobs: results, submitErrors: errors.length };
  } finally {
    sampling = false;
    await sampler;
    store.close();
    await b.stop(keepData);
  }
}

// ---- Report ----------------------------------------------------------------------------------

function controllerVersion(): Record<string, unknown> {
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  // A run from a copy of one commit (`git archive`, built apart so that the shared tree's dist is
  // left alone) has no git: BENCH_CONTROLLER_COMMIT names the commit it was made from.
  const copied = process.env.BENCH_CONTROLLER_COMMIT;
  if (copied) return { commit: copied, uncommittedControllerFiles: 0, from: 'git archive copy' };
  const dirty = git('status', '--porcelain', '--', 'orchestration/src', 'batch-image/src')
    .split('\n')
    .filter(Boolean).length;
  return { commit: git('rev-parse', '--short', 'HEAD'), uncommittedControllerFiles: dirty };
}

const fmt = (d: Dist | undefined, scale = 1, unit = ''): string =>
  d && d.n ? `${round2(d.p50 * scale)} / ${round2(d.p99 * scale)}${unit}` : 'n/a';

function table(runs: Array<Record<string, unknown>>): string {
  const row = (r: Record<string, unknown>): string => {
    const o = r.overheadSeconds as Record<string, Dist | undefined>;
    const h = r.historyPerJob as Record<'storedEvents' | 'shownEvents' | 'activityCalls', Dist> | undefined;
    const b = r.billableGroupSecondsAfterFinish as { total: number; perJob: Dist };
    const m = r.memoryMiB as { hostPeakRss: number; stackPeakRssSampled: number };
    const sub = r.submitResponseSeconds as Dist;
    const errs = r.submitErrors as { count: number };
    const load = r.loadAverage1m as { before: number; after: number } | undefined;
    const v = r.controller as { commit?: string; uncommittedControllerFiles?: number } | undefined;
    const version = v?.commit ? `${v.commit}${v.uncommittedControllerFiles ? '+wip' : ''}` : 'before (21 Nov)';
    const when = `${typeof r.date === 'string' ? r.date.slice(0, 16).replace('T', ' ') : '?'} (${load ? `${load.before} → ${load.after}` : 'n/a'})`;
    return `| ${r.jobs}${r.sequentialJobs ? ` (${r.sequentialJobs as number} in a row)` : ''} | ${version} | ${when} | ${r.succeeded} | ${sub.p50} / ${sub.p99} (${errs.count} retried) | ${fmt(o.submitToAgentStart)} | ${fmt(o.groupCreatedToAgentStart)} | ${fmt(o.agentReadyToAgentStart, 1000)} | ${fmt(o.readyDeliveredToAgentStart, 1000)} | ${fmt(o.batchFinishedToDeleteScheduled, 1000)} | ${fmt(o.batchFinishedToDeleteRequested, 1000)} | ${fmt(o.batchFinishedToGroupDeleted)} | ${h ? `${h.storedEvents.p50} / ${h.shownEvents.p50} / ${h.activityCalls.p50}` : 'n/a'} | ${r.jobsPerMinute} | ${r.maxConcurrentGroups} | ${m.hostPeakRss} | ${m.stackPeakRssSampled} | ${b.total} (${b.perJob.mean}/job) |`;
  };
  return [
    '| jobs | controller | when (load avg 1 min before → after) | succeeded | POST answered p50 / p99 (s) | submit → agent /start p50 / p99 (s) | group created → /start p50 / p99 (s) | agent ready → /start p50 / p99 (ms) | ready callback delivered → /start p50 / p99 (ms) | batch finished → delete scheduled p50 / p99 (ms) | batch finished → delete requested (answered) p50 / p99 (ms) | batch finished → group deleted p50 / p99 (s) | history per job p50: stored / shown events / activity calls | jobs/min | max groups at once | host peak RSS (MiB) | stack peak RSS (MiB) | billable group-s after finish |',
    '|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...runs.map(row),
  ].join('\n');
}

/** Where the start and the end path spend their time, per row (ms, p50 / p99). */
function stageTable(runs: Array<Record<string, unknown>>): string {
  const cols = [
    ['agentReadyToReadyRaised', 'agent ready → event raised'],
    ['readyRaisedToGroupRead', 'event → ARM read done'],
    ['groupReadToStartScheduled', 'ARM read → StartAgent scheduled'],
    ['startScheduledToAgentStart', 'StartAgent (or the ARM read that starts) scheduled → agent started'],
    ['batchFinishedToCallbackRaised', 'batch finished → final callback raised'],
    ['callbackRaisedToObserved', 'callback → ObserveJob done'],
    ['observedToArchived', 'ObserveJob (or the trusted callback) → result and logs archived'],
    ['archivedToDeleteScheduled', 'archived → delete scheduled'],
  ] as const;
  const rows = runs
    .filter((r) => r.stagesSeconds)
    .map((r) => {
      const st = r.stagesSeconds as Record<string, Dist>;
      return `| ${r.jobs}${r.sequentialJobs ? ` (${r.sequentialJobs as number} in a row)` : ''} | ${cols.map(([k]) => fmt(st[k], 1000)).join(' | ')} |`;
    });
  return [
    `| jobs | ${cols.map(([, t]) => `${t} p50 / p99 (ms)`).join(' | ')} |`,
    `|---:|${cols.map(() => '---:').join('|')}|`,
    ...rows,
  ].join('\n');
}

interface HistoryRun {
  date?: string;
  settings?: Record<string, unknown>;
  controller?: Record<string, unknown>;
  loadAverage1m?: { before: number; after: number };
  jobs: Record<HistoryKind, { state: string; history?: HistoryCount; queuedSeconds: number | null }>;
}

function historyTable(after: HistoryRun | undefined, before: HistoryRun | undefined): string {
  const lines = [
    '| job | run | state | stored events | shown events (HTTP API) | generations | activity calls | timers | external events | time in queue (s) |',
    '|---|---|---|---:|---:|---:|---:|---:|---|---:|',
  ];
  for (const [label, run] of [
    ['before', before],
    ['after', after],
  ] as const) {
    if (!run) continue;
    for (const kind of ['short', 'long', 'queued'] as const) {
      const j = run.jobs[kind];
      const h = j?.history;
      if (!j) continue;
      const ev = h
        ? Object.entries(h.externalEvents)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ') || '–'
        : 'n/a';
      lines.push(
        `| ${kind} | ${label} | ${j.state} | ${h ? `${h.stored}${h.exact ? '' : ' (≥)'}` : 'n/a'} | ${h?.shown ?? 'n/a'} | ${h?.generations ?? 'n/a'} | ${h?.activityCalls ?? 'n/a'} | ${h?.timersCreated ?? 'n/a'} | ${ev} | ${j.queuedSeconds ?? 'n/a'} |`,
      );
    }
  }
  return lines.join('\n');
}

/** The issue's history targets, where both runs are there. */
function historyTargets(after: HistoryRun | undefined, before: HistoryRun | undefined): Record<string, unknown> {
  const a = after?.jobs;
  const stored = (r: HistoryRun['jobs'] | undefined, k: HistoryKind): number | undefined => r?.[k]?.history?.stored;
  const out: Record<string, unknown> = {};
  const aShort = stored(a, 'short');
  const bShort = stored(before?.jobs, 'short');
  if (aShort !== undefined && bShort !== undefined) {
    const ratio = Math.round((aShort / bShort) * 1000) / 1000;
    out.shortVersusBefore = { after: aShort, before: bShort, ratio, target: '≤ 0.6', met: ratio <= 0.6 };
  }
  const aLong = stored(a, 'long');
  if (aShort !== undefined && aLong !== undefined) {
    const ratio = Math.round((aLong / aShort) * 1000) / 1000;
    out.longVersusShort = { long: aLong, short: aShort, ratio, target: '≤ 1.1', met: ratio <= 1.1 };
  }
  const aQueued = stored(a, 'queued');
  if (aShort !== undefined && aQueued !== undefined) {
    const added = aQueued - aShort;
    out.queueWaitAdds = {
      queued: aQueued,
      short: aShort,
      added,
      queuedSeconds: a?.queued.queuedSeconds ?? null,
      target: '≤ 10 events',
      met: added <= 10,
    };
  }
  return out;
}

const delayOf = (file: string): number => Number(/-delay(\d+)ms/.exec(file)?.[1] ?? '0');

/** Every recorded history experiment (one per provisioning delay) with its before/after comparison. */
function historySections(): string {
  const read = (f: string): HistoryRun | undefined =>
    existsSync(join(RESULTS, f))
      ? (JSON.parse(readFileSync(join(RESULTS, f), 'utf8')) as { after?: HistoryRun }).after
      : undefined;
  const files = readdirSync(RESULTS)
    .filter((f) => /^controller-history(-delay\d+ms)?\.json$/.test(f))
    .sort((a, b) => delayOf(a) - delayOf(b));
  return files
    .map((f) => {
      const after = read(f);
      const before = read(f.replace(/\.json$/, '-before.json'));
      const delay = delayOf(f);
      return [
        `### Emulator provisioning delay ${delay} ms — \`${f}\``,
        '',
        `A short job (\`sleep 1\`), a 2-minute job and a short job queued behind a 2-minute job of a tenant with maxConcurrentJobs 1, side by side on one stack. *before*: the commit before the event-driven change with its own defaults (\`${f.replace(/\.json$/, '-before.json')}\`); *after*: this commit. Settings, commit and load are in the files.`,
        '',
        historyTable(after, before),
        '',
        `Targets: \`${JSON.stringify(historyTargets(after, before))}\``,
        '',
      ].join('\n');
    })
    .join('\n');
}

async function main(): Promise<void> {
  mkdirSync(TMP, { recursive: true });
  mkdirSync(RESULTS, { recursive: true });
  const fixtures = writeFixtures(join(TMP, 'controller-fixtures'));
  const settings = {
    provisioningDelayMs: 0,
    historyProvisioningDelayMs: HISTORY_PROVISIONING_DELAY_MS,
    batch: 'agent command mode: sleep 1 (the long job: sleep ' + LONG_JOB_SECONDS + ')',
    pollIntervalSeconds: POLL_INTERVAL_SECONDS,
    livenessWatchSchedule: LIVENESS_WATCH_SCHEDULE,
    admissionPollSeconds: ADMISSION_POLL_SECONDS,
    readyFallbackSeconds: READY_FALLBACK_SECONDS,
    ...(STEPS_PER_GENERATION ? { historyStepsPerGeneration: Number(STEPS_PER_GENERATION) } : {}),
    jobSize: { cpu: 1, memoryGb: 0.5 },
    regionalQuota: { groups: QUOTA_GROUPS, cores: QUOTA_GROUPS, createsPer5Minutes: CREATES_PER_5MIN },
    tenantMaxConcurrentJobs: { bench: 1000, benchq: 1 },
    clientSubmitConcurrency: CLIENT_CONCURRENCY,
  };
  const controller = controllerVersion();
  const stamp = (): Record<string, unknown> => ({ date: new Date().toISOString(), controller, settings });

  // Part 2 first when asked: it is the one a baseline run at an older commit needs.
  let history: HistoryRun | undefined;
  // Another provisioning delay is another experiment: its own file.
  const suffix = HISTORY_PROVISIONING_DELAY_MS ? `-delay${HISTORY_PROVISIONING_DELAY_MS}ms` : '';
  const historyFile = join(RESULTS, `controller-history${suffix}.json`);
  if (RUN_HISTORY) {
    console.error('controller bench: history of a short, a 2-minute and a queued job…');
    const loadBefore = os.loadavg()[0] ?? 0;
    const r = await runHistory(fixtures);
    history = {
      ...stamp(),
      loadAverage1m: { before: round2(loadBefore), after: round2(os.loadavg()[0] ?? 0) },
      ...r,
    } as HistoryRun;
    console.error(`  ${JSON.stringify(history)}`);
  } else if (existsSync(historyFile)) {
    history = (JSON.parse(readFileSync(historyFile, 'utf8')) as { after?: HistoryRun }).after;
  }
  // The same part measured at the commit before the event-driven change (see README).
  const beforeFile = join(RESULTS, `controller-history${suffix}-before.json`);
  const before = existsSync(beforeFile)
    ? (JSON.parse(readFileSync(beforeFile, 'utf8')) as { after?: HistoryRun }).after
    : undefined;
  const targets = historyTargets(history, before);
  if (RUN_HISTORY) {
    writeFileSync(
      historyFile,
      JSON.stringify({ benchmark: 'controller-history', machine: machineInfo(), after: history, targets }, null, 2) +
        '\n',
    );
  }

  // With BENCH_SIZES, the sizes run now replace theirs in the recorded results and the others are
  // kept: each run carries its own date, controller version and machine load.
  let runs: Array<Record<string, unknown>> = [];
  let recordedHead: { command?: string; machine?: Record<string, unknown>; settings?: typeof settings } = {};
  try {
    const recorded = JSON.parse(readFileSync(join(RESULTS, 'controller.json'), 'utf8')) as {
      command?: string;
      machine?: { date?: string };
      settings?: typeof settings;
      runs: Array<Record<string, unknown>>;
    };
    recordedHead = recorded;
    runs = recorded.runs
      .filter((r) => !SIZES.includes(r.jobs as number))
      .map((r) => ({ date: recorded.machine?.date, settings: recorded.settings, ...r }));
  } catch {
    runs = [];
  }
  for (const n of SIZES) {
    console.error(`controller bench: ${n} job(s)…`);
    const loadBefore = os.loadavg()[0];
    const r = await runSize(n, fixtures);
    Object.assign(r, stamp(), {
      loadAverage1m: { before: round2(loadBefore ?? 0), after: round2(os.loadavg()[0] ?? 0) },
    });
    console.error(`  ${JSON.stringify(r)}`);
    runs.push(r);
  }
  runs.sort((a, b) => (a.jobs as number) - (b.jobs as number) || String(a.date).localeCompare(String(b.date)));
  // A history-only run (BENCH_SIZES empty) leaves the latency rows' file and header as recorded.
  const latencyRan = SIZES.length > 0;
  const command = latencyRan
    ? `npm run bench -- controller${process.env.BENCH_SIZES ? ` (BENCH_SIZES=${process.env.BENCH_SIZES})` : ''}`
    : (recordedHead.command ?? 'npm run bench -- controller');
  const machine = latencyRan ? machineInfo() : (recordedHead.machine ?? machineInfo());
  const head = latencyRan ? settings : (recordedHead.settings ?? settings);
  if (latencyRan) {
    writeFileSync(
      join(RESULTS, 'controller.json'),
      JSON.stringify({ benchmark: 'controller', command, machine, settings, runs }, null, 2) + '\n',
    );
  }
  const md = [
    '# Controller overhead (local stack)',
    '',
    `Command: \`${command}\` — ${machine.date as string}, Node ${machine.node as string}, ${machine.cpus as number} × ${machine.cpuModel as string}, ${machine.memoryGiB as number} GiB, ${machine.platform as string}.`,
    '',
    `Setup: emulator provisioning delay 0, a 1-second batch (the agent in command mode running \`sleep 1\`), 1 vCPU / 0.5 GB per job, POLL_INTERVAL_SECONDS ${head.pollIntervalSeconds}, ADMISSION_POLL_SECONDS ${head.admissionPollSeconds}, READY_FALLBACK_SECONDS ${head.readyFallbackSeconds}, regional quota ${QUOTA_GROUPS} groups / ${QUOTA_GROUPS} cores (the controller's GLOBAL_MAX_* and the emulator's), creates per 5 minutes capped at ${CREATES_PER_5MIN} (GLOBAL_MAX_CREATES_PER_5MIN; Azure's ~100 would pace 1,000 jobs to ≥ 45 min by itself, so it is lifted to measure the controller), tenant maxConcurrentJobs 1000; all jobs submitted at once (${CLIENT_CONCURRENCY} requests in flight). A fresh stack per row. Rows measured with other settings or code say so in \`controller.json\` (\`settings\`, \`controller\`).`,
    '',
    table(runs),
    '',
    "The controller's steps on both paths (from the orchestration's history: EventRaised is stamped when the host received the event, TaskCompleted when the activity ended):",
    '',
    stageTable(runs),
    '',
    '## Durable history per job',
    '',
    historySections(),
    'How to read it:',
    '- *agent ready → /start*: the agent logged "listening" (and sends its ready callback) → it logged "job started" (the controller\'s POST /start arrived). It is the controller\'s part: the callback, the event, one ARM read of the group, POST /start. *ready callback delivered → /start* starts when the callback\'s answer reached the agent, so it can be negative (the start may overtake the answer).',
    '- *submit → agent /start*: from this process sending the POST to the agent logging "job started"; *group created → /start* (emulator launched the container → agent started) includes the agent\'s own boot (a Node process).',
    "- *batch finished → delete scheduled*: agent logged \"job finished\" → the orchestration scheduled DeleteContainerGroup (its history's ScheduledTime): the completion callback, archiving result and logs to Blob, the decision. *→ delete requested (answered)*: the controller's log line, written when the ARM DELETE answered — in the emulator after the agent's SIGTERM shutdown. *→ group deleted*: the emulator's log line; summed over the jobs it is the billable group-seconds after the batch finished.",
    '- History: *stored* counts every event the host keeps (incl. OrchestratorStarted/Completed and TaskScheduled), all continueAsNew generations; *shown* is what the Durable HTTP API lists; *activity calls* count TaskCompleted + TaskFailed.',
    '- This machine has 2 cores shared with other work: with 100 groups at once, 100 Node agents boot and run side by side with the controller, Azurite and the emulator (see the load averages).',
    '- *POST answered*: how long the submit request took (the bench retries 429/5xx like a client would and counts them, in brackets).',
    "- Peak RSS: the host's VmHWM; the stack's is sampled every 0.5 s over the emulator, Azurite, the host and every container process.",
    '',
  ].join('\n');
  writeFileSync(join(RESULTS, 'controller.md'), md);
  console.log(md);
}

main().catch((err: Error) => {
  console.error(`controller bench failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
