//! Webhooks (docs/alerts.md): an admin registers where a unit's alerts are sent; each alert a
//! group raises gets one outbox row per webhook that wants it, written with the alert in the
//! same transaction; the sender reports each attempt back here. Registering and removing a
//! webhook are ledger entries (`webhook.create`, `webhook.delete`): where evidence is sent is
//! itself on record. The secret is not in the entry.

use super::appender::LedgerAppender;
use super::state::{JudgeState, Learned};
use super::Actor;
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::models::{AlertRow, DeliveryRow, WebhookRow};
use crate::schema::{webhook_deliveries, webhooks};
use crate::stored::{instant, stored_json};
use diesel::prelude::*;
use fieldtrail_domain::canonical::unix_micros;
use fieldtrail_domain::unit::{UnitCode, UnitPath};
use serde_json::{json, Value};

/// A live webhook as the writer matches alerts against it.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub id: String,
    pub path: UnitPath,
    /// Event types it wants; None for all.
    pub events: Option<Vec<String>>,
}

impl Subscription {
    fn wants(&self, alert: &AlertRow, event_type: &str) -> bool {
        self.path
            .contains(&UnitPath::from_stored(alert.unit_path.clone()))
            && self
                .events
                .as_ref()
                .is_none_or(|events| events.iter().any(|e| e == event_type))
    }

    pub(crate) fn from_row(row: &WebhookRow) -> StorageResult<Subscription> {
        let events = match &row.events {
            Some(raw) => Some(
                serde_json::from_str::<Vec<String>>(raw)
                    .map_err(|_| StorageError::Corrupt(format!("webhook {} events", row.id)))?,
            ),
            None => None,
        };
        Ok(Subscription {
            id: row.id.clone(),
            path: UnitPath::from_stored(row.unit_path.clone()),
            events,
        })
    }
}

/// The live webhooks, as the writer starts with them.
pub(crate) fn load_subscriptions(conn: &mut DbConnection) -> StorageResult<Vec<Subscription>> {
    let rows: Vec<WebhookRow> = webhooks::table
        .filter(webhooks::deleted_at.is_null())
        .order(webhooks::created_at.asc())
        .select(WebhookRow::as_select())
        .load(conn)?;
    rows.iter().map(Subscription::from_row).collect()
}

/// The outbox rows for a group's alerts: one per alert and webhook that wants it. The body is
/// fixed now, so every attempt sends the same signed message.
pub(crate) fn outbox(
    alerts: &[AlertRow],
    hooks: &[Subscription],
) -> StorageResult<Vec<DeliveryRow>> {
    if hooks.is_empty() {
        return Ok(Vec::new());
    }
    // Delivery times are the wall clock's, as the receivers' are (the judging clock may be set
    // apart in tests).
    let now = unix_micros(time::OffsetDateTime::now_utc());
    let mut rows = Vec::new();
    for alert in alerts {
        let event_type = format!("alert.{}", alert.kind);
        let wanting: Vec<&Subscription> = hooks
            .iter()
            .filter(|hook| hook.wants(alert, &event_type))
            .collect();
        if wanting.is_empty() {
            continue;
        }
        let body = json!({
            "type": event_type,
            "timestamp": instant(alert.created_at),
            "data": {
                "id": alert.id,
                "kind": alert.kind,
                "status": alert.status,
                "unit_code": alert.unit_code,
                "person_id": alert.person_id,
                "source_id": alert.source_id,
                "seq": alert.seq,
                "created_at": instant(alert.created_at),
                "detail": stored_json("alert detail", &alert.detail)?,
            },
        })
        .to_string();
        for hook in wanting {
            rows.push(DeliveryRow {
                id: format!("msg_{}", uuid::Uuid::now_v7().simple()),
                webhook_id: hook.id.clone(),
                alert_id: alert.id.clone(),
                event_type: event_type.clone(),
                body: body.clone(),
                state: "pending".to_owned(),
                attempts: 0,
                last_status: None,
                last_error: None,
                last_attempt_at: None,
                next_attempt_at: now,
                created_at: now,
                delivered_at: None,
            });
        }
    }
    Ok(rows)
}

pub struct NewWebhook {
    pub id: String,
    pub url: String,
    pub unit_code: UnitCode,
    pub events: Option<Vec<String>>,
    /// `whsec_` and the base64 key, as given to the admin once.
    pub secret: String,
}

