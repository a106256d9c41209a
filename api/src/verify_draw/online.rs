//! `verify-draw --server`: the draw as a live server answers it, checked against the signed
//! checkpoints, the proofs and the entries' bytes it serves.

use super::{
    b64, check_population, check_sample_entry, list, open_checkpoint, open_entry, parse_draw_id,
    population_facts, recompute, short, strings, Evidence, Report, DRAW_KIND, SAMPLE_KIND,
};
use crate::verify::VerifyError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use fieldtrail_domain::merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash};
use fieldtrail_domain::note::NoteVerifier;
use serde_json::Value;

/// The server's answer must show what the draw entry commits to, and the recomputed sample.
fn compare_answer(report: &mut Report, view: &Value, payload: &Value, recomputed: &[String]) {
    let mut differences = Vec::new();
    for field in [
        "unit_code",
        "population",
        "size",
        "period",
        "purpose",
        "emergency_reason",
        "drawn_by",
        "drawn_at",
        "population_sha256",
        "passed_over",
    ] {
        if view[field] != payload[field] {
            differences.push(format!(
                "{field}: the server answers {}, the draw entry commits to {}",
                short(&view[field]),
                short(&payload[field])
            ));
        }
    }
    let answered = strings(&view["members"]);
    let committed = strings(&payload["members"]).unwrap_or_default();
    match &answered {
        Some(answered) if *answered == committed => {}
        Some(answered) => {
            let only = |a: &[String], b: &[String]| -> Vec<String> {
                a.iter().filter(|id| !b.contains(id)).cloned().collect()
            };
            differences.push(format!(
                "members: the server answers {} members, the draw entry commits to {}; only in the answer: {}, only in the entry: {}",
                answered.len(),
                committed.len(),
                list(&only(answered, &committed)),
                list(&only(&committed, answered))
            ));
        }
        None => differences.push("members: the server's answer has no list of members".into()),
    }
    if view["population_size"].as_u64() != Some(committed.len() as u64) {
        differences.push(format!(
            "population_size: the server answers {}, the draw entry has {} members",
            short(&view["population_size"]),
            committed.len()
        ));
    }
    if differences.is_empty() {
        report.pass(
            "the server's answer shows the parameters and population the draw entry commits to",
        );
    }
    for difference in differences {
        report.fail(format!(
            "the server's answer differs from the ledger: {difference}"
        ));
    }
    match strings(&view["sample"]) {
        Some(answered) if answered == recomputed => {
            report.pass("the server's sample is the one the seed draws");
        }
        Some(answered) => report.fail(format!(
            "sample: the server answers {}, but the seed draws {}",
            list(&answered),
            list(recomputed)
        )),
        None => report.fail("sample: the server's answer has no sample list"),
    }
}

/// GETs against a server; anything but the expected answer is an error, since then nothing
/// can be checked.
struct Client(crate::verify::Client);

impl Client {
    fn new(server: &str, token: Option<&str>) -> Client {
        Client(crate::verify::Client::new(server, token))
    }

    fn ok(&self, path: &str) -> Result<String, VerifyError> {
        let (status, body) = self.0.get(path)?;
        if status == 200 {
            return Ok(body);
        }
        let hint = if matches!(status, 401 | 403) {
            " (the draw and its proofs need the bearer token of the supervisor who made it, an inspector or an admin: --token or FIELDTRAIL_TOKEN)"
        } else {
            ""
        };
        Err(VerifyError::Http(format!(
            "GET {path} answered {status}: {}{hint}",
            body.trim()
        )))
    }

    fn json(&self, path: &str) -> Result<Value, VerifyError> {
        serde_json::from_str(&self.ok(path)?)
            .map_err(|err| VerifyError::Http(format!("GET {path}: not JSON: {err}")))
    }

    /// The audit path of a proof answer (`hashes`, base64).
    fn proof(&self, path: &str) -> Result<Vec<Hash>, VerifyError> {
        let answer = self.json(path)?;
        answer["hashes"]
            .as_array()
            .and_then(|hashes| {
                hashes
                    .iter()
                    .map(|h| STANDARD.decode(h.as_str()?).ok()?.try_into().ok())
                    .collect::<Option<Vec<Hash>>>()
            })
            .ok_or_else(|| VerifyError::Http(format!("GET {path}: no list of base64 hashes")))
    }

    fn inclusion(&self, seq: u64, tree_size: u64) -> Result<Vec<Hash>, VerifyError> {
        self.proof(&format!(
            "/v1/ledger/proof/inclusion?seq={seq}&tree_size={tree_size}"
        ))
    }
}

