// Provides the `@azure/functions-core` module that @azure/functions v4 requires to talk to its
// runtime (protocol doc §1). We intercept `require('@azure/functions-core')` the way the Node
// worker does, so the app's own node_modules stay untouched. The module is per process: one app
// per process.
import Module from 'node:module';

export interface BindingInfo {
  type: string;
  direction?: 'in' | 'out' | 'inout';
  name?: string;
  route?: string;
  methods?: string[];
  schedule?: string;
  runOnStartup?: boolean;
  [key: string]: unknown;
}

export interface FunctionMetadata {
  name: string;
  functionId?: string;
  bindings: Record<string, BindingInfo>;
  retryOptions?: unknown;
}

export type FunctionCallback = (...args: unknown[]) => unknown;

export interface RegisteredFunction {
  metadata: FunctionMetadata;
  callback: FunctionCallback;
  triggerName: string;
  trigger: BindingInfo;
}

export type HookName = 'appStart' | 'appTerminate' | 'preInvocation' | 'postInvocation' | 'log';
type HookCallback = (context: unknown) => unknown;

export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreCtx: unknown): InvocationModel;
  getCapabilities(caps: Record<string, string>): Promise<Record<string, string>> | Record<string, string>;
}

export interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], callback: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<{ returnValue?: unknown; outputData?: unknown[] }>;
}

class Disposable {
  #callback: (() => void) | undefined;
  static from(...items: { dispose(): void }[]): Disposable {
    return new Disposable(() => {
      for (const item of items) item.dispose();
    });
  }
  constructor(callback: () => void) {
    this.#callback = callback;
  }
  dispose(): void {
    const cb = this.#callback;
    this.#callback = undefined;
    cb?.();
  }
}

/** What the app registered while it loaded. */
export class Registry {
  readonly functions = new Map<string, RegisteredFunction>();
  readonly hooks: Record<HookName, Set<HookCallback>> = {
    appStart: new Set(),
    appTerminate: new Set(),
    preInvocation: new Set(),
    postInvocation: new Set(),
    log: new Set(),
  };
  programmingModel: ProgrammingModel | undefined;
  /** Registration errors (duplicates, missing trigger) are collected and reported after loading. */
  readonly errors: string[] = [];
  locked = false;
  userLog: ((level: string, category: string, msg: string) => void) | undefined;
}

let current = new Registry();
let installed = false;

export function currentRegistry(): Registry {
  return current;
}

/**
 * Starts a fresh registry; the require hook stays installed for the life of the process. The
 * programming model carries over: @azure/functions sets it only once per process.
 */
export function resetRegistry(): Registry {
  const pm = current.programmingModel;
  current = new Registry();
  current.programmingModel = pm;
  return current;
}

const coreApi = {
  version: '4.0.0-local',
  hostVersion: '4.1000.0-local',
  setProgrammingModel(pm: ProgrammingModel): void {
    current.programmingModel = pm;
  },
  getProgrammingModel(): ProgrammingModel | undefined {
    return current.programmingModel;
  },
  registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable {
    const reg = current;
    if (reg.locked) {
      throw new Error(
        `Function "${metadata.name}" was registered after the app started; register functions while the app loads.`,
      );
    }
    const lower = metadata.name.toLowerCase();
    for (const existing of reg.functions.keys()) {
      if (existing.toLowerCase() === lower) {
        reg.errors.push(`Duplicate function name "${metadata.name}": a function with this name is already registered.`);
        return new Disposable(() => undefined);
      }
    }
    const entry = Object.entries(metadata.bindings).find(([, b]) => /trigger$/i.test(b.type));
    if (!entry) {
      reg.errors.push(`Function "${metadata.name}" has no trigger binding.`);
      return new Disposable(() => undefined);
    }
    reg.functions.set(metadata.name, { metadata, callback, triggerName: entry[0], trigger: entry[1] });
    return new Disposable(() => {
      reg.functions.delete(metadata.name);
    });
  },
  registerHook(name: string, callback: HookCallback): Disposable {
    const reg = current;
    if (!(name in reg.hooks)) {
      const err = new RangeError(`Unrecognized hook "${name}"`) as RangeError & {
        isAzureFunctionsSystemError?: boolean;
      };
      err.isAzureFunctionsSystemError = true;
      throw err;
    }
    const set = reg.hooks[name as HookName];
    set.add(callback);
    return new Disposable(() => {
      set.delete(callback);
    });
  },
  log(level: string, category: string, msg: string): void {
    current.userLog?.(level, category, msg);
  },
  Disposable,
};

/** Makes `require('@azure/functions-core')` return our API object, from any module in the process. */
export function installCoreShim(): void {
  if (installed) return;
  installed = true;
  const proto = Module.prototype as unknown as { require: (id: string) => unknown };
  const original = proto.require;
  proto.require = new Proxy(original, {
    apply(target, thisArg, args: [string]) {
      if (args[0] === '@azure/functions-core') return coreApi;
      return Reflect.apply(target, thisArg, args);
    },
  });
}
