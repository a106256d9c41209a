//! A cadre's side of spot-checks: the open challenges, and the answer — a fresh fix that
//! carries the challenge's nonce, stored as a check-in and judged like any other.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::handlers::read;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::person::Role;
use fieldtrail_domain::submission::parse_record;
use fieldtrail_domain::FieldProblem;
use fieldtrail_storage::writer::{ChallengeAnswer, Submitter};
use serde::Deserialize;
use serde_json::{json, Value};

/// `GET /v1/me/challenges`: the caller's open challenges (and those missed in the last week,
/// still answerable late), with the nonce to answer with.
pub async fn mine(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let me = principal.id.to_string();
    let now = fieldtrail_domain::canonical::unix_micros(state.clock.now());
    let open = read(&state.db, move |conn| {
        fieldtrail_storage::spot_checks::open_challenges_of(conn, &me, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "challenges": open })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseBody {
    nonce: String,
    captured_at: Value,
    position: Value,
    device_id: Value,
    #[serde(default)]
    attachment: Option<Value>,
}

/// `POST /v1/challenges/{id}/responses`: the cadre's answer.
pub async fn respond(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    JsonBody(body): JsonBody<ResponseBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Cadre])?;
    let challenge_id = id.into_inner();
    // The answer is a check-in of its own: the same parsing, pointers and checks as any record.
    let mut record = json!({
        "id": uuid::Uuid::now_v7().to_string(),
        "kind": "check_in",
        "captured_at": body.captured_at,
        "device_id": body.device_id,
        "position": body.position,
        "note": format!("answer to spot-check challenge {challenge_id}"),
    });
    if let Some(attachment) = body.attachment {
        record["attachments"] = json!([attachment]);
    }
    let submission = parse_record(&record, "", state.clock.now()).map_err(|problems| {
        ApiError::Invalid(
            problems
                .into_iter()
                .map(|p| {
                    let pointer = if p.pointer.starts_with("/attachments") {
                        "/attachment".to_owned()
                    } else {
                        p.pointer
                    };
                    FieldProblem::new(pointer, p.reason)
                })
                .collect(),
        )
    })?;
    let answer = ChallengeAnswer::new(challenge_id, body.nonce, submission)?;
    let submitter = Submitter {
        person: principal.id,
        scope: principal.scope.clone(),
    };
    let answered = state.writer.answer_challenge(submitter, answer).await?;
    Ok(HttpResponse::Created().json(answered))
}
