//! Reading a record from JSON. Records come one per request or hundreds in a batch, and each
//! kind has its own fields, so they are read from a JSON value field by field: every problem is
//! named by its pointer into the whole request (e.g. `/records/3/position/lat`), all at once.

use crate::crs::Crs;
use crate::error::{FieldProblem, Problems};
use crate::geo::{AccuracyMeters, Position};
use crate::person::PersonId;
use crate::record::{
    parse_day, parse_instant, AttachmentHash, CapturedAt, DateRange, DeviceId, Fix, NoteCategory,
    RecordBody, RecordError, RecordKind, RecordSubmission, Task, TaskStatus, Text, MAX_ATTACHMENTS,
    MAX_TASKS,
};
use crate::unit::UnitCode;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use time::OffsetDateTime;
use uuid::Uuid;

/// One JSON object being read: remembers which members were used, so the rest can be named as
/// unknown, and records problems under the object's pointer.
struct Reader<'a> {
    object: &'a Map<String, Value>,
    pointer: String,
    used: BTreeSet<&'a str>,
}

impl<'a> Reader<'a> {
    fn new(object: &'a Map<String, Value>, pointer: String) -> Self {
        Self {
            object,
            pointer,
            used: BTreeSet::new(),
        }
    }

    fn at(&self, key: &str) -> String {
        format!(
            "{}/{}",
            self.pointer,
            key.replace('~', "~0").replace('/', "~1")
        )
    }

    /// The member's value; None (and a problem when required) when missing or null.
    fn value(
        &mut self,
        problems: &mut Problems,
        key: &'a str,
        required: bool,
    ) -> Option<&'a Value> {
        self.used.insert(key);
        match self.object.get(key) {
            None | Some(Value::Null) => {
                if required {
                    problems.push(self.at(key), "is required");
                }
                None
            }
            Some(value) => Some(value),
        }
    }

    fn string(&mut self, problems: &mut Problems, key: &'a str, required: bool) -> Option<&'a str> {
        let value = self.value(problems, key, required)?;
        match value.as_str() {
            Some(text) => Some(text),
            None => {
                problems.push(self.at(key), "must be a string");
                None
            }
        }
    }

    fn number(&mut self, problems: &mut Problems, key: &'a str) -> Option<f64> {
        let value = self.value(problems, key, true)?;
        match value.as_f64() {
            Some(number) => Some(number),
            None => {
                problems.push(self.at(key), "must be a number");
                None
            }
        }
    }

    /// Parses a string member with `parse`; Some(None) when an optional member is absent.
    fn parsed<T, E: std::fmt::Display>(
        &mut self,
        problems: &mut Problems,
        key: &'a str,
        required: bool,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        let present = self.object.get(key).is_some_and(|v| !v.is_null());
        match self.string(problems, key, required) {
            Some(raw) => {
                let pointer = self.at(key);
                problems.check(&pointer, parse(raw)).map(Some)
            }
            None if !present && !required => Some(None),
            None => None,
        }
    }

    fn required<T, E: std::fmt::Display>(
        &mut self,
        problems: &mut Problems,
        key: &'a str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        self.parsed(problems, key, true, parse).flatten()
    }

    fn optional<T, E: std::fmt::Display>(
        &mut self,
        problems: &mut Problems,
        key: &'a str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        self.parsed(problems, key, false, parse)
    }

    fn object(
        &mut self,
        problems: &mut Problems,
        key: &'a str,
        required: bool,
    ) -> Option<Reader<'a>> {
        let value = self.value(problems, key, required)?;
        match value.as_object() {
            Some(object) => Some(Reader::new(object, self.at(key))),
            None => {
                problems.push(self.at(key), "must be an object");
                None
            }
        }
    }

    fn unknown_members(&self, problems: &mut Problems) {
        for key in self.object.keys() {
            if !self.used.contains(key.as_str()) {
                problems.push(self.at(key), "unknown field");
            }
        }
    }
}

