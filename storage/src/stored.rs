//! How the projections store values that are richer in the domain: periods as `YYYY-MM-DD` text
//! with an open end as NULL, unit paths as `/code/code/`, policy overrides and boundaries as
//! JSON text. Both the writer (loading what it judges with) and the reads decode them here.

use crate::error::{StorageError, StorageResult};
use fieldtrail_domain::canonical::{format_utc_micros, from_unix_micros};
use fieldtrail_domain::geo::Boundary;
use fieldtrail_domain::policy::PolicyOverrides;
use fieldtrail_domain::roster::{parse_date, ValidPeriod};
use serde_json::{Map, Value};

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

/// The answer a record gets when it is stored, and every resend of it after.
pub(crate) fn record_answer(
    id: &str,
    kind: &str,
    seq: i64,
    leaf_hash_hex: String,
    received_at: &str,
    verdict: Value,
    flags: Value,
) -> Value {
    let mut answer = Map::new();
    answer.insert("id".into(), Value::from(id));
    answer.insert("kind".into(), Value::from(kind));
    answer.insert("seq".into(), Value::from(seq));
    answer.insert("leaf_index".into(), Value::from(seq - 1));
    answer.insert("leaf_hash".into(), Value::String(leaf_hash_hex));
    answer.insert("received_at".into(), Value::from(received_at));
    answer.insert("verdict".into(), verdict);
    answer.insert("flags".into(), flags);
    Value::Object(answer)
}

/// A record's answer rebuilt from its ledger entry: nothing of it is stored twice. `verdicts` is
/// the entry's `verdicts` column, `{"verdict": …, "flags": […], …}`.
pub(crate) fn stored_answer(
    id: &str,
    kind: &str,
    seq: i64,
    leaf_hash: &[u8],
    received_at: i64,
    verdicts: Option<&str>,
) -> StorageResult<Value> {
    let mut verdicts: Value = match verdicts {
        Some(text) => serde_json::from_str(text)
            .map_err(|err| StorageError::Corrupt(format!("verdicts of entry {seq}: {err}")))?,
        None => {
            return Err(StorageError::Corrupt(format!(
                "entry {seq} has no verdicts"
            )))
        }
    };
    Ok(record_answer(
        id,
        kind,
        seq,
        hex::encode(leaf_hash),
        &format_utc_micros(from_unix_micros(received_at)),
        verdicts["verdict"].take(),
        verdicts["flags"].take(),
    ))
}

/// An instant as answers show it (RFC 3339, UTC, microseconds).
pub(crate) fn instant(micros: i64) -> String {
    format_utc_micros(from_unix_micros(micros))
}

/// A JSON column as stored.
pub(crate) fn stored_json(what: &str, text: &str) -> StorageResult<Value> {
    serde_json::from_str(text).map_err(|err| StorageError::Corrupt(format!("{what}: {err}")))
}

/// `%` and `_` in a stored path are literal (codes are digits, but the path is not trusted).
pub(crate) fn like_escape(path: &str) -> String {
    path.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
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
