//! The database snapshot a backup archives: SQLite's `VACUUM INTO`, or `pg_dump` of a
//! PostgreSQL exported snapshot, each with the ledger size and latest checkpoint it holds.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The latest signed checkpoint and the ledger size of one snapshot.
pub(super) struct SnapshotFacts {
    pub(super) ledger_size: i64,
    pub(super) checkpoint: Option<(i64, String)>,
}

#[derive(QueryableByName)]
pub(super) struct Size {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(super) size: i64,
}

#[derive(QueryableByName)]
struct CheckpointRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    size: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    note: String,
}

#[derive(QueryableByName)]
struct SnapshotId {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// The ledger size and latest checkpoint, read on one connection (SQLite or PostgreSQL).
macro_rules! read_facts {
    ($conn:expr) => {{
        let conn = $conn;
        let size: Result<Size, String> =
            diesel::sql_query("SELECT COALESCE(MAX(seq), 0) AS size FROM ledger")
                .get_result(conn)
                .map_err(|err| format!("reading the ledger size: {err}"));
        let checkpoint: Result<Option<CheckpointRow>, String> =
            diesel::sql_query("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1")
                .get_result(conn)
                .optional()
                .map_err(|err| format!("reading the latest checkpoint: {err}"));
        match (size, checkpoint) {
            (Ok(size), Ok(checkpoint)) => Ok(SnapshotFacts {
                ledger_size: size.size,
                checkpoint: checkpoint.map(|row| (row.size, row.note)),
            }),
            (Err(err), _) | (_, Err(err)) => Err(err),
        }
    }};
}

pub(super) fn sqlite_path(url: &str) -> PathBuf {
    PathBuf::from(url.strip_prefix("sqlite://").unwrap_or(url))
}

/// A consistent copy of a live SQLite database in `copy` (a single self-contained file).
pub(super) fn sqlite_snapshot(url: &str, copy: &Path) -> Result<SnapshotFacts, String> {
    let source = sqlite_path(url);
    if !source.is_file() {
        return Err(format!("no database at {}", source.display()));
    }
    let mut conn = fieldtrail_storage::db_connect(url).map_err(|err| err.to_string())?;
    let target = copy.to_string_lossy().into_owned();
    diesel::sql_query("VACUUM INTO ?")
        .bind::<diesel::sql_types::Text, _>(&target)
        .execute(&mut conn)
        .map_err(|err| format!("VACUUM INTO {target}: {err}"))?;
    drop(conn);
    // Plain connection: no WAL switch on the copy; make it a rollback-journal file so that the
    // one file is the whole database.
    let mut copy_conn =
        diesel::SqliteConnection::establish(&target).map_err(|err| format!("{target}: {err}"))?;
    copy_conn
        .batch_execute("PRAGMA journal_mode = DELETE;")
        .map_err(|err| format!("{target}: {err}"))?;
    let facts: SnapshotFacts = read_facts!(&mut copy_conn)?;
    drop(copy_conn);
    File::open(copy)
        .and_then(|f| f.sync_all())
        .map_err(|err| format!("{target}: {err}"))?;
    Ok(facts)
}

/// `pg_dump --format=custom` of exactly the snapshot the manifest's facts were read in.
pub(super) fn postgres_snapshot(url: &str, dump: &Path) -> Result<SnapshotFacts, String> {
    let mut conn = diesel::PgConnection::establish(url)
        .map_err(|err| format!("cannot connect to the database: {err}"))?;
    conn.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .map_err(|err| err.to_string())?;
    let snapshot: SnapshotId = diesel::sql_query("SELECT pg_export_snapshot() AS id")
        .get_result(&mut conn)
        .map_err(|err| format!("pg_export_snapshot: {err}"))?;
    let facts: SnapshotFacts = read_facts!(&mut conn)?;
    let output = Command::new("pg_dump")
        .arg("--format=custom")
        .arg(format!("--snapshot={}", snapshot.id))
        .arg("--file")
        .arg(dump)
        .arg("--dbname")
        .arg(url)
        .output()
        .map_err(|err| {
            format!("cannot run pg_dump (is the PostgreSQL client installed?): {err}")
        })?;
    // The exporting transaction must stay open until pg_dump has taken the snapshot.
    let _ = conn.batch_execute("COMMIT");
    if !output.status.success() {
        return Err(format!(
            "pg_dump failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(facts)
}
