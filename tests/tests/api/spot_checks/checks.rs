//! Supervisors' own checks by phone or in person, and household verification.

use super::*;
use fieldtrail_tests::both_backends;

fn supervisors_record_their_own_checks(backend: Backend) {
    let Some(Org {
        app,
        supervisor,
        cadre,
        ..
    }) = org(backend)
    else {
        return;
    };
    let phoned = app.post(
        "/v1/spot-checks/outcomes",
        Some(&supervisor),
        &json!({"person_id": cadre.id, "method": "phone", "outcome": "present",
                "note": "电话抽查，本人在村部"}),
    );
    assert_eq!(phoned.status, 201, "{}", phoned.text);
    assert_eq!(phoned.body["kind"], "spot_check.outcome");
    assert_eq!(phoned.body["verdict"]["outcome"], "present");
    assert_eq!(phoned.body["verdict"]["method"], "phone");

    // In person the supervisor's own fix is the evidence.
    let resp = app.post(
        "/v1/spot-checks/outcomes",
        Some(&supervisor),
        &json!({"person_id": cadre.id, "method": "in_person", "outcome": "absent", "note": ""}),
    );
    resp.problem(422);
    assert_eq!(resp.pointers(), ["/position"]);
    for (body, pointer) in [
        (
            json!({"person_id": cadre.id, "method": "fax", "outcome": "absent", "note": ""}),
            "/method",
        ),
        (
            json!({"person_id": cadre.id, "method": "phone", "outcome": "missed", "note": ""}),
            "/outcome",
        ),
        (
            json!({"person_id": "nobody", "method": "phone", "outcome": "absent", "note": ""}),
            "/person_id",
        ),
    ] {
        let resp = app.post("/v1/spot-checks/outcomes", Some(&supervisor), &body);
        resp.problem(422);
        assert_eq!(resp.pointers(), [pointer], "{body}");
    }
    let visited = app.post(
        "/v1/spot-checks/outcomes",
        Some(&supervisor),
        &json!({"person_id": cadre.id, "method": "in_person", "outcome": "absent",
                "note": "暗访未见本人", "position": pos(A_CENTRE.0, A_CENTRE.1, 15.0),
                "captured_at": rfc3339(app.clock.now())}),
    );
    assert_eq!(visited.status, 201, "{}", visited.text);
    assert_eq!(
        visited.body["verdict"]["supervisor_position"]["geo"], "inside",
        "{}",
        visited.text
    );
    let raised = alerts(&app, &supervisor, "");
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0]["source_id"], visited.body["id"]);

    // The cadre sees it in their history and can dispute it like any verdict.
    let outcome_id = visited.body["id"].as_str().unwrap();
    let mine = app.read_record(&cadre.token, outcome_id);
    assert_eq!(mine["verdict"]["outcome"], "absent");
    assert_eq!(mine["person_id"], json!(cadre.id));
    assert!(mine.get("duty_person_id").is_none(), "{mine}");
    assert_eq!(mine["method"], "in_person");
    let dispute = record_now(
        &app,
        "dispute",
        json!({"disputes": outcome_id, "reason": "当时在农户家走访"}),
    );
    let resp = app.submit(&cadre.token, &dispute);
    assert_eq!(resp.status, 201, "{}", resp.text);
    let disputed = app.read_record(&supervisor, outcome_id);
    assert_eq!(
        disputed["disputed_by"][0]["id"], dispute["id"],
        "{disputed}"
    );
    // Results are records like any other to `fieldtrail check-store`: each row has its entry.
    let report = fieldtrail_api::check_store::run(&app.database_url, None).unwrap();
    assert!(report.passed(), "{report:?}");
}

