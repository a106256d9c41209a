//! Spot-checks: committed draws, challenges and every outcome, supervisors' own checks,
//! household verification, alerts, the monthly cap, quiet hours and scope
//! (docs/spot-checks.md). The server's clock is set and moved by the tests: no waiting for
//! deadlines, and no dependence on the hour the suite runs at.

use fieldtrail_tests::field::{record, ymd};
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime, UtcOffset};

mod challenges;
mod checks;
mod draws;

fn county() -> UtcOffset {
    UtcOffset::from_hms(8, 0, 0).unwrap()
}

fn pos(lon: f64, lat: f64, accuracy_m: f64) -> Value {
    json!({"lon": lon, "lat": lat, "accuracy_m": accuracy_m})
}

/// Far outside both villages, inside the county.
const FARMLAND: (f64, f64) = (116.925, 34.185);

struct Org {
    app: TestApp,
    root: String,
    /// The township's supervisor.
    supervisor: String,
    cadre: Cadre,
}

/// The test county, a township supervisor and one cadre of village A, at 10:00 county time.
fn org(backend: Backend) -> Option<Org> {
    let app = TestApp::spawn(backend)?;
    let root = app.with_county();
    app.at_county_hour(10);
    app.create_person(&root, "sup_town", "supervisor", TOWNSHIP);
    let supervisor = app.login("sup_town", CADRE_PASSWORD);
    let cadre = app.cadre_in_a(&root, "cadre_a");
    Some(Org {
        app,
        root,
        supervisor,
        cadre,
    })
}

fn draw(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = app.post("/v1/spot-checks/draws", Some(token), &body);
    assert_eq!(resp.status, 201, "draw failed: {}", resp.text);
    resp.body
}

fn draw_cadres(app: &TestApp, token: &str, unit: &str, size: u64) -> Value {
    draw(
        app,
        token,
        json!({"unit_code": unit, "population": "cadres", "size": size}),
    )
}

fn get_draw(app: &TestApp, token: &str, id: &Value) -> Value {
    let resp = app.get(
        &format!("/v1/spot-checks/draws/{}", id.as_str().unwrap()),
        Some(token),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body
}

fn my_challenges(app: &TestApp, token: &str) -> Vec<Value> {
    let resp = app.get("/v1/me/challenges", Some(token));
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["challenges"].as_array().unwrap().clone()
}

fn response_body(challenge: &Value, at: OffsetDateTime, position: Value) -> Value {
    json!({
        "nonce": challenge["nonce"],
        "captured_at": rfc3339(at),
        "position": position,
        "device_id": "test-phone-1",
    })
}

fn respond(app: &TestApp, token: &str, challenge: &Value, body: &Value) -> fieldtrail_tests::Resp {
    app.post(
        &format!(
            "/v1/challenges/{}/responses",
            challenge["id"].as_str().unwrap()
        ),
        Some(token),
        body,
    )
}

/// Answers the cadre's only open challenge with a fix at `position`, a minute after now.
fn answer(app: &TestApp, cadre: &Cadre, position: Value) -> Value {
    let open = my_challenges(app, &cadre.token);
    assert_eq!(open.len(), 1, "{open:?}");
    let at = app.clock.now() + Duration::minutes(1);
    app.clock.advance(Duration::minutes(1));
    let resp = respond(
        app,
        &cadre.token,
        &open[0],
        &response_body(&open[0], at, position),
    );
    assert_eq!(resp.status, 201, "answer failed: {}", resp.text);
    resp.body
}

/// The spot-check alerts (results); the alerts a record raises by itself (an outside answer,
/// say) are tests/tests/api/alerts.rs's concern.
fn alerts(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let resp = app.get(&format!("/v1/alerts{query}"), Some(token));
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| !a["kind"].as_str().unwrap().starts_with("record."))
        .cloned()
        .collect()
}

/// A record body captured at the server's "now".
fn record_now(app: &TestApp, kind: &str, fields: Value) -> Value {
    let mut body = record(kind, fields);
    body["captured_at"] = json!(rfc3339(app.clock.now()));
    body
}

/// Polls the draw (bounded) until its first challenge has `status`; the challenge.
fn wait_for_status(app: &TestApp, token: &str, draw_id: &Value, status: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let view = get_draw(app, token, draw_id);
        let challenge = view["challenges"][0].clone();
        if challenge["status"] == status {
            return challenge;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "challenge still {} after 15 s",
            challenge["status"]
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
