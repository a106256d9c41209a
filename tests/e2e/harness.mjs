// Helpers for the browser tests of the fieldtrail web console (see README.md beside this file).
//
// A test starts the real binary with `fieldtrail demo` on a fresh data dir and a free loopback
// port, drives Debian's Chromium through playwright-core, and stops everything in `finally` /
// `after`. Nothing here talks to anything but 127.0.0.1.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The demo's logins (api/src/demo.rs); `startDemo()` also returns the ones the demo printed. */
export const DEMO_LOGINS = Object.freeze({
  admin: { username: 'admin', password: 'demo-admin-pass' },
  supervisor: { username: 'supervisor', password: 'demo-staff-pass' },
  townshipSupervisor: { username: 'sup-longcheng', password: 'demo-staff-pass' },
  inspector: { username: 'inspector', password: 'demo-staff-pass' },
  cadre: { username: 'cadre01', password: 'demo-cadre-pass' },
});

const HEALTH_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 10_000;
const OUTPUT_LIMIT = 64 * 1024;

// Settings that would point the demo at another database, keys or data dir than its own fresh one.
const STORAGE_ENV = [
  'DATABASE_URL',
  'FIELDTRAIL_BIND',
  'FIELDTRAIL_DATA_DIR',
  'FIELDTRAIL_JWT_KEY',
  'FIELDTRAIL_LOG_KEY',
  'FIELDTRAIL_ORIGIN',
  'FIELDTRAIL_ATTACHMENTS_DIR',
];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// `promise`, or null after `ms`; the timer does not keep the process alive after the promise.
function within(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// Cleanup of whatever a test file leaves running, also when it is interrupted (Ctrl-C, or the
// SIGTERM that `timeout` in scripts/e2e sends to its whole process group).

const running = new Set(); // demos not yet stopped: { child, dataDir }

function killNow({ child, dataDir }) {
  if (child.exitCode === null && child.signalCode === null) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
}

process.on('exit', () => {
  for (const demo of running) killNow(demo);
  running.clear();
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    for (const demo of running) killNow(demo);
    running.clear();
    // playwright-core's own exit handler closes the browser.
    process.exit(128 + os.constants.signals[signal]);
  });
}

// ---------------------------------------------------------------------------------------------
// The server

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function binaryPath() {
  const bin = process.env.FIELDTRAIL_BIN || path.join(repoRoot, 'target', 'debug', 'fieldtrail');
  const resolved = path.resolve(repoRoot, bin);
  try {
    fs.accessSync(resolved, fs.constants.X_OK);
  } catch {
    throw new Error(
      `fieldtrail binary not found or not executable: ${resolved}\n` +
        '  build it with `cargo build -p fieldtrail-api --bin fieldtrail` or set FIELDTRAIL_BIN',
    );
  }
  return resolved;
}

function parseLogins(output) {
  const logins = [];
  const lines = output.split('\n');
  const start = lines.findIndex((line) => line.includes('logins (username / password):'));
  if (start < 0) return logins;
  for (const line of lines.slice(start + 1)) {
    const match = /^ {4}(\S+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!match) break;
    logins.push({ username: match[1], password: match[2], what: match[3].trim() });
  }
  return logins;
}

