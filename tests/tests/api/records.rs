//! Records after submission: idempotent resends, reading one record, a person's history with
//! filters and cursor pagination, who may read what, and gap-free sequence numbers.

#![allow(clippy::unwrap_used)]

use fieldtrail_tests::both_backends;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, Resp, TestApp};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

fn ledger_size(app: &TestApp) -> i64 {
    app.sql_count("SELECT count(*) FROM ledger")
}

fn submit(app: &TestApp, token: &str, body: &Value) -> Resp {
    let resp = app.post("/v1/records", Some(token), body);
    assert_eq!(resp.status, 201, "{body} -> {}", resp.text);
    resp
}

/// The ledger numbers entries 1..=n with no gap.
fn assert_gap_free(app: &TestApp) {
    let count = ledger_size(app);
    assert_eq!(
        app.sql_count("SELECT COALESCE(max(seq), 0) FROM ledger"),
        count
    );
    assert_eq!(app.sql_count("SELECT COALESCE(min(seq), 1) FROM ledger"), 1);
    assert_eq!(
        app.sql_count("SELECT count(DISTINCT seq) FROM ledger"),
        count
    );
}

fn resending_the_same_record_returns_the_original_answer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let mut body = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
    body["note"] = json!("走访了三户");
    let first = submit(&app, &cadre.token, &body);
    let size = ledger_size(&app);
    assert_eq!(first.body["seq"], size);
    assert_eq!(first.body["id"], body["id"]);
    assert_eq!(first.body["leaf_hash"].as_str().unwrap().len(), 64);

    // Something else is appended in between; the resend still gets the original answer.
    submit(&app, &cadre.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    let size = ledger_size(&app);

    // Same content, also spelled differently: other key order, explicit default crs.
    let reordered = json!({
        "note": body["note"],
        "device_id": body["device_id"],
        "position": {"crs": "wgs84", "accuracy_m": 10.0, "lat": A_CENTRE.1, "lon": A_CENTRE.0},
        "captured_at": body["captured_at"],
        "kind": "check_in",
        "id": body["id"],
    });
    for resend in [&body, &body, &reordered] {
        let again = app.post("/v1/records", Some(&cadre.token), resend);
        assert_eq!(again.status, 200, "{}", again.text);
        assert_eq!(
            again.body, first.body,
            "a resend answers exactly as the first time"
        );
        assert_eq!(ledger_size(&app), size, "a resend appends nothing");
    }
    let id = body["id"].as_str().unwrap();
    assert_eq!(
        app.sql_count(&format!("SELECT count(*) FROM records WHERE id = '{id}'")),
        1
    );
    assert_gap_free(&app);
}

fn reusing_an_id_with_other_content_is_a_conflict(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let other = app.cadre_in_a(&admin, "cadre-b");
    let body = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
    let first = submit(&app, &cadre.token, &body);
    let size = ledger_size(&app);

    let changed = |edit: &dyn Fn(&mut Value)| {
        let mut b = body.clone();
        edit(&mut b);
        b
    };
    let variants = [
        changed(&|b| b["position"]["lat"] = json!(34.2101)),
        changed(&|b| b["position"]["accuracy_m"] = json!(11.0)),
        changed(&|b| b["kind"] = json!("check_out")),
        changed(&|b| b["device_id"] = json!("another-phone")),
        changed(&|b| b["note"] = json!("added later")),
        changed(&|b| {
            b["captured_at"] = json!(rfc3339(OffsetDateTime::now_utc() - Duration::hours(1)))
        }),
    ];
    for variant in &variants {
        let resp = app.post("/v1/records", Some(&cadre.token), variant);
        assert_eq!(
            resp.problem(409)["type"],
            "urn:fieldtrail:problem:conflict",
            "{variant}"
        );
        assert_eq!(ledger_size(&app), size);
    }
    // Another cadre may not take over the id, even with identical content.
    for variant in [&body, &variants[0]] {
        let resp = app.post("/v1/records", Some(&other.token), variant);
        resp.problem(409);
        assert_eq!(ledger_size(&app), size);
    }
    // The stored record is the first one, still owned by its cadre.
    let id = body["id"].as_str().unwrap();
    let got = app.get(&format!("/v1/records/{id}"), Some(&cadre.token));
    assert_eq!(got.status, 200);
    assert_eq!(got.body["seq"], first.body["seq"]);
    assert_eq!(got.body["person_id"], cadre.id.as_str());
    assert_eq!(got.body["position"]["lat"], A_CENTRE.1);
    assert_eq!(got.body["note"], Value::Null);
    // And the original still resends fine.
    assert_eq!(
        app.post("/v1/records", Some(&cadre.token), &body).status,
        200
    );
    assert_gap_free(&app);
}

