// Alerts to review (never penalties): filter by kind, state and unit; acknowledge with a note.
import { t, tEnum } from '../i18n.js';
import { api, ApiError } from '../api.js';
import { h, replace, errorBox, loading, select, simpleTable, badge, announce, errorMessage, fieldError, field } from '../ui.js';
import { fillPersonNames, unitName, getUnit } from '../cache.js';
import { fmtDateTime, shortId, isDate } from '../format.js';
import { topUnits } from './units.js';

export const ALERT_KINDS = ['record.outside', 'record.not_assigned', 'record.mock_location', 'record.impossible_speed', 'spot_check.absent', 'spot_check.missed', 'household.denied', 'negative_item.proposed'];

function detailText(a) {
  const v = (a.detail && a.detail.verdict) || {};
  const parts = [];
  if (a.detail && a.detail.kind) parts.push(tEnum('kind', a.detail.kind));
  if (v.geo) parts.push(tEnum('geo', v.geo));
  if (v.outcome) parts.push(tEnum('outcome', v.outcome));
  if (v.result) parts.push(tEnum('outcome', v.result));
  // The distance is signed: positive inside the boundary, negative outside it.
  if (typeof v.distance_to_boundary_m === 'number') {
    const d = v.distance_to_boundary_m;
    parts.push(d < 0 ? t('alerts.outsideBy', { m: Math.round(-d) }) : t('alerts.distance', { m: Math.round(d) }));
  }
  if (a.detail && a.detail.message) parts.push(a.detail.message);
  return parts.join(' · ');
}

