// Recomputes a spot-check draw in the browser (docs/spot-checks.md, "The algorithm"), so that a
// supervisor or inspector need not take the sample on trust: the seeding checkpoint is signed
// by the log key, the draw entry's bytes are what the tree commits to, the population hashes to
// its digest, and the seed selects exactly the sample shown. No DOM here.
import {
  sha256, concat, hexToBytes, bytesToHex, b64ToBytes, leafHash, equalBytes,
  parseVerifierKey, verifyCheckpoint, rootFromInclusionProof,
} from './proof.js';

const enc = new TextEncoder();
const TWO64 = 1n << 64n;

function u64be(n) {
  const out = new Uint8Array(8);
  let v = BigInt(n);
  for (let i = 7; i >= 0; i -= 1) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

// The word stream SHA-256(seed ‖ draw_id ‖ u64be(c)), four big-endian u64 per block.
function wordStream(seed, drawId) {
  let counter = 0;
  let words = [];
  return async () => {
    if (!words.length) {
      const block = await sha256(concat(seed, drawId, u64be(counter)));
      counter += 1;
      words = [0, 8, 16, 24].map((o) => block.slice(o, o + 8).reduce((acc, b) => (acc << 8n) | BigInt(b), 0n));
    }
    return words.shift();
  };
}

export async function recomputeSample(seed, drawIdHex, members, passedOver, size) {
  const next = wordStream(seed, hexToBytes(drawIdHex));
  const skip = new Set(passedOver);
  const a = members.filter((m) => !skip.has(m));
  const k = Math.min(size, a.length);
  async function uniform(n) {
    const bn = BigInt(n);
    const limit = bn * (TWO64 / bn);
    for (;;) {
      const w = await next();
      if (w < limit) return Number(w % bn);
    }
  }
  for (let i = 0; i < k; i += 1) {
    const j = i + await uniform(a.length - i);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, k);
}

export async function populationSha256(members) {
  return bytesToHex(await sha256(enc.encode(members.map((m) => `${m}\n`).join(''))));
}

function decodeJson(b64) {
  return JSON.parse(new TextDecoder().decode(b64ToBytes(b64)));
}

function sameList(a, b) {
  return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => x === b[i]);
}

// draw: GET /v1/spot-checks/draws/{id}; keyLine: GET /v1/ledger/key; note: GET
// /v1/ledger/checkpoints/{draw.seq}; proof: GET /v1/ledger/proof/inclusion?seq=<draw.seq>&tree_size=<draw.seq>
// (optional, it needs the drawing supervisor, an inspector or an admin).
// Answers {ok, steps: [{ok, code, detail}], sample}.
export async function checkDraw({ draw, keyLine, note, proof }) {
  const steps = [];
  const out = { ok: false, steps, sample: null };
  const step = (ok, code, detail = '') => { steps.push({ ok, code, detail }); return ok; };
  let key;
  let cp;
  try {
    key = await parseVerifierKey(keyLine);
    cp = await verifyCheckpoint(note, key);
    step(true, 'drawCheckpoint', `${cp.origin} ${cp.size}`);
  } catch (e) { step(false, 'drawCheckpoint', e.message); return out; }
  if (!step(cp.size === draw.seq, 'drawSeedSize', `${cp.size} / ${draw.seq}`)) return out;
  if (!step(draw.checkpoint && cp.rootB64 === draw.checkpoint.root, 'drawSeedRoot', cp.rootB64)) return out;
  const ev = draw.evidence && draw.evidence.draw_entry;
  if (!ev || !ev.body) { step(false, 'drawEvidence', ''); return out; }
  const body = b64ToBytes(ev.body);
  let header;
  try { header = JSON.parse(new TextDecoder().decode(body)); } catch (_) { step(false, 'drawHeader', ''); return out; }
  if (!step(header.kind === 'spot_check.draw' && header.id === draw.id && header.seq === draw.seq, 'drawHeader', `${header.kind} ${header.seq}`)) return out;
  const leaf = await leafHash(body);
  if (proof) {
    try {
      const root = await rootFromInclusionProof(draw.seq - 1, cp.size, leaf, proof.hashes.map(b64ToBytes));
      if (!step(equalBytes(root, cp.root), 'drawInclusion', '')) return out;
    } catch (e) { step(false, 'drawInclusion', e.message); return out; }
  } else {
    step(true, 'drawInclusionSkipped', '');
  }
  let members = draw.members;
  let passed = (draw.passed_over || []).map((p) => p.id);
  if (ev.salt && ev.payload) {
    const digest = bytesToHex(await sha256(concat(b64ToBytes(ev.salt), b64ToBytes(ev.payload))));
    if (!step(digest === header.payload_hash, 'drawPayload', digest)) return out;
    const payload = decodeJson(ev.payload);
    if (!step(sameList(payload.members, draw.members) && payload.size === draw.size, 'drawParams', '')) return out;
    members = payload.members;
    passed = (payload.passed_over || []).map((p) => p.id);
  } else {
    step(true, 'drawPayloadPurged', '');
  }
  const sorted = members.every((m, i) => i === 0 || members[i - 1] < m);
  if (!step(sorted, 'drawSorted', '')) return out;
  if (!step(passed.every((id) => members.includes(id)), 'drawPassedOver', '')) return out;
  const popHash = await populationSha256(members);
  if (!step(popHash === draw.population_sha256, 'drawPopulation', popHash)) return out;
  const sample = await recomputeSample(cp.root, draw.id.replace(/-/g, ''), members, passed, draw.size);
  out.sample = sample;
  if (!step(sameList(sample, draw.sample), 'drawSample', sample.join(' '))) return out;
  const se = draw.evidence.sample_entry;
  if (se && se.body && se.salt && se.payload) {
    const sHeader = JSON.parse(new TextDecoder().decode(b64ToBytes(se.body)));
    const digest = bytesToHex(await sha256(concat(b64ToBytes(se.salt), b64ToBytes(se.payload))));
    const sp = decodeJson(se.payload);
    const ok = sHeader.kind === 'spot_check.sample' && sHeader.seq > draw.seq && digest === sHeader.payload_hash
      && sp.draw_id === draw.id && sameList(sp.sample, sample) && sp.checkpoint && sp.checkpoint.root === cp.rootB64;
    if (!step(ok, 'drawSampleEntry', String(sHeader.seq))) return out;
  }
  out.ok = true;
  return out;
}
