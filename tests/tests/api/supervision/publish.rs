//! Publishing a month's bulletin (POST /v1/units/{code}/bulletins/{month}/publish): a frozen,
//! byte-identical copy whose SHA-256 is in the ledger; idempotent; only for ended months.

use super::*;
use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::sha256_hex;
use fieldtrail_tests::Backend;

fn publishing_freezes_a_byte_identical_copy(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    more_units(&app, &admin);
    let sup_t = app.supervisor(&admin, "sup-t", TOWNSHIP);
    let sup_o = app.supervisor(&admin, "sup-o", OTHER_TOWNSHIP);
    let (_, inspector) = app.person_with_token(&admin, "insp-t", "inspector", TOWNSHIP);
    let cadre = cadre_with(
        &app,
        &admin,
        "pub-c",
        VILLAGE_A,
        &[(VILLAGE_A, "2020-01-01", None)],
    );
    send(
        &app,
        &cadre.token,
        noons(A_CENTRE, &days("2026-10-05", "2026-10-08")),
    );
    read_today(&app);
    let live = |app: &TestApp| {
        let (status, headers, bytes) = get_full(
            app,
            &format!("/v1/units/{TOWNSHIP}/bulletin?month=2026-10"),
            &sup_t,
        );
        assert_eq!(status, 200);
        assert!(
            headers["content-type"].starts_with("application/json"),
            "{headers:?}"
        );
        bytes
    };
    let publish = |token: &str, month: &str| {
        app.post(
            &format!("/v1/units/{TOWNSHIP}/bulletins/{month}/publish"),
            Some(token),
            &json!({}),
        )
    };
    let before = live(&app);
    let first = publish(&sup_t, "2026-10");
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["unit_code"], TOWNSHIP);
    assert_eq!(first.body["month"], "2026-10");
    assert_eq!(first.body["sha256"], sha256_hex(&before));
    assert!(
        first.body["seq"].is_i64() && first.body["published_at"].is_string(),
        "{}",
        first.text
    );
    assert_eq!(kind_count(&app, "bulletin.publish"), 1);
    // Nothing changed: the same version, 200, no new entry.
    let again = publish(&admin, "2026-10");
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(
        (&again.body["sha256"], &again.body["seq"]),
        (&first.body["sha256"], &first.body["seq"])
    );
    assert_eq!(kind_count(&app, "bulletin.publish"), 1);
    let published = |app: &TestApp| {
        let (status, headers, bytes) = get_full(
            app,
            &format!("/v1/units/{TOWNSHIP}/bulletins/2026-10"),
            &inspector,
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        assert!(
            headers["content-type"].starts_with("application/json"),
            "{headers:?}"
        );
        (headers, bytes)
    };
    let (headers, bytes) = published(&app);
    assert_eq!(bytes, before, "byte for byte");
    assert_eq!(
        headers["x-bulletin-sha256"],
        first.body["sha256"].as_str().unwrap()
    );
    assert_eq!(headers["x-ledger-seq"], first.body["seq"].to_string());

    // Refused: an unfinished month (2026-12 on 2026-12-01), callers who may not publish.
    publish(&sup_t, "2026-12").problem(409);
    for token in [&inspector, &sup_o, &cadre.token] {
        publish(token, "2026-10").problem(403);
    }
    assert_eq!(kind_count(&app, "bulletin.publish"), 1);
    let resp = app.get(
        &format!("/v1/units/{TOWNSHIP}/bulletins/2026-09"),
        Some(&sup_t),
    );
    resp.problem(404);

    // A late record changes the live bulletin, not the published copy.
    send_at(
        &app,
        &cadre.token,
        &fix(A_CENTRE, d("2026-10-09"), 12, 0),
        at(d("2026-12-01"), 12, 0),
    );
    read_today(&app);
    let after = live(&app);
    assert_ne!(after, before);
    let (headers, bytes) = published(&app);
    assert_eq!(bytes, before);
    assert_eq!(headers["x-bulletin-sha256"], sha256_hex(&before));
    // Publishing now is a new version.
    let second = publish(&sup_t, "2026-10");
    assert_eq!(second.status, 201, "{}", second.text);
    assert_eq!(second.body["sha256"], sha256_hex(&after));
    assert!(second.body["seq"].as_i64() > first.body["seq"].as_i64());
    assert_eq!(kind_count(&app, "bulletin.publish"), 2);
    let (headers, bytes) = published(&app);
    assert_eq!(bytes, after);
    assert_eq!(headers["x-ledger-seq"], second.body["seq"].to_string());
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    assert_no_forbidden_keys(&doc, "published bulletin");
}

both_backends!(publishing_freezes_a_byte_identical_copy);
