//! Webhook registrations and their delivery logs (admins; docs/alerts.md). Deliveries follow
//! Standard Webhooks 1.0; the sender is in [`crate::webhooks`].

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::handlers::read;
use crate::state::AppState;
use crate::webhooks::signature::new_secret;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::person::Role;
use fieldtrail_domain::policy::{AlertTrigger, Switch};
use fieldtrail_domain::unit::UnitCode;
use fieldtrail_storage::writer::NewWebhook;
use serde::Deserialize;
use serde_json::{json, Value};

const MAX_URL_CHARS: usize = 2_000;
const MAX_LISTED: i64 = 1_000;
const STATES: [&str; 4] = ["pending", "delivered", "failed", "cancelled"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookBody {
    #[serde(default)]
    url: Option<Value>,
    #[serde(default)]
    unit_code: Option<Value>,
    #[serde(default)]
    events: Option<Value>,
}

/// Any http or https URL with a host: loopback and private addresses included, as targets are
/// chosen by an admin (docs/alerts.md).
fn parse_url(raw: &str) -> Result<String, String> {
    if raw.len() > MAX_URL_CHARS {
        return Err(format!("must be at most {MAX_URL_CHARS} characters"));
    }
    let uri: hyper::Uri = raw
        .parse()
        .map_err(|_| "must be an absolute http or https URL".to_owned())?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err("must be an http or https URL".to_owned()),
    }
    match uri.host() {
        Some(host) if !host.is_empty() => Ok(raw.to_owned()),
        _ => Err("must name a host".to_owned()),
    }
}

/// The event types asked for; None (every event) when absent or null.
fn parse_events(problems: &mut Problems, raw: Option<&Value>) -> Option<Vec<String>> {
    let items = match raw {
        None | Some(Value::Null) => return None,
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(_) => {
            problems.push("/events", "must be a non-empty array of event types");
            return None;
        }
    };
    let mut events = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str().and_then(AlertTrigger::from_event_type) {
            Some(trigger) => {
                let event = trigger.event_type();
                if !events.contains(&event) {
                    events.push(event);
                }
            }
            None => problems.push(
                format!("/events/{i}"),
                format!(
                    "must be one of {}",
                    AlertTrigger::ALL
                        .iter()
                        .map(|t| t.event_type())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }
    Some(events)
}

/// `POST /v1/webhooks {url, unit_code, events?}` (admin): 201 with the `whsec_` secret, which is
/// never shown again.
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<NewWebhookBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin])?;
    let mut problems = Problems::new();
    let url = match body.url.as_ref().and_then(Value::as_str) {
        Some(raw) => problems.check("/url", parse_url(raw)),
        None => {
            problems.push("/url", "is required: an http or https URL");
            None
        }
    };
    let unit_code = match body.unit_code.as_ref().and_then(Value::as_str) {
        Some(raw) => problems.check("/unit_code", UnitCode::parse(raw)),
        None => {
            problems.push("/unit_code", "is required: the unit whose alerts are sent");
            None
        }
    };
    let events = parse_events(&mut problems, body.events.as_ref());
    problems.finish()?;
    let (Some(url), Some(unit_code)) = (url, unit_code) else {
        return Err(ApiError::Internal("parsed webhook fields missing".into()));
    };
    let secret = new_secret().map_err(|err| ApiError::Internal(format!("no randomness: {err}")))?;
    let view = state
        .writer
        .create_webhook(
            principal.actor(),
            NewWebhook {
                id: uuid::Uuid::now_v7().to_string(),
                url,
                unit_code,
                events,
                secret,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// `GET /v1/webhooks` (admin): the live webhooks for units in scope, without their secrets.
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin])?;
    let path = principal.scope.as_str().to_owned();
    let hooks = read(&state.db, move |conn| {
        fieldtrail_storage::webhooks::list(conn, &path, false)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "webhooks": hooks })))
}

/// `DELETE /v1/webhooks/{id}` (admin): nothing more is sent; waiting deliveries are cancelled.
pub async fn delete(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin])?;
    let view = state
        .writer
        .delete_webhook(principal.actor(), id.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    #[serde(default)]
    state: Option<String>,
}

/// `GET /v1/webhooks/{id}/deliveries?state=` (admin): each delivery with its state, attempts,
/// last status and next try, newest first.
pub async fn deliveries(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    query: web::Query<DeliveriesQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin])?;
    let filter = query.into_inner().state;
    if let Some(raw) = &filter {
        if !STATES.contains(&raw.as_str()) {
            let mut problems = Problems::new();
            problems.push("/state", format!("must be one of {}", STATES.join(", ")));
            problems.finish()?;
        }
    }
    let scope = principal.scope.clone();
    let id = id.into_inner();
    let items = read(&state.db, move |conn| {
        fieldtrail_storage::webhooks::deliveries(conn, &scope, &id, filter.as_deref(), MAX_LISTED)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "deliveries": items })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(parse_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(parse_url("https://oa.example.gov.cn/alerts?x=1").is_ok());
        assert!(parse_url("ftp://example.com/").is_err());
        assert!(parse_url("/relative").is_err());
        assert!(parse_url("http:///nohost").is_err());
        assert!(parse_url("not a url").is_err());
        assert!(parse_url(&format!("http://a.cn/{}", "x".repeat(MAX_URL_CHARS))).is_err());
    }
}
