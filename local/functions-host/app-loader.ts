// Loads an Azure Functions v4 Node app: reads package.json "main" (file or glob), requires every
// match with the core shim installed, runs appStart hooks and locks app.setup(), exactly the
// order the Node worker uses (protocol doc §1.3).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HostError, errorMessage } from './errors';
import { globFiles, isGlob } from './glob';
import { installCoreShim, resetRegistry, type Registry } from './core-shim';

export interface AppSettings {
  /** `extensions.http.routePrefix` from host.json, default "api". */
  routePrefix: string;
  /** `extensions.durableTask.hubName` from host.json, default "TestHubName" (as Core Tools). */
  hubName: string;
}

export interface LoadedApp {
  dir: string;
  files: string[];
  registry: Registry;
  settings: AppSettings;
}

function readJson(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new HostError('AppNotFound', `Cannot read ${what} at ${path}: ${errorMessage(err)}`);
  }
  try {
    const parsed: unknown = JSON.parse(text.replace(/^\uFEFF/, ''));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new HostError('AppInvalid', `${what} at ${path} is not valid JSON: ${errorMessage(err)}`);
  }
}

function readSettings(dir: string): AppSettings {
  const settings: AppSettings = { routePrefix: 'api', hubName: 'TestHubName' };
  const hostJsonPath = join(dir, 'host.json');
  if (!existsSync(hostJsonPath)) return settings;
  const hostJson = readJson(hostJsonPath, 'host.json');
  const ext = (hostJson.extensions ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const prefix = ext.http?.routePrefix;
  if (typeof prefix === 'string') settings.routePrefix = prefix.replace(/^\/+|\/+$/g, '');
  const hub = ext.durableTask?.hubName;
  if (typeof hub === 'string' && hub.length > 0) settings.hubName = hub;
  return settings;
}

export async function loadApp(appDir: string): Promise<LoadedApp> {
  const dir = resolve(appDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new HostError('AppNotFound', `App folder ${dir} does not exist or is not a folder.`);
  }
  const pkgPath = join(dir, 'package.json');
  if (!existsSync(pkgPath)) {
    throw new HostError('AppNotFound', `No Functions app in ${dir}: package.json is missing.`);
  }
  const pkg = readJson(pkgPath, 'package.json');
  const main = pkg.main;
  if (typeof main !== 'string' || main.trim() === '') {
    throw new HostError(
      'AppInvalid',
      `package.json in ${dir} has no "main" entry; set it to the file (or glob) that registers your functions.`,
    );
  }
  const files = isGlob(main) ? globFiles(dir, main) : [join(dir, main)].filter((p) => existsSync(p));
  if (files.length === 0) {
    throw new HostError(
      'MainNotFound',
      `package.json "main" (${main}) matches no file in ${dir}; build the app first?`,
    );
  }

  installCoreShim();
  const registry = resetRegistry();
  // A second start in the same process (benchmarks, tests) must run the app's registrations again.
  const ownPrefix = dir + sep;
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(ownPrefix) && !key.slice(ownPrefix.length).split(sep).includes('node_modules'))
      delete require.cache[key];
  }
  for (const file of files) {
    try {
      if (extname(file) === '.mjs') await import(pathToFileURL(file).href);
      else createRequire(file)(file);
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_REQUIRE_ESM') await import(pathToFileURL(file).href);
      else throw new HostError('AppInvalid', `Loading ${file} failed: ${errorMessage(err)}`, 500, { cause: err });
    }
  }
  if (registry.errors.length > 0) {
    const dup = registry.errors.some((e) => e.startsWith('Duplicate'));
    throw new HostError(dup ? 'DuplicateFunction' : 'AppInvalid', registry.errors.join(' '));
  }
  if (!registry.programmingModel || registry.functions.size === 0) {
    throw new HostError(
      'NoFunctions',
      `The app in ${dir} registered no functions (is @azure/functions v4 installed and does "main" call app.*?).`,
    );
  }
  for (const hook of registry.hooks.appStart) {
    await hook({ hookData: {}, appHookData: {}, functionAppDirectory: dir });
  }
  const capabilities = await registry.programmingModel.getCapabilities({});
  registry.locked = true;
  if (capabilities.HttpUri) {
    // The library would wait for each request to be proxied to its own server (protocol doc §2).
    throw new HostError(
      'AppInvalid',
      'HTTP streaming (app.setup({ enableHttpStream: true })) is not supported by the local host; remove it to run the app here.',
    );
  }
  return { dir, files, registry, settings: readSettings(dir) };
}
