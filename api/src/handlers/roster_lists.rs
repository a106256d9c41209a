//! The roster as pages an office scrolls through (docs/roster.md): people with filters, the
//! top units of one's scope, and a unit's households, assignments and pairings.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::handlers::paging::{page_answer, parse_limit, parse_seq_cursor};
use crate::handlers::{read, unit_in_scope};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::person::{PersonId, Role};
use fieldtrail_domain::roster::{format_date, parse_date};
use fieldtrail_domain::unit::UnitPath;
use fieldtrail_storage::models::{PersonView, UnitView};
use fieldtrail_storage::roster_reads::{self, Page, PeopleFilter};
use serde::Deserialize;
use serde_json::json;

const STAFF: [Role; 3] = [Role::Supervisor, Role::Inspector, Role::Admin];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeopleQuery {
    unit: Option<String>,
    role: Option<String>,
    q: Option<String>,
    active: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// People within the caller's scope (or a unit's subtree of it), in creation order.
pub async fn people(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<PeopleQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&STAFF)?;
    let query = query.into_inner();
    let mut problems = Problems::new();
    let limit = parse_limit(&mut problems, query.limit.as_deref());
    let role = query
        .role
        .as_deref()
        .and_then(|raw| problems.check("/role", Role::parse(raw)))
        .map(|role| role.as_str().to_owned());
    let active = query.active.as_deref().and_then(|raw| {
        problems.check(
            "/active",
            match raw {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err("must be true or false"),
            },
        )
    });
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if q.is_some_and(|q| q.chars().count() > 100) {
        problems.push("/q", "must be at most 100 characters");
    }
    let after = query.cursor.as_deref().and_then(|raw| {
        problems
            .check(
                "/cursor",
                PersonId::parse(raw).map_err(|_| "is not a cursor this server gave"),
            )
            .map(|id| id.to_string())
    });
    problems.finish()?;
    let path = match &query.unit {
        Some(code) => unit_in_scope(&state, &principal, code).await?.path,
        None => principal.scope.as_str().to_owned(),
    };
    let filter = PeopleFilter {
        path,
        role,
        q: q.map(str::to_owned),
        active,
        after,
        limit,
    };
    let (rows, next) = read(&state.db, move |conn| roster_reads::people(conn, &filter)).await?;
    let items: Vec<PersonView> = rows.into_iter().map(PersonView::from).collect();
    Ok(page_answer(items, next))
}

/// The top of the caller's tree: every root unit for an admin of the whole tree, else the
/// caller's own unit.
pub async fn units(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    let scope = principal.scope.clone();
    let rows = read(&state.db, move |conn| {
        if scope.is_whole_tree() {
            roster_reads::roots(conn)
        } else {
            let code = scope.last_code().unwrap_or_default().to_owned();
            Ok(fieldtrail_storage::reads::unit(conn, &code)?
                .into_iter()
                .collect())
        }
    })
    .await?;
    let items: Vec<UnitView> = rows.into_iter().map(UnitView::from).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    on: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

async fn page_of(
    state: &AppState,
    principal: &Principal,
    code: &str,
    query: PageQuery,
) -> Result<Page, ApiError> {
    let mut problems = Problems::new();
    let limit = parse_limit(&mut problems, query.limit.as_deref());
    let on = query
        .on
        .as_deref()
        .and_then(|raw| problems.check("/on", parse_date(raw)))
        .map(format_date);
    let after_seq = parse_seq_cursor(&mut problems, query.cursor.as_deref());
    problems.finish()?;
    let unit = unit_in_scope(state, principal, code).await?;
    Ok(Page {
        path: UnitPath::from_stored(unit.path).as_str().to_owned(),
        after_seq: after_seq.unwrap_or(0),
        limit,
        on,
    })
}

pub async fn households(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_of(&state, &principal, &code, query.into_inner()).await?;
    let (items, next) = read(&state.db, move |conn| roster_reads::households(conn, &page)).await?;
    Ok(page_answer(items, next))
}

pub async fn assignments(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&STAFF)?;
    let page = page_of(&state, &principal, &code, query.into_inner()).await?;
    let (items, next) = read(&state.db, move |conn| {
        roster_reads::assignments(conn, &page)
    })
    .await?;
    Ok(page_answer(items, next))
}

pub async fn pairings(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&STAFF)?;
    let page = page_of(&state, &principal, &code, query.into_inner()).await?;
    let (items, next) = read(&state.db, move |conn| roster_reads::pairings(conn, &page)).await?;
    Ok(page_answer(items, next))
}
