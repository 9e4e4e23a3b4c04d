// Submission validation: schema errors and policy errors (sizing, image allowlist, runtime limit,
// webhook SSRF rule, reserved env names) are collected together, so a client sees every bad field
// in one 400. The result is the normalized JobSpec stored in the orchestration input.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020';
import type { JobSpec } from '../contracts';
import { commandNotAllowed, validationFailed, type FieldProblem } from '../errors';
import { ajvProblems } from '../tenants/ajv-problems';
import {
  formatImageReference,
  isRepositoryAllowed,
  parseImageReference,
  type ImageReference,
} from '../tenants/image-ref';
import { decideSizing } from '../tenants/sizing';
import type { Tenant } from '../tenants/types';
import { checkWebhookUrl } from '../security/webhook-url';
import { sealSecureEnv } from '../security/sealed-env';
import { JOB_REQUEST_SCHEMA, MODEL_INPUT_SCHEMA } from './schemas';
import { checkModelInput } from './model-input';
import { checkRetryFields, type RetryRequestFields } from './job-retry';
import { checkFanoutFields, type FanoutRequestFields } from './job-fanout';

const ajv = new Ajv2020({ allErrors: true, strict: false });
const validateBody = ajv.compile(JOB_REQUEST_SCHEMA);
const validateModelInput = ajv.compile(MODEL_INPUT_SCHEMA);

/** Env names the controller sets itself on the job container. */
export const RESERVED_ENV = [
  'JOB_ID',
  'JOB_TOKEN',
  'CALLBACK_URL',
  'PORT',
  'HOST',
  'AGENT_START_MODE',
  'ACI_BATCH_TASK_INDEX',
  'ACI_BATCH_TASK_COUNT',
] as const;

export interface JobRequestBody {
  image?: string;
  cpu?: number;
  memoryGb?: number;
  /** Refused: ACI's GPU offering was retired on 2025-07-14. */
  gpu?: unknown;
  command?: string[];
  env?: Record<string, string>;
  secureEnv?: Record<string, string>;
  input?: unknown;
  timeoutMinutes?: number;
  onComplete?: JobSpec['onComplete'];
  onFailure?: JobSpec['onFailure'];
  maxAttempts?: number;
  retry?: RetryRequestFields['retry'];
  onOomKilled?: RetryRequestFields['onOomKilled'];
  /** An integer 0..1000: the queue priority; "Regular" | "Spot": the capacity type (kept for existing clients). */
  priority?: JobSpec['priority'] | number;
  capacity?: JobSpec['priority'];
  notify?: { webhookUrl?: string };
  array?: FanoutRequestFields['array'];
  dependsOn?: FanoutRequestFields['dependsOn'];
}

export interface SubmissionContext {
  acrLoginServer: string;
  signingKey: string;
  jobId: string;
}

