//! `fieldtrail verify-draw` as a library (docs/spot-checks.md, docs/ledger.md): it passes on
//! real draws over cadres and households, and fails when the stored sample, the stored
//! population or the draw's ledger payload was altered, and when the seed checkpoint is not
//! signed by the log's key; offline from an export too.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use fieldtrail_api::verify::{export, export_with, Payloads};
use fieldtrail_api::verify_draw::{verify_file, verify_online, Report};
use fieldtrail_domain::canonical::to_canonical_bytes;
use fieldtrail_domain::note::{Checkpoint, NoteSigner, NoteVerifier};
use fieldtrail_domain::spotcheck::population_sha256;
use fieldtrail_tests::field::{position, record};
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{both_backends, Backend, TestApp};
use serde_json::{json, Value};

fn draw(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = app.post("/v1/spot-checks/draws", Some(token), &body);
    assert_eq!(resp.status, 201, "draw failed: {}", resp.text);
    resp.body
}

fn ids(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect()
}

/// The sample as the report shows it.
fn shown(sample: &[String]) -> String {
    format!("[{}]", sample.join(", "))
}

fn verifier(app: &TestApp) -> NoteVerifier {
    NoteVerifier::parse(&app.log_key()).unwrap()
}

/// A county with cadres in both villages, an inspector to verify, and the clock at 10:00 so
/// that a draw over cadres may open challenges. (admin token, inspector token, cadre ids)
fn staffed(app: &TestApp) -> (String, String, Vec<String>) {
    let root = app.with_county();
    let mut cadres = Vec::new();
    for (name, village) in [
        ("cadre_a1", VILLAGE_A),
        ("cadre_a2", VILLAGE_A),
        ("cadre_a3", VILLAGE_A),
        ("cadre_b1", VILLAGE_B),
    ] {
        let id = app.create_person(&root, name, "cadre", village);
        app.assign(&root, &id, village, "2020-01-01", None);
        cadres.push(id);
    }
    app.create_person(&root, "inspector", "inspector", COUNTY);
    let inspector = app.login("inspector", CADRE_PASSWORD);
    app.at_county_hour(10);
    (root, inspector, cadres)
}

fn draw_over_cadres(app: &TestApp, token: &str) -> Value {
    draw(
        app,
        token,
        json!({"unit_code": TOWNSHIP, "population": "cadres", "size": 2, "purpose": "monthly"}),
    )
}

fn online(app: &TestApp, token: &str, drawn: &Value) -> Report {
    verify_online(
        &app.base,
        &verifier(app),
        drawn["id"].as_str().unwrap(),
        Some(token),
    )
    .unwrap()
}

fn assert_fails_naming(report: &Report, words: &[&str]) {
    assert!(!report.ok(), "verify-draw passed:\n{}", report.render());
    assert!(
        report.render().ends_with("verify-draw: FAILED\n"),
        "{}",
        report.render()
    );
    for word in words {
        assert!(
            report.failures().iter().any(|f| f.contains(word)),
            "no failure names {word:?}:\n{}",
            report.render()
        );
    }
}

/// A blob literal of the backend's SQL.
fn blob(app: &TestApp, bytes: &[u8]) -> String {
    match app.backend {
        Backend::Sqlite => format!("X'{}'", hex::encode(bytes)),
        Backend::Postgres => format!("decode('{}', 'hex')", hex::encode(bytes)),
    }
}

