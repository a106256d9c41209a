use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::handlers::read;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::geo::{Boundary, ToleranceMeters};
use fieldtrail_domain::person::Role;
use fieldtrail_domain::unit::{UnitCode, UnitLevel, UnitName, UnitPath};
use fieldtrail_storage::models::{UnitRow, UnitSummary, UnitView};
use fieldtrail_storage::writer::NewUnit;
use serde::Deserialize;
use serde_json::{json, Value};

/// A GeoJSON FeatureCollection. Members GIS tools add (crs, name, bbox, extra properties) are
/// ignored rather than refused, so exports can be imported as they are.
#[derive(Deserialize)]
pub struct FeatureCollection {
    #[serde(rename = "type")]
    kind: String,
    features: Vec<Feature>,
}

#[derive(Deserialize)]
pub struct Feature {
    #[serde(rename = "type")]
    kind: String,
    properties: UnitProperties,
    #[serde(default)]
    geometry: Value,
}

#[derive(Deserialize)]
pub struct UnitProperties {
    code: String,
    name: String,
    level: String,
    #[serde(default)]
    parent_code: Option<String>,
    #[serde(default)]
    tolerance_m: Option<f64>,
}

/// Parses every feature, collecting every problem with its feature index.
fn parse_features(collection: FeatureCollection) -> Result<Vec<NewUnit>, ApiError> {
    let mut problems = Problems::new();
    if collection.kind != "FeatureCollection" {
        problems.push("/type", "must be FeatureCollection");
    }
    if collection.features.is_empty() {
        problems.push("/features", "must contain at least one feature");
    }
    let mut units = Vec::with_capacity(collection.features.len());
    for (index, feature) in collection.features.into_iter().enumerate() {
        let at = format!("/features/{index}");
        if feature.kind != "Feature" {
            problems.push(format!("{at}/type"), "must be Feature");
        }
        let props = feature.properties;
        let code = problems.check(
            &format!("{at}/properties/code"),
            UnitCode::parse(&props.code),
        );
        let name = problems.check(
            &format!("{at}/properties/name"),
            UnitName::parse(&props.name),
        );
        let level = problems.check(
            &format!("{at}/properties/level"),
            UnitLevel::parse(&props.level),
        );
        let parent_code = match props.parent_code.as_deref() {
            None => Some(None),
            Some(raw) => problems
                .check(
                    &format!("{at}/properties/parent_code"),
                    UnitCode::parse(raw),
                )
                .map(Some),
        };
        let tolerance = problems.check(
            &format!("{at}/properties/tolerance_m"),
            ToleranceMeters::parse(props.tolerance_m.unwrap_or(0.0)),
        );
        let boundary = match Boundary::from_geojson(&feature.geometry) {
            Ok(boundary) => Some(boundary),
            Err(geometry_problems) => {
                problems.extend(geometry_problems.into_iter().map(|p| {
                    fieldtrail_domain::FieldProblem::new(
                        format!("{at}/geometry{}", p.pointer),
                        p.reason,
                    )
                }));
                None
            }
        };
        if let (
            Some(code),
            Some(name),
            Some(level),
            Some(parent_code),
            Some(tolerance),
            Some(boundary),
        ) = (code, name, level, parent_code, tolerance, boundary)
        {
            units.push(NewUnit {
                pointer: at,
                code,
                name,
                level,
                parent_code,
                boundary,
                tolerance,
            });
        }
    }
    problems.finish()?;
    Ok(units)
}

pub async fn import(
    state: web::Data<AppState>,
    principal: Principal,
    JsonBody(collection): JsonBody<FeatureCollection>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin])?;
    let units = parse_features(collection)?;
    let actor = principal.actor();
    let imported = state.writer.import_units(actor, units).await?;
    tracing::info!(person = %principal.id, units = imported.len(), "units imported");
    Ok(HttpResponse::Created().json(json!({
        "imported": imported.len(),
        "units": imported,
    })))
}

/// Units are visible inside the caller's scope and along the path above it (a cadre sees the
/// names of their township and county, not their neighbours' villages).
fn visible_unit(principal: &Principal, row: &UnitRow) -> bool {
    let path = UnitPath::from_stored(row.path.clone());
    principal.reaches(&path) || path.contains(&principal.scope)
}

async fn visible(
    state: &AppState,
    principal: &Principal,
    code: String,
) -> Result<UnitRow, ApiError> {
    let wanted = code.clone();
    let row = read(&state.db, move |conn| {
        fieldtrail_storage::reads::unit(conn, &wanted)
    })
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("no unit {code}")))?;
    if visible_unit(principal, &row) {
        Ok(row)
    } else {
        Err(ApiError::forbidden())
    }
}

pub async fn get(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = visible(&state, &principal, code.into_inner()).await?;
    Ok(HttpResponse::Ok().json(UnitView::from(row)))
}

pub async fn children(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = visible(&state, &principal, code.into_inner()).await?;
    let parent = row.code.clone();
    let children: Vec<UnitRow> = read(&state.db, move |conn| {
        fieldtrail_storage::reads::children(conn, &parent)
    })
    .await?;
    // Listing a unit above one's scope shows only the branch leading to it, not the neighbours.
    let items: Vec<UnitSummary> = children
        .into_iter()
        .filter(|child| visible_unit(&principal, child))
        .map(UnitSummary::from)
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// The effective policy of a unit and where each value comes from.
pub async fn get_policy(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = visible(&state, &principal, code.into_inner()).await?;
    let view = read(&state.db, move |conn| {
        fieldtrail_storage::reads::policy_view(conn, &row.code)
    })
    .await?
    .ok_or_else(|| ApiError::NotFound("the unit is gone".into()))?;
    Ok(HttpResponse::Ok().json(view))
}

/// Replaces a unit's own policy overrides (`{}` clears them); a versioned ledger entry.
pub async fn put_policy(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin])?;
    let code = code.into_inner();
    let unit = UnitCode::parse(&code).map_err(|_| ApiError::NotFound(format!("no unit {code}")))?;
    let overrides =
        fieldtrail_domain::policy::PolicyOverrides::parse(&body).map_err(ApiError::Invalid)?;
    let view = state
        .writer
        .set_policy(principal.actor(), unit, overrides)
        .await?;
    tracing::info!(person = %principal.id, unit = %code, "policy set");
    Ok(HttpResponse::Ok().json(view))
}
