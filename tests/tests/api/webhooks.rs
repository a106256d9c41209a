//! Webhooks (docs/alerts.md): registered by admins, delivered by Standard Webhooks 1.0. The
//! deliveries are checked by the reference Python library (`standardwebhooks`), through an
//! outage of the receiver and a restart of the server: every alert arrives, none is lost, and
//! retries carry the same webhook-id so the receiver can deduplicate.

use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::*;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// The Python receiver, verifying each delivery and logging it as a JSON line.
struct Receiver {
    child: Child,
}

impl Receiver {
    fn start(port: u16, secret: &str, log: &Path) -> Receiver {
        let mut child = fieldtrail_tests::python::command("webhook_receiver.py")
            .arg(port.to_string())
            .arg(secret)
            .arg(log)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the webhook receiver (needs the standardwebhooks package)");
        // It prints "ready" once it listens.
        let mut ready = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(child.stdout.take().expect("receiver stdout"))
            .read_line(&mut ready)
            .expect("read from the receiver");
        assert_eq!(
            ready.trim(),
            "ready",
            "the webhook receiver did not start (is standardwebhooks installed?)"
        );
        Receiver { child }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The receiver's log lines.
fn received(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON log line"))
        .collect()
}

/// Waits (bounded) until `done` holds of the receiver's log.
fn wait_for(log: &Path, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = received(log);
        if done(&lines) {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; received {lines:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn register(app: &TestApp, admin: &str, body: Value) -> Value {
    let resp = app.post("/v1/webhooks", Some(admin), &body);
    assert_eq!(resp.status, 201, "{}", resp.text);
    resp.body
}

fn deliveries(app: &TestApp, admin: &str, hook: &str) -> Vec<Value> {
    let resp = app.get(&format!("/v1/webhooks/{hook}/deliveries"), Some(admin));
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp.body["deliveries"].as_array().unwrap().clone()
}

/// A check-in in village B, outside the village A cadre's villages: one `record.outside`
/// alert. Returns the alert's id.
fn outside_alert(app: &TestApp, admin: &str, cadre: &str, minutes: i64) -> String {
    let at =
        OffsetDateTime::now_utc() - time::Duration::hours(3) + time::Duration::minutes(minutes);
    let record = app.submit_ok(
        cadre,
        &check_in_at(B_CENTRE.0, B_CENTRE.1, 10.0, &rfc3339(at)),
    );
    let list = app.get("/v1/alerts", Some(admin));
    list.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["source_id"] == record.body["id"] && a["kind"] == "record.outside")
        .unwrap_or_else(|| panic!("no outside alert for {}", record.text))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn every_alert_is_delivered_through_an_outage_and_a_restart(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let port = free_port();
    let dir = tempfile::tempdir().expect("temp dir");
    let log: PathBuf = dir.path().join("received.jsonl");
    let hook = register(
        &app,
        &admin,
        json!({"url": format!("http://127.0.0.1:{port}/hooks/fieldtrail"), "unit_code": COUNTY}),
    );
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{hook}");

    let receiver = Receiver::start(port, &secret, &log);
    let first = outside_alert(&app, &admin, &cadre.token, 0);
    wait_for(&log, "the first delivery", |lines| lines.len() == 1);

    // The receiver goes away; alerts keep coming and their deliveries fail and wait.
    receiver.stop();
    let mut during = Vec::new();
    for i in 1..=3 {
        during.push(outside_alert(&app, &admin, &cadre.token, i * 10));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log_now = deliveries(&app, &admin, &hook_id);
        let retried = log_now
            .iter()
            .filter(|d| d["state"] == "pending" && d["attempts"].as_i64().unwrap() >= 2)
            .count();
        if retried == 3 {
            for d in log_now.iter().filter(|d| d["state"] == "pending") {
                assert!(d["last_error"].is_string(), "{d}");
                assert!(d["next_try"].is_string(), "{d}");
                assert_eq!(d["last_status"], Value::Null, "{d}");
            }
            break;
        }
        assert!(Instant::now() < deadline, "no retries seen: {log_now:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The server restarts while they wait: the outbox is in the database.
    let app = app.restart();
    let admin = app.root_token();
    let cadre_token = app.login("cadre-a", CADRE_PASSWORD);
    during.push(outside_alert(&app, &admin, &cadre_token, 50));

    let receiver = Receiver::start(port, &secret, &log);
    let lines = wait_for(&log, "every delivery", |lines| {
        let ids: BTreeSet<&str> = lines
            .iter()
            .filter_map(|l| l["alert_id"].as_str())
            .collect();
        ids.len() == 5
    });
    receiver.stop();

    // Every request verified with the reference library; nothing was refused.
    let refused: Vec<&Value> = lines.iter().filter(|l| l.get("error").is_some()).collect();
    assert!(refused.is_empty(), "{refused:?}");
    // Exactly once by webhook-id: each alert under one id, whatever was resent.
    let mut by_alert: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in &lines {
        assert_eq!(line["type"], "alert.record.outside", "{line}");
        assert_eq!(line["has_timestamp"], true, "{line}");
        by_alert
            .entry(line["alert_id"].as_str().unwrap().to_owned())
            .or_default()
            .insert(line["id"].as_str().unwrap().to_owned());
    }
    let mut expected: BTreeSet<String> = during.iter().cloned().collect();
    expected.insert(first);
    assert_eq!(by_alert.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(by_alert.values().all(|ids| ids.len() == 1), "{by_alert:?}");
    // The delivery log agrees: all delivered, under the ids the receiver saw (the sender
    // records an attempt once its round is over, a moment after the receiver has it).
    let deadline = Instant::now() + Duration::from_secs(20);
    let log_now = loop {
        let log_now = deliveries(&app, &admin, &hook_id);
        if log_now.iter().all(|d| d["state"] == "delivered") || Instant::now() > deadline {
            break log_now;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(log_now.len(), 5, "{log_now:?}");
    for d in &log_now {
        assert_eq!(d["state"], "delivered", "{d}");
        assert_eq!(d["last_status"], 204, "{d}");
        assert_eq!(d["next_try"], Value::Null, "{d}");
        assert!(d["delivered_at"].is_string(), "{d}");
        let ids = &by_alert[d["alert_id"].as_str().unwrap()];
        assert!(ids.contains(d["id"].as_str().unwrap()), "{d}");
    }
    let retried: Vec<&Value> = log_now
        .iter()
        .filter(|d| d["attempts"].as_i64().unwrap() > 1)
        .collect();
    assert!(
        retried.len() >= 3,
        "the outage's deliveries were retried: {log_now:?}"
    );
}

fn webhooks_get_only_their_units_and_events(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let url = "http://127.0.0.1:9/never";
    let county = register(&app, &admin, json!({"url": url, "unit_code": COUNTY}));
    let other_village = register(&app, &admin, json!({"url": url, "unit_code": VILLAGE_B}));
    let only_mock = register(
        &app,
        &admin,
        json!({"url": url, "unit_code": VILLAGE_A, "events": ["alert.record.mock_location"]}),
    );
    assert_eq!(only_mock["events"], json!(["alert.record.mock_location"]));
    outside_alert(&app, &admin, &cadre.token, 0);
    let id = |hook: &Value| hook["id"].as_str().unwrap().to_owned();
    assert_eq!(deliveries(&app, &admin, &id(&county)).len(), 1);
    assert_eq!(deliveries(&app, &admin, &id(&other_village)).len(), 0);
    assert_eq!(deliveries(&app, &admin, &id(&only_mock)).len(), 0);
    let mut mocked = check_in_at(A_CENTRE.0, A_CENTRE.1, 10.0, &now_rfc3339());
    mocked["position"]["mock"] = json!(true);
    app.submit_ok(&cadre.token, &mocked);
    let mock_log = deliveries(&app, &admin, &id(&only_mock));
    assert_eq!(mock_log.len(), 1, "{mock_log:?}");
    assert_eq!(mock_log[0]["type"], "alert.record.mock_location");
    assert_eq!(deliveries(&app, &admin, &id(&county)).len(), 2);

    // Listed without secrets; removing one cancels what waits and stops further deliveries.
    let list = app.get("/v1/webhooks", Some(&admin));
    assert_eq!(list.status, 200, "{}", list.text);
    let hooks = list.body["webhooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 3);
    assert!(
        hooks.iter().all(|h| h.get("secret").is_none()),
        "{}",
        list.text
    );
    let gone = app.delete(&format!("/v1/webhooks/{}", id(&county)), Some(&admin));
    assert_eq!(gone.status, 200, "{}", gone.text);
    assert_eq!(gone.body["cancelled"], 2, "{}", gone.text);
    let seq = gone.body["seq"].as_i64().unwrap();
    assert_eq!(app.entry_header(&admin, seq)["kind"], "webhook.delete");
    assert_eq!(
        app.entry_header(&admin, county["seq"].as_i64().unwrap())["kind"],
        "webhook.create"
    );
    let after = deliveries(&app, &admin, &id(&county));
    assert!(after.iter().all(|d| d["state"] == "cancelled"), "{after:?}");
    outside_alert(&app, &admin, &cadre.token, 20);
    assert_eq!(deliveries(&app, &admin, &id(&county)).len(), 2);
    app.delete(&format!("/v1/webhooks/{}", id(&county)), Some(&admin))
        .problem(404);
    let list = app.get("/v1/webhooks", Some(&admin));
    assert_eq!(list.body["webhooks"].as_array().unwrap().len(), 2);
}

fn registration_is_checked_and_for_admins_only(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let sup = app.supervisor(&admin, "sup-a", VILLAGE_A);
    let url = "https://oa.example.gov.cn/hooks";
    app.post(
        "/v1/webhooks",
        Some(&sup),
        &json!({"url": url, "unit_code": COUNTY}),
    )
    .problem(403);
    app.get("/v1/webhooks", Some(&sup)).problem(403);
    let bad = app.post(
        "/v1/webhooks",
        Some(&admin),
        &json!({"url": "ftp://x.cn/", "unit_code": 42, "events": ["alert.record.outside", "record.bogus"]}),
    );
    bad.problem(422);
    let mut pointers = bad.pointers();
    pointers.sort();
    assert_eq!(
        pointers,
        vec!["/events/1", "/unit_code", "/url"],
        "{}",
        bad.text
    );
    let missing = app.post("/v1/webhooks", Some(&admin), &json!({}));
    missing.problem(422);
    let mut pointers = missing.pointers();
    pointers.sort();
    assert_eq!(pointers, vec!["/unit_code", "/url"], "{}", missing.text);
    app.post(
        "/v1/webhooks",
        Some(&admin),
        &json!({"url": url, "unit_code": COUNTY, "events": []}),
    )
    .problem(422);
    // A unit that does not exist is named as such; nothing is registered by a refused request.
    let unknown = app.post(
        "/v1/webhooks",
        Some(&admin),
        &json!({"url": url, "unit_code": "990199"}),
    );
    unknown.problem(422);
    assert_eq!(unknown.pointers(), vec!["/unit_code"], "{}", unknown.text);
    let list = app.get("/v1/webhooks", Some(&admin));
    assert_eq!(list.body["webhooks"], json!([]));
    app.get("/v1/webhooks/nope/deliveries", Some(&admin))
        .problem(404);
    let hook = register(&app, &admin, json!({"url": url, "unit_code": COUNTY}));
    app.get(
        &format!(
            "/v1/webhooks/{}/deliveries?state=lost",
            hook["id"].as_str().unwrap()
        ),
        Some(&admin),
    )
    .problem(422);
}

both_backends!(every_alert_is_delivered_through_an_outage_and_a_restart);
both_backends!(webhooks_get_only_their_units_and_events);
both_backends!(registration_is_checked_and_for_admins_only);
