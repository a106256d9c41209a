// Spot-checks: start a committed random draw, see its sample and the checkpoint that seeded it,
// recompute it in the browser, and follow the challenges' outcomes as they come in.
import { t, tEnum } from '../i18n.js';
import { api, ApiError } from '../api.js';
import { h, replace, errorBox, loading, field, fieldError, select, simpleTable, badge, announce, errorMessage } from '../ui.js';
import { getHouseholds, knownHousehold, personName, unitName, getUnit } from '../cache.js';
import { fmtDateTime, countyToday, addDays, shortId } from '../format.js';
import { checkDraw } from '../drawcheck.js';
import { topUnits } from './units.js';

const POLL_MS = 5000;

export async function render(root, ctx) {
  const s = ctx.session;
  const canDraw = s.role === 'supervisor' || s.role === 'admin';
  const drawId = ctx.query.get('draw');
  const unitParam = ctx.query.get('unit') || '';
  const page = h('section', { class: 'page', 'data-page': 'spot-checks' });
  const listBox = h('div', { 'data-testid': 'draw-list-box' }, loading());
  const detailBox = h('div', { class: 'draw-detail', 'data-testid': 'draw-detail', 'aria-live': 'polite' });
  const formBox = h('div');
  const unitFilter = h('input', { type: 'text', id: 'draws-unit', value: unitParam, 'data-testid': 'draws-unit', list: 'unit-codes', size: 14 });
  const fromFilter = h('input', { type: 'date', id: 'draws-from', value: ctx.query.get('from') || addDays(countyToday(), -30), 'data-testid': 'draws-from' });
  const filterForm = h('form', { class: 'inline', 'data-testid': 'draws-filter' },
    h('label', { for: 'draws-unit' }, t('common.unit')), unitFilter,
    h('label', { for: 'draws-from' }, t('spot.since')), fromFilter,
    h('button', { type: 'submit', class: 'secondary', 'data-testid': 'draws-refresh' }, t('common.refresh')));
  const datalist = h('datalist', { id: 'unit-codes' });
  page.append(h('div', { class: 'page-head' }, h('h1', null, t('spot.title'))),
    datalist,
    h('div', { class: 'split wide-right' },
      h('div', null, h('h2', null, t('spot.list')), filterForm, listBox, formBox),
      detailBox));
  root.append(page);

  topUnits().then((roots) => {
    for (const u of roots) datalist.append(h('option', { value: u.code }, u.name));
  }).catch(() => {});

  if (canDraw) formBox.append(h('details', { class: 'card', open: true, 'data-testid': 'draw-form-box' }, h('summary', null, t('spot.new')), drawForm()));
  filterForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    ctx.setQuery({ unit: unitFilter.value.trim(), from: fromFilter.value });
    loadList();
  });

  let currentDraw = drawId;
  let listSig = '';
  let detailSig = '';
  let timer = null;
  const tick = async () => {
    if (document.hidden) return;
    await loadList(true);
    if (currentDraw) await loadDetail(currentDraw, true);
  };
  timer = setInterval(tick, POLL_MS);
  ctx.onCleanup(() => clearInterval(timer));

  await loadList();
  if (currentDraw) await loadDetail(currentDraw);
  else replace(detailBox, h('p', { class: 'muted' }, t('spot.pick')));

  function drawForm() {
    const unit = h('input', { type: 'text', name: 'unit_code', required: true, value: unitParam, list: 'unit-codes', 'data-testid': 'draw-unit' });
    const population = select([
      { value: 'cadres', label: tEnum('population', 'cadres') },
      { value: 'visited_households', label: tEnum('population', 'visited_households') },
    ], { name: 'population', 'data-testid': 'draw-population' });
    const size = h('input', { type: 'number', name: 'size', min: 1, max: 1000, value: 2, required: true, 'data-testid': 'draw-size' });
    const period = h('input', { type: 'text', name: 'period', placeholder: '2026-11 / 2026-W47', pattern: '\\d{4}-(W\\d{2}|\\d{2})', 'data-testid': 'draw-period' });
    const purpose = h('input', { type: 'text', name: 'purpose', maxlength: 500, 'data-testid': 'draw-purpose' });
    const emergency = h('input', { type: 'text', name: 'emergency_reason', maxlength: 500, 'data-testid': 'draw-emergency' });
    const submit = h('button', { type: 'submit', 'data-testid': 'draw-submit' }, t('spot.start'));
    const form = h('form', { 'data-testid': 'draw-form', novalidate: true },
      field(t('common.unit'), unit, t('spot.unitHint')),
      field(t('spot.population'), population),
      field(t('spot.size'), size),
      field(t('spot.period'), period, t('spot.periodHint')),
      field(t('spot.purpose'), purpose),
      field(t('spot.emergency'), emergency, t('spot.emergencyHint')),
      h('div', { class: 'actions' }, submit));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      [unit, size, period, emergency, purpose].forEach((c) => fieldError(c, null));
      if (!unit.value.trim()) { fieldError(unit, t('common.required')); unit.focus(); return; }
      submit.disabled = true;
      try {
        const body = { unit_code: unit.value.trim(), population: population.value, size: Number(size.value) };
        if (period.value.trim()) body.period = period.value.trim();
        if (purpose.value.trim()) body.purpose = purpose.value.trim();
        if (emergency.value.trim()) body.emergency_reason = emergency.value.trim();
        const draw = await api('/v1/spot-checks/draws', { method: 'POST', body });
        announce(t('spot.started', { n: draw.sample.length }));
        currentDraw = draw.id;
        ctx.setQuery({ draw: draw.id, unit: unitFilter.value.trim() });
        await loadList();
        await loadDetail(draw.id);
      } catch (err) {
        const map = { '/unit_code': unit, '/size': size, '/period': period, '/emergency_reason': emergency, '/purpose': purpose };
        let placed = false;
        if (err instanceof ApiError) {
          for (const e of err.errors) if (map[e.pointer]) { fieldError(map[e.pointer], e.reason); placed = true; }
        }
        announce(errorMessage(err), 'error');
        if (!placed) form.append(errorBox(err, 'draw-error'));
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  async function loadList(quiet) {
    let res;
    try {
      res = await api('/v1/spot-checks/draws', { query: { unit: unitFilter.value.trim(), from: fromFilter.value } });
    } catch (err) {
      if (!quiet) replace(listBox, errorBox(err, 'draw-list-error'));
      return;
    }
    if (!ctx.isCurrent()) return;
    const sig = JSON.stringify([currentDraw, res.draws.map((d) => d.id)]);
    if (quiet && sig === listSig) return;
    listSig = sig;
    replace(listBox, simpleTable({
      testid: 'draw-list', empty: t('spot.none'), rows: res.draws,
      rowAttrs: (d) => ({ 'data-draw-id': d.id, class: d.id === currentDraw ? 'is-selected' : null }),
      columns: [
        { label: t('col.time'), rowHeader: true, render: (d) => h('a', { href: `#/spot-checks?draw=${d.id}${unitFilter.value ? `&unit=${encodeURIComponent(unitFilter.value)}` : ''}`, 'data-testid': 'draw-link', onclick: (ev) => { ev.preventDefault(); currentDraw = d.id; ctx.setQuery({ draw: d.id }); loadList(true); loadDetail(d.id); } }, fmtDateTime(d.drawn_at)) },
        { label: t('col.unit'), render: (d) => unitName(d.unit_code) },
        { label: t('spot.population'), render: (d) => tEnum('population', d.population) },
        { label: t('spot.sampleSize'), numeric: true, render: (d) => `${d.sample.length}/${d.population_size}` },
        { label: t('spot.period'), render: (d) => d.period },
        { label: t('spot.purpose'), render: (d) => d.purpose || '—' },
      ],
    }));
  }

  async function loadDetail(id, quiet) {
    if (!quiet) replace(detailBox, loading());
    let draw;
    try {
      draw = await api(`/v1/spot-checks/draws/${encodeURIComponent(id)}`);
    } catch (err) {
      if (!quiet) replace(detailBox, errorBox(err, 'draw-detail-error'));
      return;
    }
    if (!ctx.isCurrent() || currentDraw !== id) return;
    const sig = JSON.stringify([draw.id, draw.challenges, draw.verifications]);
    if (quiet && sig === detailSig) return;
    detailSig = sig;
    getUnit(draw.unit_code).catch(() => null);
    const names = new Map();
    if (draw.population === 'cadres') {
      await Promise.all(draw.sample.map(async (pid) => names.set(pid, (await personName(pid)) || shortId(pid))));
    } else {
      await getHouseholds(draw.unit_code).catch(() => []);
      for (const hid of draw.sample) names.set(hid, knownHousehold(hid) ? knownHousehold(hid).head_name : shortId(hid));
    }
    const verifyHost = detailBox.querySelector('[data-testid="draw-verify-result"]') || h('div', { 'data-testid': 'draw-verify-result', 'data-state': 'idle' });
    const challenges = new Map((draw.challenges || []).map((c) => [c.person_id, c]));
    const verifications = draw.verifications || [];
    const sampleRows = draw.sample.map((mid, i) => ({ mid, i, c: challenges.get(mid), v: verifications.filter((x) => x.household_id === mid) }));
    const verifyBtn = h('button', { type: 'button', class: 'secondary', 'data-testid': 'draw-verify' }, t('spot.verify'));
    verifyBtn.addEventListener('click', () => verifyDraw(draw, verifyHost, verifyBtn));
    const openCount = (draw.challenges || []).filter((c) => c.status === 'open').length;
    replace(detailBox,
      h('h2', null, t('spot.drawTitle', { unit: unitName(draw.unit_code), at: fmtDateTime(draw.drawn_at) })),
      h('dl', { class: 'facts', 'data-testid': 'draw-facts', 'data-draw-id': draw.id },
        h('dt', null, t('spot.population')), h('dd', null, `${tEnum('population', draw.population)} · ${t('spot.members', { n: draw.population_size })}`),
        h('dt', null, t('spot.size')), h('dd', null, String(draw.size)),
        h('dt', null, t('spot.period')), h('dd', null, draw.period),
        h('dt', null, t('spot.purpose')), h('dd', null, draw.purpose || '—'),
        draw.emergency_reason ? [h('dt', null, t('spot.emergency')), h('dd', null, draw.emergency_reason)] : null,
        h('dt', null, t('spot.drawnBy')), h('dd', { 'data-person-name': draw.drawn_by }, draw.drawn_by ? shortId(draw.drawn_by) : '—'),
        h('dt', null, t('spot.seq')), h('dd', null, `${draw.seq} / ${draw.sample_seq}`),
        h('dt', null, t('spot.populationHash')), h('dd', null, h('code', { class: 'wrap' }, draw.population_sha256)),
        draw.passed_over.length ? [h('dt', null, t('spot.passedOver')), h('dd', null, draw.passed_over.map((p) => `${shortId(p.id)} (${p.challenges_this_month}/${p.max_challenges_per_month})`).join('、'))] : null),
      h('h3', null, t('spot.sample'), openCount ? badge(t('spot.openCount', { n: openCount }), 'info', { 'data-testid': 'draw-open-count' }) : null),
      simpleTable({
        testid: 'draw-sample', rows: sampleRows, empty: t('spot.emptySample'),
        rowAttrs: (r) => ({ 'data-member-id': r.mid, 'data-challenge-status': r.c ? r.c.status : null, 'data-outcome': r.c ? r.c.outcome || '' : null }),
        columns: draw.population === 'cadres' ? [
          { label: '#', rowHeader: true, render: (r) => String(r.i + 1) },
          { label: t('col.cadre'), render: (r) => h('a', { href: `#/cadre/${r.mid}` }, names.get(r.mid)) },
          { label: t('spot.deadline'), render: (r) => (r.c ? fmtDateTime(r.c.deadline) : '—') },
          { label: t('col.status'), render: (r) => (r.c ? badge(tEnum('challenge', r.c.status), r.c.status === 'open' ? 'info' : ['present', 'on_leave', 'on_trip'].includes(r.c.status) ? 'ok' : 'warn', { 'data-testid': 'challenge-status' }) : t('spot.noChallenge')) },
          { label: t('spot.answeredAt'), render: (r) => (r.c && r.c.answered_at ? fmtDateTime(r.c.answered_at) : '—') },
        ] : [
          { label: '#', rowHeader: true, render: (r) => String(r.i + 1) },
          { label: t('village.household'), render: (r) => names.get(r.mid) },
          { label: t('spot.verifications'), render: (r) => (r.v.length ? r.v.map((v) => `${tEnum('outcome', v.result)} ${fmtDateTime(v.verified_at)}`).join('、') : t('spot.notVerified')) },
        ],
      }),
      h('h3', null, t('spot.checkpoint')),
      h('p', { class: 'muted' }, t('spot.checkpointExplain', { size: draw.checkpoint.size })),
      h('pre', { class: 'note', 'data-testid': 'draw-checkpoint' }, draw.checkpoint.note || draw.checkpoint.root || '—'),
      h('div', { class: 'actions' }, verifyBtn),
      verifyHost,
      h('p', { class: 'muted small', 'data-testid': 'draw-polling' }, t('spot.polling', { s: POLL_MS / 1000 })));
    const drawer = detailBox.querySelector('[data-person-name]');
    if (drawer && draw.drawn_by) personName(draw.drawn_by).then((n) => { if (n) drawer.textContent = n; });
  }

  async function verifyDraw(draw, host, btn) {
    btn.disabled = true;
    host.dataset.state = 'pending';
    replace(host, h('p', { role: 'status' }, t('proof.checking')));
    try {
      const [keyLine, note] = await Promise.all([
        api('/v1/ledger/key', { raw: true, auth: false }).then((r) => r.text()),
        api(`/v1/ledger/checkpoints/${draw.seq}`, { raw: true, auth: false }).then((r) => r.text()),
      ]);
      let proof = null;
      // Inspectors and admins may read any proof, a supervisor only those of their own draws.
      if (s.role !== 'supervisor' || draw.drawn_by === s.id) {
        try { proof = await api('/v1/ledger/proof/inclusion', { query: { seq: draw.seq, tree_size: draw.seq } }); } catch (_) { proof = null; }
      }
      const result = await checkDraw({ draw, keyLine, note, proof });
      host.dataset.state = result.ok ? 'ok' : 'failed';
      replace(host,
        h('p', { class: result.ok ? 'ok-text' : 'error', 'data-testid': 'draw-verify-verdict' }, result.ok ? t('spot.verifyOk') : t('spot.verifyFailed')),
        h('ol', { class: 'steps' }, result.steps.map((st) => h('li', { 'data-ok': String(st.ok), 'data-step': st.code },
          h('span', { class: st.ok ? 'ok-text' : 'error', 'aria-hidden': 'true' }, st.ok ? '✓ ' : '✗ '),
          h('span', { class: 'sr-only' }, st.ok ? t('proof.passed') : t('proof.notPassed')),
          t(`proof.step.${st.code}`), st.detail ? h('code', { class: 'detail' }, ` ${st.detail}`) : null))));
    } catch (err) {
      host.dataset.state = 'failed';
      replace(host, errorBox(err));
    } finally {
      btn.disabled = false;
    }
  }
}
