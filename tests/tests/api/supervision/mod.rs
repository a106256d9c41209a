//! Supervision outputs (issue 11, docs/supervision.md): compliance per unit and period, the
//! monthly bulletin (JSON, CSV, XLSX, publishing), the negative list and escalation, and the
//! per-cadre archive. Every expected value is computed by hand on a small fixture; the
//! arithmetic is written beside it.
//!
//! The fixtures live in October and November 2026 and are read "today" = 2026-12-01 (the
//! server clock is set), so every period is complete and every answer deterministic. Records are
//! sent on the day they were captured (the server clock is moved there first), so no record is
//! flagged `late_sync` unless a test means it to be; policies are set with the clock on the day
//! they are to take effect from.

use fieldtrail_tests::field::record;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::TestApp;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use time::{Date, Duration, Month, OffsetDateTime, Time, UtcOffset};

mod archive;
mod bulletin;
mod compliance;
mod households;
mod negative;
mod publish;

pub const OTHER_TOWNSHIP: &str = "990102";
pub const VILLAGE_C: &str = "990102001";
/// A third village of the test township, with no boundary and no cadres.
pub const VILLAGE_D: &str = "990101003";
/// Farmland of the township between villages A and B: outside both.
pub const FARMLAND: (f64, f64) = (116.925, 34.21);

pub fn county() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).unwrap()
}

/// A county date from `YYYY-MM-DD`.
pub fn d(text: &str) -> Date {
    let parts: Vec<&str> = text.split('-').collect();
    Date::from_calendar_date(
        parts[0].parse().unwrap(),
        Month::try_from(parts[1].parse::<u8>().unwrap()).unwrap(),
        parts[2].parse().unwrap(),
    )
    .unwrap()
}

/// `hour:minute` county time on `day`.
pub fn at(day: Date, hour: u8, minute: u8) -> OffsetDateTime {
    day.with_time(Time::from_hms(hour, minute, 0).unwrap())
        .assume_offset(county())
}

/// The days `from`..=`to`.
pub fn days(from: &str, to: &str) -> Vec<Date> {
    let (mut day, end) = (d(from), d(to));
    let mut all = Vec::new();
    while day <= end {
        all.push(day);
        day = day.next_day().unwrap();
    }
    all
}

/// Sets the server clock to `hour:minute` county time on `day`.
pub fn clock_at(app: &TestApp, day: &str, hour: u8, minute: u8) {
    app.clock.set(at(d(day), hour, minute));
}

/// "Today" for every read: 2026-12-01, 12:00 county time.
pub fn read_today(app: &TestApp) {
    clock_at(app, "2026-12-01", 12, 0);
}

static FIX: AtomicUsize = AtomicUsize::new(0);

/// A fresh point inside the village whose centre is given (never the same twice, so that no
/// fix is flagged `repeated_fix`).
pub fn point_in(centre: (f64, f64)) -> (f64, f64) {
    let n = FIX.fetch_add(1, Ordering::Relaxed);
    (
        centre.0 - 0.004 + (n % 80) as f64 * 0.0001,
        centre.1 - 0.004 + ((n / 80) % 80) as f64 * 0.0001,
    )
}

/// A check-in at a fresh point near `centre`, captured at `hour:minute` on `day`.
pub fn fix(centre: (f64, f64), day: Date, hour: u8, minute: u8) -> Value {
    let (lon, lat) = point_in(centre);
    record(
        "check_in",
        json!({"position": {"lon": lon, "lat": lat, "accuracy_m": 10.0},
               "captured_at": rfc3339(at(day, hour, minute))}),
    )
}

/// A check-in at noon on each day.
pub fn noons(centre: (f64, f64), on: &[Date]) -> Vec<Value> {
    on.iter().map(|day| fix(centre, *day, 12, 0)).collect()
}

