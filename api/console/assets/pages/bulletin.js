// The monthly bulletin (逐月通报) of a unit: a sortable table of every cadre line with totals, a
// bar chart per village, CSV/XLSX downloads and, for a closed month, its published version.
import { t } from '../i18n.js';
import { api, download, ApiError } from '../api.js';
import { h, replace, errorBox, loading, sortableTable, badge, announce, errorMessage } from '../ui.js';
import { getUnit } from '../cache.js';
import { countyMonth, isMonth, addMonths, fmtDateTime } from '../format.js';
import { stackedBars, seriesLegend } from '../chart.js';
import { sha256, bytesToHex } from '../proof.js';
import { topUnits } from './units.js';

function lines(bulletin) {
  const out = [];
  for (const tw of bulletin.townships) {
    for (const v of tw.villages) {
      for (const c of v.cadres) {
        out.push({ ...c, township: tw.name, village: v.name, village_code: v.unit_code, sc: c.spot_checks, neg: c.negative_items });
      }
    }
  }
  return out;
}

export async function render(root, ctx) {
  const s = ctx.session;
  let unit = ctx.query.get('unit') || '';
  const month = isMonth(ctx.query.get('month')) ? ctx.query.get('month') : addMonths(countyMonth(), -1);
  const unitInput = h('input', { type: 'text', id: 'bulletin-unit', value: unit, list: 'bulletin-units', required: true, 'data-testid': 'bulletin-unit', size: 14 });
  const monthInput = h('input', { type: 'month', id: 'bulletin-month', value: month, required: true, 'data-testid': 'bulletin-month' });
  const datalist = h('datalist', { id: 'bulletin-units' });
  const form = h('form', { class: 'inline', 'data-testid': 'bulletin-form' },
    h('label', { for: 'bulletin-unit' }, t('common.unit')), unitInput,
    h('label', { for: 'bulletin-month' }, t('common.month')), monthInput,
    h('button', { type: 'submit', 'data-testid': 'bulletin-load' }, t('bulletin.load')));
  const body = h('div', { 'data-testid': 'bulletin-body' });
  const page = h('section', { class: 'page', 'data-page': 'bulletin' },
    h('div', { class: 'page-head' }, h('h1', null, t('bulletin.title'))), datalist, form, body);
  root.append(page);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!unitInput.value.trim() || !isMonth(monthInput.value)) { announce(t('bulletin.needBoth'), 'error'); return; }
    location.hash = `#/bulletin?unit=${encodeURIComponent(unitInput.value.trim())}&month=${monthInput.value}`;
  });
  const roots = await topUnits().catch(() => []);
  for (const u of roots) datalist.append(h('option', { value: u.code }, u.name));
  if (!unit && roots[0]) { unit = roots[0].code; unitInput.value = unit; }
  if (!unit) { replace(body, h('p', { class: 'muted' }, t('bulletin.pickUnit'))); return; }
  replace(body, loading());
  let bulletin;
  try {
    bulletin = await api(`/v1/units/${encodeURIComponent(unit)}/bulletin`, { query: { month } });
  } catch (err) {
    replace(body, errorBox(err, 'bulletin-error'));
    return;
  }
  if (!ctx.isCurrent()) return;
  getUnit(unit).catch(() => null);
  const rows = lines(bulletin);
  const tot = bulletin.totals;
  const csvBtn = h('button', { type: 'button', class: 'secondary', 'data-testid': 'bulletin-download-csv' }, t('bulletin.csv'));
  const xlsxBtn = h('button', { type: 'button', class: 'secondary', 'data-testid': 'bulletin-download-xlsx' }, t('bulletin.xlsx'));
  for (const [btn, format] of [[csvBtn, 'csv'], [xlsxBtn, 'xlsx']]) {
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      try {
        const name = await download(`/v1/units/${encodeURIComponent(unit)}/bulletin`, { month, format }, `bulletin-${unit}-${month}.${format}`);
        announce(t('bulletin.downloaded', { name }));
      } catch (err) {
        announce(errorMessage(err), 'error');
      } finally {
        btn.disabled = false;
      }
    });
  }
  const publishBox = h('div', { class: 'publish', 'data-testid': 'bulletin-published' });
  const cards = h('dl', { class: 'cards', 'data-testid': 'bulletin-totals' },
    [['cadres', tot.cadres], ['lines', tot.lines], ['compliant', tot.compliant], ['not_compliant', tot.not_compliant], ['visits', tot.visits], ['overdue_households', tot.overdue_households], ['missed', tot.spot_checks.missed], ['confirmed', tot.negative_items.confirmed]]
      .map(([k, v]) => h('div', { class: 'card-figure', 'data-figure': k }, h('dt', null, t(`bulletin.total.${k}`)), h('dd', null, String(v)))));
  const series = [
    { key: 'compliant', label: t('bulletin.series.compliant'), className: 'series-ok' },
    { key: 'not_compliant', label: t('bulletin.series.notCompliant'), className: 'series-bad' },
  ];
  const villages = bulletin.townships.flatMap((tw) => tw.villages.map((v) => ({ id: v.unit_code, label: v.name, values: { compliant: v.totals.compliant, not_compliant: v.totals.not_compliant } })));
  const chart = h('figure', { class: 'chart-box' },
    stackedBars({ items: villages, series, title: t('bulletin.chartTitle', { month }), testid: 'bulletin-chart' }),
    h('figcaption', null, t('bulletin.chartTitle', { month }), seriesLegend(series)));
  const num = (key, label, value) => ({ key, label, numeric: true, value, render: (r) => { const v = value(r); return v === null || v === undefined ? '—' : String(v); } });
  const table = sortableTable({
    testid: 'bulletin-table',
    caption: t('bulletin.caption', { name: bulletin.unit_name, month }),
    rows,
    rowAttrs: (r) => ({ 'data-person-id': r.person_id, 'data-village': r.village_code, 'data-compliant': String(r.compliant) }),
    columns: [
      { key: 'display_name', label: t('col.cadre'), render: (r) => h('a', { href: `#/cadre/${r.person_id}?month=${month}` }, r.display_name) },
      { key: 'township', label: t('col.township') },
      { key: 'village', label: t('col.village') },
      { key: 'compliant', label: t('col.compliant'), render: (r) => badge(r.compliant ? t('compliance.ok') : t('compliance.notOk'), r.compliant ? 'ok' : 'warn') },
      num('days_in_village', t('col.days'), (r) => r.days_in_village),
      num('required_days', t('col.requiredDays'), (r) => r.required_days),
      num('nights_in_village', t('col.nightsOnly'), (r) => r.nights_in_village),
      num('required_nights', t('col.requiredNights'), (r) => r.required_nights),
      num('leave_days', t('col.leaveDays'), (r) => r.leave_days),
      num('trip_days', t('col.tripDays'), (r) => r.trip_days),
      num('visits', t('col.visits'), (r) => r.visits),
      num('households', t('col.households'), (r) => r.households),
      num('overdue_households', t('col.overdue'), (r) => r.overdue_households),
      num('sc_present', t('bulletin.scPresent'), (r) => r.sc.present),
      num('sc_missed', t('bulletin.scMissed'), (r) => r.sc.missed + r.sc.absent),
      num('neg_confirmed', t('bulletin.negConfirmed'), (r) => r.neg.confirmed),
      { key: 'escalation', label: t('bulletin.escalation'), value: (r) => r.escalation.level, render: (r) => r.escalation.name || '—' },
      { key: 'reasons', label: t('col.reasons'), long: true, value: (r) => r.reasons.length, render: (r) => r.reasons.join('；') },
    ],
  });
  replace(body,
    h('h2', null, t('bulletin.heading', { name: bulletin.unit_name, month }), ' ',
      bulletin.complete ? null : badge(t('bulletin.incomplete'), 'info', { 'data-testid': 'bulletin-incomplete' })),
    h('p', { class: 'muted' }, t('bulletin.range', { from: bulletin.from, to: bulletin.to }), ' ', t('bulletin.facts')),
    h('div', { class: 'actions' }, csvBtn, xlsxBtn),
    cards, chart, table, publishBox);
  const canPublish = s.role === 'supervisor' || s.role === 'admin';
  const look = h('button', { type: 'button', class: 'secondary', 'data-testid': 'bulletin-published-check' }, t('bulletin.checkPublished'));
  look.addEventListener('click', () => drawPublished(unit, month, publishBox, canPublish));
  replace(publishBox, h('h3', null, t('bulletin.publishedTitle')), h('div', { class: 'actions' }, look));
}