/// Reads one record. `pointer` is where the record sits in the request ("" for a single
/// record, "/records/3" in a batch); `now` is the server clock for the future check.
pub fn parse_record(
    value: &Value,
    pointer: &str,
    now: OffsetDateTime,
) -> Result<RecordSubmission, Vec<FieldProblem>> {
    let Some(object) = value.as_object() else {
        return Err(vec![FieldProblem::new(
            pointer,
            "a record must be a JSON object",
        )]);
    };
    let mut problems = Problems::new();
    let mut reader = Reader::new(object, pointer.to_owned());
    let id = reader.required(&mut problems, "id", |raw| {
        Uuid::parse_str(raw).map_err(|_| RecordError::BadId)
    });
    let kind = reader.required(&mut problems, "kind", RecordKind::parse);
    let captured_at = reader.required(&mut problems, "captured_at", |raw| {
        CapturedAt::parse(raw, now)
    });
    let device_required = kind.is_some_and(|k| !k.is_staff_record());
    let device_id = reader.parsed(&mut problems, "device_id", device_required, DeviceId::parse);
    let sent_at = reader.optional(&mut problems, "sent_at", parse_instant);
    let mut attachments = read_attachments(&mut reader, &mut problems);
    // A note carries at most one photo, as `attachment`; it is stored like any record's.
    if kind == Some(RecordKind::Note) {
        let single = reader.optional(&mut problems, "attachment", AttachmentHash::parse);
        if let (Some(list), Some(Some(hash))) = (attachments.as_mut(), single) {
            if !list.contains(&hash) {
                list.push(hash);
            }
        }
    }
    let body = match kind {
        Some(kind) => read_body(kind, &mut reader, &mut problems, now),
        None => {
            // The kind is unreadable, but the fields most kinds share can still be checked, so
            // the client learns every mistake in one round trip.
            let _ = read_fix(&mut reader, &mut problems, "position", false);
            let _ = optional_text(&mut reader, &mut problems, "note", 2000);
            None
        }
    };
    // Unknown members can only be told apart once the kind is known.
    if kind.is_some() {
        reader.unknown_members(&mut problems);
    }
    if let Err(crate::DomainError::Invalid(list)) = problems.finish() {
        return Err(list);
    }
    match (id, kind, captured_at, device_id, sent_at, attachments, body) {
        (
            Some(id),
            Some(kind),
            Some(captured_at),
            Some(device_id),
            Some(sent_at),
            Some(attachments),
            Some(body),
        ) => Ok(RecordSubmission {
            id,
            kind,
            captured_at,
            device_id,
            sent_at,
            attachments,
            body,
        }),
        _ => Err(vec![FieldProblem::new(
            pointer,
            "the record could not be read",
        )]),
    }
}

/// Reads the `position` member of a request object that is not a record (a spot-check outcome or
/// verification), with the same rules and pointers as a record's; Ok(None) when it is absent.
/// Only `position` is read: the caller checks the object's other members.
pub fn parse_position_member(
    object: &Map<String, Value>,
    required: bool,
) -> Result<Option<Fix>, Vec<FieldProblem>> {
    let mut problems = Problems::new();
    let mut reader = Reader::new(object, String::new());
    let fix = read_fix(&mut reader, &mut problems, "position", required);
    if let Err(crate::DomainError::Invalid(list)) = problems.finish() {
        return Err(list);
    }
    fix.ok_or_else(|| vec![FieldProblem::new("/position", "could not be read")])
}

/// The record's id if it has a readable one, for answering a batch item that failed to parse.
pub fn record_id(value: &Value) -> Option<Uuid> {
    value
        .get("id")
        .and_then(Value::as_str)
        .and_then(|raw| Uuid::parse_str(raw).ok())
}

