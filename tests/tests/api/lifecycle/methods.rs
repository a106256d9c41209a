//! How paths and methods outside the API are answered: a known path with a wrong method is a
//! 405 naming the right ones, an unknown path a 404; the console's page and assets are served
//! from the binary under a strict Content-Security-Policy.

use super::*;
use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::token_subject;
use fieldtrail_tests::{Backend, FullResp};

/// The methods of an `Allow` header, upper case.
fn allowed(resp: &FullResp) -> Vec<String> {
    let allow = resp
        .header("allow")
        .unwrap_or_else(|| panic!("no Allow header: {:?}", resp.headers));
    let mut methods: Vec<String> = allow
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty())
        .collect();
    methods.sort();
    methods
}

fn wrong_methods_are_405_with_allow(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let root_id = token_subject(&root);
    let before = app.ledger_size();
    let login = json!({"username": "root", "password": "root-password"}).to_string();
    // (method, path, body, the methods Allow must name)
    type Case<'a> = (&'a str, String, Option<&'a [u8]>, &'a [&'a str]);
    let cases: Vec<Case> = vec![
        ("DELETE", format!("/v1/people/{root_id}"), None, &["GET"]),
        (
            "PUT",
            "/v1/auth/login".into(),
            Some(login.as_bytes()),
            &["POST"],
        ),
        ("GET", "/v1/auth/login".into(), None, &["POST"]),
        ("GET", "/v1/records".into(), None, &["POST"]),
        (
            "DELETE",
            format!("/v1/units/{COUNTY}/policy"),
            None,
            &["GET", "PUT"],
        ),
        ("PATCH", "/v1/people".into(), Some(b"{}"), &["GET", "POST"]),
        ("POST", format!("/v1/units/{COUNTY}"), Some(b"{}"), &["GET"]),
    ];
    for (method, path, body, want) in cases {
        let resp = app.request(
            method,
            &path,
            Some(&root),
            body.map(|b| ("application/json", b)),
        );
        let problem = resp.resp.problem(405);
        assert!(problem["type"].is_string(), "{method} {path}");
        let got = allowed(&resp);
        for right in want {
            assert!(
                got.iter().any(|m| m.as_str() == *right),
                "{method} {path}: Allow {got:?} lacks {right}"
            );
        }
        assert!(
            !got.iter().any(|m| m.as_str() == method),
            "{method} {path}: Allow {got:?} lists the refused method"
        );
    }
    assert_eq!(app.ledger_size(), before, "nothing was written");
}

fn unknown_paths_are_404(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.root_token();
    let root_id = token_subject(&root);
    for (method, path) in [
        ("GET", "/v1/no-such-thing".to_owned()),
        ("POST", "/v1/no-such-thing".to_owned()),
        ("GET", format!("/v1/people/{root_id}/no-such-thing")),
        ("DELETE", "/v2/people".to_owned()),
    ] {
        let body = (method == "POST").then_some(("application/json", &b"{}"[..]));
        let resp = app.request(method, &path, Some(&root), body);
        assert_eq!(
            resp.resp.problem(404)["type"],
            "urn:fieldtrail:problem:route-not-found",
            "{method} {path}"
        );
    }
}

/// The values of `attr="…"` in an HTML text.
fn attribute_values(html: &str, attr: &str) -> Vec<String> {
    let needle = format!("{attr}=\"");
    html.match_indices(&needle)
        .filter_map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            rest.find('"').map(|end| rest[..end].to_owned())
        })
        .collect()
}

fn the_console_is_served(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let page = app.request("GET", "/", None, None);
    assert_eq!(page.resp.status, 200, "{}", page.resp.text);
    assert!(
        page.resp.content_type.starts_with("text/html"),
        "{}",
        page.resp.content_type
    );
    let csp = page
        .header("content-security-policy")
        .expect("a Content-Security-Policy")
        .to_owned();
    for directive in [
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "style-src 'self' 'unsafe-inline'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(directive), "{directive} not in {csp}");
    }
    assert!(!csp.contains("unsafe-eval"), "{csp}");

    // The page loads only its own scripts, from files; each one it names is served.
    let html = &page.resp.text;
    assert!(!html.contains("<script>"), "no inline script: {html}");
    let mut assets: Vec<String> = attribute_values(html, "src");
    assets.extend(attribute_values(html, "href"));
    for asset in assets.iter().filter(|a| a.starts_with("/assets/")) {
        let resp = app.request("GET", asset, None, None);
        assert_eq!(resp.resp.status, 200, "{asset}");
        let expected = match asset.rsplit('.').next() {
            Some("js") => "text/javascript",
            Some("css") => "text/css",
            Some("svg") => "image/svg+xml",
            Some("png") => "image/png",
            _ => "",
        };
        assert!(
            resp.resp.content_type.starts_with(expected),
            "{asset}: {}",
            resp.resp.content_type
        );
    }
    for src in attribute_values(html, "src") {
        assert!(!src.contains("://"), "no CDN: {src}");
    }

    for path in [
        "/assets/does-not-exist.js",
        "/assets/nothing/here.css",
        "/assets/%2e%2e/%2e%2e/Cargo.toml",
        "/assets/..%2f..%2fCargo.toml",
    ] {
        let resp = app.request("GET", path, None, None);
        assert_eq!(resp.resp.status, 404, "{path}: {}", resp.resp.text);
    }
}

both_backends!(
    wrong_methods_are_405_with_allow,
    unknown_paths_are_404,
    the_console_is_served,
);
