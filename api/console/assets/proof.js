// Checking the ledger in the browser, trusting only the log's verifier key: C2SP signed notes
// (Ed25519, Web Crypto), RFC 6962 leaf hashes and RFC 9162 §2.1.3 inclusion proofs.
// docs/ledger.md gives every byte. No DOM and no fetch here, so node can test it too.

const enc = new TextEncoder();
const subtle = globalThis.crypto.subtle;

export function hexToBytes(hex) {
  if (typeof hex !== 'string' || hex.length % 2 || /[^0-9a-fA-F]/.test(hex)) throw new Error('not hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function b64ToBytes(b64) {
  const bin = atob(b64);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function bytesToB64(bytes) {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function concat(...parts) {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a[i] ^ b[i];
  return diff === 0;
}

export async function sha256(bytes) {
  return new Uint8Array(await subtle.digest('SHA-256', bytes));
}

// RFC 6962 §2.1: leaf = SHA-256(0x00 ‖ entry header bytes), node = SHA-256(0x01 ‖ l ‖ r).
export function leafHash(body) {
  return sha256(concat(Uint8Array.of(0), body));
}

function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

// `<name>+<key id hex>+<base64(0x01 ‖ 32-byte key)>`; the base64 may hold '+', so split twice.
export async function parseVerifierKey(line) {
  const text = String(line).trim();
  const first = text.indexOf('+');
  const second = text.indexOf('+', first + 1);
  if (first <= 0 || second < 0) throw new Error('verifier key: not name+id+key');
  const name = text.slice(0, first);
  const idHex = text.slice(first + 1, second);
  const keyBytes = b64ToBytes(text.slice(second + 1));
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new Error('verifier key: key id is not 8 hex digits');
  if (keyBytes.length !== 33 || keyBytes[0] !== 0x01) throw new Error('verifier key: not an Ed25519 key');
  const publicKey = keyBytes.slice(1);
  const expected = (await sha256(concat(enc.encode(name), Uint8Array.of(0x0a, 0x01), publicKey))).slice(0, 4);
  if (bytesToHex(expected) !== idHex) throw new Error('verifier key: key id does not match the key');
  return { name, keyId: hexToBytes(idHex), publicKey, line: text };
}

// Verifies a signed note with the key and reads it as a checkpoint: {origin, size, root}.
// Throws with a reason when it does not verify.
export async function verifyCheckpoint(note, key) {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new Error('checkpoint: no signature block');
  const text = note.slice(0, split + 1);
  const sigLines = note.slice(split + 2).split('\n').filter((l) => l.length);
  let signature = null;
  for (const l of sigLines) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(l);
    if (!m || m[1] !== key.name) continue;
    let raw;
    try { raw = b64ToBytes(m[2]); } catch (_) { continue; }
    if (raw.length === 68 && equalBytes(raw.slice(0, 4), key.keyId)) { signature = raw.slice(4); break; }
  }
  if (!signature) throw new Error('checkpoint: no signature by this key');
  const pub = await subtle.importKey('raw', key.publicKey, { name: 'Ed25519' }, false, ['verify']);
  const ok = await subtle.verify({ name: 'Ed25519' }, pub, signature, enc.encode(text));
  if (!ok) throw new Error('checkpoint: the signature does not verify');
  const lines = text.split('\n');
  if (lines.length < 4 || lines[0] !== key.name) throw new Error('checkpoint: origin is not the key name');
  if (!/^[0-9]+$/.test(lines[1])) throw new Error('checkpoint: bad tree size');
  const root = b64ToBytes(lines[2]);
  if (root.length !== 32) throw new Error('checkpoint: bad root');
  return { origin: lines[0], size: Number(lines[1]), root, rootB64: lines[2] };
}

// RFC 9162 §2.1.3.2: the root that the audit path gives for leaf `index` in a tree of `size`.
export async function rootFromInclusionProof(index, size, leaf, path) {
  if (!(index >= 0 && index < size)) throw new Error('inclusion: leaf index outside the tree');
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) throw new Error('inclusion: proof too long');
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error('inclusion: proof too short');
  return r;
}

// The whole check for one ledger entry, given what the server answered:
//   keyLine (GET /v1/ledger/key), note (GET /v1/ledger/checkpoint), proof (GET
//   /v1/ledger/proof/inclusion), leafHex (the record's leaf_hash), entry (GET /v1/ledger/entries,
//   optional: then the leaf is recomputed from the header bytes), pinned (a key line trusted
//   beforehand, optional).
// Answers {ok, steps: [{ok, code, detail}], size, root, origin, header}.
export async function checkInclusion({ keyLine, note, proof, seq, leafHex, entry, pinned }) {
  const steps = [];
  const out = { ok: false, steps, size: null, root: null, origin: null, header: null };
  const step = (ok, code, detail) => { steps.push({ ok, code, detail }); return ok; };
  let key;
  try {
    key = await parseVerifierKey(keyLine);
    step(true, 'key', key.name);
  } catch (e) { step(false, 'key', e.message); return out; }
  if (pinned && pinned.trim() !== key.line) { step(false, 'pinned', pinned.trim()); return out; }
  let cp;
  try {
    cp = await verifyCheckpoint(note, key);
    out.size = cp.size; out.root = cp.rootB64; out.origin = cp.origin;
    step(true, 'checkpoint', `${cp.origin} ${cp.size}`);
  } catch (e) { step(false, 'checkpoint', e.message); return out; }
  if (cp.size < seq) { step(false, 'covered', `${cp.size} < ${seq}`); return out; }
  let leaf;
  try { leaf = hexToBytes(leafHex); } catch (_) { step(false, 'leaf', leafHex); return out; }
  if (entry) {
    const body = b64ToBytes(entry.body);
    const recomputed = await leafHash(body);
    if (!step(equalBytes(recomputed, leaf), 'entry', bytesToHex(recomputed))) return out;
    try { out.header = JSON.parse(new TextDecoder().decode(body)); } catch (_) { out.header = null; }
    if (out.header && out.header.seq !== seq) { step(false, 'entrySeq', String(out.header.seq)); return out; }
  }
  if (proof.leaf_hash && proof.leaf_hash !== leafHex) { step(false, 'proofLeaf', proof.leaf_hash); return out; }
  if (proof.tree_size !== cp.size || proof.leaf_index !== seq - 1) { step(false, 'proofShape', `${proof.leaf_index}/${proof.tree_size}`); return out; }
  try {
    const root = await rootFromInclusionProof(seq - 1, cp.size, leaf, proof.hashes.map(b64ToBytes));
    if (!step(equalBytes(root, cp.root), 'inclusion', bytesToB64(root))) return out;
  } catch (e) { step(false, 'inclusion', e.message); return out; }
  out.ok = true;
  return out;
}
