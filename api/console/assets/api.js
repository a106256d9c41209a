// The one way the console talks to the server: bearer token from sessionStorage, JSON in and
// out, RFC 9457 problem+json turned into a readable ApiError, 401 → back to the login page.
import { t } from './i18n.js';

const TOKEN_KEY = 'ft.token';
const REASON_KEY = 'ft.reason';

export function getToken() {
  try { return sessionStorage.getItem(TOKEN_KEY); } catch (_) { return null; }
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  try { sessionStorage.removeItem(TOKEN_KEY); } catch (_) { /* nothing kept */ }
}

// The token's claims (informational: the server decides from its own records).
export function claims(token = getToken()) {
  if (!token) return null;
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (_) {
    return null;
  }
}

// Why a supervisor or inspector reads personal data (X-Reason on audited reads).
export function getReason() {
  try { return sessionStorage.getItem(REASON_KEY) || ''; } catch (_) { return ''; }
}

export function setReason(text) {
  try {
    if (text) sessionStorage.setItem(REASON_KEY, text);
    else sessionStorage.removeItem(REASON_KEY);
  } catch (_) { /* not kept */ }
}

// Header values must be ISO-8859-1 in fetch(): a reason with other characters (Chinese) is sent
// percent-encoded as UTF-8, since the browser cannot send the raw bytes.
function headerSafe(text) {
  return /^[\x20-\x7e]*$/.test(text) ? text : encodeURIComponent(text);
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem && (problem.detail || problem.title) ? (problem.detail || problem.title) : `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.type = (problem && problem.type) || '';
  }

  get slug() {
    const parts = this.type.split(':');
    return parts[parts.length - 1] || '';
  }

  get errors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }

  // The reason given for one pointer ('/current'), if any.
  reasonFor(pointer) {
    const e = this.errors.find((x) => x.pointer === pointer);
    return e ? e.reason : null;
  }

  // A sentence for a person: what went wrong, in their language where we know the kind.
  readable() {
    if (this.status === 0) return t('err.network');
    const known = {
      401: 'err.401', 403: 'err.403', 404: 'err.404', 409: 'err.409', 413: 'err.413', 422: 'err.422', 503: 'err.503',
    };
    let head = t(known[this.status] || 'err.other', { status: this.status });
    if (this.slug === 'route-not-found') head = t('err.route');
    if (this.slug.endsWith('password-change-required')) head = t('err.mcp');
    if (this.status === 400 && this.errors.some((e) => /x-reason/i.test(e.pointer))) return t('err.reasonRequired');
    const detail = this.problem.detail || this.problem.title || '';
    return detail ? `${head} ${detail}` : head;
  }
}

let onUnauthorized = () => {};
let onPasswordChangeRequired = () => {};

export function setAuthHandlers({ unauthorized, passwordChange }) {
  if (unauthorized) onUnauthorized = unauthorized;
  if (passwordChange) onPasswordChangeRequired = passwordChange;
}

function buildUrl(path, query) {
  const url = new URL(path, location.origin);
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === '') continue;
      url.searchParams.set(k, String(v));
    }
  }
  return url.pathname + url.search;
}

// api('/v1/units', {query, method, body, raw, headers, auth}). `raw: true` answers the Response
// itself (for text and blobs); otherwise the parsed JSON body, or null for 204.
export async function api(path, opts = {}) {
  const { method = 'GET', query, body, raw = false, auth = true } = opts;
  const headers = new Headers(opts.headers || {});
  const token = getToken();
  if (auth && token) headers.set('Authorization', `Bearer ${token}`);
  if (method === 'GET' && auth) {
    const reason = getReason();
    if (reason) headers.set('X-Reason', headerSafe(reason));
  }
  let payload;
  if (body instanceof Blob || body instanceof ArrayBuffer) {
    payload = body;
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers.set('Content-Type', 'application/json');
  }
  if (!headers.has('Accept') && !raw) headers.set('Accept', 'application/json');
  let res;
  try {
    res = await fetch(buildUrl(path, query), { method, headers, body: payload, credentials: 'omit', cache: 'no-store' });
  } catch (_) {
    throw new ApiError(0, { title: t('err.network') });
  }
  if (!res.ok) {
    let problem = null;
    const type = res.headers.get('Content-Type') || '';
    try {
      problem = type.includes('json') ? await res.json() : { detail: (await res.text()).slice(0, 300) };
    } catch (_) { problem = null; }
    const err = new ApiError(res.status, problem);
    if (res.status === 401 && auth && token) {
      clearToken();
      onUnauthorized(err);
    } else if (res.status === 403 && err.slug.endsWith('password-change-required')) {
      onPasswordChangeRequired(err);
    }
    throw err;
  }
  if (raw) return res;
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

// Every page of a cursor-paginated list ({items, next_cursor}), up to `max` items.
export async function apiAll(path, query = {}, max = 5000) {
  const items = [];
  let cursor = null;
  do {
    const page = await api(path, { query: { ...query, limit: 1000, cursor } });
    items.push(...(page.items || []));
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

// Links cannot carry the bearer header, so downloads are fetched and handed over as a blob.
export async function download(path, query, fallbackName) {
  const res = await api(path, { query, raw: true });
  const blob = await res.blob();
  const name = filenameFrom(res.headers.get('Content-Disposition')) || fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
  return name;
}

function filenameFrom(disposition) {
  if (!disposition) return null;
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
  if (star) {
    try { return decodeURIComponent(star[1].trim()); } catch (_) { /* fall through */ }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
  return plain ? plain[1].trim() : null;
}
