// `npm run bench -- host`: throughput of local/functions-host running the fixture app in-process
// (startHost), driven over HTTP exactly as a client would. Writes bench/results/host.json and host.md.
//   - sequential: one instance, 500 no-op activities one after another
//   - fan-out/fan-in: one instance, 1,000 no-op activities in one Task.all
//   - 100 concurrent orchestrations of 5 sequential activities each
//   - external events: one instance waits for 500 events in turn; events raised by 8 concurrent senders
// Each scenario runs REPS times on a fresh data folder; medians are reported.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startHost } from '../local/functions-host/index';
import { machineInfo, median } from './machine';

const REPS = Number(process.env.BENCH_REPS ?? 3);
const appDir = join(__dirname, '..', 'tests', 'fixtures', 'durable-app');
const resultsDir = join(__dirname, 'results');

interface Host {
  baseUrl: string;
  close(): Promise<void>;
}

/** CPU time (user + system, ms) this process spent per unit of work in the last scenario. */
const cpu: Record<string, number[]> = { sequential: [], fanOut: [], concurrent: [], events: [] };

async function measured<T>(name: string, units: number, fn: () => Promise<T>): Promise<T> {
  const c0 = process.cpuUsage();
  const r = await fn();
  const c = process.cpuUsage(c0);
  cpu[name]!.push((c.user + c.system) / 1000 / units);
  return r;
}

async function withHost<T>(fn: (h: Host) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'host-bench-'));
  const host = await startHost({ appDir, dataDir, port: 0, logger: pino({ level: 'warn' }, pino.destination(2)) });
  try {
    return await fn(host);
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function start(h: Host, name: string, input: unknown, id: string): Promise<void> {
  const res = await fetch(`${h.baseUrl}/runtime/webhooks/durabletask/orchestrators/${name}/${id}`, {
    method: 'POST',
    body: JSON.stringify(input),
    headers: { 'content-type': 'application/json' },
  });
  if (res.status !== 202) throw new Error(`start ${name} answered ${res.status}: ${await res.text()}`);
}

async function waitDone(h: Host, id: string, deadlineMs = 300_000): Promise<unknown> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const res = await fetch(`${h.baseUrl}/runtime/webhooks/durabletask/instances/${id}`);
    const body = (await res.json()) as { runtimeStatus: string; output: unknown };
    if (res.status === 200) {
      if (body.runtimeStatus !== 'Completed')
        throw new Error(`${id} ended ${body.runtimeStatus}: ${JSON.stringify(body.output)}`);
      return body.output;
    }
    if (Date.now() > deadline) throw new Error(`${id} not done in time`);
    await new Promise((r) => setTimeout(r, 20)); // coarse polling: it shares the event loop with the host
  }
}

async function sequential(): Promise<number> {
  return withHost(async (h) => {
    const t0 = performance.now();
    await start(h, 'SequentialNoop', 500, 'seq');
    const out = await waitDone(h, 'seq');
    if (out !== 500) throw new Error(`unexpected output ${String(out)}`);
    return 500 / ((performance.now() - t0) / 1000);
  });
}

async function fanOut(): Promise<number> {
  return withHost(async (h) => {
    const t0 = performance.now();
    await start(h, 'FanOutNoop', 1000, 'fan');
    const out = await waitDone(h, 'fan');
    if (out !== 1000) throw new Error(`unexpected output ${String(out)}`);
    return 1000 / ((performance.now() - t0) / 1000);
  });
}

