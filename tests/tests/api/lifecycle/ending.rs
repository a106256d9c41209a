//! Ending assignments and pairings: a new ledger entry that sets `valid_to`, never a delete; an
//! end may only move earlier, and only an admin within scope may set it.

use super::*;
use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::{check_in_at, county_day, county_time, ymd};
use fieldtrail_tests::Backend;

/// Posts an end and asserts 200 and that it is exactly one new ledger entry of `family`.
fn ended(app: &TestApp, admin: &str, what: &str, id: &str, valid_to: &str) -> Value {
    let before = app.ledger_size();
    let resp = app.post(
        &format!("/v1/{what}/{id}/end"),
        Some(admin),
        &json!({"valid_to": valid_to}),
    );
    assert_eq!(
        resp.status, 200,
        "end {what} {id} at {valid_to}: {}",
        resp.text
    );
    assert_eq!(resp.body["id"], id, "{}", resp.text);
    assert_eq!(resp.body["valid_to"], valid_to, "{}", resp.text);
    assert_eq!(app.ledger_size(), before + 1, "an end is one ledger entry");
    let header = app.entry_header(admin, before + 1);
    let family = what.trim_end_matches('s');
    assert!(
        header["kind"]
            .as_str()
            .is_some_and(|k| k.starts_with(family)),
        "the entry is about the {family}: {header}"
    );
    resp.body
}

/// The refusals every end shares, checked on one assignment or pairing ending 2026-06-30
/// that started 2026-01-01; the ledger never grows.
fn shared_refusals(app: &TestApp, root: &str, what: &str, id: &str) {
    let path = format!("/v1/{what}/{id}/end");
    for (valid_to, status, pointers) in [
        ("2025-12-31", 422, &["/valid_to"][..]),
        ("2026-02-30", 422, &["/valid_to"][..]),
        ("30/06/2026", 422, &["/valid_to"][..]),
        // Already ending then, or earlier.
        ("2026-06-30", 409, &[][..]),
        ("2026-07-01", 409, &[][..]),
        ("2027-01-01", 409, &[][..]),
    ] {
        let resp = app.post_refused(
            &path,
            root,
            &json!({"valid_to": valid_to}),
            status,
            pointers,
        );
        if status == 409 {
            assert_eq!(resp.body["type"], "urn:fieldtrail:problem:conflict");
        }
    }
    app.post_refused(&path, root, &json!({}), 422, &["/valid_to"]);
    let unknown = uuid::Uuid::new_v4();
    let resp = app.post_refused(
        &format!("/v1/{what}/{unknown}/end"),
        root,
        &json!({"valid_to": "2026-03-31"}),
        404,
        &[],
    );
    assert_eq!(resp.body["type"], "urn:fieldtrail:problem:not-found");
}

/// Who may not end it: a supervisor and a cadre of the village, and an admin of another
/// township.
fn refused_to_others(app: &TestApp, root: &str, what: &str, id: &str) {
    let supervisor = app.supervisor(root, &format!("sup-{what}"), TOWNSHIP);
    let cadre = app.cadre_in_a(root, &format!("cadre-{what}"));
    app.create_person(root, &format!("admin-o-{what}"), "admin", OTHER_TOWNSHIP);
    let outsider = app.login(&format!("admin-o-{what}"), CADRE_PASSWORD);
    let path = format!("/v1/{what}/{id}/end");
    for token in [&supervisor, &cadre.token, &outsider] {
        let resp = app.post_refused(&path, token, &json!({"valid_to": "2026-03-31"}), 403, &[]);
        assert_eq!(resp.body["type"], "urn:fieldtrail:problem:forbidden");
    }
    let resp = app.post(&path, None, &json!({"valid_to": "2026-03-31"}));
    resp.problem(401);
}

