// Activities that copy a job's files to Blob before its group goes: logs (per attempt) and the
// agent's result with its artifacts — each alone, or both in one call (teardown: one activity, four
// Durable history events, instead of two).
import {
  ARCHIVE_DEADLINE_PASSED,
  blobNames,
  decodeJobError,
  type ActivityHandlers,
  type ArchiveAnswer,
  type ArchiveJobAnswer,
  type ArchiveRequest,
} from '../contracts';
import { callbackToken } from '../security/callback-token';
import type { ActivityDeps } from './deps';
import { retryable } from './outcomes';

type ArchiveActivities = Pick<ActivityHandlers, 'ArchiveLogs' | 'ArchiveResult' | 'ArchiveJob'>;

export function archiveActivities(deps: ActivityDeps): ArchiveActivities {
  const token = (jobId: string) => callbackToken(deps.signingKey, jobId);
  /** Pull mode: the agent PUT its result and artifacts into the same blobs; collect their links. */
  const uploadedLinks = async (req: { tenant: string; jobId: string }): Promise<ArchiveAnswer> => {
    const names = blobNames(req.tenant, req.jobId);
    const prefix = `${req.tenant}/${req.jobId}/`;
    const urls: Record<string, string> = {};
    for (const f of await deps.results.list(prefix)) {
      const key = f.name.slice(prefix.length);
      if (f.name === names.result || f.name === names.chart || key.startsWith('artifacts/')) {
        urls[key === 'result.json' ? 'result' : key] = deps.results.url(f.name);
      }
    }
    return { urls, notes: urls.result ? [] : ['the agent uploaded no result'] };
  };
  const archiveLogs = async (req: ArchiveRequest): Promise<ArchiveAnswer> => {
    const names = blobNames(req.tenant, req.jobId);
    const logs = await deps.groups.logs(req.groupName);
    if (logs === undefined) return { urls: {}, notes: ['the group no longer exists; no logs to copy'] };
    const key = req.attempt ? `logs.attempt-${req.attempt}` : 'logs';
    const blob = req.attempt ? names.attemptLogs(req.attempt) : names.logs;
    return { urls: { [key]: await deps.results.put(blob, logs, 'text/plain; charset=utf-8') }, notes: [] };
  };
  const archiveResult = async (req: ArchiveRequest): Promise<ArchiveAnswer> => {
    const names = blobNames(req.tenant, req.jobId);
    if (req.pull) return uploadedLinks(req);
    if (!req.ip) return { urls: {}, notes: ['no agent address; no result to copy'] };
    const result = await deps.agent.result(req.ip, token(req.jobId));
    if (!result) return { urls: {}, notes: ['the agent had no result'] };
    const urls: Record<string, string> = {
      result: await deps.results.put(names.result, JSON.stringify(result), 'application/json'),
    };
    const notes: string[] = [];
    for (const a of result.artifacts.slice(0, 20)) {
      if (!/^[A-Za-z0-9._-]{1,100}$/.test(a.name)) {
        notes.push(`artifact ${JSON.stringify(a.name).slice(0, 40)} skipped: unsafe name`);
        continue;
      }
      if (a.bytes > (deps.maxArtifactBytes ?? 50 * 1024 * 1024)) {
        notes.push(`artifact ${a.name} skipped: ${a.bytes} bytes`);
        continue;
      }
      const body = await deps.agent.artifact(req.ip, token(req.jobId), a.name);
      if (!body) {
        notes.push(`artifact ${a.name} could not be read`);
        continue;
      }
      const chart = a.name === 'chart.svg';
      urls[chart ? 'chart.svg' : `artifacts/${a.name}`] = await deps.results.put(
        chart ? names.chart : names.artifact(a.name),
        body,
        a.contentType || 'application/octet-stream',
      );
    }
    return { urls, notes };
  };
  return {
    ArchiveLogs: (req) => retryable('archive logs', () => archiveLogs(req)),
    ArchiveResult: (req) => retryable('archive result', () => archiveResult(req)),
    // Result, then logs. Each part's failure is reported, not thrown: the other part's links are
    // kept, and teardown retries only the failed part (its own activity, with the durable retries).
    ArchiveJob: async (req) => {
      const answer: ArchiveJobAnswer = { urls: {}, notes: [], failed: {} };
      const parts = [...(req.result ? (['result'] as const) : []), 'logs' as const];
      for (const part of parts) {
        if (Date.now() >= Date.parse(req.deadline)) {
          answer.failed[part] = ARCHIVE_DEADLINE_PASSED;
          continue;
        }
        try {
          const a = await retryable(`archive ${part}`, () =>
            part === 'result' ? archiveResult(req) : archiveLogs(req),
          );
          Object.assign(answer.urls, a.urls);
          answer.notes.push(...a.notes);
        } catch (e) {
          answer.failed[part] = decodeJobError(e).message;
        }
      }
      return answer;
    },
  };
}
