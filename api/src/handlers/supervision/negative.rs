//! The negative list (负面清单) and escalation (一次学习, 两次约谈, 三次处罚): proposals from the
//! facts, supervisors' decisions, and the actions taken.

use super::{month_param, readable_unit, today};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::handlers::people::visible_person;
use crate::handlers::read;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::compliance::negative::{ItemDecision, ItemId, Subject};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::person::{PersonId, Role};
use fieldtrail_domain::roster::{format_date, parse_date};
use fieldtrail_domain::unit::UnitPath;
use fieldtrail_storage::supervision::negative as items;
use fieldtrail_storage::writer::{EscalationActionDraft, ItemDecisionDraft};
use serde::Deserialize;
use serde_json::{json, Value};

/// Who decides items and records actions.
const DECIDERS: [Role; 2] = [Role::Supervisor, Role::Admin];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemsQuery {
    month: Option<String>,
    status: Option<String>,
}

/// `GET /v1/units/{code}/negative-items?month=&status=`.
pub async fn list(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
    query: web::Query<ItemsQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::new();
    let month = month_param(&mut problems, "/month", query.month.as_deref());
    let status = query.status.clone();
    if let Some(status) = &status {
        if !["proposed", "confirmed", "dismissed"].contains(&status.as_str()) {
            problems.push("/status", "must be proposed, confirmed or dismissed");
        }
    }
    problems.finish()?;
    let Some(month) = month else {
        return Err(ApiError::Internal("parsed month missing".into()));
    };
    let unit = readable_unit(&state, &principal, &code).await?;
    let today = today(&state);
    let unit_code = unit.code.clone();
    let mut list = read(&state.db, move |conn| {
        items::unit_items(conn, &unit, month, today)
    })
    .await?;
    if let Some(status) = status {
        list.retain(|item| item["status"] == json!(status));
    }
    Ok(HttpResponse::Ok().json(json!({
        "unit_code": unit_code,
        "month": month.label(),
        "items": list,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    decision: Value,
    #[serde(default)]
    note: Option<Value>,
}

fn note_of(problems: &mut Problems, raw: Option<&Value>) -> Option<String> {
    crate::handlers::required_text(problems, "/note", raw, (1, 2_000), "saying why")
}

/// `POST /v1/negative-items/{id}/decision {decision, note}`.
pub async fn decide(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&DECIDERS)?;
    let raw_id = id.into_inner();
    let item_id = ItemId::parse(&raw_id)
        .map_err(|_| ApiError::NotFound(format!("no negative-list item {raw_id}")))?;
    let mut problems = Problems::new();
    let decision = body.decision.as_str().and_then(ItemDecision::parse);
    if decision.is_none() {
        problems.push("/decision", "must be confirmed or dismissed");
    }
    let note = note_of(&mut problems, body.note.as_ref());
    problems.finish()?;
    let (Some(decision), Some(note)) = (decision, note) else {
        return Err(ApiError::Internal("parsed fields missing".into()));
    };
    let today = today(&state);
    let key = raw_id.clone();
    let (item, decided) = read(&state.db, move |conn| {
        Ok((
            items::find_proposal(conn, &item_id, today)?,
            items::decided(conn, &key)?,
        ))
    })
    .await?;
    if let Some(earlier) = decided {
        return Err(ApiError::Conflict(format!(
            "{raw_id} was already decided: {earlier}"
        )));
    }
    let Some(item) = item else {
        return Err(ApiError::NotFound(format!(
            "no negative-list item {raw_id}: the facts do not propose it"
        )));
    };
    if !principal.reaches(&UnitPath::from_stored(item.unit_path.clone())) {
        return Err(ApiError::forbidden());
    }
    match (&item.dispute, decision) {
        (Some((dispute, status)), _) if status == "pending" => {
            return Err(ApiError::Conflict(format!(
                "the cadre's dispute {dispute} on this fact is pending: decide the dispute first"
            )));
        }
        (Some((dispute, status)), ItemDecision::Confirmed) if status == "upheld" => {
            return Err(ApiError::Conflict(format!(
                "the cadre's dispute {dispute} on this fact was upheld: the item can only be dismissed"
            )));
        }
        _ => {}
    }
    let person = PersonId::parse(&item.person_id)
        .map_err(|_| ApiError::Internal("an item names an unreadable person".into()))?;
    let disputable = match item.id.subject {
        Subject::Result { record } => vec![record.to_string()],
        _ => Vec::new(),
    };
    let answer = state
        .writer
        .decide_item(
            principal.actor(),
            ItemDecisionDraft {
                item_id: raw_id,
                rule: item.id.rule.as_str().to_owned(),
                person,
                unit_code: item.unit_code.clone(),
                unit_path: UnitPath::from_stored(item.unit_path.clone()),
                month: item.month.clone(),
                fact_date: format_date(item.date),
                decision: decision.as_str().to_owned(),
                note,
                item: item.view(),
                disputable,
            },
        )
        .await?;
    tracing::info!(person = %principal.id, rule = item.id.rule.as_str(), decision = decision.as_str(), "negative-list item decided");
    Ok(HttpResponse::Created().json(answer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    level: Value,
    #[serde(default)]
    note: Option<Value>,
    taken_on: Value,
}

/// `POST /v1/people/{id}/escalation-actions {level, note, taken_on}`.
pub async fn record_action(
    state: web::Data<AppState>,
    principal: Principal,
    id: web::Path<String>,
    JsonBody(body): JsonBody<ActionBody>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&DECIDERS)?;
    let person = visible_person(&state, &principal, &id).await?;
    let today = today(&state);
    let person_id = person.id.clone();
    let policy = read(&state.db, move |conn| {
        items::escalation_policy(conn, &person_id, today)
    })
    .await?;
    let mut problems = Problems::new();
    let levels = policy.levels.len() as u64;
    let level = body
        .level
        .as_u64()
        .filter(|l| (1..=levels).contains(l))
        .and_then(|l| u32::try_from(l).ok());
    if level.is_none() {
        problems.push(
            "/level",
            format!("must be a level of the policy, 1 to {levels}"),
        );
    }
    let note = note_of(&mut problems, body.note.as_ref());
    let taken_on = match body.taken_on.as_str().map(parse_date) {
        Some(Ok(day)) if day <= today => Some(day),
        Some(Ok(_)) => {
            problems.push("/taken_on", "must not be in the future");
            None
        }
        _ => {
            problems.push("/taken_on", "is required, as YYYY-MM-DD");
            None
        }
    };
    problems.finish()?;
    let (Some(level), Some(note), Some(taken_on)) = (level, note, taken_on) else {
        return Err(ApiError::Internal("parsed fields missing".into()));
    };
    let name = policy.name_of(level).unwrap_or_default().to_owned();
    let person = PersonId::parse(&person.id)
        .map_err(|_| ApiError::Internal("a stored person id does not parse".into()))?;
    let answer = state
        .writer
        .escalation_action(
            principal.actor(),
            EscalationActionDraft {
                person,
                level,
                name,
                note,
                taken_on: format_date(taken_on),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(answer))
}
