//! Retention (docs/privacy.md): `fieldtrail purge` deletes the personal payloads of records
//! past their retention (exact positions, notes, photo lists) and the positions the writer kept
//! of them, and says so in `payload.purge` entries naming the seq ranges. Headers, verdicts and
//! the tree stay, so every proof still verifies; the ranges let a verifier tell a purged
//! payload from one deleted behind the ledger's back. Photos no kept record names are removed
//! too, as are photos uploaded but never sent with a record, once past a grace period.

use super::appender::LedgerAppender;
use super::state::{JudgeState, Learned};
use super::Actor;
use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::schema::{attachments, fixes, ledger_payloads, record_attachments, records};
use diesel::prelude::*;
use fieldtrail_domain::canonical::unix_micros;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// Ranges one `payload.purge` entry names at most; a larger purge writes several entries.
const RANGES_PER_ENTRY: usize = 2_000;
/// Rows deleted per statement (bound parameters stay well under every backend's limit).
const CHUNK: usize = 1_000;
const MICROS_PER_DAY: i64 = 86_400_000_000;

#[derive(Debug, Clone)]
pub struct PurgeRequest {
    /// Purge records captured before this instant; None: each unit's `retention_days`.
    pub before: Option<OffsetDateTime>,
    pub reason: String,
    pub dry_run: bool,
    /// Photos uploaded longer ago than this and named by no kept record are removed.
    pub attachment_grace: time::Duration,
}

/// Consecutive seqs as inclusive [first, last] pairs.
pub fn ranges_of(seqs: &[i64]) -> Vec<[i64; 2]> {
    let mut out: Vec<[i64; 2]> = Vec::new();
    for &seq in seqs {
        match out.last_mut() {
            Some(last) if last[1] + 1 == seq => last[1] = seq,
            _ => out.push([seq, seq]),
        }
    }
    out
}

/// The seqs of records whose payload is still stored and whose capture is before the cutoff
/// that applies to their cadre.
fn candidates(
    conn: &mut DbConnection,
    state: &JudgeState,
    request: &PurgeRequest,
    now: OffsetDateTime,
) -> StorageResult<Vec<i64>> {
    let stored = || {
        records::table
            .inner_join(ledger_payloads::table.on(ledger_payloads::seq.eq(records::seq)))
            .select(records::seq)
    };
    let mut seqs: Vec<i64> = match request.before {
        Some(before) => stored()
            .filter(records::captured_at.lt(unix_micros(before)))
            .load(conn)?,
        None => {
            // People grouped by the cutoff their home unit's policy gives.
            let mut by_cutoff: BTreeMap<i64, Vec<String>> = BTreeMap::new();
            for (id, person) in state.people() {
                let days = i64::from(state.policy_at(&person.unit_path).policy.retention_days);
                let cutoff = unix_micros(now).saturating_sub(days.saturating_mul(MICROS_PER_DAY));
                by_cutoff.entry(cutoff).or_default().push(id.to_string());
            }
            let mut seqs = Vec::new();
            for (cutoff, people) in by_cutoff {
                for chunk in people.chunks(CHUNK) {
                    seqs.extend(
                        stored()
                            .filter(records::captured_at.lt(cutoff))
                            .filter(records::person_id.eq_any(chunk))
                            .load::<i64>(conn)?,
                    );
                }
            }
            seqs
        }
    };
    seqs.sort_unstable();
    seqs.dedup();
    Ok(seqs)
}

