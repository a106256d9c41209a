// One cadre: a month's presence calendar, the month's records (each provable against the
// ledger), visits per paired household, spot-check results and the archive.
import { t, tEnum } from '../i18n.js';
import { api, apiAll } from '../api.js';
import { h, replace, errorBox, loading, simpleTable, badge, section } from '../ui.js';
import { getPerson, getHouseholds, knownHousehold, unitName, getUnit, fillPersonNames } from '../cache.js';
import { countyMonth, countyToday, isMonth, addMonths, monthRange, monthInstants, countyDateOf, fmtDateTime, fmtTime, shortId } from '../format.js';
import { presenceCalendar, calendarLegend } from '../calendar.js';
import { proveButton } from '../proofview.js';
import { archiveSections, spotCheckTable } from './archive.js';

function verdictText(r) {
  const v = r.effective && r.effective.verdict ? r.effective.verdict : r.verdict || {};
  if (v.outcome) return tEnum('outcome', v.outcome);
  if (v.result) return tEnum('outcome', v.result);
  if (v.geo) return tEnum('geo', v.geo);
  return tEnum('roster', v.roster);
}

function verdictClass(r) {
  const v = r.effective && r.effective.verdict ? r.effective.verdict : r.verdict || {};
  return v.geo || v.household_check || 'none';
}