fn verify_draw_passes_on_a_draw_over_cadres(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (root, inspector, cadres) = staffed(&app);
    let drawn = draw_over_cadres(&app, &root);
    let mut members = cadres.clone();
    members.sort();
    assert_eq!(ids(&drawn["members"]), members);
    let sample = ids(&drawn["sample"]);
    assert_eq!(sample.len(), 2);

    let report = online(&app, &inspector, &drawn);
    assert!(report.ok(), "{}", report.render());
    assert!(report.render().ends_with("verify-draw: OK\n"));
    assert_eq!(report.fact_value("sample"), Some(shown(&sample).as_str()));
    assert_eq!(report.fact_value("draw"), drawn["id"].as_str());
    let population = report.fact_value("population").unwrap();
    assert!(
        population.starts_with("4 members (0 passed over)"),
        "{population}"
    );
    for check in [
        "is signed by",
        "inclusion proof",
        "consistency proof",
        "hash to its population_sha256",
        "the server's sample is the one the seed draws",
        "the sample entry records the sample recomputed from the seed",
    ] {
        assert!(
            report
                .checks
                .iter()
                .any(|(ok, what)| *ok && what.contains(check)),
            "no passed check {check:?}:\n{}",
            report.render()
        );
    }
    // The admin's token does as well as the inspector's; no token cannot read the draw.
    assert!(online(&app, &root, &drawn).ok());
    // A supervisor verifies their own draw (they may prove the entries they made).
    app.create_person(&root, "sup_town", "supervisor", TOWNSHIP);
    let supervisor = app.login("sup_town", CADRE_PASSWORD);
    let own = draw_over_cadres(&app, &supervisor);
    let report = online(&app, &supervisor, &own);
    assert!(report.ok(), "{}", report.render());
    let anonymous = verify_online(
        &app.base,
        &verifier(&app),
        drawn["id"].as_str().unwrap(),
        None,
    );
    assert!(anonymous.is_err(), "{:?}", anonymous.map(|r| r.render()));
    let unknown = verify_online(
        &app.base,
        &verifier(&app),
        &uuid::Uuid::now_v7().to_string(),
        Some(&inspector),
    );
    assert!(unknown.is_err());
}

fn verify_draw_passes_on_a_draw_over_visited_households(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let cadre = app.cadre_in_a(&root, "cadre_a");
    let homes: Vec<String> = (0..3)
        .map(|i| app.household(&root, VILLAGE_A, 116.905 + 0.002 * f64::from(i), 34.205))
        .collect();
    let _unvisited = app.household(&root, VILLAGE_A, 116.915, 34.215);
    for (i, home) in homes.iter().enumerate() {
        let visit = record(
            "household_visit",
            json!({"household_id": home,
                   "position": position(116.905 + 0.002 * i as f64, 34.205, 10.0),
                   "captured_at": rfc3339(app.clock.now()),
                   "purpose": "了解春耕情况"}),
        );
        app.submit_ok(&cadre.token, &visit);
    }
    let drawn = draw(
        &app,
        &root,
        json!({"unit_code": VILLAGE_A, "population": "visited_households", "size": 2}),
    );
    let mut visited = homes.clone();
    visited.sort();
    assert_eq!(ids(&drawn["members"]), visited);
    let report = online(&app, &root, &drawn);
    assert!(report.ok(), "{}", report.render());
    assert_eq!(
        report.fact_value("sample"),
        Some(shown(&ids(&drawn["sample"])).as_str())
    );
    assert!(report
        .fact_value("unit")
        .unwrap()
        .contains("visited_households"));
}

/// Acceptance 2: a draw whose stored sample or population was altered in the database fails,
/// naming what differs; restored, it passes again.
fn verify_draw_fails_when_the_stored_sample_or_population_is_altered(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (root, inspector, _) = staffed(&app);
    let drawn = draw_over_cadres(&app, &root);
    let id = drawn["id"].as_str().unwrap();
    assert!(online(&app, &inspector, &drawn).ok());
    let sample = ids(&drawn["sample"]);
    let members = ids(&drawn["members"]);

    // A friend spared: someone not drawn takes the place of the first one drawn.
    let spared = members.iter().find(|m| !sample.contains(m)).unwrap();
    let rigged = json!([spared, sample[1]]).to_string();
    app.sql(&format!(
        "UPDATE draws SET sample = '{rigged}' WHERE id = '{id}'"
    ))
    .unwrap();
    assert_eq!(
        ids(&app
            .get(&format!("/v1/spot-checks/draws/{id}"), Some(&root))
            .body["sample"])[0],
        *spared
    );
    assert_fails_naming(
        &online(&app, &inspector, &drawn),
        &["sample: the server answers"],
    );
    let original = json!(sample).to_string();
    app.sql(&format!(
        "UPDATE draws SET sample = '{original}' WHERE id = '{id}'"
    ))
    .unwrap();
    assert!(online(&app, &inspector, &drawn).ok());

    // A member dropped from the population, its hash recomputed to match.
    let fewer: Vec<&String> = members.iter().filter(|m| **m != sample[0]).collect();
    let fewer_hash = hex::encode(population_sha256(&fewer));
    app.sql(&format!(
        "UPDATE draws SET members = '{}', population_sha256 = '{fewer_hash}' WHERE id = '{id}'",
        json!(fewer)
    ))
    .unwrap();
    assert_fails_naming(
        &online(&app, &inspector, &drawn),
        &["members: the server answers 3 members", "population_sha256"],
    );
}

