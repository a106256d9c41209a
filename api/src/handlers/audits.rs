//! Who read whose data (docs/privacy.md): the audit of reads for admins, and each person's own
//! readers.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::handlers::read;
use crate::handlers::spot_checks::day_range;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::person::{PersonId, Role};
use serde::Deserialize;
use serde_json::json;

/// Most reads one list answers.
const MAX_LISTED: i64 = 1_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadsQuery {
    person: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `GET /v1/audit/reads?person=&actor=&from=&to=` (admin), newest first.
pub async fn reads(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ReadsQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin])?;
    let query = query.into_inner();
    let mut problems = Problems::new();
    let mut id = |pointer: &str, raw: Option<&str>| {
        raw.and_then(|raw| problems.check(pointer, PersonId::parse(raw)))
            .map(|id| id.to_string())
    };
    let person = id("/person", query.person.as_deref());
    let actor = id("/actor", query.actor.as_deref());
    let (from, to) = day_range(&mut problems, query.from.as_deref(), query.to.as_deref());
    problems.finish()?;
    let items = read(&state.db, move |conn| {
        fieldtrail_storage::reads::read_audits(
            conn,
            person.as_deref(),
            actor.as_deref(),
            from,
            to,
            MAX_LISTED,
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "reads": items })))
}

/// `GET /v1/me/readers`: who read the caller's own data, newest first.
pub async fn my_readers(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let me = principal.id.to_string();
    let items = read(&state.db, move |conn| {
        fieldtrail_storage::reads::read_audits(conn, Some(&me), None, None, None, MAX_LISTED)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "reads": items })))
}
