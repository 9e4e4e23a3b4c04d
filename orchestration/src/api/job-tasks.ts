// A job array's tasks as the API shows them (issue 13): GET …/jobs/{id}/tasks (by index, paged), the
// parent's array counts refined from its live tasks while it runs, and the cancel of every live task
// when the parent is cancelled. Task i of parent P is the job P-i (instance instanceIdOf(tenant, P-i));
// tasks are started lazily, so a task that has not started yet has no instance and is only counted.
import {
  instanceIdOf,
  isTerminalState,
  JOB_STATES,
  zeroCounts,
  TERMINAL_STATES,
  type JobInput,
  type JobState,
  type JobStatus,
} from '../contracts';
import { notFound, validationFailed, type FieldProblem } from '../errors';
import { cancelJobs } from '../admission/cancel-jobs';
import type { Admission } from '../admission/service';
import type { Logger } from '../logging';
import type { InstanceInfo, JobsBackend } from '../ports';
import type { Tenant } from '../tenants/types';
import { json, type ApiRequest, type ApiResponse } from './http';
import { jobViewOf } from './job-view';

/**
 * Instance id prefix of parent P's tasks: `tenant--P-`. It matches no other job (job ids are `j-` and
 * 20 characters, so `P-` only starts P's task ids); tasksOf checks each match's own fields anyway.
 */
export const taskPrefixOf = (tenant: string, parentJobId: string): string => instanceIdOf(tenant, `${parentJobId}-`);

export interface TaskRow {
  index: number;
  instanceId: string;
  status: JobStatus;
}

/** The tasks of `parent` among `infos`, by index: jobs whose own input says they are its tasks. */
export function tasksOf(infos: InstanceInfo[], parent: JobInput): TaskRow[] {
  const prefix = taskPrefixOf(parent.tenant, parent.jobId);
  const count = parent.spec.array?.count ?? 0;
  const rows: TaskRow[] = [];
  for (const info of infos) {
    if (!info.instanceId.startsWith(prefix)) continue;
    const view = jobViewOf(info);
    const task = view?.job.task;
    if (!view || !task || view.job.tenant !== parent.tenant || task.parent !== parent.jobId) continue;
    if (task.index < 0 || task.index >= count) continue;
    rows.push({ index: task.index, instanceId: info.instanceId, status: view.status });
  }
  return rows.sort((a, b) => a.index - b.index);
}

/**
 * The parent's status with `array.counts` and `progress` from its live tasks, while it has not ended.
 * The orchestrator knows exact states only for ended tasks (it counts every other task as queued);
 * the tasks' own statuses add provisioning/starting/running. An ended state never counts fewer tasks
 * than the orchestrator published (a task whose instance is gone still ended). Tasks without an
 * instance are queued. Once the parent ended, its own published counts are shown unchanged.
 */
export function refineArrayStatus(status: JobStatus, tasks: TaskRow[]): JobStatus {
  const array = status.array;
  if (!array || isTerminalState(status.state)) return status;
  const live = zeroCounts();
  for (const t of tasks) live[t.status.state] += 1;
  const counts = zeroCounts();
  for (const s of JOB_STATES)
    if (s !== 'queued') counts[s] = isTerminalState(s) ? Math.max(live[s], array.counts[s] ?? 0) : live[s];
  const started = JOB_STATES.reduce((n, s) => n + counts[s], 0);
  counts.queued = Math.max(0, array.count - started);
  const ended = TERMINAL_STATES.reduce((n, s) => n + counts[s], 0);
  const progress = array.count > 0 ? Math.min(1, ended / array.count) : status.progress;
  return { ...status, progress, array: { ...array, counts } };
}

/** Query parameters of GET …/jobs/{id}/tasks (the OpenAPI document lists these very schemas). */
export const TASKS_QUERY_SCHEMA = {
  state: {
    enum: [...JOB_STATES],
    description: 'Only tasks in this state. Tasks not started yet have no status: they are counted in notStarted.',
  },
  limit: { type: 'integer', minimum: 1, maximum: 200, description: 'Tasks per page (default 50).' },
  continuationToken: { type: 'string', maxLength: 512, description: "The previous page's continuationToken." },
} as const;

