//! The documented draw algorithm (docs/spot-checks.md), reimplemented independently in
//! tests/python/spot_check_sample.py, agrees with the server on real draws: over one village,
//! over a unit covering two, with a size larger than the population, over households, and with
//! cadres passed over at the monthly challenge cap.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use fieldtrail_tests::field::{position, record};
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{both_backends, Backend, TestApp};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Runs the Python reimplementation on one request; its answer.
fn python(request: &Value) -> Value {
    fieldtrail_tests::python::exchange("spot_check_sample.py", request)
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn draw(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = app.post("/v1/spot-checks/draws", Some(token), &body);
    assert_eq!(resp.status, 201, "draw {body} failed: {}", resp.text);
    resp.body
}

/// Recomputes the draw in Python and asserts the server's sample and population hash agree,
/// in the answer, in the stored draw and in the `spot_check.sample` entry's payload. The seed
/// is read from the signed checkpoint of the draw's own size, as served by the ledger.
fn agrees_with_python(app: &TestApp, token: &str, drawn: &Value) -> Vec<String> {
    let id = drawn["id"].as_str().unwrap();
    let seq = drawn["seq"].as_i64().unwrap();
    assert_eq!(drawn["checkpoint"]["size"], seq, "{drawn}");
    let note = app.get(&format!("/v1/ledger/checkpoints/{seq}"), None);
    assert_eq!(note.status, 200, "{}", note.text);
    let root = note.text.lines().nth(2).unwrap().to_owned();
    assert_eq!(drawn["checkpoint"]["root"], root, "{drawn}");
    assert_eq!(STANDARD.decode(&root).unwrap().len(), 32);

    let members = strings(&drawn["members"]);
    let mut sorted = members.clone();
    sorted.sort();
    assert_eq!(members, sorted, "members are listed in byte order");
    let passed_over: Vec<Value> = drawn["passed_over"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    let answer = python(&json!({
        "seed": root,
        "draw_id": id,
        "members": members,
        "passed_over": passed_over,
        "size": drawn["size"],
    }));
    assert_eq!(answer["sample"], drawn["sample"], "draw {id}: {drawn}");
    assert_eq!(
        answer["population_sha256"], drawn["population_sha256"],
        "draw {id}"
    );

    let stored = app.get(&format!("/v1/spot-checks/draws/{id}"), Some(token));
    assert_eq!(stored.status, 200, "{}", stored.text);
    assert_eq!(stored.body["sample"], answer["sample"]);
    assert_eq!(
        stored.body["population_sha256"],
        answer["population_sha256"]
    );
    assert_eq!(stored.body["checkpoint"]["root"], root);
    let payload = stored.body["evidence"]["sample_entry"]["payload"]
        .as_str()
        .unwrap_or_else(|| panic!("no sample entry payload: {}", stored.text));
    let entry: Value = serde_json::from_slice(&STANDARD.decode(payload).unwrap()).unwrap();
    assert_eq!(entry["sample"], answer["sample"], "{entry}");
    assert_eq!(entry["draw_id"], id);
    assert_eq!(entry["checkpoint"]["root"], root);
    strings(&answer["sample"])
}

fn passed_over_ids(drawn: &Value) -> BTreeSet<String> {
    drawn["passed_over"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

fn the_python_reimplementation_agrees_with_the_server(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let now = app.at_county_hour(10);
    let mut in_a = Vec::new();
    for i in 0..5 {
        let id = app.create_person(&root, &format!("py_a{i}"), "cadre", VILLAGE_A);
        app.assign(&root, &id, VILLAGE_A, "2020-01-01", None);
        in_a.push(id);
    }
    let mut in_b = Vec::new();
    for i in 0..3 {
        let id = app.create_person(&root, &format!("py_b{i}"), "cadre", VILLAGE_B);
        app.assign(&root, &id, VILLAGE_B, "2020-01-01", None);
        in_b.push(id);
    }
    let everyone: BTreeSet<String> = in_a.iter().chain(&in_b).cloned().collect();
    let mut challenged = BTreeSet::new();

    // One village, part of it.
    let a = draw(
        &app,
        &root,
        json!({"unit_code": VILLAGE_A, "population": "cadres", "size": 2}),
    );
    assert_eq!(
        strings(&a["members"]).into_iter().collect::<BTreeSet<_>>(),
        in_a.iter().cloned().collect()
    );
    let sample = agrees_with_python(&app, &root, &a);
    assert_eq!(sample.len(), 2);
    challenged.extend(sample);

    // More than the population: all of it, in the order drawn.
    let b = draw(
        &app,
        &root,
        json!({"unit_code": VILLAGE_B, "population": "cadres", "size": 5, "purpose": "all of B"}),
    );
    let sample = agrees_with_python(&app, &root, &b);
    assert_eq!(
        sample.iter().cloned().collect::<BTreeSet<_>>(),
        in_b.iter().cloned().collect()
    );
    challenged.extend(sample);

    // A unit over both villages.
    let county = draw(
        &app,
        &root,
        json!({"unit_code": COUNTY, "population": "cadres", "size": 3}),
    );
    assert_eq!(
        strings(&county["members"])
            .into_iter()
            .collect::<BTreeSet<_>>(),
        everyone
    );
    assert_eq!(county["population_size"], 8);
    challenged.extend(agrees_with_python(&app, &root, &county));

    // At most one challenge a month: everyone challenged so far is passed over.
    let resp = app.put(
        &format!("/v1/units/{TOWNSHIP}/policy"),
        Some(&root),
        &json!({"max_challenges_per_month": 1}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    let capped = draw(
        &app,
        &root,
        json!({"unit_code": TOWNSHIP, "population": "cadres", "size": 2}),
    );
    assert_eq!(passed_over_ids(&capped), challenged);
    let sample = agrees_with_python(&app, &root, &capped);
    assert_eq!(sample.len(), 2.min(everyone.len() - challenged.len()));
    assert!(sample.iter().all(|id| !challenged.contains(id)), "{capped}");
    challenged.extend(sample);
    // Drawn again: those just challenged are passed over too.
    let again = draw(
        &app,
        &root,
        json!({"unit_code": TOWNSHIP, "population": "cadres", "size": 3}),
    );
    assert_eq!(passed_over_ids(&again), challenged);
    let sample = agrees_with_python(&app, &root, &again);
    assert_eq!(sample.len(), 3.min(everyone.len() - challenged.len()));
    // The population hash covers passed-over members too.
    assert_eq!(again["population_sha256"], county["population_sha256"]);

    // Visited households: four in village A, three of them visited this month.
    let cadre_token = app.login("py_a0", CADRE_PASSWORD);
    let mut visited = BTreeSet::new();
    for i in 0..4 {
        let lon = A_CENTRE.0 + 0.001 * f64::from(i);
        let household = app.household(&root, VILLAGE_A, lon, A_CENTRE.1);
        if i < 3 {
            app.submit_ok(
                &cadre_token,
                &record(
                    "household_visit",
                    json!({"household_id": household, "purpose": "走访",
                           "captured_at": rfc3339(now),
                           "position": position(lon, A_CENTRE.1, 10.0)}),
                ),
            );
            visited.insert(household);
        }
    }
    for size in [2, 10] {
        let households = draw(
            &app,
            &root,
            json!({"unit_code": VILLAGE_A, "population": "visited_households", "size": size}),
        );
        assert_eq!(
            strings(&households["members"])
                .into_iter()
                .collect::<BTreeSet<_>>(),
            visited
        );
        let sample = agrees_with_python(&app, &root, &households);
        assert_eq!(sample.len(), size.min(visited.len()));
    }
}

/// The script's own check of the document's worked example.
#[test]
fn the_python_reimplementation_passes_the_worked_example() {
    let output = fieldtrail_tests::python::command("spot_check_sample.py")
        .arg("--self-test")
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "self-test failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "ok");
}

both_backends!(the_python_reimplementation_agrees_with_the_server);
