//! Flags (docs/records.md, "Flags"): one scenario per flag, each with a record that raises it
//! and one that must not, and the policy settings that move the thresholds. Flagged records are
//! still stored (201): a flag is an observation, never a refusal.

use fieldtrail_tests::both_backends;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

fn ledger_size(app: &TestApp) -> i64 {
    app.sql_count("SELECT COUNT(*) FROM ledger")
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

/// A check-in from "test-phone-1" with a fresh id, captured at `at`.
fn fix(lon: f64, lat: f64, accuracy_m: f64, at: OffsetDateTime) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "kind": "check_in",
        "captured_at": rfc3339(at),
        "position": {"lon": lon, "lat": lat, "accuracy_m": accuracy_m},
        "device_id": "test-phone-1",
    })
}

/// Submits a record that must be stored as new and returns the answer body.
fn submit(app: &TestApp, token: &str, body: &Value) -> Value {
    let resp = app.post("/v1/records", Some(token), body);
    assert_eq!(resp.status, 201, "{body} -> {}", resp.text);
    resp.body
}

/// The answer's flags, sorted (the docs do not fix their order).
fn flags(answer: &Value) -> Vec<String> {
    let mut flags: Vec<String> = answer["flags"]
        .as_array()
        .unwrap_or_else(|| panic!("no flags array: {answer}"))
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    flags.sort();
    flags
}

fn has_flag(answer: &Value, flag: &str) -> bool {
    flags(answer).iter().any(|f| f == flag)
}

const NONE: [&str; 0] = [];

fn put_policy(app: &TestApp, admin: &str, unit: &str, policy: &Value) {
    let resp = app.put(&format!("/v1/units/{unit}/policy"), Some(admin), policy);
    assert!(
        resp.status == 200 || resp.status == 201,
        "PUT policy {policy} on {unit}: {} {}",
        resp.status,
        resp.text
    );
}

/// A record as stored, read back by its submitter.
fn stored(app: &TestApp, token: &str, body: &Value) -> Value {
    let id = body["id"].as_str().unwrap();
    let resp = app.get(&format!("/v1/records/{id}"), Some(token));
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body
}

fn mock_location_is_flagged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let t0 = now() - Duration::minutes(10);

    let mut mocked = fix(A_CENTRE.0, A_CENTRE.1, 15.0, t0);
    mocked["position"]["mock"] = json!(true);
    let answer = submit(&app, &cadre.token, &mocked);
    assert_eq!(flags(&answer), ["mock_location"], "{answer}");
    // Still judged like any fix: a flag is no verdict.
    assert_eq!(answer["verdict"]["geo"], "inside");
    assert_eq!(
        flags(&stored(&app, &cadre.token, &mocked)),
        ["mock_location"]
    );

    let mut honest = fix(
        A_CENTRE.0,
        A_CENTRE.1 + 0.0001,
        16.0,
        t0 + Duration::minutes(1),
    );
    honest["position"]["mock"] = json!(false);
    assert_eq!(flags(&submit(&app, &cadre.token, &honest)), NONE);
    // Absent means false.
    let plain = fix(
        A_CENTRE.0,
        A_CENTRE.1 + 0.0002,
        17.0,
        t0 + Duration::minutes(2),
    );
    assert_eq!(flags(&submit(&app, &cadre.token, &plain)), NONE);
}

/// `position.crs` outside its enumeration and a non-boolean `mock` are refused, storing nothing.
fn crs_and_mock_are_validated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let before = ledger_size(&app);
    let t0 = now() - Duration::minutes(5);

    for crs in ["utm", "epsg:4326", "", "WGS-84"] {
        let mut body = fix(A_CENTRE.0, A_CENTRE.1, 15.0, t0);
        body["position"]["crs"] = json!(crs);
        let resp = app.post("/v1/records", Some(&cadre.token), &body);
        resp.problem(422);
        assert!(
            resp.pointers().contains(&"/position/crs".to_owned()),
            "crs {crs:?}: {}",
            resp.text
        );
        let id = body["id"].as_str().unwrap();
        app.get(&format!("/v1/records/{id}"), Some(&cadre.token))
            .problem(404);
    }
    for mock in [json!("yes"), json!(1), json!("true"), json!({})] {
        let mut body = fix(A_CENTRE.0, A_CENTRE.1, 15.0, t0);
        body["position"]["mock"] = mock.clone();
        let resp = app.post("/v1/records", Some(&cadre.token), &body);
        assert!(
            resp.status == 400 || resp.status == 422,
            "mock {mock}: {} {}",
            resp.status,
            resp.text
        );
        resp.problem(resp.status);
        if resp.status == 422 {
            assert_eq!(resp.pointers(), ["/position/mock"], "mock {mock}");
        }
    }
    assert_eq!(ledger_size(&app), before, "refused records store nothing");
}

