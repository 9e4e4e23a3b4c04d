// Pure decisions of the job orchestrator: given the run state and what was observed, what next.
// No I/O and no clock (the time is passed in), so unit tests drive them directly.
import {
  JOB_ERROR_CODES,
  PROGRESS_HISTORY_LIMIT,
  type GroupView,
  type JobError,
  type Observation,
  type OnComplete,
} from '../contracts';
import type { JobOutcome, JobRunState, PullFinal } from './run-state';

const addSeconds = (iso: string, seconds: number): string => new Date(Date.parse(iso) + seconds * 1000).toISOString();
export const isPast = (nowIso: string, deadline: string | null): boolean =>
  deadline !== null && Date.parse(nowIso) >= Date.parse(deadline);

/** Tag value after which the sweeper deletes the group whatever the orchestration says. */
export function expiresAt(s: JobRunState, nowIso: string): string {
  const st = s.input.settings;
  const retained = s.input.spec.onComplete !== 'delete' || s.input.spec.onFailure === 'stop';
  const seconds =
    st.provisionTimeoutSeconds +
    st.startTimeoutSeconds +
    s.input.spec.timeoutMinutes * 60 +
    st.teardownTimeoutSeconds +
    600 +
    (retained ? 24 * 3600 : 0);
  return addSeconds(nowIso, seconds);
}

export type Readiness =
  { kind: 'ready'; ip: string } | { kind: 'wait'; why: string } | { kind: 'failed'; error: JobError };

/**
 * Readiness of a (re)started group: Running + IP (+ the agent's /healthz, checked by the caller).
 * `attemptStartedAt` guards restarts: a container that terminated before the restart was requested
 * is the previous attempt, not this one. A pull-mode group has no IP (`needsIp` false): running is ready.
 */
export function decideReadiness(view: GroupView, attemptStartedAt: string | null, needsIp = true): Readiness {
  // ARM answered the create PUT with the resource, so a 404 afterwards means the group is gone
  // (deleted by someone, or evicted), not "not visible yet" until the deadline.
  if (!view.exists) {
    return {
      kind: 'failed',
      error: { code: JOB_ERROR_CODES.groupDisappeared, message: 'The container group disappeared while provisioning.' },
    };
  }
  if ((view.provisioningState ?? '').toLowerCase() === 'failed') {
    return {
      kind: 'failed',
      error: {
        code: JOB_ERROR_CODES.provisioningFailed,
        message: `Provisioning failed${view.lastEvent ? `: ${view.lastEvent}` : ''}.`,
      },
    };
  }
  const c = view.container;
  if (c && (c.state ?? '').toLowerCase() === 'terminated') {
    const current = !attemptStartedAt || !c.startTime || Date.parse(c.startTime) >= Date.parse(attemptStartedAt) - 1000;
    if (current) return { kind: 'failed', error: exitError(view) };
  }
  // The container's own state wins when reported (the group's may lag behind a restart).
  const running = c?.state ? c.state.toLowerCase() === 'running' : (view.state ?? '').toLowerCase() === 'running';
  if (running && view.ip) return { kind: 'ready', ip: view.ip };
  if (running && !needsIp) return { kind: 'ready', ip: '' };
  return {
    kind: 'wait',
    why: `group ${view.provisioningState ?? 'pending'}/${view.state ?? c?.state ?? 'unknown'}${view.ip ? '' : ', no IP yet'}`,
  };
}

/** The error for a container that stopped without the agent reporting an end. */
export function exitError(view: GroupView): JobError {
  const c = view.container;
  // Only what ACI reports decides OOM (detailStatus / an OOMKilled event), never exit code 137 alone:
  // a plain SIGKILL also exits 137 and is not a memory problem (issue 10 finding 5).
  const detail = `${c?.detailStatus ?? ''} ${view.lastEvent ?? ''}`;
  if (/oomkill/i.test(detail)) {
    return {
      code: JOB_ERROR_CODES.oomKilled,
      message: `The container was killed for exceeding its memory (exit code ${c?.exitCode ?? 137}); request more memoryGb.`,
    };
  }
  return {
    code: JOB_ERROR_CODES.containerExited,
    message: `The container exited with code ${c?.exitCode ?? 'unknown'}${c?.detailStatus ? ` (${c.detailStatus})` : ''} before the job finished.`,
  };
}

/** Polls without an agent answer (while the group runs) before the attempt counts as failed. */
export const MAX_UNREACHABLE_POLLS = 6;

/** Consecutive failed observations (each after its own activity retries) before the attempt fails. */
export const MAX_OBSERVE_FAILURES = 5;

