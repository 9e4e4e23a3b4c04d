// Messages between fitModel (main thread) and its worker threads.
import type { StartOutcome, PlainParams, FitSummary } from './estimate';
import type { FitInput } from './types';

export type WorkerRequest =
  | { type: 'load'; input: FitInput }
  /** `index`: the start's slot in this fit; `global`: its number across a job array (0 = the default start). */
  | { type: 'start'; index: number; global: number; seed: number }
  | { type: 'hessian'; params: PlainParams; columns: number[] }
  | { type: 'summarize'; params: PlainParams; hessian: (number[] | null)[] };

export type WorkerReply =
  | { type: 'progress'; index: number; fraction: number }
  | { type: 'start-done'; index: number; outcome: StartOutcome }
  | { type: 'hessian-done'; columns: number[]; values: (number[] | null)[] }
  | { type: 'summary'; summary: FitSummary }
  | { type: 'error'; message: string };
