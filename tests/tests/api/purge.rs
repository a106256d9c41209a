//! Retention (docs/privacy.md): `fieldtrail purge` removes the personal payloads of records
//! past retention and names them in `payload.purge` entries. Headers, verdicts, the tree and
//! every proof still verify; `fieldtrail verify` and `check-store` report purged payloads as
//! purged, and a payload deleted without a purge entry as missing. Photos no kept record names
//! go with them.

use diesel::RunQueryDsl;
use fieldtrail_api::check_store;
use fieldtrail_api::config::Config;
use fieldtrail_api::purge::{self, PurgeOptions, PurgeOutcome};
use fieldtrail_api::verify::{export_with, verify_bundle, Payloads};
use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::*;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Runs the purge on the stopped app's storage, as the command line does; retries while the
/// stopped server's writer is still letting go of the database.
fn purge_offline(app: &TestApp, options: &PurgeOptions) -> PurgeOutcome {
    let mut config = Config::new(app.data_dir.path());
    config.database_url = Some(app.database_url.clone());
    config.clock = app.clock.clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match purge::run(&config, options) {
            Ok(outcome) => return outcome,
            Err(err) if Instant::now() < deadline && err.contains("another fieldtrail") => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(err) => panic!("purge failed: {err}"),
        }
    }
}

fn options(before: Option<time::Date>, dry_run: bool) -> PurgeOptions {
    PurgeOptions {
        before,
        reason: Some("test retention".into()),
        dry_run,
        attachment_grace: Duration::ZERO,
    }
}

fn bundle_report(app: &TestApp) -> fieldtrail_api::verify::Report {
    let db = fieldtrail_storage::Database::open(&app.database_url, 2).unwrap();
    let bundle = export_with(&db, None, None, Payloads::All).unwrap();
    let key = app.get("/v1/ledger/key", None).text;
    let verifier = fieldtrail_api::verify::read_key(key.trim()).unwrap();
    verify_bundle(&bundle, &verifier, None)
}

