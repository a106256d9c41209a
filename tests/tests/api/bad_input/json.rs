//! JSON itself: malformed and truncated bodies, wrong types, duplicate keys, deep nesting,
//! invalid UTF-8, bodies over each route's limit, and Content-Types other than JSON.

use super::*;
use fieldtrail_tests::both_backends;

/// Every JSON write route of the catalogue with a good body and the token that may post it.
fn routes(s: &Setup) -> Vec<(&'static str, String, Value)> {
    vec![
        (
            "/v1/records",
            s.cadre.token.clone(),
            check_in(A_CENTRE.0, A_CENTRE.1, 10.0),
        ),
        ("/v1/people", s.root.clone(), good_person("new-person")),
        ("/v1/households", s.root.clone(), good_household()),
        (
            "/v1/assignments",
            s.root.clone(),
            good_assignment(&s.cadre.id),
        ),
        ("/v1/units/import", s.root.clone(), good_import()),
    ]
}

fn malformed_and_truncated_json_is_a_400(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    for (path, token, good) in routes(&s) {
        let text = good.to_string();
        let bytes = text.as_bytes();
        let mut cases: Vec<Vec<u8>> = vec![
            b"this is not json".to_vec(),
            b"".to_vec(),
            b" ".to_vec(),
            b"{".to_vec(),
            b"{\"a\": }".to_vec(),
            b"{'username': 'single quotes'}".to_vec(),
            b"{\"a\": 1,}".to_vec(),
            b"// a comment\n{}".to_vec(),
            b"{\"a\": 01}".to_vec(),
            b"{\"a\": \"unterminated}".to_vec(),
            b"{\"a\": \"tab\tinside\"}".to_vec(),
            b"{\"a\": \"\\x41\"}".to_vec(),
            format!("{text} trailing").into_bytes(),
            format!("{text}{text}").into_bytes(),
            format!("{text},").into_bytes(),
        ];
        // Truncated anywhere: after one byte, in the middle, one byte short.
        for cut in [1, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
            cases.push(bytes[..cut].to_vec());
        }
        for case in cases {
            refused_raw(&s.app, path, Some(&token), &case, &[400], &[]);
        }
    }
    still_serving(&s);
}

fn wrong_types_are_named(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    let with = |body: &Value, pointer: &str, value: Value| {
        let mut body = body.clone();
        set(&mut body, pointer, value);
        body
    };
    let record = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
    let person = good_person("typed");
    let household = good_household();
    let assignment = good_assignment(&s.cadre.id);
    let import = good_import();
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        ("/v1/records", "/kind", json!(1), "/kind"),
        (
            "/v1/records",
            "/captured_at",
            json!(1_700_000_000),
            "/captured_at",
        ),
        (
            "/v1/records",
            "/position",
            json!("116.91,34.21"),
            "/position",
        ),
        (
            "/v1/records",
            "/position",
            json!([116.91, 34.21]),
            "/position",
        ),
        ("/v1/records", "/position/lon", json!(true), "/position/lon"),
        (
            "/v1/records",
            "/position/accuracy_m",
            json!("10"),
            "/position/accuracy_m",
        ),
        ("/v1/records", "/device_id", json!(["phone"]), "/device_id"),
        ("/v1/records", "/id", json!({"uuid": "x"}), "/id"),
        ("/v1/people", "/username", json!(5), "/username"),
        ("/v1/people", "/password", json!(null), "/password"),
        (
            "/v1/people",
            "/display_name",
            json!({"zh": "张三"}),
            "/display_name",
        ),
        ("/v1/people", "/role", json!(["cadre"]), "/role"),
        ("/v1/households", "/members", json!("3"), "/members"),
        ("/v1/households", "/members", json!(2.5), "/members"),
        (
            "/v1/households",
            "/location",
            json!("116.91 34.21"),
            "/location",
        ),
        (
            "/v1/households",
            "/location/lat",
            json!("34.21"),
            "/location/lat",
        ),
        (
            "/v1/assignments",
            "/valid_from",
            json!(20_240_229),
            "/valid_from",
        ),
        ("/v1/assignments", "/person_id", json!(7), "/person_id"),
        ("/v1/units/import", "/features", json!("none"), "/features"),
        ("/v1/units/import", "/features", json!({}), "/features"),
        (
            "/v1/units/import",
            "/features/0/properties/code",
            json!(990_101_009),
            "/features/0/properties/code",
        ),
        (
            "/v1/units/import",
            "/features/0/properties/tolerance_m",
            json!("20"),
            "/features/0/properties/tolerance_m",
        ),
    ];
    for (path, at, value, pointer) in cases {
        let (token, good) = match path {
            "/v1/records" => (&s.cadre.token, &record),
            "/v1/people" => (&s.root, &person),
            "/v1/households" => (&s.root, &household),
            "/v1/assignments" => (&s.root, &assignment),
            _ => (&s.root, &import),
        };
        refused_json(&s.app, path, token, &with(good, at, value), 422, &[pointer]);
    }
    // Well-formed JSON that is not an object at all is a 422 at the root.
    for (path, token, _) in routes(&s) {
        for body in [json!([]), json!("x"), json!(null), json!(42), json!(true)] {
            refused_json(&s.app, path, &token, &body, 422, &[""]);
        }
    }
    still_serving(&s);
}

