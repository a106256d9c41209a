//! openapi.yaml and the routes the app serves must list the same (method, path) pairs.

use fieldtrail_api::routes::{route_table, RouteInfo};
use std::collections::BTreeSet;

const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

fn openapi_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    std::fs::read_to_string(path).expect("openapi.yaml at the repository root")
}

/// Paths are the two-space-indented keys under `paths:`, methods the four-space keys below.
fn documented_routes(text: &str) -> BTreeSet<RouteInfo> {
    let mut routes = BTreeSet::new();
    let mut in_paths = false;
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 0 {
            in_paths = line.trim_end() == "paths:";
            current = None;
            continue;
        }
        if !in_paths {
            continue;
        }
        let key = line
            .trim()
            .trim_end_matches(':')
            .trim_matches(|c| c == '"' || c == '\'');
        if indent == 2 && line.trim_end().ends_with(':') {
            current = Some(key.to_owned());
        } else if indent == 4 && METHODS.contains(&key) {
            if let Some(path) = &current {
                routes.insert(RouteInfo {
                    method: key.to_owned(),
                    path: path.clone(),
                });
            }
        }
    }
    routes
}

#[test]
fn openapi_lists_exactly_the_served_routes() {
    let served: BTreeSet<RouteInfo> = route_table().into_iter().collect();
    let documented = documented_routes(&openapi_text());
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in openapi.yaml: {undocumented:?}"
    );
    assert!(
        phantom.is_empty(),
        "in openapi.yaml but not served: {phantom:?}"
    );
}

#[test]
fn openapi_is_3_1_and_every_schema_reference_resolves() {
    let text = openapi_text();
    assert!(text
        .lines()
        .any(|l| l.trim() == "openapi: 3.1.0" || l.trim() == "openapi: \"3.1.0\""));
    let defined: BTreeSet<String> = text
        .lines()
        .skip_while(|l| l.trim_end() != "  schemas:")
        .skip(1)
        .take_while(|l| l.trim().is_empty() || l.starts_with("    "))
        .filter(|l| l.len() - l.trim_start().len() == 4 && l.trim_end().ends_with(':'))
        .map(|l| l.trim().trim_end_matches(':').to_owned())
        .collect();
    assert!(!defined.is_empty(), "no components/schemas found");
    for line in text.lines() {
        if let Some((_, target)) = line.split_once("#/components/schemas/") {
            let name = target.trim_end_matches(['\'', '"', ' ']);
            assert!(defined.contains(name), "unresolved schema reference {name}");
        }
    }
}

#[test]
fn the_parser_sees_a_missing_route() {
    let doc = "openapi: 3.1.0\npaths:\n  /healthz:\n    get:\n      summary: x\n  /v1/a/{id}:\n    post:\n      summary: y\ncomponents:\n  schemas:\n    X:\n      type: object\n";
    let routes = documented_routes(doc);
    assert_eq!(routes.len(), 2);
    assert!(routes.contains(&RouteInfo {
        method: "post".into(),
        path: "/v1/a/{id}".into()
    }));
}
