//! GET /v1/units/{code}/compliance?period=: residency against the rule in force each day,
//! pro-rated; leave, trips, corrections and late records read as they stand now; households and
//! spot-check results; scope and bad periods.

use super::*;
use fieldtrail_tests::both_backends;
use fieldtrail_tests::Backend;

/// The county, a township supervisor (token) and root's token; the clock at 2026-10-01.
fn setup(backend: Backend) -> Option<(TestApp, String, String)> {
    let app = TestApp::spawn(backend)?;
    let admin = app.with_county();
    let sup = app.supervisor(&admin, "sup-t", TOWNSHIP);
    Some((app, admin, sup))
}

/// A cadre of village A assigned since 2020.
fn in_a(app: &TestApp, admin: &str, name: &str) -> Cadre {
    cadre_with(
        app,
        admin,
        name,
        VILLAGE_A,
        &[(VILLAGE_A, "2020-01-01", None)],
    )
}

fn full_week_met_or_not_with_each_reason(backend: Backend) {
    let Some((app, admin, sup)) = setup(backend) else {
        return;
    };
    let met = in_a(&app, &admin, "c-met");
    let short = in_a(&app, &admin, "c-short");
    // 2026-W42 is Mon 2026-10-12 .. Sun 2026-10-18. `met`: noon Mon–Fri, nights Mon–Thu (20:00
    // and 07:00 the next morning): 5 days, 4 nights. `short`: noon Mon–Thu, nights Mon–Wed.
    let mut records = noons(A_CENTRE, &days("2026-10-12", "2026-10-16"));
    records.extend(nights(A_CENTRE, &days("2026-10-12", "2026-10-15")));
    send(&app, &met.token, records);
    let mut records = noons(A_CENTRE, &days("2026-10-12", "2026-10-15"));
    records.extend(nights(A_CENTRE, &days("2026-10-12", "2026-10-14")));
    send(&app, &short.token, records);
    read_today(&app);
    // Presence agrees day by day: 5 and 4 days present, 4 and 3 nights.
    for (cadre, present, nights) in [(&met, 5, 4), (&short, 4, 3)] {
        let presence = presence_line(&app, &sup, &cadre.id, "2026-10-12", "2026-10-18");
        let totals = &presence["totals"];
        assert_eq!(
            (&totals["present"], &totals["nights"]),
            (&json!(present), &json!(nights)),
            "{presence}"
        );
    }

    let answer = compliance(&app, &sup, VILLAGE_A, "2026-W42");
    assert_eq!(answer["unit_code"], VILLAGE_A);
    assert_eq!(answer["period"], "2026-W42");
    assert_eq!(answer["from"], "2026-10-12");
    assert_eq!(answer["to"], "2026-10-18");
    assert_eq!(answer["complete"], true, "2026-10-18 is before 2026-12-01");
    // By display_name: "Test c-met" < "Test c-short".
    let ids: Vec<&Value> = answer["cadres"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["person_id"])
        .collect();
    assert_eq!(ids, [&json!(met.id), &json!(short.id)], "{answer}");
    let row = row_of(&answer, &met.id);
    assert_eq!(row["display_name"], "Test c-met");
    assert_eq!(
        row["villages"],
        json!([{"unit_code": VILLAGE_A, "from": "2026-10-12", "to": "2026-10-18"}])
    );
    // A full week: days 7·5/7 = 5, nights 7·4/7 = 4; actual 5 days (Mon–Fri), 4 nights.
    let week = Figures {
        assigned: 7,
        present: 5,
        days: 5,
        nights: 4,
        required_days: Some(5),
        required_nights: Some(4),
        ..Figures::default()
    };
    assert_row(&row, week, &[]);
    assert_eq!(rules_of(&row), ["days_per_week", "nights_per_week"]);
    let (value, required, actual, ok) = requirement(&row, "days_per_week");
    assert_eq!(
        (value, required, actual, ok),
        (json!(5), json!(5), json!(5), json!(true))
    );
    let (value, required, actual, ok) = requirement(&row, "nights_per_week");
    assert_eq!(
        (value, required, actual, ok),
        (json!(4), json!(4), json!(4), json!(true))
    );
    assert_eq!(row["visits"], 0);
    assert_eq!(row["households"], json!([]));
    assert_eq!(row["overdue_households"], 0);
    assert_eq!(row["spot_checks"], json!([]));
    // Mon–Thu (4 days) and Mon–Wed nights (3): both below.
    let row = row_of(&answer, &short.id);
    let short_week = Figures {
        present: 4,
        days: 4,
        nights: 3,
        ..week
    };
    assert_row(
        &row,
        short_week,
        &[
            "days_below:days_per_week:5:4",
            "nights_below:nights_per_week:4:3",
        ],
    );
    let (_, required, actual, ok) = requirement(&row, "days_per_week");
    assert_eq!((required, actual, ok), (json!(5), json!(4), json!(false)));
    assert_no_forbidden_keys(&answer, "compliance");

    // The township sees the same rows; the current week and month are not complete.
    let township = compliance(&app, &sup, TOWNSHIP, "2026-W42");
    assert_eq!(township["cadres"].as_array().unwrap().len(), 2);
    assert_row(&row_of(&township, &met.id), week, &[]);
    let now = compliance(&app, &sup, VILLAGE_A, "2026-W49");
    assert_eq!(
        (&now["from"], &now["to"], &now["complete"]),
        (&json!("2026-11-30"), &json!("2026-12-06"), &json!(false))
    );
    let month = compliance(&app, &sup, VILLAGE_A, "2026-12");
    assert_eq!(month["complete"], false);
    assert_eq!(month["to"], "2026-12-31");
    assert_eq!(
        compliance(&app, &sup, VILLAGE_A, "2026-11")["complete"],
        true
    );
}

