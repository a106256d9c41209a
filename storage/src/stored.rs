//! How the projections store values that are richer in the domain: periods as `YYYY-MM-DD` text
//! with an open end as NULL, unit paths as `/code/code/`, policy overrides and boundaries as
//! JSON text. Both the writer (loading what it judges with) and the reads decode them here.

use crate::error::{StorageError, StorageResult};
use fieldtrail_domain::geo::Boundary;
use fieldtrail_domain::policy::PolicyOverrides;
use fieldtrail_domain::roster::{parse_date, ValidPeriod};
use serde_json::Value;

/// A period as the projections store it; None if unreadable.
pub(crate) fn stored_period(from: &str, to: Option<&str>) -> Option<ValidPeriod> {
    let from = parse_date(from).ok()?;
    let to = to.map(parse_date).transpose().ok()?;
    ValidPeriod::new(from, to).ok()
}

/// The unit codes from the root down to the unit with this stored path.
pub(crate) fn path_codes(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|code| !code.is_empty())
}

/// A unit's own policy overrides as stored in `policies.body`.
pub(crate) fn stored_overrides(body: &str) -> StorageResult<PolicyOverrides> {
    let value: Value = serde_json::from_str(body)
        .map_err(|err| StorageError::Corrupt(format!("stored policy: {err}")))?;
    PolicyOverrides::parse(&value)
        .map_err(|_| StorageError::Corrupt("a stored policy no longer parses".into()))
}

/// A unit's boundary as stored in `units.boundary` (GeoJSON text), if it has one.
pub(crate) fn stored_boundary(code: &str, text: Option<&str>) -> StorageResult<Option<Boundary>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let value: Value = serde_json::from_str(text)
        .map_err(|err| StorageError::Corrupt(format!("boundary of {code}: {err}")))?;
    Boundary::from_geojson(&value)
        .map_err(|_| StorageError::Corrupt(format!("boundary of {code} does not parse")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_decode_with_open_ends_and_refuse_garbage() {
        let open = stored_period("2026-01-01", None).unwrap();
        assert!(open.to().is_none());
        let closed = stored_period("2026-01-01", Some("2026-03-31")).unwrap();
        assert_eq!(
            closed.to().map(|d| d.to_string()),
            Some("2026-03-31".into())
        );
        assert!(stored_period("2026-13-01", None).is_none());
        assert!(stored_period("2026-03-01", Some("2026-02-01")).is_none());
    }

    #[test]
    fn paths_split_into_codes_root_first() {
        let codes: Vec<&str> = path_codes("/341322/341322100/").collect();
        assert_eq!(codes, ["341322", "341322100"]);
        assert_eq!(path_codes("/").count(), 0);
    }
}