fn impossible_speed_is_flagged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let t0 = now() - Duration::hours(8);

    // 30 km north in 5 minutes: 360 km/h.
    let fast = app.cadre_in_a(&admin, "cadre-fast");
    let first = fix(A_CENTRE.0, A_CENTRE.1, 10.0, t0);
    assert_eq!(flags(&submit(&app, &fast.token, &first)), NONE);
    let far = fix(
        A_CENTRE.0,
        A_CENTRE.1 + 0.27,
        10.0,
        t0 + Duration::minutes(5),
    );
    let answer = submit(&app, &fast.token, &far);
    assert_eq!(flags(&answer), ["impossible_speed"], "{answer}");
    // Stored anyway, with its own verdict.
    assert_eq!(answer["verdict"]["geo"], "outside");
    // Six hours later back in the village: 5 km/h.
    let back = fix(
        A_CENTRE.0,
        A_CENTRE.1,
        11.0,
        t0 + Duration::minutes(5 + 360),
    );
    assert_eq!(flags(&submit(&app, &fast.token, &back)), NONE);

    // 0.0225° of latitude is about 2.5 km; 60 s apart. With 10 m fixes that is
    // (2496 − 20) m / 60 s ≈ 149 km/h: over the default 120.
    let south = (116.91, 34.2000);
    let north = (116.91, 34.2225);
    let pair = |name: &str, accuracy: f64| -> (Value, Value) {
        let cadre = app.cadre_in_a(&admin, name);
        let a = fix(south.0, south.1, accuracy, t0);
        let b = fix(north.0, north.1, accuracy, t0 + Duration::seconds(60));
        let first = submit(&app, &cadre.token, &a);
        assert!(!has_flag(&first, "impossible_speed"), "{first}");
        let second = submit(&app, &cadre.token, &b);
        (second, b)
    };
    let (precise, _) = pair("cadre-precise", 10.0);
    assert_eq!(flags(&precise), ["impossible_speed"], "{precise}");
    // The same two points with 450 m circles: max(0, 2496 − 900) m / 60 s ≈ 96 km/h, which the
    // cadre could have driven: not flagged (and 450 m is within the accuracy limit).
    let (vague, vague_body) = pair("cadre-vague", 450.0);
    assert_eq!(flags(&vague), NONE, "{vague}");

    // The limit follows the policy of the cadre's village.
    put_policy(&app, &admin, VILLAGE_A, &json!({"speed_limit_kmh": 200}));
    let (relaxed, _) = pair("cadre-relaxed", 10.0);
    assert_eq!(flags(&relaxed), NONE, "149 km/h under a 200 km/h limit");
    put_policy(&app, &admin, VILLAGE_A, &json!({"speed_limit_kmh": 60}));
    let (strict, _) = pair("cadre-strict", 450.0);
    assert_eq!(
        flags(&strict),
        ["impossible_speed"],
        "96 km/h over a 60 km/h limit"
    );
    // A record is judged once: the earlier answer is not re-judged by the new policy.
    let vague_cadre_token = app.login("cadre-vague", CADRE_PASSWORD);
    assert_eq!(flags(&stored(&app, &vague_cadre_token, &vague_body)), NONE);
}

fn repeated_fix_is_flagged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let other = app.cadre_in_a(&admin, "cadre-b");
    let t0 = now() - Duration::minutes(30);
    let at = |minutes: i64| t0 + Duration::minutes(minutes);
    let (lon, lat) = (116.911_13, 34.211_17);

    let first = fix(lon, lat, 12.0, at(0));
    assert_eq!(flags(&submit(&app, &cadre.token, &first)), NONE);
    // Same lon, lat and accuracy, a minute later, under a new id.
    let again = fix(lon, lat, 12.0, at(1));
    let answer = submit(&app, &cadre.token, &again);
    assert_eq!(flags(&answer), ["repeated_fix"], "{answer}");
    // A different accuracy or a different point is a different fix.
    assert_eq!(
        flags(&submit(&app, &cadre.token, &fix(lon, lat, 13.0, at(2)))),
        NONE
    );
    assert_eq!(
        flags(&submit(
            &app,
            &cadre.token,
            &fix(lon + 0.000_01, lat, 12.0, at(3))
        )),
        NONE
    );
    // Any earlier fix of the cadre counts, whatever the kind of record.
    let mut out = fix(lon, lat, 12.0, at(4));
    out["kind"] = json!("check_out");
    assert_eq!(flags(&submit(&app, &cadre.token, &out)), ["repeated_fix"]);
    // Another cadre's identical fix is not this cadre's repetition.
    assert_eq!(
        flags(&submit(&app, &other.token, &fix(lon, lat, 12.0, at(5)))),
        NONE
    );
    // The first of them stays unflagged.
    assert_eq!(flags(&stored(&app, &cadre.token, &first)), NONE);
}

