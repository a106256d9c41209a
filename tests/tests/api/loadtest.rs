//! `fieldtrail loadtest` against the real server: short, bounded runs through the library entry
//! point (`fieldtrail_api::loadtest::run`), then what the server stored is checked.

use fieldtrail_api::loadtest::{self, Options, Report};
use fieldtrail_tests::{both_backends, Backend, TestApp, ROOT_PASSWORD, ROOT_USER};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

fn options(app: &TestApp, acked_log: &Path) -> Options {
    let mut options = Options::new(&app.base, ROOT_USER, ROOT_PASSWORD);
    options.cadres = 3;
    options.villages = 2;
    options.concurrency = 3;
    options.duration = Duration::from_secs(30);
    options.max_requests = Some(150);
    options.resend_ratio = 0.1;
    options.mix = "checkin=6,visit=2,log=2".parse().unwrap();
    options.acked_log = Some(acked_log.to_owned());
    options
}

fn statuses(map: &BTreeMap<String, u64>) -> Vec<&str> {
    map.keys().map(String::as_str).collect()
}

/// Every acked line is a record the server returns (to root) with the same seq and leaf hash.
fn assert_acked_lines_are_stored(app: &TestApp, acked_log: &Path, report: &Report) {
    let text = std::fs::read_to_string(acked_log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len() as u64,
        report.acked,
        "one line per acknowledged record"
    );
    let token = app.root_token();
    for line in lines {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "{line:?}");
        let record = app.get(&format!("/v1/records/{}", parts[0]), Some(&token));
        assert_eq!(record.status, 200, "{line}: {}", record.text);
        assert_eq!(record.body["seq"].to_string(), parts[1], "{line}");
        assert_eq!(record.body["leaf_hash"], parts[2], "{line}");
    }
}

fn single_records_are_acknowledged_and_stored_as_acked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let acked = dir.path().join("acked.log");
    let mut options = options(&app, &acked);
    // Six cadres, so that some stand in their village whatever places the clock gives them.
    options.cadres = 6;
    let report = loadtest::run(&options).unwrap();
    assert_eq!(report.requests, 150, "{report:?}");
    assert_eq!(report.records, 150);
    assert_eq!(report.batch, None);
    assert_eq!(report.transport_errors, 0, "{report:?}");
    assert_eq!(statuses(&report.status), ["200", "201"], "{report:?}");
    assert_eq!(report.acked, 150);
    // Resends are the exact same record again, answered with the original.
    assert!(report.resends > 0, "{report:?}");
    assert_eq!(
        report.resend_status,
        BTreeMap::from([("200".to_owned(), report.resends)])
    );
    assert_eq!(report.status["200"], report.resends);
    assert_acked_lines_are_stored(&app, &acked, &report);

    // The three kinds arrive, each new record once, judged against the generated villages.
    let count = |sql: &str| app.sql_count(sql);
    assert_eq!(
        count("SELECT COUNT(*) FROM records") as u64,
        150 - report.resends
    );
    for kind in ["check_in", "household_visit", "daily_log"] {
        assert!(
            count(&format!(
                "SELECT COUNT(*) FROM records WHERE kind = '{kind}'"
            )) > 0,
            "{kind}"
        );
    }
    assert!(
        count("SELECT COUNT(*) FROM records WHERE geo IN ('inside', 'boundary') AND roster = 'assigned'")
            > 0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM records WHERE unit_code NOT LIKE 'lt-%'"),
        0
    );
    // Each cadre's first record binds its own phone; no cadre's phone is another's.
    assert_eq!(count("SELECT COUNT(*) FROM device_bindings"), 6);
    assert_eq!(
        count("SELECT COUNT(DISTINCT device_id) FROM device_bindings WHERE device_id LIKE 'lt-phone-%'"),
        6
    );
}

fn a_second_run_reuses_the_organisation(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut first = options(&app, &dir.path().join("acked.log"));
    first.cadres = 2;
    first.max_requests = Some(10);
    let report = loadtest::run(&first).unwrap();
    assert_eq!(
        report.setup.units_created, 4,
        "county, township, 2 villages"
    );
    assert_eq!(report.setup.people_created, 2);
    assert_eq!(report.setup.assignments_created, 2);
    assert_eq!(report.setup.households_created, 6);
    assert_eq!(report.setup.pairings_created, 6);

    let mut more = first.clone();
    more.cadres = 3;
    let report = loadtest::run(&more).unwrap();
    assert_eq!(report.setup.units_created, 0, "{report:?}");
    assert_eq!(report.setup.people_created, 1);
    assert_eq!(report.setup.assignments_created, 1);
    assert_eq!(report.setup.households_created, 3);

    let again = loadtest::run(&more).unwrap();
    assert_eq!(
        (
            again.setup.units_created,
            again.setup.people_created,
            again.setup.assignments_created,
            again.setup.households_created,
            again.setup.pairings_created,
        ),
        (0, 0, 0, 0, 0)
    );
    let count = |sql: &str| app.sql_count(sql);
    assert_eq!(
        count("SELECT COUNT(*) FROM units WHERE code LIKE 'lt-%'"),
        4
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM people WHERE username LIKE 'lt-cadre-%'"),
        3
    );
    assert_eq!(count("SELECT COUNT(*) FROM assignments"), 3);
    assert_eq!(count("SELECT COUNT(*) FROM households"), 9);
    assert_eq!(count("SELECT COUNT(*) FROM pairings"), 9);
    for report in [&report, &again] {
        for status in report.record_status.keys() {
            assert!(["200", "201"].contains(&status.as_str()), "{report:?}");
        }
    }
}