/// Attachments to remove once `purged` have lost their payloads: those the purged records
/// named that no kept record names, and those uploaded before `stale_before` that no record
/// names at all.
fn doomed_attachments(
    conn: &mut DbConnection,
    purged: &[i64],
    stale_before: i64,
) -> StorageResult<BTreeSet<String>> {
    let mut named = BTreeSet::new();
    for chunk in purged.chunks(CHUNK) {
        named.extend(
            record_attachments::table
                .filter(record_attachments::seq.eq_any(chunk))
                .select(record_attachments::sha256)
                .load::<String>(conn)?,
        );
    }
    let purged_set: BTreeSet<i64> = purged.iter().copied().collect();
    let mut doomed = BTreeSet::new();
    let named: Vec<String> = named.into_iter().collect();
    for chunk in named.chunks(CHUNK) {
        // Who still names them with a payload that stays.
        let still: Vec<(String, i64)> = record_attachments::table
            .inner_join(ledger_payloads::table.on(ledger_payloads::seq.eq(record_attachments::seq)))
            .filter(record_attachments::sha256.eq_any(chunk))
            .select((record_attachments::sha256, record_attachments::seq))
            .load(conn)?;
        let kept: BTreeSet<String> = still
            .into_iter()
            .filter(|(_, seq)| !purged_set.contains(seq))
            .map(|(sha, _)| sha)
            .collect();
        doomed.extend(chunk.iter().filter(|sha| !kept.contains(*sha)).cloned());
    }
    // Never named by a record, and even the latest upload of it is older than the grace (a
    // photo uploaded again recently is about to be sent).
    let never_sent: Vec<(String, i64)> = attachments::table
        .left_join(record_attachments::table.on(record_attachments::sha256.eq(attachments::sha256)))
        .filter(record_attachments::sha256.is_null())
        .select((attachments::sha256, attachments::uploaded_at))
        .load(conn)?;
    let mut latest: BTreeMap<String, i64> = BTreeMap::new();
    for (sha, at) in never_sent {
        let entry = latest.entry(sha).or_insert(at);
        *entry = (*entry).max(at);
    }
    doomed.extend(
        latest
            .into_iter()
            .filter(|(_, at)| *at < stale_before)
            .map(|(sha, _)| sha),
    );
    Ok(doomed)
}

pub(crate) fn purge(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    request: &PurgeRequest,
) -> StorageResult<(Value, Vec<Learned>)> {
    let now = ledger.now;
    let wall = OffsetDateTime::now_utc();
    let seqs = candidates(conn, state, request, now)?;
    let stale_before = unix_micros(wall - request.attachment_grace);
    let doomed = doomed_attachments(conn, &seqs, stale_before)?;
    let ranges = ranges_of(&seqs);
    let rule = if request.before.is_some() {
        "before"
    } else {
        "retention_days"
    };
    let before = request
        .before
        .map(|b| crate::stored::instant(unix_micros(b)));
    let mut entries = Vec::new();
    if !request.dry_run {
        for chunk in seqs.chunks(CHUNK) {
            diesel::delete(ledger_payloads::table.filter(ledger_payloads::seq.eq_any(chunk)))
                .execute(conn)?;
            // The positions the writer kept for the speed check are the same personal data.
            diesel::delete(fixes::table.filter(fixes::seq.eq_any(chunk))).execute(conn)?;
        }
        let doomed_list: Vec<&String> = doomed.iter().collect();
        for chunk in doomed_list.chunks(CHUNK) {
            diesel::delete(attachments::table.filter(attachments::sha256.eq_any(chunk)))
                .execute(conn)?;
        }
        // An empty purge is on record too: it says the retention was applied and found nothing.
        let parts: Vec<&[[i64; 2]]> = if ranges.is_empty() {
            vec![&[]]
        } else {
            ranges.chunks(RANGES_PER_ENTRY).collect()
        };
        for part in parts {
            let count: i64 = part.iter().map(|[a, b]| b - a + 1).sum();
            let payload = json!({
                "purged": part,
                "count": count,
                "reason": request.reason,
                "rule": rule,
                "before": before,
            });
            // The ranges are in the header too, so that they outlive any later purge and a
            // verifier reads them without the payload.
            let appended = ledger.append_admin_with(
                "payload.purge",
                actor,
                None,
                &payload,
                Some(json!({"purged": part, "count": count})),
            )?;
            entries.push(appended.seq);
        }
    }
    Ok((
        json!({
            "dry_run": request.dry_run,
            "rule": rule,
            "before": before,
            "reason": request.reason,
            "purged": seqs.len(),
            "ranges": ranges.len(),
            "first_seq": seqs.first(),
            "last_seq": seqs.last(),
            "entries": entries,
            "attachments": doomed.into_iter().collect::<Vec<_>>(),
        }),
        Vec::new(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_seqs_become_ranges() {
        assert_eq!(ranges_of(&[]), Vec::<[i64; 2]>::new());
        assert_eq!(ranges_of(&[4]), vec![[4, 4]]);
        assert_eq!(
            ranges_of(&[1, 2, 3, 7, 9, 10]),
            vec![[1, 3], [7, 7], [9, 10]]
        );
    }
}
