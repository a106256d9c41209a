//! Text: NUL and other control characters in names and identifiers, and strings over their
//! length limits.

use super::*;
use fieldtrail_tests::both_backends;

/// Control characters no name may hold: NUL, bell, escape (terminal sequences), DEL, the C1
/// range, line and paragraph separators, and line breaks inside a one-line name.
const CONTROLS: [&str; 10] = [
    "\u{0}",
    "\u{7}",
    "\u{1b}[31m",
    "\u{7f}",
    "\u{85}",
    "\u{9b}",
    "\u{2028}",
    "\n",
    "\r",
    "\t",
];

fn nul_and_control_characters_in_names_are_refused(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    for control in CONTROLS {
        let mut names = vec![format!("张{control}三"), format!("张三{control}x")];
        // Leading whitespace controls may be trimmed away like spaces; the others may not.
        if !control.trim().is_empty() {
            names.push(format!("{control}张三"));
        }
        for name in names {
            let mut person = good_person("ctl-person");
            person["display_name"] = json!(name);
            refused_json(
                &s.app,
                "/v1/people",
                &s.root,
                &person,
                422,
                &["/display_name"],
            );

            let mut household = good_household();
            household["head_name"] = json!(name);
            refused_json(
                &s.app,
                "/v1/households",
                &s.root,
                &household,
                422,
                &["/head_name"],
            );

            let mut import = good_import();
            import["features"][0]["properties"]["name"] = json!(name);
            refused_json(
                &s.app,
                "/v1/units/import",
                &s.root,
                &import,
                422,
                &["/features/0/properties/name"],
            );

            let mut record = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
            record["device_id"] = json!(format!("phone{control}1"));
            refused_json(
                &s.app,
                "/v1/records",
                &s.cadre.token,
                &record,
                422,
                &["/device_id"],
            );

            let mut person = good_person(&format!("ctl{control}user"));
            person["display_name"] = json!("张三");
            refused_json(&s.app, "/v1/people", &s.root, &person, 422, &["/username"]);
        }
    }
    // The escaped spelling of NUL is the same character.
    let person = good_person("nul-escaped")
        .to_string()
        .replace("张三", "张\\u0000三");
    refused_raw(
        &s.app,
        "/v1/people",
        Some(&s.root),
        person.as_bytes(),
        &[422],
        &["/display_name"],
    );
    still_serving(&s);
}

fn overlong_strings_are_named(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    let long = |n: usize| "长".repeat(n);
    let mut cases: Vec<(&str, Value, &str)> = Vec::new();
    for (member, value) in [
        ("display_name", json!(long(101))),
        ("display_name", json!(long(200_000))),
        ("username", json!("u".repeat(65))),
        ("password", json!("p".repeat(257))),
        ("phone", json!("1".repeat(21))),
        ("unit_code", json!("9".repeat(33))),
    ] {
        let mut body = good_person("long-person");
        body[member] = value;
        cases.push(("/v1/people", body, member));
    }
    for (member, value) in [("head_name", long(101)), ("unit_code", "9".repeat(33))] {
        let mut body = good_household();
        body[member] = json!(value);
        cases.push(("/v1/households", body, member));
    }
    for (path, body, member) in &cases {
        refused_json(&s.app, path, &s.root, body, 422, &[&format!("/{member}")]);
    }
    for (member, value) in [
        ("name", json!(long(201))),
        ("name", json!(long(300_000))),
        ("code", json!("9".repeat(33))),
    ] {
        let mut import = good_import();
        import["features"][0]["properties"][member] = value;
        refused_json(
            &s.app,
            "/v1/units/import",
            &s.root,
            &import,
            422,
            &[&format!("/features/0/properties/{member}")],
        );
    }
    for (member, value) in [
        ("note", long(2001)),
        ("device_id", "d".repeat(129)),
        ("device_id", long(129)),
    ] {
        let mut record = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
        record[member] = json!(value);
        refused_json(
            &s.app,
            "/v1/records",
            &s.cadre.token,
            &record,
            422,
            &[&format!("/{member}")],
        );
    }
    // Login with an overlong username or password is the ordinary 401 or a 422, never a 500.
    for body in [
        json!({"username": "u".repeat(100_000), "password": "x"}),
        json!({"username": "root", "password": "p".repeat(500_000)}),
    ] {
        let resp = s.app.post("/v1/auth/login", None, &body);
        assert!(
            resp.status == 401 || resp.status == 422,
            "{}: {}",
            resp.status,
            resp.text
        );
        resp.problem(resp.status);
    }
    still_serving(&s);
}

both_backends!(
    nul_and_control_characters_in_names_are_refused,
    overlong_strings_are_named,
);