export async function render(root, ctx) {
  const q = ctx.query;
  const canAck = ctx.session.role === 'supervisor' || ctx.session.role === 'admin';
  const unit = h('input', { type: 'text', id: 'alerts-unit', value: q.get('unit') || '', list: 'alert-units', 'data-testid': 'alerts-unit', size: 14 });
  const status = select([
    { value: 'open', label: tEnum('alertStatus', 'open') },
    { value: 'acknowledged', label: tEnum('alertStatus', 'acknowledged') },
    { value: '', label: t('common.all') },
  ], { id: 'alerts-status', value: q.has('status') ? q.get('status') : 'open', 'data-testid': 'alerts-status' });
  const kind = select([{ value: '', label: t('common.all') }, ...ALERT_KINDS.map((k) => ({ value: k, label: tEnum('alert', k) }))],
    { id: 'alerts-kind', value: q.get('kind') || '', 'data-testid': 'alerts-kind' });
  const from = h('input', { type: 'date', id: 'alerts-from', value: q.get('from') || '', 'data-testid': 'alerts-from' });
  const to = h('input', { type: 'date', id: 'alerts-to', value: q.get('to') || '', 'data-testid': 'alerts-to' });
  const form = h('form', { class: 'filters', 'data-testid': 'alerts-filter' },
    field(t('common.unit'), unit), field(t('alerts.status'), status), field(t('alerts.kind'), kind),
    field(t('col.from'), from), field(t('col.to'), to),
    h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'alerts-apply' }, t('common.apply'))));
  const list = h('div', { 'data-testid': 'alerts-list' }, loading());
  const datalist = h('datalist', { id: 'alert-units' });
  root.append(h('section', { class: 'page', 'data-page': 'alerts' },
    h('div', { class: 'page-head' }, h('h1', null, t('alerts.title'))),
    h('p', { class: 'muted' }, t('alerts.intro')), datalist, form, list));
  topUnits().then((roots) => roots.forEach((u) => datalist.append(h('option', { value: u.code }, u.name)))).catch(() => {});
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    ctx.setQuery({ unit: unit.value.trim(), status: status.value || 'all', kind: kind.value, from: from.value, to: to.value });
    load();
  });
  if (q.get('status') === 'all') status.value = '';

  let alerts = [];
  async function load() {
    replace(list, loading());
    try {
      const res = await api('/v1/alerts', {
        query: { unit: unit.value.trim(), status: status.value, from: isDate(from.value) ? from.value : null, to: isDate(to.value) ? to.value : null },
      });
      alerts = res.alerts;
    } catch (err) {
      replace(list, errorBox(err, 'alerts-error'));
      return;
    }
    if (!ctx.isCurrent()) return;
    await Promise.all([...new Set(alerts.map((a) => a.unit_code).filter(Boolean))].map((c) => getUnit(c).catch(() => null)));
    draw();
  }

  function draw() {
    const rows = alerts.filter((a) => !kind.value || a.kind === kind.value);
    const counts = new Map();
    for (const a of alerts) counts.set(a.kind, (counts.get(a.kind) || 0) + 1);
    replace(list,
      h('p', { class: 'muted', 'data-testid': 'alerts-count' }, t('alerts.count', { n: rows.length, total: alerts.length })),
      h('ul', { class: 'chips', 'aria-label': t('alerts.byKind') }, [...counts].map(([k, n]) => h('li', null, badge(`${tEnum('alert', k)} ${n}`, 'neutral')))),
      simpleTable({
        testid: 'alerts-table', empty: t('alerts.none'), rows,
        rowAttrs: (a) => ({ 'data-alert-id': a.id, 'data-status': a.status, 'data-kind': a.kind }),
        columns: [
          { label: t('col.time'), rowHeader: true, render: (a) => fmtDateTime(a.created_at) },
          { label: t('alerts.kind'), render: (a) => badge(tEnum('alert', a.kind), a.kind.startsWith('negative') ? 'info' : 'bad') },
          { label: t('col.unit'), render: (a) => unitName(a.unit_code) },
          { label: t('col.cadre'), render: (a) => (a.person_id ? h('a', { href: `#/cadre/${a.person_id}`, 'data-person-name': a.person_id }, shortId(a.person_id)) : '—') },
          { label: t('alerts.detail'), long: true, render: (a) => detailText(a) },
          { label: t('alerts.status'), long: true, render: (a) => (a.status === 'open' ? badge(tEnum('alertStatus', 'open'), 'warn') : [badge(tEnum('alertStatus', 'acknowledged'), 'ok'), a.ack ? h('div', { class: 'muted small' }, `${fmtDateTime(a.ack.at)}：${a.ack.note}`) : null]) },
          { label: t('col.actions'), render: (a) => (canAck && a.status === 'open' ? ackControl(a) : '') },
        ],
      }));
    fillPersonNames(list);
  }

  function ackControl(a) {
    const cell = h('div', { class: 'ack' });
    const btn = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'alert-ack', 'data-alert-id': a.id, 'aria-expanded': 'false' }, t('alerts.ack'));
    btn.addEventListener('click', () => {
      btn.setAttribute('aria-expanded', 'true');
      const note = h('textarea', { rows: 2, maxlength: 2000, required: true, 'data-testid': 'alert-ack-note' });
      const submit = h('button', { type: 'submit', class: 'small', 'data-testid': 'alert-ack-submit' }, t('alerts.ackSubmit'));
      const cancel = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'alert-ack-cancel' }, t('common.cancel'));
      const f = h('form', { class: 'ack-form' }, field(t('alerts.note'), note), h('div', { class: 'actions' }, submit, cancel));
      cancel.addEventListener('click', () => { f.replaceWith(btn); btn.setAttribute('aria-expanded', 'false'); btn.focus(); });
      f.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        fieldError(note, null);
        if (!note.value.trim()) { fieldError(note, t('common.required')); note.focus(); return; }
        submit.disabled = true;
        try {
          const res = await api(`/v1/alerts/${encodeURIComponent(a.id)}/ack`, { method: 'POST', body: { note: note.value.trim() } });
          Object.assign(a, res && res.id ? res : { status: 'acknowledged', ack: { at: new Date().toISOString(), note: note.value.trim() } });
          announce(t('alerts.acked'));
          draw();
        } catch (err) {
          if (err instanceof ApiError && err.reasonFor('/note')) fieldError(note, err.reasonFor('/note'));
          else announce(errorMessage(err), 'error');
          submit.disabled = false;
        }
      });
      btn.replaceWith(f);
      note.focus();
    });
    cell.append(btn);
    return cell;
  }

  await load();
}