fn reading_one_record(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let other = app.cadre_in_a(&admin, "cadre-a2");
    let resp = app.post(
        "/v1/units/import",
        Some(&admin),
        &collection(vec![feature(
            "990102",
            "邻镇",
            "township",
            Some(COUNTY),
            Value::Null,
        )]),
    );
    assert_eq!(resp.status, 201);
    for (username, role, unit) in [
        ("super-t", "supervisor", TOWNSHIP),
        ("super-a", "supervisor", VILLAGE_A),
        ("inspector-c", "inspector", COUNTY),
        ("super-b", "supervisor", VILLAGE_B),
        ("super-o", "supervisor", "990102"),
        ("admin-o", "admin", "990102"),
    ] {
        app.create_person(&admin, username, role, unit);
    }

    let mut body = check_in(116.9195, 34.21, 200.0);
    body["note"] = json!("村委会");
    body["device_id"] = json!("phone-7");
    let created = submit(&app, &cadre.token, &body);
    let id = body["id"].as_str().unwrap();
    let path = format!("/v1/records/{id}");

    let own = app.get(&path, Some(&cadre.token));
    assert_eq!(own.status, 200, "{}", own.text);
    let view = &own.body;
    assert_eq!(view["id"], id);
    assert_eq!(view["person_id"], cadre.id.as_str());
    assert_eq!(view["kind"], "check_in");
    assert_eq!(view["captured_at"], body["captured_at"]);
    assert_eq!(
        view["position"],
        json!({"lon": 116.9195, "lat": 34.21, "accuracy_m": 200.0, "crs": "wgs84", "mock": false,
               "wgs84": {"lon": 116.9195, "lat": 34.21}})
    );
    assert_eq!(view["device_id"], "phone-7");
    assert_eq!(view["note"], "村委会");
    assert_eq!(view["verdict"]["geo"], "boundary");
    assert_eq!(view["verdict"]["roster"], "assigned");
    assert_eq!(view["verdict"]["unit_code"], VILLAGE_A);
    // Everything the submission answered is in the view, unchanged.
    for (key, value) in created.body.as_object().unwrap() {
        assert_eq!(&view[key], value, "{key}");
    }

    for (username, status) in [
        ("super-t", 200),
        ("super-a", 200),
        ("inspector-c", 200),
        ("super-b", 403),
        ("super-o", 403),
        ("admin-o", 403),
    ] {
        let token = app.login(username, CADRE_PASSWORD);
        let resp = app.get(&path, Some(&token));
        assert_eq!(resp.status, status, "{username}: {}", resp.text);
        if status == 200 {
            assert_eq!(resp.body, own.body, "{username}");
        } else {
            assert_eq!(
                resp.problem(403)["type"],
                "urn:fieldtrail:problem:forbidden"
            );
            assert!(!resp.text.contains("村委会"), "{username}: {}", resp.text);
        }
    }
    assert_eq!(app.get(&path, Some(&admin)).status, 200);
    let refused = app.get(&path, Some(&other.token));
    refused.problem(403);
    assert!(!refused.text.contains("phone-7"));

    // Unknown ids, and ids that are not UUIDs, are 404 for everyone.
    let unknown = uuid::Uuid::new_v4();
    for token in [&cadre.token, &admin] {
        let resp = app.get(&format!("/v1/records/{unknown}"), Some(token));
        assert_eq!(
            resp.problem(404)["type"],
            "urn:fieldtrail:problem:not-found"
        );
        app.get("/v1/records/not-a-uuid", Some(token)).problem(404);
    }
    // A UUID in upper case names the same record.
    let upper = app.get(
        &format!("/v1/records/{}", id.to_uppercase()),
        Some(&cadre.token),
    );
    assert_eq!(upper.status, 200);
    assert_eq!(upper.body["seq"], created.body["seq"]);
}

fn history_path(person: &str, query: &str) -> String {
    if query.is_empty() {
        format!("/v1/people/{person}/records")
    } else {
        format!("/v1/people/{person}/records?{query}")
    }
}

