//! `fieldtrail purge` (docs/privacy.md): retention applied to a stopped instance's storage. The
//! writer removes the payloads and says so in `payload.purge` entries; then the photo files no
//! kept record names (and uploads never sent with a record, past the grace period) are deleted
//! from the attachments directory. A checkpoint is signed so the purge entries are covered at
//! once.

use crate::config::Config;
use crate::open_state;
use fieldtrail_domain::record::AttachmentHash;
use fieldtrail_storage::writer::{Actor, PurgeRequest};
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

#[derive(Debug, Clone)]
pub struct PurgeOptions {
    /// Purge records captured before this county day; None: each unit's `retention_days`.
    pub before: Option<time::Date>,
    pub reason: Option<String>,
    pub dry_run: bool,
    pub attachment_grace: std::time::Duration,
}

/// What a purge did (or, dry, would do).
#[derive(Debug, Clone)]
pub struct PurgeOutcome {
    /// The writer's answer: counts, ranges, the purge entries' seqs, attachments removed.
    pub report: Value,
    /// Photo files deleted (or that would be) from the attachments directory.
    pub files: Vec<PathBuf>,
}

pub fn run(config: &Config, options: &PurgeOptions) -> Result<PurgeOutcome, String> {
    let reason = options
        .reason
        .clone()
        .unwrap_or_else(|| match options.before {
            Some(day) => format!("payloads of records captured before {day}"),
            None => "retention period (policy retention_days)".to_owned(),
        });
    let grace = time::Duration::try_from(options.attachment_grace)
        .map_err(|_| "--attachment-grace-hours is too large".to_owned())?;
    let request = PurgeRequest {
        before: options.before.map(|day| {
            day.midnight()
                .assume_offset(fieldtrail_domain::roster::COUNTY_OFFSET)
        }),
        reason,
        dry_run: options.dry_run,
        attachment_grace: grace,
    };
    let attachments_dir = config.attachments_path();
    actix_web::rt::System::new().block_on(async move {
        let state = open_state(config).map_err(|err| err.to_string())?;
        let report = state
            .writer
            .purge(Actor::operator(), request)
            .await
            .map_err(|err| format!("purge refused: {err}"))?;
        if !options.dry_run {
            state
                .writer
                .checkpoint()
                .await
                .map_err(|err| format!("signing a checkpoint after the purge: {err}"))?;
        }
        let db = state.db.clone();
        let kept: HashSet<String> = actix_web::web::block(move || {
            let mut conn = db.conn()?;
            fieldtrail_storage::reads::attachment_hashes(&mut conn)
        })
        .await
        .map_err(|err| err.to_string())?
        .map_err(|err| err.to_string())?;
        let files = sweep(
            &attachments_dir,
            &kept,
            options.attachment_grace,
            options.dry_run,
        )
        .map_err(|err| format!("{}: {err}", attachments_dir.display()))?;
        Ok(PurgeOutcome { report, files })
    })
}

/// Photo files with no attachment row (removed by the purge, or never recorded) that are older
/// than the grace period, so an upload in progress is never touched. Deleted unless `dry_run`.
fn sweep(
    dir: &Path,
    kept: &HashSet<String>,
    grace: std::time::Duration,
    dry_run: bool,
) -> std::io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    if !dir.exists() {
        return Ok(removed);
    }
    let now = SystemTime::now();
    for shard in std::fs::read_dir(dir)? {
        let shard = shard?;
        if !shard.file_type()?.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(shard.path())? {
            let file = file?;
            let name = file.file_name().to_string_lossy().into_owned();
            // Written aside while uploading (`.<hash>.<tmp>`): only once clearly abandoned.
            let hash = name
                .strip_prefix('.')
                .and_then(|n| n.split('.').next())
                .unwrap_or(&name);
            if AttachmentHash::parse(hash).is_err() {
                continue;
            }
            if !name.starts_with('.') && kept.contains(hash) {
                continue;
            }
            let age = file
                .metadata()?
                .modified()
                .ok()
                .and_then(|at| now.duration_since(at).ok())
                .unwrap_or_default();
            if age < grace {
                continue;
            }
            if !dry_run {
                std::fs::remove_file(file.path())?;
            }
            removed.push(file.path());
        }
    }
    Ok(removed)
}