fn read_attachments(
    reader: &mut Reader<'_>,
    problems: &mut Problems,
) -> Option<Vec<AttachmentHash>> {
    let Some(value) = reader.value(problems, "attachments", false) else {
        return Some(Vec::new());
    };
    let pointer = reader.at("attachments");
    let Some(items) = value.as_array() else {
        problems.push(pointer, "must be an array of SHA-256 hashes");
        return None;
    };
    if items.len() > MAX_ATTACHMENTS {
        problems.push(pointer, format!("at most {MAX_ATTACHMENTS} attachments"));
        return None;
    }
    let mut hashes = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let parsed = item
            .as_str()
            .ok_or(RecordError::BadHash)
            .and_then(AttachmentHash::parse);
        match problems.check(&format!("{pointer}/{i}"), parsed) {
            Some(hash) if hashes.contains(&hash) => {
                problems.push(format!("{pointer}/{i}"), "is listed twice");
                ok = false;
            }
            Some(hash) => hashes.push(hash),
            None => ok = false,
        }
    }
    ok.then_some(hashes)
}

fn text(
    reader: &mut Reader<'_>,
    problems: &mut Problems,
    key: &'static str,
    min: usize,
    max: usize,
) -> Option<Text> {
    reader.required(problems, key, |raw| Text::parse(raw, min, max))
}

fn optional_text(
    reader: &mut Reader<'_>,
    problems: &mut Problems,
    key: &'static str,
    max: usize,
) -> Option<Option<Text>> {
    reader.optional(problems, key, |raw| Text::parse(raw, 0, max))
}

fn read_fix(
    reader: &mut Reader<'_>,
    problems: &mut Problems,
    key: &'static str,
    required: bool,
) -> Option<Option<Fix>> {
    let present = reader.object.get(key).is_some_and(|v| !v.is_null());
    let Some(mut position) = reader.object(problems, key, required) else {
        return (!present && !required).then_some(None);
    };
    let lon = position.number(problems, "lon");
    let lat = position.number(problems, "lat");
    let accuracy = position
        .number(problems, "accuracy_m")
        .and_then(|m| problems.check(&position.at("accuracy_m"), AccuracyMeters::parse(m)));
    let crs = position
        .optional(problems, "crs", Crs::parse)
        .map(Option::unwrap_or_default);
    let mock = match position.value(problems, "mock", false) {
        None => Some(false),
        Some(Value::Bool(flag)) => Some(*flag),
        Some(_) => {
            problems.push(position.at("mock"), "must be true or false");
            None
        }
    };
    // Range checks name lon and lat separately, so a client learns which one is wrong.
    let lon = lon.and_then(|lon| {
        problems
            .check(&position.at("lon"), Position::parse(lon, 0.0))
            .map(|_| lon)
    });
    let lat = lat.and_then(|lat| {
        problems
            .check(&position.at("lat"), Position::parse(0.0, lat))
            .map(|_| lat)
    });
    position.unknown_members(problems);
    let (lon, lat, accuracy, crs, mock) = (lon?, lat?, accuracy?, crs?, mock?);
    let sent = Position::parse(lon, lat).ok()?;
    let (wgs_lon, wgs_lat) = crate::crs::to_wgs84(crs, lon, lat);
    let converted = problems.check(&position.at("lon"), Position::parse(wgs_lon, wgs_lat))?;
    Some(Some(Fix {
        position: converted,
        accuracy,
        crs,
        sent,
        mock,
    }))
}

