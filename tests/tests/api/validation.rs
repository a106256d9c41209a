//! POST /v1/records input validation: every malformed or invalid record is refused with a
//! problem naming the field, and leaves no trace (no ledger entry, no payload, no record row).

#![allow(clippy::unwrap_used)]

use fieldtrail_tests::both_backends;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, Resp, TestApp};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

/// Row counts of everything a record submission writes.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
struct Stored {
    ledger: i64,
    payloads: i64,
    records: i64,
}

fn stored(app: &TestApp) -> Stored {
    Stored {
        ledger: app.sql_count("SELECT count(*) FROM ledger"),
        payloads: app.sql_count("SELECT count(*) FROM ledger_payloads"),
        records: app.sql_count("SELECT count(*) FROM records"),
    }
}

/// A county, a cadre of village A, and the cadre's token.
fn setup(backend: Backend) -> Option<(TestApp, String)> {
    let app = TestApp::spawn(backend)?;
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    Some((app, cadre.token))
}

/// Posts raw bytes and asserts a problem with `status` whose errors name `pointer` (when
/// given), and that nothing was stored.
fn refused(app: &TestApp, token: &str, bytes: &[u8], status: u16, pointer: Option<&str>) -> Resp {
    let before = stored(app);
    let resp = app.post_raw("/v1/records", Some(token), bytes);
    let what = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
    assert_eq!(resp.status, status, "{what} -> {}", resp.text);
    resp.problem(status);
    let expected_type = match status {
        400 => "urn:fieldtrail:problem:malformed-request",
        422 => "urn:fieldtrail:problem:validation",
        403 => "urn:fieldtrail:problem:forbidden",
        413 => "urn:fieldtrail:problem:payload-too-large",
        _ => "",
    };
    assert_eq!(resp.body["type"], expected_type, "{what} -> {}", resp.text);
    if let Some(pointer) = pointer {
        assert!(
            resp.pointers().iter().any(|p| p == pointer),
            "{what}: expected pointer {pointer}, got {:?} in {}",
            resp.pointers(),
            resp.text
        );
        let reason = resp.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["pointer"] == pointer)
            .map(|e| e["reason"].as_str().unwrap_or("").to_owned())
            .unwrap();
        assert!(!reason.is_empty(), "{what}: empty reason");
    }
    assert_eq!(stored(app), before, "{what}: something was stored");
    // If the body carried a well-formed id, that id is still unknown.
    if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(bytes) {
        if let Some(id) = body.get("id").and_then(Value::as_str) {
            if uuid::Uuid::parse_str(id).is_ok() {
                let get = app.get(&format!("/v1/records/{id}"), Some(token));
                get.problem(404);
            }
        }
    }
    resp
}

fn refused_json(app: &TestApp, token: &str, body: &Value, status: u16, pointer: &str) -> Resp {
    refused(
        app,
        token,
        body.to_string().as_bytes(),
        status,
        Some(pointer),
    )
}

fn valid() -> Value {
    check_in(A_CENTRE.0, A_CENTRE.1, 10.0)
}

fn rfc3339_in(minutes: i64) -> String {
    rfc3339(OffsetDateTime::now_utc() + Duration::minutes(minutes))
}

fn malformed_json_is_a_400(backend: Backend) {
    let Some((app, token)) = setup(backend) else {
        return;
    };
    let good = valid().to_string();
    for bytes in [
        b"this is not json".to_vec(),
        good.as_bytes()[..good.len() - 3].to_vec(),
        format!("{good} trailing").into_bytes(),
        format!("{good}{good}").into_bytes(),
        b"".to_vec(),
        b"{\"id\": }".to_vec(),
        b"{'id': 'single quotes'}".to_vec(),
        b"\xff\xfe{}".to_vec(),
    ] {
        refused(&app, &token, &bytes, 400, None);
    }
    // Well-formed JSON of the wrong shape is a validation problem at the root.
    for body in [json!([]), json!("check_in"), json!(null), json!(42)] {
        refused(&app, &token, body.to_string().as_bytes(), 422, Some(""));
    }
}

