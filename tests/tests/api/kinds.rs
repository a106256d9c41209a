//! Record kinds beyond check-in (docs/records.md): household visits judged against the
//! household, daily logs, leave and its return, official trips, the duty rota, photos referred
//! to by hash, and the presence figures all of them feed.

#![allow(clippy::unwrap_used)]

use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::*;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};
use serde_json::{json, Value};

/// Farmland of the township between villages A and B: outside both.
const FARMLAND: (f64, f64) = (116.925, 34.21);

fn id_of(body: &Value) -> String {
    body["id"].as_str().unwrap().to_owned()
}

fn flags_of(resp: &Value) -> Vec<String> {
    resp["flags"]
        .as_array()
        .unwrap_or_else(|| panic!("no flags: {resp}"))
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect()
}

fn has_flag(resp: &Value, flag: &str) -> bool {
    flags_of(resp).iter().any(|f| f == flag)
}

/// A member absent or null (the contract says a verdict "adds" members only for some kinds).
fn absent(value: &Value) -> bool {
    value.is_null()
}

fn visit(household_id: &str, lon: f64, lat: f64, accuracy: f64) -> Value {
    record(
        "household_visit",
        json!({"household_id": household_id, "position": position(lon, lat, accuracy),
               "purpose": "了解春耕情况"}),
    )
}

fn household_visit_is_judged_against_the_household(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let home = app.household(&admin, VILLAGE_A, A_CENTRE.0, A_CENTRE.1);

    // 0.0002° of latitude is about 22 m; a 10 m circle lies wholly within the 100 m radius.
    let mut near = visit(&home, A_CENTRE.0, A_CENTRE.1 + 0.0002, 10.0);
    near["notes"] = json!("户主在家，谈了医保缴费");
    let resp = app.submit_ok(&cadre.token, &near);
    let verdict = &resp.body["verdict"];
    assert_eq!(resp.body["kind"], "household_visit");
    assert_eq!(verdict["geo"], "inside");
    assert_eq!(verdict["roster"], "assigned");
    assert_eq!(verdict["unit_code"], VILLAGE_A);
    assert_eq!(verdict["actual_unit_code"], VILLAGE_A);
    let d = verdict["household_distance_m"].as_f64().unwrap();
    assert!((17.0..28.0).contains(&d), "distance {d}");
    assert_eq!(verdict["household_check"], "inside");
    assert_eq!(verdict["at_household"], true);
    assert!(
        !has_flag(&resp.body, "unrelated_household"),
        "{}",
        resp.text
    );
    // The read gives the content as sent and the same verdict.
    let view = app.read_record(&cadre.token, &id_of(&near));
    assert_eq!(view["household_id"], home.as_str());
    assert_eq!(view["purpose"], "了解春耕情况");
    assert_eq!(view["notes"], "户主在家，谈了医保缴费");
    assert_eq!(view["verdict"], resp.body["verdict"]);

    // About 80 m away with a 50 m circle: it crosses the 100 m circle.
    let resp = app.submit_ok(
        &cadre.token,
        &visit(&home, A_CENTRE.0, A_CENTRE.1 + 0.00072, 50.0),
    );
    let verdict = &resp.body["verdict"];
    let d = verdict["household_distance_m"].as_f64().unwrap();
    assert!((70.0..90.0).contains(&d), "distance {d}");
    assert_eq!(verdict["household_check"], "boundary");
    assert_eq!(verdict["at_household"], false);
    assert_eq!(verdict["geo"], "inside");

    // About 500 m away, still inside the village.
    let resp = app.submit_ok(
        &cadre.token,
        &visit(&home, A_CENTRE.0, A_CENTRE.1 + 0.0045, 20.0),
    );
    let verdict = &resp.body["verdict"];
    let d = verdict["household_distance_m"].as_f64().unwrap();
    assert!((450.0..550.0).contains(&d), "distance {d}");
    assert_eq!(verdict["household_check"], "outside");
    assert_eq!(verdict["at_household"], false);
    assert_eq!(verdict["geo"], "inside");

    // Accuracy over the policy limit (500 m): nothing can be told.
    let resp = app.submit_ok(
        &cadre.token,
        &visit(&home, A_CENTRE.0, A_CENTRE.1 + 0.0001, 800.0),
    );
    let verdict = &resp.body["verdict"];
    assert_eq!(verdict["household_check"], "unverifiable");
    assert_eq!(verdict["at_household"], false);
    assert_eq!(verdict["geo"], "unverifiable");
    assert!(has_flag(&resp.body, "low_accuracy"), "{}", resp.text);

    // Bad visits: nothing stored, the field named.
    let unknown = uuid::Uuid::new_v4().to_string();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut body = visit(&home, A_CENTRE.0, A_CENTRE.1, 10.0);
        edit(&mut body);
        body
    };
    let cases: Vec<(Value, &[&str])> = vec![
        (
            with(&|b| b["household_id"] = json!(unknown)),
            &["/household_id"],
        ),
        (
            with(&|b| b["household_id"] = json!("not-a-uuid")),
            &["/household_id"],
        ),
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("household_id");
            }),
            &["/household_id"],
        ),
        (with(&|b| b["purpose"] = json!("")), &["/purpose"]),
        (
            with(&|b| b["purpose"] = json!("访".repeat(201))),
            &["/purpose"],
        ),
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("purpose");
            }),
            &["/purpose"],
        ),
        (with(&|b| b["notes"] = json!("x".repeat(2001))), &["/notes"]),
        (
            with(&|b| {
                b.as_object_mut().unwrap().remove("position");
            }),
            &["/position"],
        ),
    ];
    for (body, pointers) in &cases {
        app.submit_refused(&cadre.token, body, 422, pointers);
    }
    // A household id that names another kind of thing (a record) is no household either.
    app.submit_refused(
        &cadre.token,
        &with(&|b| b["household_id"] = near["id"].clone()),
        422,
        &["/household_id"],
    );
    // The boundary values are fine.
    let mut edge = with(&|b| b["purpose"] = json!("访".repeat(200)));
    edge["notes"] = json!("x".repeat(2000));
    app.submit_ok(&cadre.token, &edge);
}