/// A webhook as listed: never with its secret.
pub fn webhook_view(row: &WebhookRow) -> StorageResult<Value> {
    let events = match &row.events {
        Some(raw) => stored_json("webhook events", raw)?,
        None => Value::Null,
    };
    Ok(json!({
        "id": row.id,
        "url": row.url,
        "unit_code": row.unit_code,
        "events": events,
        "created_by": row.created_by,
        "created_at": instant(row.created_at),
        "seq": row.seq,
        "deleted_at": row.deleted_at.map(instant),
    }))
}

pub(crate) fn create(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    hook: &NewWebhook,
) -> StorageResult<(Value, Vec<Learned>)> {
    let unit = actor.unit_in(state, &hook.unit_code, "/unit_code")?;
    let events = hook
        .events
        .as_ref()
        .map(|events| serde_json::to_string(events).unwrap_or_default());
    let payload = json!({
        "id": hook.id,
        "url": hook.url,
        "unit_code": hook.unit_code.as_str(),
        "events": hook.events,
    });
    let appended = ledger.append_admin(
        "webhook.create",
        actor,
        Some(hook.unit_code.as_str()),
        &payload,
    )?;
    let row = WebhookRow {
        id: hook.id.clone(),
        url: hook.url.clone(),
        unit_code: hook.unit_code.as_str().to_owned(),
        unit_path: unit.path.as_str().to_owned(),
        events,
        secret: hook.secret.clone(),
        created_by: actor.id.map(|id| id.to_string()),
        created_at: unix_micros(ledger.now),
        seq: appended.seq,
        deleted_at: None,
        deleted_seq: None,
    };
    diesel::insert_into(webhooks::table)
        .values(&row)
        .execute(conn)?;
    let mut view = webhook_view(&row)?;
    view["secret"] = json!(hook.secret);
    Ok((
        view,
        vec![Learned::Webhook {
            subscription: Subscription::from_row(&row)?,
        }],
    ))
}

/// Removes a webhook: nothing more is sent to it, and what was still waiting is cancelled.
/// Its deliveries stay listed.
pub(crate) fn delete(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    id: &str,
) -> StorageResult<(Value, Vec<Learned>)> {
    let not_found = || StorageError::NotFound(format!("no webhook {id}"));
    let row: WebhookRow = webhooks::table
        .find(id)
        .filter(webhooks::deleted_at.is_null())
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(not_found)?;
    if !actor
        .scope
        .contains(&UnitPath::from_stored(row.unit_path.clone()))
    {
        return Err(not_found());
    }
    let appended = ledger.append_admin(
        "webhook.delete",
        actor,
        Some(row.unit_code.as_str()),
        &json!({"id": id}),
    )?;
    let at = unix_micros(ledger.now);
    diesel::update(webhooks::table.find(id))
        .set((
            webhooks::deleted_at.eq(at),
            webhooks::deleted_seq.eq(appended.seq),
        ))
        .execute(conn)?;
    let cancelled = diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(id))
            .filter(webhook_deliveries::state.eq("pending")),
    )
    .set(webhook_deliveries::state.eq("cancelled"))
    .execute(conn)?;
    Ok((
        json!({"id": id, "deleted_at": instant(at), "seq": appended.seq, "cancelled": cancelled}),
        vec![Learned::WebhookGone { id: id.to_owned() }],
    ))
}

/// What one attempt to deliver came to, as the sender reports it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub delivery_id: String,
    /// Unix microseconds, wall clock.
    pub at: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// delivered, pending (with `next_at`) or failed (given up).
    pub state: &'static str,
    pub next_at: i64,
}

/// Keeps the delivery log. A delivery already settled (delivered, failed, cancelled) is left
/// as it is: a late report of a retry never reopens it.
pub(crate) fn record_attempts(
    conn: &mut DbConnection,
    attempts: &[Attempt],
) -> StorageResult<Value> {
    let mut updated = 0;
    for attempt in attempts {
        updated += diesel::update(
            webhook_deliveries::table
                .find(&attempt.delivery_id)
                .filter(webhook_deliveries::state.eq("pending")),
        )
        .set((
            webhook_deliveries::state.eq(attempt.state),
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
            webhook_deliveries::last_status.eq(attempt.status.map(i32::from)),
            webhook_deliveries::last_error.eq(&attempt.error),
            webhook_deliveries::last_attempt_at.eq(attempt.at),
            webhook_deliveries::next_attempt_at.eq(attempt.next_at),
            webhook_deliveries::delivered_at
                .eq((attempt.state == "delivered").then_some(attempt.at)),
        ))
        .execute(conn)?;
    }
    Ok(json!({"updated": updated}))
}
