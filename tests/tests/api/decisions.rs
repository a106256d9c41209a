//! Decisions on requests (docs/records.md): leave, official trips, disputes and corrections are
//! decided by a supervisor or admin over the cadre; every decision is a ledger entry; a record's
//! read shows what happened to it; a correction never changes the original entry.

#![allow(clippy::unwrap_used)]

use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::*;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const OTHER_TOWNSHIP: &str = "990102";
/// Farmland of the township between villages A and B: outside both.
const FARMLAND: (f64, f64) = (116.925, 34.21);

struct Staff {
    admin: String,
    cadre: Cadre,
    other: Cadre,
    super_t: (String, String),
    super_a: (String, String),
    /// Tokens of staff with no say over the cadres of village A.
    outsiders: Vec<(&'static str, String)>,
}

/// The county, two cadres of village A, supervisors of the township and of village A, and
/// staff of village B and of another township.
fn staff(app: &TestApp, cadre_from: time::Date) -> Staff {
    let admin = app.with_county();
    let resp = app.post(
        "/v1/units/import",
        Some(&admin),
        &collection(vec![feature(
            OTHER_TOWNSHIP,
            "邻镇",
            "township",
            Some(COUNTY),
            Value::Null,
        )]),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let cadre = app.cadre_since(&admin, "cadre-a", VILLAGE_A, cadre_from);
    let other = app.cadre_since(&admin, "cadre-a2", VILLAGE_A, cadre_from);
    let super_t = app.person_with_token(&admin, "super-t", "supervisor", TOWNSHIP);
    let super_a = app.person_with_token(&admin, "super-a", "supervisor", VILLAGE_A);
    let outsiders = vec![
        ("super-b", app.supervisor(&admin, "super-b", VILLAGE_B)),
        ("super-o", app.supervisor(&admin, "super-o", OTHER_TOWNSHIP)),
        (
            "admin-o",
            app.person_with_token(&admin, "admin-o", "admin", OTHER_TOWNSHIP)
                .1,
        ),
        (
            "inspector-t",
            app.person_with_token(&admin, "inspector-t", "inspector", TOWNSHIP)
                .1,
        ),
    ];
    Staff {
        admin,
        cadre,
        other,
        super_t,
        super_a,
        outsiders,
    }
}

fn id_of(body: &Value) -> String {
    body["id"].as_str().unwrap().to_owned()
}

fn kind_count(app: &TestApp, kind: &str) -> i64 {
    app.sql_count(&format!(
        "SELECT count(*) FROM ledger WHERE kind = '{kind}'"
    ))
}

/// Asserts a decision request is refused with `status` and stores nothing.
fn refused_decision(
    app: &TestApp,
    token: &str,
    what: &str,
    id: &str,
    body: &Value,
    status: u16,
    pointers: &[&str],
) {
    let resp = app.post_refused(
        &format!("/v1/{what}/{id}/decision"),
        token,
        body,
        status,
        pointers,
    );
    assert_eq!(resp.status, status);
}

/// Decides, asserting the documented 201 answer, one more ledger entry of `kind`, and
/// returns the answer.
#[allow(clippy::too_many_arguments)]
fn decided(
    app: &TestApp,
    token: &str,
    decider_id: &str,
    what: &str,
    id: &str,
    decision: &str,
    note: Option<&str>,
    ledger_kind: &str,
) -> Value {
    let size = app.ledger_size();
    let of_kind = kind_count(app, ledger_kind);
    let resp = app.decide(token, what, id, decision, note);
    assert_eq!(resp.status, 201, "{what} {id} {decision}: {}", resp.text);
    let body = resp.body;
    assert!(
        uuid::Uuid::parse_str(body["id"].as_str().unwrap()).is_ok(),
        "{body}"
    );
    assert_ne!(body["id"], id, "a decision has an id of its own");
    assert_eq!(body["record_id"], id, "{body}");
    assert_eq!(body["decision"], decision, "{body}");
    match note {
        Some(note) => assert_eq!(body["note"], note, "{body}"),
        None => assert!(body["note"].is_null(), "{body}"),
    }
    assert_eq!(body["decided_by"], decider_id, "{body}");
    let decided_at = body["decided_at"].as_str().unwrap();
    assert!(
        OffsetDateTime::parse(decided_at, &Rfc3339).is_ok(),
        "{decided_at}"
    );
    // Every decision is exactly one ledger entry of its kind.
    assert_eq!(app.ledger_size(), size + 1, "{body}");
    assert_eq!(body["seq"], size + 1, "{body}");
    assert_eq!(kind_count(app, ledger_kind), of_kind + 1);
    body
}

/// A decision as a record read shows it matches the decision's 201 answer. The contract does
/// not list the members of the embedded decision; `decision`, `note`, `decided_by`,
/// `decided_at` and `seq` (which names the decision's ledger entry) must agree.
fn assert_same_decision(shown: &Value, answer: &Value, context: &Value) {
    for key in ["decision", "note", "decided_by", "seq"] {
        assert_eq!(shown[key], answer[key], "{key} in {context}");
    }
    assert!(
        same_instant(&shown["decided_at"], &answer["decided_at"]),
        "decided_at in {context}"
    );
}

/// A request's read carries this decision.
fn assert_carries(view: &Value, status: &str, decision: &Value) {
    assert_eq!(view["status"], status, "{view}");
    assert_same_decision(&view["decision"], decision, view);
}

/// The entry `/v1/ledger/entries` serves for a record's seq.
fn entry_of(app: &TestApp, admin: &str, answer: &Value) -> Value {
    app.ledger_entry(admin, answer["seq"].as_i64().unwrap())
}

fn leave(from: &str, to: &str) -> Value {
    record(
        "leave_request",
        json!({"from": from, "to": to, "reason": "孩子高考"}),
    )
}

fn trip(from: &str, to: &str) -> Value {
    record(
        "official_trip",
        json!({"from": from, "to": to, "destination": "省城", "purpose": "汇报工作"}),
    )
}

/// Tries every way a decision on `id` must be refused: by the cadre, by staff out of scope, on
/// an unknown id, on a record of the wrong kind, with a bad decision value.
fn assert_guarded(app: &TestApp, staff: &Staff, what: &str, id: &str, wrong_kind: &[&str]) {
    let good = if what == "disputes" {
        json!({"decision": "upheld", "note": "核实"})
    } else {
        json!({"decision": "approved"})
    };
    refused_decision(app, &staff.cadre.token, what, id, &good, 403, &[]);
    refused_decision(app, &staff.other.token, what, id, &good, 403, &[]);
    for (who, token) in &staff.outsiders {
        let resp = app.post(&format!("/v1/{what}/{id}/decision"), Some(token), &good);
        assert_eq!(resp.problem(403)["status"], 403, "{who}");
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    refused_decision(app, &staff.super_t.1, what, &unknown, &good, 404, &[]);
    for other in wrong_kind {
        refused_decision(app, &staff.super_t.1, what, other, &good, 404, &[]);
    }
    let wrong_value = if what == "disputes" {
        "approved"
    } else {
        "upheld"
    };
    for bad in [
        json!({"decision": "maybe", "note": "x"}),
        json!({"decision": wrong_value, "note": "x"}),
        json!({"decision": null, "note": "x"}),
        json!({"note": "x"}),
        json!({"decision": 1, "note": "x"}),
    ] {
        refused_decision(app, &staff.super_t.1, what, id, &bad, 422, &["/decision"]);
    }
}

fn leave_decisions(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let s = staff(&app, county_day(-30));
    let from = ymd(county_day(3));
    let to = ymd(county_day(4));
    let request = leave(&from, &to);
    app.submit_ok(&s.cadre.token, &request);
    let leave_id = id_of(&request);
    let fix = app.submit_ok(&s.cadre.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    let fix_id = id_of(&fix.body);
    let trip_request = trip(&from, &to);
    app.submit_ok(&s.cadre.token, &trip_request);

    assert_guarded(
        &app,
        &s,
        "leave",
        &leave_id,
        &[&fix_id, &id_of(&trip_request)],
    );
    let view = app.read_record(&s.cadre.token, &leave_id);
    assert_eq!(view["status"], "pending");
    assert!(view["decision"].is_null(), "{view}");

    // The township supervisor approves.
    let decision = decided(
        &app,
        &s.super_t.1,
        &s.super_t.0,
        "leave",
        &leave_id,
        "approved",
        Some("同意，注意安全"),
        "leave_decision",
    );
    for token in [&s.cadre.token, &s.super_t.1, &s.admin] {
        let view = app.read_record(token, &leave_id);
        assert_carries(&view, "approved", &decision);
        assert_eq!(view["from"], from.as_str());
        assert_eq!(view["reason"], "孩子高考");
    }
    // The history says the same.
    let history = app.get(
        &format!("/v1/people/{}/records", s.cadre.id),
        Some(&s.super_t.1),
    );
    assert_eq!(history.status, 200, "{}", history.text);
    let item = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["id"] == leave_id.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("leave not in history: {}", history.text));
    assert_carries(&item, "approved", &decision);

    // Decided once only, whoever tries again and whatever they say.
    for (token, body) in [
        (&s.super_t.1, json!({"decision": "approved"})),
        (
            &s.super_a.1,
            json!({"decision": "rejected", "note": "改判"}),
        ),
        (&s.admin, json!({"decision": "rejected"})),
    ] {
        refused_decision(&app, token, "leave", &leave_id, &body, 409, &[]);
    }
    assert_carries(
        &app.read_record(&s.cadre.token, &leave_id),
        "approved",
        &decision,
    );

    // The village supervisor rejects another request, without a note.
    let second = leave(&ymd(county_day(10)), &ymd(county_day(10)));
    app.submit_ok(&s.cadre.token, &second);
    let decision = decided(
        &app,
        &s.super_a.1,
        &s.super_a.0,
        "leave",
        &id_of(&second),
        "rejected",
        None,
        "leave_decision",
    );
    assert_carries(
        &app.read_record(&s.cadre.token, &id_of(&second)),
        "rejected",
        &decision,
    );
    // An admin over the unit may decide too.
    let third = leave(&ymd(county_day(20)), &ymd(county_day(21)));
    app.submit_ok(&s.other.token, &third);
    decided(
        &app,
        &s.admin,
        &token_subject(&s.admin),
        "leave",
        &id_of(&third),
        "approved",
        None,
        "leave_decision",
    );
    assert_eq!(kind_count(&app, "leave_decision"), 3);
}

fn trip_decisions(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let s = staff(&app, county_day(-30));
    let from = ymd(county_day(1));
    let request = trip(&from, &from);
    app.submit_ok(&s.cadre.token, &request);
    let trip_id = id_of(&request);
    let leave_request = leave(&from, &from);
    app.submit_ok(&s.cadre.token, &leave_request);
    let fix = app.submit_ok(&s.cadre.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));

    assert_guarded(
        &app,
        &s,
        "trips",
        &trip_id,
        &[&id_of(&leave_request), &id_of(&fix.body)],
    );
    // Nor is a trip a leave.
    refused_decision(
        &app,
        &s.super_t.1,
        "leave",
        &trip_id,
        &json!({"decision": "approved"}),
        404,
        &[],
    );

    let decision = decided(
        &app,
        &s.super_a.1,
        &s.super_a.0,
        "trips",
        &trip_id,
        "rejected",
        Some("培训已取消"),
        "trip_decision",
    );
    assert_carries(
        &app.read_record(&s.cadre.token, &trip_id),
        "rejected",
        &decision,
    );
    refused_decision(
        &app,
        &s.super_t.1,
        "trips",
        &trip_id,
        &json!({"decision": "approved"}),
        409,
        &[],
    );
    // The leave is still pending: a trip decision is not a leave decision.
    let view = app.read_record(&s.cadre.token, &id_of(&leave_request));
    assert_eq!(view["status"], "pending");
    assert!(view["decision"].is_null(), "{view}");
    assert_eq!(kind_count(&app, "leave_decision"), 0);

    let approved = trip(&ymd(county_day(2)), &ymd(county_day(3)));
    app.submit_ok(&s.other.token, &approved);
    let decision = decided(
        &app,
        &s.super_t.1,
        &s.super_t.0,
        "trips",
        &id_of(&approved),
        "approved",
        None,
        "trip_decision",
    );
    assert_carries(
        &app.read_record(&s.super_a.1, &id_of(&approved)),
        "approved",
        &decision,
    );
}

fn disputes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let s = staff(&app, county_day(-30));
    let outside = app.submit_ok(&s.cadre.token, &check_in(FARMLAND.0, FARMLAND.1, 10.0));
    let disputed_id = id_of(&outside.body);
    let others = app.submit_ok(&s.other.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    let dispute_of = |id: &Value| {
        record(
            "dispute",
            json!({"disputes": id, "reason": "在村部开会，定位漂移到田里"}),
        )
    };

    // A cadre disputes only their own records.
    let mut no_reason = dispute_of(&json!(disputed_id));
    no_reason.as_object_mut().unwrap().remove("reason");
    let mut no_target = dispute_of(&json!(disputed_id));
    no_target.as_object_mut().unwrap().remove("disputes");
    let cases: Vec<(Value, &[&str])> = vec![
        (dispute_of(&others.body["id"]), &["/disputes"]),
        (
            dispute_of(&json!(uuid::Uuid::new_v4().to_string())),
            &["/disputes"],
        ),
        (dispute_of(&json!("not-a-uuid")), &["/disputes"]),
        (no_target, &["/disputes"]),
        (no_reason, &["/reason"]),
        (
            record("dispute", json!({"disputes": disputed_id, "reason": ""})),
            &["/reason"],
        ),
        (
            record(
                "dispute",
                json!({"disputes": disputed_id, "reason": "理".repeat(2001)}),
            ),
            &["/reason"],
        ),
    ];
    for (body, pointers) in &cases {
        app.submit_refused(&s.cadre.token, body, 422, pointers);
    }

    let dispute = dispute_of(&json!(disputed_id));
    let resp = app.submit_ok(&s.cadre.token, &dispute);
    assert_eq!(resp.body["kind"], "dispute");
    let dispute_id = id_of(&dispute);
    let view = app.read_record(&s.cadre.token, &dispute_id);
    assert_eq!(view["status"], "pending");
    assert!(view["decision"].is_null(), "{view}");
    assert_eq!(view["disputes"], disputed_id.as_str());
    let view = app.read_record(&s.cadre.token, &disputed_id);
    let by = view["disputed_by"].as_array().unwrap();
    assert_eq!(by.len(), 1, "{view}");
    assert_eq!(by[0]["id"], dispute_id.as_str());
    assert_eq!(by[0]["status"], "pending");

    let leave_request = leave(&ymd(county_day(1)), &ymd(county_day(1)));
    app.submit_ok(&s.cadre.token, &leave_request);
    assert_guarded(
        &app,
        &s,
        "disputes",
        &dispute_id,
        &[&disputed_id, &id_of(&leave_request)],
    );
    // A dispute is not a leave either.
    refused_decision(
        &app,
        &s.super_t.1,
        "leave",
        &dispute_id,
        &json!({"decision": "approved"}),
        404,
        &[],
    );
    // The note is required for disputes.
    for body in [
        json!({"decision": "upheld"}),
        json!({"decision": "rejected", "note": null}),
        json!({"decision": "upheld", "note": ""}),
    ] {
        refused_decision(
            &app,
            &s.super_t.1,
            "disputes",
            &dispute_id,
            &body,
            422,
            &["/note"],
        );
    }

    let decision = decided(
        &app,
        &s.super_t.1,
        &s.super_t.0,
        "disputes",
        &dispute_id,
        "upheld",
        Some("经核实当天在村部开会"),
        "dispute_decision",
    );
    assert_carries(
        &app.read_record(&s.cadre.token, &dispute_id),
        "upheld",
        &decision,
    );
    let view = app.read_record(&s.super_a.1, &disputed_id);
    let by = view["disputed_by"].as_array().unwrap();
    assert_eq!(by.len(), 1, "{view}");
    assert_eq!(by[0]["id"], dispute_id.as_str());
    assert_eq!(by[0]["status"], "upheld");
    assert_same_decision(&by[0]["decision"], &decision, &view);
    // The disputed record's own answer is untouched.
    assert_eq!(view["verdict"], outside.body["verdict"]);
    assert_eq!(view["flags"], outside.body["flags"]);
    refused_decision(
        &app,
        &s.super_a.1,
        "disputes",
        &dispute_id,
        &json!({"decision": "rejected", "note": "改判"}),
        409,
        &[],
    );

    // A second dispute, of the same record, rejected.
    let again = dispute_of(&json!(disputed_id));
    app.submit_ok(&s.cadre.token, &again);
    let decision = decided(
        &app,
        &s.super_a.1,
        &s.super_a.0,
        "disputes",
        &id_of(&again),
        "rejected",
        Some("轨迹显示不在村部"),
        "dispute_decision",
    );
    let view = app.read_record(&s.cadre.token, &disputed_id);
    let by = view["disputed_by"].as_array().unwrap();
    assert_eq!(by.len(), 2, "{view}");
    let second = by
        .iter()
        .find(|d| d["id"] == id_of(&again).as_str())
        .unwrap();
    assert_eq!(second["status"], "rejected");
    assert_same_decision(&second["decision"], &decision, &view);
    // Records nobody disputed or corrected say so.
    let view = app.read_record(&s.other.token, &id_of(&others.body));
    assert_eq!(view["disputed_by"], json!([]), "{view}");
    assert_eq!(view["amended_by"], json!([]), "{view}");
}

fn lon_lat(position: &Value) -> (f64, f64) {
    (
        position["lon"].as_f64().unwrap(),
        position["lat"].as_f64().unwrap(),
    )
}

fn assert_effective(view: &Value, captured_at: &Value, position: &Value, geo: &str) {
    let effective = &view["effective"];
    assert!(
        same_instant(&effective["captured_at"], captured_at),
        "effective captured_at, want {captured_at}: {view}"
    );
    assert_eq!(
        lon_lat(&effective["position"]),
        lon_lat(position),
        "effective position: {view}"
    );
    assert_eq!(
        effective["verdict"]["geo"], geo,
        "effective verdict: {view}"
    );
}

/// Asserts a record's content and stored answer are as first submitted.
fn assert_original(view: &Value, sent: &Value, answer: &Value) {
    assert_eq!(view["captured_at"], sent["captured_at"], "{view}");
    assert_eq!(
        lon_lat(&view["position"]),
        lon_lat(&sent["position"]),
        "{view}"
    );
    assert_eq!(view["verdict"], answer["verdict"], "{view}");
    assert_eq!(view["seq"], answer["seq"], "{view}");
    assert_eq!(view["leaf_hash"], answer["leaf_hash"], "{view}");
}

fn correct(amends: &str, corrected: Value) -> Value {
    record(
        "correction",
        json!({"amends": amends, "reason": "信号差，补卡", "corrected": corrected}),
    )
}

/// Acceptance: a correction never changes the original ledger entry; the record read shows
/// both; presence uses the approved correction only.
fn corrections_keep_the_original(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let s = staff(&app, county_day(-10));
    let day = county_day(-2);
    let inside_a = position(A_CENTRE.0, A_CENTRE.1 + 0.001, 15.0);

    // Day D: the only check-in is on the farmland.
    let original = check_in_at(FARMLAND.0, FARMLAND.1, 10.0, &county_time(day, 9));
    let answer = app.submit_ok(&s.cadre.token, &original).body;
    let original_id = id_of(&original);
    assert_eq!(answer["verdict"]["geo"], "outside");
    let presence = app.presence(&s.admin, &s.cadre.id, day, day);
    assert_eq!(presence_status(&presence, day), "absent");
    let entry_before = entry_of(&app, &s.admin, &answer);
    let body_count_sql = format!(
        "SELECT count(*) FROM ledger WHERE seq = {} AND kind = 'check_in'",
        answer["seq"]
    );
    assert_eq!(app.sql_count(&body_count_sql), 1);

    // Bad corrections store nothing.
    let others = app.submit_ok(&s.other.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    let mut no_corrected = correct(&original_id, json!({}));
    no_corrected.as_object_mut().unwrap().remove("corrected");
    let mut no_reason = correct(&original_id, json!({"position": inside_a}));
    no_reason.as_object_mut().unwrap().remove("reason");
    let cases: Vec<(Value, &[&str])> = vec![
        (correct(&original_id, json!({})), &["/corrected"]),
        (no_corrected, &["/corrected"]),
        (no_reason, &["/reason"]),
        (
            correct(&id_of(&others.body), json!({"position": inside_a})),
            &["/amends"],
        ),
        (
            correct(
                &uuid::Uuid::new_v4().to_string(),
                json!({"position": inside_a}),
            ),
            &["/amends"],
        ),
        (
            correct(
                &original_id,
                json!({"position": position(A_CENTRE.0, 95.0, 10.0)}),
            ),
            &["/corrected/position/lat"],
        ),
        (
            correct(&original_id, json!({"captured_at": "yesterday noon"})),
            &["/corrected/captured_at"],
        ),
    ];
    for (body, pointers) in &cases {
        app.submit_refused(&s.cadre.token, body, 422, pointers);
    }

    // The correction moves the fix into the village; pending, it changes nothing.
    let correction = correct(&original_id, json!({"position": inside_a}));
    let resp = app.submit_ok(&s.cadre.token, &correction);
    assert_eq!(resp.body["kind"], "correction");
    let correction_id = id_of(&correction);
    let view = app.read_record(&s.cadre.token, &correction_id);
    assert_eq!(view["status"], "pending");
    assert!(view["decision"].is_null(), "{view}");
    assert_eq!(view["amends"], original_id.as_str());
    let view = app.read_record(&s.cadre.token, &original_id);
    assert_original(&view, &original, &answer);
    let by = view["amended_by"].as_array().unwrap();
    assert_eq!(by.len(), 1, "{view}");
    assert_eq!(by[0]["id"], correction_id.as_str());
    assert_eq!(by[0]["status"], "pending");
    assert_effective(
        &view,
        &original["captured_at"],
        &original["position"],
        "outside",
    );
    let presence = app.presence(&s.admin, &s.cadre.id, day, day);
    assert_eq!(presence_status(&presence, day), "absent");

    let fix = app.submit_ok(&s.cadre.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    assert_guarded(
        &app,
        &s,
        "corrections",
        &correction_id,
        &[&original_id, &id_of(&fix.body)],
    );

    // Approved: the read shows both; the entry is byte for byte what it was.
    let decision = decided(
        &app,
        &s.super_a.1,
        &s.super_a.0,
        "corrections",
        &correction_id,
        "approved",
        Some("村支书证明当天在村部"),
        "correction_decision",
    );
    assert_eq!(entry_of(&app, &s.admin, &answer), entry_before);
    assert_eq!(app.sql_count(&body_count_sql), 1);
    let view = app.read_record(&s.cadre.token, &original_id);
    assert_original(&view, &original, &answer);
    let by = view["amended_by"].as_array().unwrap();
    assert_eq!(by.len(), 1, "{view}");
    assert_eq!(by[0]["status"], "approved");
    assert_same_decision(&by[0]["decision"], &decision, &view);
    assert_effective(&view, &original["captured_at"], &inside_a, "inside");
    assert_carries(
        &app.read_record(&s.cadre.token, &correction_id),
        "approved",
        &decision,
    );
    let presence = app.presence(&s.admin, &s.cadre.id, day, day);
    assert_eq!(presence_status(&presence, day), "present");
    refused_decision(
        &app,
        &s.super_t.1,
        "corrections",
        &correction_id,
        &json!({"decision": "rejected"}),
        409,
        &[],
    );

    // The latest approved correction wins: a second one moves the fix to village B.
    let later = correct(
        &original_id,
        json!({"position": position(B_CENTRE.0, B_CENTRE.1, 10.0)}),
    );
    app.submit_ok(&s.cadre.token, &later);
    decided(
        &app,
        &s.super_t.1,
        &s.super_t.0,
        "corrections",
        &id_of(&later),
        "approved",
        None,
        "correction_decision",
    );
    let view = app.read_record(&s.cadre.token, &original_id);
    assert_eq!(view["amended_by"].as_array().unwrap().len(), 2, "{view}");
    assert_effective(
        &view,
        &original["captured_at"],
        &position(B_CENTRE.0, B_CENTRE.1, 10.0),
        "outside",
    );
    assert_original(&view, &original, &answer);
    assert_eq!(entry_of(&app, &s.admin, &answer), entry_before);
    let presence = app.presence(&s.admin, &s.cadre.id, day, day);
    assert_eq!(presence_status(&presence, day), "absent");

    // A rejected correction leaves the record as it was.
    let day3 = county_day(-3);
    let farm3 = check_in_at(FARMLAND.0, FARMLAND.1, 10.0, &county_time(day3, 10));
    let farm3_answer = app.submit_ok(&s.cadre.token, &farm3).body;
    let farm3_entry = entry_of(&app, &s.admin, &farm3_answer);
    let rejected = correct(
        &id_of(&farm3),
        json!({"captured_at": county_time(day3, 8), "position": inside_a}),
    );
    app.submit_ok(&s.cadre.token, &rejected);
    decided(
        &app,
        &s.super_a.1,
        &s.super_a.0,
        "corrections",
        &id_of(&rejected),
        "rejected",
        Some("无证明材料"),
        "correction_decision",
    );
    let view = app.read_record(&s.cadre.token, &id_of(&farm3));
    assert_original(&view, &farm3, &farm3_answer);
    assert_eq!(view["amended_by"][0]["status"], "rejected", "{view}");
    assert_effective(&view, &farm3["captured_at"], &farm3["position"], "outside");
    assert_eq!(entry_of(&app, &s.admin, &farm3_answer), farm3_entry);
    let presence = app.presence(&s.admin, &s.cadre.id, day3, day3);
    assert_eq!(presence_status(&presence, day3), "absent");

    // A corrected time moves the fix to another day (presence follows the effective time).
    let day4 = county_day(-4);
    let day5 = county_day(-5);
    let on4 = check_in_at(A_CENTRE.0, A_CENTRE.1, 10.0, &county_time(day4, 11));
    let on4_answer = app.submit_ok(&s.cadre.token, &on4).body;
    let on4_entry = entry_of(&app, &s.admin, &on4_answer);
    let presence = app.presence(&s.admin, &s.cadre.id, day5, day4);
    assert_eq!(presence_status(&presence, day5), "absent");
    assert_eq!(presence_status(&presence, day4), "present");
    let moved_to = county_time(day5, 11);
    let moved = correct(&id_of(&on4), json!({"captured_at": moved_to}));
    app.submit_ok(&s.cadre.token, &moved);
    decided(
        &app,
        &s.super_t.1,
        &s.super_t.0,
        "corrections",
        &id_of(&moved),
        "approved",
        None,
        "correction_decision",
    );
    let view = app.read_record(&s.cadre.token, &id_of(&on4));
    assert_original(&view, &on4, &on4_answer);
    assert_effective(&view, &json!(moved_to), &on4["position"], "inside");
    assert_eq!(entry_of(&app, &s.admin, &on4_answer), on4_entry);
    let presence = app.presence(&s.admin, &s.cadre.id, day5, day4);
    assert_eq!(presence_status(&presence, day5), "present");
    assert_eq!(presence_status(&presence, day4), "absent");

    assert_eq!(kind_count(&app, "correction_decision"), 4);
    // Every decision so far is in the ledger, each once.
    assert_eq!(
        app.sql_count(
            "SELECT count(*) FROM ledger WHERE kind IN \
             ('leave_decision', 'trip_decision', 'dispute_decision', 'correction_decision')"
        ),
        4
    );
}

both_backends!(
    leave_decisions,
    trip_decisions,
    disputes,
    corrections_keep_the_original,
);
