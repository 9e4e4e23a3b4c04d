// Timer triggers: 6-field NCRONTAB (or TimeSpan) schedules evaluated in UTC, `%Setting%` schedules
// resolved from the environment (as the Functions host does), runOnStartup, no overlapping runs
// of one function.
import type { RegisteredFunction } from './core-shim';
import { HostError } from './errors';
import type { InputData, Invoker } from './invoker';
import type { Logger } from './logger';
import { nextOccurrence, parseSchedule, type Schedule } from './ncrontab';

interface TimerFunction {
  fn: RegisteredFunction;
  schedule: Schedule;
  runOnStartup: boolean;
  last: number | undefined;
  running: boolean;
  handle: NodeJS.Timeout | undefined;
}

export function resolveSchedule(expression: string, env: NodeJS.ProcessEnv = process.env): string {
  const m = /^%([^%]+)%$/.exec(expression.trim());
  if (!m) return expression;
  const value = env[m[1]!];
  if (value === undefined || value.trim() === '')
    throw new Error(`app setting ${m[1]} (used as a timer schedule) is not set`);
  return value;
}

export class TimerTriggers {
  private readonly timers: TimerFunction[] = [];
  private stopped = false;
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    fns: RegisteredFunction[],
    private readonly invoker: Invoker,
    private readonly logger: Logger,
    private readonly clientInputs: (fn: RegisteredFunction) => InputData[],
  ) {
    for (const fn of fns) {
      const expression = String(fn.trigger.schedule ?? '');
      let schedule: Schedule;
      try {
        schedule = parseSchedule(resolveSchedule(expression));
      } catch (err) {
        throw new HostError('AppInvalid', `Timer function "${fn.metadata.name}": ${(err as Error).message}`);
      }
      this.timers.push({
        fn,
        schedule,
        runOnStartup: fn.trigger.runOnStartup === true,
        last: undefined,
        running: false,
        handle: undefined,
      });
    }
  }

  start(): void {
    for (const t of this.timers) {
      if (t.runOnStartup) this.fire(t, Date.now(), false);
      this.arm(t, Date.now());
    }
  }

  private arm(t: TimerFunction, after: number): void {
    if (this.stopped) return;
    const next = nextOccurrence(t.schedule, after);
    if (next === undefined) return;
    const delay = next - Date.now();
    t.handle = setTimeout(
      () => {
        if (delay > 2 ** 31 - 1) {
          this.arm(t, after);
          return;
        }
        this.fire(t, next, Date.now() - next > 1000);
        this.arm(t, next);
      },
      Math.min(Math.max(0, delay), 2 ** 31 - 1),
    );
  }

  private fire(t: TimerFunction, scheduled: number, isPastDue: boolean): void {
    if (this.stopped) return;
    if (t.running) {
      this.logger.warn({ fn: t.fn.metadata.name }, 'timer run skipped: the previous run is still in progress');
      return;
    }
    t.running = true;
    const next = nextOccurrence(t.schedule, scheduled);
    const info = {
      Schedule: { AdjustForDST: true },
      ScheduleStatus: {
        Last: new Date(t.last ?? 0).toISOString(),
        Next: next ? new Date(next).toISOString() : null,
        LastUpdated: new Date().toISOString(),
      },
      IsPastDue: isPastDue,
    };
    t.last = scheduled;
    const p = this.invoker
      .invoke(t.fn, [{ name: t.fn.triggerName, data: { json: JSON.stringify(info) } }, ...this.clientInputs(t.fn)])
      .then(
        () => undefined,
        (err: unknown) => {
          this.logger.error({ fn: t.fn.metadata.name, err }, 'timer function failed');
        },
      )
      .finally(() => {
        t.running = false;
        this.inflight.delete(p);
      });
    this.inflight.add(p);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) if (t.handle) clearTimeout(t.handle);
    await Promise.allSettled([...this.inflight]);
  }
}
