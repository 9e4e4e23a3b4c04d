// Invokes a registered function through the app's own programming model (protocol doc §2, path A):
// getInvocationModel → getArguments → preInvocation hooks → invokeFunction → postInvocation hooks.
// This is what the Node worker does, so binding conversion, hooks and `$return` handling are the
// library's own.
import { randomUUID } from 'node:crypto';
import type { Logger } from './logger';
import type { Registry, RegisteredFunction, FunctionCallback, InvocationModel } from './core-shim';

export interface RpcTypedData {
  string?: string;
  json?: string;
  bytes?: Uint8Array;
  http?: unknown;
}

export interface InputData {
  name: string;
  data: RpcTypedData;
}

export interface Invocation {
  result: unknown;
  context: unknown;
  model: InvocationModel;
}

const pinoLevel: Record<string, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | undefined> = {
  trace: 'trace',
  debug: 'debug',
  information: 'info',
  warning: 'warn',
  error: 'error',
  critical: 'fatal',
};

export class Invoker {
  readonly appHookData: Record<string, unknown> = {};

  constructor(
    private readonly registry: Registry,
    private readonly logger: Logger,
  ) {}

  /**
   * `trigger`, when given, replaces the decoded trigger input after getArguments: the orchestration
   * payload is handed over as an object instead of being serialized and parsed on every episode.
   */
  async invoke(
    fn: RegisteredFunction,
    inputData: InputData[],
    fields: Record<string, unknown> = {},
    trigger?: { value: unknown },
  ): Promise<Invocation> {
    const pm = this.registry.programmingModel;
    if (!pm) throw new Error('The app registered no programming model.');
    const invocationId = randomUUID();
    const functionName = fn.metadata.name;
    const logger = this.logger;
    const logHooks = this.registry.hooks.log;
    const coreCtx: Record<string, unknown> = {
      invocationId,
      request: { invocationId, functionId: functionName, inputData, triggerMetadata: {} },
      metadata: fn.metadata,
      state: undefined,
      log(level: string, category: string, msg: string): void {
        const method = pinoLevel[level];
        if (method) logger[method]({ fn: functionName, invocationId, category, ...fields }, msg);
        for (const hook of logHooks) {
          try {
            void hook({ hookData: {}, level, message: msg, category, invocationContext: undefined });
          } catch {
            /* a log hook must not break the invocation */
          }
        }
      },
    };
    const model = pm.getInvocationModel(coreCtx);
    const { context, inputs } = await model.getArguments();
    let args = inputs;
    if (trigger) args = [trigger.value, ...inputs.slice(1)];
    let callback: FunctionCallback = fn.callback;
    const hookData: Record<string, unknown> = {};
    const pre = this.registry.hooks.preInvocation;
    if (pre.size > 0) {
      coreCtx.state = 'preInvocationHooks';
      for (const hook of pre) {
        const hctx = {
          hookData,
          appHookData: this.appHookData,
          invocationContext: context,
          inputs: args,
          functionCallback: callback,
        };
        await hook(hctx);
        args = hctx.inputs;
        callback = hctx.functionCallback;
      }
    }
    coreCtx.state = 'invocation';
    let result: unknown;
    let error: unknown;
    let failed = false;
    try {
      result = await model.invokeFunction(context, args, callback);
    } catch (err) {
      failed = true;
      error = err;
    }
    const post = this.registry.hooks.postInvocation;
    if (post.size > 0) {
      coreCtx.state = 'postInvocationHooks';
      for (const hook of post) {
        const hctx = {
          hookData,
          appHookData: this.appHookData,
          invocationContext: context,
          inputs: args,
          result,
          error,
        };
        await hook(hctx);
        result = hctx.result;
        if (hctx.error !== error) {
          error = hctx.error;
          failed = error !== undefined && error !== null;
        }
      }
    }
    if (failed) throw error;
    return { result, context, model };
  }
}
