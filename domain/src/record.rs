//! Field records: what a phone (or, for duty rotas, a supervisor) submits, fully parsed, and the
//! verdicts they get. Parsing from JSON lives in [`crate::submission`], the flag rules in
//! [`crate::flags`].

use crate::crs::Crs;
use crate::geo::{
    judge, AccuracyMeters, GeoVerdict, Position, ToleranceMeters, UnitIndex, UnitShape,
};
use crate::person::PersonId;
use crate::roster::format_date;
use crate::unit::UnitCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

pub use crate::policy::DEFAULT_ACCURACY_LIMIT_M;

/// How far ahead of the server a phone's clock may put captured_at before the record is refused.
pub const MAX_CLOCK_AHEAD: Duration = Duration::minutes(5);
/// Photos one record may refer to.
pub const MAX_ATTACHMENTS: usize = 10;
/// Tasks one daily log may list.
pub const MAX_TASKS: usize = 100;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RecordError {
    #[error("must be a UUID")]
    BadId,
    #[error("kind must be one of check_in, check_out, household_visit, daily_log, leave_request, leave_return, official_trip, dispute, correction, duty, note")]
    BadKind,
    #[error("must be an RFC 3339 timestamp with an offset, e.g. 2026-11-23T08:30:00+08:00")]
    BadTime,
    #[error("is more than 5 minutes ahead of the server clock")]
    InFuture,
    #[error("device_id must be 1 to 128 printable characters")]
    BadDeviceId,
    #[error("must be {min} to {max} characters")]
    TextLength { min: usize, max: usize },
    #[error("status must be one of todo, in_progress, done")]
    BadTaskStatus,
    #[error("must be a SHA-256 hash as 64 lower-case hex digits")]
    BadHash,
    #[error("category must be one of training, assessment, reward, discipline")]
    BadCategory,
    #[error("must be a date as YYYY-MM-DD")]
    BadDate,
    #[error("to must not be before from")]
    EndsBeforeStart,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    CheckIn,
    CheckOut,
    HouseholdVisit,
    DailyLog,
    LeaveRequest,
    LeaveReturn,
    OfficialTrip,
    Dispute,
    Correction,
    Duty,
    Note,
}

impl RecordKind {
    pub const ALL: [RecordKind; 11] = [
        RecordKind::CheckIn,
        RecordKind::CheckOut,
        RecordKind::HouseholdVisit,
        RecordKind::DailyLog,
        RecordKind::LeaveRequest,
        RecordKind::LeaveReturn,
        RecordKind::OfficialTrip,
        RecordKind::Dispute,
        RecordKind::Correction,
        RecordKind::Duty,
        RecordKind::Note,
    ];

