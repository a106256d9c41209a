// A village on a map without any base layer (the machines are offline): its boundary and its
// neighbours' from the stored GeoJSON, the households, and one day's records coloured by
// verdict with their accuracy circles; flags filter the records.
import * as L from '../vendor/leaflet/leaflet-src.esm.js';
import { t, tEnum } from '../i18n.js';
import { api, apiAll } from '../api.js';
import { h, replace, errorBox, loading, announce, errorMessage, simpleTable, badge } from '../ui.js';
import { getUnit, getChildren, getHouseholds, personName, unitName } from '../cache.js';
import { countyToday, isDate, addDays, dayInstants, fmtTime, fmtDateTime } from '../format.js';

export const FLAGS = ['low_accuracy', 'mock_location', 'impossible_speed', 'repeated_fix', 'clock_skew', 'unbound_device', 'late_sync', 'unrelated_household'];
export const VERDICT_COLOURS = {
  inside: '#15803d', boundary: '#b45309', outside: '#b91c1c', unverifiable: '#6b7280', none: '#1d4ed8',
};

function verdictOf(r) {
  const v = r.verdict || {};
  const geo = v.geo || v.household_check || 'none';
  return VERDICT_COLOURS[geo] ? geo : 'none';
}

// One shape for the records whatever read they came from.
function fromExport(x) {
  return { id: x.id, kind: x.kind, person_id: x.person_id, captured_at: x.captured_at, verdict: x.verdict || {}, flags: x.flags || [], seq: x.seq, position: x.position };
}

function fromRecord(x) {
  const p = x.position;
  const position = p ? { lon: p.wgs84 ? p.wgs84.lon : p.lon, lat: p.wgs84 ? p.wgs84.lat : p.lat, accuracy_m: p.accuracy_m } : null;
  return { id: x.id, kind: x.kind, person_id: x.person_id, captured_at: x.captured_at, verdict: x.verdict || {}, flags: x.flags || [], seq: x.seq, position };
}

async function loadRecords(code, date, session) {
  if (session.role === 'cadre') {
    const items = await apiAll(`/v1/people/${encodeURIComponent(session.id)}/records`, dayInstants(date));
    return items.map(fromRecord);
  }
  const res = await api(`/v1/units/${encodeURIComponent(code)}/records/export`, { query: { from: date, to: date, format: 'ndjson' }, raw: true });
  const text = await res.text();
  return text.split('\n').filter((l) => l.trim()).map((l) => fromExport(JSON.parse(l)));
}

// Names of the people on the roster of the village that day (new route), else one by one.
async function loadNames(code, date, ids, session) {
  const names = new Map();
  if (session.role === 'cadre') {
    // A cadre sees only their own records, and may not list the roster.
    if (session.person) names.set(session.id, session.person.display_name);
    return names;
  }
  try {
    const list = await apiAll(`/v1/units/${encodeURIComponent(code)}/assignments`, { on: date });
    for (const a of list) if (a.display_name) names.set(a.person_id, a.display_name);
  } catch (_) { /* route not there yet or not allowed: fall back */ }
  await Promise.all(ids.filter((id) => !names.has(id)).map(async (id) => {
    const n = await personName(id);
    if (n) names.set(id, n);
  }));
  return names;
}

async function loadPairings(code, session) {
  if (session.role === 'cadre') return [];
  try {
    return await apiAll(`/v1/units/${encodeURIComponent(code)}/pairings`, { on: countyToday() });
  } catch (_) {
    return [];
  }
}

