use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::handlers::people::may_see_person;
use crate::handlers::read;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::canonical::parse_rfc3339;
use fieldtrail_domain::person::{PersonId, Role};
use fieldtrail_domain::record::{RecordKind, RecordSubmission};
use fieldtrail_domain::submission::{parse_record, record_id};
use fieldtrail_domain::unit::UnitPath;
use fieldtrail_storage::writer::{BatchItem, RecordOutcome, Submitter};
use fieldtrail_storage::StorageResult;
use serde_json::{json, Value};
use uuid::Uuid;

/// Records one batch may carry; more is refused whole.
pub const MAX_BATCH: usize = 500;

/// Cadres send their own records; supervisors and admins keep the duty rota.
fn may_submit(principal: &Principal, kind: RecordKind) -> Result<(), ApiError> {
    if kind.is_staff_record() {
        principal.require_role(&[Role::Supervisor, Role::Admin])
    } else {
        principal.require_role(&[Role::Cadre])
    }
}

fn submitter(principal: &Principal) -> Submitter {
    Submitter {
        person: principal.id,
        scope: principal.scope.clone(),
    }
}

fn answer(outcome: RecordOutcome) -> HttpResponse {
    let mut response = if outcome.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    response.json(&*outcome.response)
}

/// One record. Records outside the village or off the roster are stored with their verdicts,
/// never refused; a resent record gets its original answer.
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let submission = parse_record(&body, "", state.clock.now()).map_err(ApiError::Invalid)?;
    may_submit(&principal, submission.kind)?;
    let outcome = state
        .writer
        .append_record(submitter(&principal), submission)
        .await?;
    Ok(answer(outcome))
}

/// Offline sync: up to 500 records, each answered on its own, in request order.
pub async fn batch(
    state: web::Data<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let Some(object) = body.as_object() else {
        return Err(ApiError::Invalid(vec![
            fieldtrail_domain::FieldProblem::new(
                "",
                "a batch must be a JSON object {records: [...]}",
            ),
        ]));
    };
    if let Some(unknown) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "records" | "sent_at"))
    {
        return Err(ApiError::Invalid(vec![
            fieldtrail_domain::FieldProblem::new(format!("/{unknown}"), "unknown field"),
        ]));
    }
    let Some(records) = object.get("records").and_then(Value::as_array) else {
        return Err(ApiError::Invalid(vec![
            fieldtrail_domain::FieldProblem::new("/records", "must be an array of records"),
        ]));
    };
    if records.len() > MAX_BATCH {
        return Err(ApiError::PayloadTooLarge(format!(
            "a batch holds at most {MAX_BATCH} records; this one has {}",
            records.len()
        )));
    }
    let batch_sent_at = match object.get("sent_at") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_str()
                .and_then(|raw| parse_rfc3339(raw).ok())
                .ok_or_else(|| {
                    ApiError::Invalid(vec![fieldtrail_domain::FieldProblem::new(
                        "/sent_at",
                        "must be an RFC 3339 timestamp with an offset",
                    )])
                })?,
        ),
    };
    let now = state.clock.now();
    let mut results: Vec<Option<Value>> = vec![None; records.len()];
    let mut items = Vec::new();
    for (index, value) in records.iter().enumerate() {
        let pointer = format!("/records/{index}");
        let parsed = parse_record(value, &pointer, now)
            .map_err(ApiError::Invalid)
            .and_then(|submission: RecordSubmission| {
                may_submit(&principal, submission.kind)?;
                Ok(submission)
            });
        match parsed {
            Ok(mut submission) => {
                if submission.sent_at.is_none() {
                    submission.sent_at = batch_sent_at;
                }
                items.push(BatchItem {
                    index,
                    pointer,
                    submission,
                });
            }
            Err(err) => results[index] = Some(item_problem(record_id(value), &err)),
        }
    }
    let mut ids: Vec<Option<Uuid>> = vec![None; records.len()];
    for item in &items {
        ids[item.index] = Some(item.submission.id);
    }
    let stored = state
        .writer
        .append_batch(submitter(&principal), items)
        .await?;
    for (index, result) in stored {
        results[index] = Some(item_result(ids[index], result));
    }
    let results: Vec<Value> = results
        .into_iter()
        .map(|r| r.unwrap_or(Value::Null))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "results": results })))
}

fn item_problem(id: Option<Uuid>, err: &ApiError) -> Value {
    use actix_web::ResponseError;
    json!({
        "id": id.map(|id| id.to_string()),
        "status": err.status_code().as_u16(),
        "problem": err.problem(),
    })
}

fn item_result(id: Option<Uuid>, result: StorageResult<RecordOutcome>) -> Value {
    match result {
        Ok(outcome) => json!({
            "id": id.map(|id| id.to_string()),
            "status": if outcome.created { 201 } else { 200 },
            "body": &*outcome.response,
        }),
        Err(err) => item_problem(id, &ApiError::from(err)),
    }
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