/// `{"a": 1, "a": 2}`: RFC 8259 leaves the meaning open, so a strict reader refuses it rather
/// than keep one of the values silently; the duplicated member is named.
fn duplicate_keys_are_refused_and_named(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    let duplicate = |good: &Value, member: &str, second: &str| -> Vec<u8> {
        let text = good.to_string();
        assert!(text.starts_with('{'));
        format!("{{\"{member}\":{second},{}", &text[1..]).into_bytes()
    };
    let record = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "/v1/records",
            "cadre",
            duplicate(&record, "kind", "\"check_out\""),
            "/kind",
        ),
        (
            "/v1/records",
            "cadre",
            duplicate(&record, "captured_at", "\"2020-01-01T00:00:00Z\""),
            "/captured_at",
        ),
        (
            "/v1/records",
            "cadre",
            {
                let mut r = record.clone();
                r["position"] = json!({});
                let text = r.to_string().replace(
                    "\"position\":{}",
                    &format!(
                        "\"position\":{{\"lat\":1.0,\"lon\":{},\"lat\":{},\"accuracy_m\":10.0}}",
                        A_CENTRE.0, A_CENTRE.1
                    ),
                );
                text.into_bytes()
            },
            "/position/lat",
        ),
        (
            "/v1/people",
            "root",
            duplicate(&good_person("dup-role"), "role", "\"admin\""),
            "/role",
        ),
        (
            "/v1/people",
            "root",
            duplicate(&good_person("dup-name"), "username", "\"other-name\""),
            "/username",
        ),
        (
            "/v1/households",
            "root",
            duplicate(&good_household(), "members", "99"),
            "/members",
        ),
        (
            "/v1/assignments",
            "root",
            duplicate(
                &good_assignment(&s.cadre.id),
                "valid_from",
                "\"2020-01-01\"",
            ),
            "/valid_from",
        ),
        (
            "/v1/units/import",
            "root",
            duplicate(&good_import(), "type", "\"GeometryCollection\""),
            "/type",
        ),
        (
            "/v1/units/import",
            "root",
            good_import()
                .to_string()
                .replace("\"code\":", "\"code\":\"990101010\",\"code\":")
                .into_bytes(),
            "/features/0/properties/code",
        ),
    ];
    for (path, who, bytes, pointer) in cases {
        let token = if who == "cadre" {
            &s.cadre.token
        } else {
            &s.root
        };
        refused_raw(&s.app, path, Some(token), &bytes, &[422], &[pointer]);
    }
    still_serving(&s);
}

