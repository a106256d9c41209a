//! The ledger as a transparency log: signed checkpoints, inclusion and consistency proofs,
//! entry bytes, and export/verify catching tampering and truncation.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use fieldtrail_api::verify::{export, fetch, verify_bundle};
use fieldtrail_domain::merkle::{verify_consistency, verify_inclusion, Hash};
use fieldtrail_domain::note::{Checkpoint, NoteVerifier};
use fieldtrail_tests::both_backends;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};

fn open(app: &TestApp, note: &str) -> Checkpoint {
    let verifier = NoteVerifier::parse(&app.log_key()).unwrap();
    Checkpoint::parse(verifier.verify(note).unwrap()).unwrap()
}

fn hashes(value: &serde_json::Value) -> Vec<Hash> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            STANDARD
                .decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

fn leaf(hex_text: &str) -> Hash {
    hex::decode(hex_text).unwrap().try_into().unwrap()
}

fn check_in_now(app: &TestApp, token: &str) -> serde_json::Value {
    let resp = app.post(
        "/v1/records",
        Some(token),
        &check_in(A_CENTRE.0, A_CENTRE.1, 10.0),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    resp.body
}

/// Acceptance 2: a checkpoint served by fieldtrail verifies with an independent implementation
/// of the signed-note format (Python's `cryptography`), key id included.
fn checkpoints_verify_with_an_independent_implementation(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    check_in_now(&app, &cadre.token);
    let note = app.checkpoint_note();
    let key = app.log_key();
    assert!(key.starts_with("fieldtrail.local/"), "{key}");
    let file = app.data_dir.path().join("checkpoint.txt");
    std::fs::write(&file, &note).unwrap();
    let output = fieldtrail_tests::python::command("verify_checkpoint.py")
        .args([&key, file.to_str().unwrap()])
        .output()
        .expect(
            "python3 runs (scripts/test installs the cryptography package into its virtualenv)",
        );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "independent verification failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let size = app.sql_count("SELECT count(*) FROM ledger");
    assert!(stdout.contains(&format!("size={size}")), "{stdout}");

    // The same script refuses a checkpoint whose size line was changed.
    let forged = note.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size + 1), 1);
    std::fs::write(&file, forged).unwrap();
    let output = fieldtrail_tests::python::command("verify_checkpoint.py")
        .args([&key, file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success(), "a forged checkpoint verified");
}

fn records_carry_their_leaf_index_and_prove_their_inclusion(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let other = app.cadre_in_a(&admin, "cadre-b");
    let record = check_in_now(&app, &cadre.token);
    check_in_now(&app, &other.token);
    let seq = record["seq"].as_u64().unwrap();
    assert_eq!(record["leaf_index"], seq - 1);
    let read = app.get(
        &format!("/v1/records/{}", record["id"].as_str().unwrap()),
        Some(&cadre.token),
    );
    assert_eq!(read.body["leaf_index"], seq - 1);

    let checkpoint = open(&app, &app.checkpoint_note());
    let path = format!(
        "/v1/ledger/proof/inclusion?seq={seq}&tree_size={}",
        checkpoint.size
    );
    let proof = app.get(&path, Some(&cadre.token));
    assert_eq!(proof.status, 200, "{}", proof.text);
    assert_eq!(proof.body["leaf_index"], seq - 1);
    assert_eq!(proof.body["leaf_hash"], record["leaf_hash"]);
    let path_hashes = hashes(&proof.body["hashes"]);
    let record_leaf = leaf(record["leaf_hash"].as_str().unwrap());
    verify_inclusion(
        &record_leaf,
        seq - 1,
        checkpoint.size,
        &path_hashes,
        &checkpoint.root,
    )
    .expect("the phone's own proof verifies against the checkpoint");
    let mut mutated = path_hashes.clone();
    mutated[0][0] ^= 1;
    assert!(verify_inclusion(
        &record_leaf,
        seq - 1,
        checkpoint.size,
        &mutated,
        &checkpoint.root
    )
    .is_err());

    // Another cadre may not ask for it, nor a supervisor; an inspector may.
    app.get(&path, Some(&other.token)).problem(403);
    app.create_person(&admin, "sup", "supervisor", TOWNSHIP);
    app.get(&path, Some(&app.login("sup", CADRE_PASSWORD)))
        .problem(403);
    app.create_person(&admin, "insp", "inspector", COUNTY);
    let inspector = app.login("insp", CADRE_PASSWORD);
    assert_eq!(app.get(&path, Some(&inspector)).status, 200);
    // Sizes past the ledger and seqs past the size are refused with the field named.
    let too_big = app.get(
        &format!(
            "/v1/ledger/proof/inclusion?seq={seq}&tree_size={}",
            checkpoint.size + 100
        ),
        Some(&inspector),
    );
    assert_eq!(too_big.problem(422)["errors"][0]["pointer"], "/tree_size");
    let beyond = app.get(
        "/v1/ledger/proof/inclusion?seq=5&tree_size=4",
        Some(&inspector),
    );
    assert_eq!(beyond.problem(422)["errors"][0]["pointer"], "/seq");
    app.get(
        "/v1/ledger/proof/inclusion?seq=x&tree_size=4",
        Some(&inspector),
    )
    .problem(422);
}

