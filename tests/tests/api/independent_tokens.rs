//! Tokens from an independent implementation: PyJWT (with `cryptography`) signs with the
//! server's own Ed25519 key file, and the server takes a valid token and refuses an expired,
//! not-yet-valid, foreign-key, `alg: none` or HS256-with-the-public-key token, and any token of
//! a deactivated person. The key files are standard PKCS#8 that `openssl pkey` reads.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use fieldtrail_tests::both_backends;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

/// PyJWT's answer to one request (tests/python/pyjwt_tokens.py).
fn run_python(request: &Value) -> Value {
    fieldtrail_tests::python::exchange("pyjwt_tokens.py", request)
}

fn key_file(app: &TestApp) -> std::path::PathBuf {
    let path = app.data_dir.path().join("jwt-ed25519.pem");
    assert!(path.exists(), "no token key at {}", path.display());
    path
}

/// PyJWT tokens for `claims`, one per variant.
fn tokens(app: &TestApp, claims: &Value, variants: &[&str]) -> Value {
    run_python(&json!({
        "key_file": key_file(app),
        "claims": claims,
        "variants": variants,
    }))
}

fn claims_of(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Claims as the server would issue them to this person now, with a fresh jti.
fn fresh_claims(server_token: &str) -> Value {
    let mut claims = claims_of(server_token);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 3600);
    claims["jti"] = json!(uuid::Uuid::new_v4().to_string());
    claims
}

fn assert_refused(app: &TestApp, path: &str, token: &str, what: &str) {
    let resp = app.request("GET", path, Some(token), None);
    assert_eq!(resp.resp.status, 401, "{what}: {}", resp.resp.text);
    let problem = resp.resp.problem(401);
    assert_eq!(
        problem["type"], "urn:fieldtrail:problem:unauthorized",
        "{what}"
    );
    assert_eq!(resp.header("www-authenticate"), Some("Bearer"), "{what}");
}

const REFUSED: [&str; 10] = [
    "expired",
    "expired_leeway",
    "nbf_future",
    "iat_future",
    "other_key",
    "alg_none",
    "alg_none_sig",
    "hs256_raw",
    "hs256_der",
    "hs256_pem",
];

fn pyjwt_tokens_are_accepted_when_valid_and_refused_otherwise(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let cadre = app.cadre_in_a(&root, "cadre-a");
    for (who, server_token, id) in [
        (
            "root",
            root.clone(),
            claims_of(&root)["sub"].as_str().unwrap().to_owned(),
        ),
        ("cadre", cadre.token.clone(), cadre.id.clone()),
    ] {
        let path = format!("/v1/people/{id}");
        let mut variants = vec!["valid"];
        variants.extend(REFUSED);
        let made = tokens(&app, &fresh_claims(&server_token), &variants);
        let valid = made["valid"].as_str().unwrap();
        let resp = app.get(&path, Some(valid));
        assert_eq!(
            resp.status, 200,
            "{who}: the valid PyJWT token: {}",
            resp.text
        );
        assert_eq!(resp.body["id"], id.as_str());
        for variant in REFUSED {
            assert_refused(
                &app,
                &path,
                made[variant].as_str().unwrap(),
                &format!("{who}: {variant}"),
            );
        }
        // The valid one still works after the others were refused (nothing cached wrongly).
        assert_eq!(
            app.get(&path, Some(valid)).status,
            200,
            "{who}: valid again"
        );
    }
    // A valid PyJWT token writes too: the cadre's check-in is stored under their id.
    let made = tokens(&app, &fresh_claims(&cadre.token), &["valid"]);
    let resp = app.post(
        "/v1/records",
        Some(made["valid"].as_str().unwrap()),
        &check_in(A_CENTRE.0, A_CENTRE.1, 10.0),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    // …and the refused kinds write nothing.
    let before = app.ledger_size();
    let made = tokens(&app, &fresh_claims(&cadre.token), &REFUSED);
    for variant in REFUSED {
        let resp = app.post(
            "/v1/records",
            Some(made[variant].as_str().unwrap()),
            &check_in(A_CENTRE.0, A_CENTRE.1, 10.0),
        );
        resp.problem(401);
    }
    assert_eq!(
        app.ledger_size(),
        before,
        "a refused token stored something"
    );

    // The server's own tokens verify with PyJWT against the key file's public key.
    let verified = run_python(&json!({"key_file": key_file(&app), "verify": cadre.token}));
    assert_eq!(verified["claims"]["sub"], cadre.id.as_str(), "{verified}");
}

fn pyjwt_tokens_of_a_deactivated_person_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let cadre = app.cadre_in_a(&root, "cadre-a");
    let path = format!("/v1/people/{}", cadre.id);
    let before = tokens(&app, &fresh_claims(&cadre.token), &["valid"]);
    let before = before["valid"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&path, Some(&before)).status,
        200,
        "before deactivation"
    );

    let resp = app.post(
        &format!("{path}/deactivate"),
        Some(&root),
        &json!({"reason": "调离本县"}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);

    // One made before (and cached by the server), one made after: both refused.
    let after = tokens(&app, &fresh_claims(&cadre.token), &["valid"]);
    let after = after["valid"].as_str().unwrap();
    for (what, token) in [("made before", before.as_str()), ("made after", after)] {
        assert_refused(&app, &path, token, &format!("deactivated, {what}"));
        assert_refused(&app, "/v1/units", token, &format!("deactivated, {what}"));
    }
    let stored = app.ledger_size();
    let resp = app.post(
        "/v1/records",
        Some(after),
        &check_in(A_CENTRE.0, A_CENTRE.1, 10.0),
    );
    resp.problem(401);
    assert_eq!(app.ledger_size(), stored);
}

