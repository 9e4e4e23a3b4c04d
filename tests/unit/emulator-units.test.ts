// Unit tests of the emulator's pure parts: tokens, image catalog and digests, validation, faults,
// identities and the local CA.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { guidFrom, signJwt, verifyJwt, ARM_AUDIENCES } from '../../local/azure-emulator/tokens';
import { canonicalJson, digestOf, ImageCatalog, parseImageReference } from '../../local/azure-emulator/image-catalog';
import { validateGroup, type ValidationContext } from '../../local/azure-emulator/validation';
import { FaultState, DEFAULT_FAULTS } from '../../local/azure-emulator/faults';
import { IdentityRegistry } from '../../local/azure-emulator/identities';
import { ensureTls } from '../../local/azure-emulator/tls';
import { HttpError } from '../../local/azure-emulator/http-util';
import { Cgroups } from '../../local/azure-emulator/cgroups';
import pino from 'pino';
import { Writable } from 'node:stream';
import { removeDir, tempDir } from '../fixtures/emulator/harness';

const secret = Buffer.alloc(32, 7);

describe('emulator tokens', () => {
  it('signs HS256 JWTs that verify only with the secret, the audience and within their lifetime', () => {
    const now = 1_800_000_000;
    const t = signJwt({ aud: 'https://management.azure.com', exp: now + 3600, nbf: now - 10 }, secret);
    assert.equal(t.split('.').length, 3);
    assert.equal(verifyJwt(t, secret, ARM_AUDIENCES, now).ok, true);
    assert.deepEqual(verifyJwt(t, Buffer.alloc(32, 8), ARM_AUDIENCES, now), { ok: false, reason: 'signature' });
    assert.deepEqual(verifyJwt(t, secret, ['https://containerregistry.azure.net'], now), {
      ok: false,
      reason: 'audience',
    });
    assert.deepEqual(verifyJwt(t, secret, ARM_AUDIENCES, now + 7200), { ok: false, reason: 'expired' });
    assert.deepEqual(verifyJwt('a.b', secret, ARM_AUDIENCES, now), { ok: false, reason: 'malformed' });
    const [h, , s] = t.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ aud: 'https://management.azure.com', exp: now + 99999 })).toString('base64url')}.${s}`;
    assert.deepEqual(verifyJwt(forged, secret, ARM_AUDIENCES, now), { ok: false, reason: 'signature' });
  });

  it('derives stable GUID-shaped ids', () => {
    assert.equal(guidFrom('a', 'b'), guidFrom('a', 'b'));
    assert.notEqual(guidFrom('a', 'b'), guidFrom('a', 'c'));
    assert.match(guidFrom('x'), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('emulator image catalog', () => {
  it('hashes the canonical JSON of a tag definition: key order does not matter, content does', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'z' } }),
      '{"a":{"c":"z","d":[1,{"x":1,"y":2}]},"b":1}',
    );
    const a = digestOf({ command: ['node', 'x.js'], env: { A: '1', B: '2' } });
    const b = digestOf({ env: { B: '2', A: '1' }, command: ['node', 'x.js'] });
    assert.equal(a.digest, b.digest);
    assert.match(a.digest, /^sha256:[0-9a-f]{64}$/);
    assert.notEqual(digestOf({ command: ['node', 'y.js'] }).digest, a.digest);
  });

  it('re-reads a changed catalog: the changed image gets a new digest, the old one stays pullable, relative paths resolve against the file', () => {
    const dir = tempDir('emu-cat-');
    try {
      const file = join(dir, 'images.json');
      writeFileSync(join(dir, 'prog.mjs'), '');
      writeFileSync(
        file,
        JSON.stringify({ repositories: { 'team/app': { tags: { v1: { command: ['node', 'prog.mjs', '--flag'] } } } } }),
      );
      const cat = new ImageCatalog(file);
      const one = cat.resolve('team/app', 'v1');
      assert.ok(one);
      assert.deepEqual(one.command, ['node', join(dir, 'prog.mjs'), '--flag']);
      assert.equal(one.cwd, dir);
      assert.equal(cat.resolve('team/app', one.digest)?.digest, one.digest, 'resolvable by digest');
      assert.equal(cat.resolve('team/app', 'v2'), undefined);
      assert.equal(cat.resolve('team/nope', 'v1'), undefined);
      writeFileSync(
        file,
        JSON.stringify({
          repositories: { 'team/app': { tags: { v1: { command: ['node', 'prog.mjs', '--other'] } } } },
        }),
      );
      const two = cat.resolve('team/app', 'v1');
      assert.notEqual(two?.digest, one.digest);
      // ACR keeps the manifest a tag moved away from: untagged, still pullable by digest and listed
      // (MicrosoftDocs azure-docs container-registry-delete.md, "Untagged images").
      const old = cat.resolve('team/app', one.digest);
      assert.equal(old?.digest, one.digest, 'the old digest still resolves');
      assert.deepEqual(old?.tags, [], 'untagged');
      assert.deepEqual(old?.command, ['node', join(dir, 'prog.mjs'), '--flag'], 'with its own definition');
      assert.deepEqual(
        cat
          .manifests('team/app')
          .map((m) => m.digest)
          .sort(),
        [one.digest, two?.digest].sort(),
      );
      const store = join(dir, 'manifests.json');
      const kept = new ImageCatalog(file, store);
      writeFileSync(
        file,
        JSON.stringify({ repositories: { 'team/app': { tags: { v1: { command: ['node', 'x'] } } } } }),
      );
      assert.ok(kept.resolve('team/app', 'v1'));
      assert.equal(
        new ImageCatalog(file, store).resolve('team/app', two?.digest ?? '')?.digest,
        two?.digest,
        'a digest seen before a restart still resolves after it',
      );
      writeFileSync(file, JSON.stringify({ repositories: { 'Bad Name': { tags: {} } } }));
      assert.throws(() => cat.repositories(), /invalid repository name/);
    } finally {
      removeDir(dir);
    }
  });

  it('parses registry image references', () => {
    assert.deepEqual(parseImageReference('127.0.0.1:5000/batch/model:1.0'), {
      server: '127.0.0.1:5000',
      repository: 'batch/model',
      reference: '1.0',
    });
    assert.deepEqual(parseImageReference('myacr.azurecr.io/batch/model@sha256:abc'), {
      server: 'myacr.azurecr.io',
      repository: 'batch/model',
      reference: 'sha256:abc',
    });
    assert.deepEqual(parseImageReference('myacr.azurecr.io/model'), {
      server: 'myacr.azurecr.io',
      repository: 'model',
      reference: 'latest',
    });
    assert.equal(parseImageReference('ubuntu:22.04'), undefined);
    assert.equal(parseImageReference('library/ubuntu'), undefined);
  });
});

describe('emulator validation', () => {
  const dir = tempDir('emu-val-');
  const file = join(dir, 'images.json');
  writeFileSync(file, JSON.stringify({ repositories: { 'a/b': { tags: { '1': { command: ['true'] } } } } }));
  const uami = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/jobs';
  const ctx = (name = 'cg-1'): ValidationContext => ({
    name,
    location: 'westeurope',
    catalog: new ImageCatalog(file),
    registryHosts: ['127.0.0.1:9'],
    anonymousPull: false,
    identityExists: () => true,
  });
  const body = (over: Record<string, unknown> = {}, container: Record<string, unknown> = {}) => ({
    location: 'West Europe',
    identity: { type: 'UserAssigned', userAssignedIdentities: { [uami]: {} } },
    properties: {
      osType: 'Linux',
      restartPolicy: 'Never',
      imageRegistryCredentials: [{ server: '127.0.0.1:9', identity: uami }],
      containers: [
        {
          name: 'main',
          properties: {
            image: '127.0.0.1:9/a/b:1',
            resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
            ...container,
          },
        },
      ],
      ...over,
    },
  });
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof HttpError);
      return `${e.status} ${e.code}`;
    }
    return 'ok';
  };

  it('accepts a valid group and normalises it', () => {
    const spec = validateGroup(body(), ctx());
    assert.equal(spec.totalCpu, 1);
    assert.equal(spec.restartPolicy, 'Never');
    assert.equal(spec.containers[0]?.repository, 'a/b');
    assert.equal(validateGroup(body({ restartPolicy: undefined }), ctx()).restartPolicy, 'Always', 'ACI default');
  });

  it('applies the name rules', () => {
    for (const n of ['a', 'cg-1', 'x'.repeat(63), '0abc'])
      assert.equal(
        code(() => validateGroup(body(), ctx(n))),
        'ok',
        n,
      );
    for (const n of ['', '-a', 'a-', 'A', 'a_b', 'a--b', 'x'.repeat(64), 'a.b'])
      assert.equal(
        code(() => validateGroup(body(), ctx(n))),
        '400 ContainerGroupNameInvalid',
        n,
      );
  });

  it('applies resource, image, identity and request-shape rules with ACI codes', () => {
    assert.equal(
      code(() => validateGroup(body({}, { resources: { requests: { cpu: 4.5, memoryInGB: 1 } } }), ctx())),
      '409 ServiceUnavailable',
    );
    assert.equal(
      code(() => validateGroup(body({}, { resources: { requests: { cpu: 1, memoryInGB: 16.5 } } }), ctx())),
      '409 ServiceUnavailable',
    );
    assert.equal(
      code(() => validateGroup(body({}, { resources: { requests: { cpu: 0, memoryInGB: 1 } } }), ctx())),
      '400 InvalidContainerResourceRequests',
    );
    assert.equal(
      code(() => validateGroup(body({}, { resources: { requests: { cpu: 1 } } }), ctx())),
      '400 InvalidContainerResourceRequests',
    );
    assert.equal(
      code(() => validateGroup(body({}, { image: '127.0.0.1:9/a/b:2' }), ctx())),
      '400 InaccessibleImage',
    );
    assert.equal(
      code(() =>
        validateGroup(
          body({ imageRegistryCredentials: [{ server: '127.0.0.1:9', identity: uami.replace('jobs', 'other') }] }),
          ctx(),
        ),
      ),
      '400 InvalidImageRegistryIdentity',
    );
    assert.equal(
      code(() =>
        validateGroup(
          body({ imageRegistryCredentials: [{ server: '127.0.0.1:9', identity: uami, username: 'u' }] }),
          ctx(),
        ),
      ),
      '400 AmbiguousImageResitryCredentialType',
    );
    assert.equal(
      code(() => validateGroup(body({ osType: 'Windows' }), ctx())),
      '400 UnsupportedOsType',
    );
    assert.equal(
      code(() => validateGroup(body({ restartPolicy: 'Sometimes' }), ctx())),
      '400 InvalidRestartPolicy',
    );
    assert.equal(
      code(() => validateGroup(body({ containers: [] }), ctx())),
      '400 ContainerGroupContainersMissing',
    );
    assert.equal(
      code(() => validateGroup({ properties: {} }, ctx())),
      '400 LocationRequired',
    );
    assert.equal(
      code(() => validateGroup('nope', ctx())),
      '400 InvalidRequestContent',
    );
    assert.equal(
      code(() => validateGroup(body({ ipAddress: { type: 'Public', ports: [{ port: 9999 }] } }), ctx())),
      '400 InvalidIpAddressPorts',
    );
    assert.equal(
      code(() => validateGroup(body({ priority: 'Spot', ipAddress: { type: 'Public', ports: [] } }), ctx())),
      '400 SpotPriorityContainerGroupNotSupportedForInboundConnectivity',
    );
    assert.equal(
      code(() => validateGroup(body({}, { environmentVariables: [{ name: '1BAD', value: 'x' }] }), ctx())),
      '400 InvalidEnvironmentVariable',
    );
    assert.equal(
      code(() => validateGroup(body(), { ...ctx(), identityExists: () => false })),
      '400 UserAssignedIdentityNotFound',
    );
    removeDir(dir);
  });
});

describe('emulator faults and identities', () => {
  it('consumes count faults one per matching request and validates updates', () => {
    const f = new FaultState({ ...DEFAULT_FAULTS, provisioningDelayMs: 0 });
    f.apply({ throttle: { count: 2, retryAfterSeconds: 3, methods: ['PUT'] } });
    assert.equal(f.take('throttle', 'GET'), undefined, 'GET is not throttled');
    assert.equal(f.take('throttle', 'PUT')?.retryAfterSeconds, 3);
    assert.ok(f.take('throttle', 'put'));
    assert.equal(f.take('throttle', 'PUT'), undefined, 'used up');
    assert.throws(() => f.apply({ nope: 1 }), /unknown fault 'nope'/);
    assert.throws(() => f.apply({ provisioningDelayMs: -1 }), /non-negative/);
    f.apply({ deleteDelayMs: 100, capacity: { count: 1 } });
    f.reset();
    assert.deepEqual(f.current, { ...DEFAULT_FAULTS, provisioningDelayMs: 0 });
  });

  it('derives identities deterministically and restricts them when a file is given', () => {
    const r = new IdentityRegistry('t', 's', 'seed');
    const rid = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x';
    assert.equal(r.byResource(rid)?.clientId, IdentityRegistry.clientIdFor(rid));
    assert.equal(
      r.byResource(rid.toUpperCase())?.clientId,
      r.byResource(rid)?.clientId,
      'resource ids are case-insensitive',
    );
    assert.equal(r.byClient('ABC')?.clientId, 'abc');
    assert.equal(new IdentityRegistry('t', 's', 'seed').systemAssigned.principalId, r.systemAssigned.principalId);
    const dir = tempDir('emu-id-');
    try {
      const file = join(dir, 'ids.json');
      writeFileSync(
        file,
        JSON.stringify({
          identities: [{ name: 'only', clientId: '11111111-1111-1111-1111-111111111111', resourceId: rid }],
        }),
      );
      const restricted = new IdentityRegistry('t', 's', 'seed', file);
      assert.equal(restricted.byClient('11111111-1111-1111-1111-111111111111')?.resourceId, rid);
      assert.equal(restricted.byClient('22222222-2222-2222-2222-222222222222'), undefined);
      assert.equal(restricted.byResource(rid.replace('/x', '/y')), undefined);
    } finally {
      removeDir(dir);
    }
  });
});

describe('emulator local CA', () => {
  it('is made once per data folder and issues a 127.0.0.1/localhost server certificate', () => {
    const dir = tempDir('emu-tls-');
    try {
      const a = ensureTls(dir);
      const b = ensureTls(dir);
      assert.equal(a.ca, b.ca, 'kept across starts');
      assert.equal(a.cert, b.cert);
      const ca = new X509Certificate(a.ca);
      const server = new X509Certificate(a.cert);
      assert.ok(server.checkIssued(ca));
      assert.ok(server.verify(ca.publicKey));
      assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
      assert.equal(server.checkHost('localhost'), 'localhost');
      assert.equal(ca.ca, true);
      const bundle = readFileSync(a.caBundle, 'utf8');
      assert.ok(bundle.endsWith(a.ca) || bundle.includes(a.ca.trim()));
      assert.ok((bundle.match(/BEGIN CERTIFICATE/g) ?? []).length > 1, 'system CAs kept');
    } finally {
      removeDir(dir);
    }
  });
});

describe('emulator cgroups fallback', () => {
  it('runs without limits, and says so once, where the hierarchy is not a writable cgroup v1 mount', () => {
    const dir = tempDir('emu-cg-');
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        lines.push(chunk.toString());
        cb();
      },
    });
    try {
      const cg = new Cgroups('inst', pino({ level: 'info' }, sink), false, dir);
      assert.equal(cg.available, false);
      assert.equal(cg.create('g', 'c', 0.5, 1 << 30), undefined);
      assert.deepEqual(cg.groupKeys(), []);
      cg.removeGroup('g');
      const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]?.msg ?? '', /WITHOUT cpu\/memory limits/);
    } finally {
      removeDir(dir);
    }
  });
});