fn an_assignment_starting_or_ending_mid_period_is_pro_rated(backend: Backend) {
    let Some((app, admin, sup)) = setup(backend) else {
        return;
    };
    // `late` is assigned from Wed 2026-10-14; `leaving` until Sat 2026-10-10.
    let late = cadre_with(
        &app,
        &admin,
        "c-late",
        VILLAGE_A,
        &[(VILLAGE_A, "2026-10-14", None)],
    );
    let leaving = cadre_with(
        &app,
        &admin,
        "c-leaving",
        VILLAGE_A,
        &[(VILLAGE_A, "2026-09-01", Some("2026-10-10"))],
    );
    // late: Mon 12 at noon (not yet assigned), nights Wed, Thu, Fri (20:00, 07:00 next day):
    // present Wed 14 (evening), Thu 15, Fri 16, Sat 17 (morning) = 4 days, 3 nights.
    let mut records = vec![fix(A_CENTRE, d("2026-10-12"), 12, 0)];
    records.extend(nights(A_CENTRE, &days("2026-10-14", "2026-10-16")));
    send(&app, &late.token, records);
    // leaving: noon Oct 1–7, nights Oct 1–5, and noon Oct 12 (after the end).
    let mut records = noons(A_CENTRE, &days("2026-10-01", "2026-10-07"));
    records.extend(nights(A_CENTRE, &days("2026-10-01", "2026-10-05")));
    records.push(fix(A_CENTRE, d("2026-10-12"), 12, 0));
    send(&app, &leaving.token, records);
    read_today(&app);

    let week = compliance(&app, &sup, VILLAGE_A, "2026-W42");
    // `leaving` has no assignment in the week: no row.
    assert_eq!(week["cadres"].as_array().unwrap().len(), 1, "{week}");
    let row = row_of(&week, &late.id);
    assert_eq!(
        row["villages"],
        json!([{"unit_code": VILLAGE_A, "from": "2026-10-14", "to": "2026-10-18"}])
    );
    // Wed–Sun = 5 days: days 5·5/7 = 25/7 = 3.57 → 4; nights 5·4/7 = 20/7 = 2.86 → 3.
    assert_row(
        &row,
        Figures {
            assigned: 5,
            present: 4,
            days: 4,
            nights: 3,
            required_days: Some(4),
            required_nights: Some(3),
            ..Figures::default()
        },
        &[],
    );

    let month = compliance(&app, &sup, VILLAGE_A, "2026-10");
    // late in October: Oct 14–31 = 18 days: days 18·5/7 = 90/7 = 12.86 → 13, nights 72/7 =
    // 10.29 → 10; actual 4 and 3.
    let row = row_of(&month, &late.id);
    assert_eq!(
        row["villages"],
        json!([{"unit_code": VILLAGE_A, "from": "2026-10-14", "to": "2026-10-31"}])
    );
    assert_row(
        &row,
        Figures {
            assigned: 18,
            present: 4,
            days: 4,
            nights: 3,
            required_days: Some(13),
            required_nights: Some(10),
            ..Figures::default()
        },
        &[
            "days_below:days_per_week:13:4",
            "nights_below:nights_per_week:10:3",
        ],
    );
    // leaving: Oct 1–10 = 10 days: days 50/7 = 7.14 → 7, nights 40/7 = 5.71 → 6; actual 7 days
    // (Oct 1–7; Oct 12 is after the end), 5 nights.
    let row = row_of(&month, &leaving.id);
    assert_eq!(
        row["villages"],
        json!([{"unit_code": VILLAGE_A, "from": "2026-10-01", "to": "2026-10-10"}])
    );
    assert_row(
        &row,
        Figures {
            assigned: 10,
            present: 7,
            days: 7,
            nights: 5,
            required_days: Some(7),
            required_nights: Some(6),
            ..Figures::default()
        },
        &["nights_below:nights_per_week:6:5"],
    );
}

