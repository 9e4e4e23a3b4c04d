// Which of a job's archived files a status may link to, and how a Blob URL the orchestrator
// recorded becomes a link a tenant can open. Pure, so both the API (api/result-links.ts) and the
// webhook (activities/notify.ts) give the same links.
import type { JobStatus } from './job';

/** The names the artifacts routes serve, relative to the job's folder (never input.json or markers). */
export const ARTIFACT_NAME =
  /^(?:result\.json|chart\.svg|logs\.txt|logs\.attempt-\d{1,3}\.txt|artifacts\/[A-Za-z0-9._-]{1,100})$/;

/** `{tenant}/{jobId}/<name>` of a Blob URL the orchestrator recorded → `<name>` (undefined if not one of the job's). */
export function artifactNameOf(blobUrl: string, tenant: string, jobId: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(new URL(blobUrl).pathname);
  } catch {
    return undefined;
  }
  const marker = `/${tenant}/${jobId}/`;
  const at = path.indexOf(marker);
  if (at < 0) return undefined;
  const name = path.slice(at + marker.length);
  return ARTIFACT_NAME.test(name) && !name.split('/').includes('..') ? name : undefined;
}

/** The status with each result URL replaced by `link(name)`; URLs that are not one of the job's files are dropped. */
export async function withResultLinks(
  status: JobStatus,
  link: (name: string) => string | Promise<string>,
): Promise<JobStatus> {
  if (!status.result) return status;
  const urls: Record<string, string> = {};
  for (const [key, url] of Object.entries(status.result.urls)) {
    const name = artifactNameOf(url, status.tenant, status.id);
    if (name) urls[key] = await link(name);
  }
  return { ...status, result: { ...status.result, urls } };
}
