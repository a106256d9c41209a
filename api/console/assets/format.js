// Dates and times in county time (China Standard Time, UTC+8, no daylight saving), which is
// how the server counts days, whatever the browser's own time zone is.
const COUNTY_OFFSET_MS = 8 * 3600 * 1000;

function countyParts(date) {
  return new Date(date.getTime() + COUNTY_OFFSET_MS).toISOString();
}

export function countyToday() {
  return countyParts(new Date()).slice(0, 10);
}

export function countyMonth() {
  return countyToday().slice(0, 7);
}

// '2026-11-23T00:30:00.123Z' → '2026-11-23 08:30' (county time).
export function fmtDateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const s = countyParts(d);
  return `${s.slice(0, 10)} ${s.slice(11, 16)}`;
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return countyParts(d).slice(11, 19);
}

export function countyDateOf(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : countyParts(d).slice(0, 10);
}

export function isDate(s) {
  return typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));
}

export function isMonth(s) {
  return typeof s === 'string' && /^\d{4}-(0[1-9]|1[0-2])$/.test(s);
}

export function addDays(date, n) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

export function addMonths(month, n) {
  const [y, m] = month.split('-').map(Number);
  const d = new Date(Date.UTC(y, m - 1 + n, 1));
  return d.toISOString().slice(0, 7);
}

// {from: 'YYYY-MM-01', to: last day} of a month.
export function monthRange(month) {
  const from = `${month}-01`;
  const to = addDays(`${addMonths(month, 1)}-01`, -1);
  return { from, to };
}

// RFC 3339 instants bounding a county day, for the records' from/to filters.
export function dayInstants(date) {
  return { from: `${date}T00:00:00+08:00`, to: `${date}T23:59:59.999999+08:00` };
}

export function monthInstants(month) {
  const { from, to } = monthRange(month);
  return { from: `${from}T00:00:00+08:00`, to: `${to}T23:59:59.999999+08:00` };
}

export function shortId(id) {
  return id ? String(id).slice(0, 8) : '—';
}

export function fmtNumber(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return Number(n).toFixed(digits);
}

// 'a/b' with a dash for a missing requirement.
export function ratio(actual, required) {
  if (required === null || required === undefined) return `${actual ?? '—'}`;
  return `${actual ?? '—'}/${required}`;
}