    pub fn parse(raw: &str) -> Result<Self, RecordError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == raw)
            .ok_or(RecordError::BadKind)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::CheckIn => "check_in",
            RecordKind::CheckOut => "check_out",
            RecordKind::HouseholdVisit => "household_visit",
            RecordKind::DailyLog => "daily_log",
            RecordKind::LeaveRequest => "leave_request",
            RecordKind::LeaveReturn => "leave_return",
            RecordKind::OfficialTrip => "official_trip",
            RecordKind::Dispute => "dispute",
            RecordKind::Correction => "correction",
            RecordKind::Duty => "duty",
            RecordKind::Note => "note",
        }
    }

    /// Duty rota entries and notes are made by supervisors about a cadre; every other kind is a
    /// cadre's own.
    pub fn is_staff_record(self) -> bool {
        matches!(self, RecordKind::Duty | RecordKind::Note)
    }

    /// Kinds a supervisor decides on, and the word for each outcome.
    pub fn decisions(self) -> Option<[&'static str; 2]> {
        match self {
            RecordKind::LeaveRequest | RecordKind::OfficialTrip | RecordKind::Correction => {
                Some(["approved", "rejected"])
            }
            RecordKind::Dispute => Some(["upheld", "rejected"]),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DeviceId(String);

impl DeviceId {
    pub fn parse(raw: &str) -> Result<Self, RecordError> {
        let ok =
            (1..=128).contains(&raw.chars().count()) && raw.chars().all(crate::names::name_char);
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

/// Free text with a length range in characters; required text must not be blank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    pub fn parse(raw: &str, min: usize, max: usize) -> Result<Self, RecordError> {
        let count = raw.chars().count();
        let blank = min > 0 && raw.trim().is_empty();
        if blank || count < min || count > max {
            return Err(RecordError::TextLength { min, max });
        }
        Ok(Self(raw.to_owned()))
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
        let at = parse_instant(raw)?;
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

pub fn parse_instant(raw: &str) -> Result<OffsetDateTime, RecordError> {
    crate::canonical::parse_rfc3339(raw).map_err(|_| RecordError::BadTime)
}

pub fn parse_day(raw: &str) -> Result<Date, RecordError> {
    crate::roster::parse_date(raw).map_err(|_| RecordError::BadDate)
}

/// Inclusive county days, `from` ≤ `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: Date,
    pub to: Date,
}

impl DateRange {
    pub fn new(from: Date, to: Date) -> Result<Self, RecordError> {
        if to < from {
            Err(RecordError::EndsBeforeStart)
        } else {
            Ok(Self { from, to })
        }
    }

    pub fn covers(&self, day: Date) -> bool {
        self.from <= day && day <= self.to
    }
}

/// The SHA-256 of an attachment's bytes: how records name photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttachmentHash([u8; 32]);

impl AttachmentHash {
    pub fn parse(raw: &str) -> Result<Self, RecordError> {
        let lower = raw.len() == 64 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !lower {
            return Err(RecordError::BadHash);
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(raw, &mut bytes).map_err(|_| RecordError::BadHash)?;
        Ok(Self(bytes))
    }

    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest;
        Self(sha2::Sha256::digest(bytes).into())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// One position fix with its accuracy circle: the point as sent and the same point in WGS-84,
/// which every check uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    /// WGS-84.
    pub position: Position,
    pub accuracy: AccuracyMeters,
    pub crs: Crs,
    /// The coordinates as the phone sent them, in `crs`.
    pub sent: Position,
    /// The OS reported the fix as coming from a mock-location provider.
    pub mock: bool,
}

impl Fix {
    /// A WGS-84 fix as sent (the common case, and what tests build).
    pub fn wgs84(position: Position, accuracy: AccuracyMeters) -> Self {
        Self {
            position,
            accuracy,
            crs: Crs::Wgs84,
            sent: position,
            mock: false,
        }
    }

    pub fn to_value(&self) -> Value {
        json!({
            "lon": self.sent.lon(),
            "lat": self.sent.lat(),
            "accuracy_m": self.accuracy.get(),
            "crs": self.crs.as_str(),
            "mock": self.mock,
            "wgs84": {"lon": self.position.lon(), "lat": self.position.lat()},
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Todo,
    InProgress,
    Done,
}

impl TaskStatus {
    pub fn parse(raw: &str) -> Result<Self, RecordError> {
        match raw {
            "todo" => Ok(TaskStatus::Todo),
            "in_progress" => Ok(TaskStatus::InProgress),
            "done" => Ok(TaskStatus::Done),
            _ => Err(RecordError::BadTaskStatus),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub title: Text,
    pub status: TaskStatus,
}

/// What a record says, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordBody {
    /// check_in / check_out.
    Presence {
        fix: Fix,
        note: Option<Text>,
    },
    HouseholdVisit {
        household_id: Uuid,
        fix: Fix,
        purpose: Text,
        notes: Option<Text>,
    },
    DailyLog {
        date: Date,
        text: Text,
        tasks: Vec<Task>,
        fix: Option<Fix>,
    },
    LeaveRequest {
        period: DateRange,
        reason: Text,
    },
    LeaveReturn {
        leave_id: Uuid,
        fix: Option<Fix>,
    },
    OfficialTrip {
        period: DateRange,
        destination: Text,
        purpose: Text,
    },
    Dispute {
        disputes: Uuid,
        reason: Text,
    },
    Correction {
        amends: Uuid,
        reason: Text,
        captured_at: Option<CapturedAt>,
        fix: Option<Fix>,
    },
    Duty {
        person_id: PersonId,
        unit_code: UnitCode,
        date: Date,
        note: Option<Text>,
    },
    /// A supervisor's note about a cadre for their archive (档案).
    Note {
        person_id: PersonId,
        category: NoteCategory,
        text: Text,
    },
}

/// What a supervisor's note about a cadre is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteCategory {
    Training,
    Assessment,
    Reward,
    Discipline,
}

impl NoteCategory {
    pub fn parse(raw: &str) -> Result<Self, RecordError> {
        match raw {
            "training" => Ok(NoteCategory::Training),
            "assessment" => Ok(NoteCategory::Assessment),
            "reward" => Ok(NoteCategory::Reward),
            "discipline" => Ok(NoteCategory::Discipline),
            _ => Err(RecordError::BadCategory),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NoteCategory::Training => "training",
            NoteCategory::Assessment => "assessment",
            NoteCategory::Reward => "reward",
            NoteCategory::Discipline => "discipline",
        }
    }
}

/// A record, fully parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordSubmission {
    pub id: Uuid,
    pub kind: RecordKind,
    pub captured_at: CapturedAt,
    pub device_id: Option<DeviceId>,
    /// The device clock when the request left the phone; transport metadata, not content.
    pub sent_at: Option<OffsetDateTime>,
    pub attachments: Vec<AttachmentHash>,
    pub body: RecordBody,
}

impl RecordSubmission {
    /// The fix the record was made at, if it has one (a correction's proposed fix is not one).
    pub fn fix(&self) -> Option<&Fix> {
        match &self.body {
            RecordBody::Presence { fix, .. } | RecordBody::HouseholdVisit { fix, .. } => Some(fix),
            RecordBody::DailyLog { fix, .. } | RecordBody::LeaveReturn { fix, .. } => fix.as_ref(),
            _ => None,
        }
    }

    /// The earlier record this one is about (leave returned, record disputed or amended).
    pub fn refers_to(&self) -> Option<Uuid> {
        match &self.body {
            RecordBody::LeaveReturn { leave_id, .. } => Some(*leave_id),
            RecordBody::Dispute { disputes, .. } => Some(*disputes),
            RecordBody::Correction { amends, .. } => Some(*amends),
            _ => None,
        }
    }

    /// The personal content of the record, as it goes into the ledger payload. Two submissions
    /// are "the same record" for idempotency exactly when these values are equal.
    pub fn payload_value(&self) -> Value {
        let mut content = Map::new();
        content.insert("id".into(), json!(self.id.to_string()));
        content.insert("kind".into(), json!(self.kind.as_str()));
        content.insert("captured_at".into(), json!(self.captured_at.raw()));
        if let Some(device) = &self.device_id {
            content.insert("device_id".into(), json!(device.as_str()));
        }
        if !self.attachments.is_empty() {
            let hashes: Vec<String> = self.attachments.iter().map(|h| h.to_hex()).collect();
            content.insert("attachments".into(), json!(hashes));
        }
        let text = |t: &Option<Text>| json!(t.as_ref().map(Text::as_str));
        let fix = |f: &Option<Fix>| f.as_ref().map_or(Value::Null, Fix::to_value);
        let mut put = |key: &str, value: Value| {
            content.insert(key.into(), value);
        };
        match &self.body {
            RecordBody::Presence { fix, note } => {
                put("position", fix.to_value());
                put("note", text(note));
            }
            RecordBody::HouseholdVisit {
                household_id,
                fix,
                purpose,
                notes,
            } => {
                put("household_id", json!(household_id.to_string()));
                put("position", fix.to_value());
                put("purpose", json!(purpose.as_str()));
                put("notes", text(notes));
            }
            RecordBody::DailyLog {
                date,
                text: body,
                tasks,
                fix: position,
            } => {
                put("date", json!(format_date(*date)));
                put("text", json!(body.as_str()));
                put("tasks", json!(tasks));
                put("position", fix(position));
            }
            RecordBody::LeaveRequest { period, reason } => {
                put("from", json!(format_date(period.from)));
                put("to", json!(format_date(period.to)));
                put("reason", json!(reason.as_str()));
            }
            RecordBody::LeaveReturn {
                leave_id,
                fix: position,
            } => {
                put("leave_id", json!(leave_id.to_string()));
                put("position", fix(position));
            }
            RecordBody::OfficialTrip {
                period,
                destination,
                purpose,
            } => {
                put("from", json!(format_date(period.from)));
                put("to", json!(format_date(period.to)));
                put("destination", json!(destination.as_str()));
                put("purpose", json!(purpose.as_str()));
            }
            RecordBody::Dispute { disputes, reason } => {
                put("disputes", json!(disputes.to_string()));
                put("reason", json!(reason.as_str()));
            }
            RecordBody::Correction {
                amends,
                reason,
                captured_at,
                fix: position,
            } => {
                put("amends", json!(amends.to_string()));
                put("reason", json!(reason.as_str()));
                let mut corrected = Map::new();
                if let Some(at) = captured_at {
                    corrected.insert("captured_at".into(), json!(at.raw()));
                }
                if let Some(position) = position {
                    corrected.insert("position".into(), position.to_value());
                }
                put("corrected", Value::Object(corrected));
            }
            RecordBody::Duty {
                person_id,
                unit_code,
                date,
                note,
            } => {
                put("person_id", json!(person_id.to_string()));
                put("unit_code", json!(unit_code.as_str()));
                put("date", json!(format_date(*date)));
                put("note", text(note));
            }
            RecordBody::Note {
                person_id,
                category,
                text,
            } => {
                put("person_id", json!(person_id.to_string()));
                put("category", json!(category.as_str()));
                put("text", json!(text.as_str()));
            }
        }
        Value::Object(content)
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// The fix's accuracy circle is wider than the policy limit.
    LowAccuracy,
    /// The phone's OS said the fix came from a mock-location provider.
    MockLocation,
    /// Reaching this fix from the previous one needs more than the policy's speed limit.
    ImpossibleSpeed,
    /// Exactly the coordinates and accuracy of an earlier fix: replayed rather than measured.
    RepeatedFix,
    /// The phone's clock disagrees with the server's.
    ClockSkew,
    /// Sent from a device other than the one bound to the person.
    UnboundDevice,
    /// Arrived later than the policy's window after it was captured.
    LateSync,
    /// The visited household is neither paired with the cadre nor in one of their villages.
    UnrelatedHousehold,
}

/// Where the fix falls: village and roster. `geo` and the distances are None for records
/// without a position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geo: Option<GeoVerdict>,
    pub roster: RosterVerdict,
    pub unit_code: Option<String>,
    pub actual_unit_code: Option<String>,
    pub distance_to_boundary_m: Option<f64>,
}

impl Verdict {
    /// The verdict as answered and stored: records without a position carry only the roster part.
    pub fn to_value(&self) -> Value {
        let mut value = json!({"roster": self.roster.as_str(), "unit_code": self.unit_code});
        if let Some(geo) = self.geo {
            value["geo"] = json!(geo.as_str());
            value["actual_unit_code"] = json!(self.actual_unit_code);
            value["distance_to_boundary_m"] = json!(self.distance_to_boundary_m);
        }
        value
    }
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
            geo: Some(judgement.verdict),
            roster: RosterVerdict::Assigned,
            unit_code: Some(code.to_owned()),
            actual_unit_code,
            distance_to_boundary_m: judgement.distance_to_boundary_m,
        },
        // Without an assignment there is no village to be inside of; where the fix fell is
        // still recorded through actual_unit_code.
        None => Verdict {
            geo: Some(GeoVerdict::Unverifiable),
            roster: RosterVerdict::NotAssigned,
            unit_code: None,
            actual_unit_code,
            distance_to_boundary_m: None,
        },
    };
    (verdict, flags)
}

/// The roster verdict of a record without a position, from the codes of the villages the person
/// is assigned to that day: assigned to the first of them.
pub fn roster_only(villages: &[String]) -> Verdict {
    Verdict {
        geo: None,
        roster: if villages.is_empty() {
            RosterVerdict::NotAssigned
        } else {
            RosterVerdict::Assigned
        },
        unit_code: villages.first().cloned(),
        actual_unit_code: None,
        distance_to_boundary_m: None,
    }
}

fn verdict_rank(verdict: GeoVerdict) -> u8 {
    match verdict {
        GeoVerdict::Inside => 0,
        GeoVerdict::Boundary => 1,
        GeoVerdict::Outside => 2,
        GeoVerdict::Unverifiable => 3,
    }
}

/// Whether a verdict places the person in the village for presence figures.
pub fn places_in_village(geo: Option<GeoVerdict>) -> bool {
    matches!(geo, Some(GeoVerdict::Inside | GeoVerdict::Boundary))
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
        Fix::wgs84(
            Position::parse(lon, lat).unwrap(),
            AccuracyMeters::parse(accuracy).unwrap(),
        )
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
        assert_eq!(verdict.geo, Some(GeoVerdict::Outside));
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
        assert_eq!(verdict.geo, Some(GeoVerdict::Inside));
        assert_eq!(verdict.unit_code.as_deref(), Some("B"));
    }

    #[test]
    fn without_assignment_the_fix_is_unverifiable_and_not_assigned() {
        let index = index();
        let (verdict, _) = judge_fix(&fix(116.91, 34.21, 10.0), &[], &index, 500.0);
        assert_eq!(verdict.geo, Some(GeoVerdict::Unverifiable));
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
        assert_eq!(verdict.geo, Some(GeoVerdict::Unverifiable));
        assert_eq!(flags, vec![Flag::LowAccuracy]);
    }

    #[test]
    fn a_record_without_position_has_only_a_roster_verdict() {
        let verdict = roster_only(&[]);
        let value = verdict.to_value();
        assert_eq!(value, json!({"roster": "not_assigned", "unit_code": null}));
    }

    fn submission(body: RecordBody) -> RecordSubmission {
        let now = datetime!(2026-11-23 08:00 +08:00);
        RecordSubmission {
            id: Uuid::nil(),
            kind: RecordKind::CheckIn,
            captured_at: CapturedAt::parse("2026-11-23T07:00:00+08:00", now).unwrap(),
            device_id: Some(DeviceId::parse("phone-1").unwrap()),
            sent_at: None,
            attachments: Vec::new(),
            body,
        }
    }

    #[test]
    fn payload_is_the_same_for_the_same_content_and_ignores_sent_at() {
        let base = submission(RecordBody::Presence {
            fix: fix(116.91, 34.21, 10.0),
            note: None,
        });
        let mut resent = base.clone();
        resent.sent_at = Some(datetime!(2026-11-23 09:00 +08:00));
        assert_eq!(base.payload_value(), resent.payload_value());
        let mut other = base.clone();
        other.body = RecordBody::Presence {
            fix: fix(116.91, 34.21, 10.0),
            note: Some(Text::parse("x", 0, 2000).unwrap()),
        };
        assert_ne!(base.payload_value(), other.payload_value());
        let mut with_photo = base.clone();
        with_photo.attachments.push(AttachmentHash::of(b"photo"));
        assert_ne!(base.payload_value(), with_photo.payload_value());
    }

    #[test]
    fn payload_keeps_the_sent_and_the_converted_coordinates() {
        let mut gcj = fix(116.91, 34.21, 10.0);
        gcj.crs = Crs::Gcj02;
        gcj.sent = Position::parse(116.916, 34.211).unwrap();
        let value = submission(RecordBody::Presence {
            fix: gcj,
            note: None,
        })
        .payload_value();
        assert_eq!(value["position"]["lon"], json!(116.916));
        assert_eq!(value["position"]["crs"], json!("gcj02"));
        assert_eq!(value["position"]["wgs84"]["lon"], json!(116.91));
    }

    #[test]
    fn kinds_round_trip_and_unknown_kinds_are_refused() {
        for kind in RecordKind::ALL {
            assert_eq!(RecordKind::parse(kind.as_str()), Ok(kind));
        }
        assert_eq!(RecordKind::parse("CHECK_IN"), Err(RecordError::BadKind));
        assert_eq!(RecordKind::parse("visit"), Err(RecordError::BadKind));
    }

    #[test]
    fn text_limits_count_characters_and_refuse_blank_required_text() {
        assert!(Text::parse(&"记".repeat(10_000), 1, 10_000).is_ok());
        assert!(Text::parse(&"记".repeat(10_001), 1, 10_000).is_err());
        assert!(Text::parse("  ", 1, 10).is_err());
        assert!(Text::parse("", 0, 10).is_ok());
    }

    #[test]
    fn attachment_hashes_are_lower_case_hex() {
        let hash = AttachmentHash::of(b"abc");
        assert_eq!(
            hash.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(AttachmentHash::parse(&hash.to_hex()), Ok(hash));
        assert!(AttachmentHash::parse(&hash.to_hex().to_uppercase()).is_err());
        assert!(AttachmentHash::parse("abc").is_err());
    }

    #[test]
    fn date_ranges_refuse_an_end_before_the_start() {
        let a = parse_day("2026-11-20").unwrap();
        let b = parse_day("2026-11-21").unwrap();
        assert!(DateRange::new(a, b).unwrap().covers(b));
        assert!(DateRange::new(a, a).is_ok());
        assert_eq!(DateRange::new(b, a), Err(RecordError::EndsBeforeStart));
    }
}
