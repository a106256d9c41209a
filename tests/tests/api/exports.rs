//! Streaming exports of a unit's records (docs/exports.md): NDJSON, CSV with a BOM and GeoJSON,
//! each record with its verdict, flags, seq and leaf index, within the caller's scope.

use crate::supervision::get_full;
use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::*;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

/// A check-in at a position, 12.5 m accuracy, captured `at`.
fn fix(lon: f64, lat: f64, at: OffsetDateTime) -> Value {
    check_in_at(lon, lat, 12.5, &rfc3339(at))
}

/// A county with two cadres' records: (app, admin, supervisor of A, the records as answered).
fn filled(backend: Backend) -> Option<(TestApp, String, String, Vec<Value>)> {
    let app = TestApp::spawn(backend)?;
    let admin = app.with_county();
    let sup_a = app.supervisor(&admin, "sup-a", VILLAGE_A);
    let a = app.cadre_in_a(&admin, "cadre-a");
    let b = app.cadre_since(&admin, "cadre-b", VILLAGE_B, county_day(-30));
    let t0 = OffsetDateTime::now_utc() - Duration::hours(5);
    let mut answers = Vec::new();
    for (token, body) in [
        (&a.token, fix(A_CENTRE.0, A_CENTRE.1, t0)),
        (
            &a.token,
            fix(B_CENTRE.0, B_CENTRE.1, t0 + Duration::hours(1)),
        ),
        (
            &a.token,
            record(
                "daily_log",
                json!({"captured_at": rfc3339(t0 + Duration::hours(2)), "date": ymd(county_today()), "text": "整理档案"}),
            ),
        ),
        (
            &b.token,
            fix(B_CENTRE.0, B_CENTRE.1, t0 + Duration::hours(3)),
        ),
    ] {
        let resp = app.submit_ok(token, &body);
        answers.push(resp.body);
    }
    Some((app, admin, sup_a, answers))
}

fn export(
    app: &TestApp,
    token: &str,
    query: &str,
) -> (u16, std::collections::BTreeMap<String, String>, Vec<u8>) {
    get_full(
        app,
        &format!("/v1/units/{TOWNSHIP}/records/export{query}"),
        token,
    )
}

fn ndjson_lines(bytes: &[u8]) -> Vec<Value> {
    std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn every_format_holds_each_record_with_its_seq_and_leaf(backend: Backend) {
    let Some((app, admin, _, answers)) = filled(backend) else {
        return;
    };
    let (status, headers, bytes) = export(&app, &admin, "?format=ndjson");
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/x-ndjson");
    // Streamed: no length up front.
    assert!(!headers.contains_key("content-length"), "{headers:?}");
    let lines = ndjson_lines(&bytes);
    assert_eq!(lines.len(), 4, "{lines:?}");
    for (line, answer) in lines.iter().zip(&answers) {
        assert_eq!(line["id"], answer["id"]);
        assert_eq!(line["seq"], answer["seq"]);
        assert_eq!(line["leaf_index"], answer["leaf_index"], "{line}");
        assert_eq!(line["verdict"], answer["verdict"], "{line}");
        assert_eq!(line["flags"], answer["flags"]);
    }
    assert_eq!(
        lines[0]["position"],
        json!({"lon": A_CENTRE.0, "lat": A_CENTRE.1, "accuracy_m": 12.5})
    );
    assert_eq!(lines[1]["verdict"]["geo"], "outside");
    assert_eq!(lines[2]["kind"], "daily_log");
    assert_eq!(lines[2]["position"], Value::Null);
    // The default format is NDJSON too.
    assert_eq!(export(&app, &admin, "").2, bytes);

    let (status, headers, bytes) = export(&app, &admin, "?format=csv");
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "a BOM");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let rows: Vec<Vec<&str>> = text
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(
        rows[0],
        [
            "id",
            "kind",
            "person_id",
            "seq",
            "leaf_index",
            "captured_at",
            "received_at",
            "unit_code",
            "actual_unit_code",
            "geo",
            "roster",
            "flags",
            "lon",
            "lat",
            "accuracy_m"
        ]
    );
    assert_eq!(rows.len(), 5);
    for (row, answer) in rows[1..].iter().zip(&answers) {
        assert_eq!(row[0], answer["id"].as_str().unwrap());
        assert_eq!(row[3], answer["seq"].to_string());
        assert_eq!(row[4], answer["leaf_index"].to_string());
    }
    assert_eq!(rows[1][9], "inside");
    assert_eq!(rows[1][14], "12.5");
    assert_eq!(rows[3][12], "", "a daily log without a position");

    let (status, headers, bytes) = export(&app, &admin, "?format=geojson");
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/geo+json");
    let collection: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(collection["type"], "FeatureCollection");
    let features = collection["features"].as_array().unwrap();
    assert_eq!(features.len(), 4);
    assert_eq!(
        features[0]["geometry"],
        json!({"type": "Point", "coordinates": [A_CENTRE.0, A_CENTRE.1]})
    );
    assert_eq!(features[0]["properties"]["accuracy_m"], 12.5);
    assert_eq!(features[2]["geometry"], Value::Null);
    assert_eq!(features[3]["properties"]["seq"], answers[3]["seq"]);
}

