//! `POST /v1/roster/import` and `GET /v1/roster/template` (docs/roster.md).

use crate::auth::{hash_password, Principal};
use crate::error::ApiError;
use crate::handlers::read;
use crate::roster_sheet::{read_grid, template_csv, template_xlsx, SheetFormat};
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use fieldtrail_domain::person::Role;
use fieldtrail_domain::roster_sheet::parse_sheet;
use fieldtrail_storage::writer::RosterImport;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    dry_run: Option<String>,
}

pub async fn import(
    state: web::Data<AppState>,
    principal: Principal,
    req: HttpRequest,
    query: web::Query<ImportQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Admin])?;
    let dry_run = match query.dry_run.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::Invalid(vec![
                fieldtrail_domain::FieldProblem::new("/dry_run", "must be true or false"),
            ]))
        }
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let format = SheetFormat::of_content_type(content_type).ok_or_else(|| {
        ApiError::UnsupportedMediaType(
            "send the roster as text/csv or as application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                .into(),
        )
    })?;
    let sheet = web::block(move || {
        let grid = read_grid(format, &body)?;
        parse_sheet(&grid).map_err(ApiError::Invalid)
    })
    .await??;

    // Only new people's initial passwords are hashed (slow on purpose), and none on a dry run.
    let usernames: Vec<String> = sheet
        .people
        .iter()
        .map(|p| p.username.0.as_str().to_owned())
        .collect();
    let existing = read(&state.db, move |conn| {
        fieldtrail_storage::roster_reads::existing_usernames(conn, &usernames)
    })
    .await?;
    let to_hash: Vec<(usize, String)> = sheet
        .people
        .iter()
        .filter(|p| !existing.contains(p.username.0.as_str()))
        .filter_map(|p| {
            p.password
                .as_ref()
                .map(|pw| (p.row, pw.expose().to_owned()))
        })
        .collect();
    let password_hashes: HashMap<usize, String> = if dry_run {
        to_hash
            .into_iter()
            .map(|(row, _)| (row, String::new()))
            .collect()
    } else {
        web::block(move || {
            to_hash
                .into_iter()
                .map(|(row, password)| Ok((row, hash_password(&password)?)))
                .collect::<Result<HashMap<_, _>, ApiError>>()
        })
        .await??
    };
    let answer = state
        .writer
        .import_roster(
            principal.actor(),
            RosterImport {
                sheet,
                password_hashes,
                dry_run,
            },
        )
        .await?;
    tracing::info!(by = %principal.id, dry_run, "roster imported");
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateQuery {
    format: Option<String>,
}

pub async fn template(
    _principal: Principal,
    query: web::Query<TemplateQuery>,
) -> Result<HttpResponse, ApiError> {
    let (bytes, content_type, name) = match query.format.as_deref().unwrap_or("xlsx") {
        "csv" => (
            template_csv()?,
            "text/csv; charset=utf-8",
            "roster-template.csv",
        ),
        "xlsx" => (
            template_xlsx()?,
            crate::roster_sheet::XLSX_TYPE,
            "roster-template.xlsx",
        ),
        _ => {
            return Err(ApiError::Invalid(vec![
                fieldtrail_domain::FieldProblem::new("/format", "must be csv or xlsx"),
            ]))
        }
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(bytes))
}
