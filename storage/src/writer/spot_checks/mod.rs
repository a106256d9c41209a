//! Spot-checks (docs/spot-checks.md): committed draws ([`draws`]), challenges and their
//! outcomes, and supervisors' own checks ([`challenges`]), household verifications
//! ([`verifications`]). Each result is a ledger entry with a `records` row under the cadre it
//! concerns, so that it shows in their history and can be disputed like any verdict; an
//! `absent`, `missed` or `denied` one also leaves an alert for supervisors to review.

mod challenges;
mod draws;
mod verifications;

pub use challenges::{ChallengeAnswer, NewOutcome};
pub use draws::NewDraw;
pub use verifications::NewVerification;

pub(crate) use challenges::{answer_challenge, expire_challenges, record_outcome};
pub(crate) use draws::draw;
pub(crate) use verifications::verify_household;

use super::appender::{EntryDraft, LedgerAppender, SealedPayload};
use super::state::{KnownRecord, Learned};
use super::Actor;
use crate::error::StorageResult;
use crate::models::{AlertRow, RecordRow};
use crate::stored::record_answer;
use fieldtrail_domain::canonical::{to_canonical_bytes, unix_micros};
use fieldtrail_domain::person::PersonId;
use fieldtrail_domain::unit::UnitPath;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use time::OffsetDateTime;

/// A spot-check result about to be appended.
pub(crate) struct ResultDraft {
    /// `spot_check.outcome` or `spot_check.verification`.
    pub kind: &'static str,
    /// The cadre it concerns (its records row is theirs); None when nobody's visits are concerned.
    pub person: Option<PersonId>,
    pub unit_code: Option<String>,
    pub actual_unit_code: Option<String>,
    pub roster: &'static str,
    pub captured_at: OffsetDateTime,
    /// The verdict object, e.g. `{"outcome": "present", …}`.
    pub verdict: Value,
    pub flags: Value,
    pub payload: Value,
    /// The alert it raises, and the unit path that scopes it.
    pub alert: Option<(&'static str, UnitPath)>,
}

/// A result as appended: its id (the entry's) and the answer its record shows.
pub(crate) struct Appended {
    pub id: String,
    pub seq: i64,
    pub answer: Arc<Value>,
}

/// Appends a result entry with its records row and, if it raises one, its alert.
pub(crate) fn append_result(
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    draft: ResultDraft,
    learned: &mut Vec<Learned>,
) -> StorageResult<Appended> {
    let payload = SealedPayload::new(to_canonical_bytes(&draft.payload))?;
    let mut verdicts = Map::new();
    verdicts.insert("verdict".into(), draft.verdict.clone());
    verdicts.insert("flags".into(), draft.flags.clone());
    let appended = ledger.append(EntryDraft {
        kind: draft.kind,
        actor: actor.id.map(|id| id.to_string()),
        unit: draft.unit_code.clone(),
        captured_at: draft.captured_at,
        verdicts: Some(Value::Object(verdicts)),
        payload: &payload,
    });
    let answer = Arc::new(record_answer(
        &appended.entry_id,
        draft.kind,
        appended.seq,
        hex::encode(appended.leaf_hash),
        ledger.now_text,
        draft.verdict.clone(),
        draft.flags,
    ));
    if let Some(person) = draft.person {
        let person_id = person.to_string();
        ledger.rows.records.push(RecordRow {
            id: appended.entry_id.clone(),
            person_id: person_id.clone(),
            kind: draft.kind.to_owned(),
            seq: appended.seq,
            captured_at: unix_micros(draft.captured_at),
            content_hash: payload.hash.to_vec(),
            unit_code: draft.unit_code.clone(),
            actual_unit_code: draft.actual_unit_code,
            // Not presence evidence by itself: the answer's own check-in is.
            geo: "none".to_owned(),
            roster: draft.roster.to_owned(),
            refers_to: None,
        });
        learned.push(Learned::Record {
            id: appended.entry_id.clone(),
            record: KnownRecord {
                person_id,
                kind: draft.kind.to_owned(),
                content_hash: payload.hash.to_vec(),
                salt: Some(payload.salt.to_vec()),
                response: Arc::clone(&answer),
                returned_on: None,
            },
        });
    }
    if let Some((kind, path)) = draft.alert {
        // With the group's rows, so that the outbox rows for webhooks are made with it.
        ledger.rows.alerts.push(AlertRow {
            id: uuid::Uuid::now_v7().to_string(),
            seq: appended.seq,
            kind: kind.to_owned(),
            unit_code: draft.unit_code,
            unit_path: path.as_str().to_owned(),
            person_id: draft.person.map(|p| p.to_string()),
            source_id: appended.entry_id.clone(),
            status: "open".to_owned(),
            created_at: unix_micros(ledger.now),
            detail: json!({"verdict": draft.verdict}).to_string(),
        });
    }
    Ok(Appended {
        id: appended.entry_id,
        seq: appended.seq,
        answer,
    })
}
