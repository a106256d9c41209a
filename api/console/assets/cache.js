// Look-ups that several pages share (unit names, people's names, households), kept for the
// session in memory only and dropped at logout.
import { api, apiAll, ApiError } from './api.js';

const units = new Map(); // code → unit (summary or full)
const unitPromises = new Map();
const people = new Map(); // id → Promise<person | null>
const households = new Map(); // unit code → Promise<household[]>
const householdById = new Map();

export function clearCache() {
  units.clear();
  unitPromises.clear();
  people.clear();
  households.clear();
  householdById.clear();
}

export function rememberUnits(list) {
  for (const u of list || []) {
    const known = units.get(u.code);
    units.set(u.code, known ? { ...known, ...u, boundary: u.boundary ?? known.boundary } : u);
  }
}

export function knownUnit(code) {
  return units.get(code) || null;
}

export function knownUnits() {
  return [...units.values()];
}

export function unitName(code) {
  if (!code) return '—';
  const u = units.get(code);
  return u ? u.name : code;
}

// The full unit (with its boundary).
export function getUnit(code) {
  if (!unitPromises.has(code)) {
    const p = api(`/v1/units/${encodeURIComponent(code)}`).then((u) => {
      rememberUnits([u]);
      return u;
    });
    p.catch(() => unitPromises.delete(code));
    unitPromises.set(code, p);
  }
  return unitPromises.get(code);
}

export async function getChildren(code) {
  const res = await api(`/v1/units/${encodeURIComponent(code)}/children`);
  rememberUnits(res.items);
  return res.items;
}

// The path from the root down to a unit, as far as the caller may read it.
export async function ancestry(code) {
  const chain = [];
  let current = code;
  for (let i = 0; current && i < 8; i += 1) {
    let u;
    try { u = await getUnit(current); } catch (_) { break; }
    chain.unshift(u);
    current = u.parent_code;
  }
  return chain;
}

// A person by id, or null when the caller may not read them (403) or they do not exist.
export function getPerson(id) {
  if (!id) return Promise.resolve(null);
  if (!people.has(id)) {
    const p = api(`/v1/people/${encodeURIComponent(id)}`).catch((err) => {
      if (err instanceof ApiError && (err.status === 403 || err.status === 404)) return null;
      people.delete(id);
      throw err;
    });
    people.set(id, p);
  }
  return people.get(id);
}

export function rememberPeople(list) {
  for (const p of list || []) {
    if (p && p.id) people.set(p.id, Promise.resolve(p));
  }
}

export async function personName(id) {
  try {
    const p = await getPerson(id);
    return p ? p.display_name : null;
  } catch (_) {
    return null;
  }
}

// Fills every element carrying data-person-name="<id>" with that person's name.
export async function fillPersonNames(root) {
  const els = [...root.querySelectorAll('[data-person-name]')];
  const ids = [...new Set(els.map((e) => e.dataset.personName))];
  const names = new Map(await Promise.all(ids.map(async (id) => [id, await personName(id)])));
  for (const el of els) {
    const name = names.get(el.dataset.personName);
    if (name) el.textContent = name;
  }
}

// Households of a unit's subtree; [] when the route is not there yet or not readable.
export function getHouseholds(code) {
  if (!households.has(code)) {
    const p = apiAll(`/v1/units/${encodeURIComponent(code)}/households`).then((list) => {
      for (const hh of list) householdById.set(hh.id, hh);
      return list;
    }).catch((err) => {
      households.delete(code);
      if (err instanceof ApiError && [403, 404, 405].includes(err.status)) return [];
      throw err;
    });
    households.set(code, p);
  }
  return households.get(code);
}

export function knownHousehold(id) {
  return householdById.get(id) || null;
}