fn leave_and_trips_across_a_month_end_and_an_iso_week(backend: Backend) {
    let Some((app, admin, sup)) = setup(backend) else {
        return;
    };
    let cadre = in_a(&app, &admin, "c-leave");
    let idle = in_a(&app, &admin, "c-idle");
    // Noon Oct 1–5; Oct 26 noon and its night (20:00, Oct 27 07:00); Oct 27 noon.
    let mut records = noons(A_CENTRE, &days("2026-10-01", "2026-10-05"));
    records.extend(noons(A_CENTRE, &[d("2026-10-26"), d("2026-10-27")]));
    records.extend(nights(A_CENTRE, &[d("2026-10-26")]));
    let mut pending = records;
    flush(&app, &cadre.token, &mut pending, at(d("2026-10-08"), 0, 0));
    // Approved: a trip Oct 12–13 and leave Oct 29 – Nov 3. Rejected: leave Oct 20–22 of `idle`.
    request(
        &app,
        &cadre,
        &sup,
        "official_trip",
        "2026-10-12",
        "2026-10-13",
        "2026-10-09",
        Some("approved"),
    );
    request(
        &app,
        &idle,
        &sup,
        "leave_request",
        "2026-10-20",
        "2026-10-22",
        "2026-10-19",
        Some("rejected"),
    );
    request(
        &app,
        &cadre,
        &sup,
        "leave_request",
        "2026-10-29",
        "2026-11-03",
        "2026-10-20",
        Some("approved"),
    );
    flush(&app, &cadre.token, &mut pending, at(d("2026-12-01"), 0, 0));
    read_today(&app);
    // Presence in October: present Oct 1–5, 26, 27; trip Oct 12–13; leave Oct 29–31; 1 night.
    let presence = presence_line(&app, &sup, &cadre.id, "2026-10-01", "2026-10-31");
    let totals = &presence["totals"];
    assert_eq!(
        [
            &totals["present"],
            &totals["trip"],
            &totals["leave"],
            &totals["nights"]
        ],
        [&json!(7), &json!(2), &json!(3), &json!(1)],
        "{presence}"
    );

    let october = compliance(&app, &sup, VILLAGE_A, "2026-10");
    // October: 31 assigned, leave Oct 29, 30, 31 = 3, available 28: days 28·5/7 = 20, nights
    // 28·4/7 = 16. Present Oct 1–5, 26, 27 = 7; trip Oct 12–13 = 2 → 9 days in the village;
    // nights: Oct 26 = 1, plus 2 trip days without a night = 3.
    assert_row(
        &row_of(&october, &cadre.id),
        Figures {
            assigned: 31,
            leave: 3,
            trip: 2,
            present: 7,
            days: 9,
            nights: 3,
            required_days: Some(20),
            required_nights: Some(16),
        },
        &[
            "days_below:days_per_week:20:9",
            "nights_below:nights_per_week:16:3",
        ],
    );
    // A rejected leave is no leave: 31 days, 155/7 = 22.14 → 22, 124/7 = 17.71 → 18.
    assert_row(
        &row_of(&october, &idle.id),
        Figures {
            assigned: 31,
            required_days: Some(22),
            required_nights: Some(18),
            ..Figures::default()
        },
        &[
            "days_below:days_per_week:22:0",
            "nights_below:nights_per_week:18:0",
        ],
    );
    // November: 30 assigned, leave Nov 1–3 = 3, available 27: days 135/7 = 19.29 → 19, nights
    // 108/7 = 15.43 → 15; nothing sent.
    let november = compliance(&app, &sup, VILLAGE_A, "2026-11");
    assert_row(
        &row_of(&november, &cadre.id),
        Figures {
            assigned: 30,
            leave: 3,
            required_days: Some(19),
            required_nights: Some(15),
            ..Figures::default()
        },
        &[
            "days_below:days_per_week:19:0",
            "nights_below:nights_per_week:15:0",
        ],
    );
    // 2026-W44 = Mon Oct 26 .. Sun Nov 1, across the month end: leave Oct 29–31 and Nov 1 = 4,
    // available 3: days 15/7 = 2.14 → 2, nights 12/7 = 1.71 → 2. Present Oct 26, 27; 1 night.
    let week = compliance(&app, &sup, VILLAGE_A, "2026-W44");
    assert_eq!(
        (&week["from"], &week["to"]),
        (&json!("2026-10-26"), &json!("2026-11-01"))
    );
    assert_row(
        &row_of(&week, &cadre.id),
        Figures {
            assigned: 7,
            leave: 4,
            present: 2,
            days: 2,
            nights: 1,
            required_days: Some(2),
            required_nights: Some(2),
            ..Figures::default()
        },
        &["nights_below:nights_per_week:2:1"],
    );
}

