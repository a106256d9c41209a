//! Supervisors' decisions on leave requests, official trips, corrections and disputes: one
//! generic decision, a ledger entry that answers the request (which itself is never changed)
//! and the request's projection row updated to show where it stands.

use super::appender::LedgerAppender;
use super::state::JudgeState;
use super::Actor;
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::models::RequestRow;
use crate::schema::*;
use diesel::prelude::*;
use fieldtrail_domain::canonical::unix_micros;
use fieldtrail_domain::person::PersonId;
use fieldtrail_domain::record::RecordKind;
use serde_json::{json, Value};
use uuid::Uuid;

/// A supervisor's decision on a leave request, trip, correction or dispute.
pub struct Decision {
    pub record_id: Uuid,
    pub kind: RecordKind,
    pub decision: String,
    pub note: Option<String>,
}

/// Records the decision on a pending request. Reads the request from the database, which the
/// commit loop has brought level with the group before (the request may be in the same group).
pub(crate) fn decide(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    decision: &Decision,
) -> StorageResult<Value> {
    let record_id = decision.record_id.to_string();
    let not_found =
        || StorageError::NotFound(format!("no {} with id {record_id}", decision.kind.as_str()));
    let request: RequestRow = requests::table
        .find(&record_id)
        .filter(requests::kind.eq(decision.kind.as_str()))
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(not_found)?;
    let owner = PersonId::parse(&request.person_id)
        .ok()
        .and_then(|id| state.person(&id))
        .ok_or_else(not_found)?;
    actor.require_reach(&owner.unit_path, || format!("the cadre of {record_id}"))?;
    if request.status != "pending" {
        return Err(StorageError::Conflict(format!(
            "{record_id} was already decided: {}",
            request.status
        )));
    }
    let unit: Option<String> = records::table
        .find(&record_id)
        .select(records::unit_code)
        .first(conn)
        .optional()?
        .flatten();
    let entry_kind = match decision.kind {
        RecordKind::LeaveRequest => "leave_decision",
        RecordKind::OfficialTrip => "trip_decision",
        RecordKind::Correction => "correction_decision",
        _ => "dispute_decision",
    };
    let payload = json!({
        "record_id": record_id,
        "decision": decision.decision,
        "note": decision.note,
    });
    let appended = ledger.append_admin(entry_kind, actor, unit.as_deref(), &payload)?;
    let decided = RequestRow {
        status: decision.decision.clone(),
        decision_seq: Some(appended.seq),
        decided_by: actor.id.map(|id| id.to_string()),
        decided_at: Some(unix_micros(ledger.now)),
        decision_note: decision.note.clone(),
        ..request
    };
    diesel::update(requests::table.find(&record_id))
        .set((
            requests::status.eq(&decided.status),
            requests::decision_seq.eq(decided.decision_seq),
            requests::decided_by.eq(&decided.decided_by),
            requests::decided_at.eq(decided.decided_at),
            requests::decision_note.eq(&decided.decision_note),
        ))
        .execute(conn)?;
    // The answer is the decision as every later read of the request shows it, plus its ids.
    let mut answer = decided.decision_view();
    answer["id"] = json!(appended.entry_id);
    answer["record_id"] = json!(record_id);
    answer["kind"] = json!(entry_kind);
    Ok(answer)
}
