// The links in a status's result.urls, as the tenant can open them. The orchestrator records Blob
// URLs, which only the controller's identity may read (every one answered 403 to a tenant); the API
// turns each into a link to its own artifacts route (RESULT_LINKS=api, the default: opened with the
// tenant's key), or into a short-lived read-only user-delegation SAS link (RESULT_LINKS=sas).
import { artifactUrl, type JobStatus } from '../contracts';
import type { ResultsStore } from '../ports';

export type ResultLinkMode = 'api' | 'sas';
export const RESULT_LINK_MODES: readonly ResultLinkMode[] = ['api', 'sas'];
/** How long a SAS link works: long enough to follow it after reading the status, short enough not to be shared. */
export const SAS_LINK_MINUTES = 15;

/** Parses the RESULT_LINKS setting; a bad value fails the start naming the setting and the choices. */
export function parseResultLinks(value: string): ResultLinkMode {
  if ((RESULT_LINK_MODES as readonly string[]).includes(value)) return value as ResultLinkMode;
  throw new Error(
    `RESULT_LINKS: "${value}" is not one of ${RESULT_LINK_MODES.join(', ')}; set it to api (default) or sas`,
  );
}

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

/** The status with result.urls the tenant can open (links that are not one of the job's files are dropped). */
export async function presentStatus(
  status: JobStatus,
  mode: ResultLinkMode,
  results: ResultsStore,
  now: Date,
): Promise<JobStatus> {
  if (!status.result) return status;
  const urls: Record<string, string> = {};
  for (const [key, url] of Object.entries(status.result.urls)) {
    const name = artifactNameOf(url, status.tenant, status.id);
    if (!name) continue;
    urls[key] =
      mode === 'sas'
        ? await results.readLink(
            `${status.tenant}/${status.id}/${name}`,
            new Date(now.getTime() + SAS_LINK_MINUTES * 60_000),
          )
        : artifactUrl(status.tenant, status.id, name);
  }
  return { ...status, result: { ...status.result, urls } };
}
