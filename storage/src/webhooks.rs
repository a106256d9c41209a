//! Reading webhooks and their delivery log (docs/alerts.md), for the admin routes and for the
//! sender, which takes the deliveries that are due from here.

use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::models::{DeliveryRow, WebhookRow};
use crate::schema::{webhook_deliveries, webhooks};
use crate::stored::{instant, like_escape};
use crate::writer::webhook_view;
use diesel::prelude::*;
use fieldtrail_domain::unit::UnitPath;
use serde_json::{json, Value};

/// Webhooks for units under `path` (live ones, and removed ones when `removed`), oldest first.
pub fn list(conn: &mut DbConnection, path: &str, removed: bool) -> StorageResult<Vec<Value>> {
    let mut query = webhooks::table
        .filter(
            webhooks::unit_path
                .like(format!("{}%", like_escape(path)))
                .escape('\\'),
        )
        .into_boxed();
    if !removed {
        query = query.filter(webhooks::deleted_at.is_null());
    }
    let rows: Vec<WebhookRow> = query
        .order(webhooks::created_at.asc())
        .select(WebhookRow::as_select())
        .load(conn)?;
    rows.iter().map(webhook_view).collect()
}

/// A webhook's delivery log, newest first. NotFound outside `scope`, as if it did not exist.
pub fn deliveries(
    conn: &mut DbConnection,
    scope: &UnitPath,
    webhook_id: &str,
    state: Option<&str>,
    limit: i64,
) -> StorageResult<Vec<Value>> {
    let path: Option<String> = webhooks::table
        .find(webhook_id)
        .select(webhooks::unit_path)
        .first(conn)
        .optional()?;
    match path {
        Some(path) if scope.contains(&UnitPath::from_stored(path.clone())) => {}
        _ => return Err(StorageError::NotFound(format!("no webhook {webhook_id}"))),
    }
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .into_boxed();
    if let Some(state) = state {
        query = query.filter(webhook_deliveries::state.eq(state.to_owned()));
    }
    let rows: Vec<DeliveryRow> = query
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(limit)
        .select(DeliveryRow::as_select())
        .load(conn)?;
    Ok(rows
        .iter()
        .map(|row| {
            json!({
                "id": row.id,
                "alert_id": row.alert_id,
                "type": row.event_type,
                "state": row.state,
                "attempts": row.attempts,
                "last_status": row.last_status,
                "last_error": row.last_error,
                "last_attempt_at": row.last_attempt_at.map(instant),
                "next_try": (row.state == "pending").then(|| instant(row.next_attempt_at)),
                "created_at": instant(row.created_at),
                "delivered_at": row.delivered_at.map(instant),
            })
        })
        .collect())
}

/// A delivery the sender should attempt now.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: String,
    pub url: String,
    pub secret: String,
    pub body: String,
    pub attempts: i32,
    /// Unix microseconds, wall clock.
    pub created_at: i64,
}

/// Pending deliveries whose next try has come (`now`: Unix microseconds), oldest first.
pub fn due(conn: &mut DbConnection, now: i64, limit: i64) -> StorageResult<Vec<Due>> {
    let rows: Vec<(String, String, String, String, i32, i64)> = webhook_deliveries::table
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::state.eq("pending"))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .order(webhook_deliveries::next_attempt_at.asc())
        .limit(limit)
        .select((
            webhook_deliveries::id,
            webhooks::url,
            webhooks::secret,
            webhook_deliveries::body,
            webhook_deliveries::attempts,
            webhook_deliveries::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, url, secret, body, attempts, created_at)| Due {
            id,
            url,
            secret,
            body,
            attempts,
            created_at,
        })
        .collect())
}
