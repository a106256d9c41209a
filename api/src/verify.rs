//! Export bundles and their offline verification (`fieldtrail export` / `fieldtrail verify`).
//!
//! A bundle holds a signed checkpoint of size n, the entries with seq in [from, to] (their
//! canonical bytes and the leaf the tree holds for each), and the perfect-subtree hashes that
//! cover the leaves before and after them, so the verifier can rebuild the root of all n leaves
//! from the entry bytes alone. Some entries carry their salted payload too, so that a draw can
//! be recomputed offline (`fieldtrail verify-draw --file`). The format is documented in
//! docs/ledger.md.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use fieldtrail_domain::canonical::payload_hash;
use fieldtrail_domain::merkle::NodeSource;
use fieldtrail_domain::merkle::{decompose, leaf_hash, CompactRange, Hash};
use fieldtrail_domain::note::{Checkpoint, NoteVerifier};
use fieldtrail_storage::merkle::{self as tree, DbNodes};
use fieldtrail_storage::{Database, StorageError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub const BUNDLE_FORMAT: &str = "fieldtrail-export/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeRef {
    pub level: u8,
    pub index: u64,
    /// Base64 of the 32-byte hash.
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BundleEntry {
    pub seq: u64,
    /// Base64 of the entry's canonical bytes.
    pub body: String,
    /// Hex of the leaf hash the tree holds for this entry.
    pub leaf_hash: String,
    /// Base64 of the payload's salt, when the export carries the payload (see [`Payloads`]);
    /// absent in bundles from before payloads were exported and in those fetched from a server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Base64 of the canonical payload bytes the header's `payload_hash` covers with `salt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// Which payloads an export carries. Payloads hold exact coordinates, device ids and notes
/// (personal information under PIPL), so by default only those that `verify-draw` needs go into
/// a file: the draws' and samples', which name person and household ids and nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Payloads {
    /// Headers only, as bundles were before payloads were exported.
    None,
    /// The payloads of `spot_check.draw` and `spot_check.sample` entries.
    #[default]
    Draws,
    /// Every stored payload.
    All,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bundle {
    pub format: String,
    /// The signed checkpoint (C2SP signed note) the bundle proves against.
    pub checkpoint: String,
    pub from: u64,
    pub to: u64,
    /// Perfect subtrees covering the leaves before `from`.
    pub left: Vec<NodeRef>,
    pub entries: Vec<BundleEntry>,
    /// Perfect subtrees covering the leaves after `to`, up to the checkpoint's size.
    pub right: Vec<NodeRef>,
    /// Which payloads the export carries (`all`, `draws`, `none`): an entry it should carry a
    /// payload for but does not was purged (a `payload.purge` entry names it) or is missing.
    /// Absent in bundles fetched from a server or written before payloads were exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payloads: Option<Payloads>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot reach the server: {0}")]
    Http(String),
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn node_refs(
    conn: &mut fieldtrail_storage::DbConnection,
    begin: u64,
    end: u64,
) -> Result<Vec<NodeRef>, StorageError> {
    let mut nodes = DbNodes(conn);
    decompose(begin, end)
        .into_iter()
        .map(|(level, index)| {
            Ok(NodeRef {
                level,
                index,
                hash: STANDARD.encode(nodes.node(level, index)?),
            })
        })
        .collect()
}

/// The stored payloads of entries [first, last] that `which` selects, by seq.
fn payload_rows(
    conn: &mut fieldtrail_storage::DbConnection,
    first: u64,
    last: u64,
    which: Payloads,
) -> Result<HashMap<u64, tree::StoredPayload>, StorageError> {
    let kinds: Option<&[&str]> = match which {
        Payloads::None => return Ok(HashMap::new()),
        Payloads::Draws => Some(&["spot_check.draw", "spot_check.sample"]),
        Payloads::All => None,
    };
    let (first, last) = (
        i64::try_from(first).unwrap_or(i64::MAX),
        i64::try_from(last).unwrap_or(i64::MAX),
    );
    Ok(tree::payloads_between(conn, first, last, kinds)?
        .into_iter()
        .map(|row| (u64::try_from(row.seq).unwrap_or(0), row))
        .collect())
}

/// Builds a bundle of the entries with seq in [from, to] against the latest stored checkpoint,
/// with the payloads of draws and samples (see [`Payloads`]).
pub fn export(db: &Database, from: Option<u64>, to: Option<u64>) -> Result<Bundle, VerifyError> {
    export_with(db, from, to, Payloads::default())
}

/// [`export`] with the choice of payloads to include.
pub fn export_with(
    db: &Database,
    from: Option<u64>,
    to: Option<u64>,
    payloads: Payloads,
) -> Result<Bundle, VerifyError> {
    let mut conn = db.conn()?;
    let checkpoint = tree::latest_checkpoint(&mut conn)?.ok_or_else(|| {
        VerifyError::Usage(
            "the ledger has no checkpoint yet: start the server (it signs one every 10 s)".into(),
        )
    })?;
    let size = checkpoint.size;
    let from = from.unwrap_or(1);
    let to = to.unwrap_or(size);
    if from < 1 || from > to || to > size {
        return Err(VerifyError::Usage(format!(
            "--from/--to must satisfy 1 <= from <= to <= {size} (the latest checkpoint's size)"
        )));
    }
    let mut entries = Vec::new();
    let mut next = from;
    while next <= to {
        let count = (to - next + 1).min(10_000);
        let page = tree::entries(&mut conn, next as i64, count as i64)?;
        if page.is_empty() {
            return Err(StorageError::Corrupt(format!("ledger entry {next} is missing")).into());
        }
        let mut stored = payload_rows(&mut conn, next, next + count - 1, payloads)?;
        for entry in page {
            let payload = stored.remove(&(entry.seq as u64));
            entries.push(BundleEntry {
                seq: entry.seq as u64,
                body: STANDARD.encode(&entry.body),
                leaf_hash: hex::encode(entry.tree_leaf),
                salt: payload.as_ref().map(|row| STANDARD.encode(&row.salt)),
                payload: payload.as_ref().map(|row| STANDARD.encode(&row.payload)),
            });
        }
        next += count;
    }
    Ok(Bundle {
        format: BUNDLE_FORMAT.into(),
        checkpoint: checkpoint.note,
        from,
        to,
        left: node_refs(&mut conn, 0, from - 1)?,
        entries,
        right: node_refs(&mut conn, to, size)?,
        payloads: Some(payloads),
    })
}

/// Assembles a bundle of the whole ledger from a live server (entries need an inspector's or
/// admin's token).
pub fn fetch(server: &str, token: Option<&str>) -> Result<Bundle, VerifyError> {
    let client = Client::new(server, token);
    let get = |path: &str| -> Result<String, VerifyError> {
        let (status, body) = client.get(path)?;
        if status != 200 {
            return Err(VerifyError::Http(format!(
                "GET {path} answered {status}: {body}"
            )));
        }
        Ok(body)
    };
    let note = get("/v1/ledger/checkpoint")?;
    let size = note
        .lines()
        .nth(1)
        .and_then(|line| line.parse::<u64>().ok())
        .ok_or_else(|| VerifyError::Http("the checkpoint has no tree size line".into()))?;
    let mut entries = Vec::new();
    let mut start = 1;
    while start <= size {
        let count = (size - start + 1).min(1000);
        let page: serde_json::Value = serde_json::from_str(&get(&format!(
            "/v1/ledger/entries?start={start}&count={count}"
        ))?)
        .map_err(|err| VerifyError::Http(format!("entries: {err}")))?;
        let items = page["entries"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        for item in items {
            entries.push(BundleEntry {
                seq: item["seq"].as_u64().unwrap_or(0),
                body: item["body"].as_str().unwrap_or("").to_owned(),
                leaf_hash: item["leaf_hash"].as_str().unwrap_or("").to_owned(),
                salt: None,
                payload: None,
            });
        }
        start += count;
    }
    Ok(Bundle {
        format: BUNDLE_FORMAT.into(),
        checkpoint: note,
        from: 1,
        to: size,
        left: Vec::new(),
        entries,
        right: Vec::new(),
        payloads: None,
    })
}

/// GETs against a live server with an optional bearer token; the status and body whatever
/// the status (`verify --server` and `verify-draw --server`).
pub(crate) struct Client {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

impl Client {
    pub(crate) fn new(server: &str, token: Option<&str>) -> Client {
        Client {
            agent: ureq::Agent::new_with_config(
                ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build(),
            ),
            base: server.trim_end_matches('/').to_owned(),
            token: token.map(str::to_owned),
        }
    }

    pub(crate) fn get(&self, path: &str) -> Result<(u16, String), VerifyError> {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request
            .call()
            .map_err(|err| VerifyError::Http(err.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_string()
            .map_err(|err| VerifyError::Http(err.to_string()))?;
        Ok((status, body))
    }
}

/// What verification found: every check in order, each passed or failed, and facts learned on
/// the way (`verify-draw` names the draw it verified).
#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<(bool, String)>,
    /// (label, value) lines, in the order they were learned.
    pub facts: Vec<(&'static str, String)>,
}

impl Report {
    pub(crate) fn pass(&mut self, what: impl Into<String>) {
        self.checks.push((true, what.into()));
    }

    pub(crate) fn fail(&mut self, what: impl Into<String>) {
        self.checks.push((false, what.into()));
    }

    pub(crate) fn fact(&mut self, label: &'static str, value: impl Into<String>) {
        self.facts.push((label, value.into()));
    }

    /// The value of a fact, e.g. `sample`.
    pub fn fact_value(&self, label: &str) -> Option<&str> {
        self.facts
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, value)| value.as_str())
    }

    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|(ok, _)| *ok)
    }

    pub fn failures(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|(ok, _)| !ok)
            .map(|(_, what)| what.as_str())
            .collect()
    }

    pub fn render(&self) -> String {
        self.render_as("VERIFIED", "NOT VERIFIED")
    }

    /// Every check, then the facts, then `passed` or `failed` as the last line.
    pub(crate) fn render_as(&self, passed: &str, failed: &str) -> String {
        let mut out = String::new();
        for (ok, what) in &self.checks {
            out.push_str(if *ok { "ok    " } else { "FAIL  " });
            out.push_str(what);
            out.push('\n');
        }
        for (label, value) in &self.facts {
            out.push_str(&format!("{label:<11} {value}\n"));
        }
        out.push_str(if self.ok() { passed } else { failed });
        out.push('\n');
        out
    }
}

fn decode_hash(text: &str) -> Option<Hash> {
    STANDARD.decode(text).ok()?.try_into().ok()
}

/// Checks a signed checkpoint with the log's key and returns what it says.
fn open_checkpoint(
    verifier: &NoteVerifier,
    note: &str,
    what: &str,
    report: &mut Report,
) -> Option<Checkpoint> {
    match verifier.verify(note).map(Checkpoint::parse) {
        Ok(Ok(checkpoint)) => {
            report.pass(format!(
                "{what} is signed by {} (size {})",
                verifier.name(),
                checkpoint.size
            ));
            Some(checkpoint)
        }
        Ok(Err(err)) => {
            report.fail(format!("{what} is not a checkpoint: {err}"));
            None
        }
        Err(err) => {
            report.fail(format!("{what} does not verify with the key: {err}"));
            None
        }
    }
}

/// Whether an exported payload is the one its header commits to: SHA-256(salt ‖ payload) must
/// be the header's `payload_hash`.
fn check_payload(entry: &BundleEntry, header: Option<&serde_json::Value>) -> Result<(), String> {
    let (Some(salt), Some(payload)) = (&entry.salt, &entry.payload) else {
        return Err("the bundle carries only one of its payload's salt and bytes".into());
    };
    let (Ok(salt), Ok(payload)) = (STANDARD.decode(salt), STANDARD.decode(payload)) else {
        return Err("its payload or salt is not base64".into());
    };
    let committed = header.and_then(|h| h["payload_hash"].as_str());
    if committed != Some(hex::encode(payload_hash(&salt, &payload)).as_str()) {
        return Err(
            "its payload does not hash to the header's payload_hash (the payload was altered)"
                .into(),
        );
    }
    Ok(())
}

/// Payloads the bundle should carry but does not: purged when a `payload.purge` entry in the
/// bundle names them (a fact, not a failure), missing otherwise.
/// `headers` are the entries' parsed headers, in bundle order (None where unreadable).
fn check_absent_payloads(
    bundle: &Bundle,
    headers: &[Option<serde_json::Value>],
    report: &mut Report,
) {
    let expected: fn(&str) -> bool = match bundle.payloads {
        Some(Payloads::All) => |_| true,
        Some(Payloads::Draws) => |kind| kind == "spot_check.draw" || kind == "spot_check.sample",
        Some(Payloads::None) | None => return,
    };

    let mut purged = fieldtrail_domain::purge::PurgedRanges::default();
    let mut purges = 0usize;
    for (entry, header) in bundle.entries.iter().zip(headers) {
        let (seq, Some(header)) = (entry.seq, header) else {
            continue;
        };
        if header["kind"] == "payload.purge" {
            purges += 1;
            if let Err(problem) =
                purged.add_from(i64::try_from(seq).unwrap_or(i64::MAX), &header["verdicts"])
            {
                report.fail(format!("entry seq {seq}: {problem}"));
            }
        }
    }
    let mut purged_count = 0usize;
    let mut missing = Vec::new();
    for (entry, header) in bundle.entries.iter().zip(headers) {
        let seq = entry.seq;
        let kind = header
            .as_ref()
            .and_then(|h| h["kind"].as_str())
            .unwrap_or("");
        if entry.payload.is_some() || !expected(kind) {
            continue;
        }
        if purged.covers(i64::try_from(seq).unwrap_or(i64::MAX)) {
            purged_count += 1;
        } else {
            missing.push(seq);
        }
    }
    if purged_count > 0 {
        report.pass(format!(
            "{purged_count} payloads purged, as {purges} payload.purge entries record (headers and proofs unaffected)"
        ));
    }
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(10).map(u64::to_string).collect();
        report.fail(format!(
            "{} payloads missing with no payload.purge entry naming them (deleted without a purge): seq {}{}",
            missing.len(),
            shown.join(", "),
            if missing.len() > shown.len() { ", …" } else { "" }
        ));
    }
}

/// Recomputes every leaf and the root from the bundle, and checks every payload it carries
/// against its header; with `since`, also checks that the ledger is an extension of that
/// earlier checkpoint.
pub fn verify_bundle(bundle: &Bundle, verifier: &NoteVerifier, since: Option<&str>) -> Report {
    let mut report = Report::default();
    if bundle.format != BUNDLE_FORMAT {
        report.fail(format!("unknown bundle format {:?}", bundle.format));
        return report;
    }
    let Some(checkpoint) = open_checkpoint(verifier, &bundle.checkpoint, "checkpoint", &mut report)
    else {
        return report;
    };
    let expected: Vec<u64> = (bundle.from..=bundle.to).collect();
    let listed: Vec<u64> = bundle.entries.iter().map(|e| e.seq).collect();
    if bundle.from < 1 || bundle.to > checkpoint.size || listed != expected {
        report.fail(format!(
            "the bundle should hold entries {}..={} of {} but holds {} entries{}",
            bundle.from,
            bundle.to,
            checkpoint.size,
            listed.len(),
            match (listed.first(), listed.last()) {
                (Some(first), Some(last)) => format!(" ({first}..={last})"),
                _ => String::new(),
            }
        ));
    }

    let mut leaves = Vec::with_capacity(bundle.entries.len());
    let mut headers = Vec::with_capacity(bundle.entries.len());
    let mut altered = Vec::new();
    let mut payloads = 0usize;
    let mut altered_payloads = Vec::new();
    for entry in &bundle.entries {
        let Ok(body) = STANDARD.decode(&entry.body) else {
            altered.push(format!("entry seq {}: body is not base64", entry.seq));
            leaves.push([0u8; 32]);
            headers.push(None);
            continue;
        };
        let leaf = leaf_hash(&body);
        if hex::encode(leaf) != entry.leaf_hash {
            altered.push(format!(
                "entry seq {}: its bytes do not hash to the leaf the tree holds (the entry was altered)",
                entry.seq
            ));
        }
        let header = serde_json::from_slice::<serde_json::Value>(&body).ok();
        let header_seq = header.as_ref().and_then(|v| v["seq"].as_u64());
        if header_seq != Some(entry.seq) {
            altered.push(format!(
                "entry seq {}: its header names seq {header_seq:?}",
                entry.seq
            ));
        }
        if entry.salt.is_some() || entry.payload.is_some() {
            payloads += 1;
            if let Err(problem) = check_payload(entry, header.as_ref()) {
                altered_payloads.push(format!("entry seq {}: {problem}", entry.seq));
            }
        }
        leaves.push(leaf);
        headers.push(header);
    }
    if altered.is_empty() {
        report.pass(format!(
            "{} entry leaf hashes recomputed from their bytes",
            leaves.len()
        ));
    }
    for failure in altered {
        report.fail(failure);
    }
    if payloads > 0 && altered_payloads.is_empty() {
        report.pass(format!(
            "{payloads} payloads in the bundle match their headers' payload_hash"
        ));
    }
    for failure in altered_payloads {
        report.fail(failure);
    }
    check_absent_payloads(bundle, &headers, &mut report);

    let mut range = CompactRange::new(0);
    let mut rebuilt = true;
    for node in &bundle.left {
        let appended = decode_hash(&node.hash).map(|h| range.append_node(node.level, h));
        rebuilt &= matches!(appended, Some(Ok(_)));
    }
    let before_entries = range.clone();
    for leaf in &leaves {
        range.append_leaf(*leaf);
    }
    for node in &bundle.right {
        let appended = decode_hash(&node.hash).map(|h| range.append_node(node.level, h));
        rebuilt &= matches!(appended, Some(Ok(_)));
    }
    match range.root() {
        Ok(root) if rebuilt && range.end() == checkpoint.size && root == checkpoint.root => {
            report.pass(format!(
                "root of {} entries rebuilt from the bundle matches the checkpoint",
                checkpoint.size
            ));
        }
        _ => report.fail(format!(
            "the root rebuilt from the bundle ({} leaves) does not match the checkpoint of size {}",
            range.end(),
            checkpoint.size
        )),
    }

    if let Some(since) = since {
        let Some(earlier) = open_checkpoint(verifier, since, "--since checkpoint", &mut report)
        else {
            return report;
        };
        if earlier.size > checkpoint.size {
            report.fail(format!(
                "not consistent: the ledger shrank from {} entries (--since) to {}: entries were removed",
                earlier.size, checkpoint.size
            ));
        } else if earlier.size < before_entries.end() || earlier.size > bundle.to {
            report.fail(format!(
                "cannot check consistency with size {}: the bundle holds entries {}..={} (export from an earlier --from)",
                earlier.size, bundle.from, bundle.to
            ));
        } else {
            let mut prefix = before_entries;
            let take = usize::try_from(earlier.size - prefix.end()).unwrap_or(0);
            for leaf in leaves.iter().take(take) {
                prefix.append_leaf(*leaf);
            }
            match prefix.root() {
                Ok(root) if root == earlier.root => report.pass(format!(
                    "consistent: the first {} entries still hash to the --since checkpoint's root",
                    earlier.size
                )),
                _ => report.fail(format!(
                    "not consistent: the first {} entries no longer hash to the --since checkpoint's root",
                    earlier.size
                )),
            }
        }
    }
    report
}

/// `--key` takes the verifier key itself or a file holding it.
pub fn read_key(key: &str) -> Result<NoteVerifier, VerifyError> {
    let text = match std::fs::read_to_string(key) {
        Ok(content) => content,
        Err(_) => key.to_owned(),
    };
    NoteVerifier::parse(text.trim()).map_err(|err| VerifyError::Usage(format!("--key: {err}")))
}

pub fn read_file(path: &str) -> Result<String, VerifyError> {
    std::fs::read_to_string(path).map_err(|source| VerifyError::Io {
        path: path.to_owned(),
        source,
    })
}
