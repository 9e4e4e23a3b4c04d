// The OpenAPI document is built from the very schema objects the validators compile, covers every
// route in contracts.ts, and a request the document describes as valid passes the validator (and
// vice versa for a sample of invalid ones).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020';
import { buildOpenApi } from '../../orchestration/src/api/openapi';
import { JOB_REQUEST_SCHEMA, MODEL_INPUT_SCHEMA, JOB_STATUS_SCHEMA } from '../../orchestration/src/api/schemas';
import { ROUTES, JOB_STATES } from '../../orchestration/src/contracts';
import { validateSubmission } from '../../orchestration/src/api/job-request';
import { initialStatus } from '../../orchestration/src/contracts';
import { CodedError } from '../../orchestration/src/errors';
import { goodInput, LOGIN_SERVER, SIGNING_KEY, tenantsFixture, SETTINGS } from '../fixtures/tenants/harness';

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown> };
};
const doc = buildOpenApi('test') as unknown as Doc;

describe('OpenAPI document', () => {
  test('is OpenAPI 3.1 and every route of contracts.ts is documented with its methods', () => {
    assert.equal(doc.openapi, '3.1.0');
    const expected: Record<string, string[]> = {
      [ROUTES.submitJob.path]: ['get', 'post'],
      [ROUTES.getJob.path]: ['get'],
      [ROUTES.cancelJob.path]: ['post'],
      [ROUTES.getJobLogs.path]: ['get'],
      [ROUTES.getJobResult.path]: ['get'],
      [ROUTES.getTenant.path]: ['get'],
      [ROUTES.health.path]: ['get'],
      [ROUTES.openapi.path]: ['get'],
      [ROUTES.callback.path]: ['post'],
      [ROUTES.pullStart.path]: ['post'],
      [ROUTES.pullResult.path]: ['put'],
      [ROUTES.pullArtifact.path]: ['put'],
      [ROUTES.ui.path.replace('{*', '{')]: ['get'],
      [ROUTES.listArtifacts.path]: ['get'],
      [ROUTES.listTasks.path]: ['get'],
      [ROUTES.getArtifact.path.replace('{*', '{')]: ['get'],
      [ROUTES.getTenantUsage.path]: ['get'],
      [ROUTES.getWebhookSecret.path]: ['get'],
      [ROUTES.adminTenants.path]: ['get'],
      [ROUTES.adminGroups.path]: ['get'],
      [ROUTES.adminCapacity.path]: ['get'],
      [ROUTES.adminUsage.path]: ['get'],
    };
    assert.deepEqual(
      Object.keys(doc.paths).sort(),
      Object.keys(expected)
        .map((r) => `/api/${r}`)
        .sort(),
    );
    for (const [route, methods] of Object.entries(expected)) {
      const ops = Object.keys(doc.paths[`/api/${route}`]!)
        .filter((k) => k !== 'parameters')
        .sort();
      assert.deepEqual(ops, methods, route);
    }
  });

  test("embeds the validators' schemas by identity (no copy to drift)", () => {
    assert.equal(doc.components.schemas.JobRequest, JOB_REQUEST_SCHEMA);
    assert.equal(doc.components.schemas.RegimeSwitchingInput, MODEL_INPUT_SCHEMA);
    assert.equal(doc.components.schemas.JobStatus, JOB_STATUS_SCHEMA);
  });

  test('the documented request schema and the validator agree on samples', () => {
    const ajv = new Ajv2020({ strict: false });
    const documented = ajv.compile(doc.components.schemas.JobRequest as object);
    const tenant = tenantsFixture().get('alpha')!;
    const ctx = { acrLoginServer: LOGIN_SERVER, signingKey: SIGNING_KEY, jobId: 'j-aaaaaaaaaaaaaaaaaaaa' };
    const valid = [
      { input: goodInput() },
      {
        image: 'contoso/custom-model:2',
        command: ['node', 'main.js'],
        env: { A: '1' },
        secureEnv: { B: '2' },
        cpu: 0.5,
        memoryGb: 1,
        timeoutMinutes: 5,
        onComplete: 'stop',
        onFailure: 'restart',
        maxAttempts: 3,
        priority: 'Regular',
        notify: { webhookUrl: 'https://example.com/h' },
      },
    ];
    for (const body of valid) {
      assert.equal(documented(body), true, JSON.stringify(documented.errors));
      validateSubmission(tenant, body, ctx);
    }
    const invalid = [
      { cpu: 'x' },
      { onComplete: 'never' },
      { unknown: 1 },
      { env: { 'bad-name': 'x' } },
      { maxAttempts: 0 },
    ];
    for (const body of invalid) {
      assert.equal(documented(body), false, JSON.stringify(body));
      assert.throws(
        () => validateSubmission(tenant, body, ctx),
        (e: unknown) => e instanceof CodedError && e.code === 'ValidationFailed',
      );
    }
  });

  test('the job status the API returns matches the documented JobStatus schema', () => {
    const ajv = new Ajv2020({ strict: false });
    ajv.addFormat('date-time', true);
    const validate = ajv.compile(JOB_STATUS_SCHEMA);
    const input: Parameters<typeof initialStatus>[0] = {
      jobId: 'j-aaaaaaaaaaaaaaaaaaaa',
      tenant: 'alpha',
      instanceId: 'alpha--j-aaaaaaaaaaaaaaaaaaaa',
      groupName: 'g',
      location: 'westeurope',
      createdAt: '2026-01-01T00:00:00.000Z',
      requestHash: 'h',
      spec: {
        image: { repository: 'a/b', tag: '1', ref: 'a/b:1' },
        cpu: 1,
        memoryGb: 1,
        env: {},
        secureEnvNames: [],
        timeoutMinutes: 1,
        onComplete: 'delete',
        onFailure: 'delete',
        maxAttempts: 1,
        priority: 'Regular',
      },
      rates: { currency: 'EUR', vcpuHour: 1, gbHour: 1 },
      settings: SETTINGS,
    };
    const status = initialStatus(input);
    assert.equal(validate(status), true, JSON.stringify(validate.errors));
    // An array's parent and one of its tasks (issue 13): array counts, parent and index are documented.
    const parent = initialStatus({
      ...input,
      spec: { ...input.spec, array: { count: 3, parallelism: 2, select: 'best' } },
    });
    assert.equal(validate(parent), true, JSON.stringify(validate.errors));
    const task = initialStatus({
      ...input,
      jobId: `${input.jobId}-2`,
      task: { parent: input.jobId, index: 2, count: 3 },
    });
    assert.equal(validate(task), true, JSON.stringify(validate.errors));
    assert.equal(
      validate({ ...parent, array: { ...parent.array, counts: { queued: 3 } } }),
      false,
      'every state counted',
    );
    assert.deepEqual((JOB_STATUS_SCHEMA.properties.state as { enum: readonly string[] }).enum, [...JOB_STATES]);
  });
});