fn read_tasks(reader: &mut Reader<'_>, problems: &mut Problems) -> Option<Vec<Task>> {
    let Some(value) = reader.value(problems, "tasks", false) else {
        return Some(Vec::new());
    };
    let pointer = reader.at("tasks");
    let Some(items) = value.as_array() else {
        problems.push(pointer, "must be an array of {title, status}");
        return None;
    };
    if items.len() > MAX_TASKS {
        problems.push(pointer, format!("at most {MAX_TASKS} tasks"));
        return None;
    }
    let mut tasks = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let Some(object) = item.as_object() else {
            problems.push(
                format!("{pointer}/{i}"),
                "must be an object {title, status}",
            );
            ok = false;
            continue;
        };
        let mut task = Reader::new(object, format!("{pointer}/{i}"));
        let title = task.required(problems, "title", |raw| Text::parse(raw, 1, 200));
        let status = task.required(problems, "status", TaskStatus::parse);
        task.unknown_members(problems);
        match (title, status) {
            (Some(title), Some(status)) => tasks.push(Task { title, status }),
            _ => ok = false,
        }
    }
    ok.then_some(tasks)
}

fn read_range(reader: &mut Reader<'_>, problems: &mut Problems) -> Option<DateRange> {
    let from = reader.required(problems, "from", parse_day);
    let to = reader.required(problems, "to", parse_day);
    let (from, to) = (from?, to?);
    problems.check(&reader.at("to"), DateRange::new(from, to))
}

fn reference(reader: &mut Reader<'_>, problems: &mut Problems, key: &'static str) -> Option<Uuid> {
    reader.required(problems, key, |raw| {
        Uuid::parse_str(raw).map_err(|_| RecordError::BadId)
    })
}

