//! The bad-input catalogue: every malformed, oversized, mistyped or impossible input is answered
//! with an RFC 9457 problem (400 malformed, 413 too large, 415 content type, 422 invalid) naming
//! the field where the input has one, and nothing is stored. One file per family; each family
//! runs on both backends.

use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, Resp, TestApp};
use serde_json::{json, Value};

mod geojson;
mod json;
mod positions;
mod text;
mod times;

/// A county, a cadre of village A, and the tokens.
struct Setup {
    app: TestApp,
    root: String,
    cadre: Cadre,
}

fn setup(backend: Backend) -> Option<Setup> {
    let app = TestApp::spawn(backend)?;
    let root = app.with_county();
    let cadre = app.cadre_in_a(&root, "cadre-a");
    Some(Setup { app, root, cadre })
}

/// Row counts of everything a write could leave behind.
fn stored(app: &TestApp) -> Vec<(&'static str, i64)> {
    [
        "ledger",
        "ledger_payloads",
        "records",
        "units",
        "people",
        "assignments",
        "households",
    ]
    .into_iter()
    .map(|table| {
        (
            table,
            app.sql_count(&format!("SELECT count(*) FROM {table}")),
        )
    })
    .collect()
}

/// The problem type the catalogue expects for a status.
fn problem_type(status: u16) -> &'static str {
    match status {
        400 => "urn:fieldtrail:problem:malformed-request",
        413 => "urn:fieldtrail:problem:payload-too-large",
        415 => "urn:fieldtrail:problem:unsupported-media-type",
        422 => "urn:fieldtrail:problem:validation",
        _ => "",
    }
}

/// What a refusal must look like: one of `statuses` (the first is the one the catalogue names;
/// more are listed only where the contract leaves the choice open), problem+json of the matching
/// type, and every one of `pointers` among `errors[].pointer`, each with a reason.
fn assert_refusal(resp: &Resp, statuses: &[u16], pointers: &[&str], what: &str) {
    assert!(
        statuses.contains(&resp.status),
        "{what}: expected {statuses:?}, got {} {}",
        resp.status,
        resp.text
    );
    resp.problem(resp.status);
    assert_eq!(
        resp.body["type"],
        problem_type(resp.status),
        "{what}: {}",
        resp.text
    );
    let got = resp.pointers();
    for pointer in pointers {
        assert!(
            got.iter().any(|p| p == pointer),
            "{what}: expected pointer {pointer:?}, got {got:?} in {}",
            resp.text
        );
    }
    if let Some(errors) = resp.body["errors"].as_array() {
        for error in errors {
            assert!(
                error["reason"].as_str().is_some_and(|r| !r.is_empty()),
                "{what}: an error without a reason: {}",
                resp.text
            );
        }
    }
}

/// Short, printable description of a body for assertion messages.
fn describe(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(160)];
    let text = String::from_utf8_lossy(head).into_owned();
    if bytes.len() > 160 {
        format!("{text}… ({} bytes)", bytes.len())
    } else {
        text
    }
}

/// POSTs raw bytes as `content_type` and asserts the refusal and that nothing was stored.
fn refused_bytes(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    bytes: &[u8],
    statuses: &[u16],
    pointers: &[&str],
) -> Resp {
    let before = stored(app);
    let full = app.request("POST", path, token, Some((content_type, bytes)));
    let what = format!("POST {path} [{content_type}] {}", describe(bytes));
    soft(|| {
        assert_refusal(&full.resp, statuses, pointers, &what);
        assert_eq!(stored(app), before, "{what}: something was stored");
    });
    full.resp
}

thread_local! {
    /// The failed cases of the running test, reported together at its end.
    static FAILURES: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs one case's assertions; a failure is kept and the test goes on with the next case, so
/// one run names every input the server gets wrong. [`still_serving`] reports them.
fn soft(check: impl FnOnce()) {
    if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)) {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "a failed assertion".to_owned());
        FAILURES.with(|f| f.borrow_mut().push(message));
    }
}

/// POSTs raw bytes as application/json; see [`refused_bytes`].
fn refused_raw(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    bytes: &[u8],
    statuses: &[u16],
    pointers: &[&str],
) -> Resp {
    refused_bytes(
        app,
        path,
        token,
        "application/json",
        bytes,
        statuses,
        pointers,
    )
}

/// POSTs a JSON value; see [`refused_bytes`]. Exactly one status is expected.
fn refused_json(
    app: &TestApp,
    path: &str,
    token: &str,
    body: &Value,
    status: u16,
    pointers: &[&str],
) -> Resp {
    refused_raw(
        app,
        path,
        Some(token),
        body.to_string().as_bytes(),
        &[status],
        pointers,
    )
}

/// The server still answers, and still takes a good check-in; then every failed case of the
/// test is reported at once.
fn still_serving(setup: &Setup) {
    let failures = FAILURES.with(|f| std::mem::take(&mut *f.borrow_mut()));
    let health = setup.app.get("/healthz", None);
    assert_eq!(health.status, 200, "{}", health.text);
    let resp = setup.app.post(
        "/v1/records",
        Some(&setup.cadre.token),
        &check_in(A_CENTRE.0, A_CENTRE.1, 10.0),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Good bodies for each write route of the catalogue (as the root admin, except records).
fn good_person(username: &str) -> Value {
    json!({
        "username": username,
        "password": CADRE_PASSWORD,
        "display_name": "张三",
        "role": "cadre",
        "unit_code": VILLAGE_A,
    })
}

fn good_household() -> Value {
    json!({"unit_code": VILLAGE_A, "head_name": "测试户", "members": 3,
           "location": {"lon": A_CENTRE.0, "lat": A_CENTRE.1}})
}

fn good_assignment(person_id: &str) -> Value {
    json!({"person_id": person_id, "unit_code": VILLAGE_A, "role": "team_member",
           "valid_from": "2024-02-29"})
}

/// A new village under the test township with this geometry, east of B.
fn village_import(code: &str, geometry: Value) -> Value {
    collection(vec![feature(
        code,
        "新村",
        "village",
        Some(TOWNSHIP),
        geometry,
    )])
}

fn good_import() -> Value {
    village_import("990101009", rect(116.955, 34.20, 116.958, 34.22))
}

/// Sets the member at a JSON pointer, creating it in its parent object if absent.
fn set(body: &mut Value, pointer: &str, value: Value) {
    let (parent, member) = pointer.rsplit_once('/').expect("a pointer");
    let parent = if parent.is_empty() {
        body
    } else {
        body.pointer_mut(parent).expect(pointer)
    };
    match parent {
        Value::Object(map) => {
            map.insert(member.to_owned(), value);
        }
        Value::Array(items) => items[member.parse::<usize>().expect("an index")] = value,
        _ => panic!("{pointer}: no container"),
    }
}
