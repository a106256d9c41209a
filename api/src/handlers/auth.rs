use crate::auth::{decoy_hash, verify_password};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::handlers::read;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::person::{PersonId, Role};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: String,
}

pub async fn login(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
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
            return Err(ApiError::Unauthorized(
                "invalid username or password".into(),
            ));
        }
    };
    let id =
        PersonId::parse(&person.id).map_err(|_| ApiError::Internal("stored person id".into()))?;
    let role = Role::parse(&person.role).map_err(|_| ApiError::Internal("stored role".into()))?;
    let token = state.tokens.issue(id, role, person.unit_code.clone())?;
    tracing::info!(person = %person.id, "login");
    Ok(HttpResponse::Ok().json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": state.tokens.ttl_seconds(),
    })))
}
