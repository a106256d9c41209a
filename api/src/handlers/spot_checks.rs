//! Random spot-checks (docs/spot-checks.md): committed draws, supervisors' own checks and
//! household verifications. Cadres' challenges are in [`super::challenges`].

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::handlers::read;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::person::{PersonId, Role};
use fieldtrail_domain::record::{CapturedAt, Text};
use fieldtrail_domain::roster::{day_start_micros, parse_date};
use fieldtrail_domain::spotcheck::{
    Method, Outcome, Period, Population, Verification, MAX_DRAW_SIZE,
};
use fieldtrail_domain::submission::parse_position_member;
use fieldtrail_domain::unit::{UnitCode, UnitPath};
use fieldtrail_storage::writer::{NewDraw, NewOutcome, NewVerification};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

/// Who runs checks and records their results.
const CHECKERS: [Role; 2] = [Role::Supervisor, Role::Admin];
/// Who may read them.
pub(crate) const READERS: [Role; 3] = [Role::Supervisor, Role::Inspector, Role::Admin];

/// Most draws one list answers.
const MAX_LISTED: i64 = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawBody {
    unit_code: String,
    population: String,
    size: Value,
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    purpose: Option<String>,
    #[serde(default)]
    emergency_reason: Option<String>,
}

fn optional_text(
    problems: &mut Problems,
    pointer: &str,
    raw: Option<&str>,
    min: usize,
    max: usize,
) -> Option<Option<String>> {
    match raw {
        None => Some(None),
        Some(raw) => problems
            .check(pointer, Text::parse(raw, min, max))
            .map(|t| Some(t.as_str().to_owned())),
    }
}

/// `POST /v1/spot-checks/draws`: fixes the draw's parameters and population in the ledger,
/// seeds it with the checkpoint that contains that entry, and opens the challenges.
pub async fn create_draw(
    state: web::Data<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<DrawBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&CHECKERS)?;
    let mut problems = Problems::new();
    let unit_code = problems.check("/unit_code", UnitCode::parse(&body.unit_code));
    let population = Population::parse(&body.population);
    if population.is_none() {
        problems.push("/population", "must be cadres or visited_households");
    }
    let size = body
        .size
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| (1..=MAX_DRAW_SIZE).contains(n));
    if size.is_none() {
        problems.push(
            "/size",
            format!("must be an integer from 1 to {MAX_DRAW_SIZE}"),
        );
    }
    let period = match body.period.as_deref() {
        None => Some(None),
        Some(raw) => problems.check("/period", Period::parse(raw)).map(Some),
    };
    let purpose = optional_text(&mut problems, "/purpose", body.purpose.as_deref(), 0, 500);
    let emergency = optional_text(
        &mut problems,
        "/emergency_reason",
        body.emergency_reason.as_deref(),
        0,
        500,
    );
    problems.finish()?;
    let (
        Some(unit_code),
        Some(population),
        Some(size),
        Some(period),
        Some(purpose),
        Some(emergency),
    ) = (unit_code, population, size, period, purpose, emergency)
    else {
        return Err(ApiError::Internal("parsed fields missing".into()));
    };
    let view = state
        .writer
        .draw(
            principal.actor(),
            NewDraw {
                unit_code,
                population,
                size,
                period,
                purpose,
                emergency_reason: emergency,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawsQuery {
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

/// `from`/`to` as county days (both inclusive) → `[start, end)` in Unix microseconds.
pub(crate) fn day_range(
    problems: &mut Problems,
    from: Option<&str>,
    to: Option<&str>,
) -> (Option<i64>, Option<i64>) {
    let from = from.and_then(|raw| problems.check("/from", parse_date(raw)));
    let to = to.and_then(|raw| problems.check("/to", parse_date(raw)));
    (
        from.map(day_start_micros),
        to.map(|day| day_start_micros(day.next_day().unwrap_or(day))),
    )
}

/// The stored path of `unit` (default: the caller's scope), which the caller must reach.
pub(crate) async fn scope_path(
    state: &AppState,
    principal: &Principal,
    unit: Option<String>,
) -> Result<String, ApiError> {
    match unit {
        None => Ok(principal.scope.as_str().to_owned()),
        Some(code) => Ok(crate::handlers::unit_in_scope(state, principal, &code)
            .await?
            .path),
    }
}

/// `GET /v1/spot-checks/draws?unit=&from=&to=`: every draw over units under `unit`, newest
/// first, so repeated draws over the same unit and period are plain to see.
pub async fn list_draws(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<DrawsQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&READERS)?;
    let query = query.into_inner();
    let mut problems = Problems::new();
    let (from, to) = day_range(&mut problems, query.from.as_deref(), query.to.as_deref());
    problems.finish()?;
    let path = scope_path(&state, &principal, query.unit).await?;
    let draws = read(&state.db, move |conn| {
        fieldtrail_storage::spot_checks::draws(conn, &path, from, to, MAX_LISTED)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "draws": draws })))
}

