//! `GET /v1/units/{code}/compliance?period=`: residency compliance per cadre.

use super::{readable_unit, today};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::handlers::read;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::spotcheck::Period;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceQuery {
    period: Option<String>,
}

pub async fn compliance(
    state: web::Data<AppState>,
    principal: Principal,
    req: actix_web::HttpRequest,
    code: web::Path<String>,
    query: web::Query<ComplianceQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::new();
    let period = match query.period.as_deref() {
        None => {
            problems.push("/period", "is required, as YYYY-MM or YYYY-Www");
            None
        }
        Some(raw) => problems.check("/period", Period::parse(raw)),
    };
    problems.finish()?;
    let Some(period) = period else {
        return Err(ApiError::Internal("parsed period missing".into()));
    };
    let unit = readable_unit(&state, &principal, &code).await?;
    crate::audit::audit_read(
        &state,
        &principal,
        &req,
        crate::audit::Subject {
            person: None,
            unit_code: Some(&unit.code),
            path: &unit.path,
            what: "compliance",
        },
    )
    .await?;
    let today = today(&state);
    let answer = read(&state.db, move |conn| {
        fieldtrail_storage::supervision::compliance::compliance(conn, &unit, period, today)
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}
