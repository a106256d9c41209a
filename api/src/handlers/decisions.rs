//! Supervisors decide on leave, official trips, corrections and disputes. Each decision is a
//! ledger entry; the request it answers is never changed.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::person::Role;
use fieldtrail_domain::record::{RecordKind, Text};
use fieldtrail_storage::writer::Decision;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    decision: String,
    #[serde(default)]
    note: Option<String>,
}

async fn decide(
    state: web::Data<AppState>,
    principal: Principal,
    id: String,
    body: DecisionBody,
    kind: RecordKind,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Supervisor, Role::Admin])?;
    let record_id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::NotFound(format!("no {} {id}", kind.as_str())))?;
    let allowed = kind.decisions().unwrap_or(["approved", "rejected"]);
    let mut problems = Problems::new();
    if !allowed.contains(&body.decision.as_str()) {
        problems.push(
            "/decision",
            format!("decision must be {} or {}", allowed[0], allowed[1]),
        );
    }
    // A dispute's answer must give its reasons: the cadre is owed an explanation.
    let note_required = kind == RecordKind::Dispute;
    let note = match body.note.as_deref() {
        None if note_required => {
            problems.push(
                "/note",
                "a dispute decision needs a note giving the reasons",
            );
            None
        }
        None => None,
        Some(raw) => problems
            .check("/note", Text::parse(raw, usize::from(note_required), 2000))
            .map(|t| t.as_str().to_owned()),
    };
    problems.finish()?;
    let decided = state
        .writer
        .decide(
            principal.actor(),
            Decision {
                record_id,
                kind,
                decision: body.decision,
                note,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(decided))
}

pub async fn leave(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<HttpResponse, ApiError> {
    decide(
        state,
        principal,
        id.into_inner(),
        body,
        RecordKind::LeaveRequest,
    )
    .await
}

pub async fn trip(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<HttpResponse, ApiError> {
    decide(
        state,
        principal,
        id.into_inner(),
        body,
        RecordKind::OfficialTrip,
    )
    .await
}

pub async fn correction(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<HttpResponse, ApiError> {
    decide(
        state,
        principal,
        id.into_inner(),
        body,
        RecordKind::Correction,
    )
    .await
}

pub async fn dispute(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<HttpResponse, ApiError> {
    decide(state, principal, id.into_inner(), body, RecordKind::Dispute).await
}
