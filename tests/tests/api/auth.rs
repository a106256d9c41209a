//! Login and bearer tokens: the login answer, and every way a forged, stale or mangled token
//! must be refused with 401 problem+json and a `WWW-Authenticate: Bearer` challenge.

#![allow(clippy::unwrap_used)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::SigningKey;
use fieldtrail_tests::both_backends;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp, ROOT_PASSWORD, ROOT_USER};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// A GET whose response headers matter: status, WWW-Authenticate, content type, JSON body.
struct Raw {
    status: u16,
    www_authenticate: Option<String>,
    content_type: String,
    body: Value,
}

fn raw_get(app: &TestApp, path: &str, authorization: Option<&str>) -> Raw {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    let mut request = agent.get(app.url(path));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let mut response = request.call().unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let www_authenticate = header("www-authenticate");
    let content_type = header("content-type").unwrap_or_default();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    Raw {
        status,
        www_authenticate,
        content_type,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// Asserts a 401 problem with a Bearer challenge.
fn assert_unauthorized(raw: &Raw, what: &str) {
    assert_eq!(raw.status, 401, "{what}: body {}", raw.body);
    assert_eq!(raw.content_type, "application/problem+json", "{what}");
    assert_eq!(
        raw.body["type"], "urn:fieldtrail:problem:unauthorized",
        "{what}"
    );
    assert_eq!(raw.body["status"], 401, "{what}");
    assert!(raw.body["title"].is_string(), "{what}");
    assert!(raw.body["detail"].is_string(), "{what}");
    assert_eq!(raw.www_authenticate.as_deref(), Some("Bearer"), "{what}");
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The decoded JSON of one dot-separated part of a JWT (0 header, 1 payload).
fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Claims shaped like the server's own, valid for an hour from now.
fn claims(sub: &str, role: &str, scope: Option<&str>) -> Value {
    let now = now();
    json!({
        "sub": sub,
        "role": role,
        "scope": scope,
        "iat": now,
        "exp": now + 3600,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

fn server_key(app: &TestApp) -> SigningKey {
    SigningKey::from_pkcs8_pem(&app.signing_key_pem()).unwrap()
}

fn sign_eddsa(key: &SigningKey, claims: &Value) -> String {
    let der = key.to_pkcs8_der().unwrap();
    jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        claims,
        &EncodingKey::from_ed_der(der.as_bytes()),
    )
    .unwrap()
}

/// A token signed with the server's own key: what the server would issue for these claims.
fn forge(app: &TestApp, claims: &Value) -> String {
    sign_eddsa(&server_key(app), claims)
}

fn root_id(app: &TestApp) -> String {
    let token = app.root_token();
    jwt_part(&token, 1)["sub"].as_str().unwrap().to_owned()
}

fn login_returns_a_bearer_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let resp = app.post(
        "/v1/auth/login",
        None,
        &json!({"username": ROOT_USER, "password": ROOT_PASSWORD}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(resp.content_type, "application/json");
    assert_eq!(resp.body["token_type"], "Bearer");
    let expires_in = resp.body["expires_in"].as_i64().unwrap();
    assert!(expires_in > 0, "expires_in {expires_in}");
    let token = resp.body["access_token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3, "a JWS compact token: {token}");
    let mut members: Vec<&String> = resp.body.as_object().unwrap().keys().collect();
    members.sort();
    assert_eq!(
        members,
        [
            "access_token",
            "expires_in",
            "must_change_password",
            "token_type"
        ]
    );
    assert_eq!(resp.body["must_change_password"], false);

    // The token works on a protected route.
    let me = app.get(&format!("/v1/people/{}", root_id(&app)), Some(token));
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["username"], ROOT_USER);
}

fn login_token_claims(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let before = now();

    let header = jwt_part(&cadre.token, 0);
    assert_eq!(header["alg"], "EdDSA");

    let claims = jwt_part(&cadre.token, 1);
    let mut keys: Vec<&String> = claims.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["exp", "gen", "iat", "jti", "role", "scope", "sub"],
        "{claims}"
    );
    assert_eq!(claims["sub"], cadre.id.as_str());
    assert_eq!(claims["role"], "cadre");
    assert_eq!(claims["scope"], VILLAGE_A);
    assert_eq!(claims["gen"], 0, "a new person's first token generation");
    assert!(uuid::Uuid::parse_str(claims["jti"].as_str().unwrap()).is_ok());
    let iat = claims["iat"].as_i64().unwrap();
    let exp = claims["exp"].as_i64().unwrap();
    assert!(
        (before - 120..=before + 5).contains(&iat),
        "iat {iat}, now {before}"
    );

    // exp - iat is the expires_in the login answered with.
    let login = app.post(
        "/v1/auth/login",
        None,
        &json!({"username": "cadre-a", "password": CADRE_PASSWORD}),
    );
    assert_eq!(exp - iat, login.body["expires_in"].as_i64().unwrap());

    // Two logins give two different token ids.
    let again = jwt_part(login.body["access_token"].as_str().unwrap(), 1);
    assert_ne!(again["jti"], claims["jti"]);

    // Root administers the whole tree: no scope.
    let root = jwt_part(&admin, 1);
    assert_eq!(root["role"], "admin");
    assert_eq!(root["scope"], Value::Null);
}

fn wrong_password_and_unknown_user_are_refused_alike(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let wrong = app.post(
        "/v1/auth/login",
        None,
        &json!({"username": ROOT_USER, "password": "not-the-password"}),
    );
    let wrong = wrong.problem(401).clone();
    assert_eq!(wrong["type"], "urn:fieldtrail:problem:unauthorized");
    assert!(wrong.get("access_token").is_none());

    let unknown = app.post(
        "/v1/auth/login",
        None,
        &json!({"username": "nobody-here", "password": ROOT_PASSWORD}),
    );
    let unknown = unknown.problem(401);
    assert_eq!(unknown["type"], "urn:fieldtrail:problem:unauthorized");
    // The answer does not reveal which of the two was wrong.
    assert_eq!(unknown["detail"], wrong["detail"]);

    // Malformed login bodies are problems too, and log nobody in.
    let broken = app.post_raw("/v1/auth/login", None, b"{\"username\": \"root\"");
    assert_eq!(
        broken.problem(400)["type"],
        "urn:fieldtrail:problem:malformed-request"
    );
    let missing = app.post("/v1/auth/login", None, &json!({"username": ROOT_USER}));
    missing.problem(422);
    assert_eq!(missing.pointers(), ["/password"]);
    let extra = app.post(
        "/v1/auth/login",
        None,
        &json!({"username": ROOT_USER, "password": ROOT_PASSWORD, "otp": "123456"}),
    );
    extra.problem(422);
    assert_eq!(extra.pointers(), ["/otp"]);
    let empty = app.post(
        "/v1/auth/login",
        None,
        &json!({"username": "", "password": ""}),
    );
    empty.problem(401);

    // Case matters: usernames are lower case.
    let upper = app.post(
        "/v1/auth/login",
        None,
        &json!({"username": "ROOT", "password": ROOT_PASSWORD}),
    );
    upper.problem(401);
}

fn missing_or_non_bearer_authorization_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let path = format!("/v1/people/{}", root_id(&app));
    let token = app.root_token();

    assert_unauthorized(&raw_get(&app, &path, None), "no Authorization header");
    let basic = format!(
        "Basic {}",
        b64(format!("{ROOT_USER}:{ROOT_PASSWORD}").as_bytes())
    );
    assert_unauthorized(&raw_get(&app, &path, Some(&basic)), "Basic scheme");
    assert_unauthorized(
        &raw_get(&app, &path, Some(&format!("Token {token}"))),
        "a valid token under another scheme",
    );
    assert_unauthorized(
        &raw_get(&app, &path, Some(&token)),
        "a token without a scheme",
    );
    assert_unauthorized(&raw_get(&app, &path, Some("Bearer ")), "an empty token");
    assert_unauthorized(&raw_get(&app, &path, Some("Bearer not-a-token")), "garbage");
    assert_unauthorized(
        &raw_get(&app, &path, Some("Bearer a.b.c")),
        "three garbage parts",
    );

    // The same route with the real token works, so the refusals are about the header.
    assert_eq!(
        raw_get(&app, &path, Some(&format!("Bearer {token}"))).status,
        200
    );
}

fn forged_tokens_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = root_id(&app);
    let path = format!("/v1/people/{root}");
    let good_claims = claims(&root, "admin", None);

    // The forging helper is right: the server's key with the right claims is accepted.
    let genuine = forge(&app, &good_claims);
    let ok = raw_get(&app, &path, Some(&format!("Bearer {genuine}")));
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["id"], root.as_str());

    let payload = b64(good_claims.to_string().as_bytes());
    let attacks: Vec<(&str, String)> = vec![
        (
            "alg none, empty signature",
            format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#)),
        ),
        (
            "alg None, empty signature",
            format!("{}.{payload}.", b64(br#"{"alg":"None","typ":"JWT"}"#)),
        ),
        (
            "alg none, genuine signature kept",
            format!(
                "{}.{payload}.{}",
                b64(br#"{"alg":"none","typ":"JWT"}"#),
                genuine.split('.').nth(2).unwrap()
            ),
        ),
        ("HS256 keyed with the public key bytes", {
            let public = server_key(&app).verifying_key();
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &good_claims,
                &EncodingKey::from_secret(public.as_bytes()),
            )
            .unwrap()
        }),
        ("HS256 keyed with the public key PEM", {
            let public = server_key(&app).verifying_key();
            let pem = public
                .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                .unwrap();
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &good_claims,
                &EncodingKey::from_secret(pem.as_bytes()),
            )
            .unwrap()
        }),
        (
            "HS256 keyed with a guessed secret",
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &good_claims,
                &EncodingKey::from_secret(b"secret"),
            )
            .unwrap(),
        ),
        (
            "another Ed25519 key",
            sign_eddsa(&SigningKey::from_bytes(&[42u8; 32]), &good_claims),
        ),
        ("expired 2 minutes ago, real key", {
            let mut expired = good_claims.clone();
            expired["iat"] = json!(now() - 3720);
            expired["exp"] = json!(now() - 120);
            forge(&app, &expired)
        }),
        ("unknown subject, real key", {
            let stranger = uuid::Uuid::new_v4().to_string();
            forge(&app, &claims(&stranger, "admin", None))
        }),
        ("subject that is not a UUID, real key", {
            forge(&app, &claims("root", "admin", None))
        }),
        ("no exp claim, real key", {
            let mut no_exp = good_claims.clone();
            no_exp.as_object_mut().unwrap().remove("exp");
            forge(&app, &no_exp)
        }),
        ("genuine token with a byte of the signature changed", {
            let mut bytes = genuine.clone().into_bytes();
            let at = bytes.len() - 5;
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            String::from_utf8(bytes).unwrap()
        }),
        ("genuine signature, truncated", {
            genuine[..genuine.len() - 2].to_owned()
        }),
    ];
    for (what, token) in &attacks {
        assert_unauthorized(
            &raw_get(&app, &path, Some(&format!("Bearer {token}"))),
            what,
        );
    }
}

fn tampered_payload_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let root = root_id(&app);

    // The cadre's real token works for the cadre…
    let own = raw_get(
        &app,
        &format!("/v1/people/{}", cadre.id),
        Some(&format!("Bearer {}", cadre.token)),
    );
    assert_eq!(own.status, 200);

    // …but rewriting its payload to name root as subject (and admin as role), keeping the
    // signature, must not make the cadre root.
    let parts: Vec<&str> = cadre.token.split('.').collect();
    let mut payload = jwt_part(&cadre.token, 1);
    payload["sub"] = json!(root);
    payload["role"] = json!("admin");
    payload["scope"] = Value::Null;
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(payload.to_string().as_bytes()),
        parts[2]
    );
    for path in [
        format!("/v1/people/{root}"),
        format!("/v1/people/{}", cadre.id),
    ] {
        assert_unauthorized(
            &raw_get(&app, &path, Some(&format!("Bearer {tampered}"))),
            "tampered subject",
        );
    }

    // Only the expiry pushed out, same subject: still refused.
    let mut later = jwt_part(&cadre.token, 1);
    later["exp"] = json!(later["exp"].as_i64().unwrap() + 86_400);
    let extended = format!(
        "{}.{}.{}",
        parts[0],
        b64(later.to_string().as_bytes()),
        parts[2]
    );
    assert_unauthorized(
        &raw_get(
            &app,
            &format!("/v1/people/{}", cadre.id),
            Some(&format!("Bearer {extended}")),
        ),
        "tampered expiry",
    );

    // And a tampered token does not poison the real one.
    let again = raw_get(
        &app,
        &format!("/v1/people/{}", cadre.id),
        Some(&format!("Bearer {}", cadre.token)),
    );
    assert_eq!(again.status, 200);
}