fn checkpoints_are_kept_and_consistent(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let first_note = app.checkpoint_note();
    let first = open(&app, &first_note);
    // Asking again without new entries gives the same checkpoint, not a new one.
    assert_eq!(app.checkpoint_note(), first_note);
    for _ in 0..5 {
        check_in_now(&app, &cadre.token);
    }
    let second = open(&app, &app.checkpoint_note());
    assert_eq!(second.size, first.size + 5);
    let kept = app.get(&format!("/v1/ledger/checkpoints/{}", first.size), None);
    assert_eq!(kept.status, 200);
    assert_eq!(kept.text, first_note);
    app.get("/v1/ledger/checkpoints/999999", None).problem(404);

    let inspector_id = app.create_person(&admin, "insp", "inspector", COUNTY);
    assert!(!inspector_id.is_empty());
    let inspector = app.login("insp", CADRE_PASSWORD);
    // The inspector's creation is one more entry; prove between the two checkpoints.
    let path = format!(
        "/v1/ledger/proof/consistency?from={}&to={}",
        first.size, second.size
    );
    let proof = app.get(&path, Some(&inspector));
    assert_eq!(proof.status, 200, "{}", proof.text);
    let proof_hashes = hashes(&proof.body["hashes"]);
    verify_consistency(
        first.size,
        second.size,
        &proof_hashes,
        &first.root,
        &second.root,
    )
    .expect("consistency proof verifies");
    let mut mutated = proof_hashes.clone();
    let last = mutated.len() - 1;
    mutated[last][31] ^= 0x80;
    assert!(
        verify_consistency(first.size, second.size, &mutated, &first.root, &second.root).is_err()
    );
    app.get(&path, Some(&cadre.token)).problem(403);
    let backwards = app.get(
        &format!(
            "/v1/ledger/proof/consistency?from={}&to={}",
            second.size, first.size
        ),
        Some(&inspector),
    );
    assert_eq!(backwards.problem(422)["errors"][0]["pointer"], "/from");
}

