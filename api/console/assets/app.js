// Boot, the shell (top bar, menu by role, language, logout) and the hash router.
import { t, getLang, setLang, onLangChange } from './i18n.js';
import { setAuthHandlers, getReason, setReason } from './api.js';
import { h, replace, announce, errorBox } from './ui.js';
import { session, loadSession, isSignedIn, logout, forget, homeRoute, hasRole } from './session.js';
import * as loginPage from './pages/login.js';
import * as unitsPage from './pages/units.js';
import * as villagePage from './pages/village.js';
import * as cadrePage from './pages/cadre.js';
import * as spotChecksPage from './pages/spotchecks.js';
import * as bulletinPage from './pages/bulletin.js';
import * as alertsPage from './pages/alerts.js';
import * as adminPage from './pages/admin.js';

const STAFF = ['supervisor', 'inspector', 'admin'];
const ALL = ['cadre', ...STAFF];

const ROUTES = [
  { re: /^\/login$/, page: loginPage.renderLogin, public: true },
  { re: /^\/password$/, page: loginPage.renderPassword, public: true },
  { re: /^\/units$/, page: unitsPage.render, roles: STAFF },
  { re: /^\/village\/([^/]+)$/, page: villagePage.render, roles: ALL },
  { re: /^\/cadre\/([^/]+)$/, page: cadrePage.render, roles: ALL },
  { re: /^\/spot-checks$/, page: spotChecksPage.render, roles: STAFF },
  { re: /^\/bulletin$/, page: bulletinPage.render, roles: STAFF },
  { re: /^\/alerts$/, page: alertsPage.render, roles: STAFF },
  { re: /^\/admin$/, page: adminPage.render, roles: ['admin'] },
];

let cleanups = [];
let renderSeq = 0;

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs = ''] = raw.split('?');
  return { path: path || '/', query: new URLSearchParams(qs) };
}

// Changes the query part of the current route without re-rendering (for shareable state).
function setQuery(values) {
  const { path, query } = parseHash();
  for (const [k, v] of Object.entries(values)) {
    if (v === null || v === undefined || v === '') query.delete(k); else query.set(k, v);
  }
  const qs = query.toString();
  history.replaceState(null, '', `#${path}${qs ? `?${qs}` : ''}`);
}

function runCleanups() {
  for (const fn of cleanups) {
    try { fn(); } catch (_) { /* a page's teardown must not stop the next page */ }
  }
  cleanups = [];
}

function menuItems() {
  const s = session();
  if (!s || s.mustChange) return [];
  const items = [];
  if (s.role === 'cadre') {
    items.push({ href: `#/cadre/${s.id}`, label: t('nav.me'), testid: 'nav-cadre', match: '/cadre' });
    if (s.scope) items.push({ href: `#/village/${s.scope}`, label: t('nav.myVillage'), testid: 'nav-village', match: '/village' });
    return items;
  }
  items.push({ href: '#/units', label: t('nav.units'), testid: 'nav-units', match: '/units' });
  items.push({ href: '#/spot-checks', label: t('nav.spotChecks'), testid: 'nav-spot-checks', match: '/spot-checks' });
  items.push({ href: '#/bulletin', label: t('nav.bulletin'), testid: 'nav-bulletin', match: '/bulletin' });
  items.push({ href: '#/alerts', label: t('nav.alerts'), testid: 'nav-alerts', match: '/alerts' });
  if (s.role === 'admin') items.push({ href: '#/admin', label: t('nav.admin'), testid: 'nav-admin', match: '/admin' });
  return items;
}

