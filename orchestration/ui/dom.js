// Small DOM helpers for the dashboard: elements are built with textContent only (no innerHTML), so
// nothing the API returns (job messages, logs, tenant names) can become markup.

/** h('td', {class: 'x', title: 't'}, 'text', child…) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes (numbers are fine). */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export const pct = (p) => `${Math.round((Number.isFinite(p) ? p : 0) * 100)}%`;

export function ago(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const sec = Math.max(0, Math.round((now - t) / 1000));
  if (sec < 90) return `${sec} s ago`;
  if (sec < 5400) return `${Math.round(sec / 60)} min ago`;
  return `${Math.round(sec / 3600)} h ago`;
}

/** A table from rows of cells; `head` are the column names. */
export function table(caption, head, rows) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', { class: 'sr-only' }, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            {},
            r.map((c) => h('td', {}, c)),
          ),
        ),
      ),
    ),
  );
}

/** A labelled gauge (<meter>, which screen readers announce) with "used of max" beside it. */
export function gauge(label, used, max, unit = '', { compact = false } = {}) {
  const id = `g-${label.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${Math.random().toString(36).slice(2, 7)}`;
  const ok = Number.isFinite(used) && Number.isFinite(max) && max > 0;
  return h(
    'div',
    { class: 'gauge' },
    // In a table the column heading says what it is: the label is for screen readers only.
    h('label', { for: id, class: compact ? 'sr-only' : undefined }, label),
    h('meter', {
      id,
      min: 0,
      max: ok ? max : 1,
      value: ok ? used : 0,
      low: ok ? max * 0.7 : 0.7,
      high: ok ? max * 0.9 : 0.9,
      optimum: 0,
    }),
    h('span', { class: 'muted' }, ok ? `${round(used)} of ${round(max)}${unit}` : 'unknown'),
  );
}

export const round = (v) => (Number.isFinite(v) ? Math.round(v * 100) / 100 : v);
