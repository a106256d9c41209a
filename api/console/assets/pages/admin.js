// Admin: people (filters, paging, create, deactivate/reactivate, reset password), a unit's
// roster (admin-unit.js) and the roster import (admin-import.js).
import { t, tEnum } from '../i18n.js';
import { api, ApiError } from '../api.js';
import { h, replace, errorBox, loading, select, simpleTable, badge, announce, errorMessage, field, fieldError, formDialog } from '../ui.js';
import { rememberPeople, unitName, getUnit } from '../cache.js';
import { renderUnitTab } from './admin-unit.js';
import { renderImportTab } from './admin-import.js';

const ROLES = ['cadre', 'supervisor', 'inspector', 'admin'];
const TABS = ['people', 'unit', 'import'];

export async function render(root, ctx) {
  const tab = TABS.includes(ctx.query.get('tab')) ? ctx.query.get('tab') : 'people';
  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('admin.sections') }, TABS.map((k) => h('a', {
    href: `#/admin?tab=${k}`, role: 'tab', 'aria-selected': String(k === tab), 'data-testid': `admin-tab-${k}`, class: k === tab ? 'is-active' : null,
  }, t(`admin.tab.${k}`))));
  const panel = h('div', { role: 'tabpanel', class: 'tab-panel', 'data-testid': `admin-panel-${tab}` });
  root.append(h('section', { class: 'page', 'data-page': 'admin', 'data-tab': tab }, h('div', { class: 'page-head' }, h('h1', null, t('admin.title'))), tabs, panel));
  if (tab === 'unit') return renderUnitTab(panel, ctx);
  if (tab === 'import') return renderImportTab(panel, ctx);
  return renderPeopleTab(panel, ctx);
}