export type MonitorDecision =
  | { kind: 'continue'; progress: number; message: string; unreachablePolls: number }
  | { kind: 'finished'; outcome: JobOutcome; exitCode: number | null }
  | { kind: 'attemptFailed'; error: JobError; exitCode: number | null }
  | { kind: 'cancel' };

const GROUP_GONE = {
  kind: 'attemptFailed',
  error: { code: JOB_ERROR_CODES.groupDisappeared, message: 'The container group disappeared while the job ran.' },
  exitCode: null,
} as const satisfies MonitorDecision;

/** What one poll (agent /status + instance view + the ledger's cancel record) means for the job. */
export function decideOnObservation(obs: Observation, unreachablePolls: number): MonitorDecision {
  if (obs.cancelRequested) return { kind: 'cancel' };
  const g = obs.group;
  if (!g.exists) return GROUP_GONE;
  const a = obs.agent;
  if (a.reachable) {
    switch (a.state) {
      case 'succeeded':
        return { kind: 'finished', outcome: { state: 'succeeded', error: null }, exitCode: a.exitCode ?? 0 };
      case 'failed':
        return {
          kind: 'attemptFailed',
          error: {
            code: JOB_ERROR_CODES.jobFailed,
            message: `The batch failed${a.error ? `: ${a.error}` : a.message ? `: ${a.message}` : ''}.`,
          },
          exitCode: a.exitCode,
        };
      case 'canceled':
        return {
          kind: 'attemptFailed',
          error: { code: JOB_ERROR_CODES.jobFailed, message: 'The batch was canceled inside the container.' },
          exitCode: a.exitCode,
        };
      case 'running':
        return { kind: 'continue', progress: a.progress, message: a.message, unreachablePolls: 0 };
      default:
        break; // idle/unknown: the agent lost the job (restarted?) — treated like no answer
    }
  }
  const cState = (g.container?.state ?? '').toLowerCase();
  if (cState === 'terminated' || (g.state ?? '').toLowerCase() === 'stopped') {
    return { kind: 'attemptFailed', error: exitError(g), exitCode: g.container?.exitCode ?? null };
  }
  if (unreachablePolls + 1 >= MAX_UNREACHABLE_POLLS) {
    return {
      kind: 'attemptFailed',
      error: {
        code: JOB_ERROR_CODES.agentUnreachable,
        message: `The agent did not answer ${MAX_UNREACHABLE_POLLS} polls in a row.`,
      },
      exitCode: null,
    };
  }
  return { kind: 'continue', progress: -1, message: '', unreachablePolls: unreachablePolls + 1 };
}

// ---- pull mode: the agent cannot be called; its final callback and the instance view tell the end ----

/** Agent exit codes in pull mode (batch-image README, "Pull mode" step 6). */
export const PULL_EXIT = { noStart: 3, finalNotDelivered: 4 } as const;

/** Attempts a Spot job may spend on evictions: its maxAttempts, at least 3. */
export const spotAttemptCap = (maxAttempts: number): number => Math.max(3, maxAttempts);

/**
 * Was this attempt's container evicted? ACI restarts an evicted Spot group by itself (restartPolicy
 * Never restarts nothing else), with the container's previous state Terminated / `Evicted` and a
 * Warning event `Evicted` (MicrosoftDocs/azure-docs container-instances-spot-containers-overview.md,
 * "Eviction policies"; the emulator does the same, local/azure-emulator/README.md).
 */
export function wasEvicted(view: GroupView, knownRestarts: number): boolean {
  const c = view.container;
  if (!c) return false;
  if (c.restartCount > knownRestarts) return true;
  return (c.state ?? '').toLowerCase() === 'terminated' && /evict/i.test(c.detailStatus ?? '');
}

export type PullDecision =
  | { kind: 'continue' }
  | { kind: 'finished'; outcome: JobOutcome; exitCode: number | null }
  | { kind: 'attemptFailed'; error: JobError; exitCode: number | null }
  | { kind: 'evicted'; why: string }
  | { kind: 'cancel' };

/** The end as the pull-mode agent's final callback tells it (`canceledByUs`: a cancel was requested). */
export function decidePullFinal(f: PullFinal, canceledByUs: boolean): PullDecision {
  if (f.type === 'completed') return { kind: 'finished', outcome: { state: 'succeeded', error: null }, exitCode: 0 };
  if (f.type === 'failed') {
    const message = `The batch failed${f.error ? `: ${f.error}` : ''}.`;
    return { kind: 'attemptFailed', error: { code: JOB_ERROR_CODES.jobFailed, message }, exitCode: f.exitCode };
  }
  if (canceledByUs) return { kind: 'cancel' };
  // Canceled without our asking and nothing uploaded: the agent got SIGTERM (an eviction, in Spot).
  if (!f.uploaded) return { kind: 'evicted', why: `the agent was stopped (${f.error ?? 'SIGTERM'})` };
  return {
    kind: 'attemptFailed',
    error: { code: JOB_ERROR_CODES.jobFailed, message: 'The batch was canceled inside the container.' },
    exitCode: f.exitCode,
  };
}