async function concurrent(): Promise<{ orchestrationsPerSec: number; activitiesPerSec: number }> {
  return withHost(async (h) => {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 100 }, (_, i) => start(h, 'SequentialNoop', 5, `c${i}`)));
    // One poller for all 100 (100 pollers would cost more CPU than the work being measured).
    const deadline = Date.now() + 300_000;
    for (;;) {
      const res = await fetch(
        `${h.baseUrl}/runtime/webhooks/durabletask/instances/?top=1000&showInput=false&runtimeStatus=Completed,Failed,Terminated`,
      );
      const rows = (await res.json()) as { runtimeStatus: string }[];
      if (rows.some((r) => r.runtimeStatus !== 'Completed')) throw new Error('an orchestration did not complete');
      if (rows.length === 100) break;
      if (Date.now() > deadline) throw new Error('100 orchestrations not done in time');
      await new Promise((r) => setTimeout(r, 20));
    }
    const s = (performance.now() - t0) / 1000;
    return { orchestrationsPerSec: 100 / s, activitiesPerSec: 500 / s };
  });
}

async function events(): Promise<number> {
  return withHost(async (h) => {
    const n = 500;
    await start(h, 'EventCounter', n, 'ev');
    const t0 = performance.now();
    let next = 0;
    const sender = async (): Promise<void> => {
      while (next < n) {
        next++;
        const res = await fetch(`${h.baseUrl}/runtime/webhooks/durabletask/instances/ev/raiseEvent/tick`, {
          method: 'POST',
          body: '1',
          headers: { 'content-type': 'application/json' },
        });
        if (res.status !== 202) throw new Error(`raiseEvent answered ${res.status}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    const out = await waitDone(h, 'ev');
    if (out !== n) throw new Error(`unexpected output ${String(out)}`);
    return n / ((performance.now() - t0) / 1000);
  });
}

async function main(): Promise<void> {
  const runs = {
    sequential: [] as number[],
    fanOut: [] as number[],
    concurrentOrch: [] as number[],
    concurrentAct: [] as number[],
    events: [] as number[],
  };
  for (let r = 0; r < REPS; r++) {
    runs.sequential.push(await measured('sequential', 500, sequential));
    runs.fanOut.push(await measured('fanOut', 1000, fanOut));
    const c = await measured('concurrent', 500, concurrent);
    runs.concurrentOrch.push(c.orchestrationsPerSec);
    runs.concurrentAct.push(c.activitiesPerSec);
    runs.events.push(await measured('events', 500, events));
    console.log(
      `rep ${r + 1}/${REPS}: seq ${runs.sequential[r]!.toFixed(0)}/s, fan-out ${runs.fanOut[r]!.toFixed(0)}/s, ` +
        `100x5 ${runs.concurrentAct[r]!.toFixed(0)} act/s, events ${runs.events[r]!.toFixed(0)}/s`,
    );
  }
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  const m = {
    sequentialActivitiesPerSec: median(runs.sequential),
    fanOutActivitiesPerSec: median(runs.fanOut),
    concurrentOrchestrationsPerSec: median(runs.concurrentOrch),
    concurrentActivitiesPerSec: median(runs.concurrentAct),
    externalEventsPerSec: median(runs.events),
    peakRssMiB,
    cpuMsPerActivitySequential: median(cpu.sequential!),
    cpuMsPerActivityFanOut: median(cpu.fanOut!),
    cpuMsPerActivityConcurrent: median(cpu.concurrent!),
    cpuMsPerEvent: median(cpu.events!),
  };
  const anchors = {
    azureStorageSequential: 5,
    azureStorageFanOut: 100,
    netheriteSequential: [250, 350],
    netheriteFanOut: [500, 2000],
  };
  const result = {
    benchmark: 'host',
    machine: { ...machineInfo(), loadAverageAtEnd: loadavg().map((x) => Number(x.toFixed(2))) },
    settings: { reps: REPS, maxActivities: 16, driver: 'in-process startHost, HTTP client on the same event loop' },
    medians: m,
    // The machine is shared with other builds and tests: the fastest run is the one least disturbed.
    best: {
      sequentialActivitiesPerSec: Math.max(...runs.sequential),
      fanOutActivitiesPerSec: Math.max(...runs.fanOut),
      concurrentActivitiesPerSec: Math.max(...runs.concurrentAct),
      externalEventsPerSec: Math.max(...runs.events),
    },
    ratios: {
      sequentialVsNetheriteHigh: m.sequentialActivitiesPerSec / 350,
      fanOutVsNetheriteHigh: m.fanOutActivitiesPerSec / 2000,
      sequentialVsAzureStorage: m.sequentialActivitiesPerSec / 5,
      fanOutVsAzureStorage: m.fanOutActivitiesPerSec / 100,
    },
    anchors,
    runs,
    cpuMsPerUnit: cpu,
  };
  writeFileSync(join(resultsDir, 'host.json'), JSON.stringify(result, null, 2) + '\n');
  const mc = result.machine as unknown as {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    date: string;
    loadAverageAtEnd: number[];
  };
  const f = (x: number): string => x.toFixed(0);
  const md = `# functions-host benchmark

Machine: ${mc.cpus} × ${mc.cpuModel}, ${mc.memoryGiB} GiB, Node ${mc.node}, ${mc.date}; load average at the end
${mc.loadAverageAtEnd.join(' / ')} (the machine is shared: other work ran at the same time).
Fixture app \`tests/fixtures/durable-app\` in-process through \`startHost\` (SQLite WAL, synchronous=NORMAL,
16 concurrent activities), driven over HTTP on the same event loop. Median of ${REPS} runs, fresh data folder each.
Reproduce: \`BENCH_REPS=${REPS} npm run bench -- host\` (default 3 runs).

| scenario | median | best | runs | public anchor |
|---|---|---|---|---|
| sequential activities/s (1 instance, 500 no-op) | **${f(m.sequentialActivitiesPerSec)}** | ${f(result.best.sequentialActivitiesPerSec)} | ${runs.sequential.map(f).join(', ')} | Azure Storage ≈5, Netherite 250–350 |
| fan-out/fan-in activities/s (1,000 no-op) | **${f(m.fanOutActivitiesPerSec)}** | ${f(result.best.fanOutActivitiesPerSec)} | ${runs.fanOut.map(f).join(', ')} | Azure Storage ≈100, Netherite 500–2,000 |
| 100 concurrent orchestrations × 5 activities: orchestrations/s | **${f(m.concurrentOrchestrationsPerSec)}** | ${f(result.best.concurrentActivitiesPerSec / 5)} | ${runs.concurrentOrch.map(f).join(', ')} | – |
| … same, activities/s | **${f(m.concurrentActivitiesPerSec)}** | ${f(result.best.concurrentActivitiesPerSec)} | ${runs.concurrentAct.map(f).join(', ')} | – |
| external events/s (1 instance, 500 events, 8 senders) | **${f(m.externalEventsPerSec)}** | ${f(result.best.externalEventsPerSec)} | ${runs.events.map(f).join(', ')} | – |
| peak RSS of the bench process | ${f(peakRssMiB)} MiB | | | |

CPU time of the whole process (host + HTTP client) per unit of work, less sensitive than wall time to
other load on the machine: sequential ${m.cpuMsPerActivitySequential.toFixed(2)} ms/activity (one instance: every
step replays a growing history), fan-out ${m.cpuMsPerActivityFanOut.toFixed(2)} ms/activity, 100×5
${m.cpuMsPerActivityConcurrent.toFixed(2)} ms/activity, events ${m.cpuMsPerEvent.toFixed(2)} ms/event.

Ratios: sequential ${result.ratios.sequentialVsNetheriteHigh.toFixed(1)}× Netherite's upper figure (350/s),
fan-out ${result.ratios.fanOutVsNetheriteHigh.toFixed(2)}× Netherite's upper figure (2,000/s);
${f(result.ratios.sequentialVsAzureStorage)}× and ${f(result.ratios.fanOutVsAzureStorage)}× the Azure Storage backend.
The anchors are per-worker figures published for Azure; this is one 2-core machine with no network hop,
so the comparison says the local host will not be the bottleneck of tests, not that it is faster than Azure.
`;
  writeFileSync(join(resultsDir, 'host.md'), md);
  console.log(md);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
