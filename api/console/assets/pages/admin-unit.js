// Admin: a unit's assignments, households and pairings (each paged), with the life-cycle
// actions: end an assignment, end a pairing. Nothing is deleted; each is a ledger entry.
import { t, tEnum } from '../i18n.js';
import { api } from '../api.js';
import { h, replace, errorBox, loading, simpleTable, announce, errorMessage, field, formDialog } from '../ui.js';
import { unitName, getUnit } from '../cache.js';
import { countyToday, isDate, shortId } from '../format.js';

export async function renderUnitTab(panel, ctx) {
  const code = ctx.query.get('unit') || (ctx.session.scope || '');
  const on = ctx.query.get('on') || '';
  const unitInput = h('input', { type: 'text', name: 'unit', value: code, required: true, 'data-testid': 'admin-unit', size: 14 });
  const onInput = h('input', { type: 'date', name: 'on', value: on, 'data-testid': 'admin-on' });
  const form = h('form', { class: 'filters', 'data-testid': 'admin-unit-form' },
    field(t('common.unit'), unitInput), field(t('admin.on'), onInput, t('admin.onHint')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'admin-unit-load' }, t('common.show'))));
  const boxes = { assignments: h('div'), households: h('div'), pairings: h('div') };
  panel.append(form,
    h('h2', null, t('admin.assignments')), boxes.assignments,
    h('h2', null, t('admin.households')), boxes.households,
    h('h2', null, t('admin.pairings')), boxes.pairings);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = `#/admin?tab=unit&unit=${encodeURIComponent(unitInput.value.trim())}${isDate(onInput.value) ? `&on=${onInput.value}` : ''}`;
  });
  if (!code) {
    replace(boxes.assignments, h('p', { class: 'muted' }, t('admin.pickUnit')));
    return;
  }
  getUnit(code).catch(() => null);
  const query = isDate(on) ? { on } : {};
  pagedList(boxes.assignments, `/v1/units/${encodeURIComponent(code)}/assignments`, query, 'assignments', (rows, redraw) => simpleTable({
    testid: 'assignments-table', empty: t('admin.noAssignments'), rows,
    rowAttrs: (a) => ({ 'data-assignment-id': a.id, 'data-person-id': a.person_id }),
    columns: [
      { label: t('col.cadre'), rowHeader: true, render: (a) => h('a', { href: `#/cadre/${a.person_id}` }, a.display_name || shortId(a.person_id)) },
      { label: t('col.village'), render: (a) => unitName(a.unit_code) },
      { label: t('col.role'), render: (a) => tEnum('assignmentRole', a.role) },
      { label: t('col.from'), render: (a) => a.valid_from },
      { label: t('col.to'), render: (a) => a.valid_to || t('common.openEnded') },
      { label: t('col.actions'), render: (a) => endButton(a, 'assignment', redraw) },
    ],
  }));
  pagedList(boxes.households, `/v1/units/${encodeURIComponent(code)}/households`, {}, 'households', (rows) => simpleTable({
    testid: 'households-table', empty: t('village.noHouseholds'), rows,
    rowAttrs: (hh) => ({ 'data-household-id': hh.id }),
    columns: [
      { label: t('village.household'), rowHeader: true, render: (hh) => hh.head_name },
      { label: t('col.village'), render: (hh) => h('a', { href: `#/village/${encodeURIComponent(hh.unit_code)}` }, unitName(hh.unit_code)) },
      { label: t('village.members'), numeric: true, render: (hh) => hh.members },
      { label: t('village.location'), render: (hh) => `${hh.location.lon.toFixed(5)}, ${hh.location.lat.toFixed(5)}` },
    ],
  }));
  pagedList(boxes.pairings, `/v1/units/${encodeURIComponent(code)}/pairings`, query, 'pairings', (rows, redraw) => simpleTable({
    testid: 'pairings-table', empty: t('admin.noPairings'), rows,
    rowAttrs: (p) => ({ 'data-pairing-id': p.id, 'data-person-id': p.person_id, 'data-household-id': p.household_id }),
    columns: [
      { label: t('col.cadre'), rowHeader: true, render: (p) => h('a', { href: `#/cadre/${p.person_id}` }, p.display_name || shortId(p.person_id)) },
      { label: t('village.household'), render: (p) => p.head_name || shortId(p.household_id) },
      { label: t('col.village'), render: (p) => unitName(p.unit_code) },
      { label: t('col.from'), render: (p) => p.valid_from },
      { label: t('col.to'), render: (p) => p.valid_to || t('common.openEnded') },
      { label: t('col.actions'), render: (p) => endButton(p, 'pairing', redraw) },
    ],
  }));
}

// A list read page by page ({items, next_cursor}) with a "more" button.
async function pagedList(box, path, query, name, table) {
  const rows = [];
  let cursor = null;
  const more = h('button', { type: 'button', class: 'secondary', 'data-testid': `${name}-more`, hidden: true }, t('common.more'));
  const tableBox = h('div');
  replace(box, tableBox, h('div', { class: 'actions' }, more));
  const redraw = () => replace(tableBox, table(rows, redraw));
  async function load() {
    if (!rows.length) replace(tableBox, loading());
    more.disabled = true;
    try {
      const res = await api(path, { query: { ...query, limit: 100, cursor } });
      rows.push(...res.items);
      cursor = res.next_cursor;
      await Promise.all([...new Set(res.items.map((x) => x.unit_code).filter(Boolean))].map((c) => getUnit(c).catch(() => null)));
      more.hidden = !cursor;
      redraw();
    } catch (err) {
      replace(tableBox, errorBox(err, `${name}-error`));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', load);
  await load();
}

function endButton(item, what, redraw) {
  const today = countyToday();
  if (item.valid_to && item.valid_to <= today) return h('span', { class: 'muted' }, t('admin.ended'));
  const btn = h('button', { type: 'button', class: 'secondary small', 'data-testid': `${what}-end`, 'data-id': item.id }, t('admin.end'));
  btn.addEventListener('click', async () => {
    const values = await formDialog({
      title: t(`admin.end.${what}`), testid: `${what}-end-dialog`, submitLabel: t('admin.end'),
      fields: [{ name: 'valid_to', label: t('admin.lastDay'), type: 'date', required: true, value: today, hint: t('admin.lastDayHint') }],
    });
    if (!values || !isDate(values.valid_to)) return;
    try {
      const updated = await api(`/v1/${what}s/${encodeURIComponent(item.id)}/end`, { method: 'POST', body: { valid_to: values.valid_to } });
      item.valid_to = (updated && updated.valid_to) || values.valid_to;
      announce(t('admin.endedOn', { date: item.valid_to }));
      redraw();
    } catch (err) {
      announce(errorMessage(err), 'error');
    }
  });
  return btn;
}