/// `GET /v1/spot-checks/draws/{id}`: the draw, its population, checkpoint, sample and what
/// followed (challenges and their outcomes, or household verifications).
pub async fn get_draw(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&READERS)?;
    let id = id.into_inner();
    let not_found = || ApiError::NotFound(format!("no draw {id}"));
    let key = id.clone();
    let (path, view) = read(&state.db, move |conn| {
        fieldtrail_storage::spot_checks::draw(conn, &key)
    })
    .await?
    .ok_or_else(not_found)?;
    if !principal.reaches(&UnitPath::from_stored(path)) {
        // Not Forbidden: a draw outside one's units is not even acknowledged to exist.
        return Err(not_found());
    }
    Ok(HttpResponse::Ok().json(view))
}

/// An RFC 3339 instant, refused as a record's captured_at is when it lies ahead of the server
/// clock.
fn instant(
    problems: &mut Problems,
    pointer: &str,
    raw: Option<&str>,
    now: OffsetDateTime,
) -> Option<Option<OffsetDateTime>> {
    match raw {
        None => Some(None),
        Some(raw) => problems
            .check(pointer, CapturedAt::parse(raw, now))
            .map(|at| Some(at.at())),
    }
}

/// The `position` member, read with the rules of a record's position.
fn position(
    problems: &mut Problems,
    value: Option<&Value>,
    required: bool,
) -> Option<Option<fieldtrail_domain::record::Fix>> {
    let mut object = Map::new();
    if let Some(value) = value {
        object.insert("position".into(), value.clone());
    }
    match parse_position_member(&object, required) {
        Ok(fix) => Some(fix),
        Err(list) => {
            for problem in list {
                problems.push(&problem.pointer, problem.reason);
            }
            None
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBody {
    person_id: String,
    method: String,
    outcome: String,
    note: String,
    #[serde(default)]
    position: Option<Value>,
    #[serde(default)]
    captured_at: Option<String>,
}

/// `POST /v1/spot-checks/outcomes`: a check a supervisor made by phone or in person.
pub async fn record_outcome(
    state: web::Data<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<OutcomeBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&CHECKERS)?;
    let now = state.clock.now();
    let mut problems = Problems::new();
    let person = problems.check("/person_id", PersonId::parse(&body.person_id));
    let method = Method::parse(&body.method);
    if method.is_none() {
        problems.push("/method", "must be phone or in_person");
    }
    let outcome = Outcome::parse_recorded(&body.outcome);
    if outcome.is_none() {
        problems.push(
            "/outcome",
            "must be one of present, absent, on_leave, on_trip, unverifiable",
        );
    }
    let note = problems
        .check("/note", Text::parse(&body.note, 0, 2000))
        .map(|t| t.as_str().to_owned());
    // In person, the supervisor's own fix is the evidence that they were there.
    let fix = position(
        &mut problems,
        body.position.as_ref(),
        method == Some(Method::InPerson),
    );
    let captured_at = instant(
        &mut problems,
        "/captured_at",
        body.captured_at.as_deref(),
        now,
    );
    problems.finish()?;
    let (Some(person), Some(method), Some(outcome), Some(note), Some(fix), Some(captured_at)) =
        (person, method, outcome, note, fix, captured_at)
    else {
        return Err(ApiError::Internal("parsed fields missing".into()));
    };
    let answer = state
        .writer
        .record_outcome(
            principal.actor(),
            NewOutcome {
                person,
                method,
                outcome,
                note: Some(note).filter(|n| !n.is_empty()),
                fix,
                captured_at,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(answer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationBody {
    result: String,
    note: String,
    position: Option<Value>,
    captured_at: String,
    #[serde(default)]
    draw_id: Option<String>,
}

/// `POST /v1/spot-checks/households/{id}/verifications`: what a household said when a
/// supervisor knocked; `denied` contests the visits it contradicts.
pub async fn verify_household(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    JsonBody(body): JsonBody<VerificationBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&CHECKERS)?;
    let id = id.into_inner();
    let household =
        Uuid::parse_str(&id).map_err(|_| ApiError::NotFound(format!("no household {id}")))?;
    let now = state.clock.now();
    let mut problems = Problems::new();
    let result = Verification::parse(&body.result);
    if result.is_none() {
        problems.push(
            "/result",
            "must be one of confirmed, denied, not_home, unreachable",
        );
    }
    let note = problems
        .check("/note", Text::parse(&body.note, 0, 2000))
        .map(|t| t.as_str().to_owned());
    let fix = position(&mut problems, body.position.as_ref(), true).flatten();
    let captured_at =
        instant(&mut problems, "/captured_at", Some(&body.captured_at), now).flatten();
    let draw_id = match body.draw_id.as_deref() {
        None => Some(None),
        Some(raw) => match Uuid::parse_str(raw) {
            Ok(id) => Some(Some(id)),
            Err(_) => {
                problems.push("/draw_id", "must be a UUID");
                None
            }
        },
    };
    problems.finish()?;
    let (Some(result), Some(note), Some(fix), Some(captured_at), Some(draw_id)) =
        (result, note, fix, captured_at, draw_id)
    else {
        return Err(ApiError::Internal("parsed fields missing".into()));
    };
    let answer = state
        .writer
        .verify_household(
            principal.actor(),
            NewVerification {
                household,
                result,
                note: Some(note).filter(|n| !n.is_empty()),
                fix,
                captured_at,
                draw_id,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(answer))
}
