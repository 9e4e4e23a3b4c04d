// Model mode: the default regime-switching model on the job's `input`. The fit's JSON result is
// the job's result and is also written to RESULT_DIR/result.json, next to the chart (chart.svg).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fitModel, parseFitInput, renderChartSvg } from '../model';
import type { ModelPort } from './app';
import { errorMessage, isAbortError } from './errors';

type FitInput = Parameters<typeof fitModel>[0];

export const regimeSwitchingModel: ModelPort = {
  validateInput: (raw) => {
    const parsed = parseFitInput(raw);
    return parsed.ok ? { ok: true, value: parsed.value } : { ok: false, errors: parsed.errors };
  },

  createWork: (input, resultDir, log) => ({
    run: async (ctx) => {
      // validateInput produced it: planStart only hands over a validated input.
      const fitInput = input as FitInput;
      let result: Awaited<ReturnType<typeof fitModel>>;
      try {
        result = await fitModel(fitInput, {
          signal: ctx.signal,
          onProgress: (fraction, message) => ctx.onProgress(fraction, message),
        });
      } catch (err) {
        if (isAbortError(err)) throw err;
        return {
          ok: false,
          message: `the fit failed: ${errorMessage(err)}`,
          result: null,
          error: { code: 'ModelFailed', message: errorMessage(err) },
        };
      }
      writeFileSync(join(resultDir, 'result.json'), JSON.stringify(result));
      try {
        writeFileSync(join(resultDir, 'chart.svg'), renderChartSvg(fitInput, result));
      } catch (err) {
        // The fit is what was paid for: a chart failure is reported in the log, not as a failed job.
        log.error('chart rendering failed; result.json is complete', { err });
      }
      return {
        ok: true,
        message: `fitted ${result.k} regimes on ${result.nobs} observations (log-likelihood ${result.logLikelihood.toFixed(3)})`,
        result,
      };
    },
  }),
};
