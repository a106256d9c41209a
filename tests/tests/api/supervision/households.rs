//! Compliance, continued: paired households visited or overdue, spot-check results as reasons,
//! and who may read compliance over which units and periods.

use super::*;
use fieldtrail_tests::both_backends;
use fieldtrail_tests::Backend;

/// The household line of `household` in a row.
fn household_line(row: &Value, household: &str) -> Value {
    row["households"]
        .as_array()
        .unwrap_or_else(|| panic!("no households: {row}"))
        .iter()
        .find(|h| h["household_id"] == household)
        .cloned()
        .unwrap_or_else(|| panic!("no line for household {household}: {row}"))
}

/// (pairing_id, visits, last_visit, days_since_visit, overdue) of a household line.
fn figures(line: &Value) -> (Value, Value, Value, Value, Value) {
    (
        line["pairing_id"].clone(),
        line["visits"].clone(),
        line["last_visit"].clone(),
        line["days_since_visit"].clone(),
        line["overdue"].clone(),
    )
}

fn paired_households_visited_or_overdue(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let sup = app.supervisor(&admin, "sup-t", TOWNSHIP);
    let cadre = cadre_with(
        &app,
        &admin,
        "c-hh",
        VILLAGE_A,
        &[(VILLAGE_A, "2020-01-01", None)],
    );
    let points: Vec<(f64, f64)> = (0..6)
        .map(|i| (116.903 + 0.002 * f64::from(i), 34.205))
        .collect();
    let hh: Vec<String> = points
        .iter()
        .map(|p| app.household(&admin, VILLAGE_A, p.0, p.1))
        .collect();
    // h1..h4 and h6 paired (hh[0..4], hh[5]); h5 (hh[4]) not paired.
    let p1 = pairing(&app, &admin, &cadre.id, &hh[0], "2026-09-01", None);
    let p2 = pairing(&app, &admin, &cadre.id, &hh[1], "2026-09-01", None);
    let p3 = pairing(&app, &admin, &cadre.id, &hh[2], "2026-10-05", None);
    let p4 = pairing(&app, &admin, &cadre.id, &hh[3], "2026-09-15", None);
    let p6 = pairing(
        &app,
        &admin,
        &cadre.id,
        &hh[5],
        "2026-09-01",
        Some("2026-10-15"),
    );
    // Visits: h2 on Sep 20 and Oct 10, h1 on Oct 20, the unpaired h5 on Oct 21.
    let mut pending = vec![
        visit(&hh[1], points[1], "2026-09-20", 10),
        visit(&hh[1], points[1], "2026-10-10", 10),
        visit(&hh[0], points[0], "2026-10-20", 10),
        visit(&hh[4], points[4], "2026-10-21", 10),
    ];
    let visit_ids: Vec<String> = pending
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    flush(&app, &cadre.token, &mut pending, at(d("2026-10-22"), 0, 0));
    // On Oct 22 h2 denies the October visit (the verification concerns its last visitor).
    let denial = verification(&app, &sup, &hh[1], points[1], "denied", "2026-10-22", 10);
    read_today(&app);

    let row = row_of(&compliance(&app, &sup, VILLAGE_A, "2026-10"), &cadre.id);
    // end = Oct 31 (Oct 15 for h6, whose pairing ends then); interval 30 (default).
    // h1: last visit Oct 20 → 31 − 20 = 11 days.
    assert_eq!(
        figures(&household_line(&row, &hh[0])),
        (
            json!(p1),
            json!(1),
            json!("2026-10-20"),
            json!(11),
            json!(false)
        )
    );
    // h2: the Oct 10 visit is contested by the denial, so the last is Sep 20: 10 + 31 = 41 > 30.
    assert_eq!(
        figures(&household_line(&row, &hh[1])),
        (
            json!(p2),
            json!(0),
            json!("2026-09-20"),
            json!(41),
            json!(true)
        )
    );
    // Each last visit names its ledger entry, so the line can be proven: h1's Oct 20 visit and
    // h2's Sep 20 one (the contested Oct 10 visit is not it); never-visited h3 none.
    let seq_of = |id: &str| app.read_record(&cadre.token, id)["seq"].clone();
    assert_eq!(
        household_line(&row, &hh[0])["last_visit_seq"],
        seq_of(&visit_ids[2])
    );
    assert_eq!(
        household_line(&row, &hh[1])["last_visit_seq"],
        seq_of(&visit_ids[0])
    );
    assert_eq!(household_line(&row, &hh[2])["last_visit_seq"], Value::Null);
    // h3: never visited, paired from Oct 5: 31 − 5 = 26.
    assert_eq!(
        figures(&household_line(&row, &hh[2])),
        (json!(p3), json!(0), Value::Null, json!(26), json!(false))
    );
    // h4: never visited, paired from Sep 15: 15 + 31 = 46 > 30.
    assert_eq!(
        figures(&household_line(&row, &hh[3])),
        (json!(p4), json!(0), Value::Null, json!(46), json!(true))
    );
    // h6: never visited, paired Sep 1 .. Oct 15: 29 + 15 = 44 > 30.
    assert_eq!(
        figures(&household_line(&row, &hh[5])),
        (json!(p6), json!(0), Value::Null, json!(44), json!(true))
    );
    assert_eq!(row["households"].as_array().unwrap().len(), 5, "{row}");
    // Visits: h1's only (h2's is contested, h5 is not paired).
    assert_eq!(row["visits"], 1);
    assert_eq!(row["overdue_households"], 3);
    assert_eq!(row["spot_checks"].as_array().unwrap().len(), 1, "{row}");
    assert_eq!(row["spot_checks"][0]["id"], denial.as_str());
    assert_eq!(row["spot_checks"][0]["kind"], "spot_check.verification");
    assert_eq!(row["spot_checks"][0]["outcome"], "denied");
    assert!(row["spot_checks"][0]["dispute"].is_null());
    // Present Oct 10, 20, 21 (the visits are in the village) = 3 days of 22 (155/7 = 22.14),
    // no night of 18 (124/7 = 17.71).
    let household =
        |h: &str, days: u32, interval: u32| format!("household_overdue:{h}:{days}:{interval}");
    let denied = format!("verification_denied:{denial}");
    let mut want = vec![
        household(&hh[1], 41, 30),
        household(&hh[3], 46, 30),
        household(&hh[5], 44, 30),
        denied.clone(),
    ];
    want.push("days_below:days_per_week:22:3".into());
    want.push("nights_below:nights_per_week:18:0".into());
    want.sort();
    assert_eq!(reasons(&row), want, "{row}");
    assert_eq!(row["present_days"], 3);

    // From Oct 31 the village's interval is 45 days: the policy at each pairing's end decides.
    policy_from(
        &app,
        &admin,
        VILLAGE_A,
        "2026-10-31",
        json!({"visit_interval_days": 45}),
    );
    read_today(&app);
    let row = row_of(&compliance(&app, &sup, VILLAGE_A, "2026-10"), &cadre.id);
    // h2: 41 ≤ 45; h4: 46 > 45; h6 ends Oct 15, under 30: 44 > 30.
    assert_eq!(household_line(&row, &hh[1])["overdue"], false);
    assert_eq!(household_line(&row, &hh[3])["overdue"], true);
    assert_eq!(
        household_line(&row, &hh[5])["overdue"],
        true,
        "h6 is judged by the interval in force on Oct 15, its pairing's end (30): {row}"
    );
    assert_eq!(row["overdue_households"], 2);
    let mut want = vec![
        household(&hh[3], 46, 45),
        household(&hh[5], 44, 30),
        denied,
        "days_below:days_per_week:22:3".into(),
        "nights_below:nights_per_week:18:0".into(),
    ];
    want.sort();
    assert_eq!(reasons(&row), want, "{row}");
}

