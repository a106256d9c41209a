//! Abuse limits (docs/reliability.md): failed logins lock a username, and then an address, out
//! with 429 and Retry-After before any password is checked; a device may make at most the
//! policy's `max_submissions_per_device_minute` record submissions a minute (a batch is one).

use fieldtrail_tests::both_backends;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, FullResp, TestApp};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

fn post(app: &TestApp, path: &str, token: Option<&str>, body: &Value) -> FullResp {
    let bytes = serde_json::to_vec(body).unwrap();
    app.request("POST", path, token, Some(("application/json", &bytes)))
}

fn login(app: &TestApp, username: &str, password: &str) -> FullResp {
    post(
        app,
        "/v1/auth/login",
        None,
        &json!({"username": username, "password": password}),
    )
}

/// A 429 problem with a Retry-After of at least a second and at most `max` seconds.
fn too_many(resp: &FullResp, max: u64, what: &str) {
    assert_eq!(resp.resp.status, 429, "{what}: {}", resp.resp.text);
    assert_eq!(
        resp.resp.problem(429)["type"],
        "urn:fieldtrail:problem:too-many-requests",
        "{what}"
    );
    let retry: u64 = resp
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{what}: no Retry-After"));
    assert!((1..=max).contains(&retry), "{what}: Retry-After {retry}");
}

fn logins_lock_out_a_username_then_an_address(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    app.cadre_in_a(&admin, "cadre-a");
    app.cadre_in_a(&admin, "cadre-b");
    // Four wrong passwords, then the right one: a success clears the count.
    for _ in 0..4 {
        assert_eq!(login(&app, "cadre-a", "wrong-password").resp.status, 401);
    }
    assert_eq!(login(&app, "cadre-a", CADRE_PASSWORD).resp.status, 200);
    // Five in a row lock the username, even for the right password and in another case.
    for _ in 0..5 {
        assert_eq!(login(&app, "cadre-a", "wrong-password").resp.status, 401);
    }
    too_many(
        &login(&app, "cadre-a", CADRE_PASSWORD),
        15 * 60,
        "the locked username",
    );
    too_many(
        &login(&app, "CADRE-A", CADRE_PASSWORD),
        15 * 60,
        "the locked username in capitals",
    );
    // Another person from the same address is not locked out by that.
    assert_eq!(login(&app, "cadre-b", CADRE_PASSWORD).resp.status, 200);
    // Guessing across many usernames from one address: 30 failures lock the address (nine
    // so far; a refused 429 is not an attempt).
    for i in 0..21 {
        let resp = login(&app, &format!("nobody-{i}"), "wrong-password");
        assert_eq!(resp.resp.status, 401, "guess {i}: {}", resp.resp.text);
    }
    too_many(
        &login(&app, "cadre-b", CADRE_PASSWORD),
        15 * 60,
        "the locked address",
    );
    // Tokens already issued keep working: a lockout stops guessing, not work.
    assert_eq!(app.get("/v1/ledger/checkpoint", Some(&admin)).status, 200);
}

/// A check-in from `device` at the village centre.
fn from_device(device: &str) -> Value {
    let mut record = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
    record["device_id"] = json!(device);
    record
}

fn a_device_is_held_to_its_submissions_per_minute(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let other = app.cadre_in_a(&admin, "cadre-b");
    let resp = app.put(
        &format!("/v1/units/{COUNTY}/policy"),
        Some(&admin),
        &json!({"max_submissions_per_device_minute": 3}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    // The server's minute has just begun, so the four submissions below share it.
    let now = OffsetDateTime::now_utc();
    let next_minute = now - Duration::seconds(i64::from(now.second())) + Duration::seconds(61);
    app.clock.set(next_minute);

    app.submit_ok(&cadre.token, &from_device("phone-a"));
    // A batch is one submission, whatever it holds.
    let batch = json!({"records": [from_device("phone-a"), from_device("phone-a")]});
    let resp = app.post("/v1/records/batch", Some(&cadre.token), &batch);
    assert_eq!(resp.status, 200, "{}", resp.text);
    app.submit_ok(&cadre.token, &from_device("phone-a"));
    let before = app.ledger_size();
    let refused = post(
        &app,
        "/v1/records",
        Some(&cadre.token),
        &from_device("phone-a"),
    );
    too_many(&refused, 60, "the fourth submission of phone-a this minute");
    let refused = post(&app, "/v1/records/batch", Some(&cadre.token), &batch);
    too_many(&refused, 60, "a batch from phone-a");
    assert_eq!(app.ledger_size(), before, "nothing refused was stored");
    // Another device is counted on its own.
    app.submit_ok(&other.token, &from_device("phone-b"));
    // The next minute the device may send again.
    app.clock.advance(Duration::seconds(60));
    app.submit_ok(&cadre.token, &from_device("phone-a"));
}

both_backends!(
    logins_lock_out_a_username_then_an_address,
    a_device_is_held_to_its_submissions_per_minute
);