fn ids_of(resp: &Resp) -> Vec<String> {
    resp.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

fn history_pages_walk_every_record_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let other = app.cadre_in_a(&admin, "cadre-b");
    let mut submitted = Vec::new();
    for i in 0..7 {
        // Interleave another cadre's records: they must not show up in this history.
        submit(&app, &other.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
        let mut body = check_in(A_CENTRE.0, A_CENTRE.1, 10.0 + f64::from(i));
        if i % 3 == 2 {
            body["kind"] = json!("check_out");
        }
        submit(&app, &cadre.token, &body);
        submitted.push(body["id"].as_str().unwrap().to_owned());
    }

    let all = app.get(&history_path(&cadre.id, ""), Some(&cadre.token));
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(ids_of(&all), submitted, "ledger order, only this cadre's");
    assert_eq!(all.body["next_cursor"], Value::Null);
    let seqs: Vec<i64> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let first = &all.body["items"][0];
    assert_eq!(first["person_id"], cadre.id.as_str());
    assert_eq!(first["position"]["accuracy_m"], 10.0);
    assert!(first["verdict"].is_object() && first["leaf_hash"].is_string());

    for limit in [1, 2, 3, 7, 1000] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let query = match &cursor {
                None => format!("limit={limit}"),
                Some(c) => format!("limit={limit}&cursor={c}"),
            };
            let page = app.get(&history_path(&cadre.id, &query), Some(&cadre.token));
            assert_eq!(page.status, 200, "{}", page.text);
            let ids = ids_of(&page);
            assert!(ids.len() <= limit, "limit {limit}: page of {}", ids.len());
            assert!(
                !ids.is_empty(),
                "limit {limit}: an empty page after a cursor"
            );
            seen.extend(ids);
            pages += 1;
            assert!(pages <= 8, "pagination does not end");
            match &page.body["next_cursor"] {
                Value::Null => break,
                Value::String(next) => cursor = Some(next.clone()),
                other => panic!("next_cursor {other}"),
            }
        }
        assert_eq!(seen, submitted, "limit {limit}");
        assert_eq!(pages, submitted.len().div_ceil(limit), "limit {limit}");
    }

    // Filters combine with pagination.
    let outs = app.get(
        &history_path(&cadre.id, "kind=check_out"),
        Some(&cadre.token),
    );
    assert_eq!(outs.status, 200, "{}", outs.text);
    assert_eq!(ids_of(&outs), [submitted[2].clone(), submitted[5].clone()]);
    assert!(outs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["kind"] == "check_out"));
    let page = app.get(
        &history_path(&cadre.id, "kind=check_out&limit=1"),
        Some(&cadre.token),
    );
    assert_eq!(ids_of(&page), [submitted[2].clone()]);
    let cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
    let page = app.get(
        &history_path(
            &cadre.id,
            &format!("kind=check_out&limit=1&cursor={cursor}"),
        ),
        Some(&cadre.token),
    );
    assert_eq!(ids_of(&page), [submitted[5].clone()]);
    assert_eq!(page.body["next_cursor"], Value::Null);
    let ins = app.get(
        &history_path(&cadre.id, "kind=check_in"),
        Some(&cadre.token),
    );
    assert_eq!(ids_of(&ins).len(), 5);

    // A cursor past the end gives an empty last page.
    let past = app.get(
        &history_path(&cadre.id, "cursor=999999"),
        Some(&cadre.token),
    );
    assert_eq!(past.status, 200);
    assert_eq!(past.body["items"], json!([]));
    assert_eq!(past.body["next_cursor"], Value::Null);

    // Someone with no records has an empty history.
    let quiet = app.cadre_in_a(&admin, "cadre-quiet");
    let none = app.get(&history_path(&quiet.id, ""), Some(&quiet.token));
    assert_eq!(none.body, json!({"items": [], "next_cursor": null}));
    assert_gap_free(&app);
}

