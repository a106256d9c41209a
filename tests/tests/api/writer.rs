//! The group writer: a request is acknowledged only after its group has committed; a group that
//! cannot commit stores nothing; a group whose write fails is retried one by one so only the
//! bad request fails; concurrent requests share groups and keep sequence numbers gap-free.

use fieldtrail_storage::writer::{DUTY_DAYS, FIX_WINDOW};
use fieldtrail_tests::field::{captured_on, check_in_at, county_day, record, ymd};
use fieldtrail_tests::fixtures::{now_rfc3339, rfc3339, A_CENTRE, TOWNSHIP, VILLAGE_A};
use fieldtrail_tests::{both_backends, Backend, Resp, TestApp};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn check_ins(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let lon = A_CENTRE.0 + 0.0001 * i as f64;
            check_in_at(lon, A_CENTRE.1, 15.0, &now_rfc3339())
        })
        .collect()
}

/// Sends every body at once, each from its own thread, and returns the answers in order.
fn concurrently(app: &TestApp, token: &str, bodies: &[Value], path: &str) -> Vec<Resp> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = bodies
            .iter()
            .map(|body| scope.spawn(move || app.post(path, Some(token), body)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("request thread"))
            .collect()
    })
}

fn stored_counts(app: &TestApp) -> (i64, i64, i64, i64) {
    (
        app.sql_count("SELECT count(*) FROM ledger"),
        app.sql_count("SELECT count(*) FROM ledger_payloads"),
        app.sql_count("SELECT count(*) FROM merkle_nodes WHERE level = 0"),
        app.sql_count("SELECT count(*) FROM records"),
    )
}

/// Makes every commit that includes a new record fail at COMMIT itself, after all the group's
/// statements have succeeded: a deferred constraint that the inserted record breaks.
fn refuse_commits(app: &TestApp) {
    let statements: &[&str] = match app.backend {
        Backend::Sqlite => &[
            "CREATE TABLE test_guard_parent (id INTEGER PRIMARY KEY)",
            "CREATE TABLE test_guard (parent INTEGER REFERENCES test_guard_parent (id) \
             DEFERRABLE INITIALLY DEFERRED)",
            "CREATE TRIGGER test_guard_records AFTER INSERT ON records \
             BEGIN INSERT INTO test_guard (parent) VALUES (1); END",
        ],
        Backend::Postgres => &[
            "CREATE FUNCTION test_refuse_commit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'the test refuses this commit'; END $$",
            "CREATE CONSTRAINT TRIGGER test_guard_records AFTER INSERT ON records \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_refuse_commit()",
        ],
    };
    for statement in statements {
        app.sql(statement).expect(statement);
    }
}

fn allow_commits(app: &TestApp) {
    let statement = match app.backend {
        Backend::Sqlite => "DROP TRIGGER test_guard_records",
        Backend::Postgres => "DROP TRIGGER test_guard_records ON records",
    };
    app.sql(statement).expect(statement);
}

