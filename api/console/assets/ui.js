// Small DOM helpers. Data from the server is only ever put in as text (never innerHTML).
import { t } from './i18n.js';

// h('button', {class: 'x', 'data-testid': 'y', onclick: fn}, 'text', child, [more])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function setAttrs(el, attrs) {
  if (!attrs) return el;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.className = v;
    } else if (k === 'value' && 'value' in el) {
      el.value = v;
    } else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden' || k === 'required' || k === 'multiple') {
      el[k] = Boolean(v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

let announceTimer = null;

// The page-wide aria-live region: short status messages ("saved", "loading failed: …").
export function announce(message, kind = 'info') {
  const region = document.getElementById('status');
  if (!region) return;
  region.dataset.kind = kind;
  region.textContent = '';
  clearTimeout(announceTimer);
  // A fresh text node so that screen readers announce a repeated message too.
  setTimeout(() => { region.textContent = message; }, 20);
  announceTimer = setTimeout(() => { region.textContent = ''; }, kind === 'error' ? 12000 : 6000);
}

export function errorMessage(err) {
  if (err && typeof err.readable === 'function') return err.readable();
  return t('err.unexpected', { detail: err && err.message ? err.message : String(err) });
}

// An inline error box for a section that failed to load.
export function errorBox(err, testid) {
  return h('p', { class: 'error', role: 'alert', 'data-testid': testid || 'error' }, errorMessage(err));
}

export function loading() {
  return h('p', { class: 'muted loading', 'data-testid': 'loading' }, t('common.loading'));
}

let idCounter = 0;
export function uid(prefix = 'f') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// A labelled form control: field(t('x'), h('input', {...}), hint?)
export function field(labelText, control, hint) {
  if (!control.id) control.id = uid('fld');
  const parts = [h('label', { for: control.id }, labelText), control];
  if (hint) {
    const hintId = `${control.id}-hint`;
    control.setAttribute('aria-describedby', hintId);
    parts.push(h('small', { id: hintId, class: 'hint' }, hint));
  }
  return h('div', { class: 'field' }, parts);
}

// Shows a field's server-side reason below it (and marks it invalid), or clears it.
export function fieldError(control, reason) {
  const wrap = control.closest('.field') || control.parentElement;
  let box = wrap.querySelector('.field-error');
  if (!reason) {
    control.removeAttribute('aria-invalid');
    if (box) box.remove();
    return;
  }
  if (!box) {
    box = h('small', { class: 'field-error', id: `${control.id}-err` });
    wrap.append(box);
  }
  box.textContent = reason;
  control.setAttribute('aria-invalid', 'true');
  const described = (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
  if (!described.includes(box.id)) control.setAttribute('aria-describedby', [...described, box.id].join(' '));
}

export function select(options, attrs = {}) {
  const el = h('select', attrs);
  for (const o of options) {
    el.append(h('option', { value: o.value, selected: o.value === attrs.value }, o.label));
  }
  if (attrs.value !== undefined) el.value = attrs.value;
  return el;
}

export function badge(text, kind, attrs = {}) {
  return h('span', { class: `badge ${kind ? `badge-${kind}` : ''}`, ...attrs }, text);
}

export function section(titleText, attrs, ...children) {
  const id = uid('sec');
  return h('section', { class: 'panel', 'aria-labelledby': id, ...attrs }, h('h2', { id }, titleText), children);
}

// A modal form in a native <dialog>: resolves with the FormData's values, or null if cancelled.
// fields: [{name, label, type: 'text'|'textarea'|'date'|'password', required, value, hint}]
export function formDialog({ title, fields, submitLabel, testid }) {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const form = h('form', { method: 'dialog', class: 'dialog-form' });
    const controls = fields.map((f) => {
      const attrs = { name: f.name, required: f.required, value: f.value, 'data-testid': `${testid}-${f.name}`, autocomplete: f.type === 'password' ? 'new-password' : 'off' };
      const control = f.type === 'textarea' ? h('textarea', { ...attrs, rows: 3 }) : h('input', { ...attrs, type: f.type || 'text', minlength: f.minlength });
      form.append(field(f.label, control, f.hint));
      return control;
    });
    const cancel = h('button', { type: 'button', class: 'secondary', 'data-testid': `${testid}-cancel` }, t('common.cancel'));
    const ok = h('button', { type: 'submit', value: 'ok', 'data-testid': `${testid}-submit` }, submitLabel || t('common.ok'));
    form.append(h('div', { class: 'actions' }, ok, cancel));
    const dlg = h('dialog', { 'aria-labelledby': titleId, 'data-testid': testid }, h('h2', { id: titleId }, title), form);
    let result = null;
    form.addEventListener('submit', () => {
      result = Object.fromEntries(controls.map((c) => [c.name, c.value]));
    });
    cancel.addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// A sortable table. columns: [{key, label, value(row) → sortable, render(row) → node|text,
// numeric}], rows. The header cells are buttons; aria-sort tells the order.
export function sortableTable({ columns, rows, caption, testid, rowAttrs, initialSort }) {
  let sortKey = initialSort ? initialSort.key : null;
  let dir = initialSort ? initialSort.dir : 1;
  const tbody = h('tbody');
  const ths = columns.map((c) => {
    const btn = h('button', { type: 'button', class: 'sort', 'data-sort-key': c.key }, c.label);
    const th = h('th', { scope: 'col', class: c.numeric ? 'num' : '' }, btn);
    btn.addEventListener('click', () => {
      if (sortKey === c.key) dir = -dir; else { sortKey = c.key; dir = 1; }
      draw();
    });
    return th;
  });
  function valueOf(c, row) {
    return c.value ? c.value(row) : row[c.key];
  }
  function draw() {
    ths.forEach((th, i) => {
      const c = columns[i];
      th.setAttribute('aria-sort', c.key === sortKey ? (dir > 0 ? 'ascending' : 'descending') : 'none');
    });
    let list = rows.slice();
    if (sortKey) {
      const c = columns.find((x) => x.key === sortKey);
      list.sort((a, b) => compare(valueOf(c, a), valueOf(c, b)) * dir);
    }
    clear(tbody);
    for (const row of list) {
      const tr = h('tr', rowAttrs ? rowAttrs(row) : null);
      columns.forEach((c, i) => {
        const content = c.render ? c.render(row) : valueOf(c, row);
        const cell = i === 0 && c.rowHeader !== false ? h('th', { scope: 'row' }) : h('td');
        cell.className = [c.numeric ? 'num' : '', c.long ? 'long' : ''].join(' ').trim();
        append(cell, [content === null || content === undefined ? '—' : content]);
        tr.append(cell);
      });
      tbody.append(tr);
    }
  }
  draw();
  const table = h('table', { class: 'data', 'data-testid': testid },
    caption ? h('caption', null, caption) : null,
    h('thead', null, h('tr', null, ths)), tbody);
  return h('div', { class: 'table-wrap' }, table);
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a ? -1 : 1;
  return String(a).localeCompare(String(b), 'zh-CN');
}

// A plain table: simpleTable({columns: [{label, render(row)}], rows, testid, rowAttrs, empty})
export function simpleTable({ columns, rows, testid, rowAttrs, caption, empty }) {
  if (!rows.length && empty) return h('p', { class: 'muted', 'data-testid': testid ? `${testid}-empty` : null }, empty);
  const body = rows.map((row) => h('tr', rowAttrs ? rowAttrs(row) : null, columns.map((c, i) => {
    const content = c.render(row);
    const cell = i === 0 && c.rowHeader ? h('th', { scope: 'row' }) : h('td', { class: [c.numeric ? 'num' : '', c.long ? 'long' : ''].join(' ').trim() || null });
    return append(cell, [content === null || content === undefined || content === '' ? '—' : content]);
  })));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data', 'data-testid': testid },
    caption ? h('caption', null, caption) : null,
    h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'num' : null }, c.label)))),
    h('tbody', null, body)));
}

export function link(href, text, attrs = {}) {
  return h('a', { href, ...attrs }, text);
}
