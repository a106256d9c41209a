//! Draws: committed before their seed, listed, scoped, and malformed ones refused.

use super::*;
use fieldtrail_tests::both_backends;

fn a_draw_is_committed_before_its_seed_and_answered_by_a_fresh_fix(backend: Backend) {
    let Some(Org {
        app,
        root,
        supervisor,
        cadre,
    }) = org(backend)
    else {
        return;
    };
    let drawn = draw(
        &app,
        &supervisor,
        json!({"unit_code": TOWNSHIP, "population": "cadres", "size": 1,
               "period": "2026-W48", "purpose": "weekly check"}),
    );
    assert_eq!(drawn["population"], "cadres");
    assert_eq!(drawn["period"], "2026-W48");
    assert_eq!(drawn["members"], json!([cadre.id]));
    assert_eq!(drawn["population_size"], 1);
    assert_eq!(drawn["sample"], json!([cadre.id]));
    // The seed is the checkpoint whose tree ends with the draw entry.
    assert_eq!(drawn["checkpoint"]["size"], drawn["seq"]);
    let note = drawn["checkpoint"]["note"].as_str().unwrap();
    assert!(note.contains(&format!("\n{}\n", drawn["seq"])), "{note}");
    let entry = app.ledger_entry(&root, drawn["seq"].as_i64().unwrap());
    let header: Value = {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(entry["body"].as_str().unwrap())
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    assert_eq!(header["kind"], "spot_check.draw");
    assert_eq!(header["id"], drawn["id"]);
    let challenges = drawn["challenges"].as_array().unwrap();
    assert_eq!(challenges.len(), 1);
    assert_eq!(challenges[0]["person_id"], json!(cadre.id));
    assert_eq!(challenges[0]["status"], "open");
    // 30 minutes by default.
    let issued = OffsetDateTime::parse(
        challenges[0]["issued_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let deadline = OffsetDateTime::parse(
        challenges[0]["deadline"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(deadline - issued, Duration::minutes(30));

    let open = my_challenges(&app, &cadre.token);
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["nonce"].as_str().unwrap().len(), 32);
    let answered = answer(&app, &cadre, pos(A_CENTRE.0, A_CENTRE.1, 10.0));
    assert_eq!(answered["outcome"], "present", "{answered}");
    assert_eq!(answered["answer"]["kind"], "check_in");
    assert_eq!(answered["answer"]["verdict"]["geo"], "inside");
    assert!(my_challenges(&app, &cadre.token).is_empty());
    // The supervisor follows it in the draw; the listing shows the draw.
    let followed = get_draw(&app, &supervisor, &drawn["id"]);
    assert_eq!(followed["challenges"][0]["status"], "present");
    assert_eq!(
        followed["challenges"][0]["outcome_id"],
        answered["outcome_id"]
    );
    assert!(followed["evidence"]["draw_entry"]["payload"].is_string());
    let listed = app.get("/v1/spot-checks/draws", Some(&supervisor));
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["draws"][0]["id"], drawn["id"]);
    assert_eq!(listed.body["draws"][0]["checkpoint"], drawn["checkpoint"]);
    assert!(listed.body["draws"][0].get("members").is_none());
    // The supervisor can prove their own draw entry (to verify it), not others' entries.
    let proof = |seq: &Value, token: &str| {
        app.get(
            &format!("/v1/ledger/proof/inclusion?seq={seq}&tree_size={seq}"),
            Some(token),
        )
    };
    assert_eq!(proof(&drawn["seq"], &supervisor).status, 200);
    let answer_seq = &answered["answer"]["seq"];
    proof(answer_seq, &supervisor).problem(403);

    // The outcome is in the cadre's history and on their presence day.
    let outcome = app.read_record(&cadre.token, answered["outcome_id"].as_str().unwrap());
    assert_eq!(outcome["kind"], "spot_check.outcome");
    assert_eq!(outcome["verdict"]["outcome"], "present");
    let history = app.get(
        &format!("/v1/people/{}/records?kind=spot_check.outcome", cadre.id),
        Some(&supervisor),
    );
    assert_eq!(history.status, 200, "{}", history.text);
    assert_eq!(
        history.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        history.text
    );
    let today = app.clock.now().to_offset(county()).date();
    let presence = app.get(
        &format!(
            "/v1/people/{}/presence?from={}&to={}",
            cadre.id,
            ymd(today),
            ymd(today)
        ),
        Some(&supervisor),
    );
    assert_eq!(presence.status, 200, "{}", presence.text);
    let day = &presence.body["days"][0];
    assert_eq!(day["status"], "present", "{day}");
    assert_eq!(day["spot_checks"][0]["outcome"], "present", "{day}");
    assert_eq!(day["spot_checks"][0]["id"], answered["outcome_id"]);
}

fn draws_and_results_stay_within_scope(backend: Backend) {
    let Some(Org {
        app,
        root,
        supervisor,
        cadre,
    }) = org(backend)
    else {
        return;
    };
    app.create_person(&root, "sup_b", "supervisor", VILLAGE_B);
    let sup_b = app.login("sup_b", CADRE_PASSWORD);
    app.create_person(&root, "insp_b", "inspector", VILLAGE_B);
    let insp_b = app.login("insp_b", CADRE_PASSWORD);
    let before = app.ledger_size();
    app.post(
        "/v1/spot-checks/draws",
        Some(&sup_b),
        &json!({"unit_code": VILLAGE_A, "population": "cadres", "size": 1}),
    )
    .problem(403);
    app.post(
        "/v1/spot-checks/draws",
        Some(&cadre.token),
        &json!({"unit_code": VILLAGE_A, "population": "cadres", "size": 1}),
    )
    .problem(403);
    app.post(
        "/v1/spot-checks/draws",
        Some(&insp_b),
        &json!({"unit_code": VILLAGE_B, "population": "cadres", "size": 1}),
    )
    .problem(403);
    assert_eq!(app.ledger_size(), before);

    let drawn = draw_cadres(&app, &supervisor, VILLAGE_A, 1);
    let id = drawn["id"].as_str().unwrap();
    app.get(&format!("/v1/spot-checks/draws/{id}"), Some(&sup_b))
        .problem(404);
    app.get(&format!("/v1/spot-checks/draws/{id}"), Some(&cadre.token))
        .problem(403);
    let listed = app.get("/v1/spot-checks/draws", Some(&sup_b));
    assert_eq!(listed.body["draws"], json!([]), "{}", listed.text);
    app.get(
        &format!("/v1/spot-checks/draws?unit={VILLAGE_A}"),
        Some(&sup_b),
    )
    .problem(403);
    // An inspector of the township reads it; one of another village does not.
    app.create_person(&root, "insp_town", "inspector", TOWNSHIP);
    let insp_town = app.login("insp_town", CADRE_PASSWORD);
    assert_eq!(get_draw(&app, &insp_town, &drawn["id"])["id"], drawn["id"]);
    let listed = app.get(
        &format!("/v1/spot-checks/draws?unit={VILLAGE_A}"),
        Some(&insp_town),
    );
    assert_eq!(listed.body["draws"].as_array().unwrap().len(), 1);

    // Results and alerts: a supervisor outside the cadre's units can neither record nor see.
    app.post(
        "/v1/spot-checks/outcomes",
        Some(&sup_b),
        &json!({"person_id": cadre.id, "method": "phone", "outcome": "absent", "note": ""}),
    )
    .problem(403);
    let absent = answer(&app, &cadre, pos(FARMLAND.0, FARMLAND.1, 10.0));
    assert_eq!(absent["outcome"], "absent");
    assert_eq!(alerts(&app, &supervisor, "").len(), 1);
    assert_eq!(alerts(&app, &sup_b, "").len(), 0);
    app.get(&format!("/v1/alerts?unit={VILLAGE_A}"), Some(&sup_b))
        .problem(403);
    app.get("/v1/alerts", Some(&cadre.token)).problem(403);
    // Filters: by period and status.
    let today = ymd(app.clock.now().to_offset(county()).date());
    assert_eq!(
        alerts(&app, &supervisor, &format!("?from={today}&to={today}")).len(),
        1
    );
    assert_eq!(
        alerts(&app, &supervisor, "?from=2020-01-01&to=2020-01-31").len(),
        0
    );
    assert_eq!(alerts(&app, &supervisor, "?status=acknowledged").len(), 0);
    app.get("/v1/alerts?status=closed", Some(&supervisor))
        .problem(422);
}

fn malformed_draws_are_refused_with_every_field_named(backend: Backend) {
    let Some(Org {
        app, supervisor, ..
    }) = org(backend)
    else {
        return;
    };
    let before = app.ledger_size();
    let resp = app.post(
        "/v1/spot-checks/draws",
        Some(&supervisor),
        &json!({"unit_code": "", "population": "everyone", "size": 0, "period": "2026-13"}),
    );
    resp.problem(422);
    let mut pointers = resp.pointers();
    pointers.sort();
    assert_eq!(pointers, ["/period", "/population", "/size", "/unit_code"]);
    for size in [json!(1001), json!(1.5), json!("3"), json!(-1)] {
        let resp = app.post(
            "/v1/spot-checks/draws",
            Some(&supervisor),
            &json!({"unit_code": VILLAGE_A, "population": "cadres", "size": size}),
        );
        resp.problem(422);
        assert_eq!(resp.pointers(), ["/size"], "{size}");
    }
    let resp = app.post(
        "/v1/spot-checks/draws",
        Some(&supervisor),
        &json!({"unit_code": "990199", "population": "cadres", "size": 1}),
    );
    resp.problem(422);
    let resp = app.post(
        "/v1/spot-checks/draws",
        Some(&supervisor),
        &json!({"unit_code": VILLAGE_A, "population": "cadres", "size": 1, "colour": "red"}),
    );
    resp.problem(422);
    assert_eq!(resp.pointers(), ["/colour"]);
    assert_eq!(app.ledger_size(), before);
    app.get("/v1/spot-checks/draws/not-a-draw", Some(&supervisor))
        .problem(404);
    app.get("/v1/spot-checks/draws?from=yesterday", Some(&supervisor))
        .problem(422);
}

both_backends!(
    a_draw_is_committed_before_its_seed_and_answered_by_a_fresh_fix,
    draws_and_results_stay_within_scope,
    malformed_draws_are_refused_with_every_field_named,
);
