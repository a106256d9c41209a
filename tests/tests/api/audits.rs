//! Audited reads (docs/privacy.md): a supervisor's or inspector's read of a person's records,
//! presence, archive, a unit's compliance or an export is a read.audit entry with its X-Reason;
//! admins list them, and each person sees who read their data.

use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::*;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};
use serde_json::{json, Value};

fn reads(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let resp = app.get(path, Some(token));
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["reads"].as_array().unwrap().clone()
}

/// A GET with an X-Reason header: its status.
fn get_with_reason(app: &TestApp, path: &str, token: &str, reason: Option<&str>) -> u16 {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    let mut request = agent
        .get(app.url(path))
        .header("Authorization", format!("Bearer {token}"));
    if let Some(reason) = reason {
        request = request.header("X-Reason", reason);
    }
    request.call().expect("HTTP request").status().as_u16()
}

fn each_audited_read_is_an_entry_with_its_reason(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let sup = app.supervisor(&admin, "sup-t", TOWNSHIP);
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    app.submit_ok(&cadre.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    let today = ymd(county_today());
    let id = &cadre.id;
    let month = &today[..7];
    let audited = [
        (format!("/v1/people/{id}/records"), "records", true),
        (
            format!("/v1/people/{id}/presence?from={today}&to={today}"),
            "presence",
            true,
        ),
        (format!("/v1/people/{id}/archive"), "archive", true),
        (
            format!("/v1/units/{VILLAGE_A}/compliance?period={month}"),
            "compliance",
            false,
        ),
        (
            format!("/v1/units/{VILLAGE_A}/records/export"),
            "export",
            false,
        ),
    ];
    let before = app.ledger_size();
    // A browser cannot put UTF-8 in a header: the console percent-encodes the reason, and it
    // is kept decoded, like the raw UTF-8 the other reads send.
    let encoded: String = "核查驻村情况"
        .bytes()
        .map(|b| format!("%{b:02X}"))
        .collect();
    for (i, (path, _, _)) in audited.iter().enumerate() {
        let reason = if i == 0 {
            encoded.as_str()
        } else {
            "核查驻村情况"
        };
        assert_eq!(
            get_with_reason(&app, path, &sup, Some(reason)),
            200,
            "{path}"
        );
    }
    // Admins, and a cadre reading their own data, are not audited here.
    assert_eq!(get_with_reason(&app, &audited[0].0, &admin, None), 200);
    assert_eq!(
        get_with_reason(&app, &audited[1].0, &cadre.token, None),
        200
    );
    assert_eq!(app.ledger_size(), before + audited.len() as i64);

    let sup_id = token_subject(&sup);
    let listed = reads(&app, &admin, &format!("/v1/audit/reads?actor={sup_id}"));
    assert_eq!(listed.len(), audited.len());
    // Newest first, so reversed.
    for ((_, what, about_person), read) in audited.iter().zip(listed.iter().rev()) {
        assert_eq!(read["what"], *what, "{read}");
        assert_eq!(read["actor_id"], sup_id);
        assert_eq!(read["actor_role"], "supervisor");
        assert_eq!(read["reason"], "核查驻村情况");
        if *about_person {
            assert_eq!(read["person_id"], json!(id));
        } else {
            assert_eq!(read["person_id"], Value::Null);
            assert_eq!(read["unit_code"], VILLAGE_A);
        }
        // Each is a read.audit entry in the ledger.
        let header = app.entry_header(&admin, read["seq"].as_i64().unwrap());
        assert_eq!(header["kind"], "read.audit", "{header}");
    }
    // By person: the three reads of the cadre's own data; the cadre sees them too.
    let about = reads(&app, &admin, &format!("/v1/audit/reads?person={id}"));
    assert_eq!(about.len(), 3);
    assert_eq!(reads(&app, &cadre.token, "/v1/me/readers"), about);
    // Only admins list the audit.
    app.get("/v1/audit/reads", Some(&sup)).problem(403);
    app.get("/v1/audit/reads", Some(&cadre.token)).problem(403);
    let resp = app.get("/v1/audit/reads?person=nobody", Some(&admin));
    resp.problem(422);
    assert_eq!(resp.pointers(), ["/person"]);
}

fn a_policy_can_require_inspectors_to_give_a_reason(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let (_, inspector) = app.person_with_token(&admin, "insp", "inspector", COUNTY);
    let sup = app.supervisor(&admin, "sup-a", VILLAGE_A);
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let path = format!("/v1/people/{}/records", cadre.id);
    // No policy: a reason is optional.
    assert_eq!(get_with_reason(&app, &path, &inspector, None), 200);
    let resp = app.put(
        &format!("/v1/units/{COUNTY}/policy"),
        Some(&admin),
        &json!({"read_reason_required": true}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    let before = app.ledger_size();
    let resp = app.get(&path, Some(&inspector));
    resp.problem(400);
    assert_eq!(resp.pointers(), ["/headers/X-Reason"]);
    assert_eq!(app.ledger_size(), before, "a refused read is not on record");
    assert_eq!(
        get_with_reason(&app, &path, &inspector, Some("线索核查")),
        200
    );
    // The rule is for inspectors; a supervisor's read is audited without one.
    assert_eq!(get_with_reason(&app, &path, &sup, None), 200);
    let listed = reads(
        &app,
        &admin,
        &format!("/v1/audit/reads?person={}", cadre.id),
    );
    let reasons: Vec<&Value> = listed.iter().map(|r| &r["reason"]).collect();
    assert_eq!(reasons, [&Value::Null, &json!("线索核查"), &Value::Null]);
    let resp = app.put(
        &format!("/v1/units/{COUNTY}/policy"),
        Some(&admin),
        &json!({"read_reason_required": "yes"}),
    );
    resp.problem(422);
    assert_eq!(resp.pointers(), ["/read_reason_required"]);
}

both_backends!(
    each_audited_read_is_an_entry_with_its_reason,
    a_policy_can_require_inspectors_to_give_a_reason
);