function renderShell() {
  const bar = document.getElementById('topbar');
  const s = session();
  const { path } = parseHash();
  const items = menuItems();
  const nav = h('nav', { id: 'nav', class: 'nav', 'aria-label': t('nav.label'), 'data-testid': 'nav' },
    h('ul', null, items.map((it) => h('li', null, h('a', {
      href: it.href,
      'data-testid': it.testid,
      'aria-current': path.startsWith(it.match) ? 'page' : null,
    }, it.label)))));
  const tools = h('div', { class: 'tools' });
  if (s && !s.mustChange && (s.role === 'supervisor' || s.role === 'inspector')) {
    const input = h('input', {
      id: 'read-reason', type: 'text', maxlength: 500, value: getReason(), 'data-testid': 'read-reason',
      placeholder: t('shell.reasonPlaceholder'),
    });
    input.addEventListener('change', () => {
      setReason(input.value.trim());
      announce(input.value.trim() ? t('shell.reasonSet') : t('shell.reasonCleared'));
    });
    tools.append(h('div', { class: 'reason' }, h('label', { for: 'read-reason' }, t('shell.reason')), input));
  }
  const langBtn = h('button', {
    type: 'button', class: 'secondary small', 'data-testid': 'lang-switch', lang: getLang() === 'zh' ? 'en' : 'zh-CN',
  }, getLang() === 'zh' ? 'English' : '中文');
  langBtn.addEventListener('click', () => setLang(getLang() === 'zh' ? 'en' : 'zh'));
  tools.append(langBtn);
  if (s) {
    const who = s.person ? t('shell.who', { name: s.person.display_name, role: t(`role.${s.role}`) }) : t(`role.${s.role}`);
    tools.append(h('span', { class: 'who', 'data-testid': 'whoami', 'data-role': s.role }, who));
    if (!s.mustChange) tools.append(h('a', { href: '#/password', class: 'tool-link', 'data-testid': 'change-password' }, t('shell.changePassword')));
    const out = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'logout' }, t('shell.logout'));
    out.addEventListener('click', async () => {
      out.disabled = true;
      await logout();
      announce(t('shell.loggedOut'));
      location.hash = '#/login';
      renderShell();
    });
    tools.append(out);
  }
  const toggle = h('button', {
    type: 'button', class: 'menu-toggle', 'aria-controls': 'nav-drawer', 'aria-expanded': 'false', 'data-testid': 'menu-toggle',
  }, h('span', { 'aria-hidden': 'true' }, '☰'), h('span', { class: 'sr-only' }, t('nav.menu')));
  const drawer = h('div', { id: 'nav-drawer', class: 'drawer' }, nav, tools);
  toggle.addEventListener('click', () => {
    const open = document.body.classList.toggle('nav-open');
    toggle.setAttribute('aria-expanded', String(open));
  });
  replace(bar,
    h('a', { class: 'brand', href: homeRoute(), 'data-testid': 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), t('app.name')),
    items.length ? toggle : null,
    drawer);
  document.title = t('app.title');
  const skip = document.querySelector('.skip-link');
  if (skip) skip.textContent = t('shell.skip');
}

async function route(focusMain) {
  const seq = ++renderSeq;
  runCleanups();
  document.body.classList.remove('nav-open');
  const { path, query } = parseHash();
  const main = document.getElementById('main');
  if (path === '/' || path === '') {
    location.replace(isSignedIn() ? homeRoute() : '#/login');
    return;
  }
  const match = ROUTES.map((r) => ({ r, m: r.re.exec(path) })).find((x) => x.m);
  if (!match) {
    renderShell();
    replace(main, h('section', { 'data-page': 'not-found', class: 'page' }, h('h1', null, t('page.notFound')), h('p', null, h('a', { href: homeRoute() }, t('page.home')))));
    return;
  }
  if (!match.r.public) {
    if (!isSignedIn()) {
      location.replace('#/login');
      return;
    }
    if (!session()) await loadSession();
    if (seq !== renderSeq) return;
    const s = session();
    if (!s) {
      location.replace('#/login');
      return;
    }
    if (s.mustChange) {
      location.replace('#/password');
      return;
    }
    if (match.r.roles && !hasRole(...match.r.roles)) {
      renderShell();
      replace(main, h('section', { 'data-page': 'forbidden', class: 'page' }, h('h1', null, t('page.forbidden')), h('p', null, h('a', { href: homeRoute() }, t('page.home')))));
      return;
    }
  }
  renderShell();
  const root = h('div', { class: 'page-host' });
  replace(main, root);
  const ctx = {
    params: match.m.slice(1).map(decodeURIComponent),
    query,
    setQuery,
    session: session(),
    onCleanup: (fn) => cleanups.push(fn),
    isCurrent: () => seq === renderSeq,
    rerender: () => route(false),
  };
  try {
    await match.r.page(root, ctx);
  } catch (err) {
    if (seq === renderSeq) root.append(errorBox(err, 'page-error'));
  }
  // A page that put the focus somewhere itself (login: the username field) keeps it.
  const focusedByPage = main.contains(document.activeElement) && document.activeElement !== main;
  if (focusMain && seq === renderSeq && !focusedByPage) {
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: false });
    } else {
      main.focus();
    }
  }
}

function boot() {
  setAuthHandlers({
    unauthorized: () => {
      forget();
      announce(t('shell.sessionEnded'), 'error');
      if (!location.hash.startsWith('#/login')) location.hash = '#/login';
    },
    passwordChange: () => {
      const s = session();
      if (s) s.mustChange = true;
      if (!location.hash.startsWith('#/password')) location.hash = '#/password';
    },
  });
  onLangChange(() => route(false));
  document.addEventListener('click', (ev) => {
    const skip = ev.target.closest('.skip-link');
    if (skip) {
      ev.preventDefault();
      document.getElementById('main').focus();
    }
  });
  window.addEventListener('hashchange', () => route(true));
  route(false);
}

boot();
