//! Accounts: deactivation and reactivation, password changes and admin resets, logout, and
//! tokens dated in the future. Every way a token stops working must take effect at once, even
//! for a token whose verified claims the server has cached from an earlier request.

use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::SigningKey;
use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::token_subject;
use fieldtrail_tests::Backend;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use time::OffsetDateTime;

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn claims_of(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// A token signed with the server's own key.
fn forge(app: &TestApp, claims: &Value) -> String {
    let key = SigningKey::from_pkcs8_pem(&app.signing_key_pem()).unwrap();
    let der = key.to_pkcs8_der().unwrap();
    jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        claims,
        &EncodingKey::from_ed_der(der.as_bytes()),
    )
    .unwrap()
}

fn claims(sub: &str, role: &str, scope: Option<&str>, iat: i64) -> Value {
    json!({
        "sub": sub, "role": role, "scope": scope,
        "iat": iat, "exp": iat + 3600,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

fn login_resp(app: &TestApp, username: &str, password: &str) -> Resp {
    app.post(
        "/v1/auth/login",
        None,
        &json!({"username": username, "password": password}),
    )
}

/// Asserts a 401 problem: the token is no longer accepted.
fn refused(app: &TestApp, token: &str, path: &str, what: &str) {
    let resp = app.get(path, Some(token));
    assert_eq!(resp.status, 401, "{what}: {}", resp.text);
    assert_eq!(
        resp.problem(401)["type"],
        "urn:fieldtrail:problem:unauthorized",
        "{what}"
    );
}

fn works(app: &TestApp, token: &str, path: &str, what: &str) -> Resp {
    let resp = app.get(path, Some(token));
    assert_eq!(resp.status, 200, "{what}: {}", resp.text);
    resp
}

/// The problem type for a token that may only change its password. The contract spells the
/// end `/password-change-required`; the server's other types are `urn:…:name`, so either
/// separator before the name is taken.
fn is_password_change_required(problem: &Value) -> bool {
    problem["type"].as_str().is_some_and(|t| {
        t.strip_suffix("password-change-required")
            .is_some_and(|head| head.ends_with('/') || head.ends_with(':'))
    })
}

fn deactivate_and_reactivate(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    with_other_township(&app, &root);
    let cadre = app.cadre_in_a(&root, "cadre-a");
    let me = format!("/v1/people/{}", cadre.id);
    // Used once, so the server has its claims cached when the person is deactivated.
    works(&app, &cadre.token, &me, "before");
    let record = app.submit_ok(&cadre.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    let supervisor = app.supervisor(&root, "sup-t", TOWNSHIP);

    let deactivate = format!("{me}/deactivate");
    let reason = json!({"reason": "调离本县"});
    app.post_refused(&deactivate, &supervisor, &reason, 403, &[]);
    app.create_person(&root, "admin-o", "admin", OTHER_TOWNSHIP);
    let outsider = app.login("admin-o", CADRE_PASSWORD);
    app.post_refused(&deactivate, &outsider, &reason, 403, &[]);
    let unknown = uuid::Uuid::new_v4();
    app.post_refused(
        &format!("/v1/people/{unknown}/deactivate"),
        &root,
        &reason,
        404,
        &[],
    );

    let before = app.ledger_size();
    let resp = app.post(&deactivate, Some(&root), &reason);
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["id"], cadre.id.as_str());
    assert_eq!(resp.body["active"], false);
    assert_eq!(resp.body["username"], "cadre-a");
    assert_eq!(
        app.ledger_size(),
        before + 1,
        "a deactivation is a ledger entry"
    );

    refused(
        &app,
        &cadre.token,
        &me,
        "the cached token of a deactivated person",
    );
    let submitted = app.submit(&cadre.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    submitted.problem(401);
    assert_eq!(app.ledger_size(), before + 1, "nothing stored for them");
    // Not only tokens issued before: no token of theirs is accepted while inactive.
    let fresh = forge(&app, &claims(&cadre.id, "cadre", Some(VILLAGE_A), now()));
    refused(&app, &fresh, &me, "a token issued after the deactivation");
    let login = login_resp(&app, "cadre-a", CADRE_PASSWORD);
    login.problem(403);
    assert!(login.body.get("access_token").is_none(), "{}", login.text);

    // Staff still read who they were and what they did.
    let view = works(&app, &supervisor, &me, "supervisor reads the person");
    assert_eq!(view.body["active"], false);
    let records = works(&app, &supervisor, &format!("{me}/records"), "records");
    assert!(
        records.text.contains(record.body["id"].as_str().unwrap()),
        "the record is still listed: {}",
        records.text
    );
    works(
        &app,
        &supervisor,
        &format!("{me}/assignments"),
        "assignments",
    );
    let record_path = format!("/v1/records/{}", record.body["id"].as_str().unwrap());
    works(&app, &supervisor, &record_path, "the record itself");

    let resp = app.post_refused(&deactivate, &root, &reason, 409, &[]);
    assert_eq!(resp.body["type"], "urn:fieldtrail:problem:conflict");
    // Nobody locks themselves out.
    let root_id = token_subject(&root);
    let before = app.ledger_size();
    let resp = app.post(
        &format!("/v1/people/{root_id}/deactivate"),
        Some(&root),
        &reason,
    );
    resp.problem(422);
    assert_eq!(app.ledger_size(), before);
    works(
        &app,
        &root,
        &format!("/v1/people/{root_id}"),
        "root is still active",
    );

    let reactivate = format!("{me}/reactivate");
    app.post_refused(&reactivate, &supervisor, &reason, 403, &[]);
    let before = app.ledger_size();
    let resp = app.post(&reactivate, Some(&root), &json!({"reason": "返岗"}));
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["active"], true);
    assert_eq!(
        app.ledger_size(),
        before + 1,
        "a reactivation is a ledger entry"
    );
    app.post_refused(&reactivate, &root, &reason, 409, &[]);
    // Tokens from before the deactivation stay dead: the person logs in anew.
    refused(
        &app,
        &cadre.token,
        &me,
        "a token from before the deactivation",
    );
    let again = app.login("cadre-a", CADRE_PASSWORD);
    works(&app, &again, &me, "after reactivation");
    app.submit_ok(&again, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
}

fn changing_ones_password(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let cadre = app.cadre_in_a(&root, "cadre-a");
    let me = format!("/v1/people/{}", cadre.id);
    let other_session = app.login("cadre-a", CADRE_PASSWORD);
    works(&app, &cadre.token, &me, "before");

    let change = |token: &str, current: &str, new: &str| {
        app.post(
            "/v1/me/password",
            Some(token),
            &json!({"current": current, "new": new}),
        )
    };
    let wrong = change(&cadre.token, "not-my-password", "brand-new-pass-1");
    wrong.problem(422);
    assert_eq!(wrong.pointers(), ["/current"], "{}", wrong.text);
    let weak = change(&cadre.token, CADRE_PASSWORD, "short");
    weak.problem(422);
    assert_eq!(weak.pointers(), ["/new"], "{}", weak.text);
    // Refused changes change nothing.
    works(&app, &cadre.token, &me, "after refused changes");
    app.login("cadre-a", CADRE_PASSWORD);
    change("garbage", CADRE_PASSWORD, "brand-new-pass-1").problem(401);

    let resp = change(&cadre.token, CADRE_PASSWORD, "brand-new-pass-1");
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["token_type"], "Bearer");
    assert!(resp.body["expires_in"].as_i64().unwrap() > 0);
    assert_eq!(resp.body["must_change_password"], false);
    let fresh = resp.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&fresh)["sub"], cadre.id.as_str());
    works(&app, &fresh, &me, "the fresh token");
    refused(
        &app,
        &cadre.token,
        &me,
        "the token that changed the password",
    );
    refused(&app, &other_session, &me, "another older token");

    login_resp(&app, "cadre-a", CADRE_PASSWORD).problem(401);
    let login = login_resp(&app, "cadre-a", "brand-new-pass-1");
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["must_change_password"], false);
    works(
        &app,
        login.body["access_token"].as_str().unwrap(),
        &me,
        "new login",
    );
}

