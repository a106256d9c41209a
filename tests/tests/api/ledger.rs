//! The ledger as stored: append-only at the database level, gap-free, every admin change an
//! entry, and every leaf hash recomputable from the stored bytes.

use fieldtrail_tests::both_backends;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};
use sha2::{Digest, Sha256};

fn ledger_refuses_update_and_delete(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let resp = app.post(
        "/v1/records",
        Some(&cadre.token),
        &check_in(A_CENTRE.0, A_CENTRE.1, 10.0),
    );
    assert_eq!(resp.status, 201);
    let before = app.sql_count("SELECT count(*) FROM ledger");
    assert!(before >= 7);

    for statement in [
        "UPDATE ledger SET kind = 'forged' WHERE seq = 1",
        "UPDATE ledger SET body = leaf_hash",
        "DELETE FROM ledger WHERE seq = 1",
        "DELETE FROM ledger",
        "UPDATE ledger_payloads SET payload = salt",
    ] {
        let err = app
            .sql(statement)
            .expect_err(&format!("the database accepted: {statement}"));
        assert!(
            err.contains("append-only") || err.contains("never rewritten"),
            "{statement}: {err}"
        );
    }
    if backend == Backend::Postgres {
        let err = app
            .sql("TRUNCATE ledger CASCADE")
            .expect_err("TRUNCATE accepted");
        assert!(err.contains("append-only"), "{err}");
    }
    assert_eq!(app.sql_count("SELECT count(*) FROM ledger"), before);
    assert_eq!(
        app.sql_count("SELECT count(*) FROM ledger WHERE kind = 'forged'"),
        0
    );
    // Inserting stays possible: append-only, not read-only.
    assert!(app.sql("SELECT 1").is_ok());
}

fn entries_are_gap_free_and_hash_to_their_leaves(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let household = app.post(
        "/v1/households",
        Some(&admin),
        &serde_json::json!({"unit_code": VILLAGE_A, "head_name": "王家", "members": 4,
                            "location": {"lon": 116.91, "lat": 34.21}}),
    );
    assert_eq!(household.status, 201, "{}", household.text);
    let record = app.post(
        "/v1/records",
        Some(&cadre.token),
        &check_in(A_CENTRE.0, A_CENTRE.1, 10.0),
    );
    assert_eq!(record.status, 201);

    let mut conn = app.db();
    use diesel::prelude::*;
    let rows: Vec<(i64, String, Vec<u8>, Vec<u8>)> =
        diesel::sql_query("SELECT seq, kind, body, leaf_hash FROM ledger ORDER BY seq")
            .load::<LedgerEntry>(&mut conn)
            .expect("read ledger")
            .into_iter()
            .map(|e| (e.seq, e.kind, e.body, e.leaf_hash))
            .collect();
    let kinds: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "person.create", // root, created at start
            "unit.create",
            "unit.create",
            "unit.create",
            "unit.create",
            "person.create",
            "assignment.create",
            "household.create",
            "check_in",
        ]
    );
    for (index, (seq, _, body, leaf)) in rows.iter().enumerate() {
        assert_eq!(
            *seq,
            index as i64 + 1,
            "sequence numbers start at 1 without gaps"
        );
        let mut hasher = Sha256::new();
        hasher.update([0u8]);
        hasher.update(body);
        assert_eq!(hasher.finalize().to_vec(), *leaf, "leaf hash of seq {seq}");
        let header: serde_json::Value = serde_json::from_slice(body).expect("body is JSON");
        assert_eq!(header["seq"], *seq);
        assert_eq!(header["v"], 1);
    }
    let last = rows.last().expect("entries");
    assert_eq!(record.body["seq"], last.0);
    assert_eq!(record.body["leaf_hash"], hex::encode(&last.3));

    // The header commits to the payload through SHA-256(salt ‖ payload).
    let payloads: Vec<PayloadEntry> =
        diesel::sql_query("SELECT seq, salt, payload FROM ledger_payloads ORDER BY seq")
            .load(&mut conn)
            .expect("read payloads");
    assert_eq!(payloads.len(), rows.len());
    for (payload, (_, _, body, _)) in payloads.iter().zip(&rows) {
        let header: serde_json::Value = serde_json::from_slice(body).expect("body is JSON");
        let mut hasher = Sha256::new();
        hasher.update(&payload.salt);
        hasher.update(&payload.payload);
        assert_eq!(
            header["payload_hash"],
            hex::encode(hasher.finalize()),
            "seq {}",
            payload.seq
        );
    }
    let check_in_payload: serde_json::Value =
        serde_json::from_slice(&payloads.last().expect("payload").payload).expect("payload JSON");
    assert_eq!(check_in_payload["position"]["lon"], A_CENTRE.0);
}

#[derive(diesel::QueryableByName)]
struct LedgerEntry {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    body: Vec<u8>,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    leaf_hash: Vec<u8>,
}

#[derive(diesel::QueryableByName)]
struct PayloadEntry {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    salt: Vec<u8>,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    payload: Vec<u8>,
}

both_backends!(
    ledger_refuses_update_and_delete,
    entries_are_gap_free_and_hash_to_their_leaves
);

/// A purged payload (DELETE is allowed, for retention) leaves the entry and its proofs intact;
/// the record reads without its personal content, and a resend can no longer be matched to it.
fn purged_payloads_leave_the_entry_and_refuse_resends(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let body = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
    let created = app.post("/v1/records", Some(&cadre.token), &body);
    assert_eq!(created.status, 201);
    let seq = created.body["seq"].as_i64().unwrap();
    app.sql(&format!("DELETE FROM ledger_payloads WHERE seq = {seq}"))
        .expect("payloads may be purged");

    let id = body["id"].as_str().unwrap();
    let read = app.get(&format!("/v1/records/{id}"), Some(&cadre.token));
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["position"], serde_json::Value::Null);
    assert_eq!(read.body["leaf_hash"], created.body["leaf_hash"]);
    assert_eq!(read.body["verdict"], created.body["verdict"]);
    let resend = app.post("/v1/records", Some(&cadre.token), &body);
    resend.problem(409);
    assert_eq!(
        app.sql_count(&format!("SELECT count(*) FROM ledger WHERE seq = {seq}")),
        1
    );
}

both_backends!(purged_payloads_leave_the_entry_and_refuse_resends);

/// Two writers on one PostgreSQL database would hand out the same sequence numbers.
#[test]
fn a_second_writer_on_the_same_postgres_database_is_refused() {
    let Some(app) = TestApp::spawn(Backend::Postgres) else {
        return;
    };
    let log = fieldtrail_storage::LogSigner {
        origin: "second.example/log".into(),
        signer: fieldtrail_domain::note::NoteSigner::new(
            "second.example/log",
            ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]),
        )
        .unwrap(),
    };
    match fieldtrail_storage::Writer::start(&app.database_url, log, Default::default()) {
        Ok(_) => panic!("a second writer started"),
        Err(err) => assert!(
            err.to_string().contains("another fieldtrail instance"),
            "{err}"
        ),
    }
}
