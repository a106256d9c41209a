//! `fieldtrail verify-draw`: an outsider's check of one spot-check draw (docs/spot-checks.md).
//!
//! A draw is fair when its parameters and population were fixed by a `spot_check.draw` entry
//! before the seed existed, the seed is the root of the signed tree that ends with that entry,
//! and the sample is what the documented algorithm draws from that seed. Each link is checked
//! from the verifier key and the entries' bytes: against a live server ([`verify_online`]) or
//! an export ([`verify_file`]). What the server's answer about the draw says is never taken on
//! trust, only compared with what the ledger commits to, so that an edited `draws` row shows.

mod offline;
mod online;

pub use offline::verify_file;
pub use online::verify_online;

use crate::verify::{BundleEntry, VerifyError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use fieldtrail_domain::canonical::payload_hash;
use fieldtrail_domain::merkle::Hash;
use fieldtrail_domain::note::{Checkpoint, NoteVerifier};
use fieldtrail_domain::spotcheck::{population_sha256, sample};
use serde_json::Value;
use std::collections::BTreeSet;
use uuid::Uuid;

const DRAW_KIND: &str = "spot_check.draw";
const SAMPLE_KIND: &str = "spot_check.sample";

/// What verification found: every check in order, and what the draw turned out to be (the
/// facts: draw, seed, unit, population, sample). Reads like [`crate::verify::Report`], whose
/// checks and facts it holds; only its last line differs.
#[derive(Debug, Default)]
pub struct Report(crate::verify::Report);

impl std::ops::Deref for Report {
    type Target = crate::verify::Report;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Report {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Report {
    pub fn render(&self) -> String {
        self.0.render_as("verify-draw: OK", "verify-draw: FAILED")
    }
}

/// `--draw` is the draw's id, which is its ledger entry's id (a UUID).
fn parse_draw_id(raw: &str) -> Result<Uuid, VerifyError> {
    Uuid::parse_str(raw.trim())
        .map_err(|err| VerifyError::Usage(format!("--draw: not a draw id (a UUID): {err}")))
}

fn b64(hash: &Hash) -> String {
    STANDARD.encode(hash)
}

/// A JSON value as a message shows it: its text, cut short when long.
fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// Ids as a message or report shows them.
fn list(ids: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut text = ids
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        text.push_str(&format!(", … ({} in all)", ids.len()));
    }
    format!("[{text}]")
}

fn strings(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect()
}

/// One ledger entry as the tree commits to it, with its salted payload when available.
struct Evidence {
    seq: u64,
    body: Vec<u8>,
    salt: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
}

fn decode_optional(value: Option<&str>, what: &str) -> Result<Option<Vec<u8>>, String> {
    value
        .map(|text| STANDARD.decode(text))
        .transpose()
        .map_err(|_| format!("its {what} is not base64"))
}

impl Evidence {
    /// From `evidence.draw_entry` / `evidence.sample_entry` of the server's answer.
    fn from_answer(value: &Value) -> Result<Evidence, String> {
        let seq = value["seq"]
            .as_u64()
            .ok_or("the server's answer gives no seq for it")?;
        let body = value["body"]
            .as_str()
            .ok_or("the server's answer gives no body for it")?;
        Ok(Evidence {
            seq,
            body: STANDARD
                .decode(body)
                .map_err(|_| "its body is not base64".to_owned())?,
            salt: decode_optional(value["salt"].as_str(), "salt")?,
            payload: decode_optional(value["payload"].as_str(), "payload")?,
        })
    }

    fn from_bundle(entry: &BundleEntry) -> Option<Evidence> {
        Some(Evidence {
            seq: entry.seq,
            body: STANDARD.decode(&entry.body).ok()?,
            salt: decode_optional(entry.salt.as_deref(), "salt").ok()?,
            payload: decode_optional(entry.payload.as_deref(), "payload").ok()?,
        })
    }

    fn header(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    fn payload_json(&self) -> Option<Value> {
        serde_json::from_slice(self.payload.as_deref()?).ok()
    }
}

/// Checks that the entry is of `kind` (and has `id`), that its header names its seq and that
/// its payload is the one the header's `payload_hash` commits to; returns the payload.
fn open_entry(
    report: &mut Report,
    what: &str,
    entry: &Evidence,
    kind: &str,
    id: Option<&str>,
) -> Option<Value> {
    let Some(header) = entry.header() else {
        report.fail(format!(
            "{what} (seq {}): its header is not JSON",
            entry.seq
        ));
        return None;
    };
    let mut problems = Vec::new();
    if header["kind"] != kind {
        problems.push(format!(
            "its kind is {}, not {kind}",
            short(&header["kind"])
        ));
    }
    if header["seq"].as_u64() != Some(entry.seq) {
        problems.push(format!("its header names seq {}", short(&header["seq"])));
    }
    if let Some(id) = id {
        if header["id"] != id {
            problems.push(format!(
                "its header names id {}, not {id}",
                short(&header["id"])
            ));
        }
    }
    let payload = match (&entry.salt, &entry.payload) {
        (Some(salt), Some(bytes)) => {
            let computed = hex::encode(payload_hash(salt, bytes));
            if header["payload_hash"].as_str() != Some(computed.as_str()) {
                problems.push(
                    "its payload does not hash to the header's payload_hash (the payload was altered)"
                        .to_owned(),
                );
                None
            } else {
                let parsed = entry.payload_json().filter(Value::is_object);
                if parsed.is_none() {
                    problems.push("its payload is not a JSON object".to_owned());
                }
                parsed
            }
        }
        _ => {
            problems.push(
                "its payload is not available (purged, or not in the export), so it cannot be checked"
                    .to_owned(),
            );
            None
        }
    };
    if problems.is_empty() {
        report.pass(format!(
            "{what} (seq {}) is a {kind} entry whose payload matches its payload_hash",
            entry.seq
        ));
        payload
    } else {
        for problem in problems {
            report.fail(format!("{what} (seq {}): {problem}", entry.seq));
        }
        None
    }
}

/// The population as the draw entry fixed it.
struct Committed {
    members: Vec<String>,
    /// The members that could be selected: all but those passed over, in the members' order.
    candidates: Vec<String>,
    size: usize,
    population_sha256: String,
}

/// Checks the committed population against its own hash; None when it cannot be read at all.
fn check_population(report: &mut Report, payload: &Value) -> Option<Committed> {
    let Some(members) = strings(&payload["members"]) else {
        report.fail("the draw entry's members are not a list of ids");
        return None;
    };
    let passed_over: Option<BTreeSet<String>> =
        payload["passed_over"].as_array().and_then(|items| {
            items
                .iter()
                .map(|item| item["id"].as_str().map(str::to_owned))
                .collect()
        });
    let Some(passed_over) = passed_over else {
        report.fail("the draw entry's passed_over is not a list of {id, reason}");
        return None;
    };
    let Some(size) = payload["size"]
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n >= 1)
    else {
        report.fail(format!(
            "the draw entry's size {} is not a positive integer",
            short(&payload["size"])
        ));
        return None;
    };
    let mut ok = true;
    // The sample depends on the order of the candidates; the documented order is sorted.
    if !members.windows(2).all(|pair| pair[0] < pair[1]) {
        report.fail("the draw entry's members are not sorted without repeats");
        ok = false;
    }
    let computed = hex::encode(population_sha256(&members));
    let committed = payload["population_sha256"].as_str().unwrap_or("(none)");
    if committed != computed {
        report.fail(format!(
            "population hash: the draw entry's {} members hash to {computed}, but it commits to population_sha256 {committed}",
            members.len()
        ));
        ok = false;
    }
    let strangers: Vec<String> = passed_over
        .iter()
        .filter(|id| !members.contains(id))
        .cloned()
        .collect();
    if !strangers.is_empty() {
        report.fail(format!(
            "the draw entry passes over {} who are not members",
            list(&strangers)
        ));
        ok = false;
    }
    if ok {
        report.pass(format!(
            "the draw entry's {} members are sorted and hash to its population_sha256",
            members.len()
        ));
    }
    let candidates = members
        .iter()
        .filter(|member| !passed_over.contains(*member))
        .cloned()
        .collect();
    Some(Committed {
        members,
        candidates,
        size,
        population_sha256: computed,
    })
}

fn population_facts(report: &mut Report, payload: &Value, committed: &Committed) {
    report.fact(
        "unit",
        format!(
            "{}, population {}, period {}",
            payload["unit_code"].as_str().unwrap_or("?"),
            payload["population"].as_str().unwrap_or("?"),
            payload["period"].as_str().unwrap_or("?")
        ),
    );
    report.fact(
        "population",
        format!(
            "{} members ({} passed over), sha256 {}",
            committed.members.len(),
            committed.members.len() - committed.candidates.len(),
            committed.population_sha256
        ),
    );
}

/// What the seed draws from the committed population.
fn recompute(seed: &Hash, draw: &Uuid, committed: &Committed) -> Vec<String> {
    sample(
        *seed,
        *draw.as_bytes(),
        &committed.candidates,
        committed.size,
    )
}

/// Checks the `spot_check.sample` entry's payload: it names the draw and its seed, and records
/// the sample the seed draws.
fn check_sample_entry(
    report: &mut Report,
    payload: &Value,
    draw: &str,
    seq: u64,
    seed: &Hash,
    recomputed: &[String],
) {
    if payload["draw_id"] != draw {
        report.fail(format!(
            "the sample entry names draw {}, not {draw}",
            short(&payload["draw_id"])
        ));
    }
    let checkpoint = &payload["checkpoint"];
    let root = b64(seed);
    if checkpoint["size"].as_u64() != Some(seq) || checkpoint["root"].as_str() != Some(&root) {
        report.fail(format!(
            "the sample entry names the checkpoint {}, not the draw's seed (size {seq}, root {root})",
            short(checkpoint)
        ));
    }
    match strings(&payload["sample"]) {
        Some(recorded) if recorded == recomputed => {
            report.pass("the sample entry records the sample recomputed from the seed");
        }
        Some(recorded) => report.fail(format!(
            "sample: the sample entry records {}, but the seed draws {}",
            list(&recorded),
            list(recomputed)
        )),
        None => report.fail("the sample entry has no sample list"),
    }
}

/// Verifies a signed checkpoint with the log's key.
fn open_checkpoint(
    report: &mut Report,
    verifier: &NoteVerifier,
    note: &str,
    what: &str,
) -> Option<Checkpoint> {
    match verifier.verify(note).map(Checkpoint::parse) {
        Ok(Ok(checkpoint)) => Some(checkpoint),
        Ok(Err(err)) => {
            report.fail(format!("{what} is not a checkpoint: {err}"));
            None
        }
        Err(err) => {
            report.fail(format!(
                "{what} does not verify with the key {}: {err}",
                verifier.name()
            ));
            None
        }
    }
}