async function drawPublished(unit, month, box, canPublish) {
  const path = `/v1/units/${encodeURIComponent(unit)}/bulletins/${month}`;
  let info = null;
  try {
    const res = await api(path, { raw: true });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const digest = bytesToHex(await sha256(bytes));
    info = { sha: res.headers.get('X-Bulletin-SHA256'), seq: res.headers.get('X-Ledger-Seq'), digest };
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) { replace(box, errorBox(err)); return; }
  }
  const parts = [h('h3', null, t('bulletin.publishedTitle'))];
  box.dataset.checked = 'true';
  if (info) {
    const ok = info.sha && info.sha.toLowerCase() === info.digest;
    parts.push(h('dl', { class: 'facts', 'data-testid': 'bulletin-published-facts', 'data-match': String(ok) },
      h('dt', null, t('bulletin.seq')), h('dd', null, info.seq || '—'),
      h('dt', null, 'SHA-256'), h('dd', null, h('code', { class: 'wrap' }, info.sha || '—')),
      h('dt', null, t('bulletin.digestCheck')), h('dd', { class: ok ? 'ok-text' : 'error' }, ok ? t('bulletin.digestOk') : t('bulletin.digestBad'))));
  } else {
    parts.push(h('p', { class: 'muted' }, t('bulletin.notPublished')));
  }
  if (canPublish) {
    const btn = h('button', { type: 'button', 'data-testid': 'bulletin-publish' }, info ? t('bulletin.republish') : t('bulletin.publish'));
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      try {
        const res = await api(`/v1/units/${encodeURIComponent(unit)}/bulletins/${month}/publish`, { method: 'POST' });
        announce(t('bulletin.publishedAt', { seq: res.seq, at: fmtDateTime(res.published_at) }));
        drawPublished(unit, month, box, canPublish);
      } catch (err) {
        announce(errorMessage(err), 'error');
        btn.disabled = false;
      }
    });
    parts.push(h('div', { class: 'actions' }, btn), h('p', { class: 'muted small' }, t('bulletin.publishHint')));
  }
  replace(box, ...parts);
}

