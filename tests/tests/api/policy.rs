//! Policies (docs/records.md, "Policies"): `PUT`/`GET /v1/units/{code}/policy`, inheritance down
//! the tree with the source of every value, ledger entries, range checks, who may set them, and
//! policies actually changing how records are judged.

use fieldtrail_tests::both_backends;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, Resp, TestApp};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

const KEYS: [&str; 18] = [
    "residency",
    "accuracy_limit_m",
    "tolerance_m",
    "household_radius_m",
    "visit_interval_days",
    "max_paired_households",
    "speed_limit_kmh",
    "late_sync_hours",
    "clock_skew_limit_s",
    "challenge_minutes",
    "max_challenges_per_month",
    "night_window",
    "negative_rules",
    "escalation",
    "alerts",
    "read_reason_required",
    "retention_days",
    "max_submissions_per_device_minute",
];

fn ledger_size(app: &TestApp) -> i64 {
    app.sql_count("SELECT COUNT(*) FROM ledger")
}

fn policy_set_entries(app: &TestApp) -> i64 {
    app.sql_count("SELECT COUNT(*) FROM ledger WHERE kind = 'policy.set'")
}

fn path(unit: &str) -> String {
    format!("/v1/units/{unit}/policy")
}

fn get_policy(app: &TestApp, token: &str, unit: &str) -> Value {
    let resp = app.get(&path(unit), Some(token));
    assert_eq!(resp.status, 200, "GET policy of {unit}: {}", resp.text);
    assert_eq!(resp.body["unit_code"], unit);
    resp.body
}

fn put_policy(app: &TestApp, token: &str, unit: &str, policy: &Value) -> Resp {
    let resp = app.put(&path(unit), Some(token), policy);
    assert!(
        resp.status == 200 || resp.status == 201,
        "PUT policy {policy} on {unit}: {} {}",
        resp.status,
        resp.text
    );
    resp
}

