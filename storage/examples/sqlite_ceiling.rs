//! The raw SQLite ceiling `scripts/bench` holds fieldtrail's batched ingest against: how many
//! rows per second a bare insert loop gets with the same durability fieldtrail uses, in
//! transactions of 1, 64 and 500 rows (or whatever `--tx` lists).
//!
//!   cargo run --release -p fieldtrail-storage --example sqlite_ceiling -- --dir DIR
//!       [--seconds S] [--tx 1,64,500]
//!
//! Each transaction size gets a fresh database file in DIR (removed afterwards), so every size
//! starts from the same empty table and index. The connection is diesel's `SqliteConnection`
//! with fieldtrail's pragmas (WAL, `synchronous = FULL`: every commit is on disk before it
//! returns) and SQLite's default autocheckpoint; the loop is one prepared single-row INSERT
//! (diesel caches the statement) executed k times between BEGIN and COMMIT, for S seconds
//! (default 5) per size, always at least one whole transaction.
//!
//! The row is about 300 bytes, the size DESIGN.md quotes for its ceilings: an integer primary
//! key, a 16-byte time-ordered id (UUID v7, as phones make record ids) under the one secondary
//! index (unique, as the idempotency lookup needs), a 16-byte person id, a capture time and a
//! 252-byte random body (incompressible, although SQLite does not compress anyway).
//!
//! Prints one JSON object on stdout:
//!   {"row_bytes":…, "seconds_per_size":…,
//!    "results":[{"rows_per_tx":1,"rows":…,"seconds":…,"rows_per_s":…}, …]}

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

diesel::table! {
    ceiling_rows (seq) {
        seq -> BigInt,
        id -> Binary,
        person -> Binary,
        captured_at -> BigInt,
        body -> Binary,
    }
}

#[derive(Insertable)]
#[diesel(table_name = ceiling_rows)]
struct Row<'a> {
    seq: i64,
    id: &'a [u8],
    person: &'a [u8],
    captured_at: i64,
    body: &'a [u8],
}

const BODY_BYTES: usize = 252;
/// 8 (seq) + 16 (id) + 16 (person) + 8 (captured_at) + the body.
const ROW_BYTES: usize = 8 + 16 + 16 + 8 + BODY_BYTES;
/// Distinct people the rows belong to; only makes the person column look real.
const PEOPLE: usize = 64;

/// The same settings as fieldtrail's `establish` (storage/src/db.rs) that bear on writing.
const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA temp_store = MEMORY;";

const SCHEMA: &str = "CREATE TABLE ceiling_rows (seq INTEGER PRIMARY KEY, id BLOB NOT NULL, \
     person BLOB NOT NULL, captured_at INTEGER NOT NULL, body BLOB NOT NULL); \
     CREATE UNIQUE INDEX ceiling_rows_id ON ceiling_rows (id);";

struct Measured {
    rows_per_tx: usize,
    rows: u64,
    seconds: f64,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sqlite_ceiling: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut dir = None;
    let mut seconds = 5.0f64;
    let mut sizes = vec![1usize, 64, 500];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--dir" => dir = Some(PathBuf::from(value()?)),
            "--seconds" => seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--tx" => {
                sizes = value()?
                    .split(',')
                    .map(|k| k.trim().parse::<usize>().map_err(|e| format!("--tx: {e}")))
                    .collect::<Result<_, _>>()?;
            }
            _ => {
                return Err(format!(
                    "unknown argument {arg}; usage: --dir DIR [--seconds S] [--tx 1,64,500]"
                ))
            }
        }
    }
    let dir = dir.ok_or("--dir DIR is required")?;
    if !seconds.is_finite() || seconds <= 0.0 || sizes.contains(&0) {
        return Err("--seconds must be positive and every --tx size at least 1".into());
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let people: Vec<[u8; 16]> = (0..PEOPLE)
        .map(|_| random_bytes())
        .collect::<Result<_, _>>()?;

    let mut results = Vec::new();
    for &k in &sizes {
        let file = dir.join(format!("ceiling-{k}.sqlite"));
        let measured = measure(&file, k, Duration::from_secs_f64(seconds), &people);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
        results.push(measured?);
    }
    let results: Vec<serde_json::Value> = results
        .iter()
        .map(|m| {
            serde_json::json!({
                "rows_per_tx": m.rows_per_tx,
                "rows": m.rows,
                "seconds": round3(m.seconds),
                "rows_per_s": (m.rows as f64 / m.seconds).round(),
            })
        })
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "row_bytes": ROW_BYTES,
            "seconds_per_size": seconds,
            "results": results,
        })
    );
    Ok(())
}

fn measure(
    file: &Path,
    rows_per_tx: usize,
    budget: Duration,
    people: &[[u8; 16]],
) -> Result<Measured, String> {
    let path = file.to_str().ok_or("the directory is not valid UTF-8")?;
    let mut conn = SqliteConnection::establish(path).map_err(|e| format!("{path}: {e}"))?;
    conn.batch_execute(PRAGMAS).map_err(|e| e.to_string())?;
    conn.batch_execute(SCHEMA).map_err(|e| e.to_string())?;
    // Bodies are drawn before the clock starts, so the loop times SQLite, not the RNG; a pool
    // of distinct bodies cycled through is as good as fresh ones to a B-tree.
    let bodies: Vec<[u8; BODY_BYTES]> =
        (0..1024).map(|_| random_body()).collect::<Result<_, _>>()?;
    let mut seq = 0i64;
    let started = Instant::now();
    loop {
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            for _ in 0..rows_per_tx {
                seq += 1;
                let k = usize::try_from(seq).unwrap_or(0);
                let id = uuid::Uuid::now_v7();
                diesel::insert_into(ceiling_rows::table)
                    .values(&Row {
                        seq,
                        id: id.as_bytes(),
                        person: &people[k % people.len()],
                        captured_at: 1_790_000_000_000_000 + seq * 1_000_000,
                        body: &bodies[k % bodies.len()],
                    })
                    .execute(conn)?;
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        if started.elapsed() >= budget {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let rows = u64::try_from(seq).unwrap_or(0);
    Ok(Measured {
        rows_per_tx,
        rows,
        seconds,
    })
}

fn random_bytes() -> Result<[u8; 16], String> {
    let mut out = [0u8; 16];
    getrandom::fill(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn random_body() -> Result<[u8; BODY_BYTES], String> {
    let mut out = [0u8; BODY_BYTES];
    getrandom::fill(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
