//! What inspectors and county offices read (docs/supervision.md): compliance, the monthly
//! bulletin, the negative list and escalation, and a cadre's archive.

pub mod archive;
pub mod bulletin;
pub mod compliance;
pub mod negative;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::handlers::spot_checks::READERS;
use crate::state::AppState;
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::roster::county_date;
use fieldtrail_domain::spotcheck::Period;
use fieldtrail_storage::models::UnitRow;
use time::Date;

/// The unit asked about, if the caller may read it: 404 when unknown, 403 outside their scope.
pub(crate) async fn readable_unit(
    state: &AppState,
    principal: &Principal,
    code: &str,
) -> Result<UnitRow, ApiError> {
    principal.require_role(&READERS)?;
    crate::handlers::unit_in_scope(state, principal, code).await
}

/// The county day it is now, by the server's clock.
pub(crate) fn today(state: &AppState) -> Date {
    county_date(state.clock.now())
}

/// A required month parameter, `YYYY-MM`.
pub(crate) fn month_param(
    problems: &mut Problems,
    pointer: &str,
    raw: Option<&str>,
) -> Option<Period> {
    match raw.map(Period::parse) {
        None => {
            problems.push(pointer, "is required, as YYYY-MM");
            None
        }
        Some(Ok(month @ Period::Month { .. })) => Some(month),
        Some(_) => {
            problems.push(pointer, "must be a month as YYYY-MM, e.g. 2026-11");
            None
        }
    }
}

/// The month after `month`.
pub(crate) fn next_month(month: Period) -> Option<Period> {
    month.last_day().next_day().map(Period::month_of)
}