/** Validates and normalizes; throws a 400 ValidationFailed CodedError listing every problem. */
export function validateSubmission(tenant: Tenant, body: unknown, ctx: SubmissionContext): JobSpec {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw validationFailed([{ field: '(body)', message: 'must be a JSON object' }]);
  }
  const problems: FieldProblem[] = [];
  if (!validateBody(body)) problems.push(...ajvProblems(validateBody.errors));
  // `priority` has two meanings (anyOf): one problem saying both, not one per branch.
  if (problems.some((p) => p.field === 'priority'))
    problems.splice(0, problems.length, ...problems.filter((p) => p.field !== 'priority'), {
      field: 'priority',
      message: 'must be an integer 0..1000 (queue priority) or "Regular" / "Spot" (capacity type, or use capacity)',
    });
  const b = body as JobRequestBody;
  const bad = new Set(problems.map((p) => p.field.split(/[.[]/)[0]));
  const usable = (f: string): boolean => !bad.has(f);

  // Image: the tenant's default unless given; must be our registry and in the allowlist.
  let image: ImageReference | undefined;
  const isDefaultImage = b.image === undefined;
  if (usable('image')) {
    const parsed = parseImageReference(b.image ?? tenant.defaults.image, ctx.acrLoginServer);
    if (!parsed.ok) problems.push({ field: 'image', message: parsed.message });
    else if (!isRepositoryAllowed(parsed.value.repository, tenant.allowedRepositories)) {
      problems.push({
        field: 'image',
        message: `repository "${parsed.value.repository}" is not allowed for this tenant; allowed: ${tenant.allowedRepositories.join(', ')}`,
      });
    } else image = parsed.value;
  }

  // ACI's GPU offering was retired on 2025-07-14 (azure-compute-docs, container-instances resource
  // and quota limits): a request for one is refused, saying why, rather than failing at create.
  if (b.gpu !== undefined)
    problems.push({
      field: 'gpu',
      message: "ACI's GPU offering was retired on 2025-07-14; remove gpu (no ACI region offers GPUs any more)",
    });

  // `priority` is the queue priority when it is a number and, as before it existed, the capacity
  // type when it is "Regular" or "Spot"; `capacity` names the capacity type on its own.
  const capacityField = b.capacity !== undefined ? 'capacity' : 'priority';
  const capacity = b.capacity ?? (typeof b.priority === 'string' ? b.priority : undefined);
  if (b.capacity !== undefined && typeof b.priority === 'string' && b.priority !== b.capacity && usable('priority'))
    problems.push({
      field: 'priority',
      message: `says capacity "${b.priority}" but capacity says "${b.capacity}"; set the capacity type once (capacity), and priority only as a number 0..1000`,
    });

  // Sizing against the tenant's limits and ACI's bounds.
  // Each field is checked on its own, so a schema error in one does not hide a limit on another.
  problems.push(
    ...decideSizing(tenant, {
      ...(b.cpu !== undefined && usable('cpu') ? { cpu: b.cpu } : {}),
      ...(b.memoryGb !== undefined && usable('memoryGb') ? { memoryGb: b.memoryGb } : {}),
      ...(capacity && usable(capacityField) ? { priority: capacity } : {}),
    }).problems.map((p) => (p.field === 'priority' ? { ...p, field: capacityField } : p)),
  );

  const timeoutMinutes = b.timeoutMinutes ?? tenant.defaults.timeoutMinutes;
  if (usable('timeoutMinutes') && timeoutMinutes > tenant.limits.maxRuntimeMinutes) {
    problems.push({
      field: 'timeoutMinutes',
      message: `${timeoutMinutes} exceeds the tenant limit maxRuntimeMinutes ${tenant.limits.maxRuntimeMinutes}`,
    });
  }

  const retry = checkRetryFields(b, usable, {
    defaultAttempts: tenant.defaults.maxAttempts,
    maxMemoryGb: tenant.limits.maxMemoryGb,
  });
  problems.push(...retry.problems);

  for (const key of ['env', 'secureEnv'] as const) {
    const map = b[key];
    if (!map || !usable(key)) continue;
    for (const name of Object.keys(map)) {
      if ((RESERVED_ENV as readonly string[]).includes(name))
        problems.push({
          field: `${key}.${name}`,
          message: `is set by the controller and cannot be overridden (reserved: ${RESERVED_ENV.join(', ')})`,
        });
    }
  }
  if (b.env && b.secureEnv && usable('env') && usable('secureEnv')) {
    for (const name of Object.keys(b.secureEnv))
      if (name in b.env)
        problems.push({ field: `secureEnv.${name}`, message: 'is also set in env; set it in one of them' });
  }

  const webhookUrl = b.notify?.webhookUrl;
  if (webhookUrl !== undefined && usable('notify')) {
    const check = checkWebhookUrl(webhookUrl, tenant.allowPrivateWebhookTargets);
    if (!check.ok) problems.push({ field: 'notify.webhookUrl', message: check.message });
  }

  // The default model's input is checked here, so a bad input is a 400 now rather than a failed job later.
  const runsDefaultModel =
    !b.command && image !== undefined && (isDefaultImage || image.repository === defaultRepository(tenant, ctx));
  const fanout = checkFanoutFields(b, tenant, usable, { runsDefaultModel, jobId: ctx.jobId });
  problems.push(...fanout.problems);
  const inputs = usable('array') ? b.array?.inputs : undefined;
  if (runsDefaultModel && usable('input') && !inputs) {
    if (b.input === undefined)
      problems.push({ field: 'input', message: 'is required for the default model: {"y": [numbers…], "k": 2..4}' });
    else problems.push(...modelInputProblems(b.input, 'input'));
  }
  if (runsDefaultModel && inputs)
    inputs.forEach((x, i) => problems.push(...modelInputProblems(x, `array.inputs[${i}]`)));

  if (problems.length) throw validationFailed(problems);
  // Tenant isolation (issue 10 finding 8): running one's own program is a grant, not a default.
  if (b.command && !tenant.allowCommand) throw commandNotAllowed(tenant.id);
  if (!image) throw validationFailed([{ field: 'image', message: 'is invalid' }]);
  const sizing = decideSizing(tenant, {
    ...(b.cpu !== undefined ? { cpu: b.cpu } : {}),
    ...(b.memoryGb !== undefined ? { memoryGb: b.memoryGb } : {}),
  }).sizing;
  const secureEnv = b.secureEnv ?? {};
  const secureEnvNames = Object.keys(secureEnv);
  return {
    image: {
      repository: image.repository,
      ...(image.tag ? { tag: image.tag } : {}),
      ...(image.digest ? { digest: image.digest } : {}),
      ref: formatImageReference(image),
    },
    cpu: sizing.cpu,
    memoryGb: sizing.memoryGb,
    ...(b.command ? { command: b.command } : {}),
    env: b.env ?? {},
    ...(secureEnvNames.length ? { sealedSecureEnv: sealSecureEnv(ctx.signingKey, secureEnv, ctx.jobId) } : {}),
    secureEnvNames,
    timeoutMinutes,
    onComplete: b.onComplete ?? tenant.defaults.onComplete,
    onFailure: b.onFailure ?? tenant.defaults.onFailure,
    ...retry.spec,
    priority: capacity ?? 'Regular',
    ...(typeof b.priority === 'number' ? { queuePriority: b.priority } : {}),
    // Spot groups get no IP and pull-mode tenants no inbound port: the agent pulls its start.
    ...(capacity === 'Spot' || tenant.networkMode === 'pull' ? { startMode: 'pull' as const } : {}),
    policy: {
      allowedRepositories: [...tenant.allowedRepositories],
      ...(tenant.subnetId ? { subnetId: tenant.subnetId } : {}),
      ...(tenant.jobIdentityResourceId ? { jobIdentityResourceId: tenant.jobIdentityResourceId } : {}),
      allowPrivateWebhookTargets: tenant.allowPrivateWebhookTargets,
    },
    ...(webhookUrl ? { webhookUrl } : {}),
    ...fanout.spec,
  };
}