fn a_group_whose_commit_fails_answers_503_and_stores_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-commit");
    let before = stored_counts(&app);
    let size = before.0;
    refuse_commits(&app);

    let singles = check_ins(12);
    let batch = json!({"records": check_ins(5)});
    let mut answers = concurrently(&app, &cadre.token, &singles, "/v1/records");
    answers.extend(concurrently(
        &app,
        &cadre.token,
        std::slice::from_ref(&batch),
        "/v1/records/batch",
    ));
    for answer in &answers {
        let problem = answer.problem(503);
        assert_eq!(
            problem["type"], "urn:fieldtrail:problem:unavailable",
            "{}",
            answer.text
        );
        assert_eq!(answer.retry_after.as_deref(), Some("1"), "{}", answer.text);
    }
    assert_eq!(
        stored_counts(&app),
        before,
        "a refused commit stored something"
    );
    for body in &singles {
        let id = body["id"].as_str().unwrap();
        let resp = app.get(&format!("/v1/records/{id}"), Some(&cadre.token));
        assert_eq!(resp.status, 404, "{id} is readable: {}", resp.text);
    }

    // Once commits go through again, the same records are new (nothing of them was kept) and
    // take the next sequence numbers without a gap: the writer forgot the failed group.
    allow_commits(&app);
    let mut seqs = BTreeSet::new();
    for body in &singles {
        let resp = app.submit_ok(&cadre.token, body);
        seqs.insert(resp.body["seq"].as_i64().unwrap());
        // Had the failed group's fixes stayed in the writer's memory, these would be repeats.
        assert_eq!(resp.body["flags"], json!([]), "{}", resp.text);
    }
    let resp = app.post("/v1/records/batch", Some(&cadre.token), &batch);
    assert_eq!(resp.status, 200, "{}", resp.text);
    for item in resp.body["results"].as_array().unwrap() {
        assert_eq!(item["status"], 201, "{item}");
        seqs.insert(item["body"]["seq"].as_i64().unwrap());
    }
    let expected: BTreeSet<i64> = (size + 1..=size + 17).collect();
    assert_eq!(seqs, expected);
    assert_eq!(app.ledger_size(), size + 17);
}

