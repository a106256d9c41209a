//! GET /v1/people/{id}/archive: the cadre's 档案 — identity, assignments, monthly summaries,
//! spot-checks, leave and trips, corrections and disputes, negative-list items, escalation and
//! supervisors' notes, over the months asked for.

use super::*;
use fieldtrail_tests::both_backends;
use fieldtrail_tests::Backend;

/// The first array in an answer (a list endpoint's items, whatever the member is called).
fn list_in(body: &Value) -> Vec<Value> {
    if let Some(items) = body.as_array() {
        return items.clone();
    }
    body.as_object()
        .and_then(|o| o.values().find(|v| v.is_array()))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| panic!("no list in {body}"))
}

fn by_id<'a>(items: &'a Value, id: &str) -> &'a Value {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items}"))
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {items}"))
}

fn month<'a>(archive: &'a Value, name: &str) -> &'a Value {
    archive["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["month"] == name)
        .unwrap_or_else(|| panic!("no month {name}: {archive}"))
}

fn months_of(archive: &Value) -> Vec<String> {
    archive["months"]
        .as_array()
        .unwrap_or_else(|| panic!("no months: {archive}"))
        .iter()
        .map(|m| m["month"].as_str().unwrap().to_owned())
        .collect()
}

fn the_archive_holds_the_whole_record(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    more_units(&app, &admin);
    let (sup_id, sup) = app.person_with_token(&admin, "sup-t", "supervisor", TOWNSHIP);
    let sup_o = app.supervisor(&admin, "sup-o", OTHER_TOWNSHIP);
    let cadre = cadre_with(
        &app,
        &admin,
        "x-archive",
        VILLAGE_A,
        &[
            (VILLAGE_A, "2026-09-01", Some("2026-10-15")),
            (VILLAGE_B, "2026-10-16", None),
        ],
    );
    let other = cadre_with(
        &app,
        &admin,
        "x-other",
        VILLAGE_A,
        &[(VILLAGE_A, "2020-01-01", None)],
    );
    let household = app.household(&admin, VILLAGE_A, 116.905, 34.215);
    let pairing_id = pairing(&app, &admin, &cadre.id, &household, "2026-09-01", None);

    // Noon in A on Oct 1–3; Oct 5 07:00 on the farmland, corrected into A (approved Oct 8).
    let mut outside = fix(A_CENTRE, d("2026-10-05"), 7, 0);
    outside["position"] = json!({"lon": FARMLAND.0, "lat": FARMLAND.1, "accuracy_m": 10.0});
    let mut records = noons(A_CENTRE, &days("2026-10-01", "2026-10-03"));
    records.push(outside.clone());
    send(&app, &cadre.token, records);
    let leave = request(
        &app,
        &cadre,
        &sup,
        "leave_request",
        "2026-10-06",
        "2026-10-07",
        "2026-10-05",
        Some("approved"),
    );
    let (lon, lat) = point_in(A_CENTRE);
    let correction = record(
        "correction",
        json!({"amends": outside["id"], "reason": "定位漂移", "corrected":
               {"position": {"lon": lon, "lat": lat, "accuracy_m": 10.0}},
               "captured_at": rfc3339(at(d("2026-10-08"), 9, 0))}),
    );
    send_at(&app, &cadre.token, &correction, at(d("2026-10-08"), 9, 1));
    let resp = app.decide(
        &sup,
        "corrections",
        &id_of(&correction),
        "approved",
        Some("属实"),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let trip = request(
        &app,
        &cadre,
        &sup,
        "official_trip",
        "2026-10-20",
        "2026-10-21",
        "2026-10-19",
        Some("rejected"),
    );
    // Oct 22 (in B): absent at a phone check; disputed, rejected.
    let absent = phone_check(&app, &sup, &cadre.id, "absent", "2026-10-22", 10);
    let disputed = dispute(&app, &cadre, &absent, "2026-10-22", 12);
    app.clock.set(at(d("2026-10-23"), 9, 0));
    let resp = app.decide(
        &sup,
        "disputes",
        &disputed,
        "rejected",
        Some("电话记录为证"),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    // A supervisor's note on Nov 5.
    let mut note = record(
        "note",
        json!({"person_id": cadre.id, "category": "assessment", "text": "季度考核：良好",
               "captured_at": rfc3339(at(d("2026-11-05"), 9, 0))}),
    );
    note.as_object_mut().unwrap().remove("device_id");
    send_at(&app, &sup, &note, at(d("2026-11-05"), 9, 1));
    read_today(&app);
    let absent_item = format!("spot_check_absent:{absent}");
    let resp = app.post(
        &format!("/v1/negative-items/{absent_item}/decision"),
        Some(&sup),
        &json!({"decision": "confirmed", "note": "属实"}),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let action = app.post(
        &format!("/v1/people/{}/escalation-actions", cadre.id),
        Some(&sup),
        &json!({"level": 1, "note": "组织学习", "taken_on": "2026-11-25"}),
    );
    assert_eq!(action.status, 201, "{}", action.text);

    let path = format!("/v1/people/{}/archive?from=2026-09&to=2026-11", cadre.id);
    let archive = get_ok(&app, &sup, &path);
    assert_no_forbidden_keys(&archive, "archive");
    assert_eq!(
        archive["person"],
        get_ok(&app, &sup, &format!("/v1/people/{}", cadre.id))
    );
    let assignments = archive["assignments"].as_array().unwrap();
    let shown: Vec<Value> = assignments
        .iter()
        .map(|a| json!([a["unit_code"], a["role"], a["valid_from"], a["valid_to"]]))
        .collect();
    assert_eq!(
        shown,
        [
            json!([VILLAGE_A, "team_member", "2026-09-01", "2026-10-15"]),
            json!([VILLAGE_B, "team_member", "2026-10-16", null]),
        ]
    );
    assert!(assignments.iter().all(|a| a["id"].is_string()), "{archive}");
    let pairings = list_in(&get_ok(
        &app,
        &sup,
        &format!("/v1/people/{}/pairings", cadre.id),
    ));
    assert_eq!(archive["pairings"], json!(pairings));
    assert_eq!(archive["pairings"][0]["id"], pairing_id.as_str());

    // Months with an assigned day, each the compliance row over all assignments.
    assert_eq!(months_of(&archive), ["2026-09", "2026-10", "2026-11"]);
    // September: 30 days: 150/7 = 21.43 → 21 days, 120/7 = 17.14 → 17 nights, nothing sent;
    // the household paired Sep 1: 30 − 1 = 29 days ≤ 30.
    assert_row(
        month(&archive, "2026-09"),
        Figures {
            assigned: 30,
            required_days: Some(21),
            required_nights: Some(17),
            ..Figures::default()
        },
        &[
            "days_below:days_per_week:21:0",
            "nights_below:nights_per_week:17:0",
        ],
    );
    // October: 31 days, leave Oct 6–7 (the trip was rejected), 29 available: 145/7 = 20.71 →
    // 21, 116/7 = 16.57 → 17. Present Oct 1, 2, 3 and 5 (corrected) = 4. Household: Sep 1 →
    // Oct 31 = 60 > 30. The absence of Oct 22 (dispute rejected).
    let october = month(&archive, "2026-10");
    assert_row(
        october,
        Figures {
            assigned: 31,
            leave: 2,
            present: 4,
            days: 4,
            required_days: Some(21),
            required_nights: Some(17),
            ..Figures::default()
        },
        &[
            "days_below:days_per_week:21:4",
            "nights_below:nights_per_week:17:0",
            &format!("household_overdue:{household}:60:30"),
            &format!("spot_check_absent:{absent}"),
        ],
    );
    assert_eq!(
        october["villages"].as_array().unwrap().len(),
        2,
        "{october}"
    );
    // November: 30 days in B; household Sep 1 → Nov 30 = 29 + 31 + 30 = 90.
    assert_row(
        month(&archive, "2026-11"),
        Figures {
            assigned: 30,
            required_days: Some(21),
            required_nights: Some(17),
            ..Figures::default()
        },
        &[
            "days_below:days_per_week:21:0",
            "nights_below:nights_per_week:17:0",
            &format!("household_overdue:{household}:90:30"),
        ],
    );

    let check = by_id(&archive["spot_checks"], &absent);
    assert_eq!(
        (&check["kind"], &check["outcome"]),
        (&json!("spot_check.outcome"), &json!("absent"))
    );
    assert_eq!(
        check["dispute"],
        json!({"id": disputed, "status": "rejected"})
    );
    assert_eq!(archive["spot_checks"].as_array().unwrap().len(), 1);

    assert_eq!(
        archive["leave"].as_array().unwrap().len(),
        2,
        "{}",
        archive["leave"]
    );
    let shown = by_id(&archive["leave"], &leave);
    assert_eq!(
        json!([
            shown["kind"],
            shown["from"],
            shown["to"],
            shown["status"],
            shown["decision"]["decision"]
        ]),
        json!([
            "leave_request",
            "2026-10-06",
            "2026-10-07",
            "approved",
            "approved"
        ])
    );
    let shown = by_id(&archive["leave"], &trip);
    assert_eq!(
        json!([
            shown["kind"],
            shown["from"],
            shown["to"],
            shown["status"],
            shown["decision"]["decision"]
        ]),
        json!([
            "official_trip",
            "2026-10-20",
            "2026-10-21",
            "rejected",
            "rejected"
        ])
    );

    assert_eq!(archive["corrections"].as_array().unwrap().len(), 2);
    let shown = by_id(&archive["corrections"], &id_of(&correction));
    assert_eq!(
        json!([
            shown["kind"],
            shown["refers_to"],
            shown["status"],
            shown["decision"]["note"]
        ]),
        json!(["correction", outside["id"], "approved", "属实"])
    );
    let shown = by_id(&archive["corrections"], &disputed);
    assert_eq!(
        json!([
            shown["kind"],
            shown["refers_to"],
            shown["status"],
            shown["decision"]["note"]
        ]),
        json!(["dispute", absent, "rejected", "电话记录为证"])
    );

    // Items of the months shown, proposed and decided: residency each month (all ended), the
    // household in October and November, the confirmed absence.
    let mut items: Vec<String> = archive["negative_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    items.sort();
    let residency = |m: &str| format!("residency_below:{m}:{}", cadre.id);
    let overdue = |m: &str| format!("visit_overdue:{m}:{pairing_id}");
    assert_eq!(
        items,
        sorted(&[
            &residency("2026-09"),
            &residency("2026-10"),
            &residency("2026-11"),
            &overdue("2026-10"),
            &overdue("2026-11"),
            &absent_item,
        ])
    );
    assert_eq!(
        by_id(&archive["negative_items"], &absent_item)["status"],
        "confirmed"
    );
    assert_eq!(
        by_id(&archive["negative_items"], &residency("2026-10"))["status"],
        "proposed"
    );

    // One confirmed item in the default 365-day window: level 1, 学习; the action taken.
    let escalation = &archive["escalation"];
    assert_eq!(
        json!([
            escalation["count"],
            escalation["level"],
            escalation["name"],
            escalation["window_days"]
        ]),
        json!([1, 1, "学习", 365])
    );
    assert_eq!(escalation["actions"], json!([action.body]));

    let notes = archive["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{archive}");
    assert_eq!(notes[0]["id"], note["id"]);
    assert_eq!(notes[0]["category"], "assessment");
    assert_eq!(notes[0]["text"], "季度考核：良好");
    assert_eq!(notes[0]["by"], sup_id.as_str());
    assert!(notes[0]["attachment"].is_null());
    assert!(notes[0]["captured_at"].is_string());

    // The cadre reads their own archive; others without a say cannot.
    let own = get_ok(&app, &cadre.token, &path);
    assert_eq!(months_of(&own), months_of(&archive));
    for token in [&other.token, &sup_o] {
        app.get(&path, Some(token)).problem(403);
    }
    app.get(
        &format!("/v1/people/{}/archive", uuid::Uuid::new_v4()),
        Some(&admin),
    )
    .problem(404);
    // Default: the 12 months ending with the current month (2026-01 .. 2026-12), of which
    // Sep–Dec have assigned days.
    let default = get_ok(&app, &sup, &format!("/v1/people/{}/archive", cadre.id));
    assert_eq!(
        months_of(&default),
        ["2026-09", "2026-10", "2026-11", "2026-12"]
    );
    // At most 24 months; months well-formed and in order.
    let range = |from: &str, to: &str| {
        app.get(
            &format!("/v1/people/{}/archive?from={from}&to={to}", cadre.id),
            Some(&sup),
        )
    };
    assert_eq!(range("2025-01", "2026-12").status, 200);
    range("2024-12", "2026-12").problem(422);
    range("2026-11", "2026-10").problem(422);
    let resp = range("2026-13", "2026-12");
    resp.problem(422);
    assert_eq!(resp.pointers(), ["/from"], "{}", resp.text);
    let resp = range("2026-09", "next");
    resp.problem(422);
    assert_eq!(resp.pointers(), ["/to"], "{}", resp.text);
    // A month range with nothing assigned has no months.
    let empty = get_ok(
        &app,
        &sup,
        &format!("/v1/people/{}/archive?from=2026-01&to=2026-03", cadre.id),
    );
    assert_eq!(empty["months"], json!([]));
}

both_backends!(the_archive_holds_the_whole_record);
