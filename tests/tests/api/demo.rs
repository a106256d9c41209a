//! `fieldtrail demo`'s data as the console reads it: a server started on a fresh data dir with
//! the demo loaded (as `run_demo` does: `open_state`, `demo::load`, `Application::serve`), then
//! only HTTP. The last month has records, alerts are open, draws exist, and the county's
//! compliance and bulletin have figures. SQLite only: the demo runs on the embedded database.

use fieldtrail_api::config::Config;
use fieldtrail_api::{demo, open_state, Application};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime, UtcOffset};

struct DemoServer {
    base: String,
    agent: ureq::Agent,
    handle: actix_web::dev::ServerHandle,
    load_seconds: f64,
    _dir: tempfile::TempDir,
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl DemoServer {
    fn start() -> DemoServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(dir.path());
        config.bind = "127.0.0.1:0".into();
        config.workers = Some(2);
        config.embedded = true;
        config.checkpoint_interval = std::time::Duration::from_secs(3600);
        let (started, ready) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let begun = std::time::Instant::now();
                let served = async {
                    let state = open_state(&config).map_err(|e| e.to_string())?;
                    demo::load(&state).await.map_err(|e| e.to_string())?;
                    let seconds = begun.elapsed().as_secs_f64();
                    let app = Application::serve(&config, state).map_err(|e| e.to_string())?;
                    Ok::<_, String>((app, seconds))
                };
                match served.await {
                    Ok((app, seconds)) => {
                        let _ = started.send(Ok((app.port(), app.handle(), seconds)));
                        let _ = app.run_until_stopped().await;
                    }
                    Err(err) => {
                        let _ = started.send(Err(err));
                    }
                }
            });
        });
        let (port, handle, load_seconds) = ready.recv().unwrap().unwrap();
        DemoServer {
            base: format!("http://127.0.0.1:{port}"),
            agent: ureq::Agent::new_with_config(
                ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build(),
            ),
            handle,
            load_seconds,
            _dir: dir,
        }
    }

    fn get(&self, path: &str, token: &str) -> Value {
        let mut response = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        assert_eq!(status, 200, "GET {path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    fn login(&self, username: &str) -> String {
        let body = json!({"username": username, "password": demo::STAFF_PASSWORD});
        let mut response = self
            .agent
            .post(format!("{}/v1/auth/login", self.base))
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes())
            .unwrap();
        let answer: Value =
            serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        answer["access_token"].as_str().unwrap().to_owned()
    }
}

fn sum(rows: &Value, field: &str) -> u64 {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_u64().unwrap())
        .sum()
}

#[test]
fn the_demo_has_a_month_of_records_alerts_draws_and_a_bulletin() {
    let server = DemoServer::start();
    assert!(
        server.load_seconds < 20.0,
        "the demo loads in {:.1} s",
        server.load_seconds
    );
    let token = server.login("supervisor");
    let today = (OffsetDateTime::now_utc().to_offset(UtcOffset::from_hms(8, 0, 0).unwrap())).date();
    let from = today - Duration::days(30);

    // Every cadre has records in the last month; days and nights differ between them.
    let cadres = server.get("/v1/people?role=cadre&limit=100", &token);
    let cadres = cadres["items"].as_array().unwrap().clone();
    assert_eq!(cadres.len(), 24);
    let mut present_days = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    for cadre in &cadres {
        let id = cadre["id"].as_str().unwrap();
        let path = format!("/v1/people/{id}/presence?from={from}&to={today}");
        let presence = server.get(&path, &token);
        let totals = &presence["totals"];
        assert!(totals["present"].as_u64().unwrap() >= 8, "{totals}");
        present_days.insert(totals["present"].as_u64().unwrap());
        for day in presence["days"].as_array().unwrap() {
            statuses.insert(day["status"].as_str().unwrap().to_owned());
        }
    }
    assert!(present_days.len() >= 3, "{present_days:?}");
    for status in ["present", "absent", "leave", "trip", "not_assigned"] {
        assert!(
            statuses.contains(status),
            "some day is {status}: {statuses:?}"
        );
    }

    // Alerts are open, among them the record triggers and spot-check results.
    let alerts = server.get("/v1/alerts?unit=341322&status=open", &token);
    let kinds: BTreeSet<&str> = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "record.outside",
        "record.not_assigned",
        "record.mock_location",
        "spot_check.absent",
        "household.denied",
    ] {
        assert!(kinds.contains(kind), "an open {kind} alert: {kinds:?}");
    }

    // Draws over cadres and over households, with decided and pending challenges.
    let draws = server.get("/v1/spot-checks/draws?unit=341322", &token);
    let draws = draws["draws"].as_array().unwrap().clone();
    assert!(draws.len() >= 2, "{draws:?}");
    let mut outcomes = BTreeSet::new();
    for draw in &draws {
        let view = server.get(
            &format!("/v1/spot-checks/draws/{}", draw["id"].as_str().unwrap()),
            &token,
        );
        for challenge in view["challenges"].as_array().into_iter().flatten() {
            outcomes.insert(challenge["status"].as_str().unwrap().to_owned());
        }
    }
    assert!(
        outcomes.contains("open") && outcomes.contains("present"),
        "{outcomes:?}"
    );

    // The month with most of the demo's days has compliance and bulletin figures.
    let month = {
        let day = today - Duration::days(15);
        format!("{:04}-{:02}", day.year(), u8::from(day.month()))
    };
    let compliance = server.get(
        &format!("/v1/units/341322/compliance?period={month}"),
        &token,
    );
    assert_eq!(compliance["cadres"].as_array().unwrap().len(), 24);
    assert!(
        sum(&compliance["cadres"], "present_days") > 100,
        "{compliance}"
    );
    assert!(sum(&compliance["cadres"], "visits") > 10, "{compliance}");
    let bulletin = server.get(&format!("/v1/units/341322/bulletin?month={month}"), &token);
    let totals = &bulletin["totals"];
    assert!(
        totals["days_in_village"].as_u64().unwrap() > 100,
        "{totals}"
    );
    assert!(
        totals["nights_in_village"].as_u64().unwrap() > 50,
        "{totals}"
    );
    assert!(totals["compliant"].as_u64().unwrap() > 0, "{totals}");
    assert!(totals["not_compliant"].as_u64().unwrap() > 0, "{totals}");
}
