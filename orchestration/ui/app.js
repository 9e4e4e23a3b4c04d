// The dashboard's entry: the key form (session storage only), the two tabs (keyboard: arrows, Home,
// End), and one refresh loop for the visible view that pauses while the tab is hidden.
import { session } from './api.js';
import { createOperatorView } from './operator-view.js';
import { createTenantView } from './tenant-view.js';

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 2000;

function announce(text) {
  $('announce').textContent = text;
}

const tenantView = createTenantView({ announce });
const operatorView = createOperatorView();
let active = 'tenant';

$('key-input').value = session.key ? '••••••••' : '';
$('tenant-input').value = session.tenant;

$('key-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const key = $('key-input').value.trim();
  const tenant = $('tenant-input').value.trim();
  if (key && key !== '••••••••') session.save(key, tenant);
  else if (session.key) session.save(session.key, tenant);
  $('key-input').value = session.key ? '••••••••' : '';
  announce(session.key ? `Key saved for this tab${tenant ? `; tenant ${tenant}` : ''}.` : 'Enter a key.');
  refresh();
});

$('forget-key').addEventListener('click', () => {
  session.forget();
  $('key-input').value = '';
  $('tenant-input').value = '';
  announce('Key forgotten.');
  refresh();
});

const tabs = [$('tab-tenant'), $('tab-operator')];
function show(name, focus = false) {
  active = name;
  for (const tab of tabs) {
    const on = tab.id === `tab-${name}`;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute('aria-controls')).hidden = !on;
    if (on && focus) tab.focus();
  }
  refresh();
}
for (const [i, tab] of tabs.entries()) {
  tab.addEventListener('click', () => show(tab.id.slice(4)));
  tab.addEventListener('keydown', (ev) => {
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    show(tabs[(to + tabs.length) % tabs.length].id.slice(4), true);
  });
}

let running = false;
async function refresh() {
  if (running || document.hidden) return;
  running = true;
  try {
    if (active === 'tenant') await tenantView.refresh();
    else if (session.key) await operatorView.refresh();
  } finally {
    running = false;
  }
}

setInterval(refresh, REFRESH_MS);
document.addEventListener('visibilitychange', refresh);
if (!session.key) $('key-input').focus();
refresh();
