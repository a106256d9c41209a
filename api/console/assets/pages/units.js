// The unit tree (county → township → village) with this month's compliance, open alerts and
// pending spot-check challenges at a glance. A village opens its map, a person their page.
import { t, tEnum, getLang } from '../i18n.js';
import { api, ApiError, claims } from '../api.js';
import { h, replace, errorBox, loading, badge, simpleTable, announce, errorMessage } from '../ui.js';
import { getUnit, getChildren, knownUnit, knownUnits, rememberUnits, unitName } from '../cache.js';
import { countyMonth, countyToday, isMonth, addDays, ratio, fmtDateTime } from '../format.js';

// The top units of the caller's scope (GET /v1/units), or the scope unit from the token while
// the server does not have that route yet.
export async function topUnits() {
  try {
    const res = await api('/v1/units');
    rememberUnits(res.items);
    return res.items;
  } catch (err) {
    if (!(err instanceof ApiError && (err.status === 404 || err.status === 405))) throw err;
    const scope = claims() && claims().scope;
    return scope ? [await getUnit(scope)] : [];
  }
}

function isUnder(code, ancestor) {
  for (let c = code, i = 0; c && i < 10; i += 1) {
    if (c === ancestor) return true;
    const u = knownUnit(c);
    c = u ? u.parent_code : null;
  }
  return false;
}

function ancestorsOf(code) {
  const out = [];
  for (let c = code, i = 0; c && i < 10; i += 1) {
    out.push(c);
    const u = knownUnit(c);
    c = u ? u.parent_code : null;
  }
  return out;
}

