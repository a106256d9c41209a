//! `GET /v1/people/{id}/archive?from=&to=`: a cadre's archive (档案) over whole months.

use super::{month_param, next_month, today};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::handlers::people::visible_person;
use crate::handlers::read;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::spotcheck::Period;
use serde::Deserialize;
use serde_json::json;

/// Longest range of monthly summaries one archive read covers.
const MAX_MONTHS: usize = 24;
/// Months shown when the range is not given: this one and the eleven before it.
const DEFAULT_MONTHS: usize = 12;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveQuery {
    from: Option<String>,
    to: Option<String>,
}

pub async fn archive(
    state: web::Data<AppState>,
    principal: Principal,
    req: actix_web::HttpRequest,
    id: web::Path<String>,
    query: web::Query<ArchiveQuery>,
) -> Result<HttpResponse, ApiError> {
    let today = today(&state);
    let mut problems = Problems::new();
    let to = match query.to.as_deref() {
        None => Some(Period::month_of(today)),
        raw => month_param(&mut problems, "/to", raw),
    };
    let from = match query.from.as_deref() {
        None => to.map(|to| {
            let mut first = to;
            for _ in 1..DEFAULT_MONTHS {
                first = first
                    .first_day()
                    .previous_day()
                    .map_or(first, Period::month_of);
            }
            first
        }),
        raw => month_param(&mut problems, "/from", raw),
    };
    let mut months = Vec::new();
    if let (Some(from), Some(to)) = (from, to) {
        if from.first_day() > to.first_day() {
            problems.push("/to", "must not be before from");
        } else {
            let mut month = Some(from);
            while let Some(m) = month.filter(|m| m.first_day() <= to.first_day()) {
                months.push(m);
                if months.len() > MAX_MONTHS {
                    break;
                }
                month = next_month(m);
            }
            if months.len() > MAX_MONTHS {
                problems.push("/to", format!("at most {MAX_MONTHS} months at a time"));
            }
        }
    }
    problems.finish()?;
    let person = visible_person(&state, &principal, &id).await?;
    crate::handlers::people::audit_person(&state, &principal, &req, &person, "archive").await?;
    let answer = read(&state.db, move |conn| {
        fieldtrail_storage::supervision::archive::archive(conn, person, &months, today)
    })
    .await?;
    let mut answer = answer;
    if let (Some(from), Some(to)) = (from, to) {
        answer["from"] = json!(from.label());
        answer["to"] = json!(to.label());
    }
    Ok(HttpResponse::Ok().json(answer))
}