fn unrelated_household_follows_villages_and_pairings(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let cadre_b = app.cadre_since(&admin, "cadre-b", VILLAGE_B, county_day(-30));
    let own = app.household(&admin, VILLAGE_A, 116.905, 34.205);
    let far = app.household(&admin, VILLAGE_B, B_CENTRE.0, B_CENTRE.1);
    let far2 = app.household(&admin, VILLAGE_B, 116.945, 34.215);

    // A household of the cadre's own village: related.
    let resp = app.submit_ok(&cadre.token, &visit(&own, 116.905, 34.2051, 10.0));
    assert!(
        !has_flag(&resp.body, "unrelated_household"),
        "{}",
        resp.text
    );
    assert_eq!(resp.body["verdict"]["at_household"], true);

    // A household of village B with no pairing: flagged, but stored and judged like any visit.
    let first = visit(&far, B_CENTRE.0, B_CENTRE.1 + 0.0001, 10.0);
    let resp = app.submit_ok(&cadre.token, &first);
    assert!(has_flag(&resp.body, "unrelated_household"), "{}", resp.text);
    assert_eq!(resp.body["verdict"]["at_household"], true);
    assert_eq!(resp.body["verdict"]["household_check"], "inside");
    assert_eq!(resp.body["verdict"]["geo"], "outside");
    assert_eq!(resp.body["verdict"]["unit_code"], VILLAGE_A);
    assert_eq!(resp.body["verdict"]["actual_unit_code"], VILLAGE_B);
    // Village B's own cadre visiting the same household is not flagged.
    let resp = app.submit_ok(
        &cadre_b.token,
        &visit(&far, B_CENTRE.0, B_CENTRE.1 + 0.0002, 10.0),
    );
    assert!(
        !has_flag(&resp.body, "unrelated_household"),
        "{}",
        resp.text
    );

    // Paired (结对帮扶) with the household: the next visit is related.
    let pairing = app.pair(&admin, &cadre.id, &far, &ymd(county_day(-1)));
    assert_eq!(pairing.status, 201, "{}", pairing.text);
    let resp = app.submit_ok(
        &cadre.token,
        &visit(&far, B_CENTRE.0, B_CENTRE.1 + 0.0003, 10.0),
    );
    assert!(
        !has_flag(&resp.body, "unrelated_household"),
        "{}",
        resp.text
    );
    // Another household of B, not paired: still unrelated.
    let resp = app.submit_ok(&cadre.token, &visit(&far2, 116.945, 34.2151, 10.0));
    assert!(has_flag(&resp.body, "unrelated_household"), "{}", resp.text);
    // The first visit keeps the answer it was given.
    let view = app.read_record(&cadre.token, &id_of(&first));
    assert!(has_flag(&view, "unrelated_household"), "{view}");
}

