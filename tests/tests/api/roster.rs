//! People, assignments (the roster) and households: what admins may create, what each role may
//! read, and how the roster's dates decide a check-in's roster verdict.

#![allow(clippy::unwrap_used)]

use fieldtrail_tests::both_backends;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, Resp, TestApp};
use serde_json::{json, Value};
use time::{Date, Duration, OffsetDateTime, UtcOffset};

fn ledger_size(app: &TestApp) -> i64 {
    app.sql_count("SELECT count(*) FROM ledger")
}

fn person_body(username: &str) -> Value {
    json!({
        "username": username,
        "password": CADRE_PASSWORD,
        "display_name": "  李 伟  ",
        "role": "cadre",
        "unit_code": VILLAGE_A,
        "phone": "+8613800138000",
    })
}

/// Posts and asserts a problem with `status`, that the ledger did not grow, and (for 422) that
/// the errors name exactly `pointers`.
fn refused(
    app: &TestApp,
    path: &str,
    token: &str,
    body: &Value,
    status: u16,
    pointers: &[&str],
) -> Resp {
    let before = ledger_size(app);
    let resp = app.post(path, Some(token), body);
    resp.problem(status);
    let mut got = resp.pointers();
    got.sort();
    let mut want: Vec<String> = pointers.iter().map(|p| (*p).to_owned()).collect();
    want.sort();
    assert_eq!(got, want, "{body} -> {}", resp.text);
    assert_eq!(ledger_size(app), before, "{body}: the ledger grew");
    resp
}

fn no_secret_in(text: &str) {
    // `must_change_password` is a flag, not a secret: look for a key that is a password.
    for needle in ["\"password", "_hash", "argon2", CADRE_PASSWORD] {
        assert!(!text.contains(needle), "{needle} leaked: {text}");
    }
}

fn creating_a_person(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let before = ledger_size(&app);
    let resp = app.post("/v1/people", Some(&root), &person_body("li.wei-2"));
    assert_eq!(resp.status, 201, "{}", resp.text);
    let id = resp.body["id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    assert_eq!(resp.body["username"], "li.wei-2");
    assert_eq!(
        resp.body["display_name"], "李 伟",
        "display names are trimmed"
    );
    assert_eq!(resp.body["role"], "cadre");
    assert_eq!(resp.body["unit_code"], VILLAGE_A);
    assert_eq!(resp.body["phone"], "+8613800138000");
    assert_eq!(resp.body["seq"], before + 1);
    assert_eq!(ledger_size(&app), before + 1);
    let mut keys: Vec<&String> = resp.body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "active",
            "display_name",
            "id",
            "must_change_password",
            "phone",
            "role",
            "seq",
            "unit_code",
            "username"
        ]
    );
    no_secret_in(&resp.text);

    let got = app.get(&format!("/v1/people/{id}"), Some(&root));
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.body, resp.body);
    no_secret_in(&got.text);

    // The plain password is nowhere in the ledger's payloads, nor any hash of it.
    let payload_text = match backend {
        Backend::Sqlite => "CAST(payload AS TEXT)",
        Backend::Postgres => "convert_from(payload, 'UTF8')",
    };
    for needle in [CADRE_PASSWORD, "argon2", "password"] {
        let leaks = app.sql_count(&format!(
            "SELECT count(*) FROM ledger_payloads WHERE {payload_text} LIKE '%{needle}%'"
        ));
        assert_eq!(leaks, 0, "{needle} is in a ledger payload");
    }
    // But the person entry is there.
    let entries = app.sql_count(&format!(
        "SELECT count(*) FROM ledger_payloads WHERE {payload_text} LIKE '%li.wei-2%'"
    ));
    assert_eq!(entries, 1);

    // The new person can log in, and the phone is optional.
    let token = app.login("li.wei-2", CADRE_PASSWORD);
    let me = app.get(&format!("/v1/people/{id}"), Some(&token));
    assert_eq!(me.status, 200);
    let mut no_phone = person_body("no-phone");
    no_phone.as_object_mut().unwrap().remove("phone");
    let resp = app.post("/v1/people", Some(&root), &no_phone);
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(resp.body["phone"], Value::Null);
}

