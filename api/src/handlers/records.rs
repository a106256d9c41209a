use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::handlers::people::may_see_person;
use crate::handlers::{parse_position, read};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::geo::AccuracyMeters;
use fieldtrail_domain::person::{PersonId, Role};
use fieldtrail_domain::record::{
    CapturedAt, Crs, DeviceId, Fix, Note, RecordError, RecordKind, RecordSubmission,
};
use fieldtrail_domain::unit::UnitPath;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRecord {
    id: String,
    kind: String,
    captured_at: String,
    position: PositionInput,
    device_id: String,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionInput {
    lon: f64,
    lat: f64,
    accuracy_m: f64,
    #[serde(default)]
    crs: Option<String>,
}

fn parse_submission(body: SubmitRecord, now: OffsetDateTime) -> Result<RecordSubmission, ApiError> {
    let mut problems = Problems::new();
    let id = problems.check(
        "/id",
        Uuid::parse_str(&body.id).map_err(|_| RecordError::BadId),
    );
    let kind = problems.check("/kind", RecordKind::parse(&body.kind));
    let captured_at = problems.check("/captured_at", CapturedAt::parse(&body.captured_at, now));
    let position = parse_position(
        &mut problems,
        "/position",
        body.position.lon,
        body.position.lat,
    );
    let accuracy = problems.check(
        "/position/accuracy_m",
        AccuracyMeters::parse(body.position.accuracy_m),
    );
    let crs = problems.check(
        "/position/crs",
        Crs::parse(body.position.crs.as_deref().unwrap_or("wgs84")),
    );
    let device_id = problems.check("/device_id", DeviceId::parse(&body.device_id));
    let note = match body.note.as_deref() {
        None => Some(None),
        Some(raw) => problems.check("/note", Note::parse(raw)).map(Some),
    };
    problems.finish()?;
    match (
        id,
        kind,
        captured_at,
        position,
        accuracy,
        crs,
        device_id,
        note,
    ) {
        (
            Some(id),
            Some(kind),
            Some(captured_at),
            Some(position),
            Some(accuracy),
            Some(crs),
            Some(device_id),
            Some(note),
        ) => Ok(RecordSubmission {
            id,
            kind,
            captured_at,
            fix: Fix {
                position,
                accuracy,
                crs,
            },
            device_id,
            note,
        }),
        _ => Err(ApiError::Internal("parsed fields missing".into())),
    }
}

/// A cadre submits one of their own records. Records outside the village or off the roster are
/// stored with their verdicts, never refused; a resent record gets its original answer.
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<SubmitRecord>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Cadre])?;
    let submission = parse_submission(body, OffsetDateTime::now_utc())?;
    let outcome = state.writer.append_record(principal.id, submission).await?;
    let mut response = if outcome.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(outcome.response))
}

pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let not_found = || ApiError::NotFound(format!("no record {id}"));
    let record_id = Uuid::parse_str(&id).map_err(|_| not_found())?.to_string();
    let record = read(&state.db, move |conn| {
        let Some(record) = fieldtrail_storage::reads::record(conn, &record_id)? else {
            return Ok(None);
        };
        let owner = fieldtrail_storage::reads::person(conn, &record.person_id)?;
        Ok(Some((record, owner)))
    })
    .await?
    .ok_or_else(not_found)?;
    let (record, owner) = record;
    let owner_id = PersonId::parse(&record.person_id)
        .map_err(|_| ApiError::Internal("stored person id".into()))?;
    let owner_path = owner
        .map(|o| o.unit_path)
        .unwrap_or_else(|| UnitPath::whole_tree().as_str().to_owned());
    if !may_see_person(&principal, owner_id, &owner_path) {
        return Err(ApiError::forbidden());
    }
    Ok(HttpResponse::Ok().json(record.view))
}
