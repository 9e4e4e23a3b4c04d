// Model mode: the default regime-switching model on the job's `input`. The fit's JSON result is
// the job's result and is also written to RESULT_DIR/result.json, next to the chart (chart.svg).
// A degenerate fit (result.usable false) fails the job with DegenerateFit, its result kept for diagnosis.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fitModel, parseFitInput, renderChartSvg, type FitResult } from '../model';
import type { ModelPort } from './app';
import { errorMessage, isAbortError } from './errors';

type FitInput = Parameters<typeof fitModel>[0];

export const regimeSwitchingModel: ModelPort = {
  validateInput: (raw) => {
    const parsed = parseFitInput(raw);
    return parsed.ok ? { ok: true, value: parsed.value } : { ok: false, errors: parsed.errors };
  },

  summarize: (result) => {
    if (typeof result !== 'object' || result === null) return undefined;
    const r = result as Partial<FitResult>;
    if (r.model !== 'markov-switching-regression') return undefined;
    // What the controller needs without fetching the result: select "best" reads logLikelihood.
    return {
      model: r.model,
      logLikelihood: r.logLikelihood,
      aic: r.aic,
      bic: r.bic,
      converged: r.converged,
      usable: r.usable,
      warnings: (r.warnings ?? []).map((w) => w.code),
      task: r.task ?? null,
    };
  },

  createWork: (input, resultDir, log, task) => ({
    run: async (ctx) => {
      // validateInput produced it: planStart only hands over a validated input.
      const fitInput = input as FitInput;
      let result: Awaited<ReturnType<typeof fitModel>>;
      try {
        result = await fitModel(fitInput, {
          signal: ctx.signal,
          ...(task ? { task } : {}),
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
      if (!result.usable) {
        const reasons = result.warnings.filter((w) => w.fatal).map((w) => w.message);
        const message = `degenerate fit: ${reasons.join('; ')}`;
        return { ok: false, message, result, error: { code: 'DegenerateFit', message } };
      }
      for (const w of result.warnings) log.warn('fit warning', { code: w.code, message: w.message });
      return {
        ok: true,
        message: `fitted ${result.k} regimes on ${result.nobs} observations (log-likelihood ${result.logLikelihood.toFixed(3)})`,
        result,
      };
    },
  }),
};