fn duplicate_username_is_a_conflict(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let first = app.post("/v1/people", Some(&root), &person_body("cadre-a"));
    assert_eq!(first.status, 201);
    let mut again = person_body("cadre-a");
    again["role"] = json!("supervisor");
    again["unit_code"] = json!(TOWNSHIP);
    let resp = refused(&app, "/v1/people", &root, &again, 409, &[]);
    assert_eq!(resp.body["type"], "urn:fieldtrail:problem:conflict");
    // Root's own name is taken too.
    refused(&app, "/v1/people", &root, &person_body("root"), 409, &[]);
    // The first one is unchanged.
    let got = app.get(
        &format!("/v1/people/{}", first.body["id"].as_str().unwrap()),
        Some(&root),
    );
    assert_eq!(got.body["role"], "cadre");
    assert_eq!(
        app.sql_count("SELECT count(*) FROM people WHERE username = 'cadre-a'"),
        1
    );
}

fn invalid_people_are_refused_with_pointers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let people_before = app.sql_count("SELECT count(*) FROM people");
    let cases: Vec<(&str, Value, &str)> = vec![
        ("username", json!("Bad User"), "/username"),
        ("username", json!("ab"), "/username"),
        ("username", json!("李伟"), "/username"),
        ("username", json!("x".repeat(65)), "/username"),
        ("password", json!("short"), "/password"),
        ("password", json!(""), "/password"),
        ("display_name", json!("   "), "/display_name"),
        ("role", json!("boss"), "/role"),
        ("role", json!("Admin"), "/role"),
        ("phone", json!("138-0013"), "/phone"),
        ("phone", json!("1234"), "/phone"),
        ("phone", json!("+86 138 0013 8000"), "/phone"),
        ("unit_code", json!("a/b"), "/unit_code"),
        ("unit_code", json!("990199"), "/unit_code"),
        ("nickname", json!("x"), "/nickname"),
    ];
    for (field, value, pointer) in cases {
        let mut body = person_body("valid-name");
        body[field] = value;
        let resp = refused(&app, "/v1/people", &root, &body, 422, &[pointer]);
        assert_eq!(resp.body["type"], "urn:fieldtrail:problem:validation");
    }
    for field in ["username", "password", "display_name", "role", "unit_code"] {
        let mut body = person_body("valid-name");
        body.as_object_mut().unwrap().remove(field);
        refused(
            &app,
            "/v1/people",
            &root,
            &body,
            422,
            &[&format!("/{field}")],
        );
    }
    // All at once.
    let body = json!({
        "username": "A",
        "password": "short",
        "display_name": "",
        "role": "boss",
        "unit_code": "",
        "phone": "phone",
    });
    refused(
        &app,
        "/v1/people",
        &root,
        &body,
        422,
        &[
            "/display_name",
            "/password",
            "/phone",
            "/role",
            "/unit_code",
            "/username",
        ],
    );
    assert_eq!(app.sql_count("SELECT count(*) FROM people"), people_before);
    assert_eq!(
        app.post(
            "/v1/auth/login",
            None,
            &json!({"username": "valid-name", "password": CADRE_PASSWORD})
        )
        .status,
        401
    );
}

fn who_creates_people(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    with_other_township(&app, &root);
    let cadre = app.cadre_in_a(&root, "cadre-a");
    app.create_person(&root, "super-t", "supervisor", TOWNSHIP);
    let supervisor = app.login("super-t", CADRE_PASSWORD);
    for token in [&cadre.token, &supervisor] {
        let resp = refused(&app, "/v1/people", token, &person_body("newbie"), 403, &[]);
        assert_eq!(resp.body["type"], "urn:fieldtrail:problem:forbidden");
    }

    // An admin of the township creates people there, not in the neighbouring township.
    app.create_person(&root, "admin-t", "admin", TOWNSHIP);
    let admin = app.login("admin-t", CADRE_PASSWORD);
    let ok = app.post("/v1/people", Some(&admin), &person_body("in-scope"));
    assert_eq!(ok.status, 201, "{}", ok.text);
    let mut outside = person_body("out-of-scope");
    outside["unit_code"] = json!(OTHER_VILLAGE);
    refused(&app, "/v1/people", &admin, &outside, 403, &[]);
    let mut above = person_body("above-scope");
    above["unit_code"] = json!(COUNTY);
    refused(&app, "/v1/people", &admin, &above, 403, &[]);
    assert_eq!(
        app.sql_count("SELECT count(*) FROM people WHERE username LIKE '%scope'"),
        1
    );
}

