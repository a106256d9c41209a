use fieldtrail_tests::both_backends;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};

fn verdict_of(app: &TestApp, token: &str, lon: f64, lat: f64, accuracy: f64) -> serde_json::Value {
    let resp = app.post("/v1/records", Some(token), &check_in(lon, lat, accuracy));
    assert_eq!(resp.status, 201, "check-in failed: {}", resp.text);
    resp.body["verdict"].clone()
}

/// The acceptance scenario: inside, near the edge with a wide circle, outside, 5 km accuracy,
/// and inside another village.
fn acceptance_scenario(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");

    let inside = verdict_of(&app, &cadre.token, A_CENTRE.0, A_CENTRE.1, 10.0);
    assert_eq!(inside["geo"], "inside");
    assert_eq!(inside["roster"], "assigned");
    assert_eq!(inside["unit_code"], VILLAGE_A);
    assert_eq!(inside["actual_unit_code"], VILLAGE_A);
    assert!(inside["distance_to_boundary_m"].as_f64().unwrap() > 900.0);

    // 0.0005° of longitude at 34.2° N is about 46 m from the east edge; a 200 m circle crosses it.
    let edge = verdict_of(&app, &cadre.token, 116.9195, 34.21, 200.0);
    assert_eq!(edge["geo"], "boundary");
    let d = edge["distance_to_boundary_m"].as_f64().unwrap();
    assert!((30.0..60.0).contains(&d), "distance {d}");

    // Farmland between the villages, about 460 m east of A.
    let outside = verdict_of(&app, &cadre.token, 116.925, 34.21, 20.0);
    assert_eq!(outside["geo"], "outside");
    assert_eq!(outside["actual_unit_code"], TOWNSHIP);
    assert!(outside["distance_to_boundary_m"].as_f64().unwrap() < -400.0);

    let vague = app.post(
        "/v1/records",
        Some(&cadre.token),
        &check_in(A_CENTRE.0, A_CENTRE.1, 5000.0),
    );
    assert_eq!(vague.status, 201);
    assert_eq!(vague.body["verdict"]["geo"], "unverifiable");
    assert_eq!(vague.body["flags"], serde_json::json!(["low_accuracy"]));

    let elsewhere = verdict_of(&app, &cadre.token, B_CENTRE.0, B_CENTRE.1, 10.0);
    assert_eq!(elsewhere["geo"], "outside");
    assert_eq!(elsewhere["unit_code"], VILLAGE_A);
    assert_eq!(elsewhere["actual_unit_code"], VILLAGE_B);
}

both_backends!(acceptance_scenario);
