//! Challenges: every outcome of an answer, missed deadlines (also after a restart), the
//! nonce and freshness of answers, the monthly cap and quiet hours.

use super::*;
use fieldtrail_tests::both_backends;

fn outside_leave_trip_and_poor_fixes_give_their_outcomes(backend: Backend) {
    let Some(Org {
        app,
        root,
        supervisor,
        cadre,
    }) = org(backend)
    else {
        return;
    };
    // Each draw raises the cap's count, so allow more than the default two this month.
    let resp = app.put(
        &format!("/v1/units/{COUNTY}/policy"),
        Some(&root),
        &json!({"max_challenges_per_month": 10}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);

    draw_cadres(&app, &supervisor, VILLAGE_A, 1);
    let absent = answer(&app, &cadre, pos(FARMLAND.0, FARMLAND.1, 10.0));
    assert_eq!(absent["outcome"], "absent", "{absent}");
    let raised = alerts(&app, &supervisor, "?status=open");
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0]["kind"], "spot_check.absent");
    assert_eq!(raised[0]["source_id"], absent["outcome_id"]);
    assert_eq!(raised[0]["person_id"], json!(cadre.id));

    draw_cadres(&app, &supervisor, VILLAGE_A, 1);
    let poor = answer(&app, &cadre, pos(A_CENTRE.0, A_CENTRE.1, 2000.0));
    assert_eq!(poor["outcome"], "unverifiable", "{poor}");
    assert!(poor["result"]["flags"]
        .as_array()
        .unwrap()
        .contains(&json!("low_accuracy")));

    // A mocked fix inside the village is present, and flagged for review.
    draw_cadres(&app, &supervisor, VILLAGE_A, 1);
    let mut mocked = pos(A_CENTRE.0, A_CENTRE.1, 10.0);
    mocked["mock"] = json!(true);
    let mocked = answer(&app, &cadre, mocked);
    assert_eq!(mocked["outcome"], "present");
    assert!(mocked["result"]["flags"]
        .as_array()
        .unwrap()
        .contains(&json!("mock_location")));

    let today = ymd(app.clock.now().to_offset(county()).date());
    let leave = record_now(
        &app,
        "leave_request",
        json!({"from": today, "to": today, "reason": "看病"}),
    );
    let leave_id = leave["id"].as_str().unwrap().to_owned();
    assert_eq!(app.submit(&cadre.token, &leave).status, 201);
    let decided = app.post(
        &format!("/v1/leave/{leave_id}/decision"),
        Some(&supervisor),
        &json!({"decision": "approved"}),
    );
    assert_eq!(decided.status, 201, "{}", decided.text);
    draw_cadres(&app, &supervisor, VILLAGE_A, 1);
    let on_leave = answer(&app, &cadre, pos(FARMLAND.0, FARMLAND.1, 10.0));
    assert_eq!(on_leave["outcome"], "on_leave", "{on_leave}");
    // In the village on a leave day is presence all the same.
    draw_cadres(&app, &supervisor, VILLAGE_A, 1);
    let back = answer(&app, &cadre, pos(A_CENTRE.0, A_CENTRE.1, 10.0));
    assert_eq!(back["outcome"], "present");

    let other = app.cadre_in_a(&root, "cadre_trip");
    let trip = record_now(
        &app,
        "official_trip",
        json!({"from": today, "to": today, "destination": "县城", "purpose": "培训"}),
    );
    let trip_id = trip["id"].as_str().unwrap().to_owned();
    assert_eq!(app.submit(&other.token, &trip).status, 201);
    let decided = app.post(
        &format!("/v1/trips/{trip_id}/decision"),
        Some(&supervisor),
        &json!({"decision": "approved"}),
    );
    assert_eq!(decided.status, 201, "{}", decided.text);
    let drawn = draw(
        &app,
        &supervisor,
        json!({"unit_code": VILLAGE_A, "population": "cadres", "size": 2}),
    );
    assert_eq!(drawn["sample"].as_array().unwrap().len(), 2);
    let on_trip = answer(&app, &other, pos(FARMLAND.0, FARMLAND.1, 10.0));
    assert_eq!(on_trip["outcome"], "on_trip", "{on_trip}");
    // Only the absent result raised an alert; the rest are not anomalies.
    assert_eq!(alerts(&app, &supervisor, "").len(), 1);
}