/// A raw POST that may fail at the connection level (the server may answer 413 and close
/// before the client has written the whole body).
fn raw_post(app: &TestApp, token: &str, bytes: &[u8]) -> Result<(u16, String, Value), String> {
    app.try_post_raw("/v1/records", Some(token), bytes)
        .map(|resp| (resp.status, resp.content_type, resp.body))
}

fn body_over_one_mebibyte_is_a_413(backend: Backend) {
    let Some((app, token)) = setup(backend) else {
        return;
    };
    let before = stored(&app);
    let mut body = valid();
    body["note"] = json!("x".repeat(1024 * 1024 + 10));
    let bytes = body.to_string().into_bytes();
    assert!(bytes.len() > 1024 * 1024);
    match raw_post(&app, &token, &bytes) {
        Ok((status, content_type, problem)) => {
            assert_eq!(status, 413, "{problem}");
            assert_eq!(content_type, "application/problem+json");
            assert_eq!(problem["type"], "urn:fieldtrail:problem:payload-too-large");
            assert_eq!(problem["status"], 413);
        }
        // Accepted only as a connection failure, never as another status.
        Err(err) => eprintln!("the server closed the connection early: {err}"),
    }
    assert_eq!(stored(&app), before);
    let id = body["id"].as_str().unwrap();
    app.get(&format!("/v1/records/{id}"), Some(&token))
        .problem(404);

    // Just under the limit but with a note over 2000 characters: read, then refused at /note.
    let mut long_note = valid();
    long_note["note"] = json!("x".repeat(2001));
    refused_json(&app, &token, &long_note, 422, "/note");

    // The server is still serving.
    let ok = app.post("/v1/records", Some(&token), &valid());
    assert_eq!(ok.status, 201, "{}", ok.text);
}

fn unknown_fields_are_named(backend: Backend) {
    let Some((app, token)) = setup(backend) else {
        return;
    };
    let mut top = valid();
    top["altitude"] = json!(35.0);
    refused_json(&app, &token, &top, 422, "/altitude");

    let mut inner = valid();
    inner["position"]["altitude"] = json!(35.0);
    refused_json(&app, &token, &inner, 422, "/position/altitude");

    let mut verdict = valid();
    verdict["verdict"] = json!({"geo": "inside"});
    refused_json(&app, &token, &verdict, 422, "/verdict");

    // Pointers escape '/' and '~' as RFC 6901 says.
    let mut odd = valid();
    odd["a/b~c"] = json!(1);
    refused_json(&app, &token, &odd, 422, "/a~1b~0c");

    let mut person = valid();
    person["person_id"] = json!(uuid::Uuid::new_v4().to_string());
    refused_json(&app, &token, &person, 422, "/person_id");
}

fn missing_fields_are_named(backend: Backend) {
    let Some((app, token)) = setup(backend) else {
        return;
    };
    for field in ["id", "kind", "captured_at", "position", "device_id"] {
        let mut body = valid();
        body.as_object_mut().unwrap().remove(field);
        refused_json(&app, &token, &body, 422, &format!("/{field}"));
    }
    for field in ["lon", "lat", "accuracy_m"] {
        let mut body = valid();
        body["position"].as_object_mut().unwrap().remove(field);
        refused_json(&app, &token, &body, 422, &format!("/position/{field}"));
    }
    // null is not a value for a required field.
    let mut null_lat = valid();
    null_lat["position"]["lat"] = Value::Null;
    refused_json(&app, &token, &null_lat, 422, "/position/lat");
    // Wrong types are named too.
    let mut string_lat = valid();
    string_lat["position"]["lat"] = json!("34.21");
    refused_json(&app, &token, &string_lat, 422, "/position/lat");
    let mut number_kind = valid();
    number_kind["kind"] = json!(1);
    refused_json(&app, &token, &number_kind, 422, "/kind");
}

fn coordinates_out_of_range_are_named(backend: Backend) {
    let Some((app, token)) = setup(backend) else {
        return;
    };
    for lat in [90.5, -91.0, 1e308] {
        let body = check_in(A_CENTRE.0, lat, 10.0);
        let resp = refused_json(&app, &token, &body, 422, "/position/lat");
        assert_eq!(resp.pointers(), ["/position/lat"], "{}", resp.text);
    }
    for lon in [180.5, -180.5, 360.0] {
        let body = check_in(lon, A_CENTRE.1, 10.0);
        let resp = refused_json(&app, &token, &body, 422, "/position/lon");
        assert_eq!(resp.pointers(), ["/position/lon"], "{}", resp.text);
    }
    // Both out of range: both named.
    let resp = refused_json(
        &app,
        &token,
        &check_in(200.0, 100.0, 10.0),
        422,
        "/position/lon",
    );
    assert!(resp.pointers().contains(&"/position/lat".to_owned()));
}

