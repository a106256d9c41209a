//! The negative list (负面清单): items proposed from facts, confirmed or dismissed by a
//! supervisor once any dispute of the fact is decided; rules switched off by policy; escalation
//! levels from policy; escalation actions.

use super::*;
use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::token_subject;
use fieldtrail_tests::Backend;

fn items(app: &TestApp, token: &str, unit: &str, query: &str) -> Vec<Value> {
    let answer = get_ok(
        app,
        token,
        &format!("/v1/units/{unit}/negative-items?{query}"),
    );
    answer["items"].as_array().unwrap().clone()
}

fn ids(items: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn item<'a>(items: &'a [Value], id: &str) -> &'a Value {
    items
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no item {id} in {items:?}"))
}

fn decide_item(
    app: &TestApp,
    token: &str,
    id: &str,
    decision: &str,
    note: &str,
) -> fieldtrail_tests::Resp {
    app.post(
        &format!("/v1/negative-items/{id}/decision"),
        Some(token),
        &json!({"decision": decision, "note": note}),
    )
}

fn facts_propose_items_and_supervisors_decide_them(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let (sup_id, sup) = app.person_with_token(&admin, "sup-t", "supervisor", TOWNSHIP);
    let sup_b = app.supervisor(&admin, "sup-b", VILLAGE_B);
    let cadre = cadre_with(
        &app,
        &admin,
        "n-cadre",
        VILLAGE_A,
        &[(VILLAGE_A, "2020-01-01", None)],
    );
    let h_at = (116.905, 34.215);
    let household = app.household(&admin, VILLAGE_A, h_at.0, h_at.1);
    let pairing_id = pairing(&app, &admin, &cadre.id, &household, "2026-09-01", None);
    // From Sep 30 the county escalates over 30 days: 1 → 提醒, 3 → 通报批评.
    policy_from(
        &app,
        &admin,
        COUNTY,
        "2026-09-30",
        json!({"escalation": {"window_days": 30,
        "levels": [{"at": 1, "name": "提醒"}, {"at": 3, "name": "通报批评"}]}}),
    );
    // The cadre sends nothing but one visit (Oct 8), which the household denies on Oct 20.
    send(
        &app,
        &cadre.token,
        vec![visit(&household, h_at, "2026-10-08", 10)],
    );
    let absent = phone_check(&app, &sup, &cadre.id, "absent", "2026-10-14", 10);
    let missed = missed_challenge(&app, &sup, VILLAGE_A, "2026-10-15");
    let absent_dispute = dispute(&app, &cadre, &absent, "2026-10-16", 9);
    let denied = verification(&app, &sup, &household, h_at, "denied", "2026-10-20", 10);
    read_today(&app);

    let residency = format!("residency_below:2026-10:{}", cadre.id);
    let overdue = format!("visit_overdue:2026-10:{pairing_id}");
    let absent_item = format!("spot_check_absent:{absent}");
    let missed_item = format!("spot_check_missed:{missed}");
    let denied_item = format!("verification_denied:{denied}");
    let listed = items(&app, &sup, TOWNSHIP, "month=2026-10");
    assert_eq!(
        ids(&listed),
        sorted(&[
            &residency,
            &overdue,
            &absent_item,
            &missed_item,
            &denied_item
        ])
    );
    // Fact dates: the month's last day, or the result's county day.
    for (id, rule, date) in [
        (&residency, "residency_below", "2026-10-31"),
        (&overdue, "visit_overdue", "2026-10-31"),
        (&absent_item, "spot_check_absent", "2026-10-14"),
        (&missed_item, "spot_check_missed", "2026-10-15"),
        (&denied_item, "verification_denied", "2026-10-20"),
    ] {
        let it = item(&listed, id);
        assert_eq!(it["rule"], rule, "{it}");
        assert_eq!(it["person_id"], cadre.id.as_str(), "{it}");
        assert_eq!(it["display_name"], "Test n-cadre", "{it}");
        assert_eq!(it["unit_code"], VILLAGE_A, "{it}");
        assert_eq!(it["month"], "2026-10", "{it}");
        assert_eq!(it["date"], date, "{it}");
        assert_eq!(it["status"], "proposed", "{it}");
        assert!(it["decision"].is_null(), "{it}");
        assert!(
            it["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{it}"
        );
        assert!(it["evidence"].is_array(), "{it}");
    }
    for (id, record) in [
        (&absent_item, &absent),
        (&missed_item, &missed),
        (&denied_item, &denied),
    ] {
        let evidence = item(&listed, id)["evidence"].as_array().unwrap().clone();
        assert!(evidence.contains(&json!(record)), "{id}: {evidence:?}");
    }
    assert_eq!(
        item(&listed, &absent_item)["dispute"],
        json!({"id": absent_dispute, "status": "pending"})
    );
    assert!(item(&listed, &missed_item)["dispute"].is_null());
    assert!(item(&listed, &residency)["dispute"].is_null());
    assert_no_forbidden_keys(&json!(listed), "negative items");

    // Refused, storing nothing: no note, an empty or too long note, a bad decision; callers
    // without a say; unknown ids and ids no fact supports.
    let path = |id: &str| format!("/v1/negative-items/{id}/decision");
    for (body, pointer) in [
        (json!({"decision": "confirmed"}), "/note"),
        (json!({"decision": "confirmed", "note": ""}), "/note"),
        (
            json!({"decision": "confirmed", "note": "长".repeat(2001)}),
            "/note",
        ),
        (json!({"decision": "maybe", "note": "x"}), "/decision"),
        (json!({"note": "x"}), "/decision"),
    ] {
        app.post_refused(&path(&residency), &sup, &body, 422, &[pointer]);
    }
    let good = json!({"decision": "confirmed", "note": "属实"});
    app.post_refused(&path(&residency), &cadre.token, &good, 403, &[]);
    app.post_refused(&path(&residency), &sup_b, &good, 403, &[]);
    let check_in = fix(A_CENTRE, d("2026-10-09"), 12, 0);
    send(&app, &cadre.token, vec![check_in.clone()]);
    read_today(&app);
    for unknown in [
        format!("residency_below:2026-10:{}", uuid::Uuid::new_v4()),
        format!("spot_check_absent:{}", id_of(&check_in)),
        format!("spot_check_absent:{}", uuid::Uuid::new_v4()),
        "nonsense".to_owned(),
    ] {
        app.post_refused(&path(&unknown), &sup, &good, 404, &[]);
    }

    // A pending dispute of the fact is decided first.
    app.post_refused(&path(&absent_item), &sup, &good, 409, &[]);
    let resp = app.decide(
        &sup,
        "disputes",
        &absent_dispute,
        "rejected",
        Some("电话记录显示不在村"),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let shown = items(&app, &sup, TOWNSHIP, "month=2026-10");
    assert_eq!(item(&shown, &absent_item)["dispute"]["status"], "rejected");
    let size = app.ledger_size();
    let resp = decide_item(&app, &sup, &absent_item, "confirmed", "属实");
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(resp.body["id"], absent_item.as_str());
    assert_eq!(resp.body["status"], "confirmed");
    let decision = &resp.body["decision"];
    assert_eq!(decision["decision"], "confirmed");
    assert_eq!(decision["note"], "属实");
    assert_eq!(decision["by"], sup_id.as_str());
    assert!(decision["at"].is_string(), "{decision}");
    assert_eq!(decision["seq"], size + 1, "one ledger entry");
    assert_eq!(app.ledger_size(), size + 1);
    assert_eq!(kind_count(&app, "negative_item.decision"), 1);
    // Decided once only.
    app.post_refused(&path(&absent_item), &sup, &good, 409, &[]);
    app.post_refused(
        &path(&absent_item),
        &admin,
        &json!({"decision": "dismissed", "note": "改判"}),
        409,
        &[],
    );
    let resp = decide_item(&app, &sup, &missed_item, "dismissed", "信号故障，不予追究");
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(resp.body["status"], "dismissed");
    for (id, decision) in [
        (&residency, "confirmed"),
        (&denied_item, "confirmed"),
        (&overdue, "dismissed"),
    ] {
        let resp = decide_item(&app, &admin, id, decision, "督查组研究决定");
        assert_eq!(resp.status, 201, "{id}: {}", resp.text);
        assert_eq!(resp.body["decision"]["by"], token_subject(&admin).as_str());
    }
    // September too had no presence: its own item, decided.
    let september = format!("residency_below:2026-09:{}", cadre.id);
    assert_eq!(
        ids(&items(&app, &sup, TOWNSHIP, "month=2026-09")),
        sorted(&[&september])
    );
    assert_eq!(
        decide_item(&app, &sup, &september, "confirmed", "属实").status,
        201
    );
    assert_eq!(kind_count(&app, "negative_item.decision"), 6);

    // By status; bad parameters.
    let confirmed = items(&app, &sup, TOWNSHIP, "month=2026-10&status=confirmed");
    assert_eq!(
        ids(&confirmed),
        sorted(&[&residency, &absent_item, &denied_item])
    );
    assert!(confirmed.iter().all(|i| i["status"] == "confirmed"));
    let dismissed = items(&app, &sup, TOWNSHIP, "month=2026-10&status=dismissed");
    assert_eq!(ids(&dismissed), sorted(&[&missed_item, &overdue]));
    assert_eq!(
        items(&app, &sup, TOWNSHIP, "month=2026-10&status=proposed"),
        Vec::<Value>::new()
    );
    for (query, pointer) in [
        ("month=2026-10&status=open", "/status"),
        ("", "/month"),
        ("month=2026-13", "/month"),
        ("month=2026-W42", "/month"),
    ] {
        let resp = app.get(
            &format!("/v1/units/{TOWNSHIP}/negative-items?{query}"),
            Some(&sup),
        );
        resp.problem(422);
        assert_eq!(resp.pointers(), [pointer], "{query}: {}", resp.text);
    }
    app.get(
        &format!("/v1/units/{VILLAGE_A}/negative-items?month=2026-10"),
        Some(&sup_b),
    )
    .problem(403);

    // Only confirmed items count. October: 3 confirmed, 2 dismissed; in the 30 days ending
    // Oct 31 (from Oct 2): Oct 31, Oct 14, Oct 20 = 3 (September's, dated Sep 30, is out) → the
    // highest level with at ≤ 3: 通报批评 (level 2).
    let b = get_ok(
        &app,
        &sup,
        &format!("/v1/units/{TOWNSHIP}/bulletin?month=2026-10"),
    );
    let village = b["townships"][0]["villages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["unit_code"] == VILLAGE_A)
        .unwrap()
        .clone();
    let line = &village["cadres"][0];
    assert_eq!(line["person_id"], cadre.id.as_str());
    assert_eq!(
        line["negative_items"],
        json!({"proposed": 0, "confirmed": 3, "dismissed": 2})
    );
    assert_eq!(
        line["escalation"],
        json!({"count": 3, "level": 2, "name": "通报批评"})
    );
    assert_eq!(
        b["totals"]["negative_items"],
        json!({"proposed": 0, "confirmed": 3, "dismissed": 2})
    );
    // September: 1 confirmed, dated Sep 30, in the window Sep 1–30 → 提醒 (level 1).
    let b = get_ok(
        &app,
        &sup,
        &format!("/v1/units/{VILLAGE_A}/bulletin?month=2026-09"),
    );
    let line = &b["townships"][0]["villages"][0]["cadres"][0];
    assert_eq!(
        line["negative_items"],
        json!({"proposed": 0, "confirmed": 1, "dismissed": 0})
    );
    assert_eq!(
        line["escalation"],
        json!({"count": 1, "level": 1, "name": "提醒"})
    );
    // Decisions do not change the facts: the compliance reasons stay.
    let row = row_of(&compliance(&app, &sup, VILLAGE_A, "2026-10"), &cadre.id);
    let keys = reasons(&row);
    assert!(
        keys.contains(&format!("spot_check_absent:{absent}")),
        "{keys:?}"
    );
    assert!(
        keys.contains(&format!("spot_check_missed:{missed}")),
        "dismissed items stay facts: {keys:?}"
    );
}

/// A dispute of the fact that was upheld: the item is shown with it, cannot be confirmed (409),
/// and can be dismissed.
fn an_upheld_dispute_leaves_the_item_to_be_dismissed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let sup = app.supervisor(&admin, "sup-t", TOWNSHIP);
    let cadre = cadre_with(
        &app,
        &admin,
        "n-upheld",
        VILLAGE_A,
        &[(VILLAGE_A, "2020-01-01", None)],
    );
    let absent = phone_check(&app, &sup, &cadre.id, "absent", "2026-10-14", 10);
    let disputed = dispute(&app, &cadre, &absent, "2026-10-14", 12);
    app.clock.set(at(d("2026-10-15"), 9, 0));
    let resp = app.decide(&sup, "disputes", &disputed, "upheld", Some("当时在农户家"));
    assert_eq!(resp.status, 201, "{}", resp.text);
    read_today(&app);
    // No reason in compliance, the result shown with its upheld dispute.
    let row = row_of(&compliance(&app, &sup, VILLAGE_A, "2026-10"), &cadre.id);
    assert!(
        !reasons(&row).contains(&format!("spot_check_absent:{absent}")),
        "{row}"
    );
    assert_eq!(
        row["spot_checks"][0]["dispute"],
        json!({"id": disputed, "status": "upheld"})
    );
    let id = format!("spot_check_absent:{absent}");
    let path = format!("/v1/negative-items/{id}/decision");
    let good = json!({"decision": "confirmed", "note": "属实"});
    let refused = app.post(&path, Some(&sup), &good);
    let listed = items(&app, &sup, VILLAGE_A, "month=2026-10");
    // The contract: 409 for "confirming a fact whose dispute was upheld"; the item is still
    // shown (a dispute's status may be "upheld").
    assert_eq!(
        item(&listed, &id)["dispute"],
        json!({"id": disputed, "status": "upheld"})
    );
    refused.problem(409);
    let resp = decide_item(&app, &sup, &id, "dismissed", "申诉成立");
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(resp.body["status"], "dismissed");
    assert_eq!(resp.body["dispute"]["status"], "upheld");
}

fn rules_switched_off_propose_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let sup = app.supervisor(&admin, "sup-t", TOWNSHIP);
    let cadre = cadre_with(
        &app,
        &admin,
        "n-rules",
        VILLAGE_A,
        &[(VILLAGE_A, "2020-01-01", None)],
    );
    // Bad rule sets and escalations are refused, each field named.
    for (policy, pointer) in [
        (
            json!({"negative_rules": {"bogus": true}}),
            "/negative_rules/bogus",
        ),
        (
            json!({"negative_rules": {"visit_overdue": "no"}}),
            "/negative_rules/visit_overdue",
        ),
        (
            json!({"escalation": {"window_days": 0, "levels": [{"at": 1, "name": "学习"}]}}),
            "/escalation/window_days",
        ),
        (
            json!({"escalation": {"window_days": 3651, "levels": [{"at": 1, "name": "学习"}]}}),
            "/escalation/window_days",
        ),
        (
            json!({"escalation": {"window_days": 30, "levels": []}}),
            "/escalation/levels",
        ),
        (
            json!({"escalation": {"window_days": 30,
                "levels": [{"at": 2, "name": "学习"}, {"at": 2, "name": "约谈"}]}}),
            "/escalation/levels/1/at",
        ),
        (
            json!({"escalation": {"window_days": 30, "levels": [{"at": 0, "name": "学习"}]}}),
            "/escalation/levels/0/at",
        ),
        (
            json!({"escalation": {"window_days": 30, "levels": [{"at": 1, "name": ""}]}}),
            "/escalation/levels/0/name",
        ),
    ] {
        let resp = app.put(
            &format!("/v1/units/{VILLAGE_A}/policy"),
            Some(&admin),
            &policy,
        );
        resp.problem(422);
        assert_eq!(resp.pointers(), [pointer], "{policy}: {}", resp.text);
    }
    // Oct 14: absent (rules: default, all on).
    let first = phone_check(&app, &sup, &cadre.id, "absent", "2026-10-14", 10);
    // From Oct 20: residency_below off.
    policy_from(
        &app,
        &admin,
        VILLAGE_A,
        "2026-10-20",
        json!({"negative_rules": {"residency_below": false}}),
    );
    let second = phone_check(&app, &sup, &cadre.id, "absent", "2026-10-22", 10);
    // From Oct 25: spot_check_absent off; residency_below, left out, is on again.
    policy_from(
        &app,
        &admin,
        VILLAGE_A,
        "2026-10-25",
        json!({"negative_rules": {"spot_check_absent": false}}),
    );
    let third = phone_check(&app, &sup, &cadre.id, "absent", "2026-10-27", 10);
    read_today(&app);
    let residency = format!("residency_below:2026-10:{}", cadre.id);
    let listed = items(&app, &sup, VILLAGE_A, "month=2026-10");
    // Oct 31 is under the Oct 25 version (residency on); Oct 14 and Oct 22 had absent on,
    // Oct 27 not.
    assert_eq!(
        ids(&listed),
        sorted(&[
            &residency,
            &format!("spot_check_absent:{first}"),
            &format!("spot_check_absent:{second}"),
        ])
    );
    // The compliance reasons are facts, whatever the rules propose: all three absences.
    let keys = reasons(&row_of(
        &compliance(&app, &sup, VILLAGE_A, "2026-10"),
        &cadre.id,
    ));
    for id in [&first, &second, &third] {
        assert!(
            keys.contains(&format!("spot_check_absent:{id}")),
            "{keys:?}"
        );
    }
    // From Oct 31 residency_below is off: its proposal goes.
    policy_from(
        &app,
        &admin,
        VILLAGE_A,
        "2026-10-31",
        json!({"negative_rules":
        {"residency_below": false, "spot_check_absent": false}}),
    );
    read_today(&app);
    let listed = items(&app, &sup, VILLAGE_A, "month=2026-10");
    assert_eq!(
        ids(&listed),
        sorted(&[
            &format!("spot_check_absent:{first}"),
            &format!("spot_check_absent:{second}")
        ])
    );
    // The bulletin counts the two proposals left (the Oct 14 and Oct 22 absences).
    let b = get_ok(
        &app,
        &sup,
        &format!("/v1/units/{VILLAGE_A}/bulletin?month=2026-10"),
    );
    assert_eq!(
        b["townships"][0]["villages"][0]["cadres"][0]["negative_items"],
        json!({"proposed": 2, "confirmed": 0, "dismissed": 0})
    );
}

fn escalation_actions_are_recorded(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    read_today(&app);
    let (sup_id, sup) = app.person_with_token(&admin, "sup-t", "supervisor", TOWNSHIP);
    let sup_b = app.supervisor(&admin, "sup-b", VILLAGE_B);
    let (_, inspector) = app.person_with_token(&admin, "insp-t", "inspector", TOWNSHIP);
    let cadre = cadre_with(
        &app,
        &admin,
        "n-esc",
        VILLAGE_A,
        &[(VILLAGE_A, "2020-01-01", None)],
    );
    let path = format!("/v1/people/{}/escalation-actions", cadre.id);
    let good = json!({"level": 2, "note": "约谈驻村天数不足", "taken_on": "2026-11-20"});
    for (body, pointer) in [
        (
            json!({"level": 0, "note": "x", "taken_on": "2026-11-20"}),
            "/level",
        ),
        // The default policy has 3 levels.
        (
            json!({"level": 4, "note": "x", "taken_on": "2026-11-20"}),
            "/level",
        ),
        (json!({"note": "x", "taken_on": "2026-11-20"}), "/level"),
        (
            json!({"level": 1, "note": "", "taken_on": "2026-11-20"}),
            "/note",
        ),
        (
            json!({"level": 1, "note": "长".repeat(2001), "taken_on": "2026-11-20"}),
            "/note",
        ),
        (
            json!({"level": 1, "note": "x", "taken_on": "2026-12-02"}),
            "/taken_on",
        ),
        (
            json!({"level": 1, "note": "x", "taken_on": "20 Nov"}),
            "/taken_on",
        ),
        (json!({"level": 1, "note": "x"}), "/taken_on"),
    ] {
        app.post_refused(&path, &sup, &body, 422, &[pointer]);
    }
    for token in [&cadre.token, &sup_b, &inspector] {
        app.post_refused(&path, token, &good, 403, &[]);
    }
    app.post_refused(
        &format!("/v1/people/{}/escalation-actions", uuid::Uuid::new_v4()),
        &sup,
        &good,
        404,
        &[],
    );
    let size = app.ledger_size();
    let resp = app.post(&path, Some(&sup), &good);
    assert_eq!(resp.status, 201, "{}", resp.text);
    let action = &resp.body;
    assert!(
        uuid::Uuid::parse_str(action["id"].as_str().unwrap()).is_ok(),
        "{action}"
    );
    assert_eq!(action["seq"], size + 1);
    assert_eq!(action["person_id"], cadre.id.as_str());
    assert_eq!(
        (&action["level"], &action["name"]),
        (&json!(2), &json!("约谈"))
    );
    assert_eq!(action["note"], "约谈驻村天数不足");
    assert_eq!(action["taken_on"], "2026-11-20");
    assert_eq!(action["recorded_by"], sup_id.as_str());
    assert!(action["recorded_at"].is_string());
    assert_eq!(kind_count(&app, "escalation.action"), 1);
    // Today is allowed.
    let today = json!({"level": 1, "note": "学习", "taken_on": "2026-12-01"});
    assert_eq!(app.post(&path, Some(&admin), &today).status, 201);
}

both_backends!(
    facts_propose_items_and_supervisors_decide_them,
    an_upheld_dispute_leaves_the_item_to_be_dismissed,
    rules_switched_off_propose_nothing,
    escalation_actions_are_recorded,
);
