//! One module per resource, one function per action.

pub mod alerts;
pub mod assignments;
pub mod attachments;
pub mod audits;
pub mod auth;
pub mod challenges;
pub mod csv_text;
pub mod decisions;
pub mod exports;
pub mod health;
pub mod households;
pub mod ledger;
pub mod lifecycle;
pub mod paging;
pub mod pairings;
pub mod people;
pub mod records;
pub mod roster_import;
pub mod roster_lists;
pub mod spot_checks;
pub mod supervision;
pub mod units;
pub mod webhooks;

use crate::error::ApiError;
use fieldtrail_storage::{Database, DbConnection, StorageResult};

/// Runs a read on a pooled connection off the async workers.
pub async fn read<T, F>(db: &Database, query: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> StorageResult<T> + Send + 'static,
{
    let db = db.clone();
    Ok(actix_web::web::block(move || {
        let mut conn = db.conn()?;
        query(&mut conn)
    })
    .await??)
}

/// The unit with this code, if the caller's scope holds it: 404 when unknown, 403 outside.
pub(crate) async fn unit_in_scope(
    state: &crate::state::AppState,
    principal: &crate::auth::Principal,
    code: &str,
) -> Result<fieldtrail_storage::models::UnitRow, ApiError> {
    let wanted = code.to_owned();
    let row = read(&state.db, move |conn| {
        fieldtrail_storage::reads::unit(conn, &wanted)
    })
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("no unit {code}")))?;
    let path = fieldtrail_domain::unit::UnitPath::from_stored(row.path.clone());
    if principal.reaches(&path) {
        Ok(row)
    } else {
        Err(ApiError::Forbidden(format!(
            "unit {code} is outside your scope"
        )))
    }
}

/// A required text field of `min` to `max` characters; `what` tells a client what belongs in it
/// when it is missing.
pub fn required_text(
    problems: &mut fieldtrail_domain::error::Problems,
    pointer: &str,
    raw: Option<&serde_json::Value>,
    (min, max): (usize, usize),
    what: &str,
) -> Option<String> {
    match raw.and_then(serde_json::Value::as_str) {
        Some(text) => problems
            .check(
                pointer,
                fieldtrail_domain::record::Text::parse(text, min, max),
            )
            .map(|t| t.as_str().to_owned()),
        None => {
            problems.push(
                pointer,
                format!("is required: {min} to {max} characters {what}"),
            );
            None
        }
    }
}

/// Parses a position, naming `…/lon` or `…/lat` in the problem rather than the whole object.
pub fn parse_position(
    problems: &mut fieldtrail_domain::error::Problems,
    prefix: &str,
    lon: f64,
    lat: f64,
) -> Option<fieldtrail_domain::geo::Position> {
    use fieldtrail_domain::geo::Position;
    let lon_ok = problems
        .check(&format!("{prefix}/lon"), Position::parse(lon, 0.0))
        .is_some();
    let lat_ok = problems
        .check(&format!("{prefix}/lat"), Position::parse(0.0, lat))
        .is_some();
    if lon_ok && lat_ok {
        Position::parse(lon, lat).ok()
    } else {
        None
    }
}

/// Parses `valid_from`/`valid_to` into a period, naming `/valid_from` or `/valid_to` in problems.
pub fn parse_period(
    problems: &mut fieldtrail_domain::error::Problems,
    valid_from: &str,
    valid_to: Option<&str>,
) -> Option<fieldtrail_domain::roster::ValidPeriod> {
    use fieldtrail_domain::roster::{parse_date, ValidPeriod};
    let from = problems.check("/valid_from", parse_date(valid_from));
    let to = problems.check("/valid_to", valid_to.map(parse_date).transpose());
    problems.check("/valid_to", ValidPeriod::new(from?, to?))
}
