//! Pairings (结对帮扶, docs/records.md "Pairings"): an admin pairs a cadre with households; at
//! most `max_paired_households` pairings may overlap in time (policy, default 5), the same
//! household may not be paired twice over overlapping periods, and each pairing is a ledger
//! entry.

use fieldtrail_tests::both_backends;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, Resp, TestApp};
use serde_json::{json, Value};

fn ledger_size(app: &TestApp) -> i64 {
    app.sql_count("SELECT COUNT(*) FROM ledger")
}

/// `n` households spread over village A.
fn households(app: &TestApp, admin: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let step = 0.001 * i as f64;
            app.household(admin, VILLAGE_A, 116.902 + step, 34.202 + step)
        })
        .collect()
}

fn pair(
    app: &TestApp,
    token: &str,
    person: &str,
    household: &str,
    from: &str,
    to: Option<&str>,
) -> Resp {
    let mut body = json!({"person_id": person, "household_id": household, "valid_from": from});
    if let Some(to) = to {
        body["valid_to"] = json!(to);
    }
    app.post("/v1/pairings", Some(token), &body)
}

/// A pairing that must be created; checks the documented answer and that it is one new entry.
fn paired(
    app: &TestApp,
    admin: &str,
    person: &str,
    household: &str,
    from: &str,
    to: Option<&str>,
) -> Value {
    let before = ledger_size(app);
    let resp = pair(app, admin, person, household, from, to);
    assert_eq!(
        resp.status, 201,
        "pairing {household} {from}..{to:?}: {}",
        resp.text
    );
    let body = resp.body;
    assert!(
        body["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{body}"
    );
    assert_eq!(body["person_id"], person);
    assert_eq!(body["household_id"], household);
    assert_eq!(body["valid_from"], from);
    assert_eq!(body["valid_to"], to.map_or(Value::Null, |to| json!(to)));
    assert_eq!(
        ledger_size(app),
        before + 1,
        "a pairing is one ledger entry"
    );
    assert_eq!(body["seq"], before + 1, "{body}");
    body
}

/// A refused pairing: a problem with this status, and nothing stored.
fn refused(resp: &Resp, status: u16, app: &TestApp, before: i64) {
    resp.problem(status);
    assert_eq!(ledger_size(app), before, "{}", resp.text);
}

/// The pairings listed for a person, whether the list is the body or an `items` member.
fn listed(app: &TestApp, token: &str, person: &str) -> Vec<Value> {
    let resp = app.get(&format!("/v1/people/{person}/pairings"), Some(token));
    assert_eq!(resp.status, 200, "{}", resp.text);
    let list = if resp.body.is_array() {
        &resp.body
    } else {
        resp.body
            .as_object()
            .and_then(|o| o.values().find(|v| v.is_array()))
            .unwrap_or_else(|| panic!("no list in {}", resp.text))
    };
    list.as_array().unwrap().clone()
}

fn ids(list: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = list
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn at_most_five_overlapping_pairings(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let homes = households(&app, &admin, 7);
    let mut made = Vec::new();

    // Five open-ended pairings from 2025: the default limit.
    for home in &homes[..5] {
        made.push(paired(&app, &admin, &cadre.id, home, "2025-01-01", None));
    }
    let before = ledger_size(&app);
    // A sixth overlapping them, open-ended or bounded, is one too many.
    let resp = pair(&app, &admin, &cadre.id, &homes[5], "2025-06-01", None);
    assert_eq!(resp.problem(409)["type"], "urn:fieldtrail:problem:conflict");
    assert_eq!(ledger_size(&app), before);
    let resp = pair(
        &app,
        &admin,
        &cadre.id,
        &homes[5],
        "2024-06-01",
        Some("2025-02-01"),
    );
    refused(&resp, 409, &app, before);

    // A period over before the others start overlaps none of them.
    made.push(paired(
        &app,
        &admin,
        &cadre.id,
        &homes[5],
        "2024-01-01",
        Some("2024-12-31"),
    ));
    // The same household again over an overlapping period is a conflict…
    let before = ledger_size(&app);
    let resp = pair(
        &app,
        &admin,
        &cadre.id,
        &homes[5],
        "2024-03-01",
        Some("2024-03-31"),
    );
    refused(&resp, 409, &app, before);
    // …but not over a period that overlaps nothing.
    made.push(paired(
        &app,
        &admin,
        &cadre.id,
        &homes[5],
        "2023-01-01",
        Some("2023-12-31"),
    ));

    // Another cadre has a limit of their own.
    let other = app.cadre_in_a(&admin, "cadre-b");
    let theirs = paired(&app, &admin, &other.id, &homes[6], "2025-01-01", None);

    let list = listed(&app, &admin, &cadre.id);
    assert_eq!(list.len(), made.len(), "{list:?}");
    assert_eq!(ids(&list), ids(&made));
    for pairing in &list {
        let original = made.iter().find(|m| m["id"] == pairing["id"]).unwrap();
        for key in ["person_id", "household_id", "valid_from", "valid_to", "seq"] {
            assert_eq!(pairing[key], original[key], "{key}");
        }
    }
    let list = listed(&app, &admin, &other.id);
    assert_eq!(ids(&list), ids(&[theirs]));
}

fn pairings_check_references_and_roles(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let supervisor = app.supervisor(&admin, "super-t", TOWNSHIP);
    let home = app.household(&admin, VILLAGE_A, A_CENTRE.0, A_CENTRE.1);
    let before = ledger_size(&app);

    let unknown = uuid::Uuid::new_v4().to_string();
    let resp = pair(&app, &admin, &unknown, &home, "2025-01-01", None);
    refused(&resp, 422, &app, before);
    assert_eq!(resp.pointers(), ["/person_id"], "{}", resp.text);
    let resp = pair(&app, &admin, &cadre.id, &unknown, "2025-01-01", None);
    refused(&resp, 422, &app, before);
    assert_eq!(resp.pointers(), ["/household_id"], "{}", resp.text);
    let resp = pair(&app, &admin, &cadre.id, &home, "2025-13-01", None);
    refused(&resp, 422, &app, before);
    assert_eq!(resp.pointers(), ["/valid_from"], "{}", resp.text);

    for token in [&cadre.token, &supervisor] {
        let resp = pair(&app, token, &cadre.id, &home, "2025-01-01", None);
        assert_eq!(
            resp.problem(403)["type"],
            "urn:fieldtrail:problem:forbidden"
        );
    }
    let resp = app.post(
        "/v1/pairings",
        None,
        &json!({"person_id": cadre.id, "household_id": home, "valid_from": "2025-01-01"}),
    );
    refused(&resp, 401, &app, before);
    assert!(listed(&app, &admin, &cadre.id).is_empty());

    let made = paired(
        &app,
        &admin,
        &cadre.id,
        &home,
        "2025-01-01",
        Some("2025-12-31"),
    );
    assert_eq!(ids(&listed(&app, &admin, &cadre.id)), ids(&[made]));
}

fn the_policy_sets_the_limit(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let homes = households(&app, &admin, 4);
    let resp = app.put(
        &format!("/v1/units/{VILLAGE_A}/policy"),
        Some(&admin),
        &json!({"max_paired_households": 2}),
    );
    assert!(resp.status == 200 || resp.status == 201, "{}", resp.text);

    paired(&app, &admin, &cadre.id, &homes[0], "2025-01-01", None);
    paired(
        &app,
        &admin,
        &cadre.id,
        &homes[1],
        "2025-03-01",
        Some("2025-09-30"),
    );
    let before = ledger_size(&app);
    let resp = pair(&app, &admin, &cadre.id, &homes[2], "2025-05-01", None);
    refused(&resp, 409, &app, before);
    // After the second pairing ends only one overlaps.
    paired(&app, &admin, &cadre.id, &homes[2], "2025-10-01", None);
    // And from October there are two again.
    let resp = pair(&app, &admin, &cadre.id, &homes[3], "2026-01-01", None);
    refused(&resp, 409, &app, before + 1);
    assert_eq!(listed(&app, &admin, &cadre.id).len(), 3);
}

both_backends!(
    at_most_five_overlapping_pairings,
    pairings_check_references_and_roles,
    the_policy_sets_the_limit,
);