fn old_payloads_go_and_every_proof_still_verifies(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let ten_days_ago = OffsetDateTime::now_utc() - time::Duration::days(10);
    let png = tiny_png();
    let sha = sha256_hex(&png);
    assert_eq!(app.upload(&cadre.token, "image/png", &png).status, 201);
    let mut old_photo = check_in_at(A_CENTRE.0, A_CENTRE.1, 10.0, &rfc3339(ten_days_ago));
    old_photo["attachments"] = json!([sha]);
    let old_photo = app.submit_ok(&cadre.token, &old_photo).body;
    let old_plain = app
        .submit_ok(
            &cadre.token,
            &check_in_at(
                A_CENTRE.0,
                A_CENTRE.1,
                10.0,
                &rfc3339(ten_days_ago + time::Duration::hours(2)),
            ),
        )
        .body;
    let recent = app
        .submit_ok(&cadre.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0))
        .body;
    // A photo uploaded and never sent with a record.
    let stray = vec![0x89, b'P', b'N', b'G', 13, 10, 26, 10, 1, 2, 3];
    let stray_upload = app.upload(&cadre.token, "image/png", &stray);
    assert_eq!(stray_upload.status, 201, "{}", stray_upload.text);
    let stray_sha = sha256_hex(&stray);
    let before_purge = bundle_report(&app);
    assert!(before_purge.ok(), "{}", before_purge.render());
    let size_before = app.ledger_size();
    let old_seqs = [
        old_photo["seq"].as_i64().unwrap(),
        old_plain["seq"].as_i64().unwrap(),
    ];

    let cutoff =
        fieldtrail_domain::roster::county_date(OffsetDateTime::now_utc()) - time::Duration::days(3);
    let mut dry = None;
    let mut real = None;
    let app = app.restart_after(|stopped| {
        dry = Some(purge_offline(stopped, &options(Some(cutoff), true)));
        real = Some(purge_offline(stopped, &options(Some(cutoff), false)));
    });
    let (dry, real) = (dry.unwrap(), real.unwrap());
    // The dry run says what the real one then does, and changes nothing itself.
    assert_eq!(dry.report["dry_run"], true);
    assert_eq!(dry.report["purged"], 2, "{}", dry.report);
    assert_eq!(dry.report["entries"], json!([]));
    assert_eq!(real.report["purged"], 2, "{}", real.report);
    assert_eq!(real.report["rule"], "before");
    let mut doomed: Vec<&str> = real.report["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    doomed.sort();
    let mut expected = vec![sha.as_str(), stray_sha.as_str()];
    expected.sort();
    assert_eq!(doomed, expected, "{}", real.report);
    assert_eq!(real.files.len(), 2, "{:?}", real.files);
    assert!(real.files.iter().all(|f| !f.exists()), "{:?}", real.files);
    assert_eq!(
        dry.files.len(),
        0,
        "the dry run still had the rows: {:?}",
        dry.files
    );

    // One payload.purge entry, its ranges in the header, and nothing else appended.
    let entries = real.report["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 1, "{}", real.report);
    let admin = app.root_token();
    assert_eq!(app.ledger_size(), size_before + 1);
    let purge_seq = entries[0].as_i64().unwrap();
    let header = app.entry_header(&admin, purge_seq);
    assert_eq!(header["kind"], "payload.purge");
    let expected_ranges = if old_seqs[1] == old_seqs[0] + 1 {
        json!([[old_seqs[0], old_seqs[1]]])
    } else {
        json!([[old_seqs[0], old_seqs[0]], [old_seqs[1], old_seqs[1]]])
    };
    assert_eq!(header["verdicts"]["purged"], expected_ranges, "{header}");
    assert_eq!(header["verdicts"]["count"], 2);

    // Reads show the old records without their payload; the recent one is whole.
    let cadre_token = app.login("cadre-a", CADRE_PASSWORD);
    for id in [&old_photo["id"], &old_plain["id"]] {
        let view = app.read_record(&cadre_token, id.as_str().unwrap());
        assert_eq!(view["position"], Value::Null, "{view}");
        assert_eq!(view["verdict"], old_photo["verdict"], "{view}");
    }
    let kept = app.read_record(&cadre_token, recent["id"].as_str().unwrap());
    assert!(kept["position"].is_object(), "{kept}");
    app.get(&format!("/v1/attachments/{sha}"), Some(&cadre_token))
        .problem(404);

    // Proofs: the old record's inclusion proof is still served for the newest checkpoint (and
    // the bundle below rebuilds the checkpoint's root from every entry).
    let size = app.ledger_size();
    let proof = app.get(
        &format!(
            "/v1/ledger/proof/inclusion?seq={}&tree_size={size}",
            old_seqs[0]
        ),
        Some(&admin),
    );
    assert_eq!(proof.status, 200, "{}", proof.text);

    // verify and check-store: purged, not tampered.
    let after = bundle_report(&app);
    assert!(after.ok(), "{}", after.render());
    assert!(
        after.render().contains("2 payloads purged"),
        "{}",
        after.render()
    );
    let store = check_store::run(&app.database_url, None).unwrap();
    assert!(store.passed(), "{}", check_store::render(&store));

    // A payload deleted with no purge entry is caught by both.
    let deleted = diesel::sql_query(format!(
        "DELETE FROM ledger_payloads WHERE seq = {}",
        recent["seq"].as_i64().unwrap()
    ))
    .execute(&mut app.db())
    .unwrap();
    assert_eq!(deleted, 1);
    let tampered = bundle_report(&app);
    assert!(!tampered.ok(), "{}", tampered.render());
    assert!(
        tampered
            .failures()
            .iter()
            .any(|f| f.contains("missing") && f.contains(&recent["seq"].to_string())),
        "{}",
        tampered.render()
    );
    let store = check_store::run(&app.database_url, None).unwrap();
    let failing: Vec<&str> = store
        .checks
        .iter()
        .filter(|c| !c.passed())
        .map(|c| c.name)
        .collect();
    assert_eq!(failing, vec!["payloads"], "{}", check_store::render(&store));
}

fn retention_days_apply_per_unit(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let in_a = app.cadre_in_a(&admin, "cadre-a");
    let b_id = app.create_person(&admin, "cadre-b", "cadre", VILLAGE_B);
    app.assign(&admin, &b_id, VILLAGE_B, "2020-01-01", None);
    let in_b = app.login("cadre-b", CADRE_PASSWORD);
    let resp = app.put(
        &format!("/v1/units/{VILLAGE_A}/policy"),
        Some(&admin),
        &json!({"retention_days": 30}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["policy"]["retention_days"], 30, "{}", resp.text);
    let bad = app.put(
        &format!("/v1/units/{VILLAGE_A}/policy"),
        Some(&admin),
        &json!({"retention_days": 7}),
    );
    assert_eq!(bad.pointers(), vec!["/retention_days"], "{}", bad.text);
    let a_record = app
        .submit_ok(&in_a.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0))
        .body;
    let b_record = app
        .submit_ok(&in_b, &check_in(B_CENTRE.0, B_CENTRE.1, 10.0))
        .body;

    // 31 days on: village A's records are past their 30 days, village B's keep the default.
    app.clock.advance(time::Duration::days(31));
    let mut outcome = None;
    let app = app.restart_after(|stopped| {
        outcome = Some(purge_offline(stopped, &options(None, false)));
    });
    let outcome = outcome.unwrap();
    assert_eq!(outcome.report["rule"], "retention_days");
    assert_eq!(outcome.report["purged"], 1, "{}", outcome.report);
    let a_seq = a_record["seq"].as_i64().unwrap();
    assert_eq!(outcome.report["first_seq"], a_seq);
    let admin = app.root_token();
    let a_view = app.read_record(&admin, a_record["id"].as_str().unwrap());
    assert_eq!(a_view["position"], Value::Null, "{a_view}");
    let b_view = app.read_record(&admin, b_record["id"].as_str().unwrap());
    assert!(b_view["position"].is_object(), "{b_view}");
    let store = check_store::run(&app.database_url, None).unwrap();
    assert!(store.passed(), "{}", check_store::render(&store));

    // Run again: nothing left to purge, and that run is on record too.
    let mut again = None;
    let app = app.restart_after(|stopped| {
        again = Some(purge_offline(stopped, &options(None, false)));
    });
    let again = again.unwrap();
    assert_eq!(again.report["purged"], 0, "{}", again.report);
    let seq = again.report["entries"][0].as_i64().unwrap();
    let admin = app.root_token();
    assert_eq!(
        app.entry_header(&admin, seq)["verdicts"]["purged"],
        json!([])
    );
}

both_backends!(old_payloads_go_and_every_proof_still_verifies);
both_backends!(retention_days_apply_per_unit);
