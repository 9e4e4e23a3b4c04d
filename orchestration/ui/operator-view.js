// The operator view: every tenant (limits, running, queued, cost) with quota gauges, the container
// groups the controller owns (orphans flagged), global capacity against the caps, and the queue
// depth over this session. Reads /api/admin/*; each panel says "not available" where a route is
// missing and "not an operator key" on 403. Shapes are read leniently: the page shows what it finds.
import { api, ApiError } from './api.js';
import { sparkline } from './charts.js';
import { ago, fill, gauge, h, round, table } from './dom.js';

const $ = (id) => document.getElementById(id);
const listOf = (doc, ...names) => (Array.isArray(doc) ? doc : (names.map((n) => doc?.[n]).find(Array.isArray) ?? []));
const num = (...vals) => vals.map(Number).find((v) => Number.isFinite(v));
/** Local jobs cost fractions of a cent: small amounts keep two significant digits. */
const money = (v) => (v === 0 ? '0' : Math.abs(v) < 0.01 ? v.toPrecision(2) : v.toFixed(2));

function problem(el, e, what) {
  const text = e instanceof ApiError ? e.text : e.message;
  fill(
    el,
    h(
      'p',
      { class: e instanceof ApiError && e.unavailable ? 'muted' : 'error', 'data-testid': 'unavailable' },
      `${what}: ${text}`,
    ),
  );
}

export function createOperatorView() {
  const queueSamples = [];

  async function tenants() {
    const doc = await api('admin/tenants');
    const list = listOf(doc, 'tenants', 'items', 'value');
    const body = $('tenants-body');
    fill(
      body,
      table(
        'Tenants with their limits, running and queued jobs and cost',
        ['Tenant', 'Jobs running', 'Queued', 'Cores in use', 'Cost'],
        list.map((t) => {
          const limits = t.limits ?? {};
          const running = num(t.running, t.runningJobs, 0);
          const cores = num(t.runningCores, t.cores, 0);
          const cost = t.cost ?? t.usage ?? {};
          return [
            h('span', { 'data-testid': 'tenant-id' }, t.displayName ? `${t.id} (${t.displayName})` : t.id),
            gauge(`${t.id} jobs running`, running, num(limits.maxConcurrentJobs), '', { compact: true }),
            // maxCpu is a per-job limit, not a tenant quota: cores in use are a plain number.
            gauge(`${t.id} jobs queued`, num(t.queued, t.queuedJobs, 0), num(limits.maxQueuedJobs), '', {
              compact: true,
            }),
            String(round(cores)),
            `${money(num(cost.estimatedCost, cost.total, cost.amount, 0))} ${cost.currency ?? t.costRates?.currency ?? ''}` +
              (Number.isFinite(cost.jobs) ? ` (${cost.jobs} jobs)` : ''),
          ];
        }),
      ),
    );
    return list.reduce((sum, t) => sum + num(t.queued, t.queuedJobs, 0), 0);
  }

  async function groups() {
    const doc = await api('admin/groups');
    const list = listOf(doc, 'groups', 'items', 'value');
    const orphans = list.filter((g) => g.orphan || g.orphaned).length;
    fill(
      $('groups-body'),
      h('p', {}, `${list.length} alive${orphans ? `, ${orphans} orphaned` : ''}.`),
      table(
        'Container groups the controller owns',
        ['Group', 'Tenant', 'Job', 'Age', 'State'],
        list.map((g) => [
          g.name ?? '',
          g.tenant ?? '',
          g.jobId ?? g.job ?? '',
          g.createdAt ? ago(g.createdAt) : Number.isFinite(g.ageSeconds) ? `${Math.round(g.ageSeconds)} s` : '',
          h(
            'span',
            { class: g.orphan || g.orphaned ? 'error' : '' },
            `${g.state ?? ''}${g.orphan || g.orphaned ? ' (orphan)' : ''}`,
          ),
        ]),
      ),
    );
  }

  async function capacity() {
    const doc = await api('admin/capacity');
    const items = [];
    for (const [k, v] of Object.entries(doc ?? {})) {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const used = num(v.used, v.current, v.value, v.inUse, v.count);
        const max = num(v.max, v.cap, v.limit);
        if (used !== undefined && max !== undefined) items.push(gauge(k, used, max));
        else items.push(h('p', {}, `${k}: ${JSON.stringify(v)}`));
      } else if (!Array.isArray(v)) items.push(h('p', {}, `${k}: ${v}`));
    }
    fill($('capacity-body'), items.length ? items : h('p', { class: 'muted' }, 'No capacity figures.'));
    return num(doc?.queued, doc?.queueDepth);
  }

  async function refresh() {
    let queued;
    await Promise.all([
      tenants().then(
        (q) => (queued ??= q),
        (e) => problem($('tenants-body'), e, 'Tenants'),
      ),
      groups().catch((e) => problem($('groups-body'), e, 'Groups')),
      capacity().then(
        (q) => (queued = q ?? queued),
        (e) => problem($('capacity-body'), e, 'Capacity'),
      ),
    ]);
    if (queued !== undefined) {
      queueSamples.push({ t: Date.now(), v: queued });
      if (queueSamples.length > 720) queueSamples.shift();
      fill($('queue-chart'), sparkline(queueSamples, `Jobs queued across tenants over this session; now ${queued}`));
    } else fill($('queue-chart'), h('p', { class: 'muted' }, 'Queue depth: not available.'));
  }

  return { refresh };
}