fn history_filters_on_capture_time(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let at = |hours: i64| now - Duration::hours(hours);
    // Submitted out of capture order: offline phones sync late.
    let mut by_age = std::collections::BTreeMap::new();
    for hours in [3, 7, 5, 1] {
        let mut body = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
        body["captured_at"] = json!(rfc3339(at(hours)));
        submit(&app, &cadre.token, &body);
        by_age.insert(hours, body["id"].as_str().unwrap().to_owned());
    }
    let query = |q: &str| {
        let resp = app.get(&history_path(&cadre.id, q), Some(&cadre.token));
        assert_eq!(resp.status, 200, "{q}: {}", resp.text);
        let mut ids = ids_of(&resp);
        ids.sort();
        ids
    };
    let expect = |hours: &[i64]| {
        let mut ids: Vec<String> = hours.iter().map(|h| by_age[h].clone()).collect();
        ids.sort();
        ids
    };
    let t = |hours: i64| rfc3339(at(hours));
    let t_minus = |hours: i64, minutes: i64| rfc3339(at(hours) - Duration::minutes(minutes));

    assert_eq!(query(&format!("from={}", t_minus(4, 0))), expect(&[3, 1]));
    assert_eq!(query(&format!("to={}", t_minus(4, 0))), expect(&[7, 5]));
    assert_eq!(
        query(&format!("from={}&to={}", t_minus(6, 0), t_minus(2, 0))),
        expect(&[5, 3])
    );
    // Bounds are inclusive.
    assert_eq!(
        query(&format!("from={}&to={}", t(5), t(3))),
        expect(&[5, 3])
    );
    assert_eq!(query(&format!("from={}&to={}", t(5), t(5))), expect(&[5]));
    // An empty window and a reversed one find nothing.
    assert_eq!(
        query(&format!("from={}&to={}", t_minus(2, 0), t_minus(2, 30))),
        expect(&[])
    );
    assert_eq!(query(&format!("from={}&to={}", t(1), t(7))), expect(&[]));
    // Offsets are honoured: the same instant written in China time (+ encoded as %2B).
    let china = at(4)
        .to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
        .replace('+', "%2B");
    assert_eq!(query(&format!("from={china}")), expect(&[3, 1]));
    // Within the window the order is the ledger's, not the capture time's.
    let resp = app.get(&history_path(&cadre.id, ""), Some(&cadre.token));
    assert_eq!(
        ids_of(&resp),
        [
            by_age[&3].clone(),
            by_age[&7].clone(),
            by_age[&5].clone(),
            by_age[&1].clone()
        ]
    );
}

fn bad_history_queries_name_the_parameter(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    submit(&app, &cadre.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
    for (query, pointer) in [
        ("limit=0", "/limit"),
        ("limit=5000", "/limit"),
        ("limit=1001", "/limit"),
        ("limit=x", "/limit"),
        ("limit=-1", "/limit"),
        ("limit=", "/limit"),
        ("limit=1.5", "/limit"),
        ("cursor=abc", "/cursor"),
        ("cursor=-1", "/cursor"),
        ("cursor=", "/cursor"),
        ("kind=visit", "/kind"),
        ("from=yesterday", "/from"),
        ("to=2026-11-23", "/to"),
        ("from=2026-11-23T08:00:00", "/from"),
    ] {
        let resp = app.get(&history_path(&cadre.id, query), Some(&cadre.token));
        assert_eq!(
            resp.problem(422)["type"],
            "urn:fieldtrail:problem:validation",
            "{query}"
        );
        assert_eq!(resp.pointers(), [pointer], "{query}: {}", resp.text);
    }
    let resp = app.get(
        &history_path(&cadre.id, "limit=0&cursor=x&kind=visit&from=no&to=no"),
        Some(&cadre.token),
    );
    resp.problem(422);
    let mut pointers = resp.pointers();
    pointers.sort();
    assert_eq!(pointers, ["/cursor", "/from", "/kind", "/limit", "/to"]);
    // The largest page is allowed.
    let max = app.get(&history_path(&cadre.id, "limit=1000"), Some(&cadre.token));
    assert_eq!(max.status, 200);
}

/// Unknown or repeated query parameters are refused as malformed, as problem+json.
fn unknown_history_parameter_is_a_problem(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    for (query, named) in [("page=2", "page"), ("limit=1&limit=2", "limit")] {
        let resp = app.get(&history_path(&cadre.id, query), Some(&cadre.token));
        let problem = resp.problem(400);
        assert_eq!(
            problem["type"], "urn:fieldtrail:problem:malformed-request",
            "{query}"
        );
        assert!(
            problem["detail"].as_str().unwrap().contains(named),
            "{query}: {}",
            resp.text
        );
    }
}

fn who_reads_a_history(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let other = app.cadre_in_a(&admin, "cadre-a2");
    app.create_person(&admin, "super-t", "supervisor", TOWNSHIP);
    app.create_person(&admin, "super-b", "supervisor", VILLAGE_B);
    let mut body = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
    body["note"] = json!("secret-note");
    submit(&app, &cadre.token, &body);
    let path = history_path(&cadre.id, "");

    let refused = app.get(&path, Some(&other.token));
    assert_eq!(
        refused.problem(403)["type"],
        "urn:fieldtrail:problem:forbidden"
    );
    assert!(!refused.text.contains("secret-note"));
    let supervisor = app.login("super-t", CADRE_PASSWORD);
    let ok = app.get(&path, Some(&supervisor));
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.body["items"][0]["note"], "secret-note");
    let elsewhere = app.login("super-b", CADRE_PASSWORD);
    app.get(&path, Some(&elsewhere)).problem(403);
    assert_eq!(app.get(&path, Some(&admin)).status, 200);
    app.get(
        &history_path(&uuid::Uuid::new_v4().to_string(), ""),
        Some(&admin),
    )
    .problem(404);
}