/// A number however it is spelled (`500` and `500.0` are the same setting).
fn num(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

/// The header of one ledger entry, read as root through `GET /v1/ledger/entries`.
fn assert_defaults(policy: &Value, skip: &[&str]) {
    let expect = [
        ("accuracy_limit_m", 500.0),
        ("household_radius_m", 100.0),
        ("visit_interval_days", 30.0),
        ("max_paired_households", 5.0),
        ("speed_limit_kmh", 120.0),
        ("late_sync_hours", 72.0),
        ("clock_skew_limit_s", 300.0),
        ("challenge_minutes", 30.0),
        ("max_challenges_per_month", 2.0),
    ];
    for (key, value) in expect {
        if !skip.contains(&key) {
            assert_eq!(num(&policy[key]), value, "{key} in {policy}");
        }
    }
    if !skip.contains(&"residency") {
        let residency = &policy["residency"];
        assert_eq!(num(&residency["days_per_week"]), 5.0, "{policy}");
        assert_eq!(num(&residency["nights_per_week"]), 4.0, "{policy}");
        assert_eq!(residency["days_per_month"], Value::Null, "{policy}");
    }
    if !skip.contains(&"night_window") {
        assert_eq!(
            policy["night_window"],
            json!({"evening_from": "19:00", "morning_until": "09:00"}),
            "{policy}"
        );
    }
    if !skip.contains(&"negative_rules") {
        assert_eq!(
            policy["negative_rules"],
            json!({"residency_below": true, "spot_check_missed": true, "spot_check_absent": true,
                   "verification_denied": true, "visit_overdue": true}),
            "{policy}"
        );
    }
    if !skip.contains(&"alerts") {
        for trigger in [
            "outside",
            "not_assigned",
            "mock_location",
            "impossible_speed",
            "spot_check_absent",
            "spot_check_missed",
            "household_denied",
            "negative_item_proposed",
        ] {
            assert_eq!(policy["alerts"][trigger], true, "{policy}");
        }
    }
    if !skip.contains(&"read_reason_required") {
        assert_eq!(policy["read_reason_required"], false, "{policy}");
    }
    if !skip.contains(&"max_submissions_per_device_minute") {
        assert_eq!(policy["max_submissions_per_device_minute"], 600, "{policy}");
    }
    if !skip.contains(&"retention_days") {
        assert_eq!(policy["retention_days"], 1_095, "{policy}");
    }
    if !skip.contains(&"escalation") {
        assert_eq!(
            policy["escalation"],
            json!({"window_days": 365, "levels": [{"at": 1, "name": "学习"},
                   {"at": 2, "name": "约谈"}, {"at": 3, "name": "处罚"}]}),
            "{policy}"
        );
    }
}

fn defaults_until_someone_sets_a_value(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let view = get_policy(&app, &admin, VILLAGE_A);
    assert_defaults(&view["policy"], &[]);
    // The village's tolerance is the one imported with it (none given: 0 m).
    assert_eq!(num(&view["policy"]["tolerance_m"]), 0.0, "{view}");
    for key in KEYS {
        let expect = if key == "tolerance_m" {
            "import"
        } else {
            "default"
        };
        assert_eq!(view["sources"][key], expect, "source of {key}: {view}");
    }
    assert_eq!(view["sources"].as_object().unwrap().len(), KEYS.len());
    assert_eq!(view["own"], json!({}));
    assert_eq!(view["seq"], Value::Null, "no policy entry yet");

    for unit in [COUNTY, TOWNSHIP, VILLAGE_B] {
        let view = get_policy(&app, &admin, unit);
        assert_defaults(&view["policy"], &[]);
        assert_eq!(view["own"], json!({}));
        assert_eq!(view["seq"], Value::Null);
    }

    // A village imported with a tolerance reports it, from "import"; a unit up the tree that
    // sets one overrides the imported value, and the village's own setting overrides both.
    let mut village = feature(
        "990101003",
        "丙村",
        "village",
        Some(TOWNSHIP),
        rect(116.951, 34.195, 116.955, 34.199),
    );
    village["properties"]["tolerance_m"] = json!(25.0);
    let resp = app.post("/v1/units/import", Some(&admin), &collection(vec![village]));
    assert_eq!(resp.status, 201, "{}", resp.text);
    let view = get_policy(&app, &admin, "990101003");
    assert_eq!(num(&view["policy"]["tolerance_m"]), 25.0, "{view}");
    assert_eq!(view["sources"]["tolerance_m"], "import");
    put_policy(&app, &admin, TOWNSHIP, &json!({"tolerance_m": 40}));
    let view = get_policy(&app, &admin, "990101003");
    assert_eq!(num(&view["policy"]["tolerance_m"]), 40.0, "{view}");
    assert_eq!(view["sources"]["tolerance_m"], TOWNSHIP);
    put_policy(&app, &admin, "990101003", &json!({"tolerance_m": 5}));
    let view = get_policy(&app, &admin, "990101003");
    assert_eq!(num(&view["policy"]["tolerance_m"]), 5.0, "{view}");
    assert_eq!(view["sources"]["tolerance_m"], "990101003");
}

fn settings_are_inherited_down_the_tree(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let entries = ledger_size(&app);
    let policy_entries = policy_set_entries(&app);

    // The county sets one value; every unit below inherits it, naming the county as source.
    put_policy(&app, &admin, COUNTY, &json!({"max_paired_households": 3}));
    assert_eq!(ledger_size(&app), entries + 1, "one PUT, one ledger entry");
    assert_eq!(policy_set_entries(&app), policy_entries + 1);
    let county_seq = app.sql_count("SELECT MAX(seq) FROM ledger");
    let county = get_policy(&app, &admin, COUNTY);
    assert_eq!(county["own"].as_object().unwrap().len(), 1, "{county}");
    assert_eq!(
        num(&county["own"]["max_paired_households"]),
        3.0,
        "{county}"
    );
    assert_eq!(county["seq"], county_seq);
    assert_eq!(county["sources"]["max_paired_households"], COUNTY);
    let header = app.entry_header(&admin, county_seq);
    assert_eq!(header["kind"], "policy.set", "{header}");
    assert_eq!(header["unit"], COUNTY, "{header}");
    for unit in [TOWNSHIP, VILLAGE_A, VILLAGE_B] {
        let view = get_policy(&app, &admin, unit);
        assert_eq!(num(&view["policy"]["max_paired_households"]), 3.0, "{unit}");
        assert_eq!(view["sources"]["max_paired_households"], COUNTY, "{unit}");
        assert_eq!(view["sources"]["accuracy_limit_m"], "default", "{unit}");
        assert_defaults(&view["policy"], &["max_paired_households"]);
        assert_eq!(view["own"], json!({}), "{unit}");
        assert_eq!(
            view["seq"],
            Value::Null,
            "{unit} has no policy entry of its own"
        );
    }

    // The village overrides it and sets more; the nearest unit wins, only for that village.
    let residency = json!({"days_per_week": 4, "nights_per_week": 3, "days_per_month": 20});
    let own = json!({"max_paired_households": 4, "accuracy_limit_m": 200, "residency": residency});
    put_policy(&app, &admin, VILLAGE_A, &own);
    assert_eq!(ledger_size(&app), entries + 2);
    assert_eq!(policy_set_entries(&app), policy_entries + 2);
    let village_seq = app.sql_count("SELECT MAX(seq) FROM ledger");
    let village = get_policy(&app, &admin, VILLAGE_A);
    assert_eq!(village["seq"], village_seq);
    assert_eq!(num(&village["policy"]["max_paired_households"]), 4.0);
    assert_eq!(num(&village["policy"]["accuracy_limit_m"]), 200.0);
    assert_eq!(num(&village["policy"]["residency"]["days_per_week"]), 4.0);
    assert_eq!(num(&village["policy"]["residency"]["nights_per_week"]), 3.0);
    assert_eq!(num(&village["policy"]["residency"]["days_per_month"]), 20.0);
    for key in ["max_paired_households", "accuracy_limit_m", "residency"] {
        assert_eq!(village["sources"][key], VILLAGE_A, "{key}");
    }
    assert_eq!(village["sources"]["speed_limit_kmh"], "default");
    assert_eq!(num(&village["own"]["max_paired_households"]), 4.0);
    assert_eq!(num(&village["own"]["accuracy_limit_m"]), 200.0);
    assert_eq!(
        village["own"].as_object().unwrap().len(),
        3,
        "{}",
        village["own"]
    );
    let header = app.entry_header(&admin, village_seq);
    assert_eq!(header["kind"], "policy.set");
    assert_eq!(header["unit"], VILLAGE_A);
    // The county and the sibling village are untouched.
    assert_eq!(get_policy(&app, &admin, COUNTY)["seq"], county_seq);
    let sibling = get_policy(&app, &admin, VILLAGE_B);
    assert_eq!(num(&sibling["policy"]["max_paired_households"]), 3.0);
    assert_eq!(num(&sibling["policy"]["accuracy_limit_m"]), 500.0);

    // A PUT replaces the unit's overrides as a whole.
    put_policy(&app, &admin, VILLAGE_A, &json!({"speed_limit_kmh": 90}));
    let village = get_policy(&app, &admin, VILLAGE_A);
    assert_eq!(village["own"].as_object().unwrap().len(), 1, "{village}");
    assert_eq!(num(&village["own"]["speed_limit_kmh"]), 90.0);
    assert_eq!(village["sources"]["max_paired_households"], COUNTY);
    assert_eq!(village["sources"]["accuracy_limit_m"], "default");
    assert_eq!(num(&village["policy"]["max_paired_households"]), 3.0);

    // `{}` clears them: back to the county's and the defaults, and still a ledger entry.
    put_policy(&app, &admin, VILLAGE_A, &json!({}));
    assert_eq!(ledger_size(&app), entries + 4);
    assert_eq!(policy_set_entries(&app), policy_entries + 4);
    let cleared_seq = app.sql_count("SELECT MAX(seq) FROM ledger");
    let village = get_policy(&app, &admin, VILLAGE_A);
    assert_eq!(village["own"], json!({}));
    assert_eq!(
        village["seq"], cleared_seq,
        "seq is the latest policy entry, also one that clears"
    );
    assert_eq!(num(&village["policy"]["max_paired_households"]), 3.0);
    assert_eq!(village["sources"]["max_paired_households"], COUNTY);
    assert_defaults(&village["policy"], &["max_paired_households"]);
    for key in KEYS {
        if key != "max_paired_households" && key != "tolerance_m" {
            assert_eq!(village["sources"][key], "default", "{key}");
        }
    }
}

/// Every value out of its documented range is refused with a pointer naming it, all at once,
/// and nothing is stored; the edges of every range are accepted.
fn out_of_range_settings_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    put_policy(&app, &admin, VILLAGE_A, &json!({"speed_limit_kmh": 90}));
    let before = ledger_size(&app);
    let view_before = get_policy(&app, &admin, VILLAGE_A);

    let cases = [
        (
            json!({"max_submissions_per_device_minute": 0}),
            "/max_submissions_per_device_minute",
        ),
        (
            json!({"max_submissions_per_device_minute": 100_001}),
            "/max_submissions_per_device_minute",
        ),
        (json!({"accuracy_limit_m": 0}), "/accuracy_limit_m"),
        (json!({"accuracy_limit_m": 10_001}), "/accuracy_limit_m"),
        (json!({"accuracy_limit_m": -5}), "/accuracy_limit_m"),
        (json!({"accuracy_limit_m": "500"}), "/accuracy_limit_m"),
        (json!({"tolerance_m": -1}), "/tolerance_m"),
        (json!({"tolerance_m": 10_001}), "/tolerance_m"),
        (json!({"household_radius_m": 0}), "/household_radius_m"),
        (json!({"household_radius_m": 5_001}), "/household_radius_m"),
        (json!({"visit_interval_days": 0}), "/visit_interval_days"),
        (json!({"visit_interval_days": 367}), "/visit_interval_days"),
        (
            json!({"max_paired_households": -1}),
            "/max_paired_households",
        ),
        (
            json!({"max_paired_households": 101}),
            "/max_paired_households",
        ),
        (json!({"speed_limit_kmh": 0}), "/speed_limit_kmh"),
        (json!({"speed_limit_kmh": 2_001}), "/speed_limit_kmh"),
        (json!({"late_sync_hours": -1}), "/late_sync_hours"),
        (json!({"late_sync_hours": 8_761}), "/late_sync_hours"),
        (json!({"clock_skew_limit_s": 0}), "/clock_skew_limit_s"),
        (json!({"clock_skew_limit_s": 86_401}), "/clock_skew_limit_s"),
        (json!({"challenge_minutes": 0}), "/challenge_minutes"),
        (json!({"challenge_minutes": 1_441}), "/challenge_minutes"),
        (
            json!({"max_challenges_per_month": -1}),
            "/max_challenges_per_month",
        ),
        (
            json!({"max_challenges_per_month": 32}),
            "/max_challenges_per_month",
        ),
        (
            json!({"residency": {"days_per_week": 8, "nights_per_week": 4, "days_per_month": null}}),
            "/residency/days_per_week",
        ),
        (
            json!({"residency": {"days_per_week": 5, "nights_per_week": -1, "days_per_month": null}}),
            "/residency/nights_per_week",
        ),
        (
            json!({"residency": {"days_per_week": 5, "nights_per_week": 4, "days_per_month": 32}}),
            "/residency/days_per_month",
        ),
    ];
    for (body, pointer) in &cases {
        let resp = app.put(&path(VILLAGE_A), Some(&admin), body);
        resp.problem(422);
        assert_eq!(
            resp.pointers(),
            [pointer.to_owned()],
            "{body}: {}",
            resp.text
        );
        // A good value next to the bad one is not stored either.
        let mut mixed = body.clone();
        mixed["speed_limit_kmh"] = json!(50);
        if pointer != &"/speed_limit_kmh" {
            let resp = app.put(&path(VILLAGE_A), Some(&admin), &mixed);
            assert_eq!(resp.problem(422)["errors"].as_array().unwrap().len(), 1);
        }
    }
    // All rules are checked at once: one answer names every broken setting.
    let all_wrong = json!({
        "accuracy_limit_m": 0, "tolerance_m": -1, "household_radius_m": 0,
        "visit_interval_days": 0, "max_paired_households": 101, "speed_limit_kmh": 0,
        "late_sync_hours": -1, "clock_skew_limit_s": 0,
        "challenge_minutes": 0, "max_challenges_per_month": 32,
        "night_window": {"evening_from": "19:60", "morning_until": "09:00"},
        "residency": {"days_per_week": 8, "nights_per_week": 8, "days_per_month": 32},
        "negative_rules": {"visit_overdue": "no", "speeding": true},
        "escalation": {"window_days": 0, "levels": [{"at": 2, "name": "约谈"}, {"at": 2, "name": ""}]},
    });
    let resp = app.put(&path(VILLAGE_A), Some(&admin), &all_wrong);
    resp.problem(422);
    let mut pointers = resp.pointers();
    pointers.sort();
    let mut expected: Vec<String> = [
        "/accuracy_limit_m",
        "/tolerance_m",
        "/household_radius_m",
        "/visit_interval_days",
        "/max_paired_households",
        "/speed_limit_kmh",
        "/late_sync_hours",
        "/clock_skew_limit_s",
        "/challenge_minutes",
        "/max_challenges_per_month",
        "/night_window/evening_from",
        "/residency/days_per_week",
        "/residency/nights_per_week",
        "/residency/days_per_month",
        "/negative_rules/visit_overdue",
        "/negative_rules/speeding",
        "/escalation/window_days",
        "/escalation/levels/1/name",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    expected.sort();
    assert_eq!(pointers, expected, "{}", resp.text);

    // Unknown settings are named, not ignored.
    for (body, name) in [
        (json!({"speed_limit": 100}), "speed_limit"),
        (
            json!({"max_households": 3, "speed_limit_kmh": 90}),
            "max_households",
        ),
        (
            json!({"residency": {"days": 5, "nights_per_week": 4, "days_per_month": null}}),
            "days",
        ),
    ] {
        let resp = app.put(&path(VILLAGE_A), Some(&admin), &body);
        assert!(
            (400..500).contains(&resp.status),
            "{body}: {} {}",
            resp.status,
            resp.text
        );
        resp.problem(resp.status);
        assert!(resp.text.contains(name), "{body}: {}", resp.text);
    }
    for body in [json!([]), json!(5), json!("policy")] {
        let resp = app.put(&path(VILLAGE_A), Some(&admin), &body);
        assert!((400..500).contains(&resp.status), "{body}: {}", resp.text);
        resp.problem(resp.status);
    }

    assert_eq!(ledger_size(&app), before, "refused policies store nothing");
    assert_eq!(get_policy(&app, &admin, VILLAGE_A), view_before);

    // The edges of every range are allowed.
    let edges = json!({
        "accuracy_limit_m": 1, "tolerance_m": 0, "household_radius_m": 5_000,
        "visit_interval_days": 366, "max_paired_households": 0, "speed_limit_kmh": 2_000,
        "late_sync_hours": 8_760, "clock_skew_limit_s": 86_400,
        "challenge_minutes": 1_440, "max_challenges_per_month": 0,
        "night_window": {"evening_from": "23:59", "morning_until": "00:00"},
        "residency": {"days_per_week": 7, "nights_per_week": 0, "days_per_month": 31},
        "negative_rules": {"residency_below": true, "spot_check_missed": false,
            "spot_check_absent": true, "verification_denied": true, "visit_overdue": false},
        "escalation": {"window_days": 3_650, "levels": [{"at": 1, "name": "谈心谈话"},
            {"at": 1_000, "name": "x"}]},
        "alerts": {"outside": false, "not_assigned": true, "mock_location": true,
            "impossible_speed": false, "spot_check_absent": true, "spot_check_missed": true,
            "household_denied": true, "negative_item_proposed": true},
        "read_reason_required": true,
        "retention_days": 36_500,
        "max_submissions_per_device_minute": 100_000,
    });
    put_policy(&app, &admin, VILLAGE_A, &edges);
    let view = get_policy(&app, &admin, VILLAGE_A);
    for key in KEYS {
        if [
            "residency",
            "night_window",
            "negative_rules",
            "escalation",
            "alerts",
            "read_reason_required",
        ]
        .contains(&key)
        {
            assert_eq!(view["sources"][key], VILLAGE_A, "{key}");
            assert_eq!(view["own"][key], edges[key], "{key}");
            continue;
        }
        assert_eq!(num(&view["own"][key]), num(&edges[key]), "own {key}");
        assert_eq!(num(&view["policy"][key]), num(&edges[key]), "policy {key}");
        assert_eq!(view["sources"][key], VILLAGE_A, "{key}");
    }
    for part in ["days_per_week", "nights_per_week", "days_per_month"] {
        assert_eq!(
            num(&view["policy"]["residency"][part]),
            num(&edges["residency"][part])
        );
    }
    put_policy(
        &app,
        &admin,
        VILLAGE_A,
        &json!({"accuracy_limit_m": 10_000, "tolerance_m": 10_000, "household_radius_m": 1,
                "visit_interval_days": 1, "max_paired_households": 100, "speed_limit_kmh": 1,
                "late_sync_hours": 0, "clock_skew_limit_s": 1, "challenge_minutes": 1,
                "max_challenges_per_month": 31}),
    );
    assert_eq!(ledger_size(&app), before + 2);
}

fn only_admins_over_the_unit_set_policy(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    app.create_person(&admin, "super-t", "supervisor", TOWNSHIP);
    app.create_person(&admin, "admin-b", "admin", VILLAGE_B);
    app.create_person(&admin, "admin-t", "admin", TOWNSHIP);
    let supervisor = app.login("super-t", CADRE_PASSWORD);
    let admin_b = app.login("admin-b", CADRE_PASSWORD);
    let admin_t = app.login("admin-t", CADRE_PASSWORD);
    let body = json!({"max_paired_households": 2});
    let before = ledger_size(&app);

    for (who, token, unit) in [
        ("cadre", cadre.token.as_str(), VILLAGE_A),
        ("supervisor", supervisor.as_str(), VILLAGE_A),
        ("admin of B, on A", admin_b.as_str(), VILLAGE_A),
        (
            "admin of B, on the township above",
            admin_b.as_str(),
            TOWNSHIP,
        ),
        (
            "admin of the township, on the county",
            admin_t.as_str(),
            COUNTY,
        ),
    ] {
        let resp = app.put(&path(unit), Some(token), &body);
        assert_eq!(
            resp.problem(403)["type"],
            "urn:fieldtrail:problem:forbidden",
            "{who}"
        );
    }
    app.put(&path(VILLAGE_A), None, &body).problem(401);
    let resp = app.put(&path("990101999"), Some(&admin), &body);
    assert_eq!(
        resp.problem(404)["type"],
        "urn:fieldtrail:problem:not-found"
    );
    app.get(&path("990101999"), Some(&admin)).problem(404);
    assert_eq!(ledger_size(&app), before, "refused PUTs store nothing");
    assert_eq!(get_policy(&app, &admin, VILLAGE_A)["own"], json!({}));

    // Admins may set policy on units in their scope.
    put_policy(&app, &admin_b, VILLAGE_B, &body);
    put_policy(&app, &admin_t, VILLAGE_A, &body);
    put_policy(&app, &admin_t, TOWNSHIP, &json!({"speed_limit_kmh": 100}));
    assert_eq!(ledger_size(&app), before + 3);
    let view = get_policy(&app, &admin, VILLAGE_A);
    assert_eq!(num(&view["own"]["max_paired_households"]), 2.0);
    assert_eq!(view["sources"]["speed_limit_kmh"], TOWNSHIP);
}

fn visit(household_id: &str, lon: f64, lat: f64, accuracy_m: f64, at: OffsetDateTime) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "kind": "household_visit",
        "captured_at": rfc3339(at),
        "device_id": "test-phone-1",
        "household_id": household_id,
        "position": {"lon": lon, "lat": lat, "accuracy_m": accuracy_m},
        "purpose": "入户走访",
    })
}

