// A month's presence calendar: one button per county day, Monday first, coloured by status,
// with marks for a night in the village, a corrected day, flags and spot-checks.
import { t, tEnum } from './i18n.js';
import { h } from './ui.js';
import { monthRange, addDays } from './format.js';

export const STATUSES = ['present', 'trip', 'leave', 'absent', 'not_assigned'];

// days: PresenceDay[] (GET /v1/people/{id}/presence); onSelect(day | null); selected: date.
export function presenceCalendar({ month, days, onSelect, selected, today }) {
  const byDate = new Map(days.map((d) => [d.date, d]));
  const { from, to } = monthRange(month);
  const first = new Date(`${from}T00:00:00Z`).getUTCDay(); // 0 = Sunday
  const lead = (first + 6) % 7; // Monday first
  const weekdays = [1, 2, 3, 4, 5, 6, 0].map((d) => t(`calendar.wd${d}`));
  const cells = [];
  for (let i = 0; i < lead; i += 1) cells.push(h('td', { class: 'cal-empty' }));
  for (let date = from; date <= to; date = addDays(date, 1)) {
    const day = byDate.get(date);
    cells.push(h('td', null, dayButton(date, day, { onSelect, selected, today })));
  }
  while (cells.length % 7) cells.push(h('td', { class: 'cal-empty' }));
  const rows = [];
  for (let i = 0; i < cells.length; i += 7) rows.push(h('tr', null, cells.slice(i, i + 7)));
  return h('table', { class: 'calendar', 'data-testid': 'calendar', 'data-month': month },
    h('caption', { class: 'sr-only' }, t('calendar.caption', { month })),
    h('thead', null, h('tr', null, weekdays.map((w) => h('th', { scope: 'col' }, w)))),
    h('tbody', null, rows));
}

function dayButton(date, day, { onSelect, selected, today }) {
  const status = day ? day.status : 'none';
  const marks = [];
  const words = [date, day ? tEnum('day', day.status) : t('calendar.noData')];
  if (day && day.night) { marks.push(h('span', { class: 'mark night', 'aria-hidden': 'true', title: t('calendar.night') }, '☾')); words.push(t('calendar.night')); }
  if (day && day.corrected) { marks.push(h('span', { class: 'mark corrected', 'aria-hidden': 'true', title: t('calendar.corrected') }, '✎')); words.push(t('calendar.corrected')); }
  if (day && day.flags && day.flags.length) { marks.push(h('span', { class: 'mark flagged', 'aria-hidden': 'true', title: day.flags.map((f) => tEnum('flag', f)).join('、') }, '⚑')); words.push(t('calendar.flagged', { n: day.flags.length })); }
  if (day && day.spot_checks && day.spot_checks.length) { marks.push(h('span', { class: 'mark spot', 'aria-hidden': 'true' }, '◎')); words.push(t('calendar.spotChecks', { n: day.spot_checks.length })); }
  if (day && day.duty_id) { marks.push(h('span', { class: 'mark duty', 'aria-hidden': 'true' }, '值')); words.push(t('calendar.duty')); }
  const btn = h('button', {
    type: 'button',
    class: `cal-day status-${status}${day && day.corrected ? ' is-corrected' : ''}${date === today ? ' is-today' : ''}`,
    'data-testid': 'calendar-day',
    'data-day': date,
    'data-status': status,
    'data-night': day ? String(Boolean(day.night)) : 'false',
    'data-corrected': day ? String(Boolean(day.corrected)) : 'false',
    'data-flags': day && day.flags ? day.flags.join(' ') : '',
    'data-future': today && date > today ? 'true' : null,
    'aria-pressed': String(selected === date),
    'aria-label': words.join('，'),
  }, h('span', { class: 'num' }, String(Number(date.slice(8)))), h('span', { class: 'marks' }, marks),
  day && day.records ? h('span', { class: 'count', 'aria-hidden': 'true' }, String(day.records)) : null);
  btn.addEventListener('click', () => onSelect && onSelect(selected === date ? null : day || { date }));
  return btn;
}

export function calendarLegend(totals) {
  const items = STATUSES.map((s) => h('li', null, h('span', { class: `swatch status-${s}`, 'aria-hidden': 'true' }),
    tEnum('day', s), totals ? ` ${totals[s] ?? 0}` : ''));
  items.push(h('li', null, h('span', { class: 'mark night', 'aria-hidden': 'true' }, '☾'), t('calendar.night'), totals ? ` ${totals.nights ?? 0}` : ''));
  items.push(h('li', null, h('span', { class: 'mark corrected', 'aria-hidden': 'true' }, '✎'), t('calendar.corrected')));
  items.push(h('li', null, h('span', { class: 'mark flagged', 'aria-hidden': 'true' }, '⚑'), t('calendar.flaggedLegend'), totals ? ` ${totals.flagged_days ?? 0}` : ''));
  items.push(h('li', null, h('span', { class: 'mark spot', 'aria-hidden': 'true' }, '◎'), t('calendar.spotLegend')));
  return h('ul', { class: 'legend', 'data-testid': 'calendar-legend' }, items);
}