fn an_admin_reset_forces_a_change(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let cadre = app.cadre_in_a(&root, "cadre-a");
    let me = format!("/v1/people/{}", cadre.id);
    works(&app, &cadre.token, &me, "before");
    let reset = format!("{me}/password");

    let supervisor = app.supervisor(&root, "sup-t", TOWNSHIP);
    let resp = app.post(&reset, Some(&supervisor), &json!({"new": "reset-pass-123"}));
    resp.problem(403);
    let resp = app.post(&reset, Some(&root), &json!({"new": "short"}));
    resp.problem(422);
    assert_eq!(resp.pointers(), ["/new"], "{}", resp.text);
    let unknown = uuid::Uuid::new_v4();
    app.post(
        &format!("/v1/people/{unknown}/password"),
        Some(&root),
        &json!({"new": "reset-pass-123"}),
    )
    .problem(404);

    let resp = app.post(&reset, Some(&root), &json!({"new": "reset-pass-123"}));
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["id"], cadre.id.as_str());
    assert_eq!(resp.body["must_change_password"], true);
    assert!(!resp.text.contains("reset-pass-123"), "{}", resp.text);
    refused(&app, &cadre.token, &me, "a token from before the reset");
    login_resp(&app, "cadre-a", CADRE_PASSWORD).problem(401);

    let login = login_resp(&app, "cadre-a", "reset-pass-123");
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["must_change_password"], true);
    let limited = login.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&limited)["mcp"], true);
    let before = app.ledger_size();
    for resp in [
        app.get(&me, Some(&limited)),
        app.get(&format!("{me}/records"), Some(&limited)),
        app.submit(&limited, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0)),
    ] {
        let problem = resp.problem(403);
        assert!(is_password_change_required(problem), "{}", resp.text);
    }
    assert_eq!(app.ledger_size(), before, "no record from a limited token");
    // A limited token may still log out.
    let spare = app.login("cadre-a", "reset-pass-123");
    let out = app.request("POST", "/v1/auth/logout", Some(&spare), None);
    assert_eq!(out.resp.status, 204, "{}", out.resp.text);

    let resp = app.post(
        "/v1/me/password",
        Some(&limited),
        &json!({"current": "reset-pass-123", "new": "my-own-pass-1"}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.body["must_change_password"], false);
    let fresh = resp.body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(claims_of(&fresh)["mcp"], true);
    let view = works(&app, &fresh, &me, "after choosing a password");
    assert_eq!(view.body["must_change_password"], false);
    app.submit_ok(&fresh, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    refused(&app, &limited, &me, "the limited token after the change");
    let login = login_resp(&app, "cadre-a", "my-own-pass-1");
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["must_change_password"], false);
}