/**
 * The safety poll in pull mode: only the instance view (and what the agent uploaded) — a container
 * that ended without its final callback reaching us tells the rest by its exit code.
 */
export function decidePullObservation(obs: Observation, knownRestarts: number): PullDecision {
  if (obs.cancelRequested) return { kind: 'cancel' };
  const g = obs.group;
  if (!g.exists) return GROUP_GONE;
  if (wasEvicted(g, knownRestarts)) return { kind: 'evicted', why: g.lastEvent ?? 'the group was restarted' };
  const c = g.container;
  if ((c?.state ?? '').toLowerCase() !== 'terminated') return { kind: 'continue' };
  const exitCode = c?.exitCode ?? null;
  if (obs.uploaded?.state === 'succeeded')
    return { kind: 'finished', outcome: { state: 'succeeded', error: null }, exitCode };
  if (obs.uploaded?.state === 'failed') {
    const message = `The batch failed (exit code ${exitCode ?? 'unknown'}; its final callback was not received).`;
    return { kind: 'attemptFailed', error: { code: JOB_ERROR_CODES.jobFailed, message }, exitCode };
  }
  if (exitCode === PULL_EXIT.noStart) {
    const message = 'The agent got no start from the controller before its pull deadline (exit code 3).';
    return { kind: 'attemptFailed', error: { code: JOB_ERROR_CODES.agentUnreachable, message }, exitCode };
  }
  if (exitCode === PULL_EXIT.finalNotDelivered) {
    const message = 'The agent could not deliver its final callback and uploaded no result (exit code 4).';
    return { kind: 'attemptFailed', error: { code: JOB_ERROR_CODES.agentUnreachable, message }, exitCode };
  }
  return { kind: 'attemptFailed', error: exitError(g), exitCode };
}

/** Bills the current attempt's group (start → now) at the memory it runs with. */
export function billAttempt(s: JobRunState, nowIso: string): void {
  const seconds = secondsBetween(s.groupStartedAt, nowIso);
  // Jobs from before per-attempt memory billed every earlier second at the spec's memory.
  s.billedGbSeconds =
    (s.billedGbSeconds ?? s.billedSeconds * s.input.spec.memoryGb) + seconds * s.status.resources.memoryGb;
  s.billedSeconds += seconds;
  s.groupStartedAt = null;
}

/** What to do with the group at the end. Cancel always deletes. */
export function teardownAction(
  outcome: JobOutcome,
  spec: { onComplete: OnComplete; onFailure: 'delete' | 'stop' | 'restart' },
): 'delete' | 'stop' | 'keep' {
  if (outcome.state === 'canceled') return 'delete';
  if (outcome.state === 'succeeded') return spec.onComplete;
  return spec.onFailure === 'stop' ? 'stop' : 'delete';
}

/**
 * Usage from billed seconds (group start → teardown request, summed over attempts) and the tenant's
 * rates; `billedGbSeconds`, when given, is the memory billed per attempt (a retry may have had more).
 */
export function usageOf(
  billedSeconds: number,
  cpu: number,
  memoryGb: number,
  rates: { vcpuHour: number; gbHour: number; currency: string },
  billedGbSeconds?: number,
) {
  const vcpuSeconds = round(billedSeconds * cpu, 3);
  const gbSeconds = round(billedGbSeconds ?? billedSeconds * memoryGb, 3);
  const estimatedCost = round((vcpuSeconds / 3600) * rates.vcpuHour + (gbSeconds / 3600) * rates.gbHour, 6);
  return { vcpuSeconds, gbSeconds, estimatedCost, currency: rates.currency };
}

const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;

export const secondsBetween = (fromIso: string | null, toIso: string): number =>
  fromIso === null ? 0 : Math.max(0, (Date.parse(toIso) - Date.parse(fromIso)) / 1000);

/** Appends a progress report, keeping the last PROGRESS_HISTORY_LIMIT. */
export function recordProgress(s: JobRunState, at: string, progress: number, message: string): void {
  const p = Math.max(0, Math.min(1, progress));
  const changed = p !== s.status.progress || message !== s.status.message;
  s.status.progress = p;
  if (message) s.status.message = message;
  if (changed) {
    s.status.progressHistory.push({ at, progress: p, message });
    if (s.status.progressHistory.length > PROGRESS_HISTORY_LIMIT)
      s.status.progressHistory.splice(0, s.status.progressHistory.length - PROGRESS_HISTORY_LIMIT);
  }
}
