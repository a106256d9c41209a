// "Prove this record": fetch the log key, the latest checkpoint and the inclusion proof, check
// them in the browser (proof.js) and show each step. Staff who may read entry headers also get
// the leaf recomputed from the entry's bytes.
import { t } from './i18n.js';
import { api } from './api.js';
import { h, replace, errorMessage } from './ui.js';
import { checkInclusion } from './proof.js';

const PIN_KEY = 'ft.pinnedKey';

function pinned() {
  try { return localStorage.getItem(PIN_KEY) || ''; } catch (_) { return ''; }
}

async function text(path) {
  const res = await api(path, { raw: true, auth: false, headers: { Accept: 'text/plain' } });
  return res.text();
}

// role: who asks (inspectors and admins may read entries; supervisors get no proofs of
// records they did not make).
export function proveButton(record, role, resultHost) {
  const btn = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'prove-record', 'data-record-id': record.id, 'data-seq': record.seq }, t('proof.button'));
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    const box = h('div', { class: 'proof', 'data-testid': 'proof-result', 'data-record-id': record.id, 'data-state': 'pending', role: 'status' }, t('proof.checking'));
    replace(resultHost, box);
    try {
      const result = await prove(record, role);
      replace(box, ...describe(result));
      box.dataset.state = result.ok ? 'ok' : 'failed';
    } catch (err) {
      box.dataset.state = 'failed';
      replace(box, h('p', { class: 'error' }, t('proof.error', { detail: errorMessage(err) })));
    } finally {
      btn.disabled = false;
    }
  });
  return btn;
}

export async function prove(record, role) {
  const [keyLine, note] = await Promise.all([text('/v1/ledger/key'), text('/v1/ledger/checkpoint')]);
  const size = Number((note.split('\n')[1] || '').trim());
  const seq = record.seq;
  if (!(size >= seq)) {
    return { ok: false, steps: [{ ok: false, code: 'covered', detail: `${size} < ${seq}` }], size, root: null, keyLine };
  }
  const proof = await api('/v1/ledger/proof/inclusion', { query: { seq, tree_size: size } });
  let entry = null;
  if (role === 'inspector' || role === 'admin') {
    const page = await api('/v1/ledger/entries', { query: { start: seq, count: 1 } });
    entry = (page.entries || [])[0] || null;
  }
  const result = await checkInclusion({
    keyLine, note, proof, seq, leafHex: record.leaf_hash || proof.leaf_hash, entry, pinned: pinned(),
  });
  result.keyLine = keyLine.trim();
  result.seq = seq;
  return result;
}

function describe(result) {
  const head = h('p', { class: result.ok ? 'ok-text' : 'error', 'data-testid': 'proof-verdict' },
    result.ok ? t('proof.ok', { seq: result.seq, size: result.size }) : t('proof.failed'));
  const steps = h('ol', { class: 'steps', 'data-testid': 'proof-steps' }, result.steps.map((s) => h('li', { 'data-ok': String(s.ok), 'data-step': s.code },
    h('span', { class: s.ok ? 'ok-text' : 'error', 'aria-hidden': 'true' }, s.ok ? '✓ ' : '✗ '),
    h('span', { class: 'sr-only' }, s.ok ? t('proof.passed') : t('proof.notPassed')),
    t(`proof.step.${s.code}`), s.detail ? h('code', { class: 'detail' }, ` ${s.detail}`) : null)));
  const facts = h('dl', { class: 'facts' },
    h('dt', null, t('proof.treeSize')), h('dd', { 'data-testid': 'proof-size' }, result.size === null ? '—' : String(result.size)),
    h('dt', null, t('proof.root')), h('dd', null, h('code', { 'data-testid': 'proof-root' }, result.root || '—')),
    h('dt', null, t('proof.key')), h('dd', null, h('code', { class: 'wrap' }, result.keyLine || '—')),
    result.header ? [h('dt', null, t('proof.header')), h('dd', null, h('code', { class: 'wrap' }, `${result.header.kind} · seq ${result.header.seq} · ${result.header.captured_at}`))] : null);
  const parts = [head, facts, steps];
  const current = pinned();
  if (result.keyLine && !current) {
    const pin = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'proof-pin-key' }, t('proof.pin'));
    pin.addEventListener('click', () => {
      try { localStorage.setItem(PIN_KEY, result.keyLine); } catch (_) { /* not kept */ }
      pin.replaceWith(h('p', { class: 'muted' }, t('proof.pinned')));
    });
    parts.push(h('p', { class: 'muted' }, t('proof.keyWarning')), pin);
  } else if (current) {
    parts.push(h('p', { class: 'muted', 'data-testid': 'proof-key-pinned' }, t('proof.usingPinned')));
    if (result.steps.some((s) => s.code === 'pinned' && !s.ok)) {
      const forget = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'proof-forget-key' }, t('proof.forget'));
      forget.addEventListener('click', () => {
        try { localStorage.removeItem(PIN_KEY); } catch (_) { /* nothing kept */ }
        forget.replaceWith(h('p', { class: 'muted' }, t('proof.forgotten')));
      });
      parts.push(forget);
    }
  }
  return parts;
}