fn a_correction_approved_after_the_period_changes_the_answer(backend: Backend) {
    let Some((app, admin, sup)) = setup(backend) else {
        return;
    };
    let cadre = in_a(&app, &admin, "c-corr");
    // W42: inside at 20:00 Mon–Thu and 07:00 Tue–Thu; Fri Oct 16 07:00 on the farmland.
    let mut records = nights(A_CENTRE, &days("2026-10-12", "2026-10-14"));
    records.push(fix(A_CENTRE, d("2026-10-15"), 20, 0));
    let mut outside = fix(A_CENTRE, d("2026-10-16"), 7, 0);
    outside["position"] = json!({"lon": FARMLAND.0, "lat": FARMLAND.1, "accuracy_m": 10.0});
    records.push(outside.clone());
    send(&app, &cadre.token, records);
    read_today(&app);
    // Present Mon–Thu = 4; nights Mon, Tue, Wed = 3 (Thu's morning after is outside).
    let before = Figures {
        assigned: 7,
        present: 4,
        days: 4,
        nights: 3,
        required_days: Some(5),
        required_nights: Some(4),
        ..Figures::default()
    };
    let answer = compliance(&app, &sup, VILLAGE_A, "2026-W42");
    assert_row(
        &row_of(&answer, &cadre.id),
        before,
        &[
            "days_below:days_per_week:5:4",
            "nights_below:nights_per_week:4:3",
        ],
    );
    let presence = presence_line(&app, &sup, &cadre.id, "2026-10-12", "2026-10-18");
    assert_eq!(day_of(&presence, "2026-10-16")["status"], "absent");
    assert_eq!(day_of(&presence, "2026-10-16")["corrected"], false);

    // On Nov 10 the cadre corrects the Friday fix into the village; approved the same day.
    let (lon, lat) = point_in(A_CENTRE);
    let correction = record(
        "correction",
        json!({"amends": outside["id"], "reason": "定位漂移，实际在村部",
               "corrected": {"position": {"lon": lon, "lat": lat, "accuracy_m": 10.0}},
               "captured_at": rfc3339(at(d("2026-11-10"), 9, 0))}),
    );
    send_at(&app, &cadre.token, &correction, at(d("2026-11-10"), 9, 1));
    let resp = app.decide(&sup, "corrections", &id_of(&correction), "approved", None);
    assert_eq!(resp.status, 201, "{}", resp.text);
    read_today(&app);
    // Now Fri is present (5 days) and Thu's night is complete (4 nights).
    let answer = compliance(&app, &sup, VILLAGE_A, "2026-W42");
    assert_row(
        &row_of(&answer, &cadre.id),
        Figures {
            present: 5,
            days: 5,
            nights: 4,
            ..before
        },
        &[],
    );
    let presence = presence_line(&app, &sup, &cadre.id, "2026-10-12", "2026-10-18");
    assert_eq!(day_of(&presence, "2026-10-16")["status"], "present");
    assert_eq!(day_of(&presence, "2026-10-16")["corrected"], true);
    assert_eq!(day_of(&presence, "2026-10-13")["corrected"], false);
    assert_eq!(day_of(&presence, "2026-10-15")["night"], true);
}

