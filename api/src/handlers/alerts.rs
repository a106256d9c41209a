//! Alerts for supervisors to review (an absent, missed or denied spot-check result). An alert is
//! for review and never a penalty by itself.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::handlers::read;
use crate::handlers::spot_checks::{day_range, scope_path, READERS};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::error::Problems;
use fieldtrail_storage::spot_checks::AlertFilter;
use serde::Deserialize;
use serde_json::json;

const MAX_LISTED: i64 = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

/// `GET /v1/alerts?unit=&status=open|acknowledged&from=&to=`, newest first, within scope.
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<AlertsQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&READERS)?;
    let query = query.into_inner();
    let mut problems = Problems::new();
    if let Some(status) = &query.status {
        if status != "open" && status != "acknowledged" {
            problems.push("/status", "must be open or acknowledged");
        }
    }
    let (from, to) = day_range(&mut problems, query.from.as_deref(), query.to.as_deref());
    problems.finish()?;
    let path = scope_path(&state, &principal, query.unit).await?;
    let filter = AlertFilter {
        status: query.status,
        from,
        to,
        limit: MAX_LISTED,
    };
    let alerts = read(&state.db, move |conn| {
        fieldtrail_storage::spot_checks::alerts(conn, &path, &filter)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "alerts": alerts })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckBody {
    #[serde(default)]
    note: Option<serde_json::Value>,
}

/// `POST /v1/alerts/{id}/ack {note}`: a supervisor or admin has looked at the alert.
pub async fn ack(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    crate::extract::JsonBody(body): crate::extract::JsonBody<AckBody>,
) -> Result<HttpResponse, ApiError> {
    use fieldtrail_domain::person::Role;
    principal.require_role(&[Role::Supervisor, Role::Admin])?;
    let mut problems = Problems::new();
    let note = crate::handlers::required_text(
        &mut problems,
        "/note",
        body.note.as_ref(),
        (1, 2_000),
        "on what was looked at",
    );
    problems.finish()?;
    let Some(note) = note else {
        return Err(ApiError::Internal("parsed note missing".into()));
    };
    let answer = state
        .writer
        .ack_alert(
            principal.actor(),
            fieldtrail_storage::writer::AlertAck {
                alert_id: id.into_inner(),
                note,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