fn spot_check_results_give_reasons_unless_a_dispute_was_upheld(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let sup = app.supervisor(&admin, "sup-t", TOWNSHIP);
    let cadre = cadre_with(
        &app,
        &admin,
        "c-spot",
        VILLAGE_A,
        &[(VILLAGE_A, "2020-01-01", None)],
    );
    // A full W42: noon Mon–Fri, nights Mon–Thu (residency met), sent day by day between checks.
    let mut pending = noons(A_CENTRE, &days("2026-10-12", "2026-10-16"));
    pending.extend(nights(A_CENTRE, &days("2026-10-12", "2026-10-15")));
    flush(&app, &cadre.token, &mut pending, at(d("2026-10-13"), 9, 0));
    let absent = phone_check(&app, &sup, &cadre.id, "absent", "2026-10-13", 10);
    flush(&app, &cadre.token, &mut pending, at(d("2026-10-14"), 9, 0));
    let present = phone_check(&app, &sup, &cadre.id, "present", "2026-10-14", 10);
    flush(&app, &cadre.token, &mut pending, at(d("2026-10-15"), 9, 0));
    let upheld = phone_check(&app, &sup, &cadre.id, "absent", "2026-10-15", 10);
    let upheld_dispute = dispute(&app, &cadre, &upheld, "2026-10-15", 11);
    app.clock.set(at(d("2026-10-15"), 11, 30));
    let resp = app.decide(
        &sup,
        "disputes",
        &upheld_dispute,
        "upheld",
        Some("核实在开会"),
    );
    assert_eq!(resp.status, 201, "{}", resp.text);
    flush(&app, &cadre.token, &mut pending, at(d("2026-10-16"), 9, 0));
    let missed = missed_challenge(&app, &sup, VILLAGE_A, "2026-10-16");
    flush(&app, &cadre.token, &mut pending, at(d("2026-10-20"), 0, 0));
    // A check in the next week is not in W42.
    phone_check(&app, &sup, &cadre.id, "absent", "2026-10-20", 10);
    read_today(&app);

    let row = row_of(&compliance(&app, &sup, VILLAGE_A, "2026-W42"), &cadre.id);
    let checks = row["spot_checks"].as_array().unwrap();
    assert_eq!(checks.len(), 4, "{row}");
    let check = |id: &str| {
        checks
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no check {id}: {row}"))
    };
    for (id, outcome) in [
        (&absent, "absent"),
        (&present, "present"),
        (&upheld, "absent"),
        (&missed, "missed"),
    ] {
        let c = check(id);
        assert_eq!(c["kind"], "spot_check.outcome", "{c}");
        assert_eq!(c["outcome"], outcome, "{c}");
        assert!(c["at"].is_string(), "{c}");
    }
    assert!(check(&absent)["dispute"].is_null());
    assert_eq!(
        check(&upheld)["dispute"],
        json!({"id": upheld_dispute, "status": "upheld"})
    );
    // Residency met (5 days, 4 nights); the absent and missed results are reasons, the upheld
    // one and the present one are not.
    assert_row(
        &row,
        Figures {
            assigned: 7,
            present: 5,
            days: 5,
            nights: 4,
            required_days: Some(5),
            required_nights: Some(4),
            ..Figures::default()
        },
        &[
            &format!("spot_check_absent:{absent}"),
            &format!("spot_check_missed:{missed}"),
        ],
    );
}