fn batches_are_acknowledged_item_by_item(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let acked = dir.path().join("acked.log");
    let mut options = options(&app, &acked);
    options.cadres = 2;
    options.concurrency = 2;
    options.batch = Some(25);
    options.max_requests = Some(8);
    let report = loadtest::run(&options).unwrap();
    assert_eq!(report.requests, 8, "{report:?}");
    assert_eq!(report.records, 200);
    assert_eq!(report.batch, Some(25));
    assert_eq!(report.status, BTreeMap::from([("200".to_owned(), 8)]));
    for status in report.record_status.keys() {
        assert!(["200", "201"].contains(&status.as_str()), "{report:?}");
    }
    assert_eq!(report.acked, 200);
    assert!(report.resends > 0, "{report:?}");
    assert_eq!(
        report.resend_status,
        BTreeMap::from([("200".to_owned(), report.resends)])
    );
    assert_acked_lines_are_stored(&app, &acked, &report);
    // Like a phone back online: captured over the past hours, not just now.
    let an_hour_ago =
        (time::OffsetDateTime::now_utc() - time::Duration::hours(1)).unix_timestamp() * 1_000_000;
    assert!(
        app.sql_count(&format!(
            "SELECT COUNT(*) FROM records WHERE captured_at < {an_hour_ago}"
        )) > 0
    );
    let json = report.to_json();
    assert_eq!(json["records"], 200);
    assert_eq!(json["batch"], 25);
    assert_eq!(json["status"]["200"], 8);
}

/// The server dies under load: the run goes on to its end, counting transport errors and
/// retrying, and every record acknowledged before the end is stored as acknowledged.
fn a_dead_server_is_counted_not_fatal(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let acked = dir.path().join("acked.log");
    let mut options = options(&app, &acked);
    options.max_requests = None;
    options.duration = Duration::from_secs(4);
    let runner = {
        let options = options.clone();
        std::thread::spawn(move || loadtest::run(&options))
    };
    // Stop the server once load is flowing (the acked log grows as answers arrive).
    let waiting = std::time::Instant::now();
    while std::fs::metadata(&acked).map_or(0, |m| m.len()) == 0 {
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
            "no load arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    app.stop();
    let report = runner.join().unwrap().unwrap();
    assert!(report.transport_errors > 0, "{report:?}");
    assert!(report.retries > 0, "{report:?}");
    assert!(report.acked > 0, "{report:?}");
    assert!(
        report.duration_s >= 3.5,
        "kept trying to the end: {report:?}"
    );
    let check = fieldtrail_api::check_store::run(&app.database_url, Some(&acked)).unwrap();
    assert!(
        check.passed(),
        "{}",
        fieldtrail_api::check_store::render(&check)
    );
    let acked_lines = std::fs::read_to_string(&acked).unwrap().lines().count() as u64;
    assert_eq!(acked_lines, report.acked);
}

/// `--rate` paces the load: the schedule allows at most rate × duration requests (plus one per
/// connection at the start), however fast the server answers.
#[test]
fn rate_paces_the_requests() {
    let app = TestApp::spawn(Backend::Sqlite).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(&app, &dir.path().join("acked.log"));
    options.max_requests = None;
    options.duration = Duration::from_secs(2);
    options.rate = Some(50.0);
    options.concurrency = 4;
    let report = loadtest::run(&options).unwrap();
    assert!(report.requests > 0, "{report:?}");
    assert!(report.requests <= 100 + 4, "{report:?}");
    assert_eq!(report.rate, Some(50.0));
    assert!(report.duration_s >= 1.9, "{report:?}");
    assert_eq!(report.to_json()["rate"], 50.0);
}

both_backends!(
    single_records_are_acknowledged_and_stored_as_acked,
    a_second_run_reuses_the_organisation,
    batches_are_acknowledged_item_by_item,
    a_dead_server_is_counted_not_fatal,
);
