// The dashboard's static files (orchestration/ui/) served by the Function App itself at GET /api/ui,
// so the page exists wherever the API does, in Azure too. Only the files of that one folder, by
// exact name; the right content type; a strict Content-Security-Policy (scripts and styles from this
// origin only, no inline code, fetches to this origin only): the page handles API keys.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ApiResponse } from './http';

/** The page's CSP. blob: images are the job's chart, fetched with the key and shown as an image. */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};
const FILE_NAME = /^[a-z0-9][a-z0-9-]*\.(html|js|css|svg)$/;

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': UI_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * The folder with the page: orchestration/ui, found from this module in src/api (tsx) or in
 * dist/src/api (compiled), so the same code works in both and in the deployed package.
 */
export function uiFolder(from: string = __dirname): string {
  for (let dir = from, i = 0; i < 6; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'ui');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
  }
  throw new Error(`orchestration/ui (the dashboard) was not found above ${from}; it ships beside dist/`);
}

let cache: Map<string, Buffer> | undefined;

/** Reads the folder once: the set of servable files is fixed at start (no path ever reaches the disk). */
function files(folder: string): Map<string, Buffer> {
  if (cache) return cache;
  const map = new Map<string, Buffer>();
  for (const name of readdirSync(folder)) if (FILE_NAME.test(name)) map.set(name, readFileSync(join(folder, name)));
  cache = map;
  return map;
}

/**
 * The answer for GET /api/ui/{*path}: `path` undefined or empty is the page; otherwise one asset by
 * its exact file name. The page is served at /api/ui (no trailing slash) and refers to its assets as
 * `ui/<name>`; /api/ui/ redirects there so relative links always resolve the same way.
 */
export function uiResponse(path: string | undefined, opts: { folder?: string; requestUrl?: string } = {}): ApiResponse {
  const folder = opts.folder ?? uiFolder();
  const pathname = opts.requestUrl ? new URL(opts.requestUrl, 'http://x').pathname : '';
  if ((path === undefined || path === '') && pathname.endsWith('/') && pathname.length > 1)
    return { status: 308, headers: { Location: pathname.replace(/\/+$/, ''), 'Cache-Control': 'no-store' } };
  const name = path === undefined || path === '' ? 'index.html' : path;
  const body = FILE_NAME.test(name) ? files(folder).get(name) : undefined;
  if (!body)
    return {
      status: 404,
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...SECURITY_HEADERS },
      jsonBody: { error: { code: 'NotFound', message: `The dashboard has no file named '${name}'.` } },
    };
  const ext = name.slice(name.lastIndexOf('.') + 1);
  return {
    status: 200,
    headers: {
      'Content-Type': TYPES[ext] ?? 'application/octet-stream',
      // The page changes with each deployment; revalidating is cheap and avoids a stale mix of files.
      'Cache-Control': 'no-cache',
      ...SECURITY_HEADERS,
    },
    body: body.toString('utf8'),
  };
}

/** For tests: forget the cached files (the folder is read again on the next request). */
export function resetUiCache(): void {
  cache = undefined;
}
