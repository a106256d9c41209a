use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::handlers::parse_period;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::person::{PersonId, Role};
use fieldtrail_domain::roster::AssignmentRole;
use fieldtrail_domain::unit::UnitCode;
use fieldtrail_storage::writer::NewAssignment;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAssignment {
    person_id: String,
    unit_code: String,
    role: String,
    valid_from: String,
    #[serde(default)]
    valid_to: Option<String>,
}

pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<CreateAssignment>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin])?;
    let mut problems = Problems::new();
    let person_id = problems.check("/person_id", PersonId::parse(&body.person_id));
    let unit_code = problems.check("/unit_code", UnitCode::parse(&body.unit_code));
    let role = problems.check("/role", AssignmentRole::parse(&body.role));
    let period = parse_period(&mut problems, &body.valid_from, body.valid_to.as_deref());
    problems.finish()?;
    let (Some(person_id), Some(unit_code), Some(role), Some(period)) =
        (person_id, unit_code, role, period)
    else {
        return Err(ApiError::Internal("parsed fields missing".into()));
    };
    let actor = principal.actor();
    let view = state
        .writer
        .create_assignment(
            actor,
            NewAssignment {
                person_id,
                unit_code,
                role,
                period,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(view))
}
