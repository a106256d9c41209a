//! `fieldtrail check-store` (`fieldtrail_api::check_store`): a store filled by a load test
//! passes; the same store damaged through direct SQL fails, with the damaged check named.

use diesel::RunQueryDsl;
use fieldtrail_api::check_store;
use fieldtrail_api::loadtest::{self, Options};
use fieldtrail_storage::integrity::IntegrityReport;
use fieldtrail_tests::{both_backends, Backend, TestApp, ROOT_PASSWORD, ROOT_USER};
use std::path::Path;
use std::time::Duration;

fn sql_text(app: &TestApp, query: &str) -> String {
    diesel::dsl::sql::<diesel::sql_types::Text>(query)
        .get_result(&mut app.db())
        .expect(query)
}

fn failing(report: &IntegrityReport) -> Vec<&'static str> {
    report
        .checks
        .iter()
        .filter(|c| !c.passed())
        .map(|c| c.name)
        .collect()
}

fn check(app: &TestApp, acked: &Path) -> IntegrityReport {
    check_store::run(&app.database_url, Some(acked)).unwrap()
}

fn filled(app: &TestApp, acked: &Path) {
    let mut options = Options::new(&app.base, ROOT_USER, ROOT_PASSWORD);
    options.cadres = 2;
    options.villages = 2;
    options.concurrency = 2;
    options.duration = Duration::from_secs(30);
    options.max_requests = Some(40);
    options.acked_log = Some(acked.to_owned());
    let report = loadtest::run(&options).unwrap();
    assert_eq!(report.acked, 40, "{report:?}");
}

fn a_clean_store_passes_and_damage_is_named(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let acked = dir.path().join("acked.log");
    filled(&app, &acked);
    let report = check(&app, &acked);
    assert!(report.passed(), "{}", check_store::render(&report));
    let names: Vec<&str> = report.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "ledger-seqs",
            "merkle-leaves",
            "record-entries",
            "records-in-ledger",
            "fixes",
            "payloads",
            "supervision",
            "acked"
        ]
    );
    let entries = app.sql_count("SELECT COUNT(*) FROM ledger");
    assert_eq!(report.entries, entries);
    assert!(check_store::render(&report).ends_with("STORE OK\n"));

    // A record's projection row vanishes (with its fix): its entry is orphaned, and the record
    // that was acknowledged is no longer stored. One the load test left unflagged, so that no
    // flags row is orphaned with it (that would be the supervision check's to name).
    let record = sql_text(
        &app,
        "SELECT id FROM records WHERE kind = 'check_in' \
         AND seq NOT IN (SELECT seq FROM record_flags) ORDER BY seq LIMIT 1",
    );
    app.sql(&format!("DELETE FROM fixes WHERE record_id = '{record}'"))
        .unwrap();
    app.sql(&format!("DELETE FROM records WHERE id = '{record}'"))
        .unwrap();
    let report = check(&app, &acked);
    assert_eq!(failing(&report), ["record-entries", "acked"]);
    let acked_check = report.check("acked").unwrap();
    assert!(
        acked_check.examples[0].contains(&format!("record {record} is not stored")),
        "{:?}",
        acked_check.examples
    );
    let rendered = check_store::render(&report);
    assert!(rendered.contains("FAILED  record-entries"), "{rendered}");
    assert!(rendered.ends_with("STORE DAMAGED\n"), "{rendered}");

    // A payload row goes (a purge without its purge entry).
    app.sql("DELETE FROM ledger_payloads WHERE seq = 3")
        .unwrap();
    let report = check(&app, &acked);
    assert_eq!(failing(&report), ["record-entries", "payloads", "acked"]);
    assert_eq!(report.check("payloads").unwrap().examples, ["seq 3"]);

    // A fix of a record that was never stored.
    app.sql(
        "INSERT INTO fixes (seq, record_id, person_id, captured_at, lon, lat, sent_lon, sent_lat, \
         accuracy_m) VALUES (999999, '0190f1a4-3c55-7d2e-9e1f-2a5b7c9d0e11', 'nobody', 1, 117.3, \
         33.4, 117.3, 33.4, 10.0)",
    )
    .unwrap();
    let report = check(&app, &acked);
    assert_eq!(
        failing(&report),
        ["record-entries", "fixes", "payloads", "acked"]
    );
    assert_eq!(report.check("fixes").unwrap().failures, 1);

    // An entry cut out of the middle of the ledger, with its payload.
    app.drop_append_only_triggers();
    app.sql("DELETE FROM ledger_payloads WHERE seq = 2")
        .unwrap();
    app.sql("DELETE FROM ledger WHERE seq = 2").unwrap();
    let report = check(&app, &acked);
    assert_eq!(
        failing(&report),
        [
            "ledger-seqs",
            "merkle-leaves",
            "record-entries",
            "fixes",
            "payloads",
            "acked"
        ]
    );
    assert_eq!(
        report.check("ledger-seqs").unwrap().examples,
        ["seq 2 missing"]
    );
}

fn wrong_acked_lines_fail(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let acked = dir.path().join("acked.log");
    filled(&app, &acked);
    let text = std::fs::read_to_string(&acked).unwrap();
    let first = text.lines().next().unwrap();
    let parts: Vec<&str> = first.split(' ').collect();
    let seq: i64 = parts[1].parse().unwrap();
    let other_hash = "0".repeat(64);
    for (line, expect) in [
        (
            format!("{} {} {}", parts[0], seq + 1, parts[2]),
            "is stored at seq",
        ),
        (
            format!("{} {} {other_hash}", parts[0], seq),
            "leaf hash differs",
        ),
        (
            format!("0190f1a4-3c55-7d2e-9e1f-2a5b7c9d0e11 {seq} {}", parts[2]),
            "is not stored",
        ),
        ("garbage".to_owned(), "expected"),
    ] {
        let wrong = dir.path().join("wrong.log");
        std::fs::write(&wrong, format!("{text}{line}\n")).unwrap();
        let report = check(&app, &wrong);
        assert_eq!(failing(&report), ["acked"], "{line}");
        let acked_check = report.check("acked").unwrap();
        assert_eq!(acked_check.failures, 1, "{line}");
        assert!(
            acked_check.examples[0].contains(expect),
            "{line}: {:?}",
            acked_check.examples
        );
    }
    // The original log still passes: nothing above changed the store.
    assert!(check(&app, &acked).passed());
}

/// A supervision row (here a published bulletin and a note) whose entry is missing or of
/// another kind is named.
fn supervision_rows_need_their_entries(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let acked = dir.path().join("acked.log");
    filled(&app, &acked);
    assert!(check(&app, &acked).passed());
    app.sql(
        "INSERT INTO bulletins (seq, unit_code, month, sha256, published_by, published_at) \
         VALUES (2, 'x', '2026-11', 'ab', NULL, 0)",
    )
    .unwrap();
    app.sql(
        "INSERT INTO notes (record_id, seq, person_id, author_id, category, captured_at) \
         VALUES ('n', 999999, 'p', 'a', 'training', 0)",
    )
    .unwrap();
    let report = check(&app, &acked);
    assert_eq!(failing(&report), ["supervision"]);
    let found = report.check("supervision").unwrap();
    assert_eq!(found.failures, 2);
    assert_eq!(
        found.examples,
        [
            "1 notes rows without their entry",
            "1 bulletins rows without their entry"
        ]
    );
}

both_backends!(
    a_clean_store_passes_and_damage_is_named,
    wrong_acked_lines_fail,
    supervision_rows_need_their_entries
);
