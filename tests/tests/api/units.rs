//! The unit tree: GeoJSON import (all-or-nothing, every problem named by feature index),
//! reading units and children, who may import where, and boundary tolerance in verdicts.

#![allow(clippy::unwrap_used)]

use fieldtrail_tests::both_backends;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, Resp, TestApp};
use serde_json::{json, Value};

const VILLAGE_C: &str = "990101003";

fn import(app: &TestApp, token: &str, body: &Value) -> Resp {
    app.post("/v1/units/import", Some(token), body)
}

fn stored(app: &TestApp) -> (i64, i64) {
    (
        app.sql_count("SELECT count(*) FROM ledger"),
        app.sql_count("SELECT count(*) FROM units"),
    )
}

/// A village under the test township, east of B.
fn village(code: &str, geometry: Value) -> Value {
    feature(code, "新村", "village", Some(TOWNSHIP), geometry)
}

fn c_rect() -> Value {
    rect(116.96, 34.20, 116.98, 34.22)
}

fn polygon(ring: Value) -> Value {
    json!({"type": "Polygon", "coordinates": [ring]})
}

/// Asserts a 422 naming exactly `pointers` (in any order), that nothing was stored, and that
/// none of `codes` exists afterwards.
fn refused(app: &TestApp, token: &str, body: &Value, pointers: &[&str], codes: &[&str]) -> Resp {
    let before = stored(app);
    let resp = import(app, token, body);
    let problem = resp.problem(422);
    assert_eq!(problem["type"], "urn:fieldtrail:problem:validation");
    let mut got = resp.pointers();
    got.sort();
    let mut want: Vec<String> = pointers.iter().map(|p| (*p).to_owned()).collect();
    want.sort();
    assert_eq!(got, want, "{}", resp.text);
    for error in resp.body["errors"].as_array().unwrap() {
        assert!(
            !error["reason"].as_str().unwrap().is_empty(),
            "{}",
            resp.text
        );
    }
    assert_eq!(stored(app), before, "the refused import stored something");
    for code in codes {
        let get = app.get(&format!("/v1/units/{code}"), Some(token));
        get.problem(404);
    }
    resp
}

fn invalid_geometry_is_named_by_feature_index(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let cases: Vec<(Value, &[&str])> = vec![
        (
            polygon(json!([
                [116.96, 34.20],
                [200.0, 34.20],
                [116.98, 34.22],
                [116.96, 34.20]
            ])),
            &["/features/1/geometry/coordinates/0/1/0"],
        ),
        (
            polygon(json!([
                [116.96, 34.20],
                [116.98, 34.20],
                [116.98, 95.0],
                [116.96, 34.20]
            ])),
            &["/features/1/geometry/coordinates/0/2/1"],
        ),
        (
            polygon(json!([
                [-181.0, 34.20],
                [116.98, 34.20],
                [116.98, 34.22],
                [-181.0, 34.20]
            ])),
            &[
                "/features/1/geometry/coordinates/0/0/0",
                "/features/1/geometry/coordinates/0/3/0",
            ],
        ),
        (
            polygon(json!([
                [116.96, 34.20],
                [116.98, 34.20],
                [116.98, 34.22],
                [116.96, 34.22]
            ])),
            &["/features/1/geometry/coordinates/0"],
        ),
        (
            polygon(json!([[116.96, 34.20], [116.98, 34.20], [116.96, 34.20]])),
            &["/features/1/geometry/coordinates/0"],
        ),
        (
            json!({"type": "Polygon", "coordinates": []}),
            &["/features/1/geometry/coordinates"],
        ),
        (
            json!({"type": "Point", "coordinates": [116.97, 34.21]}),
            &["/features/1/geometry/type"],
        ),
        (
            json!({"type": "Polygon"}),
            &["/features/1/geometry/coordinates"],
        ),
        (
            polygon(json!([
                [116.96, 34.20],
                ["116.98", 34.20],
                [116.98, 34.22],
                [116.96, 34.20]
            ])),
            &["/features/1/geometry/coordinates/0/1/0"],
        ),
        (
            json!("POLYGON((0 0, 1 0, 1 1, 0 0))"),
            &["/features/1/geometry"],
        ),
    ];
    for (geometry, pointers) in cases {
        let body = collection(vec![
            village(VILLAGE_C, c_rect()),
            village("990101004", geometry),
        ]);
        refused(&app, &root, &body, pointers, &[VILLAGE_C, "990101004"]);
    }

    // Several geometry problems across features are all reported in one answer.
    let body = collection(vec![
        village(VILLAGE_C, c_rect()),
        village(
            "990101004",
            polygon(json!([
                [116.96, 34.20],
                [200.0, 34.20],
                [116.98, 34.22],
                [116.96, 34.20]
            ])),
        ),
        village(
            "990101005",
            polygon(json!([
                [116.96, 34.20],
                [116.98, 34.20],
                [116.98, 95.0],
                [116.96, 34.20]
            ])),
        ),
        village(
            "990101006",
            polygon(json!([
                [116.96, 34.20],
                [116.98, 34.20],
                [116.98, 34.22],
                [116.96, 34.22]
            ])),
        ),
        village(
            "990101007",
            polygon(json!([[116.96, 34.20], [116.98, 34.20], [116.96, 34.20]])),
        ),
        village("990101008", c_rect()),
    ]);
    refused(
        &app,
        &root,
        &body,
        &[
            "/features/1/geometry/coordinates/0/1/0",
            "/features/2/geometry/coordinates/0/2/1",
            "/features/3/geometry/coordinates/0",
            "/features/4/geometry/coordinates/0",
        ],
        &[
            VILLAGE_C,
            "990101004",
            "990101005",
            "990101006",
            "990101007",
            "990101008",
        ],
    );
}

