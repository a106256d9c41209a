//! Logging in and out, and changing one's own password (docs/roster.md).

use crate::auth::{bearer_token, decoy_hash, hash_password, verify_password, Holder, Principal};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::handlers::read;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::person::Password;
use fieldtrail_storage::models::PersonRow;
use fieldtrail_storage::writer::{AccountChange, RevokedToken};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: String,
}

/// The answer to a login or a password change: a token for the person as stored.
fn token_answer(state: &AppState, person: &PersonRow) -> Result<HttpResponse, ApiError> {
    let token = state.tokens.issue(Holder::of(person)?)?;
    Ok(HttpResponse::Ok().json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": state.tokens.ttl_seconds(),
        "must_change_password": person.must_change_password,
    })))
}

pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    // The peer itself: behind a reverse proxy every client shares its address (docs/operations.md).
    let address = req.peer_addr().map(|peer| peer.ip());
    state.login_limits.check(&body.username, address)?;
    let username = body.username.clone();
    let person = read(&state.db, move |conn| {
        fieldtrail_storage::reads::person_by_username(conn, &username)
    })
    .await?;
    let password = body.password;
    let stored_hash = person
        .as_ref()
        .map(|p| p.password_hash.clone())
        .unwrap_or_else(|| decoy_hash().to_owned());
    let matches = web::block(move || verify_password(&password, &stored_hash)).await?;
    let person = match person {
        Some(person) if matches => person,
        _ => {
            tracing::info!(username = %body.username, "login refused");
            state.login_limits.failed(&body.username, address);
            return Err(ApiError::Unauthorized(
                "invalid username or password".into(),
            ));
        }
    };
    state.login_limits.succeeded(&body.username);
    // Only after the password matched, so that this does not tell who exists.
    if !person.active {
        tracing::info!(person = %person.id, "login of a deactivated account refused");
        return Err(ApiError::Forbidden("this account is deactivated".into()));
    }
    tracing::info!(person = %person.id, "login");
    token_answer(&state, &person)
}

/// Gives the caller's token back: it is refused from now on.
pub async fn logout(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&req)?;
    let claims = state.tokens.verify(&token)?;
    state
        .writer
        .revoke_token(RevokedToken {
            jti: claims.jti,
            person_id: principal.id,
            expires_at: claims.exp,
            now: time::OffsetDateTime::now_utc().unix_timestamp(),
        })
        .await?;
    state.tokens.forget_token(&token);
    tracing::info!(person = %principal.id, "logout");
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current: String,
    new: String,
}

/// The caller chooses a new password; every older token of theirs stops working.
pub async fn change_own_password(
    state: web::Data<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::new();
    let new = problems.check("/new", Password::parse(&body.new));
    if body.new == body.current {
        problems.push("/new", "must differ from the current password");
    }
    let id = principal.id.to_string();
    let person = read(&state.db, move |conn| {
        fieldtrail_storage::reads::person(conn, &id)
    })
    .await?
    .ok_or_else(|| ApiError::Unauthorized("the token's subject does not exist".into()))?;
    let (current, stored) = (body.current, person.password_hash.clone());
    if !web::block(move || verify_password(&current, &stored)).await? {
        problems.push("/current", "is not your current password");
    }
    problems.finish()?;
    let new = new.ok_or_else(|| ApiError::Internal("parsed password missing".into()))?;
    let hash = web::block(move || hash_password(new.expose())).await??;
    let change = AccountChange::Password { hash, reset: false };
    state
        .writer
        .change_account(principal.actor(), principal.id, change)
        .await?;
    state.tokens.forget_person(principal.id);
    let id = principal.id.to_string();
    let person = read(&state.db, move |conn| {
        fieldtrail_storage::reads::person(conn, &id)
    })
    .await?
    .ok_or_else(|| ApiError::Internal("the person vanished".into()))?;
    tracing::info!(person = %principal.id, "password changed");
    token_answer(&state, &person)
}
