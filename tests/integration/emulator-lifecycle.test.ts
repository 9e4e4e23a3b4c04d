// The emulator as a user meets it: start the CLI, read its ready line, point the real SDK clients
// (in child processes with NODE_EXTRA_CA_CERTS etc.) at it, stop it, start it again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  admin,
  IMAGES,
  pidAlive,
  REPO,
  removeDir,
  scenario,
  startCli,
  tempDir,
  waitUntil,
  type Ready,
  type RunningEmulator,
} from '../fixtures/emulator/harness';

function miToken(ready: Ready, resource: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet(
      `${ready.identityEndpoint}?api-version=2019-08-01&resource=${encodeURIComponent(resource)}`,
      { headers: { 'x-identity-header': ready.identityHeader } },
      (r) => {
        let d = '';
        r.on('data', (c: Buffer) => (d += c.toString()));
        r.on('end', () => resolve((JSON.parse(d) as { access_token: string }).access_token));
      },
    ).on('error', reject);
  });
}

function armPut(ready: Ready, ca: string, path: string, body: unknown, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${ready.armEndpoint}${path}?api-version=2023-05-01`,
      { method: 'PUT', ca, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
      (r) => {
        r.resume();
        r.on('end', () => resolve(r.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

interface AdminGroups {
  groups: Array<{
    name: string;
    state: string;
    ip: string;
    containers: Array<{ pid: number | null; alive: boolean; cgroup: Record<string, string> | null }>;
  }>;
}

describe('azure emulator: lifecycle with the real SDK clients', () => {
  const data = tempDir('emu-life-');
  let emu: RunningEmulator;
  let ca: string;

  before(async () => {
    emu = await startCli(data, [
      '--provisioning-delay-ms',
      '0',
      '--page-size',
      '2',
      '--restart-backoff-ms',
      '100',
      '--stop-grace-ms',
      '500',
    ]);
    ca = readFileSync(emu.ready.caCertFile, 'utf8');
  });

  after(async () => {
    await emu?.stop('SIGKILL');
    // Anything a failed test left behind: start once more on the same data and shut down cleanly.
    const again = await startCli(data, ['--provisioning-delay-ms', '0']).catch(() => undefined);
    if (again) {
      await admin(again.ready, readFileSync(again.ready.caCertFile, 'utf8'), 'reset', {});
      await again.stop();
    }
    removeDir(data);
  });

  it('prints one ready line with endpoints, CA bundle, certificates and identities', () => {
    const r = emu.ready;
    assert.match(r.armEndpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(r.registryEndpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(r.registryEndpoint, `https://${r.registryLoginServer}`);
    assert.match(r.identityEndpoint, /^http:\/\/127\.0\.0\.1:\d+\/msi\/token$/);
    assert.ok(r.identityHeader.length >= 16);
    const bundle = readFileSync(r.caBundle, 'utf8');
    assert.ok(bundle.includes(readFileSync(r.caCertFile, 'utf8').trim()), 'bundle contains the local CA');
    assert.ok((bundle.match(/BEGIN CERTIFICATE/g) ?? []).length > 10, 'bundle keeps the system CAs');
    assert.ok(existsSync(r.tlsCertFile) && existsSync(r.tlsKeyFile));
    assert.deepEqual(r.identities.map((i) => i.name).sort(), ['aci-batch-controller', 'aci-batch-jobs']);
  });

  it('resolves tags to digests and lists through the ACR client', async () => {
    const o = await scenario(emu.ready, 'registry');
    assert.deepEqual(
      o.repositories,
      [
        'test/busy',
        'test/crash',
        'test/flood',
        'test/http',
        'test/hog',
        'test/oom-child',
        'test/orphans',
        'test/prober',
      ].sort(),
    );
    assert.match(String(o.digest), /^sha256:[0-9a-f]{64}$/);
    assert.equal(o.latestDigest, o.digest, 'two tags with one definition share the digest');
    assert.equal(o.manifestDigest, o.digest);
    assert.deepEqual(o.tags, ['1.0', 'latest']);
    assert.deepEqual(o.listedTags, ['1.0', 'latest']);
    assert.deepEqual(o.listedManifests, [o.digest], 'one manifest for both tags');
    assert.equal(o.repositoryTagCount, 2);
    assert.deepEqual((o.manifest as { command: string[] }).command, ['node', 'programs/http-server.mjs']);
    assert.equal((o.missingTag as { statusCode: number }).statusCode, 404);
    assert.equal((o.missingRepo as { statusCode: number }).statusCode, 404);
    assert.equal((o.anonymous as { statusCode: number }).statusCode, 401);
  });

  it('runs the whole container group lifecycle with LRO polling', async () => {
    const o = await scenario(emu.ready, 'lifecycle');
    const put = o.put as { status: number; asyncOperation: string; provisioningState: string; state: string };
    assert.equal(put.status, 201);
    assert.equal(put.provisioningState, 'Pending');
    assert.equal(put.state, 'Pending');
    assert.match(
      put.asyncOperation,
      new RegExp(
        `^${emu.ready.armEndpoint}/subscriptions/${emu.ready.subscriptionId}/providers/Microsoft.ContainerInstance/locations/westeurope/operations/[0-9a-f-]{36}\\?api-version=2018-06-01$`,
      ),
    );
    const created = o.created as { provisioningState: string; state: string; ip: string; fqdn: string };
    assert.equal(created.provisioningState, 'Succeeded');
    assert.equal(created.state, 'Running');
    assert.equal(created.fqdn, created.ip, 'the IP literal doubles as the FQDN');
    const get = o.get as {
      provisioningState: string;
      state: string;
      ip: string;
      env: unknown;
      events: string[];
      startTimeIsDate: boolean;
      identity: { clientId: string };
    };
    assert.equal(get.provisioningState, 'Succeeded');
    assert.equal(get.state, 'Running');
    assert.match(get.ip, /^127\.0\.\d+\.\d+$/);
    assert.deepEqual(
      get.env,
      [{ name: 'PORT', value: '8080' }, { name: 'PLAIN', value: 'visible' }, { name: 'SECRET' }],
      'secure values are not echoed',
    );
    assert.deepEqual(get.events, ['Pulling', 'Pulled', 'Created', 'Started']);
    assert.equal(get.startTimeIsDate, true);
    assert.equal(get.identity.clientId, emu.ready.identities.find((i) => i.name === 'aci-batch-jobs')?.clientId);
    const served = o.served as Record<string, string>;
    assert.equal(served.host, get.ip, 'HOST is the group address');
    assert.equal(served.local, get.ip, 'the server really listens on the group address');
    assert.equal(served.secret, 's3cret', 'secure env reaches the process');
    assert.equal(served.greeting, 'hello from the image', 'image env reaches the process');
    assert.notEqual(o.secondIp, get.ip, 'a second group on the same port gets its own address');
    assert.deepEqual(o.putAgain, { state: 'Running', restartCount: 0 });
    assert.deepEqual(o.list, { names: ['cg-life-1', 'cg-life-2', 'cg-life-3'], pages: 2 });
    assert.equal(o.listHasInstanceView, false);
    assert.deepEqual(o.listAll, ['cg-life-1', 'cg-life-2', 'cg-life-3']);
    assert.deepEqual(o.usage, { ContainerGroups: 3, StandardCores: 1 }, 'cores of running groups (the crasher exited)');
    assert.equal(o.logs, `listening on ${get.ip}:8080\n`);
    assert.equal(o.tail2, 'line 3 of 3\nabout to exit\n');
    assert.match(String(o.timestamps), /^\d{4}-\d\d-\d\dT[\d:.]+Z about to exit\n$/);
    assert.deepEqual(o.stopped, { provisioningState: 'Succeeded', state: 'Stopped', container: 'Terminated' });
    assert.equal(o.stoppedServing, false, 'stop kills the process');
    assert.deepEqual(o.started, { state: 'Running', ip: get.ip });
    assert.deepEqual(o.restarted, { state: 'Running', restartCount: 1 });
    assert.deepEqual(o.patched, { tenant: 't-1', job: 'j-1', extra: 'x' });
    assert.deepEqual(o.deleted, { name: 'cg-life-1' });
    assert.equal((o.afterDelete as { code: string }).code, 'ResourceNotFound');
    assert.equal(o.deleteMissing, 'ok', 'deleting a missing group is a 204');
    assert.equal((o.stopMissing as { statusCode: number }).statusCode, 404);
    assert.deepEqual(o.concurrentPuts, ['Succeeded', 'Succeeded', 'Succeeded', 'Succeeded']);
    assert.deepEqual(o.dupGroups, [1], 'one group, one container');
  });

  it('refuses requests without a valid token, as Azure does', async () => {
    const o = await scenario(emu.ready, 'auth');
    const noToken = o.noToken as { status: number; body: { error: { code: string } }; wwwAuthenticate: string };
    assert.equal(noToken.status, 401);
    assert.equal(noToken.body.error.code, 'AuthenticationFailed');
    assert.match(noToken.wwwAuthenticate, /^Bearer authorization_uri=.*error="invalid_token"/);
    assert.deepEqual(
      [(o.forged as { status: number }).status, (o.wrongAudience as { status: number }).status],
      [401, 401],
    );
    assert.equal(
      (o.wrongAudience as { body: { error: { code: string } } }).body.error.code,
      'InvalidAuthenticationToken',
    );
    assert.equal(o.good, 200);
    assert.deepEqual(
      [(o.sdkWrongScope as { statusCode: number }).statusCode, (o.sdkWrongScope as { code: string }).code],
      [401, 'InvalidAuthenticationToken'],
    );
    assert.equal(o.miWrongHeader, 400);
    // container-registry-disable-authentication-as-arm-template.md: ACR accepts ACR- and ARM-audience
    // tokens by default.
    assert.equal(o.acrWithArmToken, 200, 'the registry exchange takes an ARM-audience token by default');
    assert.equal(o.acrWithStorageToken, 401, 'but no other audience');
    const claims = o.claims as Record<string, unknown>;
    assert.equal(claims.aud, 'https://management.azure.com');
    assert.equal(claims.iss, `https://sts.windows.net/${emu.ready.tenantId}/`);
    assert.equal(claims.appid, emu.ready.identities.find((i) => i.name === 'aci-batch-controller')?.clientId);
    assert.ok((claims.exp as number) - (claims.iat as number) >= 3600);
    const dac = o.dacClaims as Record<string, unknown>;
    assert.equal(dac.appid, claims.appid, 'DefaultAzureCredential uses AZURE_CLIENT_ID through the MI endpoint');
    const sys = o.systemAssigned as Record<string, unknown>;
    assert.equal(sys.aud, 'https://storage.azure.com');
    assert.equal(sys.appid, emu.ready.systemAssignedIdentity.clientId, 'no client id → the system-assigned identity');
  });

  it('answers malformed or invalid requests with ARM-shaped errors', async () => {
    const o = await scenario(emu.ready, 'malformed');
    const code = (k: string) => [
      (o[k] as { statusCode?: number; status?: number }).statusCode ?? (o[k] as { status: number }).status,
      (o[k] as { code?: string }).code ?? (o[k] as { body: { error: { code: string } } }).body.error.code,
    ];
    assert.deepEqual(code('badJson'), [400, 'InvalidRequestContent']);
    assert.deepEqual(code('noApiVersion'), [400, 'MissingApiVersionParameter']);
    assert.deepEqual(code('badName'), [400, 'ContainerGroupNameInvalid']);
    assert.deepEqual(code('dashName'), [400, 'ContainerGroupNameInvalid']);
    // Above the standard size: 409 ServiceUnavailable (container-instances-troubleshooting.md).
    assert.deepEqual(code('tooMuchCpu'), [409, 'ServiceUnavailable']);
    assert.deepEqual(code('tooMuchMemory'), [409, 'ServiceUnavailable']);
    assert.deepEqual(code('unknownImage'), [400, 'InaccessibleImage']);
    assert.deepEqual(code('foreignRegistry'), [400, 'InaccessibleImage']);
    assert.deepEqual(code('identityNotAttached'), [400, 'InvalidImageRegistryIdentity']);
    assert.deepEqual(code('noRegistryCredential'), [400, 'InaccessibleImage']);
    assert.deepEqual(code('wrongLocation'), [400, 'LocationNotAvailableForResourceType']);
    assert.deepEqual(code('notFound'), [404, 'ResourceNotFound']);
    assert.deepEqual(code('logsNotFound'), [404, 'ResourceNotFound']);
  });

  it('started through `npm run -s emulator`, stops with npm and leaves no process behind', async () => {
    const dir = tempDir('emu-npm-');
    const npm = spawn(
      'npm',
      ['run', '-s', 'emulator', '--', '--port', '0', '--data', dir, '--images', IMAGES, '--provisioning-delay-ms', '0'],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      const ready = await new Promise<Ready>((resolve, reject) => {
        let out = '';
        const t = setTimeout(() => reject(new Error('no ready line within 30 s')), 30000);
        npm.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) {
            clearTimeout(t);
            resolve(JSON.parse(out.slice(0, out.indexOf('\n'))) as Ready);
          }
        });
      });
      const caPem = readFileSync(ready.caCertFile, 'utf8');
      const jobs = ready.identities.find((i) => i.name === 'aci-batch-jobs')?.resourceId as string;
      const status = await armPut(
        ready,
        caPem,
        `/subscriptions/${ready.subscriptionId}/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/npm-run`,
        {
          location: 'westeurope',
          identity: { type: 'UserAssigned', userAssignedIdentities: { [jobs]: {} } },
          properties: {
            osType: 'Linux',
            imageRegistryCredentials: [{ server: ready.registryLoginServer, identity: jobs }],
            containers: [
              {
                name: 'busy',
                properties: {
                  image: `${ready.registryLoginServer}/test/busy:1.0`,
                  resources: { requests: { cpu: 0.1, memoryInGB: 0.5 } },
                },
              },
            ],
          },
        },
        await miToken(ready, 'https://management.azure.com'),
      );
      assert.equal(status, 201);
      let pid = 0;
      await waitUntil('container running', async () => {
        const g = await admin<AdminGroups>(ready, caPem, 'groups');
        pid = g.groups[0]?.containers[0]?.pid ?? 0;
        return pid > 0 && pidAlive(pid);
      });
      npm.kill('SIGTERM'); // npm's shell does not forward it: the emulator notices its parent is gone
      await waitUntil('emulator gone', () => !pidAlive(ready.pid), 15000);
      await waitUntil('container gone', () => !pidAlive(pid), 5000);
    } finally {
      npm.kill('SIGKILL');
      removeDir(dir);
    }
  });

  it('survives its own restarts: re-adopts live processes after a crash, leaves none after SIGTERM', async () => {
    // cg-life-2 (restartPolicy Always, an HTTP server) is still running from the lifecycle test.
    const before = await admin<AdminGroups>(emu.ready, ca, 'groups');
    const g2 = before.groups.find((g) => g.name === 'cg-life-2');
    const pid = g2?.containers[0]?.pid;
    assert.ok(pid && pidAlive(pid), 'cg-life-2 runs');
    // Crash: the container process outlives the emulator...
    await emu.stop('SIGKILL');
    assert.ok(pidAlive(pid), 'a crashed emulator leaves its container running');
    // ...and the next run adopts it (same pid, still Running).
    emu = await startCli(data, ['--provisioning-delay-ms', '0', '--stop-grace-ms', '500']);
    const adopted = await admin<AdminGroups>(emu.ready, ca, 'groups');
    const a2 = adopted.groups.find((g) => g.name === 'cg-life-2');
    assert.equal(a2?.containers[0]?.pid, pid);
    assert.equal(a2?.state, 'Running');
    assert.equal(a2?.ip, g2?.ip, 'the group keeps its address');
    // A clean stop kills every container process and removes the cgroups.
    const cgroupDirs = adopted.groups.flatMap((g) => g.containers.flatMap((c) => Object.values(c.cgroup ?? {})));
    assert.equal(await emu.stop('SIGTERM'), 0);
    await waitUntil('container process gone', () => !pidAlive(pid), 5000);
    for (const d of cgroupDirs) assert.equal(existsSync(d), false, `${d} removed`);
    // Started again, the group that was running runs again (on its address); stopped, nothing is left.
    emu = await startCli(data, ['--provisioning-delay-ms', '0', '--stop-grace-ms', '500']);
    const again = await admin<AdminGroups>(emu.ready, ca, 'groups');
    const r2 = again.groups.find((g) => g.name === 'cg-life-2');
    assert.equal(r2?.state, 'Running');
    const pid2 = r2?.containers[0]?.pid;
    assert.ok(pid2 && pid2 !== pid && pidAlive(pid2), 'relaunched after a clean restart');
    assert.equal(await emu.stop('SIGTERM'), 0);
    await waitUntil('relaunched process gone', () => !pidAlive(pid2), 5000);
  });
});