export async function render(root, ctx) {
  const code = ctx.params[0];
  const session = ctx.session;
  let date = isDate(ctx.query.get('date')) ? ctx.query.get('date') : countyToday();
  const page = h('section', { class: 'page', 'data-page': 'village', 'data-unit-code': code });
  root.append(page);
  page.append(loading());
  let unit;
  try {
    unit = await getUnit(code);
  } catch (err) {
    replace(page, h('h1', null, t('village.title', { name: code })), errorBox(err));
    return;
  }
  if (!ctx.isCurrent()) return;

  const dateInput = h('input', { type: 'date', id: 'map-date', value: date, max: countyToday(), 'data-testid': 'map-date' });
  const prev = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'map-prev-day', 'aria-label': t('village.prevDay') }, '‹');
  const next = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'map-next-day', 'aria-label': t('village.nextDay') }, '›');
  const accToggle = h('input', { type: 'checkbox', id: 'map-accuracy', checked: true, 'data-testid': 'map-accuracy-toggle' });
  const hidden = new Set();
  const flagBoxes = new Map();
  const flagFieldset = h('fieldset', { class: 'flag-filter', 'data-testid': 'flag-filter' }, h('legend', null, t('village.flagFilter')));
  for (const f of ['none', ...FLAGS]) {
    const box = h('input', { type: 'checkbox', id: `flag-${f}`, checked: true, 'data-testid': `flag-filter-${f}`, 'data-flag': f });
    box.addEventListener('change', () => {
      if (box.checked) hidden.delete(f); else hidden.add(f);
      applyFilter();
    });
    const count = h('span', { class: 'count muted', 'data-testid': `flag-count-${f}` });
    flagBoxes.set(f, { box, count });
    flagFieldset.append(h('div', { class: 'check' }, box, h('label', { for: `flag-${f}` }, f === 'none' ? t('village.noFlags') : tEnum('flag', f), ' ', count)));
  }
  const countLine = h('p', { class: 'muted', 'data-testid': 'map-count', 'aria-live': 'polite' });
  const mapEl = h('div', { class: 'map', id: 'village-map', 'data-testid': 'village-map', role: 'region', 'aria-label': t('village.mapLabel', { name: unit.name }) });
  const tableBox = h('div', { 'data-testid': 'map-records' });
  const householdBox = h('div', { 'data-testid': 'map-households' });
  const neighbourBox = h('p', { class: 'links', 'data-testid': 'map-neighbours' });
  const recordsHeading = h('h2', null, t('village.recordsOf', { date }));
  const parentLink = unit.parent_code ? h('span', { class: 'muted' }, ` · ${unitName(unit.parent_code)}`) : null;

  replace(page,
    h('div', { class: 'page-head' },
      h('h1', null, t('village.title', { name: unit.name }), h('span', { class: 'muted code' }, ` ${unit.code}`), parentLink),
      h('div', { class: 'controls' }, h('label', { for: 'map-date' }, t('common.date')), prev, dateInput, next,
        h('span', { class: 'check' }, accToggle, h('label', { for: 'map-accuracy' }, t('village.accuracy'))))),
    h('div', { class: 'map-layout' },
      h('div', { class: 'map-col' }, mapEl, legend(), countLine),
      h('div', { class: 'side-col' }, flagFieldset, h('h2', null, t('village.neighbours')), neighbourBox)),
    recordsHeading, tableBox,
    h('h2', null, t('village.households')), householdBox);

  const map = L.map(mapEl, { zoomControl: true, attributionControl: true, preferCanvas: false, maxZoom: 19 });
  map.attributionControl.setPrefix('Leaflet');
  ctx.onCleanup(() => {
    // Leaflet 1.9.4 ends a zoom animation from a 250 ms timer that throws once the map is
    // removed (its panes are gone): end a running one first.
    if (map._animatingZoom) map._onZoomTransitionEnd();
    map.remove();
  });
  const boundaryLayer = L.layerGroup().addTo(map);
  const householdLayer = L.layerGroup().addTo(map);
  const accuracyLayer = L.layerGroup().addTo(map);
  const recordLayer = L.layerGroup().addTo(map);
  let records = [];
  let markers = new Map();

  // Boundaries: the village, then its siblings under the same parent.
  let bounds = null;
  if (unit.boundary) {
    const layer = L.geoJSON(unit.boundary, { style: { className: 'boundary-village', color: '#1f2937', weight: 3, fillColor: '#fde68a', fillOpacity: 0.15 }, interactive: false });
    layer.addTo(boundaryLayer);
    tagPaths(layer, { 'data-unit-code': unit.code, 'data-testid': 'boundary-village' });
    bounds = layer.getBounds();
  } else {
    neighbourBox.before(h('p', { class: 'notice', 'data-testid': 'map-no-boundary' }, t('village.noBoundary')));
  }
  map.fitBounds(bounds || L.latLngBounds([[34.0, 116.7], [34.2, 116.9]]), { padding: [24, 24] });

  drawNeighbours();
  drawHouseholds();
  await loadDay();
  setTimeout(() => map.invalidateSize(), 50);

  dateInput.addEventListener('change', () => { if (isDate(dateInput.value)) { date = dateInput.value; loadDay(); } });
  prev.addEventListener('click', () => { date = addDays(date, -1); dateInput.value = date; loadDay(); });
  next.addEventListener('click', () => { if (date < countyToday()) { date = addDays(date, 1); dateInput.value = date; loadDay(); } });
  accToggle.addEventListener('change', () => { if (accToggle.checked) accuracyLayer.addTo(map); else accuracyLayer.remove(); });

  async function drawNeighbours() {
    if (!unit.parent_code) return;
    let siblings = [];
    try { siblings = (await getChildren(unit.parent_code)).filter((s) => s.code !== unit.code && s.has_boundary); } catch (_) { return; }
    const links = [];
    for (const s of siblings) {
      let full;
      try { full = await getUnit(s.code); } catch (_) { continue; }
      if (!ctx.isCurrent() || !full.boundary) continue;
      const layer = L.geoJSON(full.boundary, { style: { className: 'boundary-neighbour', color: '#64748b', weight: 1.5, dashArray: '4 4', fillColor: '#e2e8f0', fillOpacity: 0.25 } });
      layer.bindTooltip(full.name, { permanent: true, direction: 'center', className: 'neighbour-label' });
      layer.on('click', () => { location.hash = `#/village/${encodeURIComponent(full.code)}?date=${date}`; });
      layer.addTo(boundaryLayer);
      layer.bringToBack();
      tagPaths(layer, { 'data-unit-code': full.code, 'data-testid': 'boundary-neighbour' });
      links.push(h('a', { href: `#/village/${encodeURIComponent(full.code)}?date=${date}`, 'data-testid': 'neighbour-link' }, full.name));
    }
    replace(neighbourBox, links.length ? links : h('span', { class: 'muted' }, t('village.noNeighbours')));
  }

  async function drawHouseholds() {
    const [list, pairings] = await Promise.all([getHouseholds(code).catch(() => []), loadPairings(code, session)]);
    if (!ctx.isCurrent()) return;
    const pairedBy = new Map();
    for (const p of pairings) pairedBy.set(p.household_id, [...(pairedBy.get(p.household_id) || []), p.display_name || p.person_id.slice(0, 8)]);
    for (const hh of list) {
      const icon = L.divIcon({ className: 'household-icon', iconSize: [14, 14], html: '' });
      const m = L.marker([hh.location.lat, hh.location.lon], { icon, keyboard: true, title: hh.head_name, alt: hh.head_name });
      m.on('add', () => { const e = m.getElement(); if (e) { e.setAttribute('data-household-id', hh.id); e.setAttribute('data-testid', 'household-marker'); } });
      m.bindTooltip(tooltipBox([
        [t('village.household'), hh.head_name],
        [t('village.members'), String(hh.members)],
        [t('village.pairedWith'), (pairedBy.get(hh.id) || []).join('、') || '—'],
      ]));
      m.addTo(householdLayer);
    }
    replace(householdBox, simpleTable({
      testid: 'households-list', empty: t('village.noHouseholds'), rows: list,
      rowAttrs: (hh) => ({ 'data-household-id': hh.id }),
      columns: [
        { label: t('village.household'), rowHeader: true, render: (hh) => hh.head_name },
        { label: t('village.members'), numeric: true, render: (hh) => hh.members },
        { label: t('village.pairedWith'), render: (hh) => (pairedBy.get(hh.id) || []).join('、') },
        { label: t('village.location'), render: (hh) => `${hh.location.lon.toFixed(5)}, ${hh.location.lat.toFixed(5)}` },
      ],
    }));
  }

  async function loadDay() {
    ctx.setQuery({ date });
    recordsHeading.textContent = t('village.recordsOf', { date });
    replace(tableBox, loading());
    recordLayer.clearLayers();
    accuracyLayer.clearLayers();
    markers = new Map();
    try {
      records = await loadRecords(code, date, session);
    } catch (err) {
      replace(tableBox, errorBox(err, 'map-error'));
      countLine.textContent = '';
      announce(errorMessage(err), 'error');
      return;
    }
    if (!ctx.isCurrent()) return;
    const names = await loadNames(code, date, [...new Set(records.map((r) => r.person_id).filter(Boolean))], session);
    records.sort((a, b) => String(a.captured_at).localeCompare(String(b.captured_at)));
    for (const r of records) {
      r.name = names.get(r.person_id) || (r.person_id ? r.person_id.slice(0, 8) : '—');
      if (!r.position || typeof r.position.lat !== 'number') continue;
      const geo = verdictOf(r);
      const ll = [r.position.lat, r.position.lon];
      const circle = L.circle(ll, { radius: r.position.accuracy_m || 0, className: `accuracy-circle verdict-${geo}`, color: VERDICT_COLOURS[geo], weight: 1, fillOpacity: 0.06, interactive: false });
      const marker = L.circleMarker(ll, { radius: 7, className: `record-marker verdict-${geo}`, color: '#ffffff', weight: 2, fillColor: VERDICT_COLOURS[geo], fillOpacity: 0.95 });
      const tag = (layer, extra) => layer.on('add', () => {
        const e = layer.getElement();
        if (!e) return;
        e.setAttribute('data-record-id', r.id);
        e.setAttribute('data-verdict', geo);
        e.setAttribute('data-flags', r.flags.join(' '));
        if (extra) e.setAttribute('data-testid', extra);
      });
      tag(marker, 'record-marker');
      tag(circle, 'accuracy-circle');
      marker.bindTooltip(tooltipBox([
        [t('col.kind'), tEnum('kind', r.kind)],
        [t('col.cadre'), r.name],
        [t('col.time'), fmtDateTime(r.captured_at)],
        [t('col.verdict'), tEnum('geo', geo === 'none' ? null : geo)],
        [t('col.roster'), tEnum('roster', r.verdict.roster)],
        [t('col.accuracy'), `${r.position.accuracy_m ?? '—'} m`],
        [t('col.flags'), r.flags.length ? r.flags.map((f) => tEnum('flag', f)).join('、') : t('village.noFlags')],
      ], 'record-tooltip'), { direction: 'top', offset: [0, -6] });
      markers.set(r.id, { marker, circle, record: r });
    }
    const counts = new Map([['none', 0], ...FLAGS.map((f) => [f, 0])]);
    for (const r of records) {
      if (!r.flags.length) counts.set('none', counts.get('none') + 1);
      for (const f of r.flags) counts.set(f, (counts.get(f) || 0) + 1);
    }
    for (const [f, { count }] of flagBoxes) count.textContent = `(${counts.get(f) || 0})`;
    applyFilter();
    drawTable();
    showAllRecords();
  }

  // A record captured outside the village may lie beyond the view fitted to the boundary: widen
  // the view until every record of the day is on the map (the view is kept when they all are).
  function showAllRecords() {
    if (!markers.size) return;
    const all = L.latLngBounds([...markers.values()].map(({ marker }) => marker.getLatLng()));
    if (bounds) all.extend(bounds);
    // Not animated: a zoom animation still running when the page is left makes Leaflet throw.
    if (!map.getBounds().contains(all)) map.fitBounds(all, { padding: [24, 24], animate: false });
  }

  function visible(r) {
    if (!r.flags.length) return !hidden.has('none');
    return !r.flags.some((f) => hidden.has(f));
  }

  function applyFilter() {
    let shown = 0;
    for (const { marker, circle, record } of markers.values()) {
      const v = visible(record);
      if (v) { shown += 1; if (!recordLayer.hasLayer(marker)) { recordLayer.addLayer(marker); accuracyLayer.addLayer(circle); } } else {
        recordLayer.removeLayer(marker); accuracyLayer.removeLayer(circle);
      }
    }
    countLine.textContent = t('village.count', { shown, total: markers.size, all: records.length });
    for (const tr of tableBox.querySelectorAll('tr[data-record-id]')) {
      const r = records.find((x) => x.id === tr.dataset.recordId);
      tr.hidden = r ? !visible(r) : false;
    }
  }

  function drawTable() {
    replace(tableBox, simpleTable({
      testid: 'map-records-table', empty: t('village.noRecords'), rows: records,
      caption: t('village.recordsOf', { date }),
      rowAttrs: (r) => ({ 'data-record-id': r.id, 'data-verdict': verdictOf(r) }),
      columns: [
        { label: t('col.time'), rowHeader: true, render: (r) => fmtTime(r.captured_at) },
        { label: t('col.cadre'), render: (r) => (r.person_id ? h('a', { href: `#/cadre/${r.person_id}?month=${date.slice(0, 7)}` }, r.name) : '—') },
        { label: t('col.kind'), render: (r) => tEnum('kind', r.kind) },
        { label: t('col.verdict'), render: (r) => h('span', { class: `verdict-chip verdict-${verdictOf(r)}` }, tEnum('geo', verdictOf(r) === 'none' ? null : verdictOf(r))) },
        { label: t('col.flags'), render: (r) => (r.flags.length ? r.flags.map((f) => badge(tEnum('flag', f), 'warn')) : '') },
        { label: t('col.accuracy'), numeric: true, render: (r) => (r.position ? `${r.position.accuracy_m} m` : t('village.noPosition')) },
        { label: t('col.actions'), render: (r) => (markers.has(r.id) ? showButton(r) : '') },
      ],
    }));
    applyFilter();
  }

  function showButton(r) {
    const b = h('button', { type: 'button', class: 'linklike small', 'data-testid': 'map-show-record' }, t('village.show'));
    b.addEventListener('click', () => {
      const m = markers.get(r.id);
      if (!m) return;
      if (!recordLayer.hasLayer(m.marker)) { announce(t('village.filteredOut')); return; }
      map.setView(m.marker.getLatLng(), Math.max(map.getZoom(), 15));
      m.marker.openTooltip();
      mapEl.scrollIntoView({ block: 'nearest' });
    });
    return b;
  }
}

function tagPaths(layer, attrs) {
  layer.eachLayer((l) => {
    const e = l.getElement && l.getElement();
    if (e) for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  });
}

function tooltipBox(rows, testid) {
  return h('dl', { class: 'tip', 'data-testid': testid }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function legend() {
  const item = (cls, label, key) => h('li', { 'data-legend': key }, h('span', { class: `swatch ${cls}`, 'aria-hidden': 'true' }), label);
  return h('ul', { class: 'legend map-legend', 'data-testid': 'map-legend' },
    ['inside', 'boundary', 'outside', 'unverifiable'].map((g) => item(`dot verdict-${g}`, tEnum('geo', g), g)),
    item('ring', t('village.legendAccuracy'), 'accuracy'),
    item('house', t('village.legendHousehold'), 'household'),
    item('line-village', t('village.legendBoundary'), 'boundary-village'),
    item('line-neighbour', t('village.legendNeighbour'), 'boundary-neighbour'));
}