/// The draw's payload in the ledger is what fixes the population: purged, the draw cannot be
/// recomputed; replaced by another, it no longer matches the entry the tree holds.
fn verify_draw_fails_when_the_draw_payload_is_altered(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (root, inspector, _) = staffed(&app);
    let drawn = draw_over_cadres(&app, &root);
    let seq = drawn["seq"].as_i64().unwrap();
    let full = app.get(
        &format!("/v1/spot-checks/draws/{}", drawn["id"].as_str().unwrap()),
        Some(&root),
    );
    let evidence = &full.body["evidence"]["draw_entry"];
    let salt = STANDARD.decode(evidence["salt"].as_str().unwrap()).unwrap();
    let payload: Value = serde_json::from_slice(
        &STANDARD
            .decode(evidence["payload"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();

    app.sql(&format!("DELETE FROM ledger_payloads WHERE seq = {seq}"))
        .unwrap();
    assert_fails_naming(
        &online(&app, &inspector, &drawn),
        &["payload is not available"],
    );

    // The drawn member struck from the committed population, everything else made to agree.
    let mut forged = payload.clone();
    let members: Vec<String> = ids(&payload["members"])
        .into_iter()
        .filter(|m| *m != drawn["sample"][0])
        .collect();
    forged["population_sha256"] = json!(hex::encode(population_sha256(&members)));
    forged["members"] = json!(members);
    app.sql(&format!(
        "INSERT INTO ledger_payloads (seq, salt, payload) VALUES ({seq}, {}, {})",
        blob(&app, &salt),
        blob(&app, &to_canonical_bytes(&forged))
    ))
    .unwrap();
    assert_fails_naming(
        &online(&app, &inspector, &drawn),
        &[
            "the draw entry (seq",
            "does not hash to the header's payload_hash",
        ],
    );
}

/// Acceptance 2: the seed checkpoint must be signed by the log's key: another log's key does
/// not verify it, nor does the log's key verify a seed checkpoint re-signed by another key.
fn verify_draw_fails_on_a_checkpoint_signed_by_another_key(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (root, inspector, _) = staffed(&app);
    let drawn = draw_over_cadres(&app, &root);
    let id = drawn["id"].as_str().unwrap();
    let real = verifier(&app);
    let other = NoteSigner::new(
        real.name(),
        ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]),
    )
    .unwrap();
    let report = verify_online(&app.base, &other.verifier(), id, Some(&inspector)).unwrap();
    assert_fails_naming(&report, &["does not verify with the key"]);

    // Whoever holds the database but not the log key re-signs the seed with a root of their
    // choosing, which would give a sample of their choosing.
    app.drop_append_only_triggers();
    let seq = drawn["seq"].as_u64().unwrap();
    let chosen = [0x42u8; 32];
    let note = other
        .sign(
            &Checkpoint {
                origin: real.name().to_owned(),
                size: seq,
                root: chosen,
            }
            .to_text(),
        )
        .unwrap();
    app.sql(&format!("DELETE FROM checkpoints WHERE size = {seq}"))
        .unwrap();
    app.sql(&format!(
        "INSERT INTO checkpoints (size, root, note, created_at) VALUES ({seq}, {}, '{note}', 0)",
        blob(&app, &chosen)
    ))
    .unwrap();
    let report = verify_online(&app.base, &real, id, Some(&inspector)).unwrap();
    assert_fails_naming(
        &report,
        &["the checkpoint of size", "does not verify with the key"],
    );
}

/// `--file`: an export holds enough to recompute the draw; a tampered export does not pass.
fn verify_draw_works_offline_from_an_export(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let (root, _, _) = staffed(&app);
    let drawn = draw_over_cadres(&app, &root);
    let id = drawn["id"].as_str().unwrap();
    let seq = drawn["seq"].as_u64().unwrap();
    let sample = ids(&drawn["sample"]);
    // The export proves against the latest stored checkpoint, which must cover the sample entry.
    app.checkpoint_note();
    let real = verifier(&app);
    let db = fieldtrail_storage::Database::open(&app.database_url, 1).unwrap();

    let bundle = export(&db, None, None).unwrap();
    let with_payloads = bundle
        .entries
        .iter()
        .filter(|e| e.payload.is_some())
        .count();
    assert_eq!(
        with_payloads, 2,
        "only the draw's and sample's payloads are exported"
    );
    let report = verify_file(&bundle, &real, id).unwrap();
    assert!(report.ok(), "{}", report.render());
    assert_eq!(report.fact_value("sample"), Some(shown(&sample).as_str()));
    let text = serde_json::to_string(&bundle).unwrap();
    let reread = serde_json::from_str(&text).unwrap();
    assert!(verify_file(&reread, &real, id).unwrap().ok());

    // An export starting at the draw: the seed comes from the left nodes and the draw entry.
    let partial = export(&db, Some(seq), None).unwrap();
    assert!(!partial.left.is_empty());
    let report = verify_file(&partial, &real, id).unwrap();
    assert!(report.ok(), "{}", report.render());

    // The population in the draw's payload altered.
    let mut tampered = bundle.clone();
    let entry = tampered.entries.iter_mut().find(|e| e.seq == seq).unwrap();
    let mut payload: Value =
        serde_json::from_slice(&STANDARD.decode(entry.payload.as_ref().unwrap()).unwrap()).unwrap();
    let members: Vec<String> = ids(&payload["members"])
        .into_iter()
        .filter(|m| *m != sample[0])
        .collect();
    payload["population_sha256"] = json!(hex::encode(population_sha256(&members)));
    payload["members"] = json!(members);
    entry.payload = Some(STANDARD.encode(to_canonical_bytes(&payload)));
    let report = verify_file(&tampered, &real, id).unwrap();
    assert_fails_naming(&report, &["the draw entry (seq", "payload_hash"]);

    // The recorded sample altered.
    let mut tampered = bundle.clone();
    let sample_seq = drawn["sample_seq"].as_u64().unwrap();
    let entry = tampered
        .entries
        .iter_mut()
        .find(|e| e.seq == sample_seq)
        .unwrap();
    let mut payload: Value =
        serde_json::from_slice(&STANDARD.decode(entry.payload.as_ref().unwrap()).unwrap()).unwrap();
    payload["sample"] = json!([sample[1], sample[0]]);
    entry.payload = Some(STANDARD.encode(to_canonical_bytes(&payload)));
    assert_fails_naming(
        &verify_file(&tampered, &real, id).unwrap(),
        &["payload_hash"],
    );

    // Without payloads, or without the draw, there is nothing to recompute; another key fails.
    let headers_only = export_with(&db, None, None, Payloads::None).unwrap();
    assert_fails_naming(
        &verify_file(&headers_only, &real, id).unwrap(),
        &["payload is not available"],
    );
    let after = export(&db, Some(seq + 1), None).unwrap();
    assert_fails_naming(
        &verify_file(&after, &real, id).unwrap(),
        &["holds no entry"],
    );
    let other = NoteSigner::new(
        real.name(),
        ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]),
    )
    .unwrap()
    .verifier();
    assert_fails_naming(
        &verify_file(&bundle, &other, id).unwrap(),
        &["does not verify"],
    );
    assert!(verify_file(&bundle, &real, "not-a-draw").is_err());
}

both_backends!(
    verify_draw_passes_on_a_draw_over_cadres,
    verify_draw_passes_on_a_draw_over_visited_households,
    verify_draw_fails_when_the_stored_sample_or_population_is_altered,
    verify_draw_fails_when_the_draw_payload_is_altered,
    verify_draw_fails_on_a_checkpoint_signed_by_another_key,
    verify_draw_works_offline_from_an_export,
);