fn read_body(
    kind: RecordKind,
    reader: &mut Reader<'_>,
    problems: &mut Problems,
    now: OffsetDateTime,
) -> Option<RecordBody> {
    match kind {
        RecordKind::CheckIn | RecordKind::CheckOut => {
            let fix = read_fix(reader, problems, "position", true);
            let note = optional_text(reader, problems, "note", 2000);
            Some(RecordBody::Presence {
                fix: fix??,
                note: note?,
            })
        }
        RecordKind::HouseholdVisit => {
            let household_id = reference(reader, problems, "household_id");
            let fix = read_fix(reader, problems, "position", true);
            let purpose = text(reader, problems, "purpose", 1, 200);
            let notes = optional_text(reader, problems, "notes", 2000);
            Some(RecordBody::HouseholdVisit {
                household_id: household_id?,
                fix: fix??,
                purpose: purpose?,
                notes: notes?,
            })
        }
        RecordKind::DailyLog => {
            let date = reader.required(problems, "date", parse_day);
            let body = text(reader, problems, "text", 1, 10_000);
            let tasks = read_tasks(reader, problems);
            let fix = read_fix(reader, problems, "position", false);
            Some(RecordBody::DailyLog {
                date: date?,
                text: body?,
                tasks: tasks?,
                fix: fix?,
            })
        }
        RecordKind::LeaveRequest => {
            let period = read_range(reader, problems);
            let reason = text(reader, problems, "reason", 1, 2000);
            Some(RecordBody::LeaveRequest {
                period: period?,
                reason: reason?,
            })
        }
        RecordKind::LeaveReturn => {
            let leave_id = reference(reader, problems, "leave_id");
            let fix = read_fix(reader, problems, "position", false);
            Some(RecordBody::LeaveReturn {
                leave_id: leave_id?,
                fix: fix?,
            })
        }
        RecordKind::OfficialTrip => {
            let period = read_range(reader, problems);
            let destination = text(reader, problems, "destination", 1, 200);
            let purpose = text(reader, problems, "purpose", 1, 2000);
            Some(RecordBody::OfficialTrip {
                period: period?,
                destination: destination?,
                purpose: purpose?,
            })
        }
        RecordKind::Dispute => {
            let disputes = reference(reader, problems, "disputes");
            let reason = text(reader, problems, "reason", 1, 2000);
            Some(RecordBody::Dispute {
                disputes: disputes?,
                reason: reason?,
            })
        }
        RecordKind::Correction => {
            let amends = reference(reader, problems, "amends");
            let reason = text(reader, problems, "reason", 1, 2000);
            let corrected = reader
                .object(problems, "corrected", true)
                .and_then(|mut corrected| {
                    let at = corrected
                        .optional(problems, "captured_at", |raw| CapturedAt::parse(raw, now));
                    let fix = read_fix(&mut corrected, problems, "position", false);
                    corrected.unknown_members(problems);
                    let (at, fix) = (at?, fix?);
                    if at.is_none() && fix.is_none() {
                        problems.push(
                            corrected.pointer.clone(),
                            "must correct captured_at, position or both",
                        );
                        return None;
                    }
                    Some((at, fix))
                });
            let (captured_at, fix) = corrected?;
            Some(RecordBody::Correction {
                amends: amends?,
                reason: reason?,
                captured_at,
                fix,
            })
        }
        RecordKind::Duty => {
            let person_id = reader.required(problems, "person_id", PersonId::parse);
            let unit_code = reader.required(problems, "unit_code", UnitCode::parse);
            let date = reader.required(problems, "date", parse_day);
            let note = optional_text(reader, problems, "note", 2000);
            Some(RecordBody::Duty {
                person_id: person_id?,
                unit_code: unit_code?,
                date: date?,
                note: note?,
            })
        }
        RecordKind::Note => {
            let person_id = reader.required(problems, "person_id", PersonId::parse);
            let category = reader.required(problems, "category", NoteCategory::parse);
            let text = text(reader, problems, "text", 1, 4000);
            Some(RecordBody::Note {
                person_id: person_id?,
                category: category?,
                text: text?,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 08:00 +08:00);

    fn base(kind: &str) -> Value {
        json!({
            "id": "0190a5a4-0000-7000-8000-000000000001",
            "kind": kind,
            "captured_at": "2026-11-23T07:00:00+08:00",
            "device_id": "phone-1",
        })
    }

    fn with(kind: &str, fields: Value) -> Value {
        let mut value = base(kind);
        for (k, v) in fields.as_object().unwrap() {
            value[k] = v.clone();
        }
        value
    }

    fn pointers(value: &Value, prefix: &str) -> Vec<String> {
        let mut list: Vec<String> = parse_record(value, prefix, NOW)
            .unwrap_err()
            .into_iter()
            .map(|p| p.pointer)
            .collect();
        list.sort();
        list
    }

    #[test]
    fn a_check_in_reads_with_defaults() {
        let value = with(
            "check_in",
            json!({"position": {"lon": 116.91, "lat": 34.21, "accuracy_m": 10.0}}),
        );
        let record = parse_record(&value, "", NOW).unwrap();
        assert_eq!(record.kind, RecordKind::CheckIn);
        let fix = record.fix().unwrap();
        assert_eq!(fix.crs, Crs::Wgs84);
        assert!(!fix.mock);
        assert_eq!(fix.position, fix.sent);
    }

    #[test]
    fn problems_are_named_under_the_batch_prefix_and_all_at_once() {
        let value = with(
            "household_visit",
            json!({"position": {"lon": 200.0, "lat": 34.2, "accuracy_m": 0.0, "mock": "yes"},
                   "purpose": "", "extra": 1}),
        );
        assert_eq!(
            pointers(&value, "/records/7"),
            [
                "/records/7/extra",
                "/records/7/household_id",
                "/records/7/position/accuracy_m",
                "/records/7/position/lon",
                "/records/7/position/mock",
                "/records/7/purpose",
            ]
        );
    }

    #[test]
    fn every_kind_reads_its_own_fields() {
        let cases = [
            with(
                "household_visit",
                json!({"household_id": "0190a5a4-0000-7000-8000-000000000002",
                "position": {"lon": 116.91, "lat": 34.21, "accuracy_m": 10.0}, "purpose": "走访"}),
            ),
            with(
                "daily_log",
                json!({"date": "2026-11-23", "text": "今天入户三户",
                "tasks": [{"title": "走访", "status": "done"}]}),
            ),
            with(
                "leave_request",
                json!({"from": "2026-11-24", "to": "2026-11-25", "reason": "病假"}),
            ),
            with(
                "leave_return",
                json!({"leave_id": "0190a5a4-0000-7000-8000-000000000003"}),
            ),
            with(
                "official_trip",
                json!({"from": "2026-11-24", "to": "2026-11-24",
                "destination": "县城", "purpose": "开会"}),
            ),
            with(
                "dispute",
                json!({"disputes": "0190a5a4-0000-7000-8000-000000000004", "reason": "定位漂移"}),
            ),
            with(
                "correction",
                json!({"amends": "0190a5a4-0000-7000-8000-000000000004", "reason": "补卡",
                "corrected": {"captured_at": "2026-11-22T18:00:00+08:00"}}),
            ),
            with(
                "duty",
                json!({"person_id": "0190a5a4-0000-7000-8000-000000000005",
                "unit_code": "990101001", "date": "2026-11-24"}),
            ),
        ];
        for value in cases {
            let record = parse_record(&value, "", NOW);
            assert!(record.is_ok(), "{value}: {record:?}");
        }
    }

    #[test]
    fn kind_specific_rules_are_enforced() {
        let leave = with(
            "leave_request",
            json!({"from": "2026-11-25", "to": "2026-11-24", "reason": "x"}),
        );
        assert_eq!(pointers(&leave, ""), ["/to"]);
        let log = with(
            "daily_log",
            json!({"date": "2026-11-23", "text": "x".repeat(10_001),
            "tasks": [{"title": "a", "status": "finished"}]}),
        );
        assert_eq!(pointers(&log, ""), ["/tasks/0/status", "/text"]);
        let empty_correction = with(
            "correction",
            json!({"amends": "0190a5a4-0000-7000-8000-000000000004",
            "reason": "x", "corrected": {}}),
        );
        assert_eq!(pointers(&empty_correction, ""), ["/corrected"]);
        let check_in_with_person = with(
            "check_in",
            json!({"person_id": "x",
            "position": {"lon": 116.91, "lat": 34.21, "accuracy_m": 10.0}}),
        );
        assert_eq!(pointers(&check_in_with_person, ""), ["/person_id"]);
        let mut no_device = with(
            "check_in",
            json!({"position": {"lon": 116.91, "lat": 34.21, "accuracy_m": 10.0}}),
        );
        no_device.as_object_mut().unwrap().remove("device_id");
        assert_eq!(pointers(&no_device, ""), ["/device_id"]);
        let mut duty = with(
            "duty",
            json!({"person_id": "0190a5a4-0000-7000-8000-000000000005",
            "unit_code": "990101001", "date": "2026-11-24"}),
        );
        duty.as_object_mut().unwrap().remove("device_id");
        assert!(parse_record(&duty, "", NOW).is_ok());
    }

    #[test]
    fn coordinates_are_converted_and_kept_as_sent() {
        let (lon, lat) = crate::crs::from_wgs84(Crs::Gcj02, 116.91, 34.21);
        let value = with(
            "check_in",
            json!({"position": {"lon": lon, "lat": lat, "accuracy_m": 10.0, "crs": "gcj02"}}),
        );
        let record = parse_record(&value, "", NOW).unwrap();
        let fix = record.fix().unwrap();
        assert_eq!(fix.sent.lon(), lon);
        assert!((fix.position.lon() - 116.91).abs() < 1e-7);
        assert!((fix.position.lat() - 34.21).abs() < 1e-7);
    }

    #[test]
    fn attachments_must_be_distinct_hashes() {
        let hash = AttachmentHash::of(b"x").to_hex();
        let value = with(
            "check_in",
            json!({"position": {"lon": 116.91, "lat": 34.21, "accuracy_m": 10.0},
                   "attachments": [hash, hash, "nope"]}),
        );
        assert_eq!(pointers(&value, ""), ["/attachments/1", "/attachments/2"]);
    }
}
