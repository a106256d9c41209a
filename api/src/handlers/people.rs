use crate::auth::{hash_password, Principal};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::handlers::paging::{page_answer, parse_limit, parse_seq_cursor};
use crate::handlers::read;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::canonical::{parse_rfc3339, unix_micros};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::person::{DisplayName, Password, PersonId, Phone, Role, Username};
use fieldtrail_domain::record::RecordKind;
use fieldtrail_domain::spotcheck::RESULT_KINDS;
use fieldtrail_domain::unit::{UnitCode, UnitPath};
use fieldtrail_domain::FieldProblem;
use fieldtrail_storage::models::{PersonRow, PersonView};
use fieldtrail_storage::reads::RecordFilter;
use fieldtrail_storage::writer::NewPerson;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePerson {
    username: String,
    password: String,
    display_name: String,
    role: String,
    unit_code: String,
    #[serde(default)]
    phone: Option<String>,
}

pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<CreatePerson>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin])?;
    let mut problems = Problems::new();
    let username = problems.check("/username", Username::parse(&body.username));
    let password = problems.check("/password", Password::parse(&body.password));
    let display_name = problems.check("/display_name", DisplayName::parse(&body.display_name));
    let role = problems.check("/role", Role::parse(&body.role));
    let unit_code = problems.check("/unit_code", UnitCode::parse(&body.unit_code));
    let phone = match body.phone.as_deref() {
        None => Some(None),
        Some(raw) => problems.check("/phone", Phone::parse(raw)).map(Some),
    };
    problems.finish()?;
    let (
        Some(username),
        Some(password),
        Some(display_name),
        Some(role),
        Some(unit_code),
        Some(phone),
    ) = (username, password, display_name, role, unit_code, phone)
    else {
        return Err(ApiError::Internal("parsed fields missing".into()));
    };
    let password_hash = web::block(move || hash_password(password.expose())).await??;
    let person = NewPerson {
        username,
        password_hash,
        display_name,
        role,
        unit_code: Some(unit_code),
        phone,
        must_change_password: false,
    };
    let actor = principal.actor();
    let view = state.writer.create_person(actor, person).await?;
    tracing::info!(by = %principal.id, person = %view.id, role = %view.role, "person created");
    Ok(HttpResponse::Created().json(view))
}

/// The person behind `id`, if the caller may see them: themselves, or anyone in the scope of a
/// supervisor, inspector or admin.
pub async fn visible_person(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<PersonRow, ApiError> {
    let parsed = PersonId::parse(id).map_err(|_| ApiError::NotFound(format!("no person {id}")))?;
    let wanted = parsed.to_string();
    let row = read(&state.db, move |conn| {
        fieldtrail_storage::reads::person(conn, &wanted)
    })
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("no person {id}")))?;
    if may_see_person(principal, parsed, &row.unit_path) {
        Ok(row)
    } else {
        Err(ApiError::forbidden())
    }
}

/// Puts a staff member's read of a person's data on record (docs/privacy.md).
pub async fn audit_person(
    state: &AppState,
    principal: &Principal,
    req: &actix_web::HttpRequest,
    person: &PersonRow,
    what: &'static str,
) -> Result<(), ApiError> {
    crate::audit::audit_read(
        state,
        principal,
        req,
        crate::audit::Subject {
            person: Some(&person.id),
            unit_code: person.unit_code.as_deref(),
            path: &person.unit_path,
            what,
        },
    )
    .await
}

pub fn may_see_person(principal: &Principal, person: PersonId, unit_path: &str) -> bool {
    principal.id == person
        || (principal.role != Role::Cadre
            && principal.reaches(&UnitPath::from_stored(unit_path.to_owned())))
}

pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = visible_person(&state, &principal, &id).await?;
    Ok(HttpResponse::Ok().json(PersonView::from(row)))
}

