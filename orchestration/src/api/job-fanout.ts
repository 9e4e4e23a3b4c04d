// The fan-out fields of a job request (issue 13): `array` (one submission → N tasks) and `dependsOn`
// (wait for other jobs of the tenant). Their JSON Schema is spread into JOB_REQUEST_SCHEMA (so the
// validator and the OpenAPI document read the same object); the checks a schema cannot say are
// here, normalized into JobSpec's `array` and `dependsOn`. Whether each dependency exists is the
// submit handler's check (it needs the jobs backend).
import { FANOUT_LIMITS, JOB_ID_PATTERN, type ArraySpec, type JobDependency } from '../contracts';
import type { FieldProblem } from '../errors';
import type { Tenant } from '../tenants/types';

/** The request properties `array` and `dependsOn`. */
export const FANOUT_REQUEST_PROPERTIES = {
  array: {
    type: 'object',
    additionalProperties: false,
    description:
      'A job array: one submission runs N tasks, each a job of its own (GET …/jobs/{id}-{index}) in its own container group sized like this request, with ACI_BATCH_TASK_INDEX and ACI_BATCH_TASK_COUNT in its environment. Exactly one of count and inputs. The parent succeeds when every task succeeds; cancelling it cancels every task.',
    properties: {
      count: { type: 'integer', minimum: 1, maximum: FANOUT_LIMITS.maxArrayCount, description: 'Number of tasks.' },
      inputs: {
        type: 'array',
        minItems: 1,
        maxItems: FANOUT_LIMITS.maxArrayCount,
        description: "One task per element; the element is that task's input (instead of the request's input).",
      },
      parallelism: {
        type: 'integer',
        minimum: 1,
        maximum: FANOUT_LIMITS.maxArrayCount,
        description: "Tasks in flight at once (default: the tenant's maxConcurrentJobs).",
      },
      select: {
        enum: ['best'],
        description:
          "Default model only: the parent's result is the result of the succeeded task with the highest logLikelihood, with `selectedTask` saying which.",
      },
    },
  },
  dependsOn: {
    type: 'array',
    maxItems: FANOUT_LIMITS.maxDependencies,
    description:
      'Jobs of the same tenant that must end first. The job stays queued, without a container group, until they do; one that ends in a way its condition rejects fails this job with DependencyFailed.',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['job'],
      properties: {
        job: { type: 'string', pattern: JOB_ID_PATTERN.source, description: 'The job id (of this tenant).' },
        condition: {
          enum: ['succeeded', 'finished'],
          description: '`succeeded` (default): the dependency must succeed; `finished`: any end will do.',
        },
      },
    },
  },
} as const;

export interface FanoutRequestFields {
  array?: { count?: number; inputs?: unknown[]; parallelism?: number; select?: 'best' };
  dependsOn?: { job: string; condition?: JobDependency['condition'] }[];
  input?: unknown;
}

/** The checks beyond the schema; `array` without its inputsBlob (the submit handler stores the inputs). */
export function checkFanoutFields(
  b: FanoutRequestFields,
  tenant: Tenant,
  usable: (field: string) => boolean,
  opts: { runsDefaultModel: boolean; jobId: string },
): { problems: FieldProblem[]; spec: { array?: ArraySpec; dependsOn?: JobDependency[] } } {
  const problems: FieldProblem[] = [];
  const spec: { array?: ArraySpec; dependsOn?: JobDependency[] } = {};
  const a = b.array;
  if (a && usable('array')) {
    if ((a.count === undefined) === (a.inputs === undefined))
      problems.push({
        field: 'array',
        message: 'needs exactly one of count (number of tasks) and inputs (one per task)',
      });
    if (a.inputs !== undefined && b.input !== undefined)
      problems.push({
        field: 'input',
        message: "is not used with array.inputs (each element is a task's input); remove one",
      });
    if (a.select === 'best' && !opts.runsDefaultModel)
      problems.push({
        field: 'array.select',
        message: '"best" ranks tasks by the default model\'s logLikelihood; it needs the default image without command',
      });
    const count = a.count ?? a.inputs?.length ?? 0;
    if (a.parallelism !== undefined && a.parallelism > count && count > 0)
      problems.push({ field: 'array.parallelism', message: `must be at most the number of tasks (${count})` });
    spec.array = {
      count,
      parallelism: a.parallelism ?? Math.max(1, Math.min(count, tenant.limits.maxConcurrentJobs)),
      ...(a.select ? { select: a.select } : {}),
    };
  }
  const deps = b.dependsOn;
  if (deps && usable('dependsOn')) {
    const seen = new Set<string>();
    deps.forEach((d, i) => {
      if (d.job === opts.jobId) problems.push({ field: `dependsOn[${i}].job`, message: 'is this job itself' });
      else if (seen.has(d.job)) problems.push({ field: `dependsOn[${i}].job`, message: `lists ${d.job} twice` });
      seen.add(d.job);
    });
    if (deps.length) spec.dependsOn = deps.map((d) => ({ job: d.job, condition: d.condition ?? 'succeeded' }));
  }
  return { problems, spec };
}
