use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::handlers::parse_period;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::person::{PersonId, Role};
use fieldtrail_storage::writer::NewPairing;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePairing {
    person_id: String,
    household_id: String,
    valid_from: String,
    #[serde(default)]
    valid_to: Option<String>,
}

/// Pairs a cadre with a household (结对帮扶), within the policy's per-cadre limit.
pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<CreatePairing>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin])?;
    let mut problems = Problems::new();
    let person_id = problems.check("/person_id", PersonId::parse(&body.person_id));
    let household_id = problems.check(
        "/household_id",
        Uuid::parse_str(&body.household_id).map_err(|_| "must be a UUID"),
    );
    let period = parse_period(&mut problems, &body.valid_from, body.valid_to.as_deref());
    problems.finish()?;
    let (Some(person_id), Some(household_id), Some(period)) = (person_id, household_id, period)
    else {
        return Err(ApiError::Internal("parsed fields missing".into()));
    };
    let created = state
        .writer
        .create_pairing(
            principal.actor(),
            NewPairing {
                person_id,
                household_id,
                period,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(created))
}
