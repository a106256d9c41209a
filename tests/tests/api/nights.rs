//! Nights in the village (presence `night`, `evidence`, totals `nights`), judged day by day with
//! the night window in force that day (docs/records.md, "Presence").

use fieldtrail_tests::both_backends;
use fieldtrail_tests::field::*;
use fieldtrail_tests::fixtures::*;
use fieldtrail_tests::{Backend, TestApp};
use serde_json::json;
use time::OffsetDateTime;

fn a_night_is_an_evening_and_the_next_morning_by_the_window_of_its_day(backend: Backend) {
    let Some(app) = TestApp::spawn(backend) else {
        return;
    };
    let admin = app.with_county();
    let cadre = app.cadre_in_a(&admin, "cadre-a");
    let d1 = county_day(-6);
    let (d2, d3, d4) = (d1.next_day().unwrap(), county_day(-4), county_day(-3));
    let at = |day: time::Date, hour: u8, minute: u8| {
        rfc3339(
            day.with_time(time::Time::from_hms(hour, minute, 0).unwrap())
                .assume_offset(county_offset()),
        )
    };
    // On d2 the village's night window becomes 21:00 – 08:00 (set that day, so it decides d2
    // on); d1 keeps the default 19:00 – 09:00.
    app.clock.set(
        d2.with_time(time::Time::from_hms(12, 0, 0).unwrap())
            .assume_offset(county_offset()),
    );
    let resp = app.put(
        &format!("/v1/units/{VILLAGE_A}/policy"),
        Some(&admin),
        &json!({"night_window": {"evening_from": "21:00", "morning_until": "08:00"}}),
    );
    assert_eq!(resp.status, 200, "{}", resp.text);
    app.clock.set(OffsetDateTime::now_utc());

    let inside = |captured_at: String| {
        let body = check_in_at(A_CENTRE.0, A_CENTRE.1, 10.0, &captured_at);
        app.submit_ok(&cadre.token, &body);
        body["id"].as_str().unwrap().to_owned()
    };
    let d1_evening = inside(at(d1, 20, 0));
    let d2_morning = inside(at(d2, 7, 30));
    let d2_evening = inside(at(d2, 20, 0)); // before 21:00: not an evening under d2's window
    let d3_morning = inside(at(d3, 7, 59));
    let d3_evening = inside(at(d3, 21, 30));
    let d4_morning = inside(at(d4, 7, 0));
    // Outside the village at night: no stay.
    app.submit_ok(
        &cadre.token,
        &check_in_at(116.925, 34.185, 10.0, &at(d1, 23, 0)),
    );

    let presence = app.presence(&cadre.token, &cadre.id, d1, d3);
    let days = presence["days"].as_array().unwrap();
    let nights: Vec<bool> = days.iter().map(|d| d["night"].as_bool().unwrap()).collect();
    // d1: 20:00 and 07:30 under the default window. d2: its evening was at 20:00, before 21:00.
    // d3: 21:30 and, the morning after the range, 07:00.
    assert_eq!(nights, [true, false, true], "{presence}");
    assert_eq!(presence["totals"]["nights"], 2);
    assert_eq!(days[0]["evidence"], json!([d1_evening, d2_morning]));
    // No night on d2: its first record in the village decides the day.
    assert_eq!(days[1]["evidence"], json!([d2_morning]));
    assert!(!days[1]["evidence"]
        .as_array()
        .unwrap()
        .contains(&json!(d2_evening)));
    assert_eq!(
        days[2]["evidence"],
        json!([d3_morning, d3_evening, d4_morning])
    );
    assert_eq!(
        days[0]["records"], 2,
        "the outside record counts as a record of d1"
    );
    // The d2 morning closes d1's night; under d2's window (before 08:00) d3's 07:59 also would
    // close d2's night, but d2 had no evening in the village.
    let single = app.presence(&cadre.token, &cadre.id, d3, d3);
    assert_eq!(
        single["days"][0]["night"], true,
        "the morning after the range counts"
    );
}

both_backends!(a_night_is_an_evening_and_the_next_morning_by_the_window_of_its_day);