fn clock_skew_is_flagged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    // All fixes at one point, each with its own accuracy: no speed and no repetition in play.
    let (lon, lat) = A_CENTRE;
    let mut accuracy = 10.0;
    let mut next = |at: OffsetDateTime| {
        accuracy += 1.0;
        fix(lon, lat, accuracy, at)
    };

    // Captured two minutes in the future: accepted (under the 5 minute refusal), but flagged.
    let ahead = next(now() + Duration::minutes(2));
    let answer = submit(&app, &cadre.token, &ahead);
    assert_eq!(flags(&answer), ["clock_skew"], "{answer}");
    // More than five minutes ahead is refused outright, storing nothing.
    let before = ledger_size(&app);
    let too_far = next(now() + Duration::minutes(7));
    let resp = app.post("/v1/records", Some(&cadre.token), &too_far);
    resp.problem(422);
    assert_eq!(resp.pointers(), ["/captured_at"]);
    assert_eq!(ledger_size(&app), before);

    // The device clock when sending, an hour off either way: flagged.
    for offset in [Duration::hours(-1), Duration::hours(1)] {
        let mut body = next(now() - Duration::minutes(1));
        body["sent_at"] = json!(rfc3339(now() + offset));
        let answer = submit(&app, &cadre.token, &body);
        assert_eq!(flags(&answer), ["clock_skew"], "sent_at {offset}: {answer}");
    }
    // Ten seconds off is within the 300 s limit.
    let mut body = next(now() - Duration::minutes(1));
    body["sent_at"] = json!(rfc3339(now() - Duration::seconds(10)));
    assert_eq!(flags(&submit(&app, &cadre.token, &body)), NONE);

    // The limit follows the policy: two hours allowed, an hour off is fine, three hours not.
    put_policy(
        &app,
        &admin,
        VILLAGE_A,
        &json!({"clock_skew_limit_s": 7200}),
    );
    let mut body = next(now() - Duration::minutes(1));
    body["sent_at"] = json!(rfc3339(now() - Duration::hours(1)));
    assert_eq!(flags(&submit(&app, &cadre.token, &body)), NONE);
    let mut body = next(now() - Duration::minutes(1));
    body["sent_at"] = json!(rfc3339(now() - Duration::hours(3)));
    assert_eq!(flags(&submit(&app, &cadre.token, &body)), ["clock_skew"]);
}

fn unbound_device_is_flagged_until_rebound(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let supervisor = app.supervisor(&admin, "super-t", TOWNSHIP);
    let outsider = app.supervisor(&admin, "super-b", VILLAGE_B);
    let (lon, lat) = A_CENTRE;
    let t0 = now() - Duration::minutes(30);
    let mut step = 0;
    let mut from = |device: &str| {
        step += 1;
        // Same point, each with its own accuracy: only the device is in question.
        let mut body = fix(
            lon,
            lat,
            10.0 + f64::from(step),
            t0 + Duration::minutes(step.into()),
        );
        body["device_id"] = json!(device);
        body
    };

    // The first record binds its device.
    assert_eq!(flags(&submit(&app, &cadre.token, &from("phone-1"))), NONE);
    assert_eq!(flags(&submit(&app, &cadre.token, &from("phone-1"))), NONE);
    let answer = submit(&app, &cadre.token, &from("phone-2"));
    assert_eq!(flags(&answer), ["unbound_device"], "{answer}");

    // Only staff over the cadre may rebind; the cadre may not rebind themselves.
    let path = format!("/v1/people/{}/device", cadre.id);
    let before = ledger_size(&app);
    app.put(&path, Some(&cadre.token), &json!({"device_id": "phone-2"}))
        .problem(403);
    app.put(&path, Some(&outsider), &json!({"device_id": "phone-2"}))
        .problem(403);
    app.put(&path, None, &json!({"device_id": "phone-2"}))
        .problem(401);
    for bad in [json!(""), json!("x".repeat(129)), json!(7)] {
        let resp = app.put(&path, Some(&supervisor), &json!({ "device_id": bad }));
        resp.problem(422);
        assert_eq!(resp.pointers(), ["/device_id"], "{bad}");
    }
    assert_eq!(ledger_size(&app), before, "refused rebinds store nothing");
    // Still bound to phone-1.
    assert_eq!(
        flags(&submit(&app, &cadre.token, &from("phone-2"))),
        ["unbound_device"]
    );

    let resp = app.put(&path, Some(&supervisor), &json!({"device_id": "phone-2"}));
    assert!(
        [200, 201, 204].contains(&resp.status),
        "rebind: {} {}",
        resp.status,
        resp.text
    );
    assert_eq!(flags(&submit(&app, &cadre.token, &from("phone-2"))), NONE);
    assert_eq!(
        flags(&submit(&app, &cadre.token, &from("phone-1"))),
        ["unbound_device"]
    );
    // Another cadre's first device binds independently.
    let second = app.cadre_in_a(&admin, "cadre-b");
    let mut theirs = fix(lon, lat, 40.0, t0);
    theirs["device_id"] = json!("phone-1");
    assert_eq!(flags(&submit(&app, &second.token, &theirs)), NONE);
}