fn daily_log_fields(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let today = ymd(county_today());
    let log = |fields: Value| {
        let mut body = record(
            "daily_log",
            json!({"date": today, "text": "走访三户，调解一起纠纷"}),
        );
        for (key, value) in fields.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };

    // Without a position: roster only, no geo verdict.
    let plain = log(json!({
        "tasks": [
            {"title": "核对低保名单", "status": "todo"},
            {"title": "修水渠", "status": "in_progress"},
            {"title": "入户走访", "status": "done"},
        ],
    }));
    let resp = app.submit_ok(&cadre.token, &plain);
    let verdict = &resp.body["verdict"];
    assert_eq!(verdict["roster"], "assigned");
    assert_eq!(verdict["unit_code"], VILLAGE_A);
    assert!(absent(&verdict["geo"]), "{}", resp.text);
    let view = app.read_record(&cadre.token, &id_of(&plain));
    assert_eq!(view["date"], today.as_str());
    assert_eq!(view["text"], "走访三户，调解一起纠纷");
    assert_eq!(view["tasks"], plain["tasks"]);

    // With a position it is judged like any fix.
    let resp = app.submit_ok(
        &cadre.token,
        &log(json!({"position": position(A_CENTRE.0 + 0.001, A_CENTRE.1, 15.0)})),
    );
    assert_eq!(resp.body["verdict"]["geo"], "inside");
    assert_eq!(resp.body["verdict"]["actual_unit_code"], VILLAGE_A);
    let resp = app.submit_ok(
        &cadre.token,
        &log(json!({"position": position(FARMLAND.0, FARMLAND.1, 15.0)})),
    );
    assert_eq!(resp.body["verdict"]["geo"], "outside");

    // The text limit is 10,000 characters (not bytes).
    app.submit_ok(&cadre.token, &log(json!({"text": "x".repeat(10_000)})));
    app.submit_ok(&cadre.token, &log(json!({"text": "记".repeat(10_000)})));
    // 100 tasks are fine.
    let hundred: Vec<Value> = (0..100)
        .map(|i| json!({"title": format!("任务{i}"), "status": "todo"}))
        .collect();
    app.submit_ok(&cadre.token, &log(json!({"tasks": hundred})));

    let mut too_many = hundred.clone();
    too_many.push(json!({"title": "多一项", "status": "done"}));
    let mut missing_text = log(json!({}));
    missing_text.as_object_mut().unwrap().remove("text");
    let mut missing_date = log(json!({}));
    missing_date.as_object_mut().unwrap().remove("date");
    let cases: Vec<(Value, &[&str])> = vec![
        (log(json!({"text": "x".repeat(10_001)})), &["/text"]),
        (log(json!({"text": "记".repeat(10_001)})), &["/text"]),
        (log(json!({"text": ""})), &["/text"]),
        (missing_text, &["/text"]),
        (log(json!({"date": "2026-02-30"})), &["/date"]),
        (log(json!({"date": "20260301"})), &["/date"]),
        (log(json!({"date": "yesterday"})), &["/date"]),
        (missing_date, &["/date"]),
        (
            log(json!({"tasks": [{"title": "修路", "status": "done"},
                                 {"title": "修桥", "status": "blocked"}]})),
            &["/tasks/1/status"],
        ),
        (
            log(json!({"tasks": [{"title": "", "status": "done"}]})),
            &["/tasks/0/title"],
        ),
        (
            log(json!({"tasks": [{"title": "题".repeat(201), "status": "todo"}]})),
            &["/tasks/0/title"],
        ),
        (log(json!({"tasks": too_many})), &["/tasks"]),
        (
            log(json!({"position": position(A_CENTRE.0, 95.0, 10.0)})),
            &["/position/lat"],
        ),
    ];
    for (body, pointers) in &cases {
        app.submit_refused(&cadre.token, body, 422, pointers);
    }
}

