//! Acknowledging an alert (docs/alerts.md): an `alert.ack` entry naming the alert and the note,
//! and the alert's row showing who acknowledged it. An alert is for review, never a penalty;
//! acknowledging says it was looked at, not what came of it.

use super::appender::LedgerAppender;
use super::state::Learned;
use super::Actor;
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::schema::alerts;
use crate::stored::instant;
use diesel::prelude::*;
use fieldtrail_domain::canonical::unix_micros;
use fieldtrail_domain::unit::UnitPath;
use serde_json::{json, Value};

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