fn reading_people(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    with_other_township(&app, &root);
    let a = app.cadre_in_a(&root, "cadre-a");
    let a2 = app.cadre_in_a(&root, "cadre-a2");
    app.create_person(&root, "super-t", "supervisor", TOWNSHIP);
    app.create_person(&root, "super-o", "supervisor", OTHER_TOWNSHIP);
    app.create_person(&root, "inspector-c", "inspector", COUNTY);
    app.create_person(&root, "super-b", "supervisor", VILLAGE_B);
    let path = format!("/v1/people/{}", a.id);

    let own = app.get(&path, Some(&a.token));
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.body["id"], a.id.as_str());
    assert_eq!(own.body["username"], "cadre-a");

    // Another cadre of the same village may not.
    let other = app.get(&path, Some(&a2.token));
    assert_eq!(
        other.problem(403)["type"],
        "urn:fieldtrail:problem:forbidden"
    );
    assert!(
        !other.text.contains("cadre-a\""),
        "no data in the refusal: {}",
        other.text
    );

    for (username, status) in [
        ("super-t", 200),
        ("inspector-c", 200),
        ("super-o", 403),
        ("super-b", 403),
    ] {
        let token = app.login(username, CADRE_PASSWORD);
        let resp = app.get(&path, Some(&token));
        assert_eq!(resp.status, status, "{username}: {}", resp.text);
        if status == 200 {
            assert_eq!(resp.body["username"], "cadre-a");
        } else {
            resp.problem(status);
        }
        let assignments = app.get(&format!("{path}/assignments"), Some(&token));
        assert_eq!(
            assignments.status, status,
            "{username}: {}",
            assignments.text
        );
    }
    // A supervisor is not visible to the cadres below.
    let supervisor_id = app.create_person(&root, "super-t2", "supervisor", TOWNSHIP);
    app.get(&format!("/v1/people/{supervisor_id}"), Some(&a.token))
        .problem(403);

    let unknown = uuid::Uuid::new_v4();
    for token in [&root, &a.token] {
        let resp = app.get(&format!("/v1/people/{unknown}"), Some(token));
        assert_eq!(
            resp.problem(404)["type"],
            "urn:fieldtrail:problem:not-found"
        );
        app.get(&format!("/v1/people/{unknown}/assignments"), Some(token))
            .problem(404);
    }
    app.get("/v1/people/not-a-uuid", Some(&root)).problem(404);
}

fn assignment_body(person: &str, unit: &str, from: &str, to: Option<&str>) -> Value {
    json!({
        "person_id": person,
        "unit_code": unit,
        "role": "first_secretary",
        "valid_from": from,
        "valid_to": to,
    })
}

fn creating_assignments(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let id = app.create_person(&root, "cadre-a", "cadre", VILLAGE_A);
    let before = ledger_size(&app);
    let resp = app.post(
        "/v1/assignments",
        Some(&root),
        &assignment_body(&id, VILLAGE_A, "2026-01-01", Some("2026-12-31")),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert!(uuid::Uuid::parse_str(resp.body["id"].as_str().unwrap()).is_ok());
    assert_eq!(resp.body["person_id"], id.as_str());
    assert_eq!(resp.body["unit_code"], VILLAGE_A);
    assert_eq!(resp.body["role"], "first_secretary");
    assert_eq!(resp.body["valid_from"], "2026-01-01");
    assert_eq!(resp.body["valid_to"], "2026-12-31");
    assert_eq!(resp.body["seq"], before + 1);

    // Open-ended, in another village; a one-day period (to == from) is fine.
    let open = app.post(
        "/v1/assignments",
        Some(&root),
        &assignment_body(&id, VILLAGE_B, "2027-01-01", None),
    );
    assert_eq!(open.status, 201, "{}", open.text);
    assert_eq!(open.body["valid_to"], Value::Null);
    let one_day = app.post(
        "/v1/assignments",
        Some(&root),
        &assignment_body(&id, VILLAGE_A, "2027-03-01", Some("2027-03-01")),
    );
    assert_eq!(one_day.status, 201, "{}", one_day.text);

    let token = app.login("cadre-a", CADRE_PASSWORD);
    let list = app.get(&format!("/v1/people/{id}/assignments"), Some(&token));
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0], resp.body);
    assert_eq!(items[1], open.body);
    assert_eq!(items[2], one_day.body);

    // Someone without assignments has an empty list.
    let other = app.create_person(&root, "cadre-b", "cadre", VILLAGE_B);
    let empty = app.get(&format!("/v1/people/{other}/assignments"), Some(&root));
    assert_eq!(empty.body["items"], json!([]));
}

