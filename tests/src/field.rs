//! Helpers for field-record tests (docs/records.md): record bodies of any kind, households,
//! supervisors, county dates, decisions, presence and a tiny photo.
//!
//! `record(kind, fields)` builds a body; `app.submit(token, &body)` posts it and returns the
//! response whatever its status; `app.submit_ok(token, &body)` also asserts 201.

use crate::fixtures::{now_rfc3339, rfc3339, Cadre, CADRE_PASSWORD};
use crate::{Resp, TestApp};
use serde_json::{json, Value};
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};

/// The test device every helper-built record comes from.
pub const DEVICE: &str = "test-phone-1";

/// The county's UTC offset (China Standard Time).
pub fn county_offset() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).expect("UTC+8")
}

/// Today's date in the county (UTC+8).
pub fn county_today() -> Date {
    OffsetDateTime::now_utc().to_offset(county_offset()).date()
}

/// The county date `days` from today (negative: in the past).
pub fn county_day(days: i64) -> Date {
    county_today() + Duration::days(days)
}

/// A date as `YYYY-MM-DD`.
pub fn ymd(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// An RFC 3339 instant at `hour`:00 county time on `date`, with the +08:00 offset.
/// For today, pick an hour that has passed, or use `now_rfc3339()`.
pub fn county_time(date: Date, hour: u8) -> String {
    let at = date
        .with_time(Time::from_hms(hour, 0, 0).expect("hour"))
        .assume_offset(county_offset());
    rfc3339(at)
}

/// An instant on county date `date` that is not in the future: noon for past days, an hour
/// ago (or now, just after midnight) for today.
pub fn captured_on(date: Date) -> String {
    let now = OffsetDateTime::now_utc().to_offset(county_offset());
    if date < now.date() {
        county_time(date, 12)
    } else {
        let earlier = now - Duration::hours(1);
        if earlier.date() == now.date() {
            rfc3339(earlier)
        } else {
            rfc3339(now)
        }
    }
}

/// Whether two RFC 3339 texts name the same instant (a server may respell an offset).
pub fn same_instant(a: &Value, b: &Value) -> bool {
    let parse = |v: &Value| {
        v.as_str().and_then(|s| {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        })
    };
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The person id (`sub`) a bearer token was issued to.
pub fn token_subject(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .expect("base64url payload");
    let claims: Value = serde_json::from_slice(&bytes).expect("JSON claims");
    claims["sub"].as_str().expect("sub").to_owned()
}

/// `{lon, lat, accuracy_m}` (WGS-84, not mocked).
pub fn position(lon: f64, lat: f64, accuracy_m: f64) -> Value {
    json!({"lon": lon, "lat": lat, "accuracy_m": accuracy_m})
}

/// A record body of `kind` with a fresh id, captured now, from `DEVICE`, with `fields` merged
/// in (a field given in `fields` replaces the default; `Value::Null` removes it).
pub fn record(kind: &str, fields: Value) -> Value {
    let mut body = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "kind": kind,
        "captured_at": now_rfc3339(),
        "device_id": DEVICE,
    });
    let map = body.as_object_mut().expect("object");
    if let Value::Object(fields) = fields {
        for (key, value) in fields {
            if value.is_null() {
                map.remove(&key);
            } else {
                map.insert(key, value);
            }
        }
    }
    body
}

/// A check-in at a position, captured at `captured_at`.
pub fn check_in_at(lon: f64, lat: f64, accuracy_m: f64, captured_at: &str) -> Value {
    record(
        "check_in",
        json!({"position": position(lon, lat, accuracy_m), "captured_at": captured_at}),
    )
}

/// A valid 1×1 PNG (RGBA, transparent).
pub fn tiny_png() -> Vec<u8> {
    vec![
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60,
        0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01, 0x7a, 0x5e, 0xab, 0x3f, 0x00, 0x00, 0x00, 0x00,
        0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ]
}