fn a_record_synced_a_week_late_changes_the_answer(backend: Backend) {
    let Some((app, admin, sup)) = setup(backend) else {
        return;
    };
    let cadre = in_a(&app, &admin, "c-sync");
    // Noon Mon–Thu, nights Mon–Wed, sent on time.
    let mut records = noons(A_CENTRE, &days("2026-10-12", "2026-10-15"));
    records.extend(nights(A_CENTRE, &days("2026-10-12", "2026-10-14")));
    send(&app, &cadre.token, records);
    // Read on Mon Oct 19, after the week: 4 days, 3 nights.
    clock_at(&app, "2026-10-19", 9, 0);
    let answer = compliance(&app, &sup, VILLAGE_A, "2026-W42");
    assert_eq!(answer["complete"], true, "Oct 18 is before Oct 19");
    let before = Figures {
        assigned: 7,
        present: 4,
        days: 4,
        nights: 3,
        required_days: Some(5),
        required_nights: Some(4),
        ..Figures::default()
    };
    assert_row(
        &row_of(&answer, &cadre.id),
        before,
        &[
            "days_below:days_per_week:5:4",
            "nights_below:nights_per_week:4:3",
        ],
    );
    // On Oct 23 the phone syncs Thu 20:00 and Fri 07:00 (a week late: flagged late_sync).
    let late = nights(A_CENTRE, &[d("2026-10-15")]);
    app.clock.set(at(d("2026-10-23"), 8, 0));
    for body in &late {
        let resp = app.submit(&cadre.token, body);
        assert_eq!(resp.status, 201, "{}", resp.text);
        assert!(
            resp.body["flags"]
                .as_array()
                .unwrap()
                .contains(&json!("late_sync")),
            "{}",
            resp.text
        );
    }
    read_today(&app);
    let answer = compliance(&app, &sup, VILLAGE_A, "2026-W42");
    // Fri becomes present (5 days), Thu a night (4 nights).
    assert_row(
        &row_of(&answer, &cadre.id),
        Figures {
            present: 5,
            days: 5,
            nights: 4,
            ..before
        },
        &[],
    );
    // Presence flags by captured_at day: Thu 15 and Fri 16 carry late_sync, the rest none.
    let presence = presence_line(&app, &sup, &cadre.id, "2026-10-12", "2026-10-18");
    assert_eq!(
        day_of(&presence, "2026-10-15")["flags"],
        json!(["late_sync"])
    );
    assert_eq!(
        day_of(&presence, "2026-10-16")["flags"],
        json!(["late_sync"])
    );
    assert_eq!(day_of(&presence, "2026-10-12")["flags"], json!([]));
    assert_eq!(presence["totals"]["flagged_days"], 2, "{presence}");
}

