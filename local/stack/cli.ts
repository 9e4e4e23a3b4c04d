// `npm start`: the whole local stack in one terminal. Prints the API's base URL, the tenants and a
// curl example that works as printed; Ctrl-C (or SIGTERM) stops everything and exits 0 once no
// process and no container group is left.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ComponentError } from './child';
import { DataFolderInUse } from './data-lock';
import { generateRegimeSeries } from './demo-data';
import { DEFAULT_TENANTS_FILE, startStack, type Stack } from './stack';
import { readTenants } from './tenants-info';
import { LOCAL_OPERATOR_KEY } from './settings';

const USAGE = `usage: npm start -- [--data <dir>] [--port <api port>] [--tenants <file>]
                    [--provisioning-delay-ms <n>] [--poll-interval-seconds <s>] [--verbose]

  --data      where the stack keeps its state (emulator CA and groups, Azurite blobs, the host's
              SQLite, logs); default .data/
  --port      the Function App's HTTP port on 127.0.0.1; default 7071
  --tenants   tenants file; default tenants.example.json
  --verbose   echo every component's log lines (they are always in <data>/logs/)`;

function parse(): {
  dataDir: string;
  port: number;
  tenantsFile: string;
  provisioningDelayMs: number;
  pollIntervalSeconds: number;
  verbose: boolean;
} {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        data: { type: 'string', default: '.data' },
        port: { type: 'string', default: '7071' },
        tenants: { type: 'string', default: DEFAULT_TENANTS_FILE },
        'provisioning-delay-ms': { type: 'string', default: '1000' },
        'poll-interval-seconds': { type: 'string', default: '2' },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const num = (name: string, v: string, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) {
      console.error(`--${name} must be a number in [${min}, ${max}] (got '${v}')\n\n${USAGE}`);
      process.exit(2);
    }
    return n;
  };
  return {
    dataDir: resolve(values.data),
    port: num('port', values.port, 1, 65535),
    tenantsFile: resolve(values.tenants),
    provisioningDelayMs: num('provisioning-delay-ms', values['provisioning-delay-ms'], 0, 600_000),
    pollIntervalSeconds: num('poll-interval-seconds', values['poll-interval-seconds'], 0.05, 3600),
    verbose: values.verbose,
  };
}

/** 40 observations of a two-regime series: the model needs at least 5 per parameter (6 here). */
function exampleInput(): Record<string, unknown> {
  const s = generateRegimeSeries({ n: 40, mu: [0, 2], sigma2: [0.1, 0.1], stay: [0.9, 0.9], seed: 5 });
  return { y: s.y.map((v) => Math.round(v * 100) / 100), k: 2, switchingVariance: true, trend: 'c' };
}

async function main(): Promise<void> {
  const args = parse();
  const say = (m: string): void => console.error(`[stack] ${m}`);
  let stack: Stack | undefined;
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      say(`${sig}: stopping…`);
      if (!stack) return; // still starting: stopped right after startStack returns
      void shutdown(0);
    } else {
      say(
        'still stopping (deleting container groups, waiting for processes to exit); press Ctrl-C again to stop waiting',
      );
      if (signals >= 3) process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  async function shutdown(code: number): Promise<void> {
    const report = await stack!.stop();
    if (report.leftoverGroups.length)
      say(
        `deleted ${report.leftoverGroups.length} container group(s) that were still there: ${report.leftoverGroups.join(', ')}`,
      );
    if (report.strayProcesses.length)
      say(`killed ${report.strayProcesses.length} stray process(es): ${report.strayProcesses.join('; ')}`);
    if (report.leftoverCgroups.length)
      say(
        `removed ${report.leftoverCgroups.length} cgroup folder(s) a dead emulator left: ${report.leftoverCgroups.join(', ')}`,
      );
    if (report.forced.length) say(`had to SIGKILL: ${report.forced.join(', ')}`);
    say('stopped: no process and no container group left.');
    process.exit(code);
  }

  try {
    stack = await startStack({
      dataDir: args.dataDir,
      tenantsFile: args.tenantsFile,
      ports: { api: args.port },
      provisioningDelayMs: args.provisioningDelayMs,
      pollIntervalSeconds: args.pollIntervalSeconds,
      // The emulator enforces the roles bicep/ deploys (warns and runs without RBAC when no compiler).
      grants: 'deployed',
      log: say,
      ...(args.verbose ? { componentLog: (c: string, line: string) => console.error(`[${c}] ${line}`) } : {}),
    });
  } catch (err) {
    if (err instanceof ComponentError || err instanceof DataFolderInUse)
      console.error(`\n[stack] could not start: ${err.message}`);
    else console.error(`\n[stack] could not start: ${(err as Error).stack ?? String(err)}`);
    console.error(`[stack] logs: ${resolve(args.dataDir, 'logs')}`);
    process.exit(1);
  }
  if (signals > 0) return shutdown(0);

  stack.onUnexpectedExit((component, how, lines) => {
    say(
      `${component} exited unexpectedly (${how}); last output:\n${lines
        .slice(-20)
        .map((l) => '    | ' + l)
        .join('\n')}`,
    );
    void shutdown(1);
  });

  const api = stack.apiBaseUrl;
  const tenants = readTenants(stack.tenantsFile);
  const first = tenants.find((t) => t.localKey) ?? tenants[0];
  const lines = [
    '',
    `aci-batch local stack is up.`,
    '',
    `  API        ${api}   (OpenAPI: ${api}/openapi.json, health: ${api}/health)`,
    `  ARM (ACI)  ${stack.emulator.armEndpoint}   registry ${stack.emulator.registryLoginServer}`,
    `  Blob       ${stack.blobEndpoint}`,
    `  data/logs  ${stack.dataDir}  (${stack.logsDir})`,
    '',
    `  Tenants (${stack.tenantsFile}):`,
    ...tenants.map(
      (t) =>
        `    ${t.id.padEnd(12)} ${t.displayName.padEnd(24)} key: ${t.localKey ?? '(not a local demo key; use your own)'}`,
    ),
    `  Operator (${api}/admin/tenants, /admin/groups, /admin/capacity, /admin/usage)  key: ${LOCAL_OPERATOR_KEY}`,
    '',
  ];
  if (first?.localKey) {
    lines.push(
      '  Try it (in another terminal):',
      '',
      `    curl -s -X POST ${api}/tenants/${first.id}/jobs \\`,
      `      -H 'Authorization: Bearer ${first.localKey}' -H 'Content-Type: application/json' \\`,
      `      -d '${JSON.stringify({ input: exampleInput() })}'`,
      '',
      `    curl -s ${api}/tenants/${first.id}/jobs/<id> -H 'Authorization: Bearer ${first.localKey}'`,
      '',
      '  or: npm run demo -- --api ' + api,
      '',
    );
  }
  lines.push('Ctrl-C stops everything.', '');
  console.log(lines.join('\n'));
}

void main();