/// A night in the village for each evening: a fix at 20:00 that day and one at 07:00 the next
/// morning (the default night window is 19:00 – 09:00).
pub fn nights(centre: (f64, f64), evenings: &[Date]) -> Vec<Value> {
    evenings
        .iter()
        .flat_map(|day| {
            [
                fix(centre, *day, 20, 0),
                fix(centre, day.next_day().unwrap(), 7, 0),
            ]
        })
        .collect()
}

fn captured(body: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(
        body["captured_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

/// Sends records as a phone online every day would: grouped by county day of capture, each
/// day's batch with the server clock one minute after its last record. Asserts every record is
/// stored (201). Leaves the clock at the last batch.
pub fn send(app: &TestApp, token: &str, mut records: Vec<Value>) {
    records.sort_by_key(captured);
    let mut start = 0;
    while start < records.len() {
        let day = captured(&records[start]).to_offset(county()).date();
        let end = records[start..]
            .iter()
            .position(|r| captured(r).to_offset(county()).date() != day)
            .map_or(records.len(), |n| start + n);
        let batch = &records[start..end];
        app.clock
            .set(captured(&batch[batch.len() - 1]) + Duration::minutes(1));
        let resp = app.post(
            "/v1/records/batch",
            Some(token),
            &json!({ "records": batch }),
        );
        assert_eq!(resp.status, 200, "{}", resp.text);
        for result in resp.body["results"].as_array().unwrap() {
            assert_eq!(result["status"], 201, "{result}");
        }
        start = end;
    }
}

/// Sends one record with the clock at `clock`; its answer.
pub fn send_at(app: &TestApp, token: &str, body: &Value, clock: OffsetDateTime) -> Value {
    app.clock.set(clock);
    let resp = app.submit(token, body);
    assert_eq!(resp.status, 201, "{body} -> {}", resp.text);
    resp.body
}

pub fn id_of(body: &Value) -> String {
    body["id"].as_str().unwrap().to_owned()
}

/// A cadre with home unit `home` and these assignments `(village, from, to)`, logged in.
pub fn cadre_with(
    app: &TestApp,
    admin: &str,
    username: &str,
    home: &str,
    assignments: &[(&str, &str, Option<&str>)],
) -> Cadre {
    let id = app.create_person(admin, username, "cadre", home);
    for (village, from, to) in assignments {
        app.assign(admin, &id, village, from, *to);
    }
    Cadre {
        id,
        token: app.login(username, CADRE_PASSWORD),
    }
}

/// Imports the second township (邻镇) with village C (丙村), and village D (丁村, no boundary)
/// in the test township.
pub fn more_units(app: &TestApp, admin: &str) {
    let resp = app.post(
        "/v1/units/import",
        Some(admin),
        &collection(vec![
            feature(
                OTHER_TOWNSHIP,
                "邻镇",
                "township",
                Some(COUNTY),
                rect(116.955, 34.19, 116.99, 34.23),
            ),
            feature(
                VILLAGE_C,
                "丙村",
                "village",
                Some(OTHER_TOWNSHIP),
                rect(116.96, 34.20, 116.98, 34.22),
            ),
            feature(VILLAGE_D, "丁村", "village", Some(TOWNSHIP), Value::Null),
        ]),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
}

/// PUT /v1/units/{code}/policy with the clock at noon on `day` (a version in force from that
/// county day on).
pub fn policy_from(app: &TestApp, admin: &str, unit: &str, day: &str, policy: Value) {
    clock_at(app, day, 12, 0);
    let resp = app.put(&format!("/v1/units/{unit}/policy"), Some(admin), &policy);
    assert_eq!(resp.status, 200, "{policy} -> {}", resp.text);
}

/// A leave request (or official trip) for `from`..=`to`, sent by the cadre on `sent_on` and
/// decided by `supervisor`; the request's id.
#[allow(clippy::too_many_arguments)]
pub fn request(
    app: &TestApp,
    cadre: &Cadre,
    supervisor: &str,
    kind: &str,
    from: &str,
    to: &str,
    sent_on: &str,
    decision: Option<&str>,
) -> String {
    let fields = if kind == "leave_request" {
        json!({"from": from, "to": to, "reason": "家中有事",
               "captured_at": rfc3339(at(d(sent_on), 9, 0))})
    } else {
        json!({"from": from, "to": to, "destination": "县城", "purpose": "参加培训",
               "captured_at": rfc3339(at(d(sent_on), 9, 0))})
    };
    let body = record(kind, fields);
    send_at(app, &cadre.token, &body, at(d(sent_on), 9, 1));
    let id = id_of(&body);
    if let Some(decision) = decision {
        let what = if kind == "leave_request" {
            "leave"
        } else {
            "trips"
        };
        app.clock.set(at(d(sent_on), 10, 0));
        let resp = app.decide(supervisor, what, &id, decision, None);
        assert_eq!(resp.status, 201, "{}", resp.text);
    }
    id
}

/// A supervisor's own check by phone, captured at `hour`:00 on `day`; the outcome record's id.
pub fn phone_check(
    app: &TestApp,
    supervisor: &str,
    person_id: &str,
    outcome: &str,
    day: &str,
    hour: u8,
) -> String {
    let when = at(d(day), hour, 0);
    app.clock.set(when + Duration::minutes(1));
    let resp = app.post(
        "/v1/spot-checks/outcomes",
        Some(supervisor),
        &json!({"person_id": person_id, "method": "phone", "outcome": outcome,
                "note": "电话抽查", "captured_at": rfc3339(when)}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    id_of(&resp.body)
}

/// A draw over the cadres of `village` at 10:00 on `day` that challenges its only cadre, left
/// unanswered until the deadline (default 30 minutes) passes; the `missed` outcome's id.
pub fn missed_challenge(app: &TestApp, supervisor: &str, village: &str, day: &str) -> String {
    clock_at(app, day, 10, 0);
    let resp = app.post(
        "/v1/spot-checks/draws",
        Some(supervisor),
        &json!({"unit_code": village, "population": "cadres", "size": 1}),
    );
    assert_eq!(resp.status, 201, "draw: {}", resp.text);
    assert_eq!(resp.body["challenges"].as_array().unwrap().len(), 1);
    let draw_id = id_of(&resp.body);
    clock_at(app, day, 10, 31);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let view = app.get(
            &format!("/v1/spot-checks/draws/{draw_id}"),
            Some(supervisor),
        );
        assert_eq!(view.status, 200, "{}", view.text);
        let challenge = &view.body["challenges"][0];
        if challenge["status"] == "missed" {
            return challenge["outcome_id"].as_str().unwrap().to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "challenge not missed: {challenge}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A household verification by `supervisor`, captured at `hour`:00 on `day`; its record id.
#[allow(clippy::too_many_arguments)]
pub fn verification(
    app: &TestApp,
    supervisor: &str,
    household: &str,
    at_point: (f64, f64),
    result: &str,
    day: &str,
    hour: u8,
) -> String {
    let when = at(d(day), hour, 0);
    app.clock.set(when + Duration::minutes(1));
    let resp = app.post(
        &format!("/v1/spot-checks/households/{household}/verifications"),
        Some(supervisor),
        &json!({"result": result, "note": "入户核查",
                "position": {"lon": at_point.0, "lat": at_point.1, "accuracy_m": 10.0},
                "captured_at": rfc3339(when)}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    id_of(&resp.body)
}

/// A household visit by the cadre at the household's point, captured at `hour`:00 on `day`.
pub fn visit(household: &str, point: (f64, f64), day: &str, hour: u8) -> Value {
    record(
        "household_visit",
        json!({"household_id": household,
               "position": {"lon": point.0, "lat": point.1, "accuracy_m": 10.0},
               "purpose": "走访了解情况",
               "captured_at": rfc3339(at(d(day), hour, 0))}),
    )
}

/// A dispute of `record_id` by the cadre, sent at `hour`:00 on `day`; its id.
pub fn dispute(app: &TestApp, cadre: &Cadre, record_id: &str, day: &str, hour: u8) -> String {
    let when = at(d(day), hour, 0);
    let body = record(
        "dispute",
        json!({"disputes": record_id, "reason": "当时在农户家走访",
               "captured_at": rfc3339(when)}),
    );
    send_at(app, &cadre.token, &body, when + Duration::minutes(1));
    id_of(&body)
}

/// Pairs the cadre with a household as `admin` from `valid_from`; the pairing id.
pub fn pairing(
    app: &TestApp,
    admin: &str,
    person_id: &str,
    household: &str,
    valid_from: &str,
    valid_to: Option<&str>,
) -> String {
    let mut body = json!({"person_id": person_id, "household_id": household,
                          "valid_from": valid_from});
    if let Some(to) = valid_to {
        body["valid_to"] = json!(to);
    }
    let resp = app.post("/v1/pairings", Some(admin), &body);
    assert_eq!(resp.status, 201, "{}", resp.text);
    id_of(&resp.body)
}

/// GET, asserting 200; the body.
pub fn get_ok(app: &TestApp, token: &str, path: &str) -> Value {
    let resp = app.get(path, Some(token));
    assert_eq!(resp.status, 200, "{path}: {}", resp.text);
    resp.body
}

pub fn compliance(app: &TestApp, token: &str, unit: &str, period: &str) -> Value {
    get_ok(
        app,
        token,
        &format!("/v1/units/{unit}/compliance?period={period}"),
    )
}

/// The compliance row of `person_id` (exactly one).
pub fn row_of(answer: &Value, person_id: &str) -> Value {
    let rows: Vec<&Value> = answer["cadres"]
        .as_array()
        .unwrap_or_else(|| panic!("no cadres: {answer}"))
        .iter()
        .filter(|row| row["person_id"] == person_id)
        .collect();
    assert_eq!(rows.len(), 1, "rows of {person_id}: {answer}");
    rows[0].clone()
}

/// A reason as one comparable string: `code:rule:required:actual`,
/// `household_overdue:household:days:interval`, or `code:id`.
pub fn reason_key(reason: &Value) -> String {
    let code = reason["code"].as_str().unwrap_or("?");
    assert!(
        reason["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a reason has a message: {reason}"
    );
    match code {
        "days_below" | "nights_below" => format!(
            "{code}:{}:{}:{}",
            reason["rule"].as_str().unwrap_or("?"),
            reason["required"],
            reason["actual"]
        ),
        "household_overdue" => format!(
            "{code}:{}:{}:{}",
            reason["household_id"].as_str().unwrap_or("?"),
            reason["days_since_visit"],
            reason["interval"]
        ),
        _ => format!("{code}:{}", reason["id"].as_str().unwrap_or("?")),
    }
}

/// The row's reasons as sorted keys.
pub fn reasons(row: &Value) -> Vec<String> {
    let mut keys: Vec<String> = row["reasons"]
        .as_array()
        .unwrap_or_else(|| panic!("no reasons: {row}"))
        .iter()
        .map(reason_key)
        .collect();
    keys.sort();
    keys
}

pub fn sorted(keys: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    keys.sort();
    keys
}

/// The figures of a compliance row, as expected.
#[derive(Debug, Clone, Copy, Default)]
pub struct Figures {
    pub assigned: i64,
    pub leave: i64,
    pub trip: i64,
    pub present: i64,
    pub days: i64,
    pub nights: i64,
    pub required_days: Option<i64>,
    pub required_nights: Option<i64>,
}

/// Asserts a row's figures, its reasons (as `reason_key`s) and `compliant`.
pub fn assert_row(row: &Value, want: Figures, want_reasons: &[&str]) {
    let got = (
        row["assigned_days"].as_i64(),
        row["leave_days"].as_i64(),
        row["trip_days"].as_i64(),
        row["present_days"].as_i64(),
        row["days_in_village"].as_i64(),
        row["nights_in_village"].as_i64(),
        row["required_days"].as_i64(),
        row["required_nights"].as_i64(),
    );
    let expected = (
        Some(want.assigned),
        Some(want.leave),
        Some(want.trip),
        Some(want.present),
        Some(want.days),
        Some(want.nights),
        want.required_days,
        want.required_nights,
    );
    assert_eq!(
        got, expected,
        "(assigned, leave, trip, present, days, nights, required days, required nights): {row}"
    );
    for (key, value) in [
        ("required_days", want.required_days),
        ("required_nights", want.required_nights),
    ] {
        if value.is_none() {
            assert!(row[key].is_null(), "{key} is null: {row}");
        }
    }
    assert_eq!(reasons(row), sorted(want_reasons), "reasons: {row}");
    assert_eq!(
        row["compliant"],
        want_reasons.is_empty(),
        "compliant iff no reasons: {row}"
    );
}

/// The requirement of `rule` in a row: (value, required, actual, met).
pub fn requirement(row: &Value, rule: &str) -> (Value, Value, Value, Value) {
    let found: Vec<&Value> = row["requirements"]
        .as_array()
        .unwrap_or_else(|| panic!("no requirements: {row}"))
        .iter()
        .filter(|r| r["rule"] == rule)
        .collect();
    assert_eq!(found.len(), 1, "requirement {rule}: {row}");
    let r = found[0];
    (
        r["value"].clone(),
        r["required"].clone(),
        r["actual"].clone(),
        r["met"].clone(),
    )
}

/// The rules listed in a row's requirements, sorted.
pub fn rules_of(row: &Value) -> Vec<String> {
    let mut rules: Vec<String> = row["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap().to_owned())
        .collect();
    rules.sort();
    rules
}

/// Asserts no object anywhere in `value` has a key naming a score, a rank or online time.
pub fn assert_no_forbidden_keys(value: &Value, context: &str) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let lower = key.to_lowercase();
                for word in ["score", "rank", "online", "usage", "points"] {
                    assert!(!lower.contains(word), "{context}: forbidden key {key}");
                }
                assert_no_forbidden_keys(inner, context);
            }
        }
        Value::Array(items) => {
            for item in items {
                assert_no_forbidden_keys(item, context);
            }
        }
        _ => {}
    }
}

/// A GET answered whole: status, headers (lower-case names) and the body's bytes.
pub fn get_full(
    app: &TestApp,
    path: &str,
    token: &str,
) -> (u16, std::collections::BTreeMap<String, String>, Vec<u8>) {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    let mut response = agent
        .get(app.url(path))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .expect("HTTP request");
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_lowercase(),
                value.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let status = response.status().as_u16();
    let bytes = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .expect("body");
    (status, headers, bytes)
}

/// The number of ledger entries of `kind`.
pub fn kind_count(app: &TestApp, kind: &str) -> i64 {
    app.sql_count(&format!(
        "SELECT count(*) FROM ledger WHERE kind = '{kind}'"
    ))
}

/// Sends (as `send`) the pending records captured before `before`, keeping the rest.
pub fn flush(app: &TestApp, token: &str, pending: &mut Vec<Value>, before: OffsetDateTime) {
    let (now, later): (Vec<Value>, Vec<Value>) =
        pending.drain(..).partition(|r| captured(r) < before);
    *pending = later;
    if !now.is_empty() {
        send(app, token, now);
    }
}

/// The presence line of `day` (GET /v1/people/{id}/presence).
pub fn presence_line(app: &TestApp, token: &str, person_id: &str, from: &str, to: &str) -> Value {
    get_ok(
        app,
        token,
        &format!("/v1/people/{person_id}/presence?from={from}&to={to}"),
    )
}

/// The line of `day` in a presence answer.
pub fn day_of(presence: &Value, day: &str) -> Value {
    presence["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|line| line["date"] == day)
        .cloned()
        .unwrap_or_else(|| panic!("no line for {day}: {presence}"))
}