fn a_policy_changed_mid_month_splits_the_sum(backend: Backend) {
    let Some((app, admin, sup)) = setup(backend) else {
        return;
    };
    let cadre = in_a(&app, &admin, "c-policy");
    // From Sep 30: 10 days a month and 4 nights a week; from Oct 16: 20 days a month only.
    policy_from(
        &app,
        &admin,
        VILLAGE_A,
        "2026-09-30",
        json!({"residency":
        {"days_per_week": null, "nights_per_week": 4, "days_per_month": 10}}),
    );
    let mut pending = noons(A_CENTRE, &days("2026-10-01", "2026-10-15"));
    pending.extend(nights(A_CENTRE, &days("2026-10-01", "2026-10-08")));
    flush(&app, &cadre.token, &mut pending, at(d("2026-10-16"), 0, 0));
    policy_from(
        &app,
        &admin,
        VILLAGE_A,
        "2026-10-16",
        json!({"residency":
        {"days_per_week": null, "nights_per_week": null, "days_per_month": 20}}),
    );
    read_today(&app);

    let answer = compliance(&app, &sup, VILLAGE_A, "2026-10");
    let row = row_of(&answer, &cadre.id);
    // days_per_month: Oct 1–15 at 10/31 a day + Oct 16–31 at 20/31 = (150 + 320)/31 = 470/31
    // = 15.16 → 15. nights_per_week: Oct 1–15 at 4/7 = 60/7 = 8.57 → 9 (no night rule from
    // Oct 16). No days_per_week rule at all. Actual: 15 days (Oct 1–15), 8 nights (Oct 1–8).
    assert_row(
        &row,
        Figures {
            assigned: 31,
            present: 15,
            days: 15,
            nights: 8,
            required_days: Some(15),
            required_nights: Some(9),
            ..Figures::default()
        },
        &["nights_below:nights_per_week:9:8"],
    );
    assert_eq!(rules_of(&row), ["days_per_month", "nights_per_week"]);
    let (_, required, actual, ok) = requirement(&row, "days_per_month");
    assert_eq!((required, actual, ok), (json!(15), json!(15), json!(true)));
    let (value, required, actual, ok) = requirement(&row, "nights_per_week");
    assert_eq!(
        (value, required, actual, ok),
        (json!(4), json!(9), json!(8), json!(false))
    );

    // A week under a monthly rule: W42 = Oct 12–18. days_per_month: Oct 12–15 at 10/31 +
    // Oct 16–18 at 20/31 = (40 + 60)/31 = 3.23 → 3; nights: Oct 12–15 at 4/7 = 16/7 = 2.29 → 2.
    // Actual: 4 days (Oct 12–15), no night (the nights were Oct 1–8).
    let week = compliance(&app, &sup, VILLAGE_A, "2026-W42");
    assert_row(
        &row_of(&week, &cadre.id),
        Figures {
            assigned: 7,
            present: 4,
            days: 4,
            nights: 0,
            required_days: Some(3),
            required_nights: Some(2),
            ..Figures::default()
        },
        &["nights_below:nights_per_week:2:0"],
    );
}

