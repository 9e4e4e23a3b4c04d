// The tenant view: submit a job, the tenant's jobs with live state and progress, and one job's
// detail (status, logs while it runs, result, the model's chart). Polls only while the tab is shown.
import { api, ApiError, session, tenantPath } from './api.js';
import { probabilityChart } from './charts.js';
import { ago, fill, h, pct } from './dom.js';
import { createTasksPanel } from './tasks-view.js';

const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out'];
const $ = (id) => document.getElementById(id);

/** The README's sample series (60 observations, two regimes). */
const SAMPLE = {
  y: [
    -0.45, -0.26, 0.11, 0.18, -0.53, 1.37, 1.98, -0.29, 0.13, 0.58, 0.15, -0.01, 2.52, 1.75, 2.64, 0.95, 1.76, 1.63,
    1.5, 2.87, 1.35, 2.66, 2.78, 1.55, 1.01, 1.76, 1.19, 0.08, -0.26, -0.13, -0.39, 1.88, 2.52, 1, 2.85, 3.26, 1.47,
    2.48, 0.97, 1.58, 1.58, 1.29, 1.61, 2.2, 1.46, -0.32, -0.48, -0.44, 0.11, 0.19, -0.17, 0.35, -0.37, 0.3, 0.05, 0.15,
    -0.19, 1.72, 2.01, 1.87,
  ],
  k: 2,
  switchingVariance: true,
  trend: 'c',
};

