// The links in a status's result.urls, as the tenant can open them. The orchestrator records Blob
// URLs, which only the controller's identity may read (every one answered 403 to a tenant); the API
// turns each into a link to its own artifacts route (RESULT_LINKS=api, the default: opened with the
// tenant's key), or into a short-lived read-only user-delegation SAS link (RESULT_LINKS=sas).
import { artifactUrl, withResultLinks, type JobStatus } from '../contracts';
import type { ResultsStore } from '../ports';

export { ARTIFACT_NAME, artifactNameOf } from '../contracts';

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

/** The status with result.urls the tenant can open (links that are not one of the job's files are dropped). */
export async function presentStatus(
  status: JobStatus,
  mode: ResultLinkMode,
  results: ResultsStore,
  now: Date,
): Promise<JobStatus> {
  const expiresOn = new Date(now.getTime() + SAS_LINK_MINUTES * 60_000);
  return withResultLinks(status, (name) =>
    mode === 'sas'
      ? results.readLink(`${status.tenant}/${status.id}/${name}`, expiresOn)
      : artifactUrl(status.tenant, status.id, name),
  );
}