fn non_finite_numbers_are_refused(backend: Backend) {
    let Some((app, token)) = setup(backend) else {
        return;
    };
    let template = valid().to_string();
    let lat_text = format!("\"lat\":{}", A_CENTRE.1);
    assert!(template.contains(&lat_text), "{template}");
    for literal in ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"] {
        let bytes = template.replace(&lat_text, &format!("\"lat\":{literal}"));
        let resp = refused(&app, &token, bytes.as_bytes(), 400, None);
        // Where the parser stopped is named when it knows.
        if !resp.pointers().is_empty() {
            assert_eq!(
                resp.pointers(),
                ["/position/lat"],
                "{literal}: {}",
                resp.text
            );
        }
    }
    let acc_text = "\"accuracy_m\":10.0";
    assert!(template.contains(acc_text), "{template}");
    let bytes = template.replace(acc_text, "\"accuracy_m\":1e999");
    refused(&app, &token, bytes.as_bytes(), 400, None);
}

fn accuracy_must_be_positive(backend: Backend) {
    let Some((app, token)) = setup(backend) else {
        return;
    };
    for accuracy in [0.0, -5.0, -0.0, 1e12] {
        let body = check_in(A_CENTRE.0, A_CENTRE.1, accuracy);
        let resp = refused_json(&app, &token, &body, 422, "/position/accuracy_m");
        assert_eq!(resp.pointers(), ["/position/accuracy_m"], "{}", resp.text);
    }
}

fn captured_at_must_be_an_rfc3339_instant_not_in_the_future(backend: Backend) {
    let Some((app, token)) = setup(backend) else {
        return;
    };
    let without_offset = OffsetDateTime::now_utc()
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .unwrap();
    for captured_at in [
        rfc3339_in(10),
        rfc3339_in(60 * 24 * 365),
        without_offset,
        "2026-11-23 08:00".to_owned(),
        "yesterday".to_owned(),
        "2026-02-30T08:00:00+08:00".to_owned(),
        String::new(),
    ] {
        let mut body = valid();
        body["captured_at"] = json!(captured_at);
        let resp = refused_json(&app, &token, &body, 422, "/captured_at");
        assert_eq!(
            resp.pointers(),
            ["/captured_at"],
            "{captured_at}: {}",
            resp.text
        );
    }
}

fn kind_id_crs_and_device_are_checked(backend: Backend) {
    let Some((app, token)) = setup(backend) else {
        return;
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("kind", json!("visit"), "/kind"),
        ("kind", json!("CHECK_IN"), "/kind"),
        ("kind", json!(""), "/kind"),
        ("id", json!("not-a-uuid"), "/id"),
        ("id", json!("1234"), "/id"),
        ("id", json!(""), "/id"),
        ("device_id", json!(""), "/device_id"),
        ("device_id", json!("phone\n1"), "/device_id"),
        ("device_id", json!("d".repeat(129)), "/device_id"),
    ];
    for (field, value, pointer) in cases {
        let mut body = valid();
        body[field] = value;
        let resp = refused_json(&app, &token, &body, 422, pointer);
        assert_eq!(resp.pointers(), [pointer], "{}", resp.text);
    }
    // Unknown systems are refused, not silently taken as WGS-84.
    for crs in ["GCJ02", "gcj-02", "WGS84", ""] {
        let mut body = valid();
        body["position"]["crs"] = json!(crs);
        let resp = refused_json(&app, &token, &body, 422, "/position/crs");
        assert_eq!(resp.pointers(), ["/position/crs"], "{}", resp.text);
    }
}

