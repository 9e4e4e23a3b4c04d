// The default batch model: a Markov-switching regression (Hamilton 1989) with k = 2..4 regimes.
// This is the module's whole public surface; the agent and the CLI import only from here.
export { parseFitInput, parameterCount, DEFAULT_STARTS, MAX_STARTS } from './parse-input';
export { fitModel, shutdownModelWorkers } from './fit';
export { renderChartSvg } from './chart';
export { assessFit } from './diagnostics';
export { availableCpus, detectCpuLimit, workerCountFor, parseProcCgroup } from './cpus';
export type { CpuLimit } from './cpus';
export type {
  FieldError,
  FitInput,
  FitOptions,
  FitResult,
  FitWarning,
  ParseResult,
  RegimeResult,
  StartReport,
  Trend,
} from './types';
