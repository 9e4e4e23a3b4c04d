// Phase 0, dependencies (issue 13): a job with `dependsOn` waits — queued, held in the ledger, no
// group — until its dependencies end. Event-driven: a dependency's teardown raises DependencyEnded
// (with the state it ended in) on each job that depends on it; CheckDependencies reads their
// statuses once per generation and again at each fallback timer (ADMISSION_POLL_SECONDS: covers an
// event lost at a generation switch, or raised before this job's orchestration existed). As soon as
// one dependency ended in a way its condition rejects, the job fails with DependencyFailed (the
// outcome is decided; waiting for the others would change nothing) and its own teardown tells its
// dependents in turn: the cascade. Every dependency ended and allowed → admission (an array's parent:
// fanout). Past DEPENDENCY_TIMEOUT_HOURS from the submit → DependencyFailed.
import {
  DEFAULT_DEPENDENCY_TIMEOUT_HOURS,
  dependencyAllows,
  EVENTS,
  JOB_ERROR_CODES,
  type DependencyEnded,
  type JobState,
  type JobStatus,
} from '../../contracts';
import { isPast } from '../job-decisions';
import type { RunContext, Step } from '../run-context';

type Waiting = NonNullable<JobStatus['dependsOn']>;

/** Records the states learnt (an entry already ended keeps its state); true when anything changed. */
function record(list: Waiting, learnt: (job: string, index: number) => JobState | null): boolean {
  let changed = false;
  list.forEach((d, i) => {
    const state = learnt(d.job, i);
    if (d.state !== null || state === null) return;
    d.state = state;
    changed = true;
  });
  return changed;
}

const isEndedEvent = (x: unknown): x is DependencyEnded =>
  typeof x === 'object' && x !== null && typeof (x as DependencyEnded).job === 'string' && 'state' in x;

const deadlineOf = (ctx: RunContext): string => {
  const hours = ctx.settings.dependencyTimeoutHours ?? DEFAULT_DEPENDENCY_TIMEOUT_HOURS;
  return new Date(Date.parse(ctx.s.input.createdAt) + hours * 3_600_000).toISOString();
};

export function* dependencies(ctx: RunContext): Step<void> {
  const { s, spec, settings } = ctx;
  const list = (s.status.dependsOn ??= (spec.dependsOn ?? []).map((d) => ({ ...d, state: null })));
  const deadline = deadlineOf(ctx);
  let check = true; // once per generation, then after each fallback timer
  for (;;) {
    let changed = false;
    if (check) {
      const dependsOn = list.map(({ job, condition }) => ({ job, condition }));
      const answer = yield* ctx.activity('CheckDependencies', { ...ctx.ids, dependsOn });
      if (answer.canceled) return ctx.canceled();
      changed = record(list, (_, i) => answer.states[i] ?? null);
    }
    const rejected = list.find((d) => d.state !== null && !dependencyAllows(d.condition, d.state));
    if (rejected) {
      ctx.publish();
      return ctx.fail({
        code: JOB_ERROR_CODES.dependencyFailed,
        message: `Dependency ${rejected.job} ended ${rejected.state}; its condition "${rejected.condition}" needs it to ${rejected.condition === 'succeeded' ? 'succeed' : 'end'}.`,
      });
    }
    const open = list.filter((d) => d.state === null);
    if (open.length === 0) {
      // The queue wait starts now: the time spent waiting for the dependencies is not queue time.
      s.queueDeadline = new Date(Date.parse(ctx.nowIso()) + settings.queueTimeoutMinutes * 60_000).toISOString();
      ctx.log('info', { dependencies: list.length }, 'dependencies ended');
      return ctx.enter(spec.array ? 'fanout' : 'admission', 'queued', 'Waiting for a slot');
    }
    if (isPast(ctx.nowIso(), deadline)) {
      const hours = settings.dependencyTimeoutHours ?? DEFAULT_DEPENDENCY_TIMEOUT_HOURS;
      return ctx.fail({
        code: JOB_ERROR_CODES.dependencyFailed,
        message: `Dependencies ${open.map((d) => d.job).join(', ')} did not end within ${hours} hours.`,
      });
    }
    const msg = `Waiting for ${open.length} of ${list.length} dependencies`;
    if (changed || msg !== s.status.message) {
      s.status.message = msg;
      ctx.publish();
    }
    if (ctx.countStep()) return;
    const woke = yield* ctx.waitForEvent(
      EVENTS.dependencyEnded,
      ctx.untilDeadline(deadline, settings.admissionPollSeconds),
    );
    if (woke.why === 'cancel') return ctx.canceled();
    check = woke.why !== 'event';
    if (!check && isEndedEvent(woke.data)) {
      const ended = woke.data;
      record(list, (job) => (job === ended.job ? ended.state : null));
    }
  }
}
