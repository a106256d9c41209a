// Login, and the change of password a new or reset account must make first.
import { t } from '../i18n.js';
import { ApiError } from '../api.js';
import { h, field, fieldError, announce, errorMessage } from '../ui.js';
import { login, changePassword, session, isSignedIn, homeRoute, loadSession, logout } from '../session.js';

export async function renderLogin(root) {
  if (isSignedIn() && session() && !session().mustChange) {
    location.replace(homeRoute());
    return;
  }
  const user = h('input', { name: 'username', type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false', 'data-testid': 'login-username' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, 'data-testid': 'login-password' });
  const submit = h('button', { type: 'submit', 'data-testid': 'login-submit' }, t('login.submit'));
  const msg = h('p', { class: 'error', role: 'alert', 'data-testid': 'login-error', hidden: true });
  const form = h('form', { class: 'card narrow', 'data-testid': 'login-form', novalidate: true },
    field(t('login.username'), user),
    field(t('login.password'), pass),
    msg,
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.hidden = true;
    if (!user.value.trim() || !pass.value) {
      msg.textContent = t('login.missing');
      msg.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      const s = await login(user.value.trim(), pass.value);
      pass.value = '';
      if (s && s.mustChange) {
        location.hash = '#/password';
      } else {
        announce(t('login.welcome'));
        location.hash = homeRoute();
      }
    } catch (err) {
      pass.value = '';
      msg.textContent = err instanceof ApiError && err.status === 401 ? t('login.failed')
        : err instanceof ApiError && err.status === 403 ? t('login.inactive') : errorMessage(err);
      msg.hidden = false;
      pass.focus();
    } finally {
      submit.disabled = false;
    }
  });
  root.append(h('section', { class: 'page login', 'data-page': 'login' },
    h('h1', null, t('login.title')),
    h('p', { class: 'muted' }, t('login.intro')),
    form));
  user.focus();
}

export async function renderPassword(root) {
  if (!isSignedIn()) {
    location.replace('#/login');
    return;
  }
  if (!session()) await loadSession();
  const forced = Boolean(session() && session().mustChange);
  const current = h('input', { name: 'current', type: 'password', autocomplete: 'current-password', required: true, 'data-testid': 'pw-current' });
  const next = h('input', { name: 'new', type: 'password', autocomplete: 'new-password', required: true, minlength: 10, 'data-testid': 'pw-new' });
  const again = h('input', { name: 'confirm', type: 'password', autocomplete: 'new-password', required: true, 'data-testid': 'pw-confirm' });
  const submit = h('button', { type: 'submit', 'data-testid': 'pw-submit' }, t('password.submit'));
  const msg = h('p', { class: 'error', role: 'alert', 'data-testid': 'pw-error', hidden: true });
  const cancel = h('button', { type: 'button', class: 'secondary', 'data-testid': 'pw-cancel' }, forced ? t('shell.logout') : t('common.cancel'));
  cancel.addEventListener('click', async () => {
    if (forced) {
      await logout();
      location.hash = '#/login';
    } else {
      history.back();
    }
  });
  const form = h('form', { class: 'card narrow', 'data-testid': 'password-form', novalidate: true },
    field(t('password.current'), current),
    field(t('password.new'), next, t('password.rule')),
    field(t('password.confirm'), again),
    msg,
    h('div', { class: 'actions' }, submit, cancel));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.hidden = true;
    [current, next, again].forEach((c) => fieldError(c, null));
    if (!current.value) { fieldError(current, t('password.needCurrent')); current.focus(); return; }
    if (next.value.length < 10) { fieldError(next, t('password.tooShort')); next.focus(); return; }
    if (next.value !== again.value) { fieldError(again, t('password.mismatch')); again.focus(); return; }
    if (next.value === current.value) { fieldError(next, t('password.same')); next.focus(); return; }
    submit.disabled = true;
    try {
      await changePassword(current.value, next.value);
      [current, next, again].forEach((c) => { c.value = ''; });
      announce(t('password.changed'));
      location.hash = homeRoute();
    } catch (err) {
      const onCurrent = err instanceof ApiError ? err.reasonFor('/current') : null;
      const onNew = err instanceof ApiError ? err.reasonFor('/new') : null;
      if (onCurrent) fieldError(current, onCurrent);
      if (onNew) fieldError(next, onNew);
      if (!onCurrent && !onNew) {
        msg.textContent = errorMessage(err);
        msg.hidden = false;
      }
      current.value = '';
      current.focus();
    } finally {
      submit.disabled = false;
    }
  });
  root.append(h('section', { class: 'page login', 'data-page': 'password' },
    h('h1', null, t('password.title')),
    h('p', { class: forced ? 'notice' : 'muted', 'data-testid': 'pw-forced', hidden: !forced }, t('password.forced')),
    form));
  current.focus();
}