fn invalid_properties_are_named_by_feature_index(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let with = |property: &str, value: Value| {
        let mut f = village("990101004", c_rect());
        f["properties"][property] = value;
        f
    };
    let without = |property: &str| {
        let mut f = village("990101004", c_rect());
        f["properties"].as_object_mut().unwrap().remove(property);
        f
    };
    let cases: Vec<(Value, &str)> = vec![
        (with("code", json!("a/b")), "/features/1/properties/code"),
        (with("code", json!("")), "/features/1/properties/code"),
        (with("name", json!("   ")), "/features/1/properties/name"),
        (
            with("level", json!("hamlet")),
            "/features/1/properties/level",
        ),
        (
            with("level", json!("Village")),
            "/features/1/properties/level",
        ),
        (
            with("tolerance_m", json!(-1.0)),
            "/features/1/properties/tolerance_m",
        ),
        (
            with("tolerance_m", json!(10_001.0)),
            "/features/1/properties/tolerance_m",
        ),
        (
            with("parent_code", json!("no such/code")),
            "/features/1/properties/parent_code",
        ),
        (without("code"), "/features/1/properties/code"),
        (without("level"), "/features/1/properties/level"),
        (
            {
                let mut f = village("990101004", c_rect());
                f["type"] = json!("Polygon");
                f
            },
            "/features/1/type",
        ),
    ];
    for (bad, pointer) in cases {
        let body = collection(vec![village(VILLAGE_C, c_rect()), bad]);
        refused(&app, &root, &body, &[pointer], &[VILLAGE_C, "990101004"]);
    }

    refused(
        &app,
        &root,
        &json!({"type": "FeatureCollection", "features": []}),
        &["/features"],
        &[],
    );
    let mut not_a_collection = collection(vec![village(VILLAGE_C, c_rect())]);
    not_a_collection["type"] = json!("GeometryCollection");
    refused(&app, &root, &not_a_collection, &["/type"], &[VILLAGE_C]);
}

