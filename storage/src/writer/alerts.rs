//! Acknowledging an alert (docs/alerts.md): an `alert.ack` entry naming the alert and the note,
//! and the alert's row showing who acknowledged it. An alert is for review, never a penalty;
//! acknowledging says it was looked at, not what came of it.

use super::appender::LedgerAppender;
use super::state::{JudgeState, Learned};
use super::Actor;
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::models::AlertRow;
use crate::schema::alerts;
use crate::stored::instant;
use diesel::prelude::*;
use fieldtrail_domain::canonical::unix_micros;
use fieldtrail_domain::policy::AlertTrigger;
use fieldtrail_domain::unit::UnitPath;
use serde_json::{json, Value};
use std::collections::HashSet;

pub struct AlertAck {
    pub alert_id: String,
    pub note: String,
}

pub(crate) fn ack(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    ack: &AlertAck,
) -> StorageResult<(Value, Vec<Learned>)> {
    let not_found = || StorageError::NotFound(format!("no alert {}", ack.alert_id));
    let (path, unit, status): (String, Option<String>, String) = alerts::table
        .find(&ack.alert_id)
        .select((alerts::unit_path, alerts::unit_code, alerts::status))
        .first(conn)
        .optional()?
        .ok_or_else(not_found)?;
    if !actor.scope.contains(&UnitPath::from_stored(path)) {
        // Not even acknowledged to exist outside one's units, as the list does not show it.
        return Err(not_found());
    }
    if status != "open" {
        return Err(StorageError::Conflict(format!(
            "alert {} was already {status}",
            ack.alert_id
        )));
    }
    let payload = json!({"alert_id": ack.alert_id, "note": ack.note});
    let appended = ledger.append_admin("alert.ack", actor, unit.as_deref(), &payload)?;
    let by = actor.id.map(|id| id.to_string());
    let at = unix_micros(ledger.now);
    diesel::update(alerts::table.find(&ack.alert_id))
        .set((
            alerts::status.eq("acknowledged"),
            alerts::acked_by.eq(&by),
            alerts::acked_at.eq(at),
            alerts::ack_note.eq(&ack.note),
            alerts::ack_seq.eq(appended.seq),
        ))
        .execute(conn)?;
    Ok((
        json!({
            "id": ack.alert_id,
            "status": "acknowledged",
            "ack": {"by": by, "at": instant(at), "note": ack.note, "seq": appended.seq},
        }),
        Vec::new(),
    ))
}

/// A negative-list item the facts propose, as the proposal watch found it.
#[derive(Debug, Clone)]
pub struct ProposedItem {
    pub item_id: String,
    pub rule: String,
    pub person_id: String,
    pub unit_code: String,
    pub month: String,
    pub message: String,
}

/// Raises `negative_item.proposed` for items not alerted yet, where the unit's policy has the
/// trigger on. Each is a ledger entry of the same kind (the system's proposal, on record with
/// when it was first made) carrying the alert, so a webhook hears of it like any other.
pub(crate) fn raise_proposed(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    items: &[ProposedItem],
) -> StorageResult<(Value, Vec<Learned>)> {
    let kind = AlertTrigger::NegativeItemProposed.kind();
    let ids: Vec<&str> = items.iter().map(|i| i.item_id.as_str()).collect();
    let mut known: HashSet<String> = HashSet::new();
    for chunk in ids.chunks(1_000) {
        known.extend(
            alerts::table
                .filter(alerts::kind.eq(kind))
                .filter(alerts::source_id.eq_any(chunk))
                .select(alerts::source_id)
                .load::<String>(conn)?,
        );
    }
    let mut raised = Vec::new();
    for item in items {
        let Some(unit) = state.unit(&item.unit_code) else {
            continue;
        };
        if known.contains(&item.item_id)
            || !state
                .policy_at(&unit.path)
                .policy
                .alerts
                .is_on(AlertTrigger::NegativeItemProposed)
        {
            continue;
        }
        let fact = json!({
            "item_id": item.item_id,
            "rule": item.rule,
            "person_id": item.person_id,
            "month": item.month,
            "message": item.message,
        });
        let appended = ledger.append_admin(kind, actor, Some(&item.unit_code), &fact)?;
        ledger.rows.alerts.push(AlertRow {
            id: uuid::Uuid::now_v7().to_string(),
            seq: appended.seq,
            kind: kind.to_owned(),
            unit_code: Some(item.unit_code.clone()),
            unit_path: unit.path.as_str().to_owned(),
            person_id: Some(item.person_id.clone()),
            source_id: item.item_id.clone(),
            status: "open".to_owned(),
            created_at: unix_micros(ledger.now),
            detail: fact.to_string(),
        });
        known.insert(item.item_id.clone());
        raised.push(item.item_id.clone());
    }
    Ok((json!({ "raised": raised }), Vec::new()))
}