fn invalid_assignments_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let id = app.create_person(&root, "cadre-a", "cadre", VILLAGE_A);
    let stranger = uuid::Uuid::new_v4().to_string();
    let cases: Vec<(Value, &[&str])> = vec![
        (
            assignment_body(&id, TOWNSHIP, "2026-01-01", None),
            &["/unit_code"],
        ),
        (
            assignment_body(&id, COUNTY, "2026-01-01", None),
            &["/unit_code"],
        ),
        (
            assignment_body(&id, "990199", "2026-01-01", None),
            &["/unit_code"],
        ),
        (
            assignment_body(&id, "a b", "2026-01-01", None),
            &["/unit_code"],
        ),
        (
            assignment_body(&id, VILLAGE_A, "2026-03-01", Some("2026-02-28")),
            &["/valid_to"],
        ),
        (
            assignment_body(&id, VILLAGE_A, "2026-02-30", None),
            &["/valid_from"],
        ),
        (
            assignment_body(&id, VILLAGE_A, "2026/01/01", None),
            &["/valid_from"],
        ),
        (
            assignment_body(&id, VILLAGE_A, "2026-01-01", Some("someday")),
            &["/valid_to"],
        ),
        (
            assignment_body(&stranger, VILLAGE_A, "2026-01-01", None),
            &["/person_id"],
        ),
        (
            assignment_body("nobody", VILLAGE_A, "2026-01-01", None),
            &["/person_id"],
        ),
        (
            {
                let mut body = assignment_body(&id, VILLAGE_A, "2026-01-01", None);
                body["role"] = json!("boss");
                body
            },
            &["/role"],
        ),
        (
            assignment_body("nobody", "", "yesterday", Some("2020-01-01")),
            &["/person_id", "/unit_code", "/valid_from"],
        ),
    ];
    for (body, pointers) in cases {
        refused(&app, "/v1/assignments", &root, &body, 422, pointers);
    }
    let list = app.get(&format!("/v1/people/{id}/assignments"), Some(&root));
    assert_eq!(list.body["items"], json!([]));
    assert_eq!(app.sql_count("SELECT count(*) FROM assignments"), 0);

    // Only admins assign.
    let cadre = app.cadre_in_a(&root, "cadre-x");
    let body = assignment_body(&id, VILLAGE_A, "2026-01-01", None);
    refused(&app, "/v1/assignments", &cadre.token, &body, 403, &[]);
}

/// Today's date in the county (UTC+8), which is what the roster compares against.
fn county_today() -> Date {
    OffsetDateTime::now_utc()
        .to_offset(UtcOffset::from_hms(8, 0, 0).unwrap())
        .date()
}