fn several_problems_are_reported_at_once(backend: Backend) {
    let Some((app, token)) = setup(backend) else {
        return;
    };
    let body = json!({
        "id": "nope",
        "kind": "teleport",
        "captured_at": rfc3339_in(30),
        "position": {"lon": 181.0, "lat": -95.0, "accuracy_m": 0.0, "crs": "mars"},
        "device_id": "",
        "note": "n".repeat(2001),
    });
    let resp = refused_json(&app, &token, &body, 422, "/id");
    let mut pointers = resp.pointers();
    pointers.sort();
    assert_eq!(
        pointers,
        [
            "/captured_at",
            "/device_id",
            "/id",
            "/kind",
            "/note",
            "/position/accuracy_m",
            "/position/crs",
            "/position/lat",
            "/position/lon",
        ],
        "{}",
        resp.text
    );
    // The detail summarises them all.
    let detail = resp.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("/position/crs") && detail.contains("/kind"),
        "{detail}"
    );
}

fn boundary_values_are_accepted(backend: Backend) {
    let Some((app, token)) = setup(backend) else {
        return;
    };
    let mut bodies = vec![
        check_in(A_CENTRE.0, 90.0, 10.0),
        check_in(A_CENTRE.0, -90.0, 10.0),
        check_in(180.0, A_CENTRE.1, 10.0),
        check_in(-180.0, A_CENTRE.1, 10.0),
        check_in(A_CENTRE.0, A_CENTRE.1, 0.01),
        check_in(A_CENTRE.0, A_CENTRE.1, 10_000_000.0),
    ];
    let mut ahead = valid();
    ahead["captured_at"] = json!(rfc3339_in(4));
    bodies.push(ahead);
    let mut long_note = valid();
    long_note["note"] = json!("记".repeat(2000));
    bodies.push(long_note);
    let mut explicit_crs = valid();
    explicit_crs["position"]["crs"] = json!("wgs84");
    bodies.push(explicit_crs);
    let mut checkout = valid();
    checkout["kind"] = json!("check_out");
    bodies.push(checkout);
    let mut other_offset = valid();
    other_offset["captured_at"] = json!("2026-01-05T08:30:00.123+08:00");
    bodies.push(other_offset);

    for body in bodies {
        let before = stored(&app);
        let resp = app.post("/v1/records", Some(&token), &body);
        assert_eq!(resp.status, 201, "{body} -> {}", resp.text);
        assert_eq!(resp.body["id"], body["id"]);
        let after = stored(&app);
        assert_eq!(after.ledger, before.ledger + 1);
        assert_eq!(after.records, before.records + 1);
        assert_eq!(resp.body["seq"].as_i64().unwrap(), after.ledger);
        let got = app.get(
            &format!("/v1/records/{}", body["id"].as_str().unwrap()),
            Some(&token),
        );
        assert_eq!(got.status, 200, "{}", got.text);
        assert_eq!(got.body["position"]["lat"], body["position"]["lat"]);
        assert_eq!(got.body["position"]["lon"], body["position"]["lon"]);
        assert_eq!(got.body["captured_at"], body["captured_at"]);
    }
}

fn only_cadres_submit_records(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    app.create_person(&admin, "super-t", "supervisor", TOWNSHIP);
    app.create_person(&admin, "inspector-t", "inspector", TOWNSHIP);
    app.create_person(&admin, "admin-c", "admin", COUNTY);
    for username in ["super-t", "inspector-t", "admin-c"] {
        let token = app.login(username, CADRE_PASSWORD);
        refused_json_forbidden(&app, &token, username);
    }
    refused_json_forbidden(&app, &admin, "root");
}

fn refused_json_forbidden(app: &TestApp, token: &str, who: &str) {
    let body = valid();
    let resp = refused(app, token, body.to_string().as_bytes(), 403, None);
    assert!(resp.body.get("errors").is_none(), "{who}: {}", resp.text);
}

both_backends!(
    malformed_json_is_a_400,
    body_over_one_mebibyte_is_a_413,
    unknown_fields_are_named,
    missing_fields_are_named,
    coordinates_out_of_range_are_named,
    non_finite_numbers_are_refused,
    accuracy_must_be_positive,
    captured_at_must_be_an_rfc3339_instant_not_in_the_future,
    kind_id_crs_and_device_are_checked,
    several_problems_are_reported_at_once,
    boundary_values_are_accepted,
    only_cadres_submit_records,
);