/// `openssl pkey -in <file> -noout -text`, and the DER public key; panics if openssl fails.
fn openssl_reads(file: &Path) -> (String, Vec<u8>) {
    let text = Command::new("openssl")
        .args(["pkey", "-in"])
        .arg(file)
        .args(["-noout", "-text"])
        .output()
        .expect("run openssl");
    assert!(
        text.status.success(),
        "openssl pkey cannot read {}: {}",
        file.display(),
        String::from_utf8_lossy(&text.stderr)
    );
    let public = Command::new("openssl")
        .args(["pkey", "-in"])
        .arg(file)
        .args(["-pubout", "-outform", "DER"])
        .output()
        .expect("run openssl");
    assert!(
        public.status.success(),
        "{}",
        String::from_utf8_lossy(&public.stderr)
    );
    (
        String::from_utf8_lossy(&text.stdout).into_owned(),
        public.stdout,
    )
}

fn key_files_are_standard_pkcs8_that_openssl_reads(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let mut failures = Vec::new();
    for name in ["jwt-ed25519.pem", "log-ed25519.pem"] {
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            key_file_is_read_by_openssl(&app, name)
        })) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| format!("{name}: a failed assertion"));
            failures.push(message);
        }
    }
    // The token key signs what the server verifies: a PyJWT token from the file is accepted.
    let root = app.root_token();
    let made = tokens(&app, &fresh_claims(&root), &["valid"]);
    let sub = claims_of(&root)["sub"].as_str().unwrap().to_owned();
    let resp = app.get(
        &format!("/v1/people/{sub}"),
        Some(made["valid"].as_str().unwrap()),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn key_file_is_read_by_openssl(app: &TestApp, name: &str) {
    {
        let file = app.data_dir.path().join(name);
        let pem = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
        // PKCS#8 (RFC 5958) PEM: "PRIVATE KEY", not a raw or OpenSSH-specific form.
        assert!(
            pem.trim_start().starts_with("-----BEGIN PRIVATE KEY-----"),
            "{name}: {pem}"
        );
        assert!(
            pem.trim_end().ends_with("-----END PRIVATE KEY-----"),
            "{name}"
        );
        let (text, public_der) = openssl_reads(&file);
        assert!(text.contains("ED25519 Private-Key"), "{name}: {text}");
        assert!(
            text.contains("priv:") && text.contains("pub:"),
            "{name}: {text}"
        );
        // SubjectPublicKeyInfo of Ed25519: 12 bytes of header, then the 32-byte key.
        assert_eq!(public_der.len(), 44, "{name}");
        assert_eq!(
            &public_der[..12],
            &hex::decode("302a300506032b6570032100").unwrap()[..]
        );
        if name == "log-ed25519.pem" {
            // The log key the server publishes (`name+id+base64(0x01 || key)`) is this key.
            let published = app.log_key();
            // name+hash+key: the base64 key may itself hold a '+'.
            let encoded = published.splitn(3, '+').nth(2).unwrap();
            let bytes = STANDARD.decode(encoded).unwrap();
            assert_eq!(bytes[0], 0x01, "{published}");
            assert_eq!(
                &bytes[1..],
                &public_der[12..],
                "{name}: not the published log key"
            );
        }
    }
}

both_backends!(
    pyjwt_tokens_are_accepted_when_valid_and_refused_otherwise,
    pyjwt_tokens_of_a_deactivated_person_are_refused,
    key_files_are_standard_pkcs8_that_openssl_reads,
);