export function createTenantView({ announce }) {
  let selected = null;
  let detailState = null;
  let chartUrl = null;
  let chartFor = null;
  let resultFor = null;
  const tasks = createTasksPanel({ select: (id) => select(id) });

  $('load-sample').addEventListener('click', () => {
    $('job-input').value = JSON.stringify(SAMPLE);
    $('job-input').focus();
  });

  $('submit-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = $('submit-error');
    fill(err);
    const body = {};
    const image = $('job-image').value.trim();
    if (image) body.image = image;
    for (const [id, field] of [
      ['job-cpu', 'cpu'],
      ['job-memory', 'memoryGb'],
    ]) {
      const v = $(id).value.trim();
      if (v) body[field] = Number(v);
    }
    const input = $('job-input').value.trim();
    if (input) {
      try {
        body.input = JSON.parse(input);
      } catch (e) {
        fill(err, `Input: not JSON (${e.message}).`);
        $('job-input').focus();
        return;
      }
    }
    $('submit-job').disabled = true;
    try {
      const r = await api(tenantPath('/jobs'), { method: 'POST', body });
      announce(`Submitted ${r.id}.`);
      await refresh();
      select(r.id);
    } catch (e) {
      const lines =
        e instanceof ApiError ? [e.text, ...(e.details ?? []).map((d) => `${d.field}: ${d.message}`)] : [e.message];
      fill(err, lines.join(' — '));
    } finally {
      $('submit-job').disabled = false;
    }
  });

  $('cancel-job').addEventListener('click', async () => {
    if (!selected) return;
    try {
      await api(tenantPath(`/jobs/${selected}/cancel`), { method: 'POST' });
      announce(`Cancel requested for ${selected}.`);
    } catch (e) {
      announce(`Cancel failed: ${e instanceof ApiError ? e.text : e.message}`);
    }
    await refreshDetail();
  });

  function select(id) {
    tasks.selected(id);
    selected = id;
    detailState = null;
    fill($('job-logs'));
    fill($('job-result'));
    resultFor = null;
    $('detail-empty').hidden = true;
    $('detail-body').hidden = false;
    refreshDetail().then(() => $('detail-title').focus());
    for (const row of document.querySelectorAll('#jobs-table tbody tr'))
      row.classList.toggle('selected', row.dataset.id === id);
  }

  async function refreshList() {
    if (!session.key || !session.tenant) {
      fill($('jobs-note'), 'Enter a key and a tenant above.');
      fill(document.querySelector('#jobs-table tbody'));
      return;
    }
    try {
      const page = await api(tenantPath('/jobs'), { query: { limit: '50' } });
      const tbody = document.querySelector('#jobs-table tbody');
      fill(
        tbody,
        page.jobs.map((j) =>
          h(
            'tr',
            { 'data-id': j.id, class: j.id === selected ? 'selected' : '' },
            h(
              'td',
              {},
              h(
                'button',
                { type: 'button', class: 'link', onclick: () => select(j.id), 'aria-label': `Open job ${j.id}` },
                j.id,
              ),
              j.array ? h('span', { class: 'muted' }, ` array of ${j.array.count}`) : null,
            ),
            h('td', {}, h('span', { class: `state state-${j.state}` }, j.state)),
            h(
              'td',
              {},
              h('progress', { max: 1, value: j.progress, 'aria-label': `${j.id} progress` }),
              ' ',
              pct(j.progress),
            ),
            h('td', { title: j.createdAt }, ago(j.createdAt)),
            h('td', { class: 'msg' }, j.message ?? ''),
          ),
        ),
      );
      fill(
        $('jobs-note'),
        page.jobs.length ? `${page.jobs.length} shown, refreshed ${new Date().toLocaleTimeString()}` : 'No jobs yet.',
      );
    } catch (e) {
      fill($('jobs-note'), h('span', { class: 'error' }, `Jobs: ${e instanceof ApiError ? e.text : e.message}`));
    }
    try {
      const t = await api(tenantPath());
      fill(
        $('tenant-summary'),
        `— ${t.displayName ?? t.id}: ${t.running} running of ${t.limits?.maxConcurrentJobs}, ${t.queued} queued, cost ${t.usage?.estimatedCost} ${t.usage?.currency ?? ''}`,
      );
    } catch {
      fill($('tenant-summary'));
    }
  }

  async function refreshDetail() {
    if (!selected) return;
    const id = selected;
    let st;
    try {
      st = await api(tenantPath(`/jobs/${id}`));
    } catch (e) {
      fill($('detail-fields'), h('dt', {}, 'Error'), h('dd', {}, e instanceof ApiError ? e.text : e.message));
      return;
    }
    if (id !== selected) return;
    detailState = st.state;
    const done = TERMINAL.includes(st.state);
    const rows = [
      ['Job', st.id],
      ['State', h('span', { class: `state state-${st.state}`, 'data-testid': 'detail-state' }, st.state)],
      ['Phase', st.phase],
      [
        'Progress',
        h(
          'span',
          {},
          h('progress', { max: 1, value: st.progress, 'aria-label': 'Job progress' }),
          ` ${pct(st.progress)} ${st.message ?? ''}`,
        ),
      ],
      ...tasks.detailRows(st),
      ['Image', st.image?.digest ? `${st.image.ref} (${st.image.digest.slice(0, 19)}…)` : st.image?.ref],
      ['Resources', `${st.resources?.cpu} vCPU, ${st.resources?.memoryGb} GB`],
      ['Attempts', `${st.attempts}${st.maxAttempts ? ` of ${st.maxAttempts}` : ''}`],
      [
        'Container',
        `${st.container?.state}${st.container?.exitCode != null ? ` (exit ${st.container.exitCode})` : ''}`,
      ],
      ['Created', st.createdAt],
      ['Finished', st.finishedAt ?? '—'],
      ['Cost', `${st.usage?.estimatedCost} ${st.usage?.currency ?? ''} (${st.usage?.vcpuSeconds} vCPU-s)`],
    ];
    if (st.error) rows.push(['Error', `${st.error.code}: ${st.error.message}`]);
    fill(
      $('detail-fields'),
      rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    );
    $('cancel-job').disabled = done;
    await tasks.refresh();
    // Logs: while it runs (live copy) and once at the end (archived copy). An array's parent has no
    // container of its own: its tasks have the logs.
    if (st.array) $('job-logs').textContent = '(a job array has no container of its own: open a task for its log)';
    else
      try {
        const text = await api(tenantPath(`/jobs/${id}/logs`), { as: 'text' });
        const pre = $('job-logs');
        const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        if (pre.textContent !== text) {
          pre.textContent = text;
          if (atEnd) pre.scrollTop = pre.scrollHeight;
        }
      } catch (e) {
        $('job-logs').textContent =
          e instanceof ApiError && e.code === 'NotFinished'
            ? '(no log yet: the container is not running)'
            : `(logs: ${e instanceof ApiError ? e.text : e.message})`;
      }
    if (done && resultFor !== id) {
      resultFor = id;
      let result;
      try {
        result = await api(tenantPath(`/jobs/${id}/result`));
        $('job-result').textContent = JSON.stringify(result, null, 2);
      } catch (e) {
        $('job-result').textContent = e instanceof ApiError ? e.text : e.message;
      }
      await showChart(id, result);
    } else if (!done) {
      fill($('chart-box'), h('figcaption', { class: 'muted' }, 'The chart appears when the job has succeeded.'));
    }
  }

  /** The model's own chart.svg through the artifacts route (as an image from a blob: URL, so its
   * markup never runs in the page); without that route, the page draws the probabilities itself. */
  async function showChart(id, result) {
    if (chartFor === id) return;
    chartFor = id;
    if (chartUrl) URL.revokeObjectURL(chartUrl);
    chartUrl = null;
    const box = $('chart-box');
    try {
      const blob = await api(tenantPath(`/jobs/${id}/artifacts/chart.svg`), { as: 'blob' });
      chartUrl = URL.createObjectURL(new Blob([blob], { type: 'image/svg+xml' }));
      fill(
        box,
        h('img', {
          src: chartUrl,
          alt: `The model's chart for ${id}: the series and the smoothed regime probabilities`,
          'data-testid': 'chart',
        }),
        h(
          'figcaption',
          {},
          "The model's chart (chart.svg). ",
          h('a', { href: chartUrl, download: `${id}-chart.svg` }, 'Download'),
        ),
      );
      return;
    } catch (e) {
      const drawn = probabilityChart(result);
      const why = e instanceof ApiError ? e.text : e.message;
      if (drawn) {
        drawn.setAttribute('data-testid', 'chart');
        fill(
          box,
          drawn,
          h(
            'figcaption',
            { class: 'muted' },
            `Smoothed regime probabilities, drawn from the result (chart.svg: ${why}).`,
          ),
        );
      } else fill(box, h('figcaption', { class: 'muted' }, `No chart for this job (${why}).`));
    }
  }

  async function refresh() {
    await refreshList();
    if (selected && (detailState === null || !TERMINAL.includes(detailState))) await refreshDetail();
  }

  return { refresh, select };
}