fn tree_problems_are_named_by_feature_index(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let cases: Vec<(Value, &str)> = vec![
        // The parent exists neither in storage nor in the import.
        (
            feature("990101004", "无父村", "village", Some("990199"), c_rect()),
            "/features/1/properties/parent_code",
        ),
        // A village directly under the county skips the township level.
        (
            feature("990100004", "越级村", "village", Some(COUNTY), c_rect()),
            "/features/1/properties/level",
        ),
        // A township under a township.
        (
            feature("990101904", "镇中镇", "township", Some(TOWNSHIP), c_rect()),
            "/features/1/properties/level",
        ),
        // A group directly under a township.
        (
            feature("990101905", "组", "group", Some(TOWNSHIP), c_rect()),
            "/features/1/properties/level",
        ),
        // The same code twice in one import.
        (village(VILLAGE_C, c_rect()), "/features/1/properties/code"),
        // A code that already exists.
        (village(VILLAGE_A, c_rect()), "/features/1/properties/code"),
        // A county without a parent is a new root, fine for root; a county under a village is not.
        (
            feature("990101906", "村下县", "county", Some(VILLAGE_A), c_rect()),
            "/features/1/properties/level",
        ),
    ];
    for (bad, pointer) in cases {
        let code = bad["properties"]["code"].as_str().unwrap().to_owned();
        let body = collection(vec![village(VILLAGE_C, c_rect()), bad]);
        let mut absent = vec![VILLAGE_C];
        if code != VILLAGE_A {
            absent.push(&code);
        }
        refused(&app, &root, &body, &[pointer], &absent);
    }
    // A existed before and is untouched by the refused re-import.
    let a = app.get(&format!("/v1/units/{VILLAGE_A}"), Some(&root));
    assert_eq!(a.status, 200);
    assert_eq!(a.body["name"], "甲村");

    // A parent–child cycle inside one import.
    let cycle = collection(vec![
        village(VILLAGE_C, c_rect()),
        feature("990109", "环镇", "township", Some("990109001"), Value::Null),
        feature("990109001", "环村", "village", Some("990109"), Value::Null),
    ]);
    refused(
        &app,
        &root,
        &cycle,
        &[
            "/features/1/properties/parent_code",
            "/features/2/properties/parent_code",
        ],
        &[VILLAGE_C, "990109", "990109001"],
    );

    // Several tree problems at once, each with its own index.
    let body = collection(vec![
        village(VILLAGE_C, c_rect()),
        feature("990101004", "无父村", "village", Some("990199"), c_rect()),
        feature("990100004", "越级村", "village", Some(COUNTY), c_rect()),
        village(VILLAGE_C, c_rect()),
        village(VILLAGE_B, c_rect()),
        village("990101005", c_rect()),
    ]);
    refused(
        &app,
        &root,
        &body,
        &[
            "/features/1/properties/parent_code",
            "/features/2/properties/level",
            "/features/3/properties/code",
            "/features/4/properties/code",
        ],
        &[VILLAGE_C, "990101004", "990100004", "990101005"],
    );
}

/// The problem for a parent that exists nowhere should say so; the server has a message for
/// it ("unknown parent unit …") but answers with the one meant for cycles instead.
fn unknown_parent_is_reported_as_unknown(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let body = collection(vec![feature(
        "990101004",
        "无父村",
        "village",
        Some("990199"),
        c_rect(),
    )]);
    let resp = refused(
        &app,
        &root,
        &body,
        &["/features/0/properties/parent_code"],
        &["990101004"],
    );
    let reason = resp.body["errors"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("990199") && reason.contains("unknown"),
        "the reason should name the unknown parent: {reason}"
    );
}