fn deeply_nested_json_is_refused_quickly(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    for (path, token, good) in routes(&s) {
        for depth in [129, 1_000, 100_000, 400_000] {
            let open = "[".repeat(depth);
            let close = "]".repeat(depth);
            let mut cases = vec![
                // At the root, balanced and unbalanced.
                format!("{open}{close}").into_bytes(),
                open.clone().into_bytes(),
                format!("{}{}", "{\"a\":".repeat(depth / 5), "1").into_bytes(),
            ];
            // Inside a member, where the route reads a value of its own.
            let mut nested = good.clone();
            let member = match path {
                "/v1/records" => "note",
                "/v1/people" => "display_name",
                "/v1/households" => "head_name",
                "/v1/assignments" => "valid_to",
                _ => "features",
            };
            nested[member] = json!("NESTED");
            cases.push(
                nested
                    .to_string()
                    .replace("\"NESTED\"", &format!("{open}{close}"))
                    .into_bytes(),
            );
            for case in cases {
                let started = std::time::Instant::now();
                // A syntax-level refusal (recursion limit) or the member's type: never stored,
                // never a crash.
                let statuses: &[u16] = if case.len() > 1024 * 1024 && path != "/v1/units/import" {
                    &[413]
                } else {
                    &[400, 422]
                };
                refused_raw(&s.app, path, Some(&token), &case, statuses, &[]);
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(10),
                    "{path} depth {depth}: took {:?}",
                    started.elapsed()
                );
            }
        }
    }
    // GeoJSON coordinates are read as free JSON: deep nesting there is a syntax-level refusal.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let body = good_import().to_string();
    let at = body.find("\"coordinates\":").unwrap() + "\"coordinates\":".len();
    let end = at + body[at..].find("]]]").unwrap() + 3;
    let bytes = format!("{}{deep}{}", &body[..at], &body[end..]).into_bytes();
    refused_raw(
        &s.app,
        "/v1/units/import",
        Some(&s.root),
        &bytes,
        &[400, 422],
        &[],
    );
    still_serving(&s);
}

fn invalid_utf8_is_a_400(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    let bad: [&[u8]; 7] = [
        b"\xff\xfe",         // not UTF-8 at all
        b"\xc0\xaf",         // overlong encoding of '/'
        b"\xed\xa0\x80",     // an encoded surrogate (CESU-8)
        b"\xe5\xbc",         // a truncated sequence
        b"\x80",             // a lone continuation byte
        b"\xf4\x90\x80\x80", // beyond U+10FFFF
        b"\xfe",             // never valid
    ];
    for (path, token, good) in routes(&s) {
        let member = match path {
            "/v1/records" => "device_id",
            "/v1/people" => "display_name",
            "/v1/households" => "head_name",
            "/v1/assignments" => "role",
            _ => "type",
        };
        let mut marked = good.clone();
        marked[member] = json!("MARK");
        let text = marked.to_string();
        for bytes in bad {
            let mut case = Vec::new();
            let (head, tail) = text.split_once("MARK").unwrap();
            case.extend_from_slice(head.as_bytes());
            case.extend_from_slice(b"ab");
            case.extend_from_slice(bytes);
            case.extend_from_slice(tail.as_bytes());
            refused_raw(&s.app, path, Some(&token), &case, &[400], &[]);
            // In a member name too.
            let mut in_name = b"{\"".to_vec();
            in_name.extend_from_slice(bytes);
            in_name.extend_from_slice(b"\":1,");
            in_name.extend_from_slice(&text.as_bytes()[1..]);
            refused_raw(&s.app, path, Some(&token), &in_name, &[400], &[]);
        }
        // Escapes that name no character: a lone surrogate is not Unicode text.
        for escape in ["\\ud800", "\\udfff", "\\ud800\\u0041"] {
            let case = text.replace("MARK", &format!("ab{escape}"));
            refused_raw(&s.app, path, Some(&token), case.as_bytes(), &[400], &[]);
        }
    }
    still_serving(&s);
}