fn ending_an_assignment(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    with_other_township(&app, &root);
    let cadre = app.create_person(&root, "cadre-a", "cadre", VILLAGE_A);
    let made = assignment(
        &app,
        &root,
        &cadre,
        VILLAGE_A,
        "2026-01-01",
        Some("2026-12-31"),
    );
    let id = made["id"].as_str().unwrap();

    let view = ended(&app, &root, "assignments", id, "2026-06-30");
    for key in ["person_id", "unit_code", "role", "valid_from"] {
        assert_eq!(view[key], made[key], "{key}");
    }
    let listed = app.get(&format!("/v1/people/{cadre}/assignments"), Some(&root));
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        1,
        "nothing deleted"
    );
    assert_eq!(listed.body["items"][0]["valid_to"], "2026-06-30");

    shared_refusals(&app, &root, "assignments", id);
    refused_to_others(&app, &root, "assignments", id);

    // Moving the end earlier is a new end; then the same date again is a conflict.
    ended(&app, &root, "assignments", id, "2026-05-31");
    app.post_refused(
        &format!("/v1/assignments/{id}/end"),
        &root,
        &json!({"valid_to": "2026-05-31"}),
        409,
        &[],
    );
    let listed = app.get(&format!("/v1/people/{cadre}/assignments"), Some(&root));
    assert_eq!(listed.body["items"][0]["valid_to"], "2026-05-31");

    // An open-ended one ends too, by an admin whose scope holds the village.
    let other = app.create_person(&root, "cadre-b", "cadre", VILLAGE_B);
    let open = assignment(&app, &root, &other, VILLAGE_B, "2026-03-01", None);
    app.create_person(&root, "admin-t", "admin", TOWNSHIP);
    let admin_t = app.login("admin-t", CADRE_PASSWORD);
    ended(
        &app,
        &admin_t,
        "assignments",
        open["id"].as_str().unwrap(),
        "2026-04-30",
    );
}

fn ending_a_pairing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    with_other_township(&app, &root);
    let cadre = app.cadre_in_a(&root, "cadre-a");
    let home = app.household(&root, VILLAGE_A, A_CENTRE.0, A_CENTRE.1);
    let made = pairing(
        &app,
        &root,
        &cadre.id,
        &home,
        "2026-01-01",
        Some("2026-12-31"),
    );
    let id = made["id"].as_str().unwrap();

    let view = ended(&app, &root, "pairings", id, "2026-06-30");
    for key in ["person_id", "household_id", "valid_from"] {
        assert_eq!(view[key], made[key], "{key}");
    }
    let listed = app.get(&format!("/v1/people/{}/pairings", cadre.id), Some(&root));
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        1,
        "nothing deleted"
    );
    assert_eq!(listed.body["items"][0]["valid_to"], "2026-06-30");

    shared_refusals(&app, &root, "pairings", id);
    refused_to_others(&app, &root, "pairings", id);

    ended(&app, &root, "pairings", id, "2026-02-28");
    app.post_refused(
        &format!("/v1/pairings/{id}/end"),
        &root,
        &json!({"valid_to": "2026-03-01"}),
        409,
        &[],
    );
    // Once ended, the same household may be paired again after the end.
    pairing(&app, &root, &cadre.id, &home, "2026-03-01", None);
}

fn an_ended_assignment_no_longer_covers_check_ins(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let cadre = app.cadre_since(&root, "cadre-a", VILLAGE_A, county_day(-30));
    let listed = app.get(&format!("/v1/people/{}/assignments", cadre.id), Some(&root));
    let id = listed.body["items"][0]["id"].as_str().unwrap().to_owned();

    let before = app.submit_ok(&cadre.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    assert_eq!(
        before.body["verdict"]["roster"], "assigned",
        "{}",
        before.text
    );

    let yesterday = ymd(county_day(-1));
    ended(&app, &root, "assignments", &id, &yesterday);

    // Today is past the end: still stored, but judged not assigned.
    let today = app.submit_ok(&cadre.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    let verdict = &today.body["verdict"];
    assert_eq!(verdict["roster"], "not_assigned", "{}", today.text);
    assert_eq!(verdict["unit_code"], Value::Null, "{}", today.text);
    assert_eq!(verdict["actual_unit_code"], VILLAGE_A);

    // A fix captured before the end, synced late, is still within the assignment.
    let late = check_in_at(
        A_CENTRE.0,
        A_CENTRE.1,
        10.0,
        &county_time(county_day(-2), 12),
    );
    let resp = app.submit_ok(&cadre.token, &late);
    assert_eq!(resp.body["verdict"]["roster"], "assigned", "{}", resp.text);
    assert_eq!(resp.body["verdict"]["unit_code"], VILLAGE_A);

    // The judgement survives a restart: the end is in the ledger, not only in memory.
    let app = app.restart();
    let token = app.login("cadre-a", CADRE_PASSWORD);
    let again = app.submit_ok(&token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    assert_eq!(
        again.body["verdict"]["roster"], "not_assigned",
        "{}",
        again.text
    );
}

both_backends!(
    ending_an_assignment,
    ending_a_pairing,
    an_ended_assignment_no_longer_covers_check_ins,
);