fn a_failed_group_write_is_retried_one_by_one(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-retry");
    let size = app.ledger_size();
    let bodies = check_ins(3);
    // The database refuses the middle record's row, which the writer cannot foresee: the
    // group's insert into `records` fails, and with it the whole group's write.
    let bad = &bodies[1];
    let bad_id = bad["id"].as_str().unwrap();
    let refuse: Vec<String> = match backend {
        Backend::Sqlite => vec![format!(
            "CREATE TRIGGER test_refuse_one BEFORE INSERT ON records WHEN NEW.id = '{bad_id}' \
             BEGIN SELECT RAISE(ABORT, 'the test refuses this record'); END"
        )],
        Backend::Postgres => vec![
            format!(
                "CREATE FUNCTION test_refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN IF NEW.id = '{bad_id}' THEN RAISE EXCEPTION 'the test refuses this record'; \
                 END IF; RETURN NEW; END $$"
            ),
            "CREATE TRIGGER test_refuse_one BEFORE INSERT ON records \
             FOR EACH ROW EXECUTE FUNCTION test_refuse_one()"
                .to_owned(),
        ],
    };
    for statement in &refuse {
        app.sql(statement).expect(statement);
    }

    let resp = app.post(
        "/v1/records/batch",
        Some(&cadre.token),
        &json!({"records": bodies}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    let results = resp.body["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], 201, "{}", resp.text);
    assert_eq!(results[2]["status"], 201, "{}", resp.text);
    assert_eq!(results[1]["status"], 500, "{}", resp.text);
    assert_eq!(
        results[1]["problem"]["type"], "urn:fieldtrail:problem:internal",
        "{}",
        resp.text
    );
    // The good ones took consecutive numbers; the bad one left no trace and no gap.
    let mut seqs: Vec<i64> = [&results[0], &results[2]]
        .iter()
        .map(|r| r["body"]["seq"].as_i64().unwrap())
        .collect();
    seqs.sort();
    assert_eq!(seqs, [size + 1, size + 2]);
    assert_eq!(app.ledger_size(), size + 2);
    assert_eq!(
        app.get(&format!("/v1/records/{bad_id}"), Some(&cadre.token))
            .status,
        404
    );
    // And the writer carries on from there.
    let next = app.submit_ok(&cadre.token, &check_ins(1)[0]);
    assert_eq!(next.body["seq"], size + 3);
}

fn concurrent_records_share_groups_and_keep_seqs_gap_free(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadres: Vec<_> = (0..4)
        .map(|i| app.cadre_in_a(&admin, &format!("cadre-burst-{i}")))
        .collect();
    let size = app.ledger_size();
    let first = check_ins(1).remove(0);
    let stored_first = app.submit_ok(&cadres[0].token, &first);

    // Every cadre sends ten check-ins at once, and cadre 0 resends its first one in the burst.
    let bursts: Vec<Vec<Value>> = cadres.iter().map(|_| check_ins(10)).collect();
    let app = &app;
    let answers: Vec<(usize, Resp)> = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for (i, (cadre, bodies)) in cadres.iter().zip(&bursts).enumerate() {
            for body in bodies {
                handles.push((
                    i,
                    scope.spawn(move || app.post("/v1/records", Some(&cadre.token), body)),
                ));
            }
        }
        let token = &cadres[0].token;
        let resend = &first;
        handles.push((
            0,
            scope.spawn(move || app.post("/v1/records", Some(token), resend)),
        ));
        handles
            .into_iter()
            .map(|(i, h)| (i, h.join().expect("request thread")))
            .collect()
    });
    let mut seqs = BTreeSet::new();
    let mut resends = 0;
    for (_, answer) in &answers {
        match answer.status {
            201 => assert!(seqs.insert(answer.body["seq"].as_i64().unwrap())),
            200 => {
                resends += 1;
                assert_eq!(answer.body, stored_first.body, "a resend gets the original");
            }
            other => panic!("unexpected {other}: {}", answer.text),
        }
    }
    assert_eq!(resends, 1);
    let expected: BTreeSet<i64> = (size + 2..=size + 41).collect();
    assert_eq!(seqs, expected, "40 new records, numbered without a gap");
    // What each answer says is what is stored.
    for (i, answer) in answers.iter().filter(|(_, a)| a.status == 201) {
        let id = answer.body["id"].as_str().unwrap();
        let stored = app.read_record(&cadres[*i].token, id);
        assert_eq!(stored["seq"], answer.body["seq"]);
        assert_eq!(stored["leaf_hash"], answer.body["leaf_hash"]);
    }
    // Records of one cadre in one group see each other: the same fix sent twice in one burst
    // is a repetition whichever of the two came second.
    let twin = record(
        "check_in",
        json!({"position": {"lon": 116.9111, "lat": 34.2111, "accuracy_m": 9.0}}),
    );
    let mut other = twin.clone();
    other["id"] = json!(uuid::Uuid::new_v4().to_string());
    let pair = concurrently(app, &cadres[1].token, &[twin, other], "/v1/records");
    let flagged = pair
        .iter()
        .filter(|r| {
            r.body["flags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "repeated_fix")
        })
        .count();
    assert_eq!(
        flagged,
        1,
        "{:?}",
        pair.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
}

fn a_late_check_in_finds_a_duty_older_than_the_rota_in_memory(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-long-ago");
    let supervisor = app.supervisor(&admin, "super-long-ago", TOWNSHIP);
    // A day before the duty rota the writer keeps in memory: its duty is read from the database
    // by the group that needs it.
    let day = county_day(-(DUTY_DAYS + 5));
    let mut rota = record(
        "duty",
        json!({"person_id": cadre.id, "unit_code": VILLAGE_A, "date": ymd(day)}),
    );
    rota.as_object_mut().unwrap().remove("device_id");
    app.submit_ok(&supervisor, &rota);
    let late = check_in_at(A_CENTRE.0, A_CENTRE.1, 10.0, &captured_on(day));
    let resp = app.submit_ok(&cadre.token, &late);
    assert_eq!(resp.body["verdict"]["duty_id"], rota["id"], "{}", resp.text);
    // The day after had no duty.
    let next = check_in_at(
        A_CENTRE.0,
        A_CENTRE.1,
        10.0,
        &captured_on(day.next_day().unwrap()),
    );
    let resp = app.submit_ok(&cadre.token, &next);
    assert!(
        resp.body["verdict"].get("duty_id").is_none(),
        "{}",
        resp.text
    );
}

fn a_late_fix_is_judged_against_the_fix_before_it_beyond_the_window(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-many-fixes");
    // More fixes than the writer keeps per person, two minutes apart, a metre apart.
    let t0 = time::OffsetDateTime::now_utc() - time::Duration::hours(24);
    let count = FIX_WINDOW + 40;
    let records: Vec<Value> = (0..count)
        .map(|i| {
            let at = t0 + time::Duration::minutes(2 * i as i64);
            check_in_at(A_CENTRE.0 + 1e-5 * i as f64, A_CENTRE.1, 10.0, &rfc3339(at))
        })
        .collect();
    let resp = app.post(
        "/v1/records/batch",
        Some(&cadre.token),
        &json!({"records": records}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert!(resp.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == 201 && r["body"]["flags"] == json!([])));
    // A fix synced late, a minute after the 11th and 30 km away: the fix before it is one the
    // writer no longer holds in memory, and it is still the one the speed is measured from.
    let at = t0 + time::Duration::minutes(2 * 10 + 1);
    let far = check_in_at(A_CENTRE.0, A_CENTRE.1 + 0.27, 10.0, &rfc3339(at));
    let resp = app.submit_ok(&cadre.token, &far);
    assert_eq!(
        resp.body["flags"],
        json!(["impossible_speed"]),
        "{}",
        resp.text
    );
    // Back where the 11th was, a minute after the far one: impossible again, measured from it.
    let back_at = at + time::Duration::seconds(30);
    let back = check_in_at(A_CENTRE.0 + 1e-4, A_CENTRE.1, 10.0, &rfc3339(back_at));
    let resp = app.submit_ok(&cadre.token, &back);
    assert_eq!(
        resp.body["flags"],
        json!(["impossible_speed"]),
        "{}",
        resp.text
    );
}

/// A writer's own signing identity, for a second writer started beside the server's.
fn another_log() -> fieldtrail_storage::LogSigner {
    fieldtrail_storage::LogSigner {
        origin: "stop.example/log".into(),
        signer: fieldtrail_domain::note::NoteSigner::new(
            "stop.example/log",
            ed25519_dalek::SigningKey::from_bytes(&[2u8; 32]),
        )
        .unwrap(),
    }
}

/// `Writer::stop` answers only once the writing connection is closed, even while other handles
/// to the writer live on (as the server's background tasks hold them until the process exits),
/// and the writer refuses whatever comes after. On PostgreSQL the closed connection shows as
/// the writers' advisory lock being free at once: a new writer starts without waiting.
fn a_stopped_writer_has_closed_its_connection_and_refuses_what_follows(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let app = app.restart_after(|stopped| {
        let start = || {
            fieldtrail_storage::Writer::start(
                &stopped.database_url,
                another_log(),
                Default::default(),
            )
        };
        let writer = start().expect("a writer on the stopped server's database");
        let keeper = writer.clone();
        actix_web::rt::System::new().block_on(async {
            writer
                .checkpoint()
                .await
                .expect("a checkpoint before the stop");
            writer.stop().await;
            let refused = keeper
                .checkpoint()
                .await
                .expect_err("refused after the stop");
            assert!(refused.to_string().contains("stopped"), "{refused}");
            let next = start().expect("the next writer starts at once");
            next.checkpoint().await.expect("the next writer writes");
            next.stop().await;
        });
    });
    // The server's own writer, started after both stopped, takes writes again.
    let admin = app.with_county();
    assert!(!admin.is_empty());
}

both_backends!(
    a_late_fix_is_judged_against_the_fix_before_it_beyond_the_window,
    a_late_check_in_finds_a_duty_older_than_the_rota_in_memory,
    a_group_whose_commit_fails_answers_503_and_stores_nothing,
    a_failed_group_write_is_retried_one_by_one,
    concurrent_records_share_groups_and_keep_seqs_gap_free,
    a_stopped_writer_has_closed_its_connection_and_refuses_what_follows,
);
