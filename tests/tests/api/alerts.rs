//! Alerts raised by the writer with the record that caused them (docs/alerts.md): outside,
//! not assigned, mock location, impossible speed; switched per unit by the policy `alerts`;
//! listed within scope and acknowledged with a note.

use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::*;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

/// A check-in at a position, 10 m accuracy, captured `at`.
fn fix(lon: f64, lat: f64, at: OffsetDateTime) -> Value {
    check_in_at(lon, lat, 10.0, &rfc3339(at))
}

fn alerts(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let resp = app.get(&format!("/v1/alerts{query}"), Some(token));
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["alerts"].as_array().unwrap().clone()
}

/// (kind, source record id) of each alert, sorted.
fn kinds(list: &[Value]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = list
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_owned(),
                a["source_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn id_of(body: &Value) -> String {
    body["id"].as_str().unwrap().to_owned()
}

fn each_trigger_raises_its_alert_with_the_record(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let sup_a = app.supervisor(&admin, "sup-a", VILLAGE_A);
    let sup_b = app.supervisor(&admin, "sup-b", VILLAGE_B);
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let t0 = OffsetDateTime::now_utc() - Duration::hours(3);

    // Inside: no alert.
    let inside = fix(A_CENTRE.0, A_CENTRE.1, t0);
    app.submit_ok(&cadre.token, &inside);
    // In village B, not one of theirs: outside.
    let outside = fix(B_CENTRE.0, B_CENTRE.1, t0 + Duration::hours(1));
    app.submit_ok(&cadre.token, &outside);
    // Back in A with a mocked position: inside, but mock_location.
    let mut mocked = fix(A_CENTRE.0, A_CENTRE.1, t0 + Duration::minutes(130));
    mocked["position"]["mock"] = json!(true);
    app.submit_ok(&cadre.token, &mocked);
    // 30 km north five minutes later: outside and impossible_speed.
    let fast = fix(A_CENTRE.0, A_CENTRE.1 + 0.27, t0 + Duration::minutes(135));
    let answer = app.submit_ok(&cadre.token, &fast);
    assert!(
        answer.body["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("impossible_speed")),
        "{}",
        answer.text
    );
    // Someone whose assignment starts tomorrow: not assigned (and unverifiable, so no outside).
    let future = app.cadre_since(&admin, "cadre-future", VILLAGE_A, county_day(1));
    let unassigned = fix(A_CENTRE.0, A_CENTRE.1, t0 + Duration::hours(2));
    app.submit_ok(&future.token, &unassigned);

    let mut expected = vec![
        ("record.outside".to_owned(), id_of(&outside)),
        ("record.mock_location".to_owned(), id_of(&mocked)),
        ("record.outside".to_owned(), id_of(&fast)),
        ("record.impossible_speed".to_owned(), id_of(&fast)),
        ("record.not_assigned".to_owned(), id_of(&unassigned)),
    ];
    expected.sort();
    let list = alerts(&app, &admin, "");
    assert_eq!(kinds(&list), expected, "{list:?}");
    // Each alert is in the same transaction as its record: it names the record's entry.
    for alert in &list {
        let record = app.read_record(&admin, alert["source_id"].as_str().unwrap());
        assert_eq!(alert["seq"], record["seq"], "{alert}");
        assert_eq!(alert["status"], "open");
        assert!(alert["person_id"].is_string(), "{alert}");
        assert_eq!(alert["ack"], Value::Null);
    }
    // Scope: the outside check-in in village B is judged by the cadre's own villages, so it
    // belongs to village A's supervisors (the unit the record was judged against is none, so
    // the cadre's home unit); village B's supervisor sees none of them.
    assert_eq!(alerts(&app, &sup_a, "").len(), 5);
    assert_eq!(alerts(&app, &sup_b, ""), Vec::<Value>::new());
    // A cadre may not list alerts.
    app.get("/v1/alerts", Some(&cadre.token)).problem(403);
}

fn the_policy_switches_triggers_per_unit(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let resp = app.put(
        &format!("/v1/units/{VILLAGE_A}/policy"),
        Some(&admin),
        &json!({"alerts": {"outside": false}}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(
        resp.body["policy"]["alerts"],
        json!({"outside": false, "not_assigned": true, "mock_location": true,
               "impossible_speed": true, "spot_check_absent": true, "spot_check_missed": true,
               "household_denied": true, "negative_item_proposed": true}),
        "keys an override leaves out stay on"
    );
    let t0 = OffsetDateTime::now_utc() - Duration::hours(2);
    let outside = fix(B_CENTRE.0, B_CENTRE.1, t0);
    app.submit_ok(&cadre.token, &outside);
    let mut mocked = fix(A_CENTRE.0, A_CENTRE.1, t0 + Duration::hours(1));
    mocked["position"]["mock"] = json!(true);
    app.submit_ok(&cadre.token, &mocked);
    let list = alerts(&app, &admin, "");
    assert_eq!(
        kinds(&list),
        [("record.mock_location".to_owned(), id_of(&mocked))],
        "outside is off in village A: {list:?}"
    );
    // A bad switch is named.
    let resp = app.put(
        &format!("/v1/units/{VILLAGE_A}/policy"),
        Some(&admin),
        &json!({"alerts": {"outside": "no", "late": true}}),
    );
    resp.problem(422);
    let mut pointers = resp.pointers();
    pointers.sort();
    assert_eq!(pointers, ["/alerts/late", "/alerts/outside"]);
}

fn an_alert_is_acknowledged_once_with_a_note(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let sup_a = app.supervisor(&admin, "sup-a", VILLAGE_A);
    let sup_b = app.supervisor(&admin, "sup-b", VILLAGE_B);
    let (_, inspector) = app.person_with_token(&admin, "insp", "inspector", COUNTY);
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let outside = fix(
        B_CENTRE.0,
        B_CENTRE.1,
        OffsetDateTime::now_utc() - Duration::hours(1),
    );
    app.submit_ok(&cadre.token, &outside);
    let list = alerts(&app, &sup_a, "");
    assert_eq!(list.len(), 1);
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/alerts/{id}/ack");
    let note = json!({"note": "电话核实：当天在乙村协助工作"});

    // Refused, and nothing stored: no note, a cadre, an inspector (reads only), another
    // village's supervisor (the alert is not theirs to see), an unknown alert.
    let before = app.ledger_size();
    app.post(&path, Some(&sup_a), &json!({})).problem(422);
    assert_eq!(
        app.post(&path, Some(&sup_a), &json!({"note": ""}))
            .pointers(),
        ["/note"]
    );
    app.post(&path, Some(&cadre.token), &note).problem(403);
    app.post(&path, Some(&inspector), &note).problem(403);
    app.post(&path, Some(&sup_b), &note).problem(404);
    app.post("/v1/alerts/no-such-alert/ack", Some(&sup_a), &note)
        .problem(404);
    assert_eq!(app.ledger_size(), before);

    let resp = app.post(&path, Some(&sup_a), &note);
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["status"], "acknowledged");
    let seq = resp.body["ack"]["seq"].as_i64().unwrap();
    assert_eq!(app.ledger_size(), before + 1);
    let header = app.entry_header(&admin, seq);
    assert_eq!(header["kind"], "alert.ack", "{header}");
    // Once only.
    app.post(&path, Some(&sup_a), &note).problem(409);

    let listed = alerts(&app, &sup_a, "?status=acknowledged");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["ack"]["note"], note["note"]);
    assert_eq!(listed[0]["ack"]["seq"], seq);
    assert!(listed[0]["ack"]["by"].is_string());
    assert_eq!(alerts(&app, &sup_a, "?status=open"), Vec::<Value>::new());
}

both_backends!(
    each_trigger_raises_its_alert_with_the_record,
    the_policy_switches_triggers_per_unit,
    an_alert_is_acknowledged_once_with_a_note
);

/// Last month, `YYYY-MM`, by the county calendar.
fn last_month() -> String {
    let first = county_today().replace_day(1).unwrap();
    let last = first.previous_day().unwrap();
    format!("{:04}-{:02}", last.year(), u8::from(last.month()))
}

fn a_proposed_negative_item_raises_one_alert(backend: Backend) {
    let Some(app) =
        TestApp::spawn_watching_proposals(backend, std::time::Duration::from_millis(300))
    else {
        return;
    };
    let admin = app.with_county();
    // Village B switches the trigger off; its cadre's item raises nothing.
    let resp = app.put(
        &format!("/v1/units/{VILLAGE_B}/policy"),
        Some(&admin),
        &json!({"alerts": {"negative_item_proposed": false}}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let b_id = app.create_person(&admin, "cadre-b", "cadre", VILLAGE_B);
    app.assign(&admin, &b_id, VILLAGE_B, "2020-01-01", None);
    // Nobody was present last month: each cadre's month is below the residency rule.
    let month = last_month();
    let items = app.get(
        &format!("/v1/units/{COUNTY}/negative-items?month={month}"),
        Some(&admin),
    );
    assert_eq!(items.status, 200, "{}", items.text);
    let item_of = |person: &str| -> String {
        items.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["person_id"] == person && i["rule"] == "residency_below")
            .unwrap_or_else(|| panic!("no residency_below item for {person}: {}", items.text))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let a_item = item_of(&cadre.id);
    let b_item = item_of(&b_id);
    let proposed = |app: &TestApp| -> Vec<Value> {
        alerts(app, &admin, "")
            .into_iter()
            .filter(|a| a["kind"] == "negative_item.proposed")
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while proposed(&app).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no proposal alert");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Several more looks: still exactly one alert for the item.
    std::thread::sleep(std::time::Duration::from_millis(1_200));
    let raised = proposed(&app);
    let sources: Vec<&str> = raised
        .iter()
        .filter_map(|a| a["source_id"].as_str())
        .collect();
    assert_eq!(
        sources.iter().filter(|s| **s == a_item).count(),
        1,
        "{raised:?}"
    );
    assert!(!sources.contains(&b_item.as_str()), "{raised:?}");
    let alert = raised.iter().find(|a| a["source_id"] == a_item).unwrap();
    assert_eq!(alert["person_id"], cadre.id.as_str());
    assert_eq!(alert["unit_code"], VILLAGE_A);
    assert_eq!(alert["detail"]["rule"], "residency_below");
    assert_eq!(alert["detail"]["month"], month.as_str());
    let header = app.entry_header(&admin, alert["seq"].as_i64().unwrap());
    assert_eq!(header["kind"], "negative_item.proposed");
    // For review like any alert: acknowledged with a note; the item itself stays proposed.
    let ack = app.post(
        &format!("/v1/alerts/{}/ack", alert["id"].as_str().unwrap()),
        Some(&admin),
        &json!({"note": "will talk to the cadre"}),
    );
    assert_eq!(ack.status, 200, "{}", ack.text);
    let again = app.get(
        &format!("/v1/units/{COUNTY}/negative-items?month={month}&status=proposed"),
        Some(&admin),
    );
    assert!(again.text.contains(&a_item), "{}", again.text);
}

both_backends!(a_proposed_negative_item_raises_one_alert);