pub async fn assignments(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = visible_person(&state, &principal, &id).await?;
    let items = read(&state.db, move |conn| {
        fieldtrail_storage::reads::assignments_of(conn, &row.id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordQuery {
    from: Option<String>,
    to: Option<String>,
    kind: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

fn parse_filter(query: RecordQuery) -> Result<RecordFilter, ApiError> {
    let mut problems = Problems::new();
    let time = |raw: &Option<String>| raw.as_deref().map(parse_rfc3339).transpose();
    let from = problems.check(
        "/from",
        time(&query.from).map_err(|_| "must be an RFC 3339 timestamp"),
    );
    let to = problems.check(
        "/to",
        time(&query.to).map_err(|_| "must be an RFC 3339 timestamp"),
    );
    // A cadre's history also holds the spot-check results about them.
    let kind = problems.check(
        "/kind",
        query
            .kind
            .as_deref()
            .map(|raw| match RESULT_KINDS.iter().find(|k| **k == raw) {
                Some(result) => Ok((*result).to_owned()),
                None => RecordKind::parse(raw)
                    .map(|k| k.as_str().to_owned())
                    .map_err(|_| {
                        format!(
                            "must be a record kind ({}) or one of {}",
                            RecordKind::ALL.map(RecordKind::as_str).join(", "),
                            RESULT_KINDS.join(", ")
                        )
                    }),
            })
            .transpose(),
    );
    let limit = parse_limit(&mut problems, query.limit.as_deref());
    let after_seq = parse_seq_cursor(&mut problems, query.cursor.as_deref());
    problems.finish()?;
    Ok(RecordFilter {
        from: from.flatten().map(unix_micros),
        to: to.flatten().map(unix_micros),
        kind: kind.flatten(),
        after_seq,
        limit,
    })
}

pub async fn records(
    state: web::Data<AppState>,
    principal: Principal,
    req: actix_web::HttpRequest,
    id: web::Path<String>,
    query: web::Query<RecordQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = parse_filter(query.into_inner())?;
    let row = visible_person(&state, &principal, &id).await?;
    audit_person(&state, &principal, &req, &row, "records").await?;
    let (items, next) = read(&state.db, move |conn| {
        fieldtrail_storage::reads::records_of(conn, &row.id, &filter)
    })
    .await?;
    Ok(page_answer(items, next))
}

/// The households a cadre is paired with.
pub async fn pairings(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = visible_person(&state, &principal, &id).await?;
    let items = read(&state.db, move |conn| {
        fieldtrail_storage::reads::pairings_of(conn, &row.id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceQuery {
    from: Option<String>,
    to: Option<String>,
}

/// Day-by-day presence over at most 366 county days.
pub async fn presence(
    state: web::Data<AppState>,
    principal: Principal,
    req: actix_web::HttpRequest,
    id: web::Path<String>,
    query: web::Query<PresenceQuery>,
) -> Result<HttpResponse, ApiError> {
    use fieldtrail_domain::presence::{totals, MAX_PRESENCE_DAYS};
    use fieldtrail_domain::roster::{format_date, parse_date};
    use std::collections::HashMap;
    let query = query.into_inner();
    let mut problems = Problems::new();
    let mut day = |pointer: &str, raw: &Option<String>| match raw {
        None => {
            problems.push(pointer, "is required, as YYYY-MM-DD");
            None
        }
        Some(raw) => problems.check(pointer, parse_date(raw)),
    };
    let from = day("/from", &query.from);
    let to = day("/to", &query.to);
    if let (Some(from), Some(to)) = (from, to) {
        let days = (to - from).whole_days() + 1;
        if days < 1 {
            problems.push("/to", "must not be before from");
        } else if days > MAX_PRESENCE_DAYS {
            problems.push("/to", format!("at most {MAX_PRESENCE_DAYS} days at a time"));
        }
    }
    problems.finish()?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::Internal("parsed fields missing".into()));
    };
    let row = visible_person(&state, &principal, &id).await?;
    audit_person(&state, &principal, &req, &row, "presence").await?;
    let person_id = row.id.clone();
    let (days, results) = read(&state.db, move |conn| {
        fieldtrail_storage::reads::presence(conn, &person_id, from, to)
    })
    .await?;
    let mut checks: HashMap<time::Date, Vec<serde_json::Value>> = HashMap::new();
    for result in results {
        checks.entry(result.day).or_default().push(json!({
            "id": result.id,
            "kind": result.kind,
            "outcome": result.outcome,
            "method": result.method,
            "at": result.at,
        }));
    }
    let totals = totals(&days);
    // Each day also shows the spot-check results of that day (docs/spot-checks.md). Serialised
    // straight from the days (no JSON tree in between): a year is 365 of them.
    let days: Vec<DayView<'_>> = days
        .iter()
        .map(|day| DayView {
            spot_checks: parse_date(&day.date)
                .ok()
                .and_then(|d| checks.remove(&d))
                .unwrap_or_default(),
            day,
        })
        .collect();
    Ok(HttpResponse::Ok().json(PresenceAnswer {
        person_id: &row.id,
        from: format_date(from),
        to: format_date(to),
        totals,
        days,
    }))
}

#[derive(Serialize)]
struct DayView<'a> {
    #[serde(flatten)]
    day: &'a fieldtrail_domain::presence::PresenceDay,
    spot_checks: Vec<serde_json::Value>,
}

#[derive(Serialize)]
struct PresenceAnswer<'a> {
    person_id: &'a str,
    from: String,
    to: String,
    totals: serde_json::Value,
    days: Vec<DayView<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindDevice {
    device_id: String,
}

/// A supervisor binds a cadre to a new phone; records from any other device are flagged.
pub async fn bind_device(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    JsonBody(body): JsonBody<BindDevice>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Supervisor, Role::Admin])?;
    let person = PersonId::parse(&id).map_err(|_| ApiError::NotFound(format!("no person {id}")))?;
    let device = fieldtrail_domain::record::DeviceId::parse(&body.device_id)
        .map_err(|err| ApiError::Invalid(vec![FieldProblem::new("/device_id", err)]))?;
    let bound = state
        .writer
        .bind_device(principal.actor(), person, device)
        .await?;
    Ok(HttpResponse::Ok().json(bound))
}
