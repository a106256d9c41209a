//! `verify-draw --file`: the draw recomputed from an export, with no server at all.

use super::{
    b64, check_population, check_sample_entry, list, open_entry, parse_draw_id, population_facts,
    recompute, Evidence, Report, DRAW_KIND, SAMPLE_KIND,
};
use crate::verify::{verify_bundle, Bundle, VerifyError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use fieldtrail_domain::merkle::{leaf_hash, CompactRange, Hash};
use fieldtrail_domain::note::NoteVerifier;

/// Checks a draw offline against an export: the bundle itself (as `fieldtrail verify` does),
/// then the seed rebuilt from the bundle's nodes and entries up to the draw entry, the draw's
/// payload and population, and the sample entry. Err only for a malformed draw id.
pub fn verify_file(
    bundle: &Bundle,
    verifier: &NoteVerifier,
    draw: &str,
) -> Result<Report, VerifyError> {
    let draw = parse_draw_id(draw)?;
    let id = draw.to_string();
    let mut report = Report::default();
    report.fact("draw", id.clone());
    // The seed rebuilt below is only as good as the bundle: its checks come first.
    for (ok, what) in verify_bundle(bundle, verifier, None).checks {
        report.checks.push((ok, format!("export: {what}")));
    }
    // An entry whose bytes do not decode was already reported by the bundle's checks.
    let entries: Vec<Evidence> = bundle
        .entries
        .iter()
        .filter_map(Evidence::from_bundle)
        .collect();
    let Some(entry) = entries.iter().find(|entry| {
        entry
            .header()
            .is_some_and(|header| header["id"] == id.as_str())
    }) else {
        report.fail(format!(
            "the export holds no entry with id {id} among entries {}..={} (export a range that holds the draw and its sample entry)",
            bundle.from, bundle.to
        ));
        return Ok(report);
    };
    let seq = entry.seq;

    // 1. The seed: the root of the first seq leaves, from the nodes before the bundle's entries
    // and the leaves recomputed from their bytes, which the bundle's checkpoint covers.
    let mut range = CompactRange::new(0);
    let mut rebuilt = true;
    for node in &bundle.left {
        let hash: Option<Hash> = STANDARD
            .decode(&node.hash)
            .ok()
            .and_then(|bytes| bytes.try_into().ok());
        rebuilt &= hash.is_some_and(|hash| range.append_node(node.level, hash).is_ok());
    }
    for earlier in entries.iter().filter(|e| e.seq <= seq) {
        range.append_leaf(leaf_hash(&earlier.body));
    }
    let seed = match range.root() {
        Ok(root) if rebuilt && range.end() == seq => root,
        _ => {
            report.fail(format!(
                "the root of the first {seq} entries cannot be rebuilt from the export ({} leaves)",
                range.end()
            ));
            return Ok(report);
        }
    };
    report.pass(format!(
        "the seed, the root of the first {seq} entries, is rebuilt from the export's nodes and entries"
    ));
    report.fact(
        "seed",
        format!("root of the tree of size {seq}: {}", b64(&seed)),
    );

    // 2. The draw entry's payload and population.
    let Some(payload) = open_entry(&mut report, "the draw entry", entry, DRAW_KIND, Some(&id))
    else {
        return Ok(report);
    };
    let Some(committed) = check_population(&mut report, &payload) else {
        return Ok(report);
    };
    population_facts(&mut report, &payload, &committed);
    let recomputed = recompute(&seed, &draw, &committed);
    report.fact("sample", list(&recomputed));

    // 3. The sample entry: the one sample entry after the draw whose payload names it.
    let samples: Vec<&Evidence> = entries
        .iter()
        .filter(|e| e.seq > seq)
        .filter(|e| e.header().is_some_and(|h| h["kind"] == SAMPLE_KIND))
        .filter(|e| {
            e.payload_json()
                .is_some_and(|p| p["draw_id"] == id.as_str())
        })
        .collect();
    match samples[..] {
        [sample_entry] => {
            if let Some(recorded) = open_entry(
                &mut report,
                "the sample entry",
                sample_entry,
                SAMPLE_KIND,
                None,
            ) {
                check_sample_entry(&mut report, &recorded, &id, seq, &seed, &recomputed);
            }
        }
        [] => report.fail(format!(
            "the export holds no {SAMPLE_KIND} entry with a payload naming the draw (entries {}..={}; export with --payloads draws or all)",
            bundle.from, bundle.to
        )),
        _ => report.fail(format!(
            "the export holds {} {SAMPLE_KIND} entries naming the draw: a draw has one sample",
            samples.len()
        )),
    }
    Ok(report)
}