export async function render(root, ctx) {
  const month = isMonth(ctx.query.get('month')) ? ctx.query.get('month') : countyMonth();
  const monthInput = h('input', { type: 'month', id: 'units-month', value: month, 'data-testid': 'units-month' });
  monthInput.addEventListener('change', () => {
    if (isMonth(monthInput.value)) location.hash = `#/units?month=${monthInput.value}${ctx.query.get('unit') ? `&unit=${ctx.query.get('unit')}` : ''}`;
  });
  const jump = h('input', { type: 'text', id: 'unit-jump', inputmode: 'numeric', 'data-testid': 'unit-jump', placeholder: '341322100201', size: 14 });
  const jumpForm = h('form', { class: 'inline', 'data-testid': 'unit-jump-form' },
    h('label', { for: 'unit-jump' }, t('units.jump')), jump, h('button', { type: 'submit', class: 'secondary', 'data-testid': 'unit-jump-go' }, t('units.go')));
  const treeBox = h('div', { class: 'tree-box', 'data-testid': 'unit-tree' }, loading());
  const summary = h('div', { class: 'summary', 'data-testid': 'unit-summary', 'aria-live': 'polite' });
  const page = h('section', { class: 'page', 'data-page': 'units' },
    h('div', { class: 'page-head' }, h('h1', null, t('units.title')),
      h('div', { class: 'controls' }, h('label', { for: 'units-month' }, t('common.month')), monthInput, jumpForm)),
    h('div', { class: 'split' }, h('nav', { class: 'tree-nav', 'aria-label': t('units.treeLabel') }, treeBox), summary));
  root.append(page);

  const roots = await topUnits();
  if (!ctx.isCurrent()) return;
  if (!roots.length) {
    replace(treeBox, h('p', { class: 'muted', 'data-testid': 'unit-tree-empty' }, t('units.noRoots')));
  }
  const state = { month, rows: [], alerts: [], pending: [], selected: ctx.query.get('unit') || (roots[0] && roots[0].code), expanded: new Set(roots.map((r) => r.code)) };
  if (state.selected) state.expanded.add(state.selected);

  jumpForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const code = jump.value.trim();
    if (!code) return;
    try {
      const u = await getUnit(code);
      if (u.level === 'village') location.hash = `#/village/${encodeURIComponent(code)}`;
      else select(code);
    } catch (err) {
      announce(errorMessage(err), 'error');
    }
  });

  // The tree down to the villages (two levels under a county are loaded at once).
  await Promise.all(roots.map(async (r) => loadDown(r.code, r.level === 'city' ? 1 : 2)));
  if (!ctx.isCurrent()) return;

  // One compliance read, one alerts read and the recent draws per root.
  const period = month;
  const results = await Promise.allSettled(roots.map((r) => api(`/v1/units/${encodeURIComponent(r.code)}/compliance`, { query: { period } })));
  const errors = [];
  results.forEach((res) => { if (res.status === 'fulfilled') state.rows.push(...res.value.cadres); else errors.push(res.reason); });
  const alertRes = await Promise.allSettled(roots.map((r) => api('/v1/alerts', { query: { unit: r.code, status: 'open' } })));
  alertRes.forEach((res) => { if (res.status === 'fulfilled') state.alerts.push(...res.value.alerts); });
  state.pending = await pendingChallenges(roots);
  const names = new Map(state.rows.map((r) => [r.person_id, r.display_name]));
  state.pending.forEach((p) => { p.display_name = names.get(p.person_id) || null; });
  if (!ctx.isCurrent()) return;

  drawTree();
  drawSummary(errors);

  async function loadDown(code, depth) {
    if (depth <= 0) return;
    const u = knownUnit(code);
    if (u && (u.level === 'village' || u.level === 'group')) return;
    try {
      const kids = await getChildren(code);
      await Promise.all(kids.map((k) => loadDown(k.code, depth - 1)));
    } catch (_) { /* a branch we may not read stays closed */ }
  }

  function select(code) {
    state.selected = code;
    state.expanded.add(code);
    ctx.setQuery({ unit: code });
    drawTree();
    drawSummary([]);
    const again = treeBox.querySelector(`li[data-unit-code="${CSS.escape(code)}"] > .node-row [data-testid="unit-select"]`);
    if (again) again.focus();
  }

  function stats(code) {
    const people = new Map();
    for (const row of state.rows) {
      if (row.villages.some((v) => isUnder(v.unit_code, code))) people.set(row.person_id, row);
    }
    const list = [...people.values()];
    const alerts = state.alerts.filter((a) => a.unit_code && isUnder(a.unit_code, code));
    const pending = state.pending.filter((p) => people.has(p.person_id) || (p.unit_code && isUnder(p.unit_code, code)));
    return { cadres: list, compliant: list.filter((r) => r.compliant).length, alerts, pending };
  }

  function drawTree() {
    const list = h('ul', { class: 'tree' }, roots.map((r) => node(r, 0)));
    replace(treeBox, list);
  }

  function node(unit, depth) {
    const u = knownUnit(unit.code) || unit;
    const kids = childrenOf(u.code);
    const isVillage = u.level === 'village';
    const s = stats(u.code);
    const li = h('li', { 'data-unit-code': u.code, 'data-level': u.level, 'data-testid': 'unit-node' });
    const childList = h('ul', { class: 'tree-children' });
    let expanded = state.expanded.has(u.code) || (u.code !== state.selected && isUnder(state.selected, u.code));
    const toggle = !isVillage && u.level !== 'group'
      ? h('button', { type: 'button', class: 'toggle', 'aria-expanded': String(expanded), 'data-testid': 'unit-toggle', 'aria-label': t(expanded ? 'units.collapse' : 'units.expand', { name: u.name }) }, h('span', { 'aria-hidden': 'true' }, expanded ? '▾' : '▸'))
      : h('span', { class: 'toggle-space', 'aria-hidden': 'true' });
    const name = isVillage
      ? h('a', { href: `#/village/${encodeURIComponent(u.code)}?date=${countyToday()}`, class: 'unit-name', 'data-testid': 'unit-map-link' }, u.name)
      : h('button', { type: 'button', class: `unit-name linklike${state.selected === u.code ? ' is-selected' : ''}`, 'aria-current': state.selected === u.code ? 'true' : null, 'data-testid': 'unit-select' }, u.name);
    if (!isVillage) name.addEventListener('click', () => select(u.code));
    const badges = h('span', { class: 'badges' },
      s.cadres.length ? badge(t('units.compliantShort', { n: s.compliant, total: s.cadres.length }), s.compliant === s.cadres.length ? 'ok' : 'warn', { 'data-testid': 'unit-compliance', title: t('units.compliantTitle') }) : null,
      s.alerts.length ? badge(t('units.alertsShort', { n: s.alerts.length }), 'bad', { 'data-testid': 'unit-alerts' }) : null,
      s.pending.length ? badge(t('units.pendingShort', { n: s.pending.length }), 'info', { 'data-testid': 'unit-pending' }) : null);
    const extra = isVillage ? h('button', { type: 'button', class: 'linklike small', 'data-testid': 'unit-select', 'aria-label': t('units.summaryOf', { name: u.name }) }, t('units.summary')) : null;
    if (extra) extra.addEventListener('click', () => select(u.code));
    li.append(h('div', { class: `node-row level-${u.level}` }, toggle, name, h('span', { class: 'muted code' }, u.code), badges, extra));
    if (isVillage) {
      const people = s.cadres.map((row) => h('li', { 'data-person-id': row.person_id },
        h('a', { href: `#/cadre/${row.person_id}?month=${state.month}`, 'data-testid': 'person-link' }, row.display_name), ' ',
        badge(row.compliant ? t('compliance.ok') : t('compliance.notOk'), row.compliant ? 'ok' : 'warn'),
        h('span', { class: 'muted' }, ` ${t('units.daysShort', { d: ratio(row.days_in_village, row.required_days) })}`)));
      if (people.length) li.append(h('ul', { class: 'tree-people', 'aria-label': t('units.cadresOf', { name: u.name }) }, people));
      return li;
    }
    const fill = () => replace(childList, kids.length ? kids.map((k) => node(k, depth + 1)) : h('li', { class: 'muted' }, t('units.noChildren')));
    if (expanded) fill(); else childList.hidden = true;
    if (toggle.tagName === 'BUTTON') {
      toggle.addEventListener('click', async () => {
        expanded = !expanded;
        if (expanded) state.expanded.add(u.code); else state.expanded.delete(u.code);
        toggle.setAttribute('aria-expanded', String(expanded));
        toggle.setAttribute('aria-label', t(expanded ? 'units.collapse' : 'units.expand', { name: u.name }));
        toggle.firstChild.textContent = expanded ? '▾' : '▸';
        childList.hidden = !expanded;
        if (expanded) {
          if (!childrenOf(u.code).length) {
            await loadDown(u.code, 1);
            kids.splice(0, kids.length, ...childrenOf(u.code));
          }
          fill();
        }
      });
    }
    li.append(childList);
    return li;
  }

  function childrenOf(code) {
    return knownUnits().filter((x) => x.parent_code === code).sort((a, b) => a.code.localeCompare(b.code));
  }

  function drawSummary(errors) {
    const code = state.selected;
    if (!code) { replace(summary); return; }
    const u = knownUnit(code) || { code, name: code, level: '' };
    const s = stats(code);
    const zh = getLang() === 'zh';
    const links = h('p', { class: 'links' },
      u.level === 'village' ? h('a', { href: `#/village/${encodeURIComponent(code)}?date=${countyToday()}` }, t('units.openMap')) : null,
      h('a', { href: `#/bulletin?unit=${encodeURIComponent(code)}&month=${state.month}`, 'data-testid': 'summary-bulletin-link' }, t('units.openBulletin')),
      h('a', { href: `#/alerts?unit=${encodeURIComponent(code)}&status=open`, 'data-testid': 'summary-alerts-link' }, t('units.openAlerts')),
      h('a', { href: `#/spot-checks?unit=${encodeURIComponent(code)}`, 'data-testid': 'summary-spot-link' }, t('units.openSpotChecks')));
    const cards = h('dl', { class: 'cards', 'data-testid': 'summary-cards' },
      card(t('units.cards.cadres'), s.cadres.length, 'cadres'),
      card(t('units.cards.compliant'), s.compliant, 'compliant'),
      card(t('units.cards.notCompliant'), s.cadres.length - s.compliant, 'not-compliant'),
      card(t('units.cards.alerts'), s.alerts.length, 'alerts'),
      card(t('units.cards.pending'), s.pending.length, 'pending'));
    const table = simpleTable({
      testid: 'compliance-table',
      caption: t('units.complianceCaption', { month: state.month }),
      empty: t('units.noCadres'),
      rows: s.cadres,
      rowAttrs: (r) => ({ 'data-person-id': r.person_id, 'data-compliant': String(r.compliant) }),
      columns: [
        { label: t('col.cadre'), rowHeader: true, render: (r) => h('a', { href: `#/cadre/${r.person_id}?month=${state.month}` }, r.display_name) },
        { label: t('col.village'), render: (r) => r.villages.map((v) => unitName(v.unit_code)).join('、') },
        { label: t('col.days'), numeric: true, render: (r) => ratio(r.days_in_village, r.required_days) },
        { label: t('col.nights'), numeric: true, render: (r) => ratio(r.nights_in_village, r.required_nights) },
        { label: t('col.visits'), numeric: true, render: (r) => r.visits },
        { label: t('col.overdue'), numeric: true, render: (r) => r.overdue_households },
        { label: t('col.compliant'), render: (r) => badge(r.compliant ? t('compliance.ok') : t('compliance.notOk'), r.compliant ? 'ok' : 'warn') },
        { label: t('col.reasons'), long: true, render: (r) => r.reasons.map((x) => (zh ? x.text_zh : x.message)).join('；') },
      ],
    });
    const alertList = s.alerts.length ? h('ul', { class: 'plain', 'data-testid': 'summary-alerts' }, s.alerts.slice(0, 6).map((a) => h('li', null,
      badge(tEnum('alert', a.kind), 'bad'), ' ', fmtDateTime(a.created_at), ' ', unitName(a.unit_code)))) : h('p', { class: 'muted' }, t('units.noAlerts'));
    const pendingList = s.pending.length ? h('ul', { class: 'plain', 'data-testid': 'summary-pending' }, s.pending.map((p) => h('li', null,
      h('a', { href: `#/spot-checks?draw=${p.draw_id}` }, p.display_name || p.person_id.slice(0, 8)), ' ',
      t('units.deadline', { at: fmtDateTime(p.deadline) })))) : h('p', { class: 'muted' }, t('units.noPending'));
    replace(summary,
      h('h2', null, u.name, ' ', h('span', { class: 'muted' }, tEnum('level', u.level))),
      links, errors.map((e) => errorBox(e, 'summary-error')), cards, table,
      h('h3', null, t('units.openAlertsTitle')), alertList,
      h('h3', null, t('units.pendingTitle')), pendingList);
  }
}

function card(label, value, key) {
  return h('div', { class: 'card-figure', 'data-figure': key }, h('dt', null, label), h('dd', null, String(value)));
}

// Open challenges of the draws of the last week (the list has none: read each draw).
async function pendingChallenges(roots) {
  const from = addDays(countyToday(), -7);
  const out = [];
  for (const r of roots) {
    let draws = [];
    try { draws = (await api('/v1/spot-checks/draws', { query: { unit: r.code, from } })).draws; } catch (_) { continue; }
    const recent = draws.filter((d) => d.population === 'cadres').slice(0, 10);
    const details = await Promise.allSettled(recent.map((d) => api(`/v1/spot-checks/draws/${d.id}`)));
    for (const res of details) {
      if (res.status !== 'fulfilled') continue;
      for (const c of res.value.challenges || []) {
        if (c.status === 'open') out.push({ ...c, unit_code: res.value.unit_code });
      }
    }
  }
  return out;
}