async function renderPeopleTab(panel, ctx) {
  const q = ctx.query;
  const unit = h('input', { type: 'text', name: 'unit', value: q.get('unit') || '', 'data-testid': 'people-unit', size: 14 });
  const role = select([{ value: '', label: t('common.all') }, ...ROLES.map((r) => ({ value: r, label: tEnum('role', r) }))], { name: 'role', value: q.get('role') || '', 'data-testid': 'people-role' });
  const text = h('input', { type: 'search', name: 'q', value: q.get('q') || '', 'data-testid': 'people-q' });
  const active = select([{ value: '', label: t('common.all') }, { value: 'true', label: t('people.active') }, { value: 'false', label: t('people.inactive') }], { name: 'active', value: q.get('active') || '', 'data-testid': 'people-active' });
  const filters = h('form', { class: 'filters', 'data-testid': 'people-filter' },
    field(t('common.unit'), unit), field(t('col.role'), role), field(t('people.search'), text), field(t('people.state'), active),
    h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'people-search' }, t('common.search'))));
  const tableBox = h('div', { 'data-testid': 'people-list' });
  const more = h('button', { type: 'button', class: 'secondary', 'data-testid': 'people-more', hidden: true }, t('common.more'));
  const createBox = h('details', { class: 'card', 'data-testid': 'person-create' }, h('summary', null, t('people.create')), createForm());
  panel.append(createBox, filters, tableBox, h('div', { class: 'actions' }, more));
  let people = [];
  let cursor = null;

  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    ctx.setQuery({ unit: unit.value.trim(), role: role.value, q: text.value.trim(), active: active.value });
    people = [];
    cursor = null;
    load();
  });
  more.addEventListener('click', () => load());

  async function load() {
    if (!people.length) replace(tableBox, loading());
    more.disabled = true;
    try {
      const res = await api('/v1/people', { query: { unit: unit.value.trim(), role: role.value, q: text.value.trim(), active: active.value, limit: 50, cursor } });
      people.push(...res.items);
      rememberPeople(res.items);
      cursor = res.next_cursor;
    } catch (err) {
      replace(tableBox, errorBox(err, 'people-error'));
      return;
    } finally {
      more.disabled = false;
    }
    if (!ctx.isCurrent()) return;
    await Promise.all([...new Set(people.map((p) => p.unit_code).filter(Boolean))].map((c) => getUnit(c).catch(() => null)));
    more.hidden = !cursor;
    draw();
  }

  function draw() {
    replace(tableBox,
      h('p', { class: 'muted', 'data-testid': 'people-count' }, t('people.count', { n: people.length, more: cursor ? '+' : '' })),
      simpleTable({
        testid: 'people-table', empty: t('people.none'), rows: people,
        rowAttrs: (p) => ({ 'data-person-id': p.id, 'data-username': p.username, 'data-active': String(p.active !== false) }),
        columns: [
          { label: t('people.name'), rowHeader: true, render: (p) => (p.role === 'cadre' ? h('a', { href: `#/cadre/${p.id}` }, p.display_name) : p.display_name) },
          { label: t('people.username'), render: (p) => h('code', null, p.username) },
          { label: t('col.role'), render: (p) => tEnum('role', p.role) },
          { label: t('col.unit'), render: (p) => (p.unit_code ? unitName(p.unit_code) : t('people.wholeTree')) },
          { label: t('people.phone'), render: (p) => p.phone },
          { label: t('people.state'), render: (p) => [badge(p.active === false ? t('people.inactive') : t('people.active'), p.active === false ? 'bad' : 'ok'), p.must_change_password ? badge(t('people.mustChange'), 'info') : null] },
          { label: t('col.actions'), render: (p) => actions(p) },
        ],
      }));
  }

  function actions(p) {
    const self = p.id === ctx.session.id;
    const toggle = p.active === false
      ? h('button', { type: 'button', class: 'secondary small', 'data-testid': 'person-reactivate' }, t('people.reactivate'))
      : h('button', { type: 'button', class: 'secondary small', 'data-testid': 'person-deactivate', disabled: self, title: self ? t('people.notSelf') : null }, t('people.deactivate'));
    toggle.addEventListener('click', async () => {
      const what = p.active === false ? 'reactivate' : 'deactivate';
      const values = await formDialog({
        title: t(`people.${what}Title`, { name: p.display_name }), testid: `person-${what}-dialog`, submitLabel: t(`people.${what}`),
        fields: [{ name: 'reason', label: t('people.reason'), type: 'textarea', required: true }],
      });
      if (!values || !values.reason.trim()) return;
      await act(p, `/v1/people/${p.id}/${what}`, { reason: values.reason.trim() }, t(`people.${what}d`, { name: p.display_name }));
    });
    const reset = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'person-reset-password' }, t('people.resetPassword'));
    reset.addEventListener('click', async () => {
      const values = await formDialog({
        title: t('people.resetTitle', { name: p.display_name }), testid: 'person-reset-dialog', submitLabel: t('people.resetPassword'),
        fields: [{ name: 'new', label: t('people.newPassword'), type: 'password', required: true, minlength: 10, hint: t('password.rule') }],
      });
      if (!values) return;
      if (values.new.length < 10) { announce(t('password.tooShort'), 'error'); return; }
      await act(p, `/v1/people/${p.id}/password`, { new: values.new }, t('people.resetDone', { name: p.display_name }));
    });
    return h('div', { class: 'row-actions' }, toggle, reset);
  }

  async function act(p, path, body, done) {
    try {
      const updated = await api(path, { method: 'POST', body });
      if (updated && updated.id) Object.assign(p, updated);
      rememberPeople([p]);
      announce(done);
      draw();
    } catch (err) {
      announce(errorMessage(err), 'error');
    }
  }

  function createForm() {
    const f = {
      username: h('input', { name: 'username', required: true, autocomplete: 'off', pattern: '[a-z0-9._-]{3,64}', 'data-testid': 'person-create-username' }),
      display_name: h('input', { name: 'display_name', required: true, 'data-testid': 'person-create-display-name' }),
      role: select(ROLES.map((r) => ({ value: r, label: tEnum('role', r) })), { name: 'role', 'data-testid': 'person-create-role' }),
      unit_code: h('input', { name: 'unit_code', required: true, 'data-testid': 'person-create-unit' }),
      phone: h('input', { name: 'phone', type: 'tel', 'data-testid': 'person-create-phone' }),
      password: h('input', { name: 'password', type: 'password', required: true, minlength: 10, autocomplete: 'new-password', 'data-testid': 'person-create-password' }),
    };
    const submit = h('button', { type: 'submit', 'data-testid': 'person-create-submit' }, t('people.createSubmit'));
    const form = h('form', { class: 'grid-form', novalidate: true },
      field(t('people.username'), f.username, t('people.usernameRule')), field(t('people.name'), f.display_name), field(t('col.role'), f.role),
      field(t('common.unit'), f.unit_code), field(t('people.phone'), f.phone), field(t('people.initialPassword'), f.password, t('password.rule')),
      h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      Object.values(f).forEach((c) => fieldError(c, null));
      if (f.password.value.length < 10) { fieldError(f.password, t('password.tooShort')); f.password.focus(); return; }
      const body = { username: f.username.value.trim(), display_name: f.display_name.value.trim(), role: f.role.value, unit_code: f.unit_code.value.trim(), password: f.password.value };
      if (f.phone.value.trim()) body.phone = f.phone.value.trim();
      submit.disabled = true;
      try {
        const person = await api('/v1/people', { method: 'POST', body });
        f.password.value = '';
        announce(t('people.created', { name: person.display_name }));
        people.unshift(person);
        draw();
        form.reset();
      } catch (err) {
        let placed = false;
        if (err instanceof ApiError) {
          for (const e of err.errors) {
            const key = e.pointer.replace(/^\//, '');
            if (f[key]) { fieldError(f[key], e.reason); placed = true; }
          }
        }
        f.password.value = '';
        announce(errorMessage(err), 'error');
        if (!placed && err instanceof ApiError && err.status === 409) fieldError(f.username, t('people.taken'));
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  await load();
}
