// Human output of the CLI: a job's status as aligned fields, job lists and artifacts as tables
// (cli-table3), the tenant summary. --json output bypasses all of this and prints the API's JSON.
import Table from 'cli-table3';
import type { JobStatus } from './api-client';

export const pct = (p: number): string => `${Math.round((Number.isFinite(p) ? p : 0) * 100)}%`;

/** The states in the API's order; a tally lists those with tasks. */
const STATES = ['queued', 'provisioning', 'starting', 'running', 'succeeded', 'failed', 'canceled', 'timed_out'];

/** An array's tasks per state, e.g. "2 running, 3 succeeded". */
export function formatCounts(counts: Record<string, number> | null | undefined): string {
  const parts = STATES.filter((s) => (counts?.[s] ?? 0) > 0).map((s) => `${counts![s]} ${s}`);
  return parts.length ? parts.join(', ') : 'none';
}

function duration(from: string | null, to: string | null, now: Date): string {
  if (!from) return '';
  const ms = (to ? Date.parse(to) : now.getTime()) - Date.parse(from);
  if (!Number.isFinite(ms) || ms < 0) return '';
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function formatStatus(s: JobStatus, now = new Date()): string {
  const rows: [string, string][] = [
    ['Job', s.id],
    ['Tenant', s.tenant],
    ['State', s.state],
    ['Phase', s.phase],
    ['Progress', `${pct(s.progress)}${s.message ? `  ${s.message}` : ''}`],
    ['Image', s.image.digest ? `${s.image.ref} (${s.image.digest})` : s.image.ref],
    ['Resources', `${s.resources.cpu} vCPU, ${s.resources.memoryGb} GB`],
    ['Attempts', s.maxAttempts ? `${s.attempts} of ${s.maxAttempts}` : String(s.attempts)],
    [
      'Container',
      `${s.container.name} (${s.container.state}${s.container.exitCode !== null ? `, exit ${s.container.exitCode}` : ''})`,
    ],
    ['Created', s.createdAt],
  ];
  if (s.parent !== undefined) rows.push(['Task', `${s.index ?? '?'} of array ${s.parent}`]);
  if (s.array) {
    rows.push(['Tasks', `${s.array.count} (parallelism ${s.array.parallelism}): ${formatCounts(s.array.counts)}`]);
    const best = s.array.selected;
    if (best) rows.push(['Selected', `task ${best.index} (${best.id}), logLikelihood ${best.logLikelihood}`]);
    rows.push(['', `each task: aci-batch tasks ${s.id}`]);
  }
  if (s.startedAt) rows.push(['Started', s.startedAt]);
  if (s.finishedAt) rows.push(['Finished', s.finishedAt]);
  const ran = duration(s.startedAt, s.finishedAt, now);
  if (ran) rows.push(['Ran for', ran]);
  rows.push([
    'Usage',
    `${s.usage.vcpuSeconds} vCPU-s, ${s.usage.gbSeconds} GB-s, cost ${s.usage.estimatedCost} ${s.usage.currency ?? ''}`.trim(),
  ]);
  if (s.error) rows.push(['Error', `${s.error.code}: ${s.error.message}`]);
  for (const d of s.error?.details ?? []) rows.push(['', `${d.field}: ${d.message}`]);
  for (const [name, url] of Object.entries(s.result?.urls ?? {})) rows.push([`Result ${name}`, url]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

export function jobsTable(jobs: JobStatus[], columns: number): string {
  // The message column takes what the terminal has left, so a row stays on one line.
  const fixed = 24 + 12 + 13 + 6 + 22 + 16;
  const longest = Math.max(7, ...jobs.map((j) => (j.message ?? '').length)) + 2;
  const messageWidth = Math.min(longest, Math.max(16, Math.min(60, columns - fixed)));
  const table = new Table({
    head: ['ID', 'STATE', 'PHASE', 'PROG', 'CREATED', 'MESSAGE'],
    style: { head: [], border: [] },
    colWidths: [null, null, null, null, null, messageWidth],
    wordWrap: false,
  });
  for (const j of jobs)
    table.push([j.id, j.state, j.phase, pct(j.progress), j.createdAt.replace(/\.\d+Z$/, 'Z'), j.message ?? '']);
  return table.toString();
}

export interface Artifact {
  name: string;
  /** Size in bytes (the API's `bytes`; `size` accepted too). */
  bytes?: number;
  size?: number;
  contentType?: string;
  /** The API link to the file (`link`; `url` accepted too). */
  link?: string;
  url?: string;
}

export function artifactsTable(items: Artifact[]): string {
  const table = new Table({ head: ['NAME', 'SIZE', 'TYPE', 'LINK'], style: { head: [], border: [] } });
  for (const a of items) table.push([a.name, a.bytes ?? a.size ?? '', a.contentType ?? '', a.link ?? a.url ?? '']);
  return table.toString();
}

export function formatTenant(t: Record<string, unknown>): string {
  const limits = (t.limits ?? {}) as Record<string, unknown>;
  const usage = (t.usage ?? {}) as Record<string, unknown>;
  const table = new Table({ style: { head: [], border: [] } });
  const row = (k: string, v: unknown) => table.push({ [k]: v === undefined ? '' : String(v) });
  row('Tenant', `${String(t.id)}${t.displayName ? ` (${String(t.displayName)})` : ''}`);
  row('Location', t.location);
  row('Running', `${String(t.running ?? 0)} of ${String(limits.maxConcurrentJobs ?? '?')} jobs`);
  row('Queued', `${String(t.queued ?? 0)} of ${String(limits.maxQueuedJobs ?? '?')}`);
  row(
    'Limits',
    `${String(limits.maxCpu)} vCPU, ${String(limits.maxMemoryGb)} GB, ${String(limits.maxRuntimeMinutes)} min`,
  );
  row('Jobs', `${String(usage.jobs ?? 0)} ${JSON.stringify(usage.byState ?? {})}`);
  row(
    'Usage',
    `${String(usage.vcpuSeconds ?? 0)} vCPU-s, ${String(usage.gbSeconds ?? 0)} GB-s, cost ${String(usage.estimatedCost ?? 0)} ${String(usage.currency ?? '')}`,
  );
  return table.toString();
}