interface TasksQuery {
  state?: JobState;
  limit: number;
  /** List tasks with an index above this one. */
  after: number;
}

function tasksQuery(req: ApiRequest): TasksQuery {
  const problems: FieldProblem[] = [];
  const state = req.query.get('state');
  if (state !== null && !(JOB_STATES as readonly string[]).includes(state))
    problems.push({ field: 'state', message: `must be one of ${JOB_STATES.join(', ')}` });
  const limitText = req.query.get('limit');
  const limit = limitText === null ? 50 : Number(limitText);
  if (!/^\d+$/.test(limitText ?? '50') || limit < 1 || limit > 200)
    problems.push({ field: 'limit', message: 'must be an integer from 1 to 200' });
  const token = req.query.get('continuationToken');
  let after = -1;
  if (token !== null) {
    const x = decodeToken(token);
    if (x === undefined)
      problems.push({ field: 'continuationToken', message: 'is not a token this API issued (pass it back unchanged)' });
    else after = x;
  }
  if (problems.length) throw validationFailed(problems);
  return { ...(state ? { state: state as JobState } : {}), limit, after };
}

const encodeToken = (index: number): string => Buffer.from(JSON.stringify({ x: index })).toString('base64url');
function decodeToken(token: string): number | undefined {
  try {
    const x = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { x?: unknown }).x;
    return typeof x === 'number' && Number.isInteger(x) && x >= 0 ? x : undefined;
  } catch {
    return undefined;
  }
}

type Load = (req: ApiRequest, jobs: JobsBackend) => Promise<{ tenant: Tenant; status: JobStatus; input: JobInput }>;

/** The live tasks of `parent` (one list call) and its status refined from them. */
export async function liveTasks(
  jobs: JobsBackend,
  parent: JobInput,
  status: JobStatus,
): Promise<{ tasks: TaskRow[]; status: JobStatus }> {
  const tasks = tasksOf(await jobs.list(taskPrefixOf(parent.tenant, parent.jobId)), parent);
  return { tasks, status: refineArrayStatus(status, tasks) };
}

/** GET …/jobs/{id}/tasks. A job that is not an array is as unknown as another tenant's: 404. */
export function createJobTasks(deps: { load: Load; present: (s: JobStatus) => Promise<JobStatus> }) {
  return async function listTasks(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse> {
    const { status: published, input } = await deps.load(req, jobs);
    const array = input.spec.array;
    if (!array) throw notFound('job array');
    const q = tasksQuery(req);
    const { tasks, status } = await liveTasks(jobs, input, published);
    const rows = tasks.filter((t) => t.index > q.after && (!q.state || t.status.state === q.state));
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return json(200, {
      parent: input.jobId,
      state: status.state,
      count: array.count,
      parallelism: array.parallelism,
      counts: status.array?.counts ?? null,
      notStarted: Math.max(0, array.count - tasks.length),
      tasks: await Promise.all(page.map((t) => deps.present(t.status))),
      continuationToken: rows.length > q.limit && last ? encodeToken(last.index) : null,
    });
  };
}

/** Cancels at once every task of `parent` that has not ended (the ledger's record, then the event). */
export async function cancelLiveTasks(
  deps: { admission: Admission; log: Logger; now(): Date },
  jobs: JobsBackend,
  parent: JobInput,
): Promise<number> {
  const live = tasksOf(await jobs.list(taskPrefixOf(parent.tenant, parent.jobId)), parent).filter(
    (t) => !isTerminalState(t.status.state),
  );
  // Best effort per task (the parent's orchestrator cancels its in-flight tasks too).
  const raise = (id: string, event: string, data: unknown) => jobs.raise(id, event, data);
  return cancelJobs(
    { admission: deps.admission, raise, log: deps.log },
    parent.tenant,
    live.map((t) => t.instanceId),
    deps.now().toISOString(),
  );
}