fn entries_serve_the_bytes_the_leaves_commit_to(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    check_in_now(&app, &cadre.token);
    let resp = app.get("/v1/ledger/entries?start=2&count=3", Some(&admin));
    assert_eq!(resp.status, 200, "{}", resp.text);
    let entries = resp.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    for (offset, entry) in entries.iter().enumerate() {
        assert_eq!(entry["seq"], 2 + offset as u64);
        let body = STANDARD.decode(entry["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            hex::encode(fieldtrail_domain::merkle::leaf_hash(&body)),
            entry["leaf_hash"]
        );
    }
    app.get("/v1/ledger/entries?start=1&count=5", Some(&cadre.token))
        .problem(403);
    let too_many = app.get("/v1/ledger/entries?start=1&count=5000", Some(&admin));
    assert_eq!(too_many.problem(422)["errors"][0]["pointer"], "/count");
    let garbage = app.get("/v1/ledger/entries?start=1&count=x", Some(&admin));
    assert_eq!(
        garbage.pointers(),
        vec!["/count".to_owned()],
        "{}",
        garbage.text
    );
}

/// Acceptance 3: one entry's bytes altered directly in the database are caught, by sequence
/// number, by verification of a live server and of an export.
fn verify_names_an_altered_entry(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    for _ in 0..3 {
        check_in_now(&app, &cadre.token);
    }
    app.checkpoint_note();
    let verifier = NoteVerifier::parse(&app.log_key()).unwrap();
    let clean = verify_bundle(&fetch(&app.base, Some(&admin)).unwrap(), &verifier, None);
    assert!(clean.ok(), "{}", clean.render());

    app.drop_append_only_triggers();
    let victim = 8;
    let forged_kind = match backend {
        Backend::Sqlite => "UPDATE ledger SET body = CAST(replace(CAST(body AS TEXT), 'check_in', 'check_ot') AS BLOB) WHERE seq = 8",
        Backend::Postgres => {
            "UPDATE ledger SET body = convert_to(replace(convert_from(body, 'UTF8'), 'check_in', 'check_ot'), 'UTF8') WHERE seq = 8"
        }
    };
    app.sql(forged_kind).unwrap();
    assert_eq!(
        app.sql_count("SELECT count(*) FROM ledger WHERE seq = 8 AND kind = 'check_in'"),
        1
    );

    let live = verify_bundle(&fetch(&app.base, Some(&admin)).unwrap(), &verifier, None);
    assert!(!live.ok(), "tampering went unnoticed:\n{}", live.render());
    assert!(
        live.failures()
            .iter()
            .any(|f| f.contains(&format!("seq {victim}:"))),
        "the altered entry is not named:\n{}",
        live.render()
    );
    let db = fieldtrail_storage::Database::open(&app.database_url, 1).unwrap();
    let exported = verify_bundle(&export(&db, None, None).unwrap(), &verifier, None);
    assert!(!exported.ok());
    assert!(
        exported
            .failures()
            .iter()
            .any(|f| f.contains(&format!("seq {victim}:"))),
        "{}",
        exported.render()
    );
}

/// Acceptance 3: removing the last entries is caught by the consistency check against an
/// earlier checkpoint, although the shortened ledger is consistent with itself.
fn verify_catches_truncation_against_an_earlier_checkpoint(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let early = open(&app, &app.checkpoint_note());
    for _ in 0..4 {
        check_in_now(&app, &cadre.token);
    }
    let held_by_inspector = app.checkpoint_note();
    let later = open(&app, &held_by_inspector);
    assert_eq!(later.size, early.size + 4);
    let verifier = NoteVerifier::parse(&app.log_key()).unwrap();
    let db = fieldtrail_storage::Database::open(&app.database_url, 1).unwrap();
    let intact = verify_bundle(
        &export(&db, None, None).unwrap(),
        &verifier,
        Some(&held_by_inspector),
    );
    assert!(intact.ok(), "{}", intact.render());

    app.drop_append_only_triggers();
    let keep = early.size;
    for statement in [
        format!("DELETE FROM records WHERE seq > {keep}"),
        format!("DELETE FROM ledger_payloads WHERE seq > {keep}"),
        format!("DELETE FROM ledger WHERE seq > {keep}"),
        format!("DELETE FROM checkpoints WHERE size > {keep}"),
    ] {
        app.sql(&statement).unwrap();
    }
    let bundle = export(&db, None, None).unwrap();
    let alone = verify_bundle(&bundle, &verifier, None);
    assert!(
        alone.ok(),
        "the shortened ledger is consistent with itself:\n{}",
        alone.render()
    );
    let against = verify_bundle(&bundle, &verifier, Some(&held_by_inspector));
    assert!(
        !against.ok(),
        "truncation went unnoticed:\n{}",
        against.render()
    );
    assert!(
        against
            .failures()
            .iter()
            .any(|f| f.contains("not consistent")),
        "{}",
        against.render()
    );
}

both_backends!(
    checkpoints_verify_with_an_independent_implementation,
    records_carry_their_leaf_index_and_prove_their_inclusion,
    checkpoints_are_kept_and_consistent,
    entries_serve_the_bytes_the_leaves_commit_to,
    verify_names_an_altered_entry,
    verify_catches_truncation_against_an_earlier_checkpoint,
);
