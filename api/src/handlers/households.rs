use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::handlers::parse_position;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::person::Role;
use fieldtrail_domain::unit::UnitCode;
use fieldtrail_storage::writer::NewHousehold;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateHousehold {
    unit_code: String,
    head_name: String,
    members: i64,
    location: Location,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    lon: f64,
    lat: f64,
}

pub async fn create(
    state: web::Data<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<CreateHousehold>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin])?;
    let mut problems = Problems::new();
    let unit_code = problems.check("/unit_code", UnitCode::parse(&body.unit_code));
    let head_name =
        fieldtrail_domain::names::plain_name(&body.head_name, 100).unwrap_or_else(|| {
            problems.push(
                "/head_name",
                "head_name must be 1 to 100 characters, without control characters or line breaks",
            );
            String::new()
        });
    let members = problems.check(
        "/members",
        u16::try_from(body.members)
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or("members must be a whole number from 1 to 100"),
    );
    let location = parse_position(
        &mut problems,
        "/location",
        body.location.lon,
        body.location.lat,
    );
    problems.finish()?;
    let (Some(unit_code), Some(members), Some(location)) = (unit_code, members, location) else {
        return Err(ApiError::Internal("parsed fields missing".into()));
    };
    let actor = principal.actor();
    let view = state
        .writer
        .create_household(
            actor,
            NewHousehold {
                unit_code,
                head_name,
                members,
                location,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(view))
}
