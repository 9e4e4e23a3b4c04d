// A job array in the tenant view (issue 13): the parent's tasks per state in the detail, and its tasks
// (GET …/jobs/{id}/tasks) as a table by index, a page at a time, each opening as a job of its own. A
// task's detail links back to its parent. Tasks not started yet have no status: the API counts them.
import { api, ApiError, tenantPath } from './api.js';
import { fill, h, pct } from './dom.js';

const STATES = ['queued', 'provisioning', 'starting', 'running', 'succeeded', 'failed', 'canceled', 'timed_out'];
const PAGE = '100';
const $ = (id) => document.getElementById(id);

/** "2 running, 3 succeeded" (the states with tasks, in the API's order). */
export function countsText(counts) {
  const parts = STATES.filter((s) => (counts?.[s] ?? 0) > 0).map((s) => `${counts[s]} ${s}`);
  return parts.length ? parts.join(', ') : 'none';
}

/**
 * The tasks panel of the detail (#tasks-box): shown for a parent once the user opens it, refreshed
 * with the detail while it stays open; `select(id)` opens a task (or the parent) as the selected job.
 */
export function createTasksPanel({ select }) {
  let parent = null;
  let open = false;
  let pages = 1;

  const taskLink = (id, text) =>
    h('button', { type: 'button', class: 'link', onclick: () => select(id), 'aria-label': `Open job ${id}` }, text);

  /** Detail rows for a job of an array: a parent's tally and the button, or a task's parent. */
  function detailRows(st) {
    const rows = [];
    if (st.array) {
      const a = st.array;
      rows.push([
        'Tasks',
        h(
          'span',
          { 'data-testid': 'array-counts' },
          `${a.count} (parallelism ${a.parallelism}): ${countsText(a.counts)} `,
          h(
            'button',
            { type: 'button', class: 'link', onclick: () => show(st.id), 'aria-controls': 'tasks-box' },
            open && parent === st.id ? 'Refresh tasks' : 'Show tasks',
          ),
        ),
      ]);
      if (a.selected)
        rows.push([
          'Best task',
          taskLink(a.selected.id, `${a.selected.index} (logLikelihood ${a.selected.logLikelihood})`),
        ]);
    }
    if (st.parent) rows.push(['Array', h('span', {}, `task ${st.index} of `, taskLink(st.parent, st.parent))]);
    return rows;
  }

  /** Called when another job is selected: the panel belongs to one parent. */
  function selected(id) {
    if (id === parent) return;
    parent = null;
    open = false;
    pages = 1;
    $('tasks-box').hidden = true;
    fill($('job-tasks'));
  }

  async function show(id) {
    parent = id;
    open = true;
    $('tasks-box').hidden = false;
    await refresh();
    $('tasks-title').focus();
  }

  /** Reloads the pages shown so far (called with the detail's refresh while the panel is open). */
  async function refresh() {
    if (!open || !parent) return;
    const id = parent;
    const tasks = [];
    let last;
    try {
      let token;
      for (let i = 0; i < pages; i++) {
        last = await api(tenantPath(`/jobs/${id}/tasks`), { query: { limit: PAGE, continuationToken: token } });
        tasks.push(...last.tasks);
        token = last.continuationToken;
        if (!token) break;
      }
    } catch (e) {
      if (id === parent)
        fill($('job-tasks'), h('p', { class: 'error' }, `Tasks: ${e instanceof ApiError ? e.text : e.message}`));
      return;
    }
    if (id !== parent) return;
    fill(
      $('job-tasks'),
      h(
        'p',
        { class: 'muted', 'data-testid': 'tasks-summary' },
        `${last.count} tasks: ${countsText(last.counts)}${last.notStarted ? `; ${last.notStarted} not started yet` : ''}.`,
      ),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'tasks-table' },
          h('caption', { class: 'sr-only' }, `Tasks of ${id} that have started, by index`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['#', 'Task', 'State', 'Progress', 'Message'].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            {},
            tasks.map((t) =>
              h(
                'tr',
                { 'data-id': t.id },
                h('td', {}, String(t.index)),
                h('td', {}, taskLink(t.id, t.id)),
                h('td', {}, h('span', { class: `state state-${t.state}` }, t.state)),
                h('td', {}, pct(t.progress)),
                h('td', { class: 'msg', title: t.message ?? '' }, t.message ?? ''),
              ),
            ),
          ),
        ),
      ),
      last.continuationToken
        ? h(
            'button',
            {
              type: 'button',
              onclick: () => {
                pages += 1;
                refresh();
              },
            },
            `More tasks (${tasks.length} shown)`,
          )
        : null,
    );
  }

  return { detailRows, selected, refresh };
}
