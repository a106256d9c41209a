// Who is signed in: the token's claims, then the person as the server has them.
import { api, claims, clearToken, getToken, setToken, setReason } from './api.js';
import { clearCache, getPerson, rememberPeople } from './cache.js';

let current = null; // {id, role, scope, person, mustChange}

export function session() {
  return current;
}

export function isSignedIn() {
  return Boolean(getToken());
}

export function hasRole(...roles) {
  return Boolean(current && roles.includes(current.role));
}

// Reads the claims and the person; a token that must change its password stops at the claims
// (every other route answers 403 until it is changed).
export async function loadSession() {
  const c = claims();
  if (!c) {
    current = null;
    return null;
  }
  current = { id: c.sub, role: c.role, scope: c.scope ?? null, person: null, mustChange: Boolean(c.mcp) };
  if (current.mustChange) return current;
  try {
    const person = await getPerson(c.sub);
    if (person) {
      current.person = person;
      current.role = person.role || current.role;
      current.scope = person.unit_code ?? current.scope;
      if (person.must_change_password) current.mustChange = true;
    }
  } catch (_) {
    /* the claims are enough to draw the menu; pages report their own errors */
  }
  return current;
}

export async function login(username, password) {
  const res = await api('/v1/auth/login', { method: 'POST', body: { username, password }, auth: false });
  setToken(res.access_token);
  clearCache();
  const s = await loadSession();
  if (res.must_change_password && s) s.mustChange = true;
  return s;
}

export async function changePassword(currentPassword, newPassword) {
  const res = await api('/v1/me/password', { method: 'POST', body: { current: currentPassword, new: newPassword } });
  setToken(res.access_token);
  clearCache();
  return loadSession();
}

export async function logout() {
  try {
    await api('/v1/auth/logout', { method: 'POST' });
  } catch (_) {
    /* the token is dropped here whatever the server said */
  }
  clearToken();
  setReason('');
  clearCache();
  current = null;
}

export function forget() {
  clearToken();
  clearCache();
  current = null;
}

export function remember(person) {
  rememberPeople([person]);
}

// Where a role starts.
export function homeRoute() {
  if (!current) return '#/login';
  if (current.mustChange) return '#/password';
  if (current.role === 'cadre') return `#/cadre/${current.id}`;
  return '#/units';
}
