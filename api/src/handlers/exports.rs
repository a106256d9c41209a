//! `GET /v1/units/{code}/records/export?from=&to=&kind=&format=csv|geojson|ndjson`: every record
//! in scope with its verdict, flags, seq and leaf index, streamed (docs/exports.md). A reader
//! thread pages through the records in seq order and hands each page to the response through a
//! small bounded channel, so memory stays flat however large the export.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::handlers::supervision::readable_unit;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use bytes::Bytes;
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::record::RecordKind;
use fieldtrail_domain::roster::{day_start_micros, parse_date};
use fieldtrail_storage::exports::{page, ExportFilter, ExportRow, CSV_HEADER};
use serde::Deserialize;
use serde_json::json;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Records read per page.
const PAGE: i64 = 1_000;
/// Pages in flight between the reader and the client: the bound on what an export holds.
const IN_FLIGHT: usize = 4;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
    kind: Option<String>,
    format: Option<String>,
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    GeoJson,
    NdJson,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::GeoJson => "application/geo+json",
            Format::NdJson => "application/x-ndjson",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::GeoJson => "geojson",
            Format::NdJson => "ndjson",
        }
    }

    /// What comes before the first record.
    fn head(self) -> Vec<u8> {
        match self {
            Format::Csv => {
                let mut out = Vec::from(crate::handlers::csv_text::BOM.as_bytes());
                out.extend(csv_line(
                    CSV_HEADER.iter().map(|h| (*h).to_owned()).collect(),
                ));
                out
            }
            Format::GeoJson => br#"{"type":"FeatureCollection","features":["#.to_vec(),
            Format::NdJson => Vec::new(),
        }
    }

    fn tail(self) -> Vec<u8> {
        match self {
            Format::GeoJson => b"]}\n".to_vec(),
            _ => Vec::new(),
        }
    }

    fn line(self, row: &ExportRow, first: bool, out: &mut Vec<u8>) {
        match self {
            Format::Csv => out.extend(csv_line(row.csv_fields())),
            Format::NdJson => {
                let mut value = row.properties();
                value["position"] = row.position.map_or(
                    json!(null),
                    |(lon, lat, accuracy)| json!({"lon": lon, "lat": lat, "accuracy_m": accuracy}),
                );
                out.extend(value.to_string().as_bytes());
                out.push(b'\n');
            }
            Format::GeoJson => {
                if !first {
                    out.push(b',');
                }
                let mut properties = row.properties();
                // Records without a position are features with a null geometry (RFC 7946 §3.2).
                let geometry = row.position.map_or(json!(null), |(lon, lat, accuracy)| {
                    properties["accuracy_m"] = json!(accuracy);
                    json!({"type": "Point", "coordinates": [lon, lat]})
                });
                let feature = json!({
                    "type": "Feature",
                    "id": row.id,
                    "geometry": geometry,
                    "properties": properties,
                });
                out.extend(feature.to_string().as_bytes());
            }
        }
    }
}

fn csv_line(fields: Vec<String>) -> Vec<u8> {
    let mut writer = crate::handlers::csv_text::writer(Vec::new());
    // Writing to memory cannot fail; a failure would leave the line out, never a half line.
    if writer.write_record(&fields).is_err() {
        return Vec::new();
    }
    writer.into_inner().unwrap_or_default()
}

/// The response body: the pages the reader thread sends.
struct Pages(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for Pages {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

pub async fn export(
    state: web::Data<AppState>,
    principal: Principal,
    req: actix_web::HttpRequest,
    code: web::Path<String>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let mut problems = Problems::new();
    let mut day = |pointer: &str, raw: Option<&str>| {
        raw.and_then(|raw| problems.check(pointer, parse_date(raw)))
    };
    let from = day("/from", query.from.as_deref());
    let to = day("/to", query.to.as_deref());
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            problems.push("/to", "must not be before from");
        }
    }
    let kind = match query.kind.as_deref() {
        None => None,
        Some(raw) => problems
            .check("/kind", RecordKind::parse(raw))
            .map(|k| k.as_str().to_owned()),
    };
    let format = match query.format.as_deref() {
        None | Some("ndjson") => Some(Format::NdJson),
        Some("csv") => Some(Format::Csv),
        Some("geojson") => Some(Format::GeoJson),
        Some(_) => {
            problems.push("/format", "must be csv, geojson or ndjson");
            None
        }
    };
    problems.finish()?;
    let Some(format) = format else {
        return Err(ApiError::Internal("parsed format missing".into()));
    };
    let unit = readable_unit(&state, &principal, &code).await?;
    crate::audit::audit_read(
        &state,
        &principal,
        &req,
        crate::audit::Subject {
            person: None,
            unit_code: Some(&unit.code),
            path: &unit.path,
            what: "export",
        },
    )
    .await?;
    let filter = ExportFilter {
        path: unit.path.clone(),
        start: from.map(day_start_micros),
        end: to.and_then(|d| d.next_day()).map(day_start_micros),
        kind,
    };
    let (sender, receiver) = mpsc::channel(IN_FLIGHT);
    let db = state.db.clone();
    tracing::info!(person = %principal.id, unit = %unit.code, "records export");
    tokio::task::spawn_blocking(move || {
        let send = |bytes: Vec<u8>| sender.blocking_send(Ok(Bytes::from(bytes))).is_ok();
        let mut conn = match db.conn() {
            Ok(conn) => conn,
            Err(err) => {
                tracing::error!(error = %err, "export: no database connection");
                let _ = sender.blocking_send(Err(std::io::Error::other("database unavailable")));
                return;
            }
        };
        if !send(format.head()) {
            return;
        }
        let mut after = 0;
        let mut first = true;
        loop {
            let rows = match page(&mut conn, &filter, after, PAGE) {
                Ok(rows) => rows,
                Err(err) => {
                    // The status is sent already: cutting the stream short is how the client
                    // learns (a CSV or NDJSON without its end, a GeoJSON that does not parse).
                    tracing::error!(error = %err, "export: a page failed");
                    let _ = sender.blocking_send(Err(std::io::Error::other("export failed")));
                    return;
                }
            };
            let Some(last) = rows.last() else { break };
            after = last.seq;
            let mut out = Vec::with_capacity(rows.len() * 256);
            for row in &rows {
                format.line(row, first, &mut out);
                first = false;
            }
            // The client went away: stop reading.
            if !send(out) {
                return;
            }
            if rows.len() < PAGE as usize {
                break;
            }
        }
        send(format.tail());
    });
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"records-{}.{}\"",
                unit.code,
                format.extension()
            ),
        ))
        .streaming(Pages(receiver)))
}
