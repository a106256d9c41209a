//! `fieldtrail backup` and `fieldtrail restore` (docs/operations.md#backups): one archive holding
//! a consistent snapshot of the database, taken while the server keeps writing, together with
//! the data directory's key files and photos, and its restore into an empty data directory (and,
//! on PostgreSQL, an empty database).
//!
//! The archive is a POSIX tar (ustar) file written with the `tar` crate, readable with `tar tf`,
//! written 0600 because it holds both private keys:
//!
//! - `fieldtrail-backup.json` first: format, backend, when, the ledger size and latest signed
//!   checkpoint of the snapshot, the origin;
//! - `fieldtrail.sqlite` (SQLite, `VACUUM INTO`) or `fieldtrail.pgdump` (PostgreSQL,
//!   `pg_dump --format=custom`);
//! - `log-ed25519.pem` (the checkpoint key) and `jwt-ed25519.pem` (the token key, if present);
//! - `attachments/<2 hex>/<sha256>`: every photo;
//! - `SHA256SUMS` last: the SHA-256 of every member before it, in `sha256sum -c` form.
//!
//! Consistency: SQLite's `VACUUM INTO` copies the database inside one read transaction, which in
//! WAL mode sees one commit point and does not block the writer; on PostgreSQL a repeatable-read
//! transaction exports its snapshot, the manifest's ledger size and checkpoint are read in it and
//! `pg_dump --snapshot` dumps exactly that snapshot. Photos are copied after the database: a
//! record names a photo only after the photo's file exists, and files are never changed, so
//! every photo the snapshot names is in the archive (later uploads may be too; they are harmless).
//!
//! `snapshot` takes the database copy, `archive` writes and checks the tar, `restore` checks
//! the target and extracts into it.

mod archive;
mod restore;
mod snapshot;

use crate::config::Config;
use fieldtrail_storage::Backend;
use serde_json::{json, Value};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The archive's format name, the manifest's `format`.
pub const FORMAT: &str = "fieldtrail-backup/1";
const MANIFEST: &str = "fieldtrail-backup.json";
const SUMS: &str = "SHA256SUMS";
const SQLITE_MEMBER: &str = "fieldtrail.sqlite";
const PGDUMP_MEMBER: &str = "fieldtrail.pgdump";
const LOG_KEY_MEMBER: &str = "log-ed25519.pem";
const JWT_KEY_MEMBER: &str = "jwt-ed25519.pem";
const ATTACHMENTS_PREFIX: &str = "attachments/";

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct BackupOutcome {
    pub manifest: Value,
    pub bytes: u64,
    pub attachments: usize,
    pub seconds: f64,
}

/// What a restore put back.
#[derive(Debug, Clone)]
pub struct RestoreOutcome {
    pub manifest: Value,
    pub attachments: usize,
    pub seconds: f64,
}

/// Every photo file under the attachments directory, as (archive name, path), sorted. Files
/// being written (`.<hash>.<tmp>`) are left out.
fn attachment_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let mut files = Vec::new();
    if !dir.exists() {
        return Ok(files);
    }
    let err = |e: std::io::Error| format!("{}: {e}", dir.display());
    for shard in std::fs::read_dir(dir).map_err(err)? {
        let shard = shard.map_err(err)?;
        if !shard.file_type().map_err(err)?.is_dir() {
            continue;
        }
        let shard_name = shard.file_name().to_string_lossy().into_owned();
        for file in std::fs::read_dir(shard.path()).map_err(err)? {
            let file = file.map_err(err)?;
            let name = file.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !file.file_type().map_err(err)?.is_file() {
                continue;
            }
            files.push((
                format!("{ATTACHMENTS_PREFIX}{shard_name}/{name}"),
                file.path(),
            ));
        }
    }
    files.sort();
    Ok(files)
}

fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Writes the archive of the instance `config` names to `out`.
pub fn backup(config: &Config, out: &Path) -> Result<BackupOutcome, String> {
    let started = Instant::now();
    let url = config.database_url();
    let backend = Backend::of_url(&url);
    let log_key = config.log_key_path();
    if !log_key.is_file() {
        return Err(format!(
            "no log key at {}: without it a restored server cannot go on signing checkpoints \
             (give --data-dir or --log-key)",
            log_key.display()
        ));
    }
    let out_dir = match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("--out {}: not a file name", out.display()))?;
    let staging = out_dir.join(format!(".{file_name}.staging-{}", std::process::id()));
    std::fs::create_dir_all(&staging).map_err(|err| format!("{}: {err}", staging.display()))?;
    let result = backup_staged(config, out, &out_dir, &file_name, &staging, backend, &url);
    let _ = std::fs::remove_dir_all(&staging);
    let (manifest, bytes, attachments) = result?;
    Ok(BackupOutcome {
        manifest,
        bytes,
        attachments,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn backup_staged(
    config: &Config,
    out: &Path,
    out_dir: &Path,
    file_name: &str,
    staging: &Path,
    backend: Backend,
    url: &str,
) -> Result<(Value, u64, usize), String> {
    let (member, snapshot) = match backend {
        Backend::Sqlite => (SQLITE_MEMBER, staging.join(SQLITE_MEMBER)),
        Backend::Postgres => (PGDUMP_MEMBER, staging.join(PGDUMP_MEMBER)),
    };
    let facts = match backend {
        Backend::Sqlite => snapshot::sqlite_snapshot(url, &snapshot)?,
        Backend::Postgres => snapshot::postgres_snapshot(url, &snapshot)?,
    };
    // After the snapshot: every photo it names already exists (see the module comment).
    let photos = attachment_files(&config.attachments_path())?;
    let origin = facts
        .checkpoint
        .as_ref()
        .and_then(|(_, note)| note.lines().next().map(str::to_owned))
        .or_else(|| config.origin.clone());
    let jwt_key = config.jwt_key_path();
    let manifest = json!({
        "format": FORMAT,
        "fieldtrail_version": env!("CARGO_PKG_VERSION"),
        "backend": backend.as_str(),
        "created_at": now_rfc3339(),
        "database": member,
        "ledger_size": facts.ledger_size,
        "checkpoint": facts.checkpoint.as_ref().map(|(size, note)| json!({"size": size, "note": note})),
        "origin": origin,
        "log_key": LOG_KEY_MEMBER,
        "jwt_key": jwt_key.is_file().then_some(JWT_KEY_MEMBER),
        "attachments": photos.len(),
    });
    let partial = out_dir.join(format!(".{file_name}.partial-{}", std::process::id()));
    let written = (|| -> Result<u64, String> {
        let mut tar = archive::Writer::create(&partial)?;
        let manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
        tar.add_bytes(MANIFEST, &manifest_bytes)?;
        tar.add_file(member, &snapshot)?;
        tar.add_file(LOG_KEY_MEMBER, &config.log_key_path())?;
        if jwt_key.is_file() {
            tar.add_file(JWT_KEY_MEMBER, &jwt_key)?;
        }
        for (name, path) in &photos {
            tar.add_file(name, path)?;
        }
        tar.finish()
    })();
    let bytes = match written {
        Ok(bytes) => bytes,
        Err(err) => {
            let _ = std::fs::remove_file(&partial);
            return Err(err);
        }
    };
    std::fs::rename(&partial, out).map_err(|err| {
        let _ = std::fs::remove_file(&partial);
        format!("{}: {err}", out.display())
    })?;
    if let Ok(dir) = File::open(out_dir) {
        let _ = dir.sync_all();
    }
    Ok((manifest, bytes, photos.len()))
}

/// Restores the archive `from` into the instance `config` names, which must be empty.
pub fn restore(config: &Config, from: &Path) -> Result<RestoreOutcome, String> {
    let started = Instant::now();
    let url = config.database_url();
    let backend = Backend::of_url(&url);
    restore::check_target(config, backend, &url)?;
    let manifest = archive::check_archive(from)?;
    if manifest["backend"] != backend.as_str() {
        return Err(format!(
            "restore refused: the backup is of a {} database, the target is {}",
            manifest["backend"].as_str().unwrap_or("?"),
            backend.as_str()
        ));
    }
    let created_dir = !config.data_dir.exists();
    let mut written: Vec<PathBuf> = Vec::new();
    let result = restore::extract(config, from, backend, &url, &manifest, &mut written);
    match result {
        Ok(attachments) => Ok(RestoreOutcome {
            manifest,
            attachments,
            seconds: started.elapsed().as_secs_f64(),
        }),
        Err(err) => {
            // The target was empty: take back what this restore wrote.
            for path in written.iter().rev() {
                let _ = std::fs::remove_file(path);
            }
            let _ = std::fs::remove_dir_all(config.attachments_path());
            if created_dir {
                let _ = std::fs::remove_dir_all(&config.data_dir);
            }
            Err(err)
        }
    }
}

/// `fieldtrail backup`: writes the archive and says what is in it.
pub fn main_backup(config: &Config, out: &Path) -> Result<(), String> {
    let outcome = backup(config, out)?;
    let manifest = &outcome.manifest;
    println!(
        "backed up the {} database: {} ledger entries, latest checkpoint of size {}, {} photos, \
         the log key{} into {} ({} bytes, {:.1} s)",
        manifest["backend"].as_str().unwrap_or("?"),
        manifest["ledger_size"],
        manifest["checkpoint"]["size"],
        outcome.attachments,
        if manifest["jwt_key"].is_null() {
            ""
        } else {
            " and the token key"
        },
        out.display(),
        outcome.bytes,
        outcome.seconds
    );
    println!("it holds the private signing keys: keep it like the keys (mode 0600)");
    Ok(())
}

/// `fieldtrail restore`: restores into an empty target and says what it restored.
pub fn main_restore(config: &Config, from: &Path) -> Result<(), String> {
    let outcome = restore(config, from)?;
    let manifest = &outcome.manifest;
    println!(
        "restored the backup of {} ({} ledger entries, latest checkpoint of size {}, {} photos) \
         into {} ({:.1} s)",
        manifest["created_at"].as_str().unwrap_or("?"),
        manifest["ledger_size"],
        manifest["checkpoint"]["size"],
        outcome.attachments,
        config.data_dir.display(),
        outcome.seconds
    );
    if let Some(origin) = manifest["origin"].as_str() {
        println!(
            "the log's origin is {origin}: start with --origin {origin} if it was set by hand"
        );
    }
    Ok(())
}