fn every_protected_route_needs_a_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let id = uuid::Uuid::new_v4();
    for path in [
        format!("/v1/people/{id}"),
        format!("/v1/people/{id}/assignments"),
        format!("/v1/people/{id}/records"),
        format!("/v1/records/{id}"),
        format!("/v1/units/{COUNTY}"),
        format!("/v1/units/{COUNTY}/children"),
    ] {
        assert_unauthorized(&raw_get(&app, &path, None), &path);
    }
    let before = app.sql_count("SELECT count(*) FROM ledger");
    for path in [
        "/v1/units/import",
        "/v1/people",
        "/v1/assignments",
        "/v1/households",
        "/v1/records",
    ] {
        let resp = app.post(path, None, &json!({}));
        let problem = resp.problem(401);
        assert_eq!(
            problem["type"], "urn:fieldtrail:problem:unauthorized",
            "{path}"
        );
    }
    let record = app.post(
        "/v1/records",
        Some("garbage"),
        &check_in(A_CENTRE.0, A_CENTRE.1, 10.0),
    );
    record.problem(401);
    assert_eq!(app.sql_count("SELECT count(*) FROM ledger"), before);
}

/// RFC 7235 §2.1: the auth scheme is case-insensitive, so "BEARER <token>" is a Bearer token.
fn bearer_scheme_is_case_insensitive(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let path = format!("/v1/people/{}", root_id(&app));
    let token = app.root_token();
    for scheme in ["Bearer", "bearer", "BEARER", "BeArEr"] {
        let resp = raw_get(&app, &path, Some(&format!("{scheme} {token}")));
        assert_eq!(resp.status, 200, "{scheme}: {}", resp.body);
    }
}

both_backends!(bearer_scheme_is_case_insensitive);

both_backends!(
    login_returns_a_bearer_token,
    login_token_claims,
    wrong_password_and_unknown_user_are_refused_alike,
    missing_or_non_bearer_authorization_is_refused,
    forged_tokens_are_refused,
    tampered_payload_is_refused,
    every_protected_route_needs_a_token,
);
