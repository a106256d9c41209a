use crate::geo::{
    judge, AccuracyMeters, GeoVerdict, Position, ToleranceMeters, UnitIndex, UnitShape,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// How far ahead of the server a phone's clock may put captured_at before the record is refused.
pub const MAX_CLOCK_AHEAD: Duration = Duration::minutes(5);

/// Fixes less precise than this are stored but cannot prove presence (policy default).
pub const DEFAULT_ACCURACY_LIMIT_M: f64 = 500.0;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RecordError {
    #[error("must be a UUID")]
    BadId,
    #[error("kind must be one of check_in, check_out")]
    BadKind,
    #[error("must be an RFC 3339 timestamp with an offset, e.g. 2026-11-23T08:30:00+08:00")]
    BadTime,
    #[error("is more than 5 minutes ahead of the server clock")]
    InFuture,
    #[error("device_id must be 1 to 128 printable characters")]
    BadDeviceId,
    #[error("note must be at most 2000 characters")]
    NoteTooLong,
    #[error("crs must be wgs84")]
    BadCrs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    CheckIn,
    CheckOut,
}

impl RecordKind {
    pub fn parse(raw: &str) -> Result<Self, RecordError> {
        match raw {
            "check_in" => Ok(RecordKind::CheckIn),
            "check_out" => Ok(RecordKind::CheckOut),
            _ => Err(RecordError::BadKind),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::CheckIn => "check_in",
            RecordKind::CheckOut => "check_out",
        }
    }
}

/// The coordinate reference system a phone reported its fix in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Crs {
    Wgs84,
}

