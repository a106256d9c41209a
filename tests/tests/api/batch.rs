//! Batch sync (docs/records.md, "Batch sync"): `POST /v1/records/batch` answers every item on
//! its own, in request order, processing items in captured_at order exactly as
//! `POST /v1/records` would; resending changes nothing.

use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::{county_offset, position, record, ymd};
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, Resp, TestApp};
use serde_json::{json, Value};
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

const BATCH: &str = "/v1/records/batch";

fn ledger_size(app: &TestApp) -> i64 {
    app.sql_count("SELECT COUNT(*) FROM ledger")
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

/// Posts a batch, asserting the request itself succeeded; the per-item results.
fn batch(app: &TestApp, token: &str, records: &[Value]) -> Vec<Value> {
    let resp = app.post(BATCH, Some(token), &json!({ "records": records }));
    assert_eq!(resp.status, 200, "{}", resp.text);
    let results = resp.body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {}", resp.text))
        .clone();
    assert_eq!(results.len(), records.len(), "one result per item");
    for (i, result) in results.iter().enumerate() {
        let status = result["status"]
            .as_u64()
            .unwrap_or_else(|| panic!("{result}"));
        if status == 200 || status == 201 {
            assert!(result["body"].is_object(), "item {i}: {result}");
            assert_eq!(result["body"]["id"], result["id"], "item {i}");
        } else {
            let problem = &result["problem"];
            assert!(problem.is_object(), "item {i}: {result}");
            for member in ["type", "title", "status", "detail"] {
                assert!(problem.get(member).is_some(), "item {i}: {result}");
            }
            assert_eq!(problem["status"], status, "item {i}");
        }
    }
    results
}

fn status(result: &Value) -> u64 {
    result["status"].as_u64().unwrap()
}

fn problem_pointers(result: &Value) -> Vec<String> {
    result["problem"]["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["pointer"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn instant(text: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(text.as_str().unwrap(), &Rfc3339).unwrap()
}

/// A small deterministic generator (xorshift64*), so a failing batch can be reproduced.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Record number `k` of a mixed batch, captured at `at`: five kinds in turn.
fn mixed_record(k: usize, at: OffsetDateTime, rng: &mut Rng, household: &str) -> Value {
    let captured = rfc3339(at);
    let fix = position(
        116.901 + 0.018 * rng.unit(),
        34.201 + 0.018 * rng.unit(),
        10.0 + (k % 40) as f64,
    );
    let date = ymd(at.to_offset(county_offset()).date());
    match k % 5 {
        0 => record(
            "check_in",
            json!({"captured_at": captured, "position": fix}),
        ),
        1 => record(
            "check_out",
            json!({"captured_at": captured, "position": fix, "note": format!("第{k}条")}),
        ),
        2 => record(
            "daily_log",
            json!({"captured_at": captured, "date": date, "text": format!("工作日志 {k}"),
                   "tasks": [{"title": "走访脱贫户", "status": "done"}], "position": fix}),
        ),
        3 => record(
            "household_visit",
            json!({"captured_at": captured, "household_id": household, "position": fix,
                   "purpose": "入户走访"}),
        ),
        _ => record(
            "leave_request",
            json!({"captured_at": captured, "from": date, "to": date, "reason": "事假"}),
        ),
    }
}

/// Acceptance item 2: 500 mixed records with duplicates, one conflicting resend, one malformed
/// item, one without an id and captured times out of order get the right per-item statuses,
/// and resending the whole batch changes nothing.
fn a_mixed_batch_answers_every_item(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let household = app.household(&admin, VILLAGE_A, A_CENTRE.0, A_CENTRE.1);
    let mut rng = Rng(0x5eed_f1e1_d7a1_0001_u64);
    let base = now() - Duration::hours(20);

    // 480 distinct records two minutes apart…
    let distinct: Vec<Value> = (0..480)
        .map(|k| {
            let at = base + Duration::minutes(2 * k as i64);
            mixed_record(k, at, &mut rng, &household)
        })
        .collect();
    let mut items = distinct.clone();
    // …17 identical copies (12 records sent twice, 5 of them three times)…
    let conflict_target = 250; // a check-in
    let mut duplicated = Vec::new();
    while duplicated.len() < 12 {
        let k = rng.below(distinct.len());
        if k != conflict_target && !duplicated.contains(&k) {
            duplicated.push(k);
        }
    }
    for &k in duplicated.iter().chain(&duplicated[..5]) {
        items.push(distinct[k].clone());
    }
    // …and one record's id reused with other content: captured 30 s later.
    let original = distinct[conflict_target].clone();
    let mut variant = original.clone();
    variant["captured_at"] = json!(rfc3339(
        instant(&original["captured_at"]) + Duration::seconds(30)
    ));
    items.push(variant.clone());
    // Shuffled: the times are out of order.
    for i in (1..items.len()).rev() {
        let j = rng.below(i + 1);
        items.swap(i, j);
    }
    // The variant is listed before the original, but captured after it: it is the conflict.
    let position_of =
        |items: &[Value], wanted: &Value| items.iter().position(|i| i == wanted).unwrap();
    let (v, o) = (
        position_of(&items, &variant),
        position_of(&items, &original),
    );
    if v > o {
        items.swap(v, o);
    }
    // One malformed item, and one without an id.
    let malformed_at = 137;
    let malformed = record(
        "check_in",
        json!({"captured_at": rfc3339(base + Duration::seconds(61)),
               "position": position(116.91, 95.0, 10.0)}),
    );
    items.insert(malformed_at, malformed);
    let no_id_at = 311;
    items.insert(
        no_id_at,
        record(
            "check_in",
            json!({"id": null, "captured_at": rfc3339(base + Duration::seconds(67)),
                   "position": position(116.91, 34.21, 10.0)}),
        ),
    );
    assert_eq!(items.len(), 500);
    let variant_at = position_of(&items, &variant);
    let original_at = position_of(&items, &original);
    assert!(variant_at < original_at);
    assert!(items[no_id_at].get("id").is_none());
    let times: Vec<OffsetDateTime> = items.iter().map(|i| instant(&i["captured_at"])).collect();
    assert!(
        times.windows(2).filter(|w| w[0] > w[1]).count() > 100,
        "the batch must be well out of capture order"
    );

    let before = ledger_size(&app);
    let results = batch(&app, &cadre.token, &items);

    // Results come in request order, each naming its item.
    for (i, (item, result)) in items.iter().zip(&results).enumerate() {
        if i == no_id_at {
            assert_eq!(result["id"], Value::Null, "{result}");
        } else {
            assert_eq!(result["id"], item["id"], "item {i}");
        }
    }
    let malformed_result = &results[malformed_at];
    assert_eq!(status(malformed_result), 422, "{malformed_result}");
    assert_eq!(
        problem_pointers(malformed_result),
        [format!("/records/{malformed_at}/position/lat")],
        "{malformed_result}"
    );
    let no_id_result = &results[no_id_at];
    assert!((400..500).contains(&status(no_id_result)), "{no_id_result}");
    assert_eq!(
        problem_pointers(no_id_result),
        [format!("/records/{no_id_at}/id")],
        "{no_id_result}"
    );
    assert_eq!(status(&results[variant_at]), 409, "{}", results[variant_at]);
    assert_eq!(
        results[variant_at]["problem"]["type"],
        "urn:fieldtrail:problem:conflict"
    );
    assert_eq!(
        status(&results[original_at]),
        201,
        "{}",
        results[original_at]
    );

    // Every id: exactly one 201, its identical copies 200 with the very same answer.
    let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if i != malformed_at && i != no_id_at && i != variant_at {
            by_id
                .entry(item["id"].as_str().unwrap().to_owned())
                .or_default()
                .push(i);
        }
    }
    assert_eq!(by_id.len(), 480);
    let mut copies = 0;
    for (id, at) in &by_id {
        let statuses: Vec<u64> = at.iter().map(|&i| status(&results[i])).collect();
        assert_eq!(
            statuses.iter().filter(|&&s| s == 201).count(),
            1,
            "{id}: {statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|&&s| s == 200).count(),
            at.len() - 1,
            "{id}: {statuses:?}"
        );
        // Identical copies share their captured_at; the first listed is the one stored.
        assert_eq!(statuses[0], 201, "{id}: {statuses:?}");
        copies += at.len() - 1;
        for &i in &at[1..] {
            assert_eq!(results[i]["body"], results[at[0]]["body"], "{id}");
        }
        let first = &results[at[0]]["body"];
        assert_eq!(first["kind"], items[at[0]]["kind"]);
        assert!(first["verdict"]["roster"].is_string(), "{first}");
    }
    assert_eq!(copies, 17);
    assert_eq!(
        ledger_size(&app),
        before + 480,
        "one entry per new record, none for the others"
    );

    // Processed in captured_at order: the new records' seqs follow their capture times.
    let mut created: Vec<(i64, OffsetDateTime)> = results
        .iter()
        .zip(&items)
        .filter(|(r, _)| status(r) == 201)
        .map(|(r, item)| {
            (
                r["body"]["seq"].as_i64().unwrap(),
                instant(&item["captured_at"]),
            )
        })
        .collect();
    created.sort();
    assert_eq!(created.len(), 480);
    assert!(
        created.windows(2).all(|w| w[0].1 < w[1].1),
        "seq order is capture order"
    );
    assert_eq!(created[0].0, before + 1);
    assert_eq!(created[479].0, before + 480);

    // A record of the batch reads back as stored.
    let id = original["id"].as_str().unwrap();
    let view = app.get(&format!("/v1/records/{id}"), Some(&cadre.token));
    assert_eq!(view.status, 200, "{}", view.text);
    assert_eq!(view.body["captured_at"], original["captured_at"]);
    assert_eq!(view.body["seq"], results[original_at]["body"]["seq"]);

    // Resending the whole batch changes nothing: 201s become 200 with the same answer.
    let again = batch(&app, &cadre.token, &items);
    for (i, (first, second)) in results.iter().zip(&again).enumerate() {
        assert_eq!(second["id"], first["id"], "item {i}");
        match status(first) {
            200 | 201 => {
                assert_eq!(status(second), 200, "item {i}: {second}");
                assert_eq!(second["body"], first["body"], "item {i}");
            }
            other => {
                assert_eq!(status(second), other, "item {i}: {second}");
                assert_eq!(
                    problem_pointers(second),
                    problem_pointers(first),
                    "item {i}"
                );
            }
        }
    }
    assert_eq!(
        ledger_size(&app),
        before + 480,
        "a resent batch appends nothing"
    );
}

fn batch_limits(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let base = now() - Duration::hours(2);
    let records: Vec<Value> = (0..501)
        .map(|k| {
            record(
                "check_in",
                json!({"captured_at": rfc3339(base + Duration::seconds(k)),
                       "position": position(116.91, 34.21, 10.0 + (k % 50) as f64)}),
            )
        })
        .collect();
    let before = ledger_size(&app);

    let resp = app.post(BATCH, Some(&cadre.token), &json!({ "records": records }));
    assert_eq!(
        resp.problem(413)["type"],
        "urn:fieldtrail:problem:payload-too-large"
    );
    assert_eq!(
        ledger_size(&app),
        before,
        "an oversized batch stores nothing"
    );
    let id = records[0]["id"].as_str().unwrap();
    app.get(&format!("/v1/records/{id}"), Some(&cadre.token))
        .problem(404);

    // Without a token nothing is stored.
    let small = json!({ "records": &records[..3] });
    app.post(BATCH, None, &small).problem(401);
    // A body that is not a batch at all.
    for body in [json!({"records": "x"}), json!({}), json!([])] {
        let resp = app.post(BATCH, Some(&cadre.token), &body);
        assert!(
            resp.status == 400 || resp.status == 422,
            "{body}: {}",
            resp.text
        );
        resp.problem(resp.status);
    }
    assert_eq!(ledger_size(&app), before);

    // 500 is allowed.
    let results = batch(&app, &cadre.token, &records[..500]);
    assert!(results.iter().all(|r| status(r) == 201));
    assert_eq!(ledger_size(&app), before + 500);
}

/// Items are processed in captured_at order, whatever order they are listed in: the speed flag
/// lands on the later fix, and a leave_return may come before the leave_request it ends.
fn items_are_processed_in_capture_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let t0 = now() - Duration::hours(3);

    // 30 km apart, 5 minutes apart, listed newest first.
    let earlier = record(
        "check_in",
        json!({"captured_at": rfc3339(t0), "position": position(A_CENTRE.0, A_CENTRE.1, 10.0)}),
    );
    let later = record(
        "check_in",
        json!({"captured_at": rfc3339(t0 + Duration::minutes(5)),
               "position": position(A_CENTRE.0, A_CENTRE.1 + 0.27, 10.0)}),
    );
    let results = batch(&app, &cadre.token, &[later.clone(), earlier.clone()]);
    assert_eq!(status(&results[0]), 201, "{}", results[0]);
    assert_eq!(status(&results[1]), 201, "{}", results[1]);
    let flags = |r: &Value| -> Vec<String> {
        r["body"]["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(flags(&results[1]), Vec::<String>::new(), "{}", results[1]);
    assert_eq!(flags(&results[0]), ["impossible_speed"], "{}", results[0]);
    assert!(
        results[1]["body"]["seq"].as_i64() < results[0]["body"]["seq"].as_i64(),
        "the earlier capture is appended first"
    );

    // The return from leave is listed first but captured after the request it refers to.
    let day = ymd((t0 - Duration::days(2)).to_offset(county_offset()).date());
    let leave = record(
        "leave_request",
        json!({"captured_at": rfc3339(t0 - Duration::days(3)), "from": day, "to": day,
               "reason": "家中有事"}),
    );
    let back = record(
        "leave_return",
        json!({"captured_at": rfc3339(t0 - Duration::days(1)), "leave_id": leave["id"]}),
    );
    let results = batch(&app, &cadre.token, &[back, leave]);
    assert_eq!(status(&results[1]), 201, "{}", results[1]);
    assert_eq!(status(&results[0]), 201, "{}", results[0]);
}

fn single_and_batch_submissions_are_one_idempotent_stream(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let t0 = now() - Duration::hours(1);
    let at = |minutes: i64| rfc3339(t0 + Duration::minutes(minutes));
    let first = record(
        "check_in",
        json!({"captured_at": at(0), "position": position(116.91, 34.21, 10.0)}),
    );
    let second = record(
        "daily_log",
        json!({"captured_at": at(5), "date": ymd(t0.to_offset(county_offset()).date()),
               "text": "整理台账"}),
    );

    // Sent alone, then in a batch: the batch answers 200 with the original answer.
    let alone: Resp = app.post("/v1/records", Some(&cadre.token), &first);
    assert_eq!(alone.status, 201, "{}", alone.text);
    let size = ledger_size(&app);
    let results = batch(&app, &cadre.token, &[second.clone(), first.clone()]);
    assert_eq!(status(&results[1]), 200, "{}", results[1]);
    assert_eq!(results[1]["body"], alone.body);
    assert_eq!(status(&results[0]), 201, "{}", results[0]);
    assert_eq!(ledger_size(&app), size + 1);

    // Sent in a batch, then alone: 200 with the batch's answer.
    let again = app.post("/v1/records", Some(&cadre.token), &second);
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body, results[0]["body"]);

    // The same id with other content is a conflict on either route.
    let mut changed = first.clone();
    changed["note"] = json!("补充说明");
    let results = batch(&app, &cadre.token, &[changed.clone()]);
    assert_eq!(status(&results[0]), 409, "{}", results[0]);
    app.post("/v1/records", Some(&cadre.token), &changed)
        .problem(409);
    // Another cadre may not take the id over in a batch either.
    assert_eq!(ledger_size(&app), size + 1);
    let other = app.cadre_in_a(&admin, "cadre-b");
    let size = ledger_size(&app);
    let results = batch(&app, &other.token, std::slice::from_ref(&first));
    assert_eq!(status(&results[0]), 409, "{}", results[0]);
    assert_eq!(ledger_size(&app), size);
}

both_backends!(
    a_mixed_batch_answers_every_item,
    batch_limits,
    items_are_processed_in_capture_order,
    single_and_batch_submissions_are_one_idempotent_stream,
);