fn a_cadre_serving_two_villages_in_turn(backend: Backend) {
    let Some((app, admin, sup)) = setup(backend) else {
        return;
    };
    let cadre = cadre_with(
        &app,
        &admin,
        "c-two",
        VILLAGE_A,
        &[
            (VILLAGE_A, "2026-09-01", Some("2026-10-15")),
            (VILLAGE_B, "2026-10-16", None),
        ],
    );
    // In A: noon Oct 1–11, nights Oct 1–9. In B: noon Oct 16–26, nights Oct 16–24. A fix in A
    // on Oct 28, when assigned to B only, counts for nothing.
    let mut records = noons(A_CENTRE, &days("2026-10-01", "2026-10-11"));
    records.extend(nights(A_CENTRE, &days("2026-10-01", "2026-10-09")));
    records.extend(noons(B_CENTRE, &days("2026-10-16", "2026-10-26")));
    records.extend(nights(B_CENTRE, &days("2026-10-16", "2026-10-24")));
    records.push(fix(A_CENTRE, d("2026-10-28"), 12, 0));
    send(&app, &cadre.token, records);
    read_today(&app);
    let presence = presence_line(&app, &sup, &cadre.id, "2026-10-01", "2026-10-31");
    let totals = &presence["totals"];
    assert_eq!(
        (&totals["present"], &totals["nights"]),
        (&json!(22), &json!(18)),
        "{presence}"
    );
    assert_eq!(day_of(&presence, "2026-10-28")["status"], "absent");

    // Village A: Oct 1–15 = 15 days: 75/7 = 10.71 → 11 days, 60/7 = 8.57 → 9 nights.
    let row = row_of(&compliance(&app, &sup, VILLAGE_A, "2026-10"), &cadre.id);
    assert_eq!(
        row["villages"],
        json!([{"unit_code": VILLAGE_A, "from": "2026-10-01", "to": "2026-10-15"}])
    );
    let in_a = Figures {
        assigned: 15,
        present: 11,
        days: 11,
        nights: 9,
        required_days: Some(11),
        required_nights: Some(9),
        ..Figures::default()
    };
    assert_row(&row, in_a, &[]);
    // Village B: Oct 16–31 = 16 days: 80/7 = 11.43 → 11 days, 64/7 = 9.14 → 9 nights.
    let row = row_of(&compliance(&app, &sup, VILLAGE_B, "2026-10"), &cadre.id);
    assert_eq!(
        row["villages"],
        json!([{"unit_code": VILLAGE_B, "from": "2026-10-16", "to": "2026-10-31"}])
    );
    assert_row(
        &row,
        Figures {
            assigned: 16,
            ..in_a
        },
        &[],
    );
    // Township and county: one row with both: 31 days: 155/7 = 22.14 → 22, 124/7 = 17.71 →
    // 18; actual 11 + 11 = 22 days, 9 + 9 = 18 nights (Oct 28 in A does not count).
    for unit in [TOWNSHIP, COUNTY] {
        let answer = compliance(&app, &admin, unit, "2026-10");
        assert_eq!(answer["cadres"].as_array().unwrap().len(), 1, "{answer}");
        let row = row_of(&answer, &cadre.id);
        assert_eq!(
            row["villages"],
            json!([{"unit_code": VILLAGE_A, "from": "2026-10-01", "to": "2026-10-15"},
                   {"unit_code": VILLAGE_B, "from": "2026-10-16", "to": "2026-10-31"}])
        );
        assert_row(
            &row,
            Figures {
                assigned: 31,
                present: 22,
                days: 22,
                nights: 18,
                required_days: Some(22),
                required_nights: Some(18),
                ..Figures::default()
            },
            &[],
        );
    }
}

both_backends!(
    full_week_met_or_not_with_each_reason,
    an_assignment_starting_or_ending_mid_period_is_pro_rated,
    leave_and_trips_across_a_month_end_and_an_iso_week,
    a_correction_approved_after_the_period_changes_the_answer,
    a_record_synced_a_week_late_changes_the_answer,
    a_policy_changed_mid_month_splits_the_sum,
    a_cadre_serving_two_villages_in_turn,
);
