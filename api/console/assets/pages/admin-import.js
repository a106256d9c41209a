// Admin: roster import. Choose a CSV or XLSX file, "check" it (dry_run=true) or import it; a
// 422 lists every bad cell (row, column, header, reason) and nothing is stored.
import { t } from '../i18n.js';
import { api, download, ApiError } from '../api.js';
import { h, replace, errorBox, simpleTable, announce, errorMessage, field } from '../ui.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const KEYS = ['people', 'households', 'assignments', 'pairings'];

function contentType(file) {
  if (/\.xlsx$/i.test(file.name) || file.type === XLSX) return XLSX;
  return 'text/csv';
}

// '/rows/7/角色' → {row: 7, header: '角色'} (RFC 6901 unescaping).
export function parsePointer(pointer) {
  const parts = String(pointer).split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (parts[0] !== 'rows') return { row: null, header: parts.join('/') };
  return { row: Number(parts[1]), header: parts.slice(2).join('/') };
}

export async function renderImportTab(panel) {
  const file = h('input', { type: 'file', accept: `.csv,.xlsx,text/csv,${XLSX}`, 'data-testid': 'import-file' });
  const check = h('button', { type: 'button', 'data-testid': 'import-check' }, t('import.check'));
  const run = h('button', { type: 'button', class: 'danger', 'data-testid': 'import-run' }, t('import.run'));
  const csvTpl = h('button', { type: 'button', class: 'secondary', 'data-testid': 'template-csv' }, t('import.templateCsv'));
  const xlsxTpl = h('button', { type: 'button', class: 'secondary', 'data-testid': 'template-xlsx' }, t('import.templateXlsx'));
  const out = h('div', { 'data-testid': 'import-output', 'aria-live': 'polite' });
  panel.append(
    h('p', { class: 'muted' }, t('import.intro')),
    h('div', { class: 'actions' }, csvTpl, xlsxTpl),
    h('form', { class: 'card', 'data-testid': 'import-form', onsubmit: (ev) => ev.preventDefault() },
      field(t('import.file'), file, t('import.fileHint')),
      h('div', { class: 'actions' }, check, run)),
    out);

  for (const [btn, format] of [[csvTpl, 'csv'], [xlsxTpl, 'xlsx']]) {
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      try {
        const name = await download('/v1/roster/template', { format }, `roster-template.${format}`);
        announce(t('bulletin.downloaded', { name }));
      } catch (err) {
        announce(errorMessage(err), 'error');
      } finally {
        btn.disabled = false;
      }
    });
  }

  async function send(dryRun) {
    const f = file.files && file.files[0];
    if (!f) {
      announce(t('import.noFile'), 'error');
      file.focus();
      return;
    }
    check.disabled = true;
    run.disabled = true;
    replace(out, h('p', { class: 'muted' }, t(dryRun ? 'import.checking' : 'import.importing')));
    try {
      const res = await api('/v1/roster/import', {
        method: 'POST', query: dryRun ? { dry_run: 'true' } : {}, body: f, headers: { 'Content-Type': contentType(f) },
      });
      replace(out, summary(res, f.name));
      announce(t(res.dry_run ? 'import.checkedOk' : 'import.done', { rows: res.rows }));
    } catch (err) {
      if (err instanceof ApiError && err.status === 422 && err.errors.length) {
        replace(out, report(err, f.name));
        announce(t('import.bad', { n: err.errors.length }), 'error');
      } else {
        replace(out, errorBox(err, 'import-error'));
        announce(errorMessage(err), 'error');
      }
    } finally {
      check.disabled = false;
      run.disabled = false;
    }
  }
  check.addEventListener('click', () => send(true));
  run.addEventListener('click', () => send(false));
}

function summary(res, name) {
  return h('div', { class: 'card', 'data-testid': 'import-result', 'data-dry-run': String(Boolean(res.dry_run)) },
    h('h3', null, t(res.dry_run ? 'import.checkTitle' : 'import.doneTitle', { name, rows: res.rows })),
    simpleTable({
      testid: 'import-counts', rows: KEYS,
      columns: [
        { label: t('import.what'), rowHeader: true, render: (k) => t(`import.key.${k}`) },
        { label: t(res.dry_run ? 'import.wouldCreate' : 'import.created'), numeric: true, render: (k) => (res.created ? res.created[k] : 0) },
        { label: t('import.unchanged'), numeric: true, render: (k) => (res.unchanged ? res.unchanged[k] : 0) },
      ],
    }),
    res.dry_run ? h('p', { class: 'muted' }, t('import.dryRunNote')) : null);
}

function report(err, name) {
  const rows = err.errors.map((e) => {
    const p = parsePointer(e.pointer);
    return { row: e.row ?? p.row, column: e.column || '', header: p.header, reason: e.reason, pointer: e.pointer };
  }).sort((a, b) => (a.row ?? 0) - (b.row ?? 0) || String(a.column).localeCompare(String(b.column)));
  return h('div', { class: 'card', 'data-testid': 'import-report-box' },
    h('h3', { class: 'error' }, t('import.reportTitle', { name, n: rows.length })),
    h('p', null, t('import.nothingStored')),
    simpleTable({
      testid: 'import-report', rows,
      caption: t('import.reportCaption'),
      rowAttrs: (r) => ({ 'data-row': r.row, 'data-column': r.column, 'data-pointer': r.pointer }),
      columns: [
        { label: t('import.row'), rowHeader: true, numeric: true, render: (r) => (r.row === null ? '—' : String(r.row)) },
        { label: t('import.column'), render: (r) => r.column },
        { label: t('import.header'), render: (r) => r.header },
        { label: t('import.reason'), long: true, render: (r) => r.reason },
      ],
    }));
}