/// The lowercase hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

impl TestApp {
    /// Sets the server's clock to `hour`:00 county time today, so that tests of quiet hours and
    /// deadlines do not depend on the hour the suite runs at; that instant.
    pub fn at_county_hour(&self, hour: u8) -> OffsetDateTime {
        let at = county_today()
            .with_time(Time::from_hms(hour, 0, 0).expect("hour"))
            .assume_offset(county_offset());
        self.clock.set(at);
        at
    }

    /// The number of ledger entries.
    pub fn ledger_size(&self) -> i64 {
        self.sql_count("SELECT count(*) FROM ledger")
    }

    /// POST /v1/records; the response whatever its status.
    pub fn submit(&self, token: &str, body: &Value) -> Resp {
        self.post("/v1/records", Some(token), body)
    }

    /// POST /v1/records, asserting 201; the response.
    pub fn submit_ok(&self, token: &str, body: &Value) -> Resp {
        let resp = self.submit(token, body);
        assert_eq!(resp.status, 201, "{body} -> {}", resp.text);
        resp
    }

    /// POSTs `body` to `path` and asserts it is refused: a problem with `status` whose error
    /// pointers are exactly `pointers` (in any order), and the ledger did not grow.
    pub fn post_refused(
        &self,
        path: &str,
        token: &str,
        body: &Value,
        status: u16,
        pointers: &[&str],
    ) -> Resp {
        let before = self.ledger_size();
        let resp = self.post(path, Some(token), body);
        resp.problem(status);
        let mut got = resp.pointers();
        got.sort();
        let mut want: Vec<String> = pointers.iter().map(|p| (*p).to_owned()).collect();
        want.sort();
        assert_eq!(got, want, "{path} {body} -> {}", resp.text);
        assert_eq!(self.ledger_size(), before, "{path} {body}: the ledger grew");
        resp
    }

    /// `post_refused` on POST /v1/records.
    pub fn submit_refused(
        &self,
        token: &str,
        body: &Value,
        status: u16,
        pointers: &[&str],
    ) -> Resp {
        self.post_refused("/v1/records", token, body, status, pointers)
    }

    /// GET /v1/records/{id}, asserting 200; the record view.
    pub fn read_record(&self, token: &str, id: &str) -> Value {
        let resp = self.get(&format!("/v1/records/{id}"), Some(token));
        assert_eq!(resp.status, 200, "read {id}: {}", resp.text);
        resp.body
    }

    /// Creates a household in `village` at (lon, lat) as `admin`; its id.
    pub fn household(&self, admin: &str, village: &str, lon: f64, lat: f64) -> String {
        let resp = self.post(
            "/v1/households",
            Some(admin),
            &json!({"unit_code": village, "head_name": "测试户", "members": 3,
                    "location": {"lon": lon, "lat": lat}}),
        );
        assert_eq!(resp.status, 201, "household: {}", resp.text);
        resp.body["id"].as_str().expect("household id").to_owned()
    }

    /// A cadre whose home unit is `village`, assigned there from `from` with no end, logged in.
    pub fn cadre_since(&self, admin: &str, username: &str, village: &str, from: Date) -> Cadre {
        let id = self.create_person(admin, username, "cadre", village);
        self.assign(admin, &id, village, &ymd(from), None);
        Cadre {
            id,
            token: self.login(username, CADRE_PASSWORD),
        }
    }

    /// Creates a supervisor of `unit` and logs in; the token.
    pub fn supervisor(&self, admin: &str, username: &str, unit: &str) -> String {
        self.create_person(admin, username, "supervisor", unit);
        self.login(username, CADRE_PASSWORD)
    }

    /// Creates a person of any role and logs in; (id, token).
    pub fn person_with_token(
        &self,
        admin: &str,
        username: &str,
        role: &str,
        unit: &str,
    ) -> (String, String) {
        let id = self.create_person(admin, username, role, unit);
        (id, self.login(username, CADRE_PASSWORD))
    }

