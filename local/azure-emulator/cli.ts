// npm run emulator -- --port <port> --data <folder> [...]: prints ONE JSON line on stdout when
// ready (endpoints, CA bundle, identities); logs go to stderr. SIGTERM/SIGINT stop every container
// process and exit 0.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startEmulator, type EmulatorOptions } from './index';
import { createLogger } from './log';

const USAGE = `usage: npm run emulator -- --data <folder> [--port 0] [--images catalog.json] [options]
  --port N                 ARM port (registry N+1, identity N+2 unless given); 0 = free ports (default 0)
  --registry-port N, --identity-port N
  --data DIR               data folder: CA, secrets, container group records and logs (required)
  --images FILE            image catalog JSON
  --identities FILE        restrict managed identities to this list
  --grants FILE            enforce RBAC: principal → actions at scopes (README "RBAC"); default: allow all
  --no-acr-arm-audience    the registry refuses ARM-audience tokens (azureADAuthenticationAsArmPolicy disabled)
  --location NAME          region (default westeurope)
  --subscription-id ID, --tenant-id ID
  --provisioning-delay-ms N (default 3000)   --delete-delay-ms N (default 0)   --latency-ms N
  --max-groups N (100)     --max-cores N (100)   --page-size N (100)
  --creates-per-5min N, --deletes-per-5min N   ACI's rate limits (default 0 = unlimited; Azure's ~100)
  --restart-backoff-ms N (1000)  --stop-grace-ms N (2000)
  --faults JSON            initial faults, e.g. '{"throttle":{"count":2,"retryAfterSeconds":1}}'
  --resource-groups a,b    only these resource groups exist
  --anonymous-pull         allow pulling without credentials
  --no-cgroups             run containers without cpu/memory limits
  --log-level LEVEL        pino level (default info)
  --no-exit-with-parent    keep running when the parent process exits (default: stop, like on SIGTERM)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'registry-port': { type: 'string' },
      'identity-port': { type: 'string' },
      data: { type: 'string' },
      images: { type: 'string' },
      identities: { type: 'string' },
      grants: { type: 'string' },
      'no-acr-arm-audience': { type: 'boolean' },
      location: { type: 'string' },
      'subscription-id': { type: 'string' },
      'tenant-id': { type: 'string' },
      'provisioning-delay-ms': { type: 'string' },
      'delete-delay-ms': { type: 'string' },
      'latency-ms': { type: 'string' },
      'max-groups': { type: 'string' },
      'max-cores': { type: 'string' },
      'creates-per-5min': { type: 'string' },
      'deletes-per-5min': { type: 'string' },
      'page-size': { type: 'string' },
      'restart-backoff-ms': { type: 'string' },
      'stop-grace-ms': { type: 'string' },
      faults: { type: 'string' },
      'resource-groups': { type: 'string' },
      'anonymous-pull': { type: 'boolean' },
      'no-cgroups': { type: 'boolean' },
      'log-level': { type: 'string' },
      'no-exit-with-parent': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help || !values.data) {
    process.stderr.write(USAGE + '\n');
    process.exit(values.help ? 0 : 2);
  }
  const int = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) {
      process.stderr.write(`--${name} must be a non-negative number\n`);
      process.exit(2);
    }
    return n;
  };
  const log = createLogger(values['log-level'] ?? process.env.EMULATOR_LOG_LEVEL ?? 'info');
  let faults: EmulatorOptions['faults'];
  if (values.faults) {
    const text = values.faults.trim().startsWith('{') ? values.faults : readFileSync(values.faults, 'utf8');
    faults = JSON.parse(text) as EmulatorOptions['faults'];
  }
  const opts: EmulatorOptions = { dataDir: values.data, logger: log };
  const set = <K extends keyof EmulatorOptions>(k: K, v: EmulatorOptions[K] | undefined) => {
    if (v !== undefined) opts[k] = v;
  };
  set('port', int('port', values.port));
  set('registryPort', int('registry-port', values['registry-port']));
  set('identityPort', int('identity-port', values['identity-port']));
  set('imagesFile', values.images);
  set('identitiesFile', values.identities);
  set('grantsFile', values.grants);
  if (values['no-acr-arm-audience']) set('acrArmAudienceTokens', false);
  set('location', values.location);
  set('subscriptionId', values['subscription-id']);
  set('tenantId', values['tenant-id']);
  set('provisioningDelayMs', int('provisioning-delay-ms', values['provisioning-delay-ms']));
  set('deleteDelayMs', int('delete-delay-ms', values['delete-delay-ms']));
  set('latencyMs', int('latency-ms', values['latency-ms']));
  set('maxGroups', int('max-groups', values['max-groups']));
  set('maxCores', int('max-cores', values['max-cores']));
  set('createsPer5Min', int('creates-per-5min', values['creates-per-5min']));
  set('deletesPer5Min', int('deletes-per-5min', values['deletes-per-5min']));
  set('pageSize', int('page-size', values['page-size']));
  set('restartBackoffMs', int('restart-backoff-ms', values['restart-backoff-ms']));
  set('stopGraceMs', int('stop-grace-ms', values['stop-grace-ms']));
  set('faults', faults);
  set(
    'resourceGroups',
    values['resource-groups']
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  set('anonymousPull', values['anonymous-pull']);
  set('disableCgroups', values['no-cgroups']);

  const emulator = await startEmulator(opts);
  const { close: _close, setFaults: _setFaults, ...ready } = emulator;
  process.stdout.write(JSON.stringify(ready) + '\n');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => {
      log.error('shutdown took longer than 15 s; exiting anyway');
      process.exit(1);
    }, 15000);
    force.unref();
    emulator.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  if (!values['no-exit-with-parent']) {
    // `npm run emulator` puts npm and a shell between the caller and us; when npm is killed the
    // shell dies without passing the signal on. An orphaned emulator stops itself (and its
    // containers) instead of living on unseen.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) stop('parent process exited');
    }, 500).unref();
  }
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => stop('SIGHUP'));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `azure-emulator failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