fn households_are_drawn_from_visits_and_a_denial_contests_them(backend: Backend) {
    let Some(Org {
        app,
        root,
        supervisor,
        cadre,
    }) = org(backend)
    else {
        return;
    };
    let visited = app.household(&root, VILLAGE_A, A_CENTRE.0, A_CENTRE.1);
    let never = app.household(&root, VILLAGE_A, A_CENTRE.0 + 0.002, A_CENTRE.1);
    let other_village = app.household(&root, VILLAGE_B, B_CENTRE.0, B_CENTRE.1);
    let visit = |household: &str| {
        let body = record_now(
            &app,
            "household_visit",
            json!({"household_id": household, "position": pos(A_CENTRE.0, A_CENTRE.1, 10.0),
                   "purpose": "了解收入情况"}),
        );
        assert_eq!(app.submit(&cadre.token, &body).status, 201);
        body["id"].as_str().unwrap().to_owned()
    };
    let first_visit = visit(&visited);
    let second_visit = visit(&visited);
    let b_visitor = app.cadre_in_a(&root, "cadre_b_visitor");
    let body = record_now(
        &app,
        "household_visit",
        json!({"household_id": other_village, "position": pos(B_CENTRE.0, B_CENTRE.1, 10.0),
               "purpose": "走访"}),
    );
    assert_eq!(app.submit(&b_visitor.token, &body).status, 201);

    let drawn = draw(
        &app,
        &supervisor,
        json!({"unit_code": VILLAGE_A, "population": "visited_households", "size": 5}),
    );
    assert_eq!(drawn["members"], json!([visited]), "{drawn}");
    assert_eq!(drawn["sample"], json!([visited]));
    assert!(drawn.get("challenges").is_none());
    let _ = never;
    // Last year had no visits at all.
    let last_year = draw(
        &app,
        &supervisor,
        json!({"unit_code": VILLAGE_A, "population": "visited_households", "size": 5,
               "period": "2020-03"}),
    );
    assert_eq!(last_year["members"], json!([]));

    let verification = |result: &str, at: (f64, f64), draw_id: Option<&Value>| {
        let mut body = json!({"result": result, "note": "入户核查",
                              "position": pos(at.0, at.1, 10.0),
                              "captured_at": rfc3339(app.clock.now())});
        if let Some(id) = draw_id {
            body["draw_id"] = id.clone();
        }
        app.post(
            &format!("/v1/spot-checks/households/{visited}/verifications"),
            Some(&supervisor),
            &body,
        )
    };
    let confirmed = verification("confirmed", A_CENTRE, Some(&drawn["id"]));
    assert_eq!(confirmed.status, 201, "{}", confirmed.text);
    assert_eq!(confirmed.body["verdict"]["at_household"], true);
    assert_eq!(confirmed.body["person_id"], json!(cadre.id));
    // Far from the household: stored, and shown as not at the household.
    let away = verification("not_home", FARMLAND, None);
    assert_eq!(away.status, 201, "{}", away.text);
    assert_eq!(away.body["verdict"]["at_household"], false);
    assert_eq!(alerts(&app, &supervisor, "").len(), 0);

    let denied = verification("denied", A_CENTRE, Some(&drawn["id"]));
    assert_eq!(denied.status, 201, "{}", denied.text);
    let denial_id = denied.body["id"].clone();
    for visit in [&first_visit, &second_visit] {
        let read = app.read_record(&supervisor, visit);
        assert_eq!(read["contested_by"], json!([denial_id]), "{read}");
    }
    let raised = alerts(&app, &supervisor, "");
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0]["kind"], "household.denied");
    // The draw lists its verifications; the cadre's history has the denial.
    let followed = get_draw(&app, &supervisor, &drawn["id"]);
    assert_eq!(followed["verifications"].as_array().unwrap().len(), 2);
    let history = app.get(
        &format!(
            "/v1/people/{}/records?kind=spot_check.verification",
            cadre.id
        ),
        Some(&supervisor),
    );
    assert_eq!(
        history.body["items"].as_array().map(Vec::len),
        Some(3),
        "{}",
        history.text
    );

    // Bad input: unknown household, a draw that did not choose it, bad result.
    let resp = app.post(
        &format!(
            "/v1/spot-checks/households/{}/verifications",
            uuid::Uuid::new_v4()
        ),
        Some(&supervisor),
        &json!({"result": "confirmed", "note": "", "position": pos(A_CENTRE.0, A_CENTRE.1, 10.0),
                "captured_at": rfc3339(app.clock.now())}),
    );
    resp.problem(404);
    let cadres_draw = draw_cadres(&app, &supervisor, VILLAGE_A, 1);
    let resp = verification("confirmed", A_CENTRE, Some(&cadres_draw["id"]));
    resp.problem(422);
    assert_eq!(resp.pointers(), ["/draw_id"]);
    let resp = verification("maybe", A_CENTRE, None);
    resp.problem(422);
    assert_eq!(resp.pointers(), ["/result"]);
    // A supervisor of village B cannot verify in village A.
    app.create_person(&root, "sup_b", "supervisor", VILLAGE_B);
    let sup_b = app.login("sup_b", CADRE_PASSWORD);
    app.post(
        &format!("/v1/spot-checks/households/{visited}/verifications"),
        Some(&sup_b),
        &json!({"result": "denied", "note": "", "position": pos(A_CENTRE.0, A_CENTRE.1, 10.0),
                "captured_at": rfc3339(app.clock.now())}),
    )
    .problem(403);
}

both_backends!(
    supervisors_record_their_own_checks,
    households_are_drawn_from_visits_and_a_denial_contests_them,
);