async function healthy(url) {
  try {
    const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function startOnce(bin, timeoutMs) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fieldtrail-e2e-'));
  const env = { ...process.env };
  for (const name of STORAGE_ENV) delete env[name];

  const child = spawn(bin, ['demo', '--data-dir', dataDir, '--bind', `127.0.0.1:${port}`], {
    cwd: dataDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const demo = { child, dataDir };
  running.add(demo);

  let output = '';
  const keep = (chunk) => {
    output += chunk.toString();
    if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  // A test file that forgets stop() still ends (the exit handler above then kills the server).
  child.unref();
  child.stdout.unref();
  child.stderr.unref();
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
  let exit = null;
  exited.then((status) => {
    exit = status;
  });

  let stopping = null;
  const stop = () => {
    stopping ??= (async () => {
      if (exit === null) {
        child.kill('SIGTERM');
        if ((await within(exited, STOP_GRACE_MS)) === null) {
          child.kill('SIGKILL');
          await within(exited, 5_000);
        }
      }
      running.delete(demo);
      fs.rmSync(dataDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const started = Date.now();
  const deadline = started + timeoutMs;
  while (Date.now() < deadline) {
    if (exit !== null) break;
    if (await healthy(url)) {
      return {
        ok: true,
        demo: {
          url,
          port,
          dataDir,
          pid: child.pid,
          startupMs: Date.now() - started,
          logins: parseLogins(output),
          output: () => output,
          stop,
        },
      };
    }
    await sleep(250);
  }

  const status = exit;
  await stop();
  const tail = output.trim().split('\n').slice(-20).join('\n    ');
  let why;
  if (status?.error) why = `could not be started: ${status.error.message}`;
  else if (status) why = `exited (${status.signal ?? `code ${status.code}`}) before /healthz answered`;
  else why = `did not answer 200 on ${url}/healthz within ${Math.round(timeoutMs / 1000)} s`;
  const portTaken = /address (already )?in use/i.test(output);
  return { ok: false, portTaken, message: `fieldtrail demo ${why}\n  its output:\n    ${tail || '(none)'}` };
}

/**
 * Start `fieldtrail demo` on a fresh temporary data dir and a free port on 127.0.0.1, and wait
 * (up to `timeoutMs`, default 120 s: the demo loads its organisation first) until GET /healthz
 * answers 200.
 *
 * Returns `{url, port, dataDir, pid, startupMs, logins, output(), stop()}`; `stop()` ends the
 * server (SIGTERM, SIGKILL after 10 s) and removes the data dir. Call it in `finally`/`after`.
 */
export async function startDemo({ timeoutMs = HEALTH_TIMEOUT_MS } = {}) {
  const bin = binaryPath();
  let last;
  // The port is free when chosen but could be taken before the server binds it: try again then.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    last = await startOnce(bin, timeoutMs);
    if (last.ok) return last.demo;
    if (!last.portTaken) break;
  }
  throw new Error(last.message);
}

// ---------------------------------------------------------------------------------------------
// The browser

/**
 * Debian's Chromium (or CHROMIUM), headless, through playwright-core. Close it in `after`.
 */
export async function launchBrowser(options = {}) {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath} (set CHROMIUM, or run scripts/e2e to install it)`);
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
    timeout: 60_000,
    ...options,
  });
}

/**
 * A demo server and a browser for the tests of one file: started before them, closed after.
 * Read `session.demo` and `session.browser` inside the tests (they are set once `before` ran).
 * `setup`, if given, runs in the same hook once both are up: node:test does not promise that a
 * file's own `before` runs after this one.
 */
export function demoAndBrowser(setup = async () => {}) {
  const session = {};
  before(async () => {
    session.demo = await startDemo();
    session.browser = await launchBrowser();
    await setup(session);
  });
  after(async () => {
    await session.browser?.close();
    await session.demo?.stop();
  });
  return session;
}

const tracked = new WeakMap(); // page -> { console: [], page: [], blocked: [], rules: [], allowed: [] }

function isLoopback(url) {
  if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    return true; // data:, blob:, about: never leave the machine
  }
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
}

/**
 * Start collecting the page's console errors (`console.error`, failed resource loads) and
 * uncaught exceptions. Idempotent; `newPage()` calls it for you.
 */
export function trackErrors(page) {
  if (tracked.has(page)) return tracked.get(page);
  const errors = { console: [], page: [], blocked: [], rules: [], allowed: [], inflight: new Set(), lastRequestAt: Date.now() };
  tracked.set(page, errors);
  page.on('request', (request) => {
    errors.inflight.add(request);
    errors.lastRequestAt = Date.now();
  });
  for (const event of ['requestfinished', 'requestfailed']) {
    page.on(event, (request) => {
      errors.inflight.delete(request);
      errors.lastRequestAt = Date.now();
    });
  }
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const { url, lineNumber } = message.location() ?? {};
    const text = message.text();
    const line = url ? `${text} (${url}:${lineNumber})` : text;
    const rule = errors.rules.find((r) => r.matches(text, url ?? ''));
    if (rule) {
      rule.seen.push(line);
      errors.allowed.push(line);
    } else {
      errors.console.push(line);
    }
  });
  page.on('pageerror', (error) => {
    errors.page.push(error.stack || String(error));
  });
  return errors;
}

/**
 * Allow console errors that a test expects, so that `assertNoErrors` does not count them.
 * Chromium logs every 4xx/5xx answer as a console error ("Failed to load resource: the server
 * responded with a status of 401 (Unauthorized)", located at the request's URL); allow exactly
 * the ones the test provokes:
 *
 *   const wrong = allowHttpErrors(page, 401, '/v1/auth/login');
 *   ...
 *   assert.equal((await wrong.waitFor(1)).length, 1, 'the wrong password should be answered 401');
 *
 * `status` is a number or an array of numbers; `path` is a string the request URL's path must
 * start with, or a RegExp tested against the whole URL. Returns `{seen(), waitFor(count), remove()}`:
 * the console lines it let through so far, a wait until `count` of them came, and a way to stop
 * allowing them.
 */
export function allowHttpErrors(page, status, path) {
  const statuses = Array.isArray(status) ? status : [status];
  const urlMatches = (url) => {
    if (path instanceof RegExp) return path.test(url);
    try {
      return new URL(url).pathname.startsWith(path);
    } catch {
      return false;
    }
  };
  return allowConsoleErrors(page, (text, url) => {
    const m = /responded with a status of (\d{3})\b/.exec(text);
    return Boolean(m) && statuses.includes(Number(m[1])) && urlMatches(url);
  });
}

/**
 * Allow console errors matching `matcher`: a RegExp tested against the message text, or a
 * function `(text, url) => boolean`. Returns `{seen(), remove()}` like `allowHttpErrors`.
 * Prefer `allowHttpErrors`; uncaught page errors and blocked requests are never allowed.
 */
export function allowConsoleErrors(page, matcher) {
  const errors = errorsOf(page);
  const rule = {
    seen: [],
    matches: typeof matcher === 'function' ? matcher : (text) => matcher.test(text),
  };
  errors.rules.push(rule);
  return {
    seen: () => rule.seen.slice(),
    // Waits (at most timeoutMs) until `count` such errors were logged: Chromium reports a failed
    // resource a moment after the page has seen the answer.
    waitFor: async (count = 1, timeoutMs = 5_000) => {
      const deadline = Date.now() + timeoutMs;
      while (rule.seen.length < count && Date.now() < deadline) await sleep(25);
      return rule.seen.slice();
    },
    remove: () => {
      const i = errors.rules.indexOf(rule);
      if (i >= 0) errors.rules.splice(i, 1);
    },
  };
}

/**
 * What `trackErrors` collected so far: `{console: string[], page: string[], blocked: string[],
 * allowed: string[]}` (`allowed`: console errors let through by `allowHttpErrors` and the like).
 */
export function errorsOf(page) {
  return tracked.get(page) ?? trackErrors(page);
}

/** Throws, listing them, if the page logged console errors, threw, or tried to leave 127.0.0.1. */
export function assertNoErrors(page, what = page.url()) {
  const { console: consoleErrors, page: pageErrors, blocked } = errorsOf(page);
  const lines = [
    ...pageErrors.map((e) => `  page error: ${e}`),
    ...consoleErrors.map((e) => `  console error: ${e}`),
    ...blocked.map((e) => `  blocked request to a non-local address: ${e}`),
  ];
  if (lines.length > 0) {
    throw new Error(`${what} had ${lines.length} error(s):\n${lines.join('\n')}`);
  }
}

/**
 * A new page in its own browser context (own cookies and storage), with error tracking on and
 * every request that would leave 127.0.0.1 aborted (and recorded as an error).
 */
export async function newPage(browser, contextOptions = {}) {
  const context = await browser.newContext({
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    viewport: { width: 1280, height: 800 },
    ...contextOptions,
  });
  const page = await context.newPage();
  const errors = trackErrors(page);
  await context.route(
    (url) => !isLoopback(url),
    (route) => {
      errors.blocked.push(route.request().url());
      return route.abort('blockedbyclient');
    },
  );
  return page;
}

// ---------------------------------------------------------------------------------------------
// The console

/**
 * Log in through the console's login form at `url` and wait for the page after it: an element
 * with a `data-page` attribute other than `login`. Returns that attribute's value.
 */
export async function login(page, url, username, password, { timeoutMs = 15_000 } = {}) {
  const response = await page.goto(url, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
  if (response && response.status() >= 400) {
    throw new Error(`login: GET ${url} answered ${response.status()}`);
  }
  const user = page.locator('[data-testid=login-username]');
  try {
    await user.waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    throw new Error(`login: no login form ([data-testid=login-username]) on ${page.url()}`);
  }
  await user.fill(username);
  await page.locator('[data-testid=login-password]').fill(password);
  await page.locator('[data-testid=login-submit]').click();
  const after = page.locator('[data-page]:not([data-page="login"])').first();
  try {
    await after.waitFor({ state: 'attached', timeout: timeoutMs });
  } catch {
    const shown = (await page.locator('body').innerText().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 300);
    throw new Error(
      `login as ${username}: no page other than login appeared within ${timeoutMs / 1000} s\n` +
        `  the page shows: ${shown || '(nothing)'}`,
    );
  }
  return after.getAttribute('data-page');
}

/**
 * Save a screenshot as docs/screenshots/<name>.png, only when FIELDTRAIL_SCREENSHOTS=1 (so that
 * ordinary runs leave the work tree alone). Returns the file's path, or null when skipped.
 */
export async function screenshot(page, name, { fullPage = true } = {}) {
  if (process.env.FIELDTRAIL_SCREENSHOTS !== '1') return null;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new Error(`screenshot name must be a plain file name without .png, got ${JSON.stringify(name)}`);
  }
  const dir = path.join(repoRoot, 'docs', 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  // Not the passing status message ("logged in") over the page; a full page from its top, so
  // that the sticky top bar is drawn where it belongs.
  await page
    .locator('[data-testid=status]:not(:empty)')
    .waitFor({ state: 'hidden', timeout: 15_000 })
    .catch(() => {});
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: file, fullPage, animations: 'disabled' });
  return file;
}

/**
 * Waits until the page has had no request in flight for `quietMs` (its trailing reads are done),
 * at most `timeoutMs`; answers whether it got there. Unlike `waitForLoadState('networkidle')`
 * this also works after a hash route change, which is no navigation. A page that polls (the
 * spot-checks page, every 5 s) is quiet between polls.
 */
export async function settle(page, { quietMs = 300, timeoutMs = 10_000 } = {}) {
  const state = errorsOf(page);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (state.inflight.size === 0 && Date.now() - state.lastRequestAt >= quietMs) return true;
    await sleep(50);
  }
  return false;
}

/** Waits until the page root `[data-page=<name>]` is visible and returns its locator. */
export async function waitForPage(page, name, { timeoutMs = 15_000 } = {}) {
  const root = page.locator(`[data-page="${name}"]`);
  try {
    await root.waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    const shown = await page
      .locator('[data-page]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-page')))
      .catch(() => []);
    const text = (await page.locator('main').innerText().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 300);
    throw new Error(
      `expected the page [data-page="${name}"] within ${timeoutMs / 1000} s at ${page.url()}; ` +
        `shown: ${shown.length ? shown.join(', ') : '(no data-page)'}; main says: ${text || '(nothing)'}`,
    );
  }
  return root;
}

/** Goes to a console route (`#/village/…`) in the page already loaded, and waits for its root. */
export async function gotoRoute(page, hash, pageName, options) {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
  return waitForPage(page, pageName, options);
}

/**
 * Horizontal overflow of the document: `{scrollWidth, innerWidth, overflows, widest}`, `widest`
 * naming the elements whose right edge lies beyond the viewport (for the failure message).
 */
export function horizontalOverflow(page) {
  return page.evaluate(() => {
    const scrollWidth = document.scrollingElement.scrollWidth;
    const innerWidth = window.innerWidth;
    const widest = [];
    if (scrollWidth > innerWidth + 1) {
      for (const el of document.querySelectorAll('body *')) {
        const r = el.getBoundingClientRect();
        if (r.right > innerWidth + 1 && r.width > 0) {
          const id = el.getAttribute('data-testid') || el.id || el.className || '';
          widest.push(`${el.tagName.toLowerCase()}${id ? `[${String(id).slice(0, 40)}]` : ''} right=${Math.round(r.right)}`);
          if (widest.length >= 8) break;
        }
      }
    }
    return { scrollWidth, innerWidth, overflows: scrollWidth > innerWidth + 1, widest };
  });
}

// ---------------------------------------------------------------------------------------------
// County time and the demo's month

const COUNTY_OFFSET_MS = 8 * 3600 * 1000;

/** Now in county time (UTC+8, as the server counts days): `{date, month, hour, minute}`. */
export function countyNow(now = new Date()) {
  const iso = new Date(now.getTime() + COUNTY_OFFSET_MS).toISOString();
  return { date: iso.slice(0, 10), month: iso.slice(0, 7), hour: Number(iso.slice(11, 13)), minute: Number(iso.slice(14, 16)) };
}

/** The county day of an RFC 3339 instant. */
export function countyDateOf(instant) {
  return new Date(new Date(instant).getTime() + COUNTY_OFFSET_MS).toISOString().slice(0, 10);
}

export function addDays(date, n) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/**
 * The month the demo's records mostly fall in. The demo plays the 30 days before today, so the
 * current month may have only a day or two of them (early in a month); the month of the day
 * 15 days ago always holds at least 15 of them. It is the current month from the 16th on.
 */
export function demoMonth(now = new Date()) {
  return addDays(countyNow(now).date, -15).slice(0, 7);
}

// ---------------------------------------------------------------------------------------------
// The API, for what a test reads or checks beside the page (Node's fetch, 127.0.0.1 only)

/** Logs in through POST /v1/auth/login and answers the bearer token. */
export async function apiLogin(url, { username, password }) {
  const response = await fetch(`${url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
    signal: AbortSignal.timeout(15_000),
  });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`login as ${username} through the API answered ${response.status}: ${body.slice(0, 300)}`);
  return JSON.parse(body).access_token;
}

/**
 * GET `path` with the token (and an X-Reason, which audited reads of supervisors and inspectors
 * may ask for); answers the parsed JSON, the text with `{text: true}` (a byte-order mark kept), or
 * a Buffer with `{bytes: true}`. Throws on any non-2xx.
 */
export async function apiGet(url, token, path, { query, text = false, bytes = false, reason = 'e2e test' } = {}) {
  const target = new URL(path, url);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) target.searchParams.set(k, String(v));
  const response = await fetch(target, {
    headers: { authorization: `Bearer ${token}`, 'x-reason': reason, accept: text || bytes ? '*/*' : 'application/json' },
    signal: AbortSignal.timeout(30_000),
  });
  const raw = Buffer.from(await response.arrayBuffer());
  const body = raw.toString('utf8');
  if (!response.ok) throw new Error(`GET ${target.pathname}${target.search} answered ${response.status}: ${body.slice(0, 300)}`);
  if (bytes) return raw;
  return text ? body : JSON.parse(body);
}

/** The person with this username, as GET /v1/people?q= lists them to `token`'s holder, or null. */
export async function findPerson(url, token, username) {
  const res = await apiGet(url, token, '/v1/people', { query: { q: username, limit: 100 } });
  return res.items.find((p) => p.username === username) ?? null;
}
