//! The monthly bulletin (逐月通报) as JSON, CSV and a spreadsheet, and publishing it: a ledger
//! entry holding the bulletin's SHA-256, so a published bulletin can later be shown unchanged.

use super::{month_param, readable_unit, today};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::handlers::read;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::compliance::bulletin::{table, Bulletin, Cell};
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::person::Role;
use fieldtrail_domain::spotcheck::Period;
use fieldtrail_domain::unit::UnitPath;
use fieldtrail_storage::models::UnitRow;
use fieldtrail_storage::writer::BulletinDraft;
use serde::Deserialize;
use sha2::{Digest, Sha256};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulletinQuery {
    month: Option<String>,
    format: Option<String>,
}

#[derive(Clone, Copy)]
enum Format {
    Json,
    Csv,
    Xlsx,
}

async fn compute(state: &AppState, unit: UnitRow, month: Period) -> Result<Bulletin, ApiError> {
    let today = today(state);
    read(&state.db, move |conn| {
        fieldtrail_storage::supervision::bulletin::bulletin(conn, &unit, month, today)
    })
    .await
}

/// The JSON document, byte for byte as answered and as hashed when published.
fn json_bytes(bulletin: &Bulletin) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(bulletin).map_err(|err| ApiError::Internal(format!("bulletin: {err}")))
}

pub async fn bulletin(
    state: web::Data<AppState>,
    principal: Principal,
    code: web::Path<String>,
    query: web::Query<BulletinQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::new();
    let month = month_param(&mut problems, "/month", query.month.as_deref());
    let format = match query.format.as_deref() {
        None | Some("json") => Some(Format::Json),
        Some("csv") => Some(Format::Csv),
        Some("xlsx") => Some(Format::Xlsx),
        Some(_) => {
            problems.push("/format", "must be json, csv or xlsx");
            None
        }
    };
    problems.finish()?;
    let (Some(month), Some(format)) = (month, format) else {
        return Err(ApiError::Internal("parsed fields missing".into()));
    };
    let unit = readable_unit(&state, &principal, &code).await?;
    let name = format!("bulletin-{}-{}", unit.code, month.label());
    let bulletin = compute(&state, unit, month).await?;
    match format {
        Format::Json => Ok(HttpResponse::Ok()
            .content_type("application/json")
            .body(json_bytes(&bulletin)?)),
        Format::Csv => Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{name}.csv\""),
            ))
            .body(csv_bytes(&bulletin)?)),
        Format::Xlsx => Ok(HttpResponse::Ok()
            .content_type(XLSX)
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{name}.xlsx\""),
            ))
            .body(xlsx_bytes(&bulletin, &month.label())?)),
    }
}

/// As county offices open CSV (crate::handlers::csv_text).
fn csv_bytes(bulletin: &Bulletin) -> Result<Vec<u8>, ApiError> {
    let failed = |err: csv::Error| ApiError::Internal(format!("bulletin csv: {err}"));
    let mut out = Vec::from(crate::handlers::csv_text::BOM.as_bytes());
    {
        let mut writer = crate::handlers::csv_text::writer(&mut out);
        for row in table(bulletin) {
            let cells: Vec<String> = row
                .into_iter()
                .map(|cell| match cell {
                    Cell::Text(text) => text,
                    Cell::Number(n) => n.to_string(),
                    Cell::Empty => String::new(),
                })
                .collect();
            writer.write_record(&cells).map_err(failed)?;
        }
        writer
            .flush()
            .map_err(|err| ApiError::Internal(format!("bulletin csv: {err}")))?;
    }
    Ok(out)
}

fn xlsx_bytes(bulletin: &Bulletin, month: &str) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{Format as CellFormat, Workbook};
    let failed =
        |err: rust_xlsxwriter::XlsxError| ApiError::Internal(format!("bulletin xlsx: {err}"));
    let mut workbook = Workbook::new();
    let bold = CellFormat::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name("通报").map_err(failed)?;
    for (r, row) in table(bulletin).into_iter().enumerate() {
        let r = u32::try_from(r).map_err(|_| ApiError::Internal("bulletin too long".into()))?;
        for (c, cell) in row.into_iter().enumerate() {
            let c = u16::try_from(c).map_err(|_| ApiError::Internal("bulletin too wide".into()))?;
            match (cell, r) {
                (Cell::Text(text), 0) => sheet.write_string_with_format(r, c, text, &bold),
                (Cell::Text(text), _) => sheet.write_string(r, c, text),
                (Cell::Number(n), _) => sheet.write_number(r, c, f64::from(n)),
                (Cell::Empty, _) => continue,
            }
            .map_err(failed)?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(failed)?;
    let title = format!("{} {month}", bulletin.unit_name);
    workbook.set_properties(&rust_xlsxwriter::DocProperties::new().set_title(title));
    workbook.save_to_buffer().map_err(failed)
}

/// `POST /v1/units/{code}/bulletins/{month}/publish`: freezes a closed month's bulletin.
pub async fn publish(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (code, raw_month) = path.into_inner();
    principal.require_role(&[Role::Supervisor, Role::Admin])?;
    let mut problems = Problems::new();
    let month = month_param(&mut problems, "/month", Some(&raw_month));
    problems.finish()?;
    let Some(month) = month else {
        return Err(ApiError::Internal("parsed month missing".into()));
    };
    let unit = readable_unit(&state, &principal, &code).await?;
    if month.last_day() >= today(&state) {
        return Err(ApiError::Conflict(format!(
            "{} has not ended: only a closed month's bulletin can be published",
            month.label()
        )));
    }
    let (unit_code, unit_path) = (unit.code.clone(), UnitPath::from_stored(unit.path.clone()));
    let bulletin = compute(&state, unit, month).await?;
    let bytes = json_bytes(&bulletin)?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let document =
        String::from_utf8(bytes).map_err(|err| ApiError::Internal(format!("bulletin: {err}")))?;
    let mut answer = state
        .writer
        .publish_bulletin(
            principal.actor(),
            BulletinDraft {
                unit_code,
                unit_path,
                month: month.label(),
                document,
                sha256,
            },
        )
        .await?;
    let created = answer["created"].as_bool().unwrap_or(false);
    if let Some(object) = answer.as_object_mut() {
        object.remove("created");
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(answer))
}

/// `GET /v1/units/{code}/bulletins/{month}`: the latest published version, byte for byte.
pub async fn published(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (code, raw_month) = path.into_inner();
    let mut problems = Problems::new();
    let month = month_param(&mut problems, "/month", Some(&raw_month));
    problems.finish()?;
    let Some(month) = month else {
        return Err(ApiError::Internal("parsed month missing".into()));
    };
    let unit = readable_unit(&state, &principal, &code).await?;
    let label = month.label();
    let key = (unit.code.clone(), label.clone());
    let found = read(&state.db, move |conn| {
        fieldtrail_storage::supervision::bulletin::published(conn, &key.0, &key.1)
    })
    .await?;
    let Some((seq, sha256, document)) = found else {
        return Err(ApiError::NotFound(format!(
            "no bulletin of {} for {label} was published",
            unit.code
        )));
    };
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("X-Bulletin-SHA256", sha256))
        .insert_header(("X-Ledger-Seq", seq.to_string()))
        .body(document))
}
