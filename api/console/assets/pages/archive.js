// The cadre's archive (档案, GET /v1/people/{id}/archive): month by month compliance, leave and
// trips, corrections and disputes, negative-list items, escalation and supervisors' notes.
import { t, tEnum, getLang } from '../i18n.js';
import { h, simpleTable, badge } from '../ui.js';
import { unitName } from '../cache.js';
import { ratio, fmtDateTime } from '../format.js';

function decision(d) {
  if (!d) return '—';
  return `${tEnum('decision', d.decision)}${d.note ? `：${d.note}` : ''}`;
}

export function archiveSections(archive) {
  const zh = getLang() === 'zh';
  const months = simpleTable({
    testid: 'archive-months', empty: t('archive.noMonths'), caption: t('archive.monthsCaption', { from: archive.from, to: archive.to }),
    rows: archive.months.slice().reverse(),
    rowAttrs: (m) => ({ 'data-month': m.month, 'data-compliant': String(m.compliant) }),
    columns: [
      { label: t('common.month'), rowHeader: true, render: (m) => m.month },
      { label: t('col.assignedDays'), numeric: true, render: (m) => m.assigned_days },
      { label: t('col.days'), numeric: true, render: (m) => ratio(m.days_in_village, m.required_days) },
      { label: t('col.nights'), numeric: true, render: (m) => ratio(m.nights_in_village, m.required_nights) },
      { label: t('col.leaveDays'), numeric: true, render: (m) => m.leave_days },
      { label: t('col.tripDays'), numeric: true, render: (m) => m.trip_days },
      { label: t('col.visits'), numeric: true, render: (m) => m.visits },
      { label: t('col.overdue'), numeric: true, render: (m) => m.overdue_households },
      { label: t('col.compliant'), render: (m) => badge(m.compliant ? t('compliance.ok') : t('compliance.notOk'), m.compliant ? 'ok' : 'warn') },
      { label: t('col.reasons'), long: true, render: (m) => m.reasons.map((r) => (zh ? r.text_zh : r.message)).join('；') },
    ],
  });
  const leave = simpleTable({
    testid: 'archive-leave', empty: t('archive.noLeave'), rows: archive.leave,
    columns: [
      { label: t('col.kind'), rowHeader: true, render: (l) => tEnum('kind', l.kind) },
      { label: t('col.from'), render: (l) => l.from },
      { label: t('col.to'), render: (l) => l.to },
      { label: t('col.status'), render: (l) => tEnum('status', l.status) },
      { label: t('col.returnedOn'), render: (l) => l.returned_on },
      { label: t('col.decision'), long: true, render: (l) => decision(l.decision) },
    ],
  });
  const corrections = simpleTable({
    testid: 'archive-corrections', empty: t('archive.noCorrections'), rows: archive.corrections,
    columns: [
      { label: t('col.kind'), rowHeader: true, render: (c) => tEnum('kind', c.kind) },
      { label: t('col.refersTo'), render: (c) => h('code', null, c.refers_to.slice(0, 8)) },
      { label: t('col.status'), render: (c) => tEnum('status', c.status) },
      { label: t('col.decision'), long: true, render: (c) => decision(c.decision) },
    ],
  });
  const negative = simpleTable({
    testid: 'archive-negative', empty: t('archive.noNegative'), rows: archive.negative_items,
    columns: [
      { label: t('common.month'), rowHeader: true, render: (n) => n.month },
      { label: t('col.rule'), render: (n) => tEnum('rule', n.rule) },
      { label: t('col.village'), render: (n) => unitName(n.unit_code) },
      { label: t('col.message'), long: true, render: (n) => n.message },
      { label: t('col.status'), render: (n) => tEnum('negStatus', n.status) },
      { label: t('col.decision'), long: true, render: (n) => (n.decision ? `${tEnum('negStatus', n.decision.decision)}：${n.decision.note}` : '—') },
    ],
  });
  const esc = archive.escalation;
  const escalation = h('div', { 'data-testid': 'archive-escalation' },
    h('p', null, t('archive.escalationNow', { count: esc.count, days: esc.window_days, level: esc.level, name: esc.name || t('archive.noLevel') })),
    simpleTable({
      testid: 'archive-escalation-actions', empty: t('archive.noActions'), rows: esc.actions,
      columns: [
        { label: t('col.date'), rowHeader: true, render: (a) => a.taken_on },
        { label: t('col.level'), render: (a) => `${a.level} ${a.name}` },
        { label: t('col.note'), long: true, render: (a) => a.note },
      ],
    }));
  const notes = simpleTable({
    testid: 'archive-notes', empty: t('archive.noNotes'), rows: archive.notes,
    columns: [
      { label: t('col.time'), rowHeader: true, render: (n) => fmtDateTime(n.captured_at) },
      { label: t('col.category'), render: (n) => tEnum('noteCategory', n.category) },
      { label: t('col.note'), long: true, render: (n) => n.text },
    ],
  });
  const assignments = simpleTable({
    testid: 'archive-assignments', empty: t('archive.noAssignments'), rows: archive.assignments,
    columns: [
      { label: t('col.village'), rowHeader: true, render: (a) => h('a', { href: `#/village/${encodeURIComponent(a.unit_code)}` }, unitName(a.unit_code)) },
      { label: t('col.role'), render: (a) => tEnum('assignmentRole', a.role) },
      { label: t('col.from'), render: (a) => a.valid_from },
      { label: t('col.to'), render: (a) => a.valid_to || t('common.openEnded') },
    ],
  });
  return h('div', { class: 'archive', 'data-testid': 'archive' },
    h('h3', null, t('archive.assignments')), assignments,
    h('h3', null, t('archive.months')), months,
    h('h3', null, t('archive.leave')), leave,
    h('h3', null, t('archive.corrections')), corrections,
    h('h3', null, t('archive.negative')), negative,
    h('h3', null, t('archive.escalation')), escalation,
    h('h3', null, t('archive.notes')), notes);
}

export function spotCheckTable(list, testid = 'cadre-spot-checks') {
  return simpleTable({
    testid, empty: t('cadre.noSpotChecks'), rows: list.slice().sort((a, b) => String(b.at).localeCompare(String(a.at))),
    rowAttrs: (s) => ({ 'data-result-id': s.id, 'data-outcome': s.outcome }),
    columns: [
      { label: t('col.time'), rowHeader: true, render: (s) => fmtDateTime(s.at) },
      { label: t('col.kind'), render: (s) => tEnum('kind', s.kind) },
      { label: t('col.method'), render: (s) => tEnum('method', s.method) },
      { label: t('col.outcome'), render: (s) => badge(tEnum('outcome', s.outcome), ['present', 'confirmed', 'on_leave', 'on_trip'].includes(s.outcome) ? 'ok' : 'warn') },
      { label: t('col.dispute'), render: (s) => (s.dispute ? tEnum('status', s.dispute.status) : '—') },
    ],
  });
}