fn compliance_is_scoped_and_its_period_checked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    more_units(&app, &admin);
    read_today(&app);
    let cadre = cadre_with(
        &app,
        &admin,
        "c-scope",
        VILLAGE_A,
        &[(VILLAGE_A, "2020-01-01", None)],
    );
    let sup_t = app.supervisor(&admin, "sup-t", TOWNSHIP);
    let sup_o = app.supervisor(&admin, "sup-o", OTHER_TOWNSHIP);
    let (_, inspector) = app.person_with_token(&admin, "insp-t", "inspector", TOWNSHIP);
    let path = |unit: &str, period: &str| format!("/v1/units/{unit}/compliance?period={period}");

    for token in [&sup_t, &inspector, &admin] {
        let answer = get_ok(&app, token, &path(VILLAGE_A, "2026-10"));
        row_of(&answer, &cadre.id);
    }
    // Outside the caller's subtree: 403; the cadre reads no unit's compliance.
    for (token, unit) in [
        (&sup_o, TOWNSHIP),
        (&sup_o, VILLAGE_A),
        (&sup_t, OTHER_TOWNSHIP),
        (&sup_t, VILLAGE_C),
        (&sup_t, COUNTY),
        (&inspector, COUNTY),
        (&cadre.token, VILLAGE_A),
    ] {
        app.get(&path(unit, "2026-10"), Some(token)).problem(403);
    }
    app.get(&path(VILLAGE_A, "2026-10"), None).problem(401);
    app.get(&path("990199999", "2026-10"), Some(&admin))
        .problem(404);
    for period in [
        "2026-13",
        "2026-00",
        "2026-W54",
        "2026-W00",
        "202610",
        "2026-10-01",
        "october",
        "",
    ] {
        let resp = app.get(&path(VILLAGE_A, period), Some(&sup_t));
        resp.problem(422);
        assert_eq!(resp.pointers(), ["/period"], "{period}: {}", resp.text);
    }
    let resp = app.get(&format!("/v1/units/{VILLAGE_A}/compliance"), Some(&sup_t));
    resp.problem(422);
    assert_eq!(resp.pointers(), ["/period"], "{}", resp.text);
    // 2026 has 53 ISO weeks: W53 = Mon Dec 28 2026 .. Sun Jan 3 2027.
    let w53 = get_ok(&app, &sup_t, &path(VILLAGE_A, "2026-W53"));
    assert_eq!(
        (&w53["from"], &w53["to"]),
        (&json!("2026-12-28"), &json!("2027-01-03"))
    );
    // W01 of 2026 starts in 2025: Mon Dec 29 2025 .. Sun Jan 4 2026.
    let w01 = get_ok(&app, &sup_t, &path(VILLAGE_A, "2026-W01"));
    assert_eq!(
        (&w01["from"], &w01["to"]),
        (&json!("2025-12-29"), &json!("2026-01-04"))
    );
}

both_backends!(
    paired_households_visited_or_overdue,
    spot_check_results_give_reasons_unless_a_dispute_was_upheld,
    compliance_is_scoped_and_its_period_checked,
);