fn logout_revokes_only_that_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let cadre = app.cadre_in_a(&root, "cadre-a");
    let me = format!("/v1/people/{}", cadre.id);
    let phone = cadre.token.clone();
    let laptop = app.login("cadre-a", CADRE_PASSWORD);
    works(&app, &phone, &me, "before");
    works(&app, &laptop, &me, "before");

    let out = app.request("POST", "/v1/auth/logout", Some(&phone), None);
    assert_eq!(out.resp.status, 204, "{}", out.resp.text);
    assert!(out.bytes.is_empty(), "204 has no body");
    refused(&app, &phone, &me, "the logged-out token");
    works(&app, &laptop, &me, "another token of the same person");
    let again = app.request("POST", "/v1/auth/logout", Some(&phone), None);
    again.resp.problem(401);
    let anonymous = app.request("POST", "/v1/auth/logout", None, None);
    anonymous.resp.problem(401);

    // Revocation is kept, not only remembered by this process.
    let app = app.restart();
    refused(&app, &phone, &me, "the logged-out token after a restart");
    works(&app, &laptop, &me, "the other token after a restart");
}

fn tokens_from_the_future_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root_id = token_subject(&app.root_token());
    let me = format!("/v1/people/{root_id}");
    let now = now();

    let genuine = forge(&app, &claims(&root_id, "admin", None, now));
    works(&app, &genuine, &me, "iat = now");
    let mut past_nbf = claims(&root_id, "admin", None, now - 60);
    past_nbf["nbf"] = json!(now - 60);
    works(&app, &forge(&app, &past_nbf), &me, "nbf a minute ago");

    let later = now + 15 * 60;
    refused(
        &app,
        &forge(&app, &claims(&root_id, "admin", None, later)),
        &me,
        "iat 15 minutes ahead",
    );
    refused(
        &app,
        &forge(&app, &claims(&root_id, "admin", None, now + 86_400)),
        &me,
        "iat a day ahead",
    );
    let mut not_yet = claims(&root_id, "admin", None, now);
    not_yet["nbf"] = json!(later);
    refused(&app, &forge(&app, &not_yet), &me, "nbf 15 minutes ahead");
    // A refused token does not spoil the genuine one.
    works(&app, &genuine, &me, "iat = now, again");
}

both_backends!(
    deactivate_and_reactivate,
    changing_ones_password,
    an_admin_reset_forces_a_change,
    logout_revokes_only_that_token,
    tokens_from_the_future_are_refused,
);