function modelInputProblems(input: unknown, field: string): FieldProblem[] {
  if (!validateModelInput(input)) return ajvProblems(validateModelInput.errors, field);
  return checkModelInput(input as Parameters<typeof checkModelInput>[0]).map((p) => ({
    ...p,
    field: p.field.replace(/^input/, field),
  }));
}

function defaultRepository(tenant: Tenant, ctx: SubmissionContext): string | undefined {
  const p = parseImageReference(tenant.defaults.image, ctx.acrLoginServer);
  return p.ok ? p.value.repository : undefined;
}

// ---- ids --------------------------------------------------------------------------------------

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
function base32(bytes: Buffer, chars: number): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** A fresh job id: `j-` + 20 base32 characters (100 bits). */
export const newJobId = (): string => `j-${base32(randomBytes(13), 20)}`;

/** The job id an Idempotency-Key maps to, per tenant: a repeat names the same job. */
export const jobIdForIdempotencyKey = (tenant: string, key: string): string =>
  `j-${base32(createHash('sha256').update(`${tenant}\n${key}`, 'utf8').digest(), 20)}`;

/** Keyed hash of the canonical body (HMAC, so low-entropy secrets in it cannot be guessed from it). */
export function requestHash(signingKey: string, body: unknown): string {
  return createHmac('sha256', signingKey).update(canonicalJson(body)).digest('hex');
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
