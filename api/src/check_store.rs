//! `fieldtrail check-store`: checks a database directly (no server needed) with the set-wise
//! queries of `fieldtrail_storage::integrity`, optionally against the acked log a
//! `fieldtrail loadtest --acked-log` run wrote, and renders the outcome for an operator.

use fieldtrail_storage::integrity::{self, AckedLine, AckedRecord, IntegrityReport};
use fieldtrail_storage::{Backend, StorageError};
use std::io::BufRead;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CheckStoreError {
    #[error("no database at {0} (give --data-dir or --database-url)")]
    NoDatabase(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{path}: {source}")]
    AckedLog {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `fieldtrail check-store`: prints the report; Err (exit status 1) when a check failed or the
/// store could not be read.
pub fn main(database_url: &str, acked_log: Option<&Path>) -> Result<(), String> {
    let report = run(database_url, acked_log).map_err(|e| e.to_string())?;
    print!("{}", render(&report));
    let failed = report.checks.iter().filter(|c| !c.passed()).count();
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} check(s) failed"))
    }
}

/// One line of an acked log: `<record id> <seq> <leaf_hash hex>`.
pub fn parse_acked_line(line: u64, text: &str) -> AckedLine {
    let malformed = |reason: &str| AckedLine::Malformed {
        line,
        reason: format!("{reason}: {text:?}"),
    };
    let mut parts = text.split(' ');
    let (Some(id), Some(seq), Some(hash), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return malformed("expected `<record id> <seq> <leaf_hash>`");
    };
    let Ok(uuid) = uuid::Uuid::parse_str(id) else {
        return malformed("the record id is not a UUID");
    };
    let Ok(seq) = seq.parse::<i64>() else {
        return malformed("the seq is not a number");
    };
    match hex::decode(hash) {
        Ok(leaf_hash) if leaf_hash.len() == 32 => AckedLine::Record(AckedRecord {
            line,
            id: uuid.to_string(),
            seq,
            leaf_hash,
        }),
        _ => malformed("the leaf hash is not 64 hex digits"),
    }
}

/// Opens the database read-only in spirit (nothing is written, no migrations run) and checks it.
pub fn run(
    database_url: &str,
    acked_log: Option<&Path>,
) -> Result<IntegrityReport, CheckStoreError> {
    if Backend::of_url(database_url) == Backend::Sqlite {
        let path = database_url
            .strip_prefix("sqlite://")
            .unwrap_or(database_url);
        // Connecting would create an empty file, which would then "pass".
        if !Path::new(path).is_file() {
            return Err(CheckStoreError::NoDatabase(path.to_owned()));
        }
    }
    let mut conn = fieldtrail_storage::db_connect(database_url)?;
    match acked_log {
        None => Ok(integrity::check_store(&mut conn, None)?),
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|source| CheckStoreError::AckedLog {
                path: path.to_owned(),
                source,
            })?;
            let mut lines = std::io::BufReader::new(file)
                .lines()
                .enumerate()
                .filter_map(|(k, line)| {
                    let number = k as u64 + 1;
                    match line {
                        // A trailing blank line carries nothing to check.
                        Ok(text) if text.trim().is_empty() => None,
                        Ok(text) => Some(parse_acked_line(number, text.trim_end())),
                        Err(err) => Some(AckedLine::Malformed {
                            line: number,
                            reason: format!("cannot read: {err}"),
                        }),
                    }
                });
            Ok(integrity::check_store(&mut conn, Some(&mut lines))?)
        }
    }
}

/// One line per check (`ok` or `FAILED`, its name, the rule and what was found), the first
/// offenders under a failed one, and a last line `STORE OK` or `STORE DAMAGED`.
pub fn render(report: &IntegrityReport) -> String {
    let mut out = String::new();
    for check in &report.checks {
        let mark = if check.passed() { "ok    " } else { "FAILED" };
        out.push_str(&format!(
            "{mark}  {:<18} {}: {}\n",
            check.name, check.rule, check.detail
        ));
        for example in &check.examples {
            out.push_str(&format!("        {example}\n"));
        }
        if check.failures > check.examples.len() as u64 && !check.examples.is_empty() {
            out.push_str(&format!(
                "        … and {} more\n",
                check.failures - check.examples.len() as u64
            ));
        }
    }
    out.push_str(if report.passed() {
        "STORE OK\n"
    } else {
        "STORE DAMAGED\n"
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acked_lines_parse_or_say_why_not() {
        let hash = "ab".repeat(32);
        let line = format!("0190f1a4-3c55-7d2e-9e1f-2a5b7c9d0e11 42 {hash}");
        assert_eq!(
            parse_acked_line(3, &line),
            AckedLine::Record(AckedRecord {
                line: 3,
                id: "0190f1a4-3c55-7d2e-9e1f-2a5b7c9d0e11".into(),
                seq: 42,
                leaf_hash: vec![0xab; 32],
            })
        );
        for bad in [
            String::new(),
            "0190f1a4-3c55-7d2e-9e1f-2a5b7c9d0e11 42".to_owned(),
            format!("not-a-uuid 42 {hash}"),
            format!("0190f1a4-3c55-7d2e-9e1f-2a5b7c9d0e11 x {hash}"),
            "0190f1a4-3c55-7d2e-9e1f-2a5b7c9d0e11 42 abcd".to_owned(),
            format!("0190f1a4-3c55-7d2e-9e1f-2a5b7c9d0e11  42 {hash}"),
        ] {
            assert!(
                matches!(parse_acked_line(1, &bad), AckedLine::Malformed { .. }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_missing_sqlite_file_is_an_error_not_a_pass() {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("fieldtrail.sqlite");
        let err = run(url.to_str().unwrap(), None).unwrap_err();
        assert!(matches!(err, CheckStoreError::NoDatabase(_)), "{err}");
        assert!(!url.exists(), "nothing was created");
    }
}