fn content_types_other_than_json_are_a_415(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    for (path, token, good) in routes(&s) {
        let bytes = good.to_string().into_bytes();
        for content_type in [
            "text/plain",
            "text/plain; charset=utf-8",
            "application/xml",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/csv",
            "application/octet-stream",
            "image/png",
            "application/jsonx",
        ] {
            refused_bytes(
                &s.app,
                path,
                Some(&token),
                content_type,
                &bytes,
                &[415],
                &[],
            );
        }
    }
    // JSON with parameters or in another case is still JSON.
    for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
        let resp = s.app.request(
            "POST",
            "/v1/records",
            Some(&s.cadre.token),
            Some((
                content_type,
                check_in(A_CENTRE.0, A_CENTRE.1, 10.0)
                    .to_string()
                    .as_bytes(),
            )),
        );
        assert_eq!(resp.resp.status, 201, "{content_type}: {}", resp.resp.text);
    }
    still_serving(&s);
}

/// A 413 may also arrive as a connection the server closed before reading the whole body.
fn over_the_limit(s: &Setup, path: &str, token: &str, bytes: &[u8]) {
    let before = stored(&s.app);
    let token = Some(token).filter(|t| !t.is_empty());
    match s.app.try_post_raw(path, token, bytes) {
        Ok(resp) => assert_refusal(
            &resp,
            &[413],
            &[],
            &format!("{path}: {} bytes", bytes.len()),
        ),
        Err(err) => eprintln!("{path}: the server closed the connection early: {err}"),
    }
    assert_eq!(stored(&s.app), before, "{path}: something was stored");
}

fn bodies_over_each_routes_limit_are_a_413(backend: Backend) {
    let Some(s) = setup(backend) else {
        return;
    };
    const MIB: usize = 1024 * 1024;
    let padded = |good: &Value, member: &str, total: usize| -> Vec<u8> {
        let mut body = good.clone();
        body[member] = json!("");
        let base = body.to_string().len();
        body[member] = json!("x".repeat(total.saturating_sub(base)));
        let bytes = body.to_string().into_bytes();
        assert_eq!(bytes.len(), total);
        bytes
    };
    let record = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
    let small_routes: Vec<(&str, &str, Value, &str)> = vec![
        ("/v1/records", &s.cadre.token, record, "note"),
        (
            "/v1/people",
            &s.root,
            good_person("big-person"),
            "display_name",
        ),
        ("/v1/households", &s.root, good_household(), "head_name"),
        (
            "/v1/assignments",
            &s.root,
            good_assignment(&s.cadre.id),
            "role",
        ),
        (
            "/v1/auth/login",
            "",
            json!({"username": "root", "password": "x"}),
            "password",
        ),
    ];
    for (path, token, good, member) in &small_routes {
        for total in [MIB + 1, MIB + 4096, 4 * MIB] {
            over_the_limit(&s, path, token, &padded(good, member, total));
        }
        // At the limit the body is read and judged on its content: a 422 for the long member.
        if *path != "/v1/auth/login" {
            let resp = refused_raw(
                &s.app,
                path,
                Some(*token),
                &padded(good, member, MIB),
                &[422],
                &[&format!("/{member}")],
            );
            assert_ne!(resp.status, 413);
        }
    }
    // The unit import takes 32 MiB; one byte more is a 413.
    let mut import = good_import();
    import["features"][0]["properties"]["description"] = json!("");
    let base = import.to_string().len();
    import["features"][0]["properties"]["description"] = json!("x".repeat(32 * MIB + 1 - base));
    let bytes = import.to_string().into_bytes();
    assert_eq!(bytes.len(), 32 * MIB + 1);
    over_the_limit(&s, "/v1/units/import", &s.root, &bytes);
    still_serving(&s);
}

both_backends!(
    malformed_and_truncated_json_is_a_400,
    wrong_types_are_named,
    duplicate_keys_are_refused_and_named,
    deeply_nested_json_is_refused_quickly,
    invalid_utf8_is_a_400,
    content_types_other_than_json_are_a_415,
    bodies_over_each_routes_limit_are_a_413,
);
