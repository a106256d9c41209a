//! Restore's side of the data directory: the checks that the target is empty, and the
//! extraction of an already checked archive into it (and `pg_restore` into the database).

use super::archive::{each_member, safe_name};
use super::snapshot::{sqlite_path, Size};
use super::{create_private, ATTACHMENTS_PREFIX, JWT_KEY_MEMBER, LOG_KEY_MEMBER};
use crate::config::Config;
use diesel::prelude::*;
use fieldtrail_storage::Backend;
use serde_json::Value;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dir_is_empty(dir: &Path) -> Result<bool, String> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(err) => Err(format!("{}: {err}", dir.display())),
    }
}

/// The user tables of a PostgreSQL database (none in an empty one).
fn postgres_tables(url: &str) -> Result<i64, String> {
    let mut conn = diesel::PgConnection::establish(url)
        .map_err(|err| format!("cannot connect to the database: {err}"))?;
    let count: Size = diesel::sql_query(
        "SELECT count(*) AS size FROM pg_catalog.pg_tables \
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
    .get_result(&mut conn)
    .map_err(|err| err.to_string())?;
    Ok(count.size)
}

/// Every place the restore writes to must be empty: refused before anything is touched.
pub(super) fn check_target(config: &Config, backend: Backend, url: &str) -> Result<(), String> {
    let refuse = |what: String| {
        Err(format!(
            "restore refused: {what}; restore into an empty data directory (and database)"
        ))
    };
    if !dir_is_empty(&config.data_dir)? {
        return refuse(format!("{} is not empty", config.data_dir.display()));
    }
    for path in [config.log_key_path(), config.jwt_key_path()] {
        if path.exists() {
            return refuse(format!("{} exists", path.display()));
        }
    }
    if !dir_is_empty(&config.attachments_path())? {
        return refuse(format!(
            "{} is not empty",
            config.attachments_path().display()
        ));
    }
    match backend {
        Backend::Sqlite => {
            let path = sqlite_path(url);
            if path.exists() {
                return refuse(format!("{} exists", path.display()));
            }
        }
        Backend::Postgres => {
            let tables = postgres_tables(url)?;
            if tables > 0 {
                return refuse(format!("the database already has {tables} tables"));
            }
        }
    }
    Ok(())
}

fn create_dir_private(dir: &Path) -> Result<(), String> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|err| format!("{}: {err}", dir.display()))
}

/// Writes the members of the checked archive `from` to their places, records each file it
/// created in `written`, and returns the number of photos.
pub(super) fn extract(
    config: &Config,
    from: &Path,
    backend: Backend,
    url: &str,
    manifest: &Value,
    written: &mut Vec<PathBuf>,
) -> Result<usize, String> {
    create_dir_private(&config.data_dir)?;
    let database = manifest["database"].as_str().unwrap_or_default().to_owned();
    let db_target = match backend {
        Backend::Sqlite => sqlite_path(url),
        Backend::Postgres => config
            .data_dir
            .join(format!(".restore-{}.pgdump", std::process::id())),
    };
    let attachments_dir = config.attachments_path();
    let mut attachments = 0;
    each_member(
        from,
        |err| err,
        |name, content| {
            let target = if name == database {
                db_target.clone()
            } else if name == LOG_KEY_MEMBER {
                config.log_key_path()
            } else if name == JWT_KEY_MEMBER {
                config.jwt_key_path()
            } else if let Some(rest) = name.strip_prefix(ATTACHMENTS_PREFIX) {
                attachments += 1;
                attachments_dir.join(safe_name(rest)?)
            } else {
                // The manifest, SHA256SUMS: not restored (the reader skips what is left unread).
                return Ok(());
            };
            if let Some(parent) = target.parent() {
                create_dir_private(parent)?;
            }
            let file =
                create_private(&target).map_err(|err| format!("{}: {err}", target.display()))?;
            written.push(target.clone());
            let mut out = BufWriter::new(file);
            std::io::copy(content, &mut out)
                .map_err(|err| format!("{}: {err}", target.display()))?;
            let file = out.into_inner().map_err(|e| e.to_string())?;
            file.sync_all()
                .map_err(|err| format!("{}: {err}", target.display()))
        },
    )?;
    if backend == Backend::Postgres {
        let output = Command::new("pg_restore")
            .args(["--exit-on-error", "--single-transaction", "--no-owner"])
            .arg("--dbname")
            .arg(url)
            .arg(&db_target)
            .output()
            .map_err(|err| {
                format!("cannot run pg_restore (is the PostgreSQL client installed?): {err}")
            });
        let _ = std::fs::remove_file(&db_target);
        let output = output?;
        if !output.status.success() {
            return Err(format!(
                "pg_restore failed ({}), the database is left as it was: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
    }
    Ok(attachments)
}