fn filters_and_scope_bound_the_export(backend: Backend) {
    let Some((app, admin, sup_a, answers)) = filled(backend) else {
        return;
    };
    // Village A's supervisor: only cadre A's records (cadre B belongs to village B).
    let (status, _, bytes) = get_full(
        &app,
        &format!("/v1/units/{VILLAGE_A}/records/export"),
        &sup_a,
    );
    assert_eq!(status, 200);
    let ids: Vec<Value> = ndjson_lines(&bytes)
        .iter()
        .map(|l| l["id"].clone())
        .collect();
    assert_eq!(
        ids,
        answers[..3]
            .iter()
            .map(|a| a["id"].clone())
            .collect::<Vec<_>>()
    );
    // … and not the township's.
    let (status, _, _) = export(&app, &sup_a, "");
    assert_eq!(status, 403);
    // A kind, and a range of county days that holds none.
    let lines = ndjson_lines(&export(&app, &admin, "?kind=daily_log").2);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["id"], answers[2]["id"]);
    let lines = ndjson_lines(&export(&app, &admin, "?from=2020-01-01&to=2020-01-31").2);
    assert!(lines.is_empty());
    let today = ymd(county_today());
    let tomorrow = ymd(county_day(1));
    let lines = ndjson_lines(&export(&app, &admin, &format!("?from={today}&to={tomorrow}")).2);
    assert!(lines.len() <= 4);
    // Bad queries are named.
    for (query, pointer) in [
        ("?format=xml", "/format"),
        ("?kind=selfie", "/kind"),
        ("?from=2026-02-30", "/from"),
        ("?from=2026-03-02&to=2026-03-01", "/to"),
    ] {
        let resp = app.get(
            &format!("/v1/units/{TOWNSHIP}/records/export{query}"),
            Some(&admin),
        );
        resp.problem(422);
        assert_eq!(resp.pointers(), [pointer], "{query}");
    }
    let cadre = app.login("cadre-a", CADRE_PASSWORD);
    app.get(
        &format!("/v1/units/{VILLAGE_A}/records/export"),
        Some(&cadre),
    )
    .problem(403);
}

/// More records than one page: the stream carries them all, in seq order, once.
/// `count` check-ins in village A from `t0`, `step_s` seconds apart, in batches of 500.
fn send_fixes(app: &TestApp, token: &str, t0: OffsetDateTime, count: i64, step_s: i64) {
    for chunk in (0..count).collect::<Vec<i64>>().chunks(500) {
        let records: Vec<Value> = chunk
            .iter()
            .map(|i| fix(A_CENTRE.0, A_CENTRE.1, t0 + Duration::seconds(*i * step_s)))
            .collect();
        let resp = app.post(
            "/v1/records/batch",
            Some(token),
            &json!({"records": records}),
        );
        assert_eq!(resp.status, 200, "{}", resp.text);
    }
}

fn an_export_larger_than_a_page_is_whole(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let t0 = OffsetDateTime::now_utc() - Duration::hours(30);
    let total = 2_345;
    send_fixes(&app, &cadre.token, t0, total, 30);
    let lines = ndjson_lines(&export(&app, &admin, "").2);
    assert_eq!(lines.len() as i64, total);
    let seqs: Vec<i64> = lines.iter().map(|l| l["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "in seq order, each once"
    );
}

both_backends!(
    every_format_holds_each_record_with_its_seq_and_leaf,
    filters_and_scope_bound_the_export,
    an_export_larger_than_a_page_is_whole
);

/// This process's resident memory, kB (the server runs in it).
fn rss_kb() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// A large export streams: read as it comes, the server's memory (this process's) grows by far
/// less than the document, so the server never holds the whole result.
fn a_large_export_streams_in_bounded_memory(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadres: Vec<_> = (0..3)
        .map(|i| app.cadre_in_a(&admin, &format!("cadre-{i}")))
        .collect();
    let t0 = OffsetDateTime::now_utc() - Duration::days(20);
    let per_cadre: i64 = 12_000;
    for cadre in &cadres {
        send_fixes(&app, &cadre.token, t0, per_cadre, 100);
    }
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    // A one-day export first pays what any export costs once (a pooled connection, its page
    // cache, the threads' allocator arenas), so that what is measured after is what grows with
    // the document. It is a fourteenth of it: too small to hide a server holding the whole.
    let day = (t0 + Duration::days(10))
        .to_offset(time::macros::offset!(+8))
        .date();
    let (status, _, warm_up) = export(&app, &admin, &format!("?from={day}&to={day}"));
    assert_eq!(status, 200);
    assert!(!warm_up.is_empty());
    let baseline = rss_kb();
    let mut response = agent
        .get(app.url(&format!("/v1/units/{TOWNSHIP}/records/export")))
        .header("Authorization", format!("Bearer {admin}"))
        .call()
        .expect("HTTP request");
    assert_eq!(response.status().as_u16(), 200);
    let mut reader = response.body_mut().as_reader();
    let (mut bytes, mut lines, mut peak) = (0usize, 0usize, baseline);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = std::io::Read::read(&mut reader, &mut buf).expect("read the export");
        if n == 0 {
            break;
        }
        bytes += n;
        lines += buf[..n].iter().filter(|b| **b == b'\n').count();
        peak = peak.max(rss_kb());
    }
    let total = per_cadre as usize * cadres.len();
    assert_eq!(lines, total);
    let grew_kb = peak - baseline;
    eprintln!(
        "export: {total} records, {} MB, memory grew {} kB",
        bytes / 1_000_000,
        grew_kb
    );
    assert!(
        grew_kb * 1024 < (bytes as i64) / 3,
        "memory grew {grew_kb} kB for a {bytes}-byte export"
    );
}

both_backends!(a_large_export_streams_in_bounded_memory);