fn a_deadline_passing_unanswered_is_missed_and_a_late_answer_is_late(backend: Backend) {
    let Some(Org {
        app,
        supervisor,
        cadre,
        ..
    }) = org(backend)
    else {
        return;
    };
    let drawn = draw_cadres(&app, &supervisor, VILLAGE_A, 1);
    let open = my_challenges(&app, &cadre.token);
    // No request arrives: the server decides once the deadline has passed.
    app.clock.advance(Duration::minutes(31));
    let missed = wait_for_status(&app, &supervisor, &drawn["id"], "missed");
    assert!(missed["outcome_id"].is_string());
    let outcome = app.read_record(&supervisor, missed["outcome_id"].as_str().unwrap());
    assert_eq!(outcome["verdict"]["outcome"], "missed");
    // Still listed for the cadre, who may answer it late.
    let listed = my_challenges(&app, &cadre.token);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "missed");
    assert_eq!(listed[0]["nonce"], open[0]["nonce"]);
    let raised = alerts(&app, &supervisor, "");
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0]["kind"], "spot_check.missed");

    // The fix still counts as evidence, answered late.
    let at = app.clock.now();
    let resp = respond(
        &app,
        &cadre.token,
        &open[0],
        &response_body(&open[0], at, pos(A_CENTRE.0, A_CENTRE.1, 10.0)),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(resp.body["outcome"], "late");
    let followed = get_draw(&app, &supervisor, &drawn["id"]);
    assert_eq!(followed["challenges"][0]["status"], "late");
    assert!(my_challenges(&app, &cadre.token).is_empty());
    // A week after the deadline a missed challenge is no longer listed.
    let later = draw_cadres(&app, &supervisor, VILLAGE_A, 1);
    app.clock.advance(Duration::minutes(31));
    wait_for_status(&app, &supervisor, &later["id"], "missed");
    assert_eq!(my_challenges(&app, &cadre.token).len(), 1);
    app.clock.advance(Duration::days(8));
    assert!(my_challenges(&app, &cadre.token).is_empty());
    // Final now: a second answer is a conflict.
    let again = respond(
        &app,
        &cadre.token,
        &open[0],
        &response_body(&open[0], at, pos(A_CENTRE.0, A_CENTRE.1, 10.0)),
    );
    again.problem(409);
}

fn a_missed_deadline_is_decided_after_a_restart_too(backend: Backend) {
    let Some(Org {
        app,
        supervisor,
        cadre,
        ..
    }) = org(backend)
    else {
        return;
    };
    let drawn = draw_cadres(&app, &supervisor, VILLAGE_A, 1);
    assert_eq!(my_challenges(&app, &cadre.token).len(), 1);
    let app = app.restart();
    app.clock.advance(Duration::minutes(45));
    let supervisor = app.login("sup_town", CADRE_PASSWORD);
    wait_for_status(&app, &supervisor, &drawn["id"], "missed");
}

