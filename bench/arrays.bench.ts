// Job arrays at scale on the local stack (`npm run bench -- arrays`): one array of 1,000 no-op tasks
// (the agent in command mode running `true`), emulator provisioning delay 0, regional quota 100
// groups / 100 cores (GLOBAL_MAX_GROUPS/CORES 100, the emulator's too), the create-rate cap lifted
// as in the controller bench (it would otherwise pace 1,000 creates over 50 minutes). Measures:
//   - time until every task was admitted (the controller's "slot granted" log line per task) and
//     until the parent ended;
//   - the parent's Durable history: events per generation (sampled from the host's Durable HTTP API
//     every second: the host keeps only the current generation) and the number of generations;
//   - the functions host's RSS (VmHWM at the end, VmRSS sampled).
// BENCH_ARRAY_COUNT / BENCH_ARRAY_PARALLELISM change the array (default 1000 / 100).
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../local/stack/api-client';
import { REPO_ROOT, startStack } from '../local/stack/stack';
import { instanceIdOf } from '../orchestration/src/contracts';
import { machineInfo } from './machine';
import { benchTenant, rssKiB } from './stack-fixtures';

const COUNT = Number(process.env.BENCH_ARRAY_COUNT ?? '1000');
const PARALLELISM = Number(process.env.BENCH_ARRAY_PARALLELISM ?? '100');
const QUOTA = 100;
const RESULTS = process.env.BENCH_RESULTS_DIR ?? join(__dirname, 'results');
const TMP = join(__dirname, '.tmp', `arrays-${process.pid}`);
const DEADLINE_MS = 60 * 60_000;

function writeTenants(dir: string, key: string): string {
  const file = join(dir, 'tenants.json');
  const tenant = benchTenant('bench', key, 1000, ['bench/noop']);
  writeFileSync(file, JSON.stringify({ tenants: [tenant] }, null, 2));
  return file;
}

async function main(): Promise<void> {
  rmSync(TMP, { recursive: true, force: true });
  mkdirSync(TMP, { recursive: true });
  const key = randomBytes(24).toString('hex');
  const granted = new Map<string, number>();
  const loadBefore = os.loadavg()[0]!;
  const stack = await startStack({
    dataDir: join(TMP, 'data'),
    tenantsFile: writeTenants(TMP, key),
    provisioningDelayMs: 0,
    extraImages: {
      repositories: {
        'bench/noop': {
          tags: {
            '1.0': {
              command: ['node', join(REPO_ROOT, 'batch-image/dist/agent/main.js')],
              env: { AGENT_MODE: 'command', AGENT_COMMAND: JSON.stringify(['true']) },
            },
          },
        },
      },
    },
    settings: {
      GLOBAL_MAX_GROUPS: String(QUOTA),
      GLOBAL_MAX_CORES: String(QUOTA),
      GLOBAL_MAX_CREATES_PER_5MIN: '100000',
      LOG_LEVEL: 'info',
    },
    emulatorArgs: ['--max-groups', String(QUOTA), '--max-cores', String(QUOTA)],
    componentLog: (component, line) => {
      if (component !== 'functions-host' || !line.includes('slot granted')) return;
      try {
        const rec = JSON.parse(line.slice(line.indexOf('{'))) as { jobId?: string; time?: number | string };
        if (rec.jobId && !granted.has(rec.jobId)) granted.set(rec.jobId, Date.now());
      } catch {
        // not a JSON line
      }
    },
    log: (m) => console.error(`  [stack] ${m}`),
  });
  const hostPid = stack.pids().host;
  let peakRssKiB = 0;
  const generations = new Map<number, number>();
  try {
    const client = new ApiClient(stack.apiBaseUrl, 'bench', key, 60_000);
    const submittedAt = Date.now();
    const sub = await client.submitOk({ image: 'bench/noop:1.0', array: { count: COUNT, parallelism: PARALLELISM } });
    const parentInstance = instanceIdOf('bench', sub.id);
    let final: Record<string, unknown> | undefined;
    while (Date.now() - submittedAt < DEADLINE_MS) {
      await new Promise((r) => setTimeout(r, 1000));
      if (hostPid) peakRssKiB = Math.max(peakRssKiB, rssKiB(hostPid, 'VmRSS'));
      const url = `${stack.hostBaseUrl}/runtime/webhooks/durabletask/instances/${parentInstance}?showHistory=true`;
      const r = await fetch(url, { signal: AbortSignal.timeout(30_000) }).catch(() => undefined);
      if (r && (r.status === 200 || r.status === 202)) {
        const body = (await r.json()) as { historyEvents?: unknown[]; input?: { run?: { generation?: number } } };
        const gen = (body.input?.run?.generation ?? 0) + 1;
        generations.set(gen, Math.max(generations.get(gen) ?? 0, body.historyEvents?.length ?? 0));
      }
      const s = await client.status(sub.id);
      if (['succeeded', 'failed', 'canceled', 'timed_out'].includes(s.state) && s.phase === 'done') {
        final = s as unknown as Record<string, unknown>;
        break;
      }
    }
    const endedAt = Date.now();
    const hostPeakKiB = hostPid ? rssKiB(hostPid, 'VmHWM') : 0;
    const allAdmittedMs = granted.size ? Math.max(...granted.values()) - submittedAt : NaN;
    const perGeneration = [...generations.entries()].sort((a, b) => a[0] - b[0]).map(([, n]) => n);
    const result = {
      machine: machineInfo(),
      load: { before: loadBefore, after: os.loadavg()[0] },
      array: { count: COUNT, parallelism: PARALLELISM, quotaGroups: QUOTA },
      parent: {
        id: sub.id,
        state: final?.state ?? 'not finished',
        counts: (final?.array as { counts?: unknown })?.counts,
      },
      tasksAdmitted: granted.size,
      allAdmittedSeconds: allAdmittedMs / 1000,
      parentEndedSeconds: (endedAt - submittedAt) / 1000,
      parentHistory: {
        generations: perGeneration.length,
        maxEventsInOneGeneration: Math.max(0, ...perGeneration),
        eventsPerGeneration: perGeneration,
        note: 'shown events (Durable HTTP API showHistory), sampled every second: a generation is counted as last seen',
      },
      hostRssMiB: { peakVmHWM: Math.round(hostPeakKiB / 1024), sampledMax: Math.round(peakRssKiB / 1024) },
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'arrays.json'), JSON.stringify(result, null, 2) + '\n');
    const md = [
      `# arrays — ${COUNT} no-op tasks, parallelism ${PARALLELISM}, quota ${QUOTA} groups`,
      '',
      `Reproduce: \`npm run bench -- arrays\` (BENCH_ARRAY_COUNT, BENCH_ARRAY_PARALLELISM). ${result.machine.date}, load ${loadBefore.toFixed(2)} → ${os.loadavg()[0]!.toFixed(2)}.`,
      '',
      '| parent | tasks admitted | all admitted after | parent ended after | parent history: generations / max events in one | host RSS peak |',
      '|---|---|---|---|---|---|',
      `| ${result.parent.state} | ${granted.size} / ${COUNT} | ${result.allAdmittedSeconds.toFixed(1)} s | ${result.parentEndedSeconds.toFixed(1)} s | ${perGeneration.length} / ${result.parentHistory.maxEventsInOneGeneration} | ${result.hostRssMiB.peakVmHWM} MiB |`,
      '',
    ].join('\n');
    writeFileSync(join(RESULTS, 'arrays.md'), md);
    console.log(md);
    if (final?.state !== 'succeeded') process.exitCode = 1;
  } finally {
    await stack.stop();
    rmSync(TMP, { recursive: true, force: true });
  }
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
