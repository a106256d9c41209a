//! Ending assignments and pairings, deactivating and reactivating people, and an admin's
//! password reset (docs/roster.md). All are ledger entries through the writer; nothing is
//! deleted. A change to a person drops their cached tokens once it has committed.

use crate::auth::{hash_password, Principal};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::handlers::required_text;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::person::{Password, PersonId, Role};
use fieldtrail_domain::roster::parse_date;
use fieldtrail_storage::writer::{AccountChange, EndPeriod};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct End {
    valid_to: String,
}

fn end_period(id: String, body: &End) -> Result<EndPeriod, ApiError> {
    let mut problems = Problems::new();
    let valid_to = problems.check("/valid_to", parse_date(&body.valid_to));
    problems.finish()?;
    let valid_to = valid_to.ok_or_else(|| ApiError::Internal("parsed date missing".into()))?;
    Ok(EndPeriod { id, valid_to })
}

pub async fn end_assignment(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    JsonBody(body): JsonBody<End>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin])?;
    let end = end_period(id.into_inner(), &body)?;
    let view = state.writer.end_assignment(principal.actor(), end).await?;
    tracing::info!(by = %principal.id, "assignment ended");
    Ok(HttpResponse::Ok().json(view))
}

pub async fn end_pairing(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    JsonBody(body): JsonBody<End>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin])?;
    let end = end_period(id.into_inner(), &body)?;
    let view = state.writer.end_pairing(principal.actor(), end).await?;
    tracing::info!(by = %principal.id, "pairing ended");
    Ok(HttpResponse::Ok().json(view))
}

fn person_id(raw: &str) -> Result<PersonId, ApiError> {
    PersonId::parse(raw).map_err(|_| ApiError::NotFound(format!("no person {raw}")))
}

async fn change(
    state: &AppState,
    principal: &Principal,
    person: PersonId,
    change: AccountChange,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .writer
        .change_account(principal.actor(), person, change)
        .await?;
    state.tokens.forget_person(person);
    Ok(HttpResponse::Ok().json(view))
}

/// The reason an admin gives, 1 to 500 characters.
fn reason(body: &Map<String, Value>) -> Result<String, ApiError> {
    let mut problems = Problems::new();
    let reason = required_text(
        &mut problems,
        "/reason",
        body.get("reason"),
        (1, 500),
        "saying why",
    );
    if let Some(key) = body.keys().find(|k| *k != "reason") {
        problems.push(format!("/{key}"), "is not a field of this request");
    }
    problems.finish()?;
    reason.ok_or_else(|| ApiError::Internal("parsed reason missing".into()))
}

/// Deactivation and reactivation: the same request, an admin's reason, a different change.
async fn set_active(
    state: &AppState,
    principal: &Principal,
    id: &str,
    body: &Map<String, Value>,
    change_for: fn(String) -> AccountChange,
) -> Result<(PersonId, HttpResponse), ApiError> {
    principal.require_role(&[Role::Admin])?;
    let person = person_id(id)?;
    let reason = reason(body)?;
    let answer = change(state, principal, person, change_for(reason)).await?;
    Ok((person, answer))
}

pub async fn deactivate(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let (person, answer) = set_active(&state, &principal, &id, &body, |reason| {
        AccountChange::Deactivate { reason }
    })
    .await?;
    tracing::info!(by = %principal.id, %person, "person deactivated");
    Ok(answer)
}

pub async fn reactivate(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let (person, answer) = set_active(&state, &principal, &id, &body, |reason| {
        AccountChange::Reactivate { reason }
    })
    .await?;
    tracing::info!(by = %principal.id, %person, "person reactivated");
    Ok(answer)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    new: String,
}

/// An admin sets someone's password; they must choose their own at next login.
pub async fn reset_password(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    JsonBody(body): JsonBody<Reset>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin])?;
    let person = person_id(&id)?;
    let mut problems = Problems::new();
    let new = problems.check("/new", Password::parse(&body.new));
    problems.finish()?;
    let new = new.ok_or_else(|| ApiError::Internal("parsed password missing".into()))?;
    let hash = web::block(move || hash_password(new.expose())).await??;
    let answer = change(
        &state,
        &principal,
        person,
        AccountChange::Password { hash, reset: true },
    )
    .await?;
    tracing::info!(by = %principal.id, %person, "password reset");
    Ok(answer)
}