fn leave_request_and_return(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let other = app.cadre_in_a(&admin, "cadre-a2");
    let leave = |from: &str, to: &str| {
        record(
            "leave_request",
            json!({"from": from, "to": to, "reason": "家中老人住院"}),
        )
    };
    let tomorrow = ymd(county_day(1));
    let today = ymd(county_today());

    // A one-day leave (from == to) is fine; it starts pending.
    let one_day = leave(&tomorrow, &tomorrow);
    let resp = app.submit_ok(&cadre.token, &one_day);
    assert_eq!(resp.body["kind"], "leave_request");
    assert_eq!(resp.body["verdict"]["roster"], "assigned");
    assert_eq!(resp.body["verdict"]["unit_code"], VILLAGE_A);
    let view = app.read_record(&cadre.token, &id_of(&one_day));
    assert_eq!(view["from"], tomorrow.as_str());
    assert_eq!(view["to"], tomorrow.as_str());
    assert_eq!(view["reason"], "家中老人住院");
    assert_eq!(view["status"], "pending");
    assert!(view["decision"].is_null(), "{view}");
    assert!(view["returned_on"].is_null(), "{view}");

    // from after to: refused, nothing stored.
    let before = app.ledger_size();
    let backwards = app.submit(&cadre.token, &leave(&ymd(county_day(3)), &tomorrow));
    backwards.problem(422);
    let pointers = backwards.pointers();
    assert!(
        !pointers.is_empty()
            && pointers
                .iter()
                .all(|p| p.as_str() == "/from" || p.as_str() == "/to"),
        "{}",
        backwards.text
    );
    assert_eq!(app.ledger_size(), before);
    let mut no_reason = leave(&tomorrow, &tomorrow);
    no_reason.as_object_mut().unwrap().remove("reason");
    let cases: Vec<(Value, &[&str])> = vec![
        (leave("2026-13-01", &tomorrow), &["/from"]),
        (leave(&tomorrow, "soon"), &["/to"]),
        (
            record(
                "leave_request",
                json!({"from": tomorrow, "to": tomorrow, "reason": ""}),
            ),
            &["/reason"],
        ),
        (
            record(
                "leave_request",
                json!({"from": tomorrow, "to": tomorrow, "reason": "因".repeat(2001)}),
            ),
            &["/reason"],
        ),
        (no_reason, &["/reason"]),
    ];
    for (body, pointers) in &cases {
        app.submit_refused(&cadre.token, body, 422, pointers);
    }

    // The return (销假) names the cadre's own leave request.
    let long = leave(&today, &ymd(county_day(5)));
    app.submit_ok(&cadre.token, &long);
    let fix = app.submit_ok(&cadre.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    let others_leave = leave(&today, &today);
    app.submit_ok(&other.token, &others_leave);
    let back = |leave_id: &Value| record("leave_return", json!({"leave_id": leave_id}));
    for leave_id in [
        json!(uuid::Uuid::new_v4().to_string()),
        json!("not-a-uuid"),
        fix.body["id"].clone(),
        others_leave["id"].clone(),
    ] {
        app.submit_refused(&cadre.token, &back(&leave_id), 422, &["/leave_id"]);
    }
    let mut no_leave = back(&long["id"]);
    no_leave.as_object_mut().unwrap().remove("leave_id");
    app.submit_refused(&cadre.token, &no_leave, 422, &["/leave_id"]);

    let mut returned = back(&long["id"]);
    returned["position"] = position(A_CENTRE.0, A_CENTRE.1 + 0.001, 10.0);
    let resp = app.submit_ok(&cadre.token, &returned);
    assert_eq!(resp.body["kind"], "leave_return");
    assert_eq!(resp.body["verdict"]["geo"], "inside");
    let view = app.read_record(&cadre.token, &id_of(&long));
    assert_eq!(view["returned_on"], today.as_str(), "{view}");
    assert_eq!(view["status"], "pending");
    // A return without a position is fine too (of the other leave).
    let resp = app.submit_ok(&cadre.token, &back(&one_day["id"]));
    assert!(absent(&resp.body["verdict"]["geo"]), "{}", resp.text);
}

fn official_trip_fields(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let from = ymd(county_day(1));
    let to = ymd(county_day(2));
    let trip = |fields: Value| {
        let mut body = record(
            "official_trip",
            json!({"from": from, "to": to, "destination": "县农业农村局",
                   "purpose": "参加高标准农田建设培训"}),
        );
        for (key, value) in fields.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let ok = trip(json!({}));
    let resp = app.submit_ok(&cadre.token, &ok);
    assert_eq!(resp.body["kind"], "official_trip");
    assert_eq!(resp.body["verdict"]["roster"], "assigned");
    let view = app.read_record(&cadre.token, &id_of(&ok));
    assert_eq!(view["destination"], "县农业农村局");
    assert_eq!(view["purpose"], "参加高标准农田建设培训");
    assert_eq!(view["from"], from.as_str());
    assert_eq!(view["to"], to.as_str());
    assert_eq!(view["status"], "pending");
    assert!(view["decision"].is_null(), "{view}");
    app.submit_ok(
        &cadre.token,
        &trip(json!({"destination": "地".repeat(200), "purpose": "目".repeat(2000)})),
    );

    let mut no_purpose = trip(json!({}));
    no_purpose.as_object_mut().unwrap().remove("purpose");
    let cases: Vec<(Value, &[&str])> = vec![
        (trip(json!({"destination": ""})), &["/destination"]),
        (
            trip(json!({"destination": "地".repeat(201)})),
            &["/destination"],
        ),
        (trip(json!({"purpose": ""})), &["/purpose"]),
        (trip(json!({"purpose": "目".repeat(2001)})), &["/purpose"]),
        (no_purpose, &["/purpose"]),
        (trip(json!({"from": "2026-02-30"})), &["/from"]),
        (trip(json!({"to": 20260301})), &["/to"]),
    ];
    for (body, pointers) in &cases {
        app.submit_refused(&cadre.token, body, 422, pointers);
    }
}

fn duty(person_id: &str, unit: &str, date: &str) -> Value {
    let mut body = record(
        "duty",
        json!({"person_id": person_id, "unit_code": unit, "date": date, "note": "防汛值班"}),
    );
    // device_id is optional for duty.
    body.as_object_mut().unwrap().remove("device_id");
    body
}

fn duty_rota_is_set_by_supervisors_and_met_by_check_ins(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let other = app.cadre_in_a(&admin, "cadre-a2");
    let super_t = app.supervisor(&admin, "super-t", TOWNSHIP);
    let super_b = app.supervisor(&admin, "super-b", VILLAGE_B);
    let today = ymd(county_today());

    // A cadre cannot put anyone on duty, not even themselves.
    let before = app.ledger_size();
    app.submit(&cadre.token, &duty(&cadre.id, VILLAGE_A, &today))
        .problem(403);
    app.submit(&cadre.token, &duty(&other.id, VILLAGE_A, &today))
        .problem(403);
    assert_eq!(app.ledger_size(), before);
    // A supervisor of village B has no say over village A.
    let resp = app.submit(&super_b, &duty(&cadre.id, VILLAGE_A, &today));
    assert!(
        resp.status == 403 || resp.status == 422,
        "duty out of scope: {}",
        resp.text
    );
    resp.problem(resp.status);
    if resp.status == 422 {
        assert_eq!(resp.pointers(), vec!["/unit_code".to_owned()]);
    }
    assert_eq!(app.ledger_size(), before);
    // Bad duty entries name the field.
    let cases: Vec<(Value, &[&str])> = vec![
        (
            duty(&uuid::Uuid::new_v4().to_string(), VILLAGE_A, &today),
            &["/person_id"],
        ),
        (duty(&cadre.id, TOWNSHIP, &today), &["/unit_code"]),
        (duty(&cadre.id, "990101999", &today), &["/unit_code"]),
        (duty(&cadre.id, VILLAGE_A, "2026-02-30"), &["/date"]),
    ];
    for (body, pointers) in &cases {
        app.submit_refused(&super_t, body, 422, pointers);
    }

    // The township's supervisor puts the cadre on duty today, without a device id.
    let rota = duty(&cadre.id, VILLAGE_A, &today);
    let resp = app.submit_ok(&super_t, &rota);
    assert_eq!(resp.body["kind"], "duty");
    assert_eq!(resp.body["seq"], app.ledger_size());
    let duty_id = id_of(&rota);
    let view = app.read_record(&super_t, &duty_id);
    // The record is the supervisor's; the cadre on duty is named apart.
    assert_eq!(view["person_id"], token_subject(&super_t).as_str());
    assert_eq!(view["duty_person_id"], cadre.id.as_str());
    assert_eq!(view["date"], today.as_str());
    assert_eq!(view["unit_code"], VILLAGE_A);

    // The cadre's check-in and check-out today carry the duty.
    let resp = app.submit_ok(&cadre.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    assert_eq!(resp.body["verdict"]["duty_id"], duty_id.as_str());
    let view = app.read_record(&cadre.token, &id_of(&resp.body));
    assert_eq!(view["verdict"]["duty_id"], duty_id.as_str());
    let out = record(
        "check_out",
        json!({"position": position(A_CENTRE.0, A_CENTRE.1 + 0.0005, 10.0)}),
    );
    let resp = app.submit_ok(&cadre.token, &out);
    assert_eq!(resp.body["verdict"]["duty_id"], duty_id.as_str());
    // Not another day's check-in, and not another cadre's.
    let yesterday = check_in_at(A_CENTRE.0, A_CENTRE.1, 10.0, &captured_on(county_day(-1)));
    let resp = app.submit_ok(&cadre.token, &yesterday);
    assert!(absent(&resp.body["verdict"]["duty_id"]), "{}", resp.text);
    let resp = app.submit_ok(&other.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    assert!(absent(&resp.body["verdict"]["duty_id"]), "{}", resp.text);

    // An admin may set duty too.
    app.submit_ok(&admin, &duty(&other.id, VILLAGE_A, &ymd(county_day(1))));
}

/// How many records a presence line counts (`records` may be a number or a list).
fn records_on(line: &Value) -> usize {
    match &line["records"] {
        Value::Number(n) => n.as_u64().unwrap() as usize,
        Value::Array(items) => items.len(),
        other => panic!("records: {other} in {line}"),
    }
}

fn presence_comes_from_every_geotagged_record(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_since(&admin, "cadre-a", VILLAGE_A, county_day(-10));
    let super_t = app.supervisor(&admin, "super-t", TOWNSHIP);
    let home = app.household(&admin, VILLAGE_A, 116.905, 34.215);
    let at = |days: i64| captured_on(county_day(days));
    let inside = |days: i64, lon: f64| check_in_at(lon, 34.21, 10.0, &at(days));

    // -10: a check-in inside.
    app.submit_ok(&cadre.token, &inside(-10, 116.91));
    // -9: only a household visit.
    let mut v = visit(&home, 116.905, 34.2151, 10.0);
    v["captured_at"] = json!(at(-9));
    app.submit_ok(&cadre.token, &v);
    // -8: only a daily log with a position.
    app.submit_ok(
        &cadre.token,
        &record(
            "daily_log",
            json!({"date": ymd(county_day(-8)), "text": "整理档案", "captured_at": at(-8),
                   "position": position(116.912, 34.212, 20.0)}),
        ),
    );
    // -7: a daily log without a position, and a duty not met.
    app.submit_ok(
        &cadre.token,
        &record(
            "daily_log",
            json!({"date": ymd(county_day(-7)), "text": "在家整理材料", "captured_at": at(-7)}),
        ),
    );
    let missed_duty = duty(&cadre.id, VILLAGE_A, &ymd(county_day(-7)));
    app.submit_ok(&super_t, &missed_duty);
    // -6: check-ins on the farmland and in village B: not in an assigned village.
    app.submit_ok(
        &cadre.token,
        &check_in_at(FARMLAND.0, FARMLAND.1, 10.0, &at(-6)),
    );
    app.submit_ok(
        &cadre.token,
        &check_in_at(B_CENTRE.0, B_CENTRE.1, 10.0, &at(-6)),
    );
    // -5..-3: approved leave, returned on -3.
    let leave = record(
        "leave_request",
        json!({"from": ymd(county_day(-5)), "to": ymd(county_day(-3)), "reason": "探亲",
               "captured_at": at(-6)}),
    );
    app.submit_ok(&cadre.token, &leave);
    let decided = app.decide(&super_t, "leave", &id_of(&leave), "approved", None);
    assert_eq!(decided.status, 201, "{}", decided.text);
    app.submit_ok(
        &cadre.token,
        &record(
            "leave_return",
            json!({"leave_id": leave["id"], "captured_at": at(-3)}),
        ),
    );
    // -2: leave requested but never decided.
    app.submit_ok(
        &cadre.token,
        &record(
            "leave_request",
            json!({"from": ymd(county_day(-2)), "to": ymd(county_day(-2)), "reason": "看病",
                   "captured_at": at(-3)}),
        ),
    );
    // -1: an approved official trip.
    let trip = record(
        "official_trip",
        json!({"from": ymd(county_day(-1)), "to": ymd(county_day(-1)),
               "destination": "市里", "purpose": "培训", "captured_at": at(-2)}),
    );
    app.submit_ok(&cadre.token, &trip);
    let decided = app.decide(&super_t, "trips", &id_of(&trip), "approved", None);
    assert_eq!(decided.status, 201, "{}", decided.text);
    // Today: on duty and checked in.
    let todays_duty = duty(&cadre.id, VILLAGE_A, &ymd(county_today()));
    app.submit_ok(&super_t, &todays_duty);
    app.submit_ok(&cadre.token, &inside(0, 116.915));

    let presence = app.presence(&admin, &cadre.id, county_day(-12), county_today());
    let days = presence_days(&presence);
    assert_eq!(days.len(), 13, "{presence}");
    let expected = [
        (-12, "not_assigned"),
        (-11, "not_assigned"),
        (-10, "present"),
        (-9, "present"),
        (-8, "present"),
        (-7, "absent"),
        (-6, "absent"),
        (-5, "leave"),
        (-4, "leave"),
        (-3, "absent"),
        (-2, "absent"),
        (-1, "trip"),
        (0, "present"),
    ];
    for (offset, status) in expected {
        let date = county_day(offset);
        assert_eq!(
            presence_status(&presence, date),
            status,
            "day {offset} ({}): {presence}",
            ymd(date)
        );
    }
    // `records` counts the day's geotagged records at least (whether a log without a position
    // counts is not specified, so day -7 is not checked).
    for offset in [-10, -9, -8, -6, 0] {
        let line = presence_day(&presence, county_day(offset));
        assert!(records_on(&line) >= 1, "day {offset}: {line}");
    }
    for offset in [-12, -11] {
        let line = presence_day(&presence, county_day(offset));
        assert_eq!(records_on(&line), 0, "day {offset}: {line}");
    }
    // Days are in order, one per date.
    let dates: Vec<&str> = days.iter().map(|d| d["date"].as_str().unwrap()).collect();
    let wanted: Vec<String> = (-12..=0).map(|o| ymd(county_day(o))).collect();
    assert_eq!(dates, wanted);

    // Duty days carry the rota entry and whether it was met.
    let missed = presence_day(&presence, county_day(-7));
    assert_eq!(missed["duty_id"], id_of(&missed_duty).as_str(), "{missed}");
    assert_eq!(missed["duty_met"], false, "{missed}");
    let met = presence_day(&presence, county_today());
    assert_eq!(met["duty_id"], id_of(&todays_duty).as_str(), "{met}");
    assert_eq!(met["duty_met"], true, "{met}");
    let plain = presence_day(&presence, county_day(-10));
    assert!(absent(&plain["duty_id"]), "{plain}");

    let totals = &presence["totals"];
    let total = |status: &str| totals[status].as_i64().unwrap_or(0);
    assert_eq!(total("present"), 4, "{totals}");
    assert_eq!(total("absent"), 4, "{totals}");
    assert_eq!(total("leave"), 2, "{totals}");
    assert_eq!(total("trip"), 1, "{totals}");
    assert_eq!(total("not_assigned"), 2, "{totals}");

    // A narrower window gives just its days.
    let one = app.presence(&admin, &cadre.id, county_day(-5), county_day(-5));
    assert_eq!(presence_days(&one).len(), 1, "{one}");
    assert_eq!(presence_status(&one, county_day(-5)), "leave");

    // Bad windows are refused.
    let path =
        |from: &str, to: &str| format!("/v1/people/{}/presence?from={from}&to={to}", cadre.id);
    let today = county_today();
    for (from, to) in [
        (ymd(today - time::Duration::days(366)), ymd(today)), // 367 days
        (ymd(today), ymd(county_day(-1))),
        ("2026-02-30".to_owned(), ymd(today)),
    ] {
        let resp = app.get(&path(&from, &to), Some(&admin));
        resp.problem(422);
        assert!(!resp.pointers().is_empty(), "{}", resp.text);
    }
    let year = app.presence(&admin, &cadre.id, today - time::Duration::days(365), today);
    assert_eq!(presence_days(&year).len(), 366);
}

fn photos_are_referred_to_by_hash(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let png = tiny_png();
    let sha = sha256_hex(&png);
    let uploaded = app.upload(&cadre.token, "image/png", &png);
    assert_eq!(uploaded.status, 201, "{}", uploaded.text);
    assert_eq!(uploaded.body["sha256"], sha.as_str());
    assert_eq!(uploaded.body["size"], png.len());
    assert_eq!(uploaded.body["media_type"], "image/png");

    let mut body = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
    body["attachments"] = json!([sha]);
    let resp = app.submit_ok(&cadre.token, &body);
    let view = app.read_record(&cadre.token, &id_of(&body));
    assert_eq!(view["attachments"], json!([sha]));
    // The hash is in the ledger entry's header (hex or raw bytes).
    let entry = app.ledger_entry(&admin, resp.body["seq"].as_i64().unwrap());
    use base64::Engine;
    let header = base64::engine::general_purpose::STANDARD
        .decode(entry["body"].as_str().unwrap())
        .unwrap();
    let raw = hex::decode(&sha).unwrap();
    assert!(
        header.windows(sha.len()).any(|w| w == sha.as_bytes())
            || header.windows(raw.len()).any(|w| w == raw.as_slice()),
        "the entry header does not name the photo"
    );

    // A visit and a log may carry the photo too.
    let home = app.household(&admin, VILLAGE_A, A_CENTRE.0, A_CENTRE.1);
    let mut v = visit(&home, A_CENTRE.0, A_CENTRE.1, 10.0);
    v["attachments"] = json!([sha]);
    app.submit_ok(&cadre.token, &v);
    let log = record(
        "daily_log",
        json!({"date": ymd(county_today()), "text": "照片见附件", "attachments": [sha]}),
    );
    app.submit_ok(&cadre.token, &log);

    // Unknown or malformed hashes are named by index; nothing is stored.
    let unknown = sha256_hex(b"never uploaded");
    let with = |attachments: Value| {
        let mut body = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
        body["attachments"] = attachments;
        body
    };
    let cases: Vec<(Value, &[&str])> = vec![
        (with(json!([unknown])), &["/attachments/0"]),
        (with(json!([sha, unknown])), &["/attachments/1"]),
        (with(json!(["xyz"])), &["/attachments/0"]),
        (with(json!(["g".repeat(64)])), &["/attachments/0"]),
    ];
    for (body, pointers) in &cases {
        app.submit_refused(&cadre.token, body, 422, pointers);
    }
    // More than ten is refused as a whole.
    let before = app.ledger_size();
    let eleven: Vec<String> = (0..11)
        .map(|i| sha256_hex(format!("{i}").as_bytes()))
        .collect();
    let resp = app.submit(&cadre.token, &with(json!(eleven)));
    resp.problem(422);
    assert!(
        resp.pointers()
            .iter()
            .all(|p| p.starts_with("/attachments"))
            && !resp.pointers().is_empty(),
        "{}",
        resp.text
    );
    assert_eq!(app.ledger_size(), before);
    // No photo is fine: photos are optional evidence.
    app.submit_ok(&cadre.token, &with(json!([])));
}

both_backends!(
    household_visit_is_judged_against_the_household,
    unrelated_household_follows_villages_and_pairings,
    daily_log_fields,
    leave_request_and_return,
    official_trip_fields,
    duty_rota_is_set_by_supervisors_and_met_by_check_ins,
    presence_comes_from_every_geotagged_record,
    photos_are_referred_to_by_hash,
);