fn null_geometry_multipolygon_and_tolerance_are_stored(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let multi = json!({
        "type": "MultiPolygon",
        "coordinates": [
            [[[117.00, 34.20], [117.01, 34.20], [117.01, 34.21], [117.00, 34.21], [117.00, 34.20]]],
            [[[117.02, 34.20], [117.03, 34.20], [117.03, 34.21], [117.02, 34.21], [117.02, 34.20]]],
        ],
    });
    let mut with_tolerance = feature(
        "990102001",
        "两片村",
        "village",
        Some("990102"),
        multi.clone(),
    );
    with_tolerance["properties"]["tolerance_m"] = json!(25.5);
    // Extra properties and members GIS tools add are ignored.
    with_tolerance["properties"]["population"] = json!(1200);
    with_tolerance["id"] = json!(17);
    let before = app.sql_count("SELECT count(*) FROM ledger");
    let resp = import(
        &app,
        &root,
        &collection(vec![
            with_tolerance,
            feature("990102", "无界镇", "township", Some(COUNTY), Value::Null),
        ]),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(resp.body["imported"], 2);
    let units = resp.body["units"].as_array().unwrap();
    let mut codes: Vec<&str> = units.iter().map(|u| u["code"].as_str().unwrap()).collect();
    codes.sort_unstable();
    assert_eq!(codes, ["990102", "990102001"]);
    let mut seqs: Vec<i64> = units.iter().map(|u| u["seq"].as_i64().unwrap()).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, [before + 1, before + 2]);
    assert_eq!(app.sql_count("SELECT count(*) FROM ledger"), before + 2);

    let township = app.get("/v1/units/990102", Some(&root));
    assert_eq!(township.status, 200, "{}", township.text);
    assert_eq!(township.body["boundary"], Value::Null);
    assert_eq!(township.body["level"], "township");
    assert_eq!(township.body["parent_code"], COUNTY);
    assert_eq!(township.body["tolerance_m"], 0.0);

    let village = app.get("/v1/units/990102001", Some(&root));
    assert_eq!(village.status, 200, "{}", village.text);
    assert_eq!(village.body["boundary"], multi);
    assert_eq!(village.body["tolerance_m"], 25.5);
    assert_eq!(village.body["parent_code"], "990102");
    assert_eq!(village.body["name"], "两片村");

    let children = app.get(&format!("/v1/units/{COUNTY}/children"), Some(&root));
    assert_eq!(children.status, 200);
    assert_eq!(
        children.body["items"],
        json!([
            {"code": TOWNSHIP, "name": "测试镇", "level": "township", "parent_code": COUNTY, "has_boundary": true},
            {"code": "990102", "name": "无界镇", "level": "township", "parent_code": COUNTY, "has_boundary": false},
        ])
    );

    // A cadre of the two-part village is inside in either part.
    let id = app.create_person(&root, "cadre-m", "cadre", "990102001");
    app.assign(&root, &id, "990102001", "2020-01-01", None);
    let token = app.login("cadre-m", CADRE_PASSWORD);
    for lon in [117.005, 117.025] {
        let resp = app.post("/v1/records", Some(&token), &check_in(lon, 34.205, 10.0));
        assert_eq!(resp.status, 201, "{}", resp.text);
        assert_eq!(resp.body["verdict"]["geo"], "inside", "{}", resp.text);
        assert_eq!(resp.body["verdict"]["actual_unit_code"], "990102001");
    }
    // Between the parts: outside; the township has no boundary and the county's ends at
    // 116.97, so no unit holds the point.
    let gap = app.post(
        "/v1/records",
        Some(&token),
        &check_in(117.015, 34.205, 10.0),
    );
    assert_eq!(gap.body["verdict"]["geo"], "outside", "{}", gap.text);
    assert_eq!(gap.body["verdict"]["actual_unit_code"], Value::Null);
    let d = gap.body["verdict"]["distance_to_boundary_m"]
        .as_f64()
        .unwrap();
    assert!((-600.0..-400.0).contains(&d), "distance {d}");

    // A village without a boundary: the cadre's fixes are unverifiable, but stored.
    let resp = import(
        &app,
        &root,
        &collection(vec![feature(
            "990102002",
            "无界村",
            "village",
            Some("990102"),
            Value::Null,
        )]),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let id = app.create_person(&root, "cadre-n", "cadre", "990102002");
    app.assign(&root, &id, "990102002", "2020-01-01", None);
    let token = app.login("cadre-n", CADRE_PASSWORD);
    let resp = app.post(
        "/v1/records",
        Some(&token),
        &check_in(117.005, 34.205, 10.0),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(resp.body["verdict"]["geo"], "unverifiable");
    assert_eq!(resp.body["verdict"]["roster"], "assigned");
    assert_eq!(resp.body["verdict"]["unit_code"], "990102002");
    assert_eq!(resp.body["verdict"]["distance_to_boundary_m"], Value::Null);
}

fn units_and_children_read_back(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();

    let county = app.get(&format!("/v1/units/{COUNTY}"), Some(&root));
    assert_eq!(county.status, 200, "{}", county.text);
    assert_eq!(county.body["code"], COUNTY);
    assert_eq!(county.body["name"], "测试县");
    assert_eq!(county.body["level"], "county");
    assert_eq!(county.body["parent_code"], Value::Null);
    assert_eq!(county.body["tolerance_m"], 0.0);
    assert_eq!(county.body["boundary"], rect(116.88, 34.18, 116.97, 34.24));
    assert!(county.body["seq"].as_i64().unwrap() >= 1);

    // Imported out of order, with 3D positions whose altitude is dropped.
    let ring_3d = json!([
        [116.96, 34.20, 30.0],
        [116.98, 34.20, 31.0],
        [116.98, 34.22, 32.0],
        [116.96, 34.22, 33.0],
        [116.96, 34.20, 30.0]
    ]);
    let resp = import(
        &app,
        &root,
        &collection(vec![
            village("990101009", Value::Null),
            village("990101005", polygon(ring_3d)),
        ]),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    let five = app.get("/v1/units/990101005", Some(&root));
    assert_eq!(five.body["boundary"], c_rect());

    let children = app.get(&format!("/v1/units/{TOWNSHIP}/children"), Some(&root));
    assert_eq!(children.status, 200, "{}", children.text);
    let items = children.body["items"].as_array().unwrap();
    let codes: Vec<&str> = items.iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(codes, [VILLAGE_A, VILLAGE_B, "990101005", "990101009"]);
    let boundaries: Vec<bool> = items
        .iter()
        .map(|i| i["has_boundary"].as_bool().unwrap())
        .collect();
    assert_eq!(boundaries, [true, true, true, false]);
    for item in items {
        assert_eq!(item["level"], "village");
        assert_eq!(item["parent_code"], TOWNSHIP);
        assert!(
            item.get("boundary").is_none(),
            "listings carry no boundary: {item}"
        );
    }

    let none = app.get(&format!("/v1/units/{VILLAGE_A}/children"), Some(&root));
    assert_eq!(none.status, 200);
    assert_eq!(none.body["items"], json!([]));

    app.get("/v1/units/990199", Some(&root)).problem(404);
    app.get("/v1/units/990199/children", Some(&root))
        .problem(404);
}

fn units_are_visible_in_scope_and_up_the_path(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let cadre = app.cadre_in_a(&root, "cadre-a");
    for code in [COUNTY, TOWNSHIP, VILLAGE_A] {
        let resp = app.get(&format!("/v1/units/{code}"), Some(&cadre.token));
        assert_eq!(resp.status, 200, "{code}: {}", resp.text);
    }
    let b = app.get(&format!("/v1/units/{VILLAGE_B}"), Some(&cadre.token));
    assert_eq!(b.problem(403)["type"], "urn:fieldtrail:problem:forbidden");
    app.get(
        &format!("/v1/units/{VILLAGE_B}/children"),
        Some(&cadre.token),
    )
    .problem(403);

    app.create_person(&root, "super-b", "supervisor", VILLAGE_B);
    let supervisor = app.login("super-b", CADRE_PASSWORD);
    app.get(&format!("/v1/units/{VILLAGE_A}"), Some(&supervisor))
        .problem(403);
    assert_eq!(
        app.get(&format!("/v1/units/{VILLAGE_B}"), Some(&supervisor))
            .status,
        200
    );
    assert_eq!(
        app.get(&format!("/v1/units/{COUNTY}"), Some(&supervisor))
            .status,
        200
    );
}

/// A cadre may not read a neighbouring village (403), so listing the township's children
/// should not hand out that village's code and name either.
fn children_listing_does_not_reveal_units_outside_scope(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let cadre = app.cadre_in_a(&root, "cadre-a");
    app.get(&format!("/v1/units/{VILLAGE_B}"), Some(&cadre.token))
        .problem(403);
    let children = app.get(
        &format!("/v1/units/{TOWNSHIP}/children"),
        Some(&cadre.token),
    );
    if children.status == 200 {
        let codes: Vec<&str> = children.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, [VILLAGE_A], "{}", children.text);
    } else {
        children.problem(403);
    }
}

fn only_admins_import(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let cadre = app.cadre_in_a(&root, "cadre-a");
    app.create_person(&root, "super-t", "supervisor", TOWNSHIP);
    app.create_person(&root, "inspector-c", "inspector", COUNTY);
    let body = collection(vec![village(VILLAGE_C, c_rect())]);
    let tokens = [
        cadre.token.clone(),
        app.login("super-t", CADRE_PASSWORD),
        app.login("inspector-c", CADRE_PASSWORD),
    ];
    for token in &tokens {
        let before = stored(&app);
        let resp = import(&app, token, &body);
        assert_eq!(
            resp.problem(403)["type"],
            "urn:fieldtrail:problem:forbidden"
        );
        assert_eq!(stored(&app), before);
    }
    app.get(&format!("/v1/units/{VILLAGE_C}"), Some(&root))
        .problem(404);
}

fn scoped_admins_import_only_inside_their_subtree(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    // A second township, for an admin of the first one to try to reach.
    let resp = import(
        &app,
        &root,
        &collection(vec![feature(
            "990102",
            "邻镇",
            "township",
            Some(COUNTY),
            Value::Null,
        )]),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    app.create_person(&root, "admin-t", "admin", TOWNSHIP);
    let admin = app.login("admin-t", CADRE_PASSWORD);

    // Under their own township: fine.
    let ok = import(
        &app,
        &admin,
        &collection(vec![village(VILLAGE_C, c_rect())]),
    );
    assert_eq!(ok.status, 201, "{}", ok.text);
    assert_eq!(
        app.get(&format!("/v1/units/{VILLAGE_C}"), Some(&admin))
            .status,
        200
    );

    // A sibling township under the county: the parent is outside their scope. The server
    // answers 422 naming the parent (not 403), and stores nothing of the import.
    let sibling = collection(vec![
        village("990101004", c_rect()),
        feature("990103", "新镇", "township", Some(COUNTY), Value::Null),
    ]);
    let resp = refused(
        &app,
        &admin,
        &sibling,
        &["/features/1/properties/parent_code"],
        &["990101004", "990103"],
    );
    assert!(resp.body["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("scope"));

    // A village in the neighbouring township.
    refused(
        &app,
        &admin,
        &collection(vec![feature(
            "990102001",
            "邻村",
            "village",
            Some("990102"),
            c_rect(),
        )]),
        &["/features/0/properties/parent_code"],
        &[],
    );
    app.get("/v1/units/990102001", Some(&root)).problem(404);

    // A new root unit.
    refused(
        &app,
        &admin,
        &collection(vec![feature("880000", "别市", "city", None, Value::Null)]),
        &["/features/0/properties/parent_code"],
        &[],
    );
    app.get("/v1/units/880000", Some(&root)).problem(404);

    // Root may add a new root.
    let new_root = import(
        &app,
        &root,
        &collection(vec![feature("880000", "别市", "city", None, Value::Null)]),
    );
    assert_eq!(new_root.status, 201, "{}", new_root.text);
}

/// 30 m inside the east edge of a village, with accuracy 10 m: inside without tolerance, on
/// the boundary band with a 50 m tolerance.
fn tolerance_widens_the_boundary_band(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let root = app.with_county();
    let mut tight = feature(
        "990102001",
        "严村",
        "village",
        Some("990102"),
        rect(117.00, 34.20, 117.02, 34.22),
    );
    tight["properties"]["tolerance_m"] = json!(0.0);
    let mut loose = feature(
        "990102002",
        "宽村",
        "village",
        Some("990102"),
        rect(117.03, 34.20, 117.05, 34.22),
    );
    loose["properties"]["tolerance_m"] = json!(50.0);
    let resp = import(
        &app,
        &root,
        &collection(vec![
            feature("990102", "二镇", "township", Some(COUNTY), Value::Null),
            tight,
            loose,
        ]),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    assert_eq!(
        app.get("/v1/units/990102002", Some(&root)).body["tolerance_m"],
        50.0
    );

    let lat: f64 = 34.21;
    let metres_per_degree_lon = 6_371_008.8_f64.to_radians() * lat.to_radians().cos();
    let inset = 30.0 / metres_per_degree_lon;
    let mut verdicts = Vec::new();
    for (username, code, east_edge) in [
        ("cadre-t", "990102001", 117.02),
        ("cadre-l", "990102002", 117.05),
    ] {
        let id = app.create_person(&root, username, "cadre", code);
        app.assign(&root, &id, code, "2020-01-01", None);
        let token = app.login(username, CADRE_PASSWORD);
        let resp = app.post(
            "/v1/records",
            Some(&token),
            &check_in(east_edge - inset, lat, 10.0),
        );
        assert_eq!(resp.status, 201, "{}", resp.text);
        let verdict = resp.body["verdict"].clone();
        assert_eq!(verdict["unit_code"], code);
        assert_eq!(verdict["actual_unit_code"], code);
        assert_eq!(verdict["roster"], "assigned");
        let d = verdict["distance_to_boundary_m"].as_f64().unwrap();
        assert!((29.0..31.0).contains(&d), "distance {d}");
        verdicts.push(verdict["geo"].clone());
    }
    assert_eq!(verdicts, ["inside", "boundary"]);
}

both_backends!(
    invalid_geometry_is_named_by_feature_index,
    invalid_properties_are_named_by_feature_index,
    tree_problems_are_named_by_feature_index,
    null_geometry_multipolygon_and_tolerance_are_stored,
    units_and_children_read_back,
    units_are_visible_in_scope_and_up_the_path,
    only_admins_import,
    scoped_admins_import_only_inside_their_subtree,
    tolerance_widens_the_boundary_band,
);

both_backends!(unknown_parent_is_reported_as_unknown);

both_backends!(children_listing_does_not_reveal_units_outside_scope);