fn sequence_numbers_stay_gap_free_through_failures(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    assert_gap_free(&app);
    let mut last_seq = ledger_size(&app);
    let body = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
    for round in 0..4 {
        // A success, then failures of every kind the writer sees, then another success.
        let fresh = submit(&app, &cadre.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
        assert_eq!(fresh.body["seq"], last_seq + 1, "round {round}");
        if round == 0 {
            submit(&app, &cadre.token, &body);
        } else {
            assert_eq!(
                app.post("/v1/records", Some(&cadre.token), &body).status,
                200
            );
        }
        let mut conflicting = body.clone();
        conflicting["note"] = json!(format!("changed {round}"));
        app.post("/v1/records", Some(&cadre.token), &conflicting)
            .problem(409);
        app.post(
            "/v1/people",
            Some(&admin),
            &json!({
                "username": "cadre-a", "password": CADRE_PASSWORD, "display_name": "dup",
                "role": "cadre", "unit_code": VILLAGE_A,
            }),
        )
        .problem(409);
        app.post(
            "/v1/assignments",
            Some(&admin),
            &json!({
                "person_id": cadre.id, "unit_code": TOWNSHIP, "role": "team_member",
                "valid_from": "2026-01-01",
            }),
        )
        .problem(422);
        app.post(
            "/v1/units/import",
            Some(&admin),
            &collection(vec![feature(
                VILLAGE_A,
                "重复",
                "village",
                Some(TOWNSHIP),
                Value::Null,
            )]),
        )
        .problem(422);
        let next = submit(&app, &cadre.token, &check_in(A_CENTRE.0, A_CENTRE.1, 10.0));
        let expected = if round == 0 {
            last_seq + 3
        } else {
            last_seq + 2
        };
        assert_eq!(next.body["seq"], expected, "round {round}");
        last_seq = expected;
        assert_gap_free(&app);
    }
    assert_eq!(ledger_size(&app), last_seq);
}

/// Phones retry aggressively: the same record sent many times at once is stored once, and
/// every copy gets the same answer; distinct records sent at once get distinct, gap-free seqs.
fn concurrent_submissions(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let before = ledger_size(&app);
    let body = check_in(A_CENTRE.0, A_CENTRE.1, 10.0);
    let answers: Vec<Resp> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| app.post("/v1/records", Some(&cadre.token), &body)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 201]);
    for answer in &answers {
        assert_eq!(answer.body, answers[0].body);
    }
    assert_eq!(ledger_size(&app), before + 1);

    let distinct: Vec<Resp> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    app.post(
                        "/v1/records",
                        Some(&cadre.token),
                        &check_in(A_CENTRE.0, A_CENTRE.1, 10.0),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut seqs: Vec<i64> = distinct
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.text);
            r.body["seq"].as_i64().unwrap()
        })
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, ((before + 2)..=(before + 9)).collect::<Vec<_>>());
    assert_gap_free(&app);
}

both_backends!(
    concurrent_submissions,
    resending_the_same_record_returns_the_original_answer,
    reusing_an_id_with_other_content_is_a_conflict,
    reading_one_record,
    history_pages_walk_every_record_once,
    history_filters_on_capture_time,
    bad_history_queries_name_the_parameter,
    unknown_history_parameter_is_a_problem,
    who_reads_a_history,
    sequence_numbers_stay_gap_free_through_failures,
);
