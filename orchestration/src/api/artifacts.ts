// GET …/jobs/{id}/artifacts and …/artifacts/{name}: a job's archived files (result.json, chart.svg,
// logs, the model's own artifacts) from Blob, with the tenant's key. Served as downloads from the
// API's origin, so an SVG cannot run script there (the dashboard keeps the key in that origin).
import { Readable } from 'node:stream';
import { artifactUrl } from '../contracts';
import { notFound } from '../errors';
import type { JobsBackend, ResultsStore } from '../ports';
import type { ApiRequest, ApiResponse } from './http';
import { json } from './http';
import { ARTIFACT_NAME } from './result-links';

export interface ArtifactItem {
  name: string;
  contentType: string;
  bytes: number;
  link: string;
}

/** What Blob recorded, unless it is the generic type: then the name decides (the chart is an SVG). */
export function contentTypeOf(name: string, stored: string): string {
  if (stored && stored !== 'application/octet-stream') return stored;
  if (name.endsWith('.svg')) return 'image/svg+xml';
  if (name.endsWith('.json')) return 'application/json';
  if (name.endsWith('.txt') || name.endsWith('.log')) return 'text/plain; charset=utf-8';
  if (name.endsWith('.csv')) return 'text/csv; charset=utf-8';
  if (name.endsWith('.png')) return 'image/png';
  return stored || 'application/octet-stream';
}

type Load = (req: ApiRequest, jobs: JobsBackend) => Promise<{ tenant: string; jobId: string }>;

export function createArtifactsApi(deps: { results: ResultsStore; load: Load }) {
  async function list(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse> {
    const { tenant, jobId } = await deps.load(req, jobs);
    const folder = `${tenant}/${jobId}/`;
    const items: ArtifactItem[] = (await deps.results.list(folder))
      .map((f) => ({ ...f, name: f.name.slice(folder.length) }))
      .filter((f) => ARTIFACT_NAME.test(f.name))
      .map((f) => ({
        name: f.name,
        contentType: contentTypeOf(f.name, f.contentType),
        bytes: f.bytes,
        link: artifactUrl(tenant, jobId, f.name),
      }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    return json(200, { artifacts: items });
  }

  async function get(req: ApiRequest, jobs: JobsBackend): Promise<ApiResponse> {
    const name = (req.params.name ?? '').replace(/^\/+|\/+$/g, '');
    // The catch-all also matches …/artifacts itself (an empty name): that is the listing.
    if (name === '') return list(req, jobs);
    const { tenant, jobId } = await deps.load(req, jobs);
    if (!ARTIFACT_NAME.test(name) || name.split('/').includes('..')) throw notFound('artifact');
    const file = await deps.results.open(`${tenant}/${jobId}/${name}`);
    if (!file) throw notFound('artifact');
    const type = contentTypeOf(name, file.contentType);
    const base = name.split('/').pop() ?? name;
    return {
      status: 200,
      headers: {
        'Content-Type': type,
        'Content-Length': String(file.bytes),
        'Cache-Control': 'private, no-store',
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        'Content-Disposition': `${type.startsWith('image/') || type.startsWith('text/') ? 'inline' : 'attachment'}; filename="${base}"`,
      },
      body: file.stream instanceof Readable ? file.stream : Readable.from(file.stream as AsyncIterable<Buffer>),
    };
  }

  return { list, get };
}