    /// POST /v1/pairings as `admin`, open-ended from `valid_from`; the response.
    pub fn pair(&self, admin: &str, person_id: &str, household_id: &str, valid_from: &str) -> Resp {
        self.post(
            "/v1/pairings",
            Some(admin),
            &json!({"person_id": person_id, "household_id": household_id,
                    "valid_from": valid_from}),
        )
    }

    /// POST /v1/{what}/{id}/decision (`what`: leave, trips, corrections, disputes); the
    /// response. `note` None leaves the member out.
    pub fn decide(
        &self,
        token: &str,
        what: &str,
        id: &str,
        decision: &str,
        note: Option<&str>,
    ) -> Resp {
        let mut body = json!({"decision": decision});
        if let Some(note) = note {
            body["note"] = json!(note);
        }
        self.post(&format!("/v1/{what}/{id}/decision"), Some(token), &body)
    }

    /// GET /v1/people/{id}/presence?from&to, asserting 200; the body.
    pub fn presence(&self, token: &str, person_id: &str, from: Date, to: Date) -> Value {
        let resp = self.get(
            &format!(
                "/v1/people/{person_id}/presence?from={}&to={}",
                ymd(from),
                ymd(to)
            ),
            Some(token),
        );
        assert_eq!(resp.status, 200, "presence: {}", resp.text);
        resp.body
    }

    /// The ledger entry at `seq` as `GET /v1/ledger/entries` serves it (`{seq, leaf_index,
    /// body, leaf_hash}`), read with an admin or inspector token.
    pub fn ledger_entry(&self, token: &str, seq: i64) -> Value {
        let resp = self.get(
            &format!("/v1/ledger/entries?start={seq}&count=1"),
            Some(token),
        );
        assert_eq!(resp.status, 200, "entries: {}", resp.text);
        resp.body["entries"][0].clone()
    }

    /// The header of the ledger entry at `seq`, decoded (`{kind, actor, unit, verdicts, …}`).
    pub fn entry_header(&self, token: &str, seq: i64) -> Value {
        use base64::Engine;
        let entry = self.ledger_entry(token, seq);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(entry["body"].as_str().expect("an entry body"))
            .expect("base64");
        serde_json::from_slice(&bytes).expect("a JSON header")
    }

    /// Uploads the bytes as a photo (POST /v1/attachments); the response.
    pub fn upload(&self, token: &str, content_type: &str, bytes: &[u8]) -> Resp {
        self.post_bytes("/v1/attachments", Some(token), content_type, bytes)
    }
}

/// The per-day lines of a presence answer: its `days` array, or else the first array of
/// objects with a `date` (the contract does not name the member), or the answer itself.
pub fn presence_days(presence: &Value) -> Vec<Value> {
    if let Some(days) = presence["days"].as_array() {
        return days.clone();
    }
    if let Some(days) = presence.as_array() {
        return days.clone();
    }
    presence
        .as_object()
        .and_then(|members| {
            members.values().find_map(|value| {
                value
                    .as_array()
                    .filter(|items| items.iter().all(|item| item.get("date").is_some()))
                    .filter(|items| !items.is_empty())
                    .cloned()
            })
        })
        .unwrap_or_default()
}

/// The line for `date` in a presence answer.
pub fn presence_day(presence: &Value, date: Date) -> Value {
    let wanted = ymd(date);
    presence_days(presence)
        .into_iter()
        .find(|d| d["date"] == wanted.as_str())
        .unwrap_or_else(|| panic!("no presence line for {wanted}: {presence}"))
}

/// The status of `date` in a presence answer.
pub fn presence_status(presence: &Value, date: Date) -> String {
    presence_day(presence, date)["status"]
        .as_str()
        .unwrap_or_else(|| panic!("no status for {}: {presence}", ymd(date)))
        .to_owned()
}
