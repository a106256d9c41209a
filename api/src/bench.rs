//! `fieldtrail bench-ledger`: how fast the Merkle tree grows and how fast proofs come out of
//! storage at scale. It builds a tree of N synthetic leaves in a fresh SQLite database in bulk
//! (only the tree; proofs read nothing else) and times random inclusion proofs against it.

use fieldtrail_domain::merkle::{leaf_hash, verify_inclusion, CompactRange};
use fieldtrail_storage::merkle as tree;
use std::path::Path;
use std::time::Instant;

pub struct BenchReport {
    pub entries: u64,
    pub append_in_memory_ns: f64,
    pub append_with_storage_us: f64,
    pub proofs: usize,
    pub proof_mean_us: f64,
    pub proof_p50_us: f64,
    pub proof_p99_us: f64,
    pub proof_max_us: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub fn run(dir: &Path, entries: u64, proofs: usize) -> Result<BenchReport, String> {
    // The pure frontier update: what every ledger append adds to the writer's CPU time.
    let started = Instant::now();
    let mut range = CompactRange::new(0);
    let mut emitted = 0usize;
    for i in 0..entries {
        emitted += range.append_leaf(leaf_hash(&i.to_le_bytes())).len();
    }
    let append_in_memory_ns = started.elapsed().as_nanos() as f64 / entries.max(1) as f64;
    let root = range.root().map_err(|e| e.to_string())?;

    let path = dir.join("bench-ledger.sqlite");
    let url = path.to_string_lossy().into_owned();
    let db = fieldtrail_storage::Database::open(&url, 2).map_err(|e| e.to_string())?;
    let mut conn = fieldtrail_storage::db_connect(&url).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut range = CompactRange::new(0);
    let mut next = 0u64;
    use diesel::Connection;
    while next < entries {
        let batch_end = (next + 10_000).min(entries);
        conn.transaction::<_, fieldtrail_storage::StorageError, _>(|tx| {
            for i in next..batch_end {
                let nodes = range.append_leaf(leaf_hash(&i.to_le_bytes()));
                tree::insert_nodes(tx, &nodes)?;
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        next = batch_end;
    }
    let append_with_storage_us = started.elapsed().as_micros() as f64 / entries.max(1) as f64;
    drop(conn);

    let mut conn = db.conn().map_err(|e| e.to_string())?;
    let mut timings = Vec::with_capacity(proofs);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for n in 0..proofs {
        // xorshift: a spread of leaf indexes without another dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let index = state % entries.max(1);
        let started = Instant::now();
        // From the node rows as the proof endpoint reads them (the bench has no ledger rows).
        let proof = tree::inclusion_proof_prefetched(&mut conn, index, entries)
            .map_err(|e| e.to_string())?;
        timings.push(started.elapsed().as_nanos() as f64 / 1000.0);
        if n < 100 {
            verify_inclusion(
                &leaf_hash(&index.to_le_bytes()),
                index,
                entries,
                &proof,
                &root,
            )
            .map_err(|e| format!("proof for {index} does not verify: {e}"))?;
        }
    }
    let _ = emitted;
    let mean = timings.iter().sum::<f64>() / timings.len().max(1) as f64;
    timings.sort_by(f64::total_cmp);
    Ok(BenchReport {
        entries,
        append_in_memory_ns,
        append_with_storage_us,
        proofs,
        proof_mean_us: mean,
        proof_p50_us: percentile(&timings, 0.5),
        proof_p99_us: percentile(&timings, 0.99),
        proof_max_us: timings.last().copied().unwrap_or(0.0),
    })
}