fn day(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn roster_verdict_follows_the_assignment_dates(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let today = county_today();
    let yesterday = today - Duration::days(1);
    let tomorrow = today + Duration::days(1);

    let cadre_with = |username: &str, from: Date, to: Option<Date>| {
        let id = app.create_person(&root, username, "cadre", VILLAGE_A);
        app.assign(&root, &id, VILLAGE_A, &day(from), to.map(day).as_deref());
        app.login(username, CADRE_PASSWORD)
    };
    let ended = cadre_with("ended", today - Duration::days(30), Some(yesterday));
    let future = cadre_with("future", tomorrow, None);
    let ends_today = cadre_with("ends-today", today - Duration::days(30), Some(today));
    let starts_today = cadre_with("starts-today", today, Some(today));

    for token in [&ended, &future] {
        let resp = app.post(
            "/v1/records",
            Some(token),
            &check_in(A_CENTRE.0, A_CENTRE.1, 10.0),
        );
        assert_eq!(
            resp.status, 201,
            "an unrostered check-in is stored all the same: {}",
            resp.text
        );
        let verdict = &resp.body["verdict"];
        assert_eq!(verdict["roster"], "not_assigned", "{}", resp.text);
        assert_eq!(verdict["geo"], "unverifiable");
        assert_eq!(verdict["unit_code"], Value::Null);
        assert_eq!(verdict["actual_unit_code"], VILLAGE_A);
        assert_eq!(verdict["distance_to_boundary_m"], Value::Null);
    }
    for token in [&ends_today, &starts_today] {
        let resp = app.post(
            "/v1/records",
            Some(token),
            &check_in(A_CENTRE.0, A_CENTRE.1, 10.0),
        );
        assert_eq!(resp.status, 201, "{}", resp.text);
        assert_eq!(resp.body["verdict"]["roster"], "assigned", "{}", resp.text);
        assert_eq!(resp.body["verdict"]["geo"], "inside");
        assert_eq!(resp.body["verdict"]["unit_code"], VILLAGE_A);
    }

    // The date that counts is when the fix was captured, not when it arrived: a fix from
    // two days ago (noon, county time) synced now is within the ended assignment.
    let noon = yesterday - Duration::days(1);
    let mut late = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
    late["captured_at"] = json!(format!("{}T12:00:00+08:00", day(noon)));
    let resp = app.post("/v1/records", Some(&ended), &late);
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(resp.body["verdict"]["roster"], "assigned", "{}", resp.text);
    assert_eq!(resp.body["verdict"]["unit_code"], VILLAGE_A);
}

fn creating_households(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let body = json!({
        "unit_code": VILLAGE_A,
        "head_name": "  王大山 ",
        "members": 4,
        "location": {"lon": 116.911, "lat": 34.212},
    });
    let before = ledger_size(&app);
    let resp = app.post("/v1/households", Some(&root), &body);
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert!(uuid::Uuid::parse_str(resp.body["id"].as_str().unwrap()).is_ok());
    assert_eq!(resp.body["unit_code"], VILLAGE_A);
    assert_eq!(resp.body["head_name"], "王大山");
    assert_eq!(resp.body["members"], 4);
    assert_eq!(
        resp.body["location"],
        json!({"lon": 116.911, "lat": 34.212})
    );
    assert_eq!(resp.body["seq"], before + 1);
    assert_eq!(app.sql_count("SELECT count(*) FROM households"), 1);

    let with = |field: &str, value: Value| {
        let mut b = body.clone();
        b[field] = value;
        b
    };
    let cases: Vec<(Value, &[&str])> = vec![
        (with("unit_code", json!(TOWNSHIP)), &["/unit_code"]),
        (with("unit_code", json!(COUNTY)), &["/unit_code"]),
        (with("unit_code", json!("990199")), &["/unit_code"]),
        (
            with("location", json!({"lon": 116.911, "lat": 90.5})),
            &["/location/lat"],
        ),
        (
            with("location", json!({"lon": 116.911, "lat": -91.0})),
            &["/location/lat"],
        ),
        (
            with("location", json!({"lon": 181.0, "lat": 34.2})),
            &["/location/lon"],
        ),
        (
            with("location", json!({"lon": 116.911})),
            &["/location/lat"],
        ),
        (
            with("location", json!({"lon": 116.911, "lat": 34.2, "alt": 3})),
            &["/location/alt"],
        ),
        (with("members", json!(0)), &["/members"]),
        (with("members", json!(101)), &["/members"]),
        (with("members", json!(-1)), &["/members"]),
        (with("head_name", json!("  ")), &["/head_name"]),
        (with("head_name", json!("名".repeat(101))), &["/head_name"]),
        (
            with("location", json!({"lon": 200.0, "lat": 100.0})),
            &["/location/lat", "/location/lon"],
        ),
    ];
    for (bad, pointers) in cases {
        refused(&app, "/v1/households", &root, &bad, 422, pointers);
    }
    assert_eq!(app.sql_count("SELECT count(*) FROM households"), 1);

    // Only admins create households.
    let cadre = app.cadre_in_a(&root, "cadre-a");
    refused(&app, "/v1/households", &cadre.token, &body, 403, &[]);
}

both_backends!(
    creating_a_person,
    duplicate_username_is_a_conflict,
    invalid_people_are_refused_with_pointers,
    who_creates_people,
    reading_people,
    creating_assignments,
    invalid_assignments_are_refused,
    roster_verdict_follows_the_assignment_dates,
    creating_households,
);
