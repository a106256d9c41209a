//! The roster's life cycle: lists with filters and cursors, ending assignments and pairings,
//! deactivating people, passwords and sessions, roster import from CSV and XLSX, and how
//! unknown methods and the console's files are answered.

use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Resp, TestApp};
use serde_json::{json, Value};

mod accounts;
mod ending;
mod import;
mod lists;
mod methods;

/// Creates a person with a chosen display name; the person view.
fn person(
    app: &TestApp,
    admin: &str,
    username: &str,
    display_name: &str,
    role: &str,
    unit: &str,
) -> Value {
    let resp = app.post(
        "/v1/people",
        Some(admin),
        &json!({
            "username": username,
            "password": CADRE_PASSWORD,
            "display_name": display_name,
            "role": role,
            "unit_code": unit,
        }),
    );
    assert_eq!(resp.status, 201, "create {username}: {}", resp.text);
    resp.body
}

/// POST /v1/assignments as team member; the assignment view.
fn assignment(
    app: &TestApp,
    admin: &str,
    person_id: &str,
    village: &str,
    from: &str,
    to: Option<&str>,
) -> Value {
    let resp = app.post(
        "/v1/assignments",
        Some(admin),
        &json!({"person_id": person_id, "unit_code": village, "role": "team_member",
                "valid_from": from, "valid_to": to}),
    );
    assert_eq!(resp.status, 201, "assignment: {}", resp.text);
    resp.body
}

/// POST /v1/pairings; the pairing view.
fn pairing(
    app: &TestApp,
    admin: &str,
    person_id: &str,
    household_id: &str,
    from: &str,
    to: Option<&str>,
) -> Value {
    let resp = app.post(
        "/v1/pairings",
        Some(admin),
        &json!({"person_id": person_id, "household_id": household_id,
                "valid_from": from, "valid_to": to}),
    );
    assert_eq!(resp.status, 201, "pairing: {}", resp.text);
    resp.body
}

/// Percent-encodes a query value: cursors are opaque and may hold `+`, `/` or `=`.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Adds `key=value` to a path that may already have a query.
fn with_query(path: &str, key: &str, value: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{key}={}", encode(value))
}

/// GET `path` and asserts a 200 list answer `{items, next_cursor}`.
fn list_page(app: &TestApp, token: &str, path: &str) -> Resp {
    let resp = app.get(path, Some(token));
    assert_eq!(resp.status, 200, "GET {path}: {}", resp.text);
    assert!(resp.body["items"].is_array(), "{path}: {}", resp.text);
    resp
}

/// Every item of a paged list, following `next_cursor` with `limit` per page; asserts that
/// every page but the last is full and that the last says so with a null cursor.
fn all_pages(app: &TestApp, token: &str, path: &str, limit: usize) -> Vec<Value> {
    let first = with_query(path, "limit", &limit.to_string());
    let mut resp = list_page(app, token, &first);
    let mut items = Vec::new();
    for _ in 0..1000 {
        let page = resp.body["items"].as_array().unwrap().clone();
        assert!(page.len() <= limit, "{path}: page over the limit");
        let cursor = resp.body["next_cursor"].clone();
        items.extend(page.iter().cloned());
        match cursor {
            Value::Null => return items,
            Value::String(cursor) => {
                assert_eq!(page.len(), limit, "{path}: a short page before the end");
                resp = list_page(app, token, &with_query(&first, "cursor", &cursor));
            }
            other => panic!("{path}: next_cursor {other}"),
        }
    }
    panic!("{path}: the cursor never ends")
}

/// The `id`s of list items, in order.
fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|item| item["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// The ids of one page (no paging).
fn listed_ids(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let resp = list_page(app, token, path);
    ids(resp.body["items"].as_array().unwrap())
}