export async function render(root, ctx) {
  const id = ctx.params[0] === 'me' ? ctx.session.id : ctx.params[0];
  const month = isMonth(ctx.query.get('month')) ? ctx.query.get('month') : countyMonth();
  const role = ctx.session.role;
  const page = h('section', { class: 'page', 'data-page': 'cadre', 'data-person-id': id, 'data-month': month }, loading());
  root.append(page);
  let person;
  try {
    person = await getPerson(id);
    if (!person) throw Object.assign(new Error(t('cadre.notVisible')), { readable: () => t('cadre.notVisible') });
  } catch (err) {
    replace(page, h('h1', null, t('cadre.title')), errorBox(err));
    return;
  }
  if (!ctx.isCurrent()) return;
  const go = (m) => { location.hash = `#/cadre/${id}?month=${m}`; };
  const monthInput = h('input', { type: 'month', id: 'cadre-month', value: month, 'data-testid': 'cadre-month' });
  monthInput.addEventListener('change', () => { if (isMonth(monthInput.value)) go(monthInput.value); });
  const prev = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'cadre-prev-month', 'aria-label': t('cadre.prevMonth') }, '‹');
  const next = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'cadre-next-month', 'aria-label': t('cadre.nextMonth') }, '›');
  prev.addEventListener('click', () => go(addMonths(month, -1)));
  next.addEventListener('click', () => go(addMonths(month, 1)));

  const calBox = h('div', { class: 'cal-box' }, loading());
  const dayBox = h('div', { class: 'day-detail', 'data-testid': 'day-detail', 'aria-live': 'polite' });
  const recordsBox = h('div', null, loading());
  const proofBox = h('div', { class: 'proof-host', 'data-testid': 'proof-host' });
  const visitsBox = h('div', null, loading());
  const spotBox = h('div', null, loading());
  const archiveBox = h('div', null, loading());
  const readersBox = h('div');
  const own = id === ctx.session.id;

  replace(page,
    h('div', { class: 'page-head' },
      h('h1', null, person.display_name, h('span', { class: 'muted' }, ` · ${tEnum('role', person.role)}`)),
      h('div', { class: 'controls' }, h('label', { for: 'cadre-month' }, t('common.month')), prev, monthInput, next)),
    h('p', { class: 'muted', 'data-testid': 'cadre-identity' },
      `${person.username} · ${unitName(person.unit_code)}${person.phone ? ` · ${person.phone}` : ''}`,
      person.active === false ? badge(t('people.inactive'), 'bad') : null),
    section(t('cadre.presence', { month }), { 'data-testid': 'cadre-presence' }, calBox, dayBox),
    section(t('cadre.records', { month }), { 'data-testid': 'cadre-records' }, proofBox, recordsBox),
    section(t('cadre.visits'), { 'data-testid': 'cadre-visits' }, visitsBox),
    section(t('cadre.spotChecks'), { 'data-testid': 'cadre-spot-checks-section' }, spotBox),
    section(t('cadre.archive'), { 'data-testid': 'cadre-archive' }, archiveBox),
    own ? section(t('cadre.readers'), { 'data-testid': 'cadre-readers' }, readersBox) : null);

  if (person.unit_code) getUnit(person.unit_code).catch(() => null);
  const { from, to: monthEnd } = monthRange(month);
  // Days after today have no presence yet: ask only up to today (the server would call them absent).
  const to = monthEnd > countyToday() ? countyToday() : monthEnd;
  const instants = monthInstants(month);
  const [presence, records, pairings, archive, assignments] = await Promise.allSettled([
    from <= to ? api(`/v1/people/${id}/presence`, { query: { from, to } }) : Promise.resolve({ days: [], totals: {} }),
    apiAll(`/v1/people/${id}/records`, instants),
    api(`/v1/people/${id}/pairings`),
    api(`/v1/people/${id}/archive`, { query: { from: addMonths(month, -11), to: month } }),
    api(`/v1/people/${id}/assignments`),
  ]);
  if (!ctx.isCurrent()) return;
  const recs = records.status === 'fulfilled' ? records.value : [];
  let selected = ctx.query.get('day');

  function drawCalendar() {
    if (presence.status !== 'fulfilled') { replace(calBox, errorBox(presence.reason, 'presence-error')); return; }
    const rep = presence.value;
    replace(calBox,
      presenceCalendar({ month, days: rep.days, selected, today: countyToday(), onSelect: (day) => { selected = day ? day.date : null; ctx.setQuery({ day: selected }); drawCalendar(); drawDay(); drawRecords(); } }),
      calendarLegend(rep.totals));
  }

  function drawDay() {
    if (!selected || presence.status !== 'fulfilled') { replace(dayBox); return; }
    const day = presence.value.days.find((d) => d.date === selected);
    if (!day) { replace(dayBox, h('p', { class: 'muted' }, t('calendar.noData'))); return; }
    replace(dayBox, h('h3', null, t('cadre.dayTitle', { date: day.date })),
      h('dl', { class: 'facts', 'data-testid': 'day-facts', 'data-day': day.date, 'data-status': day.status },
        h('dt', null, t('col.status')), h('dd', null, tEnum('day', day.status)),
        h('dt', null, t('calendar.night')), h('dd', null, day.night ? t('common.yes') : t('common.no')),
        h('dt', null, t('cadre.recordsCount')), h('dd', null, String(day.records)),
        h('dt', null, t('col.flags')), h('dd', null, day.flags.length ? day.flags.map((f) => tEnum('flag', f)).join('、') : '—'),
        h('dt', null, t('calendar.corrected')), h('dd', null, day.corrected ? t('common.yes') : t('common.no')),
        day.duty_id ? [h('dt', null, t('calendar.duty')), h('dd', null, day.duty_met ? t('cadre.dutyMet') : t('cadre.dutyNotMet'))] : null,
        h('dt', null, t('cadre.spotChecks')), h('dd', null, day.spot_checks.length ? day.spot_checks.map((s) => `${tEnum('outcome', s.outcome)} ${fmtTime(s.at)}`).join('、') : '—')),
      h('button', { type: 'button', class: 'linklike small', 'data-testid': 'day-clear', onclick: () => { selected = null; ctx.setQuery({ day: null }); drawCalendar(); drawDay(); drawRecords(); } }, t('cadre.showAllDays')));
  }

  function drawRecords() {
    if (records.status !== 'fulfilled') { replace(recordsBox, errorBox(records.reason, 'records-error')); return; }
    const day = selected && presence.status === 'fulfilled' ? presence.value.days.find((d) => d.date === selected) : null;
    const evidence = new Set(day ? day.evidence : []);
    const rows = recs.filter((r) => !selected || countyDateOf(r.captured_at) === selected)
      .sort((a, b) => String(a.captured_at).localeCompare(String(b.captured_at)));
    const canProve = role !== 'supervisor' || person.id === ctx.session.id;
    replace(recordsBox,
      selected ? h('p', { class: 'muted' }, t('cadre.filteredDay', { date: selected, n: rows.length })) : h('p', { class: 'muted' }, t('cadre.recordCount', { n: rows.length })),
      !canProve ? h('p', { class: 'muted', 'data-testid': 'prove-unavailable' }, t('proof.supervisorNote')) : null,
      simpleTable({
        testid: 'cadre-records-table', empty: t('cadre.noRecords'), rows,
        rowAttrs: (r) => ({ 'data-record-id': r.id, 'data-kind': r.kind, 'data-seq': r.seq, class: evidence.has(r.id) ? 'is-evidence' : null }),
        columns: [
          { label: t('col.time'), rowHeader: true, render: (r) => fmtDateTime(r.captured_at) },
          { label: t('col.kind'), render: (r) => tEnum('kind', r.kind) },
          { label: t('col.verdict'), render: (r) => h('span', { class: `verdict-chip verdict-${verdictClass(r)}` }, verdictText(r)) },
          { label: t('col.flags'), render: (r) => (r.flags && r.flags.length ? r.flags.map((f) => badge(tEnum('flag', f), 'warn')) : '') },
          { label: t('col.status'), render: (r) => [r.status ? tEnum('status', r.status) : '', r.effective && r.effective.correction_id ? badge(t('calendar.corrected'), 'info') : null, r.contested_by && r.contested_by.length ? badge(t('cadre.contested'), 'bad') : null] },
          { label: t('col.seq'), numeric: true, render: (r) => r.seq },
          { label: t('col.actions'), render: (r) => (canProve ? proveButton(r, role, proofBox) : '') },
        ],
      }));
  }

  async function drawVisits() {
    if (pairings.status !== 'fulfilled') { replace(visitsBox, errorBox(pairings.reason)); return; }
    const villages = assignments.status === 'fulfilled' ? [...new Set(assignments.value.items.map((a) => a.unit_code))] : [];
    await Promise.all(villages.map((v) => getHouseholds(v).catch(() => [])));
    const monthRow = archive.status === 'fulfilled' ? archive.value.months.find((m) => m.month === month) : null;
    const status = new Map((monthRow ? monthRow.households : []).map((x) => [x.pairing_id, x]));
    const visits = recs.filter((r) => r.kind === 'household_visit');
    const rows = pairings.value.items.map((p) => {
      const mine = visits.filter((v) => v.household_id === p.household_id);
      const last = mine.map((v) => v.captured_at).sort().pop();
      return { p, hh: knownHousehold(p.household_id), count: mine.length, last, st: status.get(p.id) };
    });
    replace(visitsBox, simpleTable({
      testid: 'cadre-visits-table', empty: t('cadre.noPairings'), rows,
      rowAttrs: (r) => ({ 'data-household-id': r.p.household_id, 'data-overdue': r.st ? String(r.st.overdue) : null }),
      columns: [
        { label: t('village.household'), rowHeader: true, render: (r) => (r.hh ? r.hh.head_name : shortId(r.p.household_id)) },
        { label: t('col.village'), render: (r) => (r.hh ? unitName(r.hh.unit_code) : '—') },
        { label: t('col.period'), render: (r) => `${r.p.valid_from} – ${r.p.valid_to || t('common.openEnded')}` },
        { label: t('cadre.visitsThisMonth'), numeric: true, render: (r) => r.count },
        { label: t('cadre.lastVisit'), render: (r) => (r.last ? fmtDateTime(r.last) : (r.st && r.st.last_visit) || '—') },
        { label: t('cadre.overdue'), render: (r) => (r.st ? badge(r.st.overdue ? t('cadre.overdueYes', { days: r.st.days_since_visit, interval: r.st.interval_days }) : t('cadre.overdueNo'), r.st.overdue ? 'bad' : 'ok') : '—') },
      ],
    }));
  }

  function drawArchive() {
    if (archive.status !== 'fulfilled') {
      replace(archiveBox, errorBox(archive.reason, 'archive-error'));
      replace(spotBox, errorBox(archive.reason));
      return;
    }
    replace(spotBox, spotCheckTable(archive.value.spot_checks));
    replace(archiveBox, archiveSections(archive.value));
  }

  async function drawReaders() {
    if (!own) return;
    try {
      const res = await api('/v1/me/readers');
      replace(readersBox, simpleTable({
        testid: 'cadre-readers-table', empty: t('cadre.noReaders'), rows: res.reads.slice(0, 50),
        columns: [
          { label: t('col.time'), rowHeader: true, render: (r) => fmtDateTime(r.read_at) },
          { label: t('col.reader'), render: (r) => h('span', { 'data-person-name': r.actor_id }, shortId(r.actor_id)) },
          { label: t('col.role'), render: (r) => tEnum('role', r.actor_role) },
          { label: t('col.what'), render: (r) => tEnum('readWhat', r.what) },
          { label: t('col.reason'), long: true, render: (r) => r.reason },
        ],
      }));
      if (role !== 'cadre') fillPersonNames(readersBox);
    } catch (err) {
      replace(readersBox, errorBox(err));
    }
  }

  drawCalendar();
  drawDay();
  drawRecords();
  drawArchive();
  await drawVisits();
  await drawReaders();
}