/// Checks a draw against a live server: the seed checkpoint, the draw entry's inclusion and
/// payload, the population, the sample, and the sample entry. Err only when the check cannot
/// be made at all (a bad id, an unreachable server, an answer other than 200).
pub fn verify_online(
    server: &str,
    verifier: &NoteVerifier,
    draw: &str,
    token: Option<&str>,
) -> Result<Report, VerifyError> {
    let draw = parse_draw_id(draw)?;
    let id = draw.to_string();
    let client = Client::new(server, token);
    let view = client.json(&format!("/v1/spot-checks/draws/{id}"))?;
    let mut report = Report::default();
    report.fact("draw", id.clone());
    let Some(seq) = view["seq"].as_u64().filter(|seq| *seq >= 1) else {
        return Err(VerifyError::Http(format!(
            "the server's answer for draw {id} has no seq"
        )));
    };
    if view["id"] != id.as_str() {
        report.fail(format!(
            "the server answers for draw {}, not {id}",
            short(&view["id"])
        ));
    }

    // 1. The seed: the signed checkpoint of the tree that ends with the draw entry.
    let (status, note) = client.0.get(&format!("/v1/ledger/checkpoints/{seq}"))?;
    if status == 404 {
        report.fail(format!(
            "the ledger has no signed checkpoint of size {seq}, the tree that ends with the draw entry: the draw has no seed"
        ));
        return Ok(report);
    }
    if status != 200 {
        return Err(VerifyError::Http(format!(
            "GET /v1/ledger/checkpoints/{seq} answered {status}: {}",
            note.trim()
        )));
    }
    let what = format!("the checkpoint of size {seq} (the seed)");
    let Some(seed) = open_checkpoint(&mut report, verifier, &note, &what) else {
        return Ok(report);
    };
    if seed.size == seq {
        report.pass(format!("{what} is signed by {}", verifier.name()));
    } else {
        report.fail(format!(
            "the ledger's checkpoint for size {seq} is of size {}",
            seed.size
        ));
        return Ok(report);
    }
    let root = b64(&seed.root);
    let answered = &view["checkpoint"];
    if answered["size"].as_u64() != Some(seq)
        || answered["root"].as_str() != Some(root.as_str())
        || answered["note"].as_str().is_some_and(|n| n != note)
    {
        report.fail(format!(
            "the server's answer names the checkpoint of size {} root {}, not the signed one of size {seq} root {root}",
            short(&answered["size"]),
            short(&answered["root"])
        ));
    }
    report.fact(
        "seed",
        format!("root of the signed tree of size {seq}: {root}"),
    );

    // 2. The draw entry is in that tree, and its payload is what its header commits to.
    let entry = match Evidence::from_answer(&view["evidence"]["draw_entry"]) {
        Ok(entry) if entry.seq == seq => entry,
        Ok(entry) => {
            report.fail(format!(
                "the server's evidence is entry {}, not the draw entry {seq}",
                entry.seq
            ));
            return Ok(report);
        }
        Err(problem) => {
            report.fail(format!("draw entry: {problem}"));
            return Ok(report);
        }
    };
    let proof = client.inclusion(seq, seq)?;
    match verify_inclusion(&leaf_hash(&entry.body), seq - 1, seq, &proof, &seed.root) {
        Ok(()) => report.pass(format!(
            "the draw entry is leaf {} of the signed tree of size {seq} (inclusion proof)",
            seq - 1
        )),
        Err(err) => report.fail(format!(
            "the draw entry's bytes are not leaf {} of the signed tree of size {seq}: {err}",
            seq - 1
        )),
    }
    let Some(payload) = open_entry(&mut report, "the draw entry", &entry, DRAW_KIND, Some(&id))
    else {
        return Ok(report);
    };

    // 3. The committed population, and the server's answer against it.
    let Some(committed) = check_population(&mut report, &payload) else {
        return Ok(report);
    };
    population_facts(&mut report, &payload, &committed);
    let recomputed = recompute(&seed.root, &draw, &committed);
    report.fact("sample", list(&recomputed));
    compare_answer(&mut report, &view, &payload, &recomputed);

    // 4. The sample entry: in the ledger after the draw, recording what the seed draws.
    let sample_entry = match Evidence::from_answer(&view["evidence"]["sample_entry"]) {
        Ok(entry) => entry,
        Err(problem) => {
            report.fail(format!("sample entry: {problem}"));
            return Ok(report);
        }
    };
    let sample_seq = sample_entry.seq;
    if view["sample_seq"].as_u64() != Some(sample_seq) || sample_seq <= seq {
        report.fail(format!(
            "the sample entry is entry {sample_seq} (the answer names sample_seq {}); it must follow the draw entry {seq}",
            short(&view["sample_seq"])
        ));
        return Ok(report);
    }
    let latest_note = client.ok("/v1/ledger/checkpoint")?;
    let Some(latest) =
        open_checkpoint(&mut report, verifier, &latest_note, "the latest checkpoint")
    else {
        return Ok(report);
    };
    if latest.size < sample_seq {
        report.fail(format!(
            "the latest checkpoint (size {}) does not reach the sample entry {sample_seq}",
            latest.size
        ));
        return Ok(report);
    }
    let consistency = client.proof(&format!(
        "/v1/ledger/proof/consistency?from={seq}&to={}",
        latest.size
    ))?;
    match verify_consistency(seq, latest.size, &consistency, &seed.root, &latest.root) {
        Ok(()) => report.pass(format!(
            "the latest checkpoint (size {}) extends the seed's tree (consistency proof)",
            latest.size
        )),
        Err(err) => report.fail(format!(
            "the latest checkpoint (size {}) does not extend the seed's tree of size {seq}: {err}",
            latest.size
        )),
    }
    let proof = client.inclusion(sample_seq, latest.size)?;
    match verify_inclusion(
        &leaf_hash(&sample_entry.body),
        sample_seq - 1,
        latest.size,
        &proof,
        &latest.root,
    ) {
        Ok(()) => report.pass(format!(
            "the sample entry is leaf {} of the signed tree of size {} (inclusion proof)",
            sample_seq - 1,
            latest.size
        )),
        Err(err) => report.fail(format!(
            "the sample entry's bytes are not leaf {} of the signed tree of size {}: {err}",
            sample_seq - 1,
            latest.size
        )),
    }
    if let Some(recorded) = open_entry(
        &mut report,
        "the sample entry",
        &sample_entry,
        SAMPLE_KIND,
        None,
    ) {
        check_sample_entry(&mut report, &recorded, &id, seq, &seed.root, &recomputed);
    }
    Ok(report)
}
