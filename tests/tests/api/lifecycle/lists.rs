//! Lists: people with filters, units at the top of one's scope, and a unit's households,
//! assignments and pairings, all paged by cursor and scoped to the caller's subtree.

use super::*;
use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::token_subject;
use fieldtrail_tests::Backend;
use std::collections::{BTreeMap, BTreeSet};

/// The ids of `items`, or of the named people, as a set (for lists without a stated order).
fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

fn owned(ids: &[&String]) -> Vec<String> {
    ids.iter().map(|id| (*id).clone()).collect()
}

fn id(view: &Value) -> String {
    view["id"].as_str().unwrap().to_owned()
}

fn people_filters(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    with_other_township(&app, &root);
    let root_id = token_subject(&root);
    let zhang = person(&app, &root, "zhang-sanfeng", "张三丰", "cadre", VILLAGE_A);
    let li = person(&app, &root, "li-si", "李四", "cadre", VILLAGE_B);
    let wang = person(&app, &root, "wang-wu", "王三妹", "supervisor", TOWNSHIP);
    let zhao = person(&app, &root, "zhao-liu", "赵六", "cadre", OTHER_VILLAGE);
    let qian = person(&app, &root, "qian-qi", "Qian Qi", "inspector", COUNTY);
    let [zhang, li, wang, zhao, qian] = [&zhang, &li, &wang, &zhao, &qian].map(id);

    let all = listed_ids(&app, &root, "/v1/people");
    assert_eq!(
        all,
        owned(&[&root_id, &zhang, &li, &wang, &zhao, &qian]),
        "a whole-tree admin sees everyone, in order of creation"
    );
    // The items are the person views `GET /v1/people/{id}` answers.
    let resp = list_page(&app, &root, "/v1/people");
    let one = app.get(&format!("/v1/people/{zhang}"), Some(&root));
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(resp.body["items"][1], one.body);
    assert_eq!(one.body["active"], true, "{}", one.text);
    assert_eq!(one.body["must_change_password"], false, "{}", one.text);
    assert_eq!(resp.body["next_cursor"], Value::Null);

    let cases: Vec<(&str, Vec<&String>)> = vec![
        ("unit=990101001", vec![&zhang]),
        ("unit=990101", vec![&zhang, &li, &wang]),
        ("unit=990100", vec![&zhang, &li, &wang, &zhao, &qian]),
        ("role=cadre", vec![&zhang, &li, &zhao]),
        ("role=inspector", vec![&qian]),
        ("role=cadre&unit=990101", vec![&zhang, &li]),
        // Substrings of Chinese display names.
        ("q=%E4%B8%89", vec![&zhang, &wang]),   // 三
        ("q=%E4%B8%89%E4%B8%B0", vec![&zhang]), // 三丰
        // Usernames and Latin display names, whatever the case.
        ("q=ZHANG", vec![&zhang]),
        ("q=SanF", vec![&zhang]),
        ("q=qian%20q", vec![&qian]),
        ("q=nobody-like-this", vec![]),
        (
            "active=true",
            vec![&root_id, &zhang, &li, &wang, &zhao, &qian],
        ),
        ("active=false", vec![]),
    ];
    for (query, want) in &cases {
        let got = listed_ids(&app, &root, &format!("/v1/people?{query}"));
        assert_eq!(&got.iter().collect::<Vec<_>>(), want, "{query}");
    }

    let resp = app.post(
        &format!("/v1/people/{li}/deactivate"),
        Some(&root),
        &json!({"reason": "调离"}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(
        listed_ids(&app, &root, "/v1/people?active=false"),
        owned(&[&li]),
        "only the deactivated person"
    );
    assert_eq!(
        listed_ids(&app, &root, "/v1/people?active=true&role=cadre"),
        owned(&[&zhang, &zhao])
    );
    // Without the filter, inactive people are still listed, and say so.
    let resp = list_page(&app, &root, "/v1/people?unit=990101002");
    assert_eq!(ids(resp.body["items"].as_array().unwrap()), owned(&[&li]));
    assert_eq!(resp.body["items"][0]["active"], false);
}

fn people_paging(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let mut created = vec![token_subject(&root)];
    for n in 0..6 {
        let view = person(
            &app,
            &root,
            &format!("cadre-{n}"),
            "驻村干部",
            "cadre",
            VILLAGE_A,
        );
        created.push(id(&view));
    }
    // Seven people in pages of two: 2, 2, 2, 1, in creation order, none twice, none missed.
    let paged = ids(&all_pages(&app, &root, "/v1/people", 2));
    assert_eq!(paged, created);
    assert_eq!(set(&paged).len(), paged.len(), "no duplicates");
    // Filters hold across pages too.
    let cadres = ids(&all_pages(&app, &root, "/v1/people?role=cadre", 4));
    assert_eq!(cadres, created[1..]);
    // Exactly full last page: the cursor ends there or with an empty page, never with a gap.
    let six = ids(&all_pages(&app, &root, "/v1/people?role=cadre", 3));
    assert_eq!(six, created[1..]);

    for query in [
        "cursor=not-a-cursor",
        "cursor=%00%01",
        "limit=0",
        "limit=1001",
        "limit=-1",
        "limit=two",
    ] {
        let resp = app.get(&format!("/v1/people?{query}"), Some(&root));
        resp.problem(422);
    }
    // The edges of the range are fine.
    assert_eq!(listed_ids(&app, &root, "/v1/people?limit=1000"), created);
    assert_eq!(listed_ids(&app, &root, "/v1/people?limit=1"), created[..1]);
}

fn people_scope(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    with_other_township(&app, &root);
    let sup_t = person(&app, &root, "sup-t", "督查甲", "supervisor", TOWNSHIP);
    let cadre_a = person(&app, &root, "cadre-a", "干部甲", "cadre", VILLAGE_A);
    let cadre_o = person(&app, &root, "cadre-o", "干部邻", "cadre", OTHER_VILLAGE);
    let sup_o = person(&app, &root, "sup-o", "督查邻", "supervisor", OTHER_TOWNSHIP);
    let insp = person(&app, &root, "insp-c", "纪检", "inspector", COUNTY);
    let cadre_b = person(&app, &root, "cadre-b", "干部乙", "cadre", VILLAGE_B);
    let [sup_t, cadre_a, cadre_o, sup_o, insp, cadre_b] =
        [&sup_t, &cadre_a, &cadre_o, &sup_o, &insp, &cadre_b].map(id);

    let sup_t_token = app.login("sup-t", CADRE_PASSWORD);
    assert_eq!(
        listed_ids(&app, &sup_t_token, "/v1/people"),
        owned(&[&sup_t, &cadre_a, &cadre_b]),
        "a township supervisor sees only the township's people"
    );
    let sup_o_token = app.login("sup-o", CADRE_PASSWORD);
    assert_eq!(
        listed_ids(&app, &sup_o_token, "/v1/people"),
        owned(&[&cadre_o, &sup_o])
    );
    // Neither paging nor a filter lets anyone see past the scope.
    assert_eq!(
        ids(&all_pages(&app, &sup_t_token, "/v1/people", 1)),
        owned(&[&sup_t, &cadre_a, &cadre_b])
    );
    assert_eq!(
        listed_ids(&app, &sup_t_token, "/v1/people?q=%E5%B9%B2%E9%83%A8"), // 干部
        owned(&[&cadre_a, &cadre_b])
    );
    let resp = app.get(
        &format!("/v1/people?unit={OTHER_VILLAGE}"),
        Some(&sup_t_token),
    );
    if resp.status == 200 {
        assert_eq!(resp.body["items"], json!([]), "{}", resp.text);
    } else {
        resp.problem(403);
    }
    // A county inspector sees the county, not the whole-tree admin above it.
    let insp_token = app.login("insp-c", CADRE_PASSWORD);
    assert_eq!(
        listed_ids(&app, &insp_token, "/v1/people"),
        owned(&[&sup_t, &cadre_a, &cadre_o, &sup_o, &insp, &cadre_b])
    );

    let cadre_token = app.login("cadre-a", CADRE_PASSWORD);
    let resp = app.get("/v1/people", Some(&cadre_token));
    assert_eq!(
        resp.problem(403)["type"],
        "urn:fieldtrail:problem:forbidden"
    );
    app.get("/v1/people", None).problem(401);
}

fn units_at_the_top_of_the_scope(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    with_other_township(&app, &root);
    let resp = app.post(
        "/v1/units/import",
        Some(&root),
        &collection(vec![feature("990200", "另县", "county", None, Value::Null)]),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);

    let codes = |token: &str| -> Vec<String> {
        let resp = app.get("/v1/units", Some(token));
        assert_eq!(resp.status, 200, "{}", resp.text);
        let items = resp.body["items"].as_array().unwrap();
        for unit in items {
            let code = unit["code"].as_str().unwrap();
            let one = app.get(&format!("/v1/units/{code}"), Some(token));
            assert_eq!(unit, &one.body, "the same shape as GET /v1/units/{code}");
        }
        let mut codes: Vec<String> = items
            .iter()
            .map(|u| u["code"].as_str().unwrap().to_owned())
            .collect();
        codes.sort();
        codes
    };
    assert_eq!(codes(&root), [COUNTY, "990200"], "every root unit");
    let supervisor = app.supervisor(&root, "sup-t", TOWNSHIP);
    assert_eq!(codes(&supervisor), [TOWNSHIP]);
    app.create_person(&root, "admin-o", "admin", OTHER_TOWNSHIP);
    let admin_o = app.login("admin-o", CADRE_PASSWORD);
    assert_eq!(codes(&admin_o), [OTHER_TOWNSHIP]);
}

fn household(app: &TestApp, root: &str, village: &str, head: &str, lon: f64) -> Value {
    let resp = app.post(
        "/v1/households",
        Some(root),
        &json!({"unit_code": village, "head_name": head, "members": 3,
                "location": {"lon": lon, "lat": 34.21}}),
    );
    assert_eq!(resp.status, 201, "household: {}", resp.text);
    resp.body
}

fn unit_households(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    with_other_township(&app, &root);
    let mut made: BTreeMap<String, Value> = BTreeMap::new();
    let mut in_a = Vec::new();
    let mut in_b = Vec::new();
    for (village, head, lon) in [
        (VILLAGE_A, "王一", 116.901),
        (VILLAGE_A, "王二", 116.902),
        (VILLAGE_A, "王三", 116.903),
        (VILLAGE_B, "李一", 116.931),
        (VILLAGE_B, "李二", 116.932),
    ] {
        let view = household(&app, &root, village, head, lon);
        let list = if village == VILLAGE_A {
            &mut in_a
        } else {
            &mut in_b
        };
        list.push(id(&view));
        made.insert(id(&view), view);
    }
    let other = household(&app, &root, OTHER_VILLAGE, "赵一", 116.99);
    made.insert(id(&other), other.clone());

    // The township's subtree in pages of two: every household of A and B once, as created.
    let township = all_pages(&app, &root, "/v1/units/990101/households", 2);
    let township_ids = ids(&township);
    assert_eq!(
        set(&township_ids).len(),
        township_ids.len(),
        "no duplicates"
    );
    assert_eq!(
        set(&township_ids),
        set(&[in_a.clone(), in_b.clone()].concat())
    );
    for item in &township {
        assert_eq!(item, &made[&id(item)], "the household view");
    }
    let village = listed_ids(&app, &root, "/v1/units/990101001/households");
    assert_eq!(set(&village), set(&in_a));
    let county = ids(&all_pages(&app, &root, "/v1/units/990100/households", 4));
    assert_eq!(set(&county), made.keys().cloned().collect());
    assert_eq!(county.len(), 6);

    let supervisor = app.supervisor(&root, "sup-t", TOWNSHIP);
    assert_eq!(
        set(&listed_ids(
            &app,
            &supervisor,
            "/v1/units/990101/households"
        )),
        set(&township_ids)
    );
    app.get("/v1/units/990102001/households", Some(&supervisor))
        .problem(403);
    // A cadre reads their own village's households, not the neighbours'.
    let cadre = app.cadre_in_a(&root, "cadre-a");
    assert_eq!(
        set(&listed_ids(
            &app,
            &cadre.token,
            "/v1/units/990101001/households"
        )),
        set(&in_a)
    );
    app.get("/v1/units/990101002/households", Some(&cadre.token))
        .problem(403);
    app.get("/v1/units/990199/households", Some(&root))
        .problem(404);
    app.get("/v1/units/990101/households?limit=0", Some(&root))
        .problem(422);
    app.get("/v1/units/990101/households?cursor=garbage", Some(&root))
        .problem(422);
}

fn unit_assignments_on_a_day(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    with_other_township(&app, &root);
    let one = person(&app, &root, "cadre-1", "干部一", "cadre", VILLAGE_A);
    let two = person(&app, &root, "cadre-2", "干部二", "cadre", VILLAGE_A);
    let three = person(&app, &root, "cadre-3", "干部三", "cadre", VILLAGE_B);
    let four = person(&app, &root, "cadre-4", "干部四", "cadre", OTHER_VILLAGE);
    let first_half = assignment(
        &app,
        &root,
        &id(&one),
        VILLAGE_A,
        "2026-01-01",
        Some("2026-06-30"),
    );
    let open = assignment(&app, &root, &id(&two), VILLAGE_A, "2026-03-01", None);
    let last_year = assignment(
        &app,
        &root,
        &id(&three),
        VILLAGE_B,
        "2025-01-01",
        Some("2025-12-31"),
    );
    let elsewhere = assignment(&app, &root, &id(&four), OTHER_VILLAGE, "2025-01-01", None);
    let [first_half_id, open_id, last_year_id, elsewhere_id] =
        [&first_half, &open, &last_year, &elsewhere].map(id);

    let all = all_pages(&app, &root, "/v1/units/990101/assignments", 2);
    assert_eq!(
        set(&ids(&all)),
        set(&[first_half_id.clone(), open_id.clone(), last_year_id.clone()]),
        "every assignment of the township's villages, none of the neighbours'"
    );
    assert_eq!(all.len(), 3);
    let item = all.iter().find(|a| a["id"] == first_half["id"]).unwrap();
    for key in [
        "id",
        "person_id",
        "unit_code",
        "role",
        "valid_from",
        "valid_to",
        "seq",
    ] {
        assert_eq!(item[key], first_half[key], "{key}: {item}");
    }
    assert_eq!(item["display_name"], "干部一");
    assert_eq!(item["username"], "cadre-1");

    let on = |unit: &str, day: &str| -> BTreeSet<String> {
        set(&listed_ids(
            &app,
            &root,
            &format!("/v1/units/{unit}/assignments?on={day}"),
        ))
    };
    let of = |ids: &[&String]| -> BTreeSet<String> { ids.iter().map(|s| (*s).clone()).collect() };
    assert_eq!(on(TOWNSHIP, "2024-12-31"), of(&[]));
    assert_eq!(on(TOWNSHIP, "2025-06-01"), of(&[&last_year_id]));
    assert_eq!(on(TOWNSHIP, "2026-02-01"), of(&[&first_half_id]));
    assert_eq!(on(TOWNSHIP, "2026-03-01"), of(&[&first_half_id, &open_id]));
    assert_eq!(on(TOWNSHIP, "2026-06-30"), of(&[&first_half_id, &open_id]));
    assert_eq!(on(TOWNSHIP, "2026-07-01"), of(&[&open_id]));
    assert_eq!(on(VILLAGE_B, "2025-06-01"), of(&[&last_year_id]));
    assert_eq!(on(VILLAGE_A, "2025-06-01"), of(&[]));
    assert_eq!(
        on(COUNTY, "2025-06-01"),
        of(&[&last_year_id, &elsewhere_id])
    );

    // Ended: in force up to and including valid_to, not the day after.
    let resp = app.post(
        &format!("/v1/assignments/{open_id}/end"),
        Some(&root),
        &json!({"valid_to": "2026-09-30"}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(on(TOWNSHIP, "2026-09-30"), of(&[&open_id]));
    assert_eq!(on(TOWNSHIP, "2026-10-01"), of(&[]));
    let listed = list_page(&app, &root, "/v1/units/990101001/assignments?on=2026-09-30");
    assert_eq!(listed.body["items"][0]["valid_to"], "2026-09-30");

    app.get("/v1/units/990101/assignments?on=2026-02-30", Some(&root))
        .problem(422);
    app.get("/v1/units/990101/assignments?limit=1001", Some(&root))
        .problem(422);
    app.get("/v1/units/990199/assignments", Some(&root))
        .problem(404);
    let supervisor = app.supervisor(&root, "sup-t", TOWNSHIP);
    assert_eq!(
        listed_ids(&app, &supervisor, "/v1/units/990101/assignments").len(),
        3
    );
    app.get("/v1/units/990102/assignments", Some(&supervisor))
        .problem(403);
    let cadre = app.login("cadre-1", CADRE_PASSWORD);
    app.get("/v1/units/990101001/assignments", Some(&cadre))
        .problem(403);
}

fn unit_pairings_on_a_day(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    with_other_township(&app, &root);
    let one = app.cadre_in_a(&root, "cadre-1");
    let two = app.cadre_in_a(&root, "cadre-2");
    let home_a = household(&app, &root, VILLAGE_A, "王大山", 116.905);
    let home_b = household(&app, &root, VILLAGE_B, "李小河", 116.935);
    let home_o = household(&app, &root, OTHER_VILLAGE, "赵远", 116.99);
    let winter = pairing(
        &app,
        &root,
        &one.id,
        &id(&home_a),
        "2026-01-01",
        Some("2026-03-31"),
    );
    let open = pairing(&app, &root, &two.id, &id(&home_b), "2026-02-01", None);
    let far = pairing(&app, &root, &one.id, &id(&home_o), "2026-01-01", None);
    let [winter_id, open_id, far_id] = [&winter, &open, &far].map(id);

    let all = all_pages(&app, &root, "/v1/units/990101/pairings", 1);
    assert_eq!(set(&ids(&all)), set(&[winter_id.clone(), open_id.clone()]));
    assert_eq!(all.len(), 2);
    let item = all.iter().find(|p| p["id"] == winter["id"]).unwrap();
    for key in [
        "id",
        "person_id",
        "household_id",
        "valid_from",
        "valid_to",
        "seq",
    ] {
        assert_eq!(item[key], winter[key], "{key}: {item}");
    }
    assert_eq!(item["unit_code"], VILLAGE_A, "the household's village");
    assert_eq!(item["head_name"], "王大山");
    assert_eq!(item["display_name"], "Test cadre-1");

    let on = |unit: &str, day: &str| -> BTreeSet<String> {
        set(&listed_ids(
            &app,
            &root,
            &format!("/v1/units/{unit}/pairings?on={day}"),
        ))
    };
    let of = |ids: &[&String]| -> BTreeSet<String> { ids.iter().map(|s| (*s).clone()).collect() };
    assert_eq!(on(TOWNSHIP, "2025-12-31"), of(&[]));
    assert_eq!(on(TOWNSHIP, "2026-01-15"), of(&[&winter_id]));
    assert_eq!(on(TOWNSHIP, "2026-03-31"), of(&[&winter_id, &open_id]));
    assert_eq!(on(TOWNSHIP, "2026-04-01"), of(&[&open_id]));
    assert_eq!(on(VILLAGE_A, "2026-04-01"), of(&[]));
    assert_eq!(on(VILLAGE_B, "2026-04-01"), of(&[&open_id]));
    assert_eq!(on(COUNTY, "2026-04-01"), of(&[&open_id, &far_id]));

    let resp = app.post(
        &format!("/v1/pairings/{open_id}/end"),
        Some(&root),
        &json!({"valid_to": "2026-05-31"}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    assert_eq!(on(TOWNSHIP, "2026-05-31"), of(&[&open_id]));
    assert_eq!(on(TOWNSHIP, "2026-06-01"), of(&[]));

    app.get("/v1/units/990101/pairings?on=someday", Some(&root))
        .problem(422);
    app.get("/v1/units/990199/pairings", Some(&root))
        .problem(404);
    let supervisor = app.supervisor(&root, "sup-t", TOWNSHIP);
    app.get("/v1/units/990102/pairings", Some(&supervisor))
        .problem(403);
    app.get("/v1/units/990101001/pairings", Some(&one.token))
        .problem(403);
}

both_backends!(
    people_filters,
    people_paging,
    people_scope,
    units_at_the_top_of_the_scope,
    unit_households,
    unit_assignments_on_a_day,
    unit_pairings_on_a_day,
);