fn late_sync_is_flagged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let (lon, lat) = A_CENTRE;

    let old = fix(lon, lat, 11.0, now() - Duration::days(4));
    let answer = submit(&app, &cadre.token, &old);
    assert_eq!(
        flags(&answer),
        ["late_sync"],
        "96 h after capture: {answer}"
    );
    // Late, yet judged like any other record.
    assert_eq!(answer["verdict"]["geo"], "inside");
    assert_eq!(answer["verdict"]["roster"], "assigned");
    let recent = fix(lon, lat, 12.0, now() - Duration::hours(1));
    assert_eq!(flags(&submit(&app, &cadre.token, &recent)), NONE);

    put_policy(&app, &admin, VILLAGE_A, &json!({"late_sync_hours": 200}));
    let old_again = fix(
        lon,
        lat,
        13.0,
        now() - Duration::days(4) + Duration::minutes(5),
    );
    assert_eq!(
        flags(&submit(&app, &cadre.token, &old_again)),
        NONE,
        "96 h is within a 200 h policy"
    );
    // The earlier record keeps the answer it was given.
    assert_eq!(flags(&stored(&app, &cadre.token, &old)), ["late_sync"]);
}

fn low_accuracy_follows_the_policy(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let (lon, lat) = A_CENTRE;
    let t0 = now() - Duration::minutes(30);
    let mut minute = 0;
    let mut check = |accuracy: f64| {
        minute += 1;
        // Nudge the point a metre each time so no fix repeats another.
        let body = fix(
            lon,
            lat + 0.000_01 * f64::from(minute),
            accuracy,
            t0 + Duration::minutes(minute.into()),
        );
        submit(&app, &cadre.token, &body)
    };

    // Default limit 500 m. The centre is ~920 m from the nearest edge.
    let fine = check(450.0);
    assert_eq!(flags(&fine), NONE, "{fine}");
    assert_eq!(fine["verdict"]["geo"], "inside");
    let vague = check(600.0);
    assert_eq!(flags(&vague), ["low_accuracy"], "{vague}");
    assert_eq!(vague["verdict"]["geo"], "unverifiable");

    // The village tightens the limit to 300 m: 450 m is now too vague.
    put_policy(&app, &admin, VILLAGE_A, &json!({"accuracy_limit_m": 300}));
    let tight = check(450.0);
    assert_eq!(flags(&tight), ["low_accuracy"], "{tight}");
    assert_eq!(tight["verdict"]["geo"], "unverifiable");
    assert_eq!(flags(&check(300.0)), NONE, "at the limit is not over it");

    // The county allows 1,000 m, but the village's own 300 m is nearer and wins.
    put_policy(&app, &admin, COUNTY, &json!({"accuracy_limit_m": 1000}));
    assert_eq!(flags(&check(600.0)), ["low_accuracy"]);
    // Once the village clears its overrides, the county's limit applies.
    put_policy(&app, &admin, VILLAGE_A, &json!({}));
    let loose = check(600.0);
    assert_eq!(flags(&loose), NONE, "{loose}");
    assert_ne!(loose["verdict"]["geo"], "unverifiable");
    assert_eq!(flags(&check(1200.0)), ["low_accuracy"]);
}

both_backends!(
    mock_location_is_flagged,
    crs_and_mock_are_validated,
    impossible_speed_is_flagged,
    repeated_fix_is_flagged,
    clock_skew_is_flagged,
    unbound_device_is_flagged_until_rebound,
    late_sync_is_flagged,
    low_accuracy_follows_the_policy,
);
