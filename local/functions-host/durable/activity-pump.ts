// The activity pump: runs queued activity work items concurrently up to `maxActivities`, through the
// app's activity functions (or the built-in callHttp activity), and hands each result or failure back
// to the engine as a TaskCompleted / TaskFailed event.
import { HostError, errorMessage } from '../errors';
import type { Invoker } from '../invoker';
import type { Logger } from '../logger';
import { httpActivityName, performDurableHttp, type DurableHttpRequest } from './call-http';
import { historyEvent, type HistoryEvent } from './history';
import { EventType, type ActivityJob, type DurableFunctions, type EngineOptions, type Meta } from './model';

export class ActivityPump {
  private readonly queue: ActivityJob[] = [];
  private running = 0;
  private closing = false;

  constructor(
    private readonly invoker: Invoker,
    private readonly functions: DurableFunctions,
    private readonly logger: Logger,
    private readonly options: EngineOptions,
    /** Tracks a running activity so that close() can wait for it. */
    private readonly track: (p: Promise<unknown>) => () => void,
    private readonly complete: (job: ActivityJob, event: HistoryEvent, failedMeta: Meta | null) => void,
  ) {}

  get idle(): boolean {
    return this.running === 0 && this.queue.length === 0;
  }

  enqueue(job: ActivityJob): void {
    this.queue.push(job);
    this.pump();
  }

  /** Stops starting work; unstarted work items stay in the store and run after a restart. */
  close(): void {
    this.closing = true;
    this.queue.length = 0;
  }

  private pump(): void {
    while (!this.closing && this.running < this.options.maxActivities && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      let untrack = () => {};
      const p = this.run(job).finally(() => {
        this.running--;
        untrack();
        this.pump();
      });
      untrack = this.track(p);
    }
  }

  private async run(job: ActivityJob): Promise<void> {
    const fn = this.functions.activities.get(job.name.toLowerCase());
    let event: HistoryEvent;
    let failedMeta: Meta | null = null;
    try {
      if (job.name === httpActivityName) {
        const response = await performDurableHttp(JSON.parse(job.input ?? '{}') as DurableHttpRequest);
        event = historyEvent(EventType.TaskCompleted, Date.now(), {
          TaskScheduledId: job.seq,
          Result: JSON.stringify(response),
        });
        this.complete(job, event, null);
        return;
      }
      if (!fn)
        throw new HostError(
          'FunctionNotFound',
          `The function '${job.name}' doesn't exist, is disabled, or is not an activity function.`,
        );
      const data = job.input === null ? {} : { json: job.input };
      const inv = await this.invoker.invoke(fn, [{ name: fn.triggerName, data }, ...this.options.clientInputs(fn)], {
        instanceId: job.instanceId,
      });
      const result = inv.result === undefined ? 'null' : (JSON.stringify(inv.result) ?? 'null');
      event = historyEvent(EventType.TaskCompleted, Date.now(), { TaskScheduledId: job.seq, Result: result });
    } catch (err) {
      event = taskFailed(job.name, job.seq, err);
      this.logger.warn({ instanceId: job.instanceId, activity: job.name, err }, 'activity failed');
      if (job.meta?.retry) failedMeta = { retry: { ...job.meta.retry, failures: job.meta.retry.failures + 1 } };
    }
    this.complete(job, event, failedMeta);
  }
}

/** The TaskFailed event for a thrown activity error, with FailureDetails when the app registered an exception properties provider (protocol doc §5.2). */
function taskFailed(name: string, seq: number, err: unknown): HistoryEvent {
  const message = errorMessage(err);
  // Details carry the error's name and message, not its stack: the orchestrator shows them to users.
  const details = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const fields: Record<string, unknown> = {
    TaskScheduledId: seq,
    Reason: `Activity function '${name}' failed: ${message}`,
    Details: details,
  };
  if (message.startsWith('{')) {
    try {
      const p = JSON.parse(message) as {
        errorType?: string;
        errorMessage?: string;
        stackTrace?: string;
        isNonRetriable?: boolean;
        properties?: unknown;
      };
      if (typeof p.errorType === 'string') {
        fields.Reason = `Activity function '${name}' failed: ${p.errorType}: ${p.errorMessage ?? ''}`;
        fields.FailureDetails = {
          ErrorType: p.errorType,
          ErrorMessage: p.errorMessage ?? '',
          StackTrace: p.stackTrace,
          IsNonRetriable: Boolean(p.isNonRetriable),
          Properties: p.properties ?? null,
        };
      }
    } catch {
      /* a plain message that happens to start with "{" */
    }
  }
  return historyEvent(EventType.TaskFailed, Date.now(), fields);
}