impl Crs {
    pub fn parse(raw: &str) -> Result<Self, RecordError> {
        match raw {
            "wgs84" => Ok(Crs::Wgs84),
            _ => Err(RecordError::BadCrs),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DeviceId(String);

impl DeviceId {
    pub fn parse(raw: &str) -> Result<Self, RecordError> {
        let ok = (1..=128).contains(&raw.chars().count()) && !raw.chars().any(char::is_control);
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(RecordError::BadDeviceId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Note(String);

impl Note {
    pub fn parse(raw: &str) -> Result<Self, RecordError> {
        if raw.chars().count() <= 2000 {
            Ok(Self(raw.to_owned()))
        } else {
            Err(RecordError::NoteTooLong)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// captured_at as the phone sent it: the instant, and the text kept verbatim (its offset is evidence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedAt {
    at: OffsetDateTime,
    raw: String,
}

impl CapturedAt {
    /// Refuses unparseable times and times more than [`MAX_CLOCK_AHEAD`] after `now`.
    pub fn parse(raw: &str, now: OffsetDateTime) -> Result<Self, RecordError> {
        let at = crate::canonical::parse_rfc3339(raw).map_err(|_| RecordError::BadTime)?;
        if at - now > MAX_CLOCK_AHEAD {
            return Err(RecordError::InFuture);
        }
        Ok(Self {
            at,
            raw: raw.to_owned(),
        })
    }

    pub fn at(&self) -> OffsetDateTime {
        self.at
    }

    pub fn raw(&self) -> &str {
        &self.raw
    }
}

/// One position fix with its accuracy circle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub position: Position,
    pub accuracy: AccuracyMeters,
    pub crs: Crs,
}

/// A check-in or check-out, fully parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSubmission {
    pub id: Uuid,
    pub kind: RecordKind,
    pub captured_at: CapturedAt,
    pub fix: Fix,
    pub device_id: DeviceId,
    pub note: Option<Note>,
}

impl RecordSubmission {
    /// The personal content of the record, as it goes into the ledger payload. Two submissions
    /// are "the same record" for idempotency exactly when these values are equal.
    pub fn payload_value(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "kind": self.kind.as_str(),
            "captured_at": self.captured_at.raw(),
            "position": {
                "lon": self.fix.position.lon(),
                "lat": self.fix.position.lat(),
                "accuracy_m": self.fix.accuracy.get(),
                "crs": self.fix.crs.as_str(),
            },
            "device_id": self.device_id.as_str(),
            "note": self.note.as_ref().map(Note::as_str),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RosterVerdict {
    Assigned,
    NotAssigned,
}

impl RosterVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            RosterVerdict::Assigned => "assigned",
            RosterVerdict::NotAssigned => "not_assigned",
        }
    }
}

/// Observations stored with a record for a person to review; never a reason to refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// The fix's accuracy circle is wider than the policy limit.
    LowAccuracy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub geo: GeoVerdict,
    pub roster: RosterVerdict,
    pub unit_code: Option<String>,
    pub actual_unit_code: Option<String>,
    pub distance_to_boundary_m: Option<f64>,
}

/// A village the person is assigned to on the record's day, with what the geo check needs.
#[derive(Clone, Copy)]
pub struct AssignedVillage<'a> {
    pub code: &'a str,
    pub shape: Option<&'a UnitShape>,
    pub tolerance: ToleranceMeters,
}

/// Judges a fix against the villages the person is assigned to and the whole unit tree.
///
/// With several assignments the most favourable village counts (a cadre in either of their
/// villages is where they should be): the best verdict, then the deepest inside.
pub fn judge_fix(
    fix: &Fix,
    assigned: &[AssignedVillage<'_>],
    index: &UnitIndex,
    accuracy_limit_m: f64,
) -> (Verdict, Vec<Flag>) {
    let actual_unit_code = index
        .most_specific_containing(fix.position)
        .map(str::to_owned);
    let best = assigned
        .iter()
        .map(|village| {
            let judgement = judge(
                village.shape,
                fix.position,
                fix.accuracy,
                village.tolerance,
                accuracy_limit_m,
            );
            (village.code, judgement)
        })
        .min_by(|(_, a), (_, b)| {
            verdict_rank(a.verdict)
                .cmp(&verdict_rank(b.verdict))
                .then_with(|| {
                    let da = a.distance_to_boundary_m.unwrap_or(f64::NEG_INFINITY);
                    let db = b.distance_to_boundary_m.unwrap_or(f64::NEG_INFINITY);
                    db.total_cmp(&da)
                })
        });
    let mut flags = Vec::new();
    if fix.accuracy.get() > accuracy_limit_m {
        flags.push(Flag::LowAccuracy);
    }
    let verdict = match best {
        Some((code, judgement)) => Verdict {
            geo: judgement.verdict,
            roster: RosterVerdict::Assigned,
            unit_code: Some(code.to_owned()),
            actual_unit_code,
            distance_to_boundary_m: judgement.distance_to_boundary_m,
        },
        // Without an assignment there is no village to be inside of; where the fix fell is
        // still recorded through actual_unit_code.
        None => Verdict {
            geo: GeoVerdict::Unverifiable,
            roster: RosterVerdict::NotAssigned,
            unit_code: None,
            actual_unit_code,
            distance_to_boundary_m: None,
        },
    };
    (verdict, flags)
}

fn verdict_rank(verdict: GeoVerdict) -> u8 {
    match verdict {
        GeoVerdict::Inside => 0,
        GeoVerdict::Boundary => 1,
        GeoVerdict::Outside => 2,
        GeoVerdict::Unverifiable => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::Boundary;
    use time::macros::datetime;

    fn square(lon0: f64, lat0: f64, size_deg: f64) -> Boundary {
        let ring = json!([
            [lon0, lat0],
            [lon0 + size_deg, lat0],
            [lon0 + size_deg, lat0 + size_deg],
            [lon0, lat0 + size_deg],
            [lon0, lat0]
        ]);
        Boundary::from_geojson(&json!({"type": "Polygon", "coordinates": [ring]}))
            .unwrap()
            .unwrap()
    }

    fn fix(lon: f64, lat: f64, accuracy: f64) -> Fix {
        Fix {
            position: Position::parse(lon, lat).unwrap(),
            accuracy: AccuracyMeters::parse(accuracy).unwrap(),
            crs: Crs::Wgs84,
        }
    }

    fn index() -> UnitIndex {
        [
            ("A".to_owned(), 3, square(116.90, 34.20, 0.02)),
            ("B".to_owned(), 3, square(116.95, 34.20, 0.02)),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn captured_at_in_the_future_is_refused_beyond_five_minutes() {
        let now = datetime!(2026-11-23 08:00 +08:00);
        assert!(CapturedAt::parse("2026-11-23T08:04:59+08:00", now).is_ok());
        assert_eq!(
            CapturedAt::parse("2026-11-23T08:05:01+08:00", now),
            Err(RecordError::InFuture)
        );
        assert_eq!(
            CapturedAt::parse("2026-11-23 08:00", now),
            Err(RecordError::BadTime)
        );
        assert_eq!(
            CapturedAt::parse("2026-11-23T08:00:00", now),
            Err(RecordError::BadTime)
        );
    }

    #[test]
    fn a_fix_in_another_village_is_outside_with_that_village_as_actual_unit() {
        let index = index();
        let village_a = AssignedVillage {
            code: "A",
            shape: index.shape("A"),
            tolerance: ToleranceMeters::default(),
        };
        let (verdict, flags) = judge_fix(&fix(116.96, 34.21, 10.0), &[village_a], &index, 500.0);
        assert_eq!(verdict.geo, GeoVerdict::Outside);
        assert_eq!(verdict.roster, RosterVerdict::Assigned);
        assert_eq!(verdict.unit_code.as_deref(), Some("A"));
        assert_eq!(verdict.actual_unit_code.as_deref(), Some("B"));
        assert!(verdict.distance_to_boundary_m.unwrap() < -1000.0);
        assert!(flags.is_empty());
    }

    #[test]
    fn the_most_favourable_assignment_counts() {
        let index = index();
        let villages = [
            AssignedVillage {
                code: "A",
                shape: index.shape("A"),
                tolerance: ToleranceMeters::default(),
            },
            AssignedVillage {
                code: "B",
                shape: index.shape("B"),
                tolerance: ToleranceMeters::default(),
            },
        ];
        let (verdict, _) = judge_fix(&fix(116.96, 34.21, 10.0), &villages, &index, 500.0);
        assert_eq!(verdict.geo, GeoVerdict::Inside);
        assert_eq!(verdict.unit_code.as_deref(), Some("B"));
    }

    #[test]
    fn without_assignment_the_fix_is_unverifiable_and_not_assigned() {
        let index = index();
        let (verdict, _) = judge_fix(&fix(116.91, 34.21, 10.0), &[], &index, 500.0);
        assert_eq!(verdict.geo, GeoVerdict::Unverifiable);
        assert_eq!(verdict.roster, RosterVerdict::NotAssigned);
        assert_eq!(verdict.unit_code, None);
        assert_eq!(verdict.actual_unit_code.as_deref(), Some("A"));
    }

    #[test]
    fn wide_accuracy_is_flagged_and_unverifiable() {
        let index = index();
        let village_a = AssignedVillage {
            code: "A",
            shape: index.shape("A"),
            tolerance: ToleranceMeters::default(),
        };
        let (verdict, flags) = judge_fix(&fix(116.91, 34.21, 5000.0), &[village_a], &index, 500.0);
        assert_eq!(verdict.geo, GeoVerdict::Unverifiable);
        assert_eq!(flags, vec![Flag::LowAccuracy]);
    }

    #[test]
    fn payload_is_the_same_for_the_same_content() {
        let now = datetime!(2026-11-23 08:00 +08:00);
        let submission = RecordSubmission {
            id: Uuid::nil(),
            kind: RecordKind::CheckIn,
            captured_at: CapturedAt::parse("2026-11-23T07:00:00+08:00", now).unwrap(),
            fix: fix(116.91, 34.21, 10.0),
            device_id: DeviceId::parse("phone-1").unwrap(),
            note: None,
        };
        let mut other = submission.clone();
        assert_eq!(submission.payload_value(), other.payload_value());
        other.note = Some(Note::parse("x").unwrap());
        assert_ne!(submission.payload_value(), other.payload_value());
    }
}