fn answers_must_carry_the_nonce_a_fresh_fix_and_come_from_the_cadre(backend: Backend) {
    let Some(Org {
        app,
        root,
        supervisor,
        cadre,
    }) = org(backend)
    else {
        return;
    };
    let other = app.cadre_in_a(&root, "cadre_other");
    let drawn = draw(
        &app,
        &supervisor,
        json!({"unit_code": VILLAGE_A, "population": "cadres", "size": 1}),
    );
    let chosen = drawn["sample"][0].as_str().unwrap().to_owned();
    let (chosen_cadre, bystander) = if chosen == cadre.id {
        (&cadre, &other)
    } else {
        (&other, &cadre)
    };
    // A cadre sees only their own challenges.
    assert!(my_challenges(&app, &bystander.token).is_empty());
    let open = my_challenges(&app, &chosen_cadre.token);
    assert_eq!(open.len(), 1);
    let issued = OffsetDateTime::parse(
        open[0]["issued_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let ledger_before = app.ledger_size();
    let good = response_body(
        &open[0],
        issued + Duration::seconds(30),
        pos(A_CENTRE.0, A_CENTRE.1, 10.0),
    );

    let mut wrong_nonce = good.clone();
    wrong_nonce["nonce"] = json!("0".repeat(32));
    let resp = respond(&app, &chosen_cadre.token, &open[0], &wrong_nonce);
    resp.problem(422);
    assert_eq!(resp.pointers(), ["/nonce"]);

    let stale = response_body(
        &open[0],
        issued - Duration::minutes(5),
        pos(A_CENTRE.0, A_CENTRE.1, 10.0),
    );
    let resp = respond(&app, &chosen_cadre.token, &open[0], &stale);
    resp.problem(422);
    assert_eq!(resp.pointers(), ["/captured_at"]);

    let mut bad_position = good.clone();
    bad_position["position"]["lat"] = json!(123.0);
    let resp = respond(&app, &chosen_cadre.token, &open[0], &bad_position);
    resp.problem(422);
    assert_eq!(resp.pointers(), ["/position/lat"]);

    // Someone else's challenge does not exist for them.
    respond(&app, &bystander.token, &open[0], &good).problem(404);
    // Nor can a supervisor answer in the cadre's place.
    respond(&app, &supervisor, &open[0], &good).problem(403);
    assert_eq!(
        app.ledger_size(),
        ledger_before,
        "nothing stored by refused answers"
    );

    assert_eq!(
        respond(&app, &chosen_cadre.token, &open[0], &good).status,
        201
    );
    respond(&app, &chosen_cadre.token, &open[0], &good).problem(409);
}

fn a_cadre_is_challenged_at_most_the_monthly_cap(backend: Backend) {
    let Some(Org {
        app,
        root,
        supervisor,
        cadre,
    }) = org(backend)
    else {
        return;
    };
    let resp = app.put(
        &format!("/v1/units/{VILLAGE_A}/policy"),
        Some(&root),
        &json!({"max_challenges_per_month": 1, "challenge_minutes": 5}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    let first = draw_cadres(&app, &supervisor, VILLAGE_A, 1);
    let challenge = &first["challenges"][0];
    let issued = OffsetDateTime::parse(
        challenge["issued_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let deadline = OffsetDateTime::parse(
        challenge["deadline"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(deadline - issued, Duration::minutes(5));
    answer(&app, &cadre, pos(A_CENTRE.0, A_CENTRE.1, 10.0));
    let second = draw_cadres(&app, &supervisor, VILLAGE_A, 1);
    // Still in the population, but passed over: this month's challenge was had.
    assert_eq!(second["members"], json!([cadre.id]));
    assert_eq!(second["passed_over"][0]["id"], json!(cadre.id));
    assert_eq!(
        second["passed_over"][0]["reason"],
        "max_challenges_per_month"
    );
    assert_eq!(second["sample"], json!([]));
    assert_eq!(second["challenges"], json!([]));
    assert!(my_challenges(&app, &cadre.token).is_empty());
    // The draw entry says so too.
    let drawn = get_draw(&app, &supervisor, &second["id"]);
    let payload: Value = {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(drawn["evidence"]["draw_entry"]["payload"].as_str().unwrap())
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    assert_eq!(payload["passed_over"], second["passed_over"]);
    assert_eq!(payload["members"], second["members"]);

    // Next month the cap starts again.
    let county_now = app.clock.now().to_offset(county());
    let next_month = time::Date::from_calendar_date(
        county_now.year() + i32::from(county_now.month() == time::Month::December),
        county_now.month().next(),
        1,
    )
    .unwrap()
    .with_time(time::Time::from_hms(10, 0, 0).unwrap())
    .assume_offset(county());
    app.clock.set(next_month);
    let third = draw_cadres(&app, &supervisor, VILLAGE_A, 1);
    assert_eq!(third["sample"], json!([cadre.id]));
}

fn no_challenge_is_opened_in_quiet_hours_without_an_emergency(backend: Backend) {
    let Some(Org {
        app,
        supervisor,
        cadre,
        ..
    }) = org(backend)
    else {
        return;
    };
    for hour in [7, 20, 23] {
        app.at_county_hour(hour);
        let before = app.ledger_size();
        let resp = app.post(
            "/v1/spot-checks/draws",
            Some(&supervisor),
            &json!({"unit_code": VILLAGE_A, "population": "cadres", "size": 1}),
        );
        resp.problem(422);
        assert_eq!(resp.pointers(), ["/emergency_reason"], "at {hour}:00");
        let blank = app.post(
            "/v1/spot-checks/draws",
            Some(&supervisor),
            &json!({"unit_code": VILLAGE_A, "population": "cadres", "size": 1,
                    "emergency_reason": "  "}),
        );
        blank.problem(422);
        assert_eq!(app.ledger_size(), before, "nothing stored at {hour}:00");
    }
    app.at_county_hour(8);
    draw_cadres(&app, &supervisor, VILLAGE_A, 1);
    app.at_county_hour(23);
    let emergency = draw(
        &app,
        &supervisor,
        json!({"unit_code": VILLAGE_A, "population": "cadres", "size": 1,
               "emergency_reason": "防汛紧急点名"}),
    );
    assert_eq!(emergency["emergency_reason"], "防汛紧急点名");
    assert_eq!(emergency["sample"], json!([cadre.id]));
    // Households are knocked on by the supervisor, not challenged: no quiet hours for them.
    draw(
        &app,
        &supervisor,
        json!({"unit_code": VILLAGE_A, "population": "visited_households", "size": 1}),
    );
}

both_backends!(
    outside_leave_trip_and_poor_fixes_give_their_outcomes,
    a_deadline_passing_unanswered_is_missed_and_a_late_answer_is_late,
    a_missed_deadline_is_decided_after_a_restart_too,
    answers_must_carry_the_nonce_a_fresh_fix_and_come_from_the_cadre,
    a_cadre_is_challenged_at_most_the_monthly_cap,
    no_challenge_is_opened_in_quiet_hours_without_an_emergency,
);