fn verdict(app: &TestApp, token: &str, body: &Value) -> Value {
    let resp = app.post("/v1/records", Some(token), body);
    assert_eq!(resp.status, 201, "{body} -> {}", resp.text);
    resp.body["verdict"].clone()
}

fn policies_change_how_records_are_judged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let t0 = OffsetDateTime::now_utc() - Duration::hours(1);
    let at = |minutes: i64| t0 + Duration::minutes(minutes);

    // household_radius_m: a visit about 60 m from the household with a 10 m fix.
    let home = app.household(&admin, VILLAGE_A, A_CENTRE.0, A_CENTRE.1);
    let near = (A_CENTRE.0, A_CENTRE.1 + 0.000_54);
    let within = verdict(
        &app,
        &cadre.token,
        &visit(&home, near.0, near.1, 10.0, at(0)),
    );
    let distance = num(&within["household_distance_m"]);
    assert!((55.0..65.0).contains(&distance), "{within}");
    assert_eq!(within["household_check"], "inside", "radius 100: {within}");
    assert_eq!(within["at_household"], true);
    put_policy(&app, &admin, VILLAGE_A, &json!({"household_radius_m": 30}));
    let beyond = verdict(
        &app,
        &cadre.token,
        &visit(&home, near.0, near.1, 11.0, at(1)),
    );
    assert_eq!(beyond["household_check"], "outside", "radius 30: {beyond}");
    assert_eq!(beyond["at_household"], false);
    put_policy(&app, &admin, VILLAGE_A, &json!({"household_radius_m": 65}));
    let partly = verdict(
        &app,
        &cadre.token,
        &visit(&home, near.0, near.1, 12.0, at(2)),
    );
    assert_eq!(partly["household_check"], "boundary", "radius 65: {partly}");
    assert_eq!(partly["at_household"], false);
    // With accuracy over the policy's limit the household check cannot be made either.
    put_policy(
        &app,
        &admin,
        VILLAGE_A,
        &json!({"household_radius_m": 65, "accuracy_limit_m": 10}),
    );
    let vague = verdict(
        &app,
        &cadre.token,
        &visit(&home, near.0, near.1, 13.0, at(3)),
    );
    assert_eq!(vague["household_check"], "unverifiable", "{vague}");
    assert_eq!(vague["at_household"], false);
    assert_eq!(vague["geo"], "unverifiable");

    // tolerance_m: ~46 m inside the east edge with a 20 m fix is inside with no tolerance,
    // and on the boundary once the village demands 50 m more.
    put_policy(&app, &admin, VILLAGE_A, &json!({}));
    let edge = |minutes: i64, accuracy: f64| {
        let mut body = check_in(116.9195, 34.21, accuracy);
        body["captured_at"] = json!(rfc3339(at(minutes)));
        body
    };
    let plain = verdict(&app, &cadre.token, &edge(10, 20.0));
    assert_eq!(plain["geo"], "inside", "{plain}");
    let d = num(&plain["distance_to_boundary_m"]);
    assert!((30.0..60.0).contains(&d), "{plain}");
    put_policy(&app, &admin, VILLAGE_A, &json!({"tolerance_m": 50}));
    let strict = verdict(&app, &cadre.token, &edge(11, 21.0));
    assert_eq!(strict["geo"], "boundary", "{strict}");
    assert!((num(&strict["distance_to_boundary_m"]) - d).abs() < 0.5);

    // max_paired_households: the county allows one pairing per cadre.
    put_policy(&app, &admin, COUNTY, &json!({"max_paired_households": 1}));
    let second_home = app.household(&admin, VILLAGE_A, 116.905, 34.205);
    let pair = |household_id: &str| {
        app.post(
            "/v1/pairings",
            Some(&admin),
            &json!({"person_id": cadre.id, "household_id": household_id,
                    "valid_from": "2025-01-01"}),
        )
    };
    let first = pair(&home);
    assert_eq!(first.status, 201, "{}", first.text);
    let before = ledger_size(&app);
    pair(&second_home).problem(409);
    assert_eq!(ledger_size(&app), before);
    put_policy(&app, &admin, COUNTY, &json!({}));
    assert_eq!(pair(&second_home).status, 201);
}

both_backends!(
    defaults_until_someone_sets_a_value,
    settings_are_inherited_down_the_tree,
    out_of_range_settings_are_refused,
    only_admins_over_the_unit_set_policy,
    policies_change_how_records_are_judged,
);
