// `aci-batch tasks ID`: a job array's tasks (GET …/jobs/{id}/tasks) as a table by index, every page
// with --all, and the array's tally underneath (tasks not started yet are only counted by the API).
import Table from 'cli-table3';
import type { ApiClient, JobStatus } from './api-client';
import { formatCounts, pct } from './format';

export interface TasksPage {
  parent: string;
  state: string;
  count: number;
  parallelism: number;
  counts: Record<string, number> | null;
  notStarted: number;
  tasks: JobStatus[];
  continuationToken: string | null;
}

export interface TasksFlags {
  state?: string;
  limit: string;
  all?: boolean;
  continuationToken?: string;
}

export function tasksTable(tasks: JobStatus[]): string {
  const table = new Table({
    head: ['INDEX', 'ID', 'STATE', 'PHASE', 'PROG', 'ATTEMPTS', 'MESSAGE'],
    style: { head: [], border: [] },
    // The message column is as wide as the longest message, up to 60 (a row stays on one line).
    colWidths: [
      null,
      null,
      null,
      null,
      null,
      null,
      Math.min(60, Math.max(9, ...tasks.map((t) => (t.message ?? '').length + 2))),
    ],
    wordWrap: false,
  });
  for (const t of tasks)
    table.push([t.index ?? '', t.id, t.state, t.phase, pct(t.progress), String(t.attempts), t.message ?? '']);
  return table.toString();
}

/** Reads one page, or every page with --all (printed as one document with --json). */
export async function readTasks(
  client: ApiClient,
  path: string,
  flags: TasksFlags,
  onPage?: (page: TasksPage) => void,
): Promise<TasksPage> {
  let token = flags.continuationToken;
  let all: TasksPage | undefined;
  for (;;) {
    const page = await client.json<TasksPage>(path, {
      query: { state: flags.state, limit: flags.limit, continuationToken: token },
      feature: 'tasks',
    });
    onPage?.(page);
    all = all ? { ...page, tasks: [...all.tasks, ...page.tasks] } : page;
    token = page.continuationToken ?? undefined;
    if (!flags.all || !token) return all;
  }
}

export function formatTasks(page: TasksPage): string {
  const lines = [page.tasks.length ? tasksTable(page.tasks) : 'no started tasks match'];
  lines.push(
    `${page.count} tasks of ${page.parent} (${page.state}, parallelism ${page.parallelism}): ${formatCounts(page.counts)}` +
      (page.notStarted ? `; ${page.notStarted} not started yet` : ''),
  );
  if (page.continuationToken)
    lines.push(`more: aci-batch tasks ${page.parent} --continuation-token ${page.continuationToken}`);
  return lines.join('\n');
}
