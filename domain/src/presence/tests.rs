use super::*;
use time::macros::date;
use time::Duration;

fn input(from: Date, to: Date) -> PresenceInput {
    PresenceInput {
        from,
        to,
        assigned: vec![ValidPeriod::new(date!(2026 - 01 - 01), None).unwrap()],
        evidence: Vec::new(),
        leaves: Vec::new(),
        trips: Vec::new(),
        duties: Vec::new(),
        windows: Vec::new(),
        flags: Vec::new(),
    }
}

fn statuses(days: &[PresenceDay]) -> Vec<DayStatus> {
    days.iter().map(|d| d.status).collect()
}

fn placed(day: Date) -> Evidence {
    placed_at(day, 12 * 60, "r")
}

fn placed_at(day: Date, minute: u16, id: &str) -> Evidence {
    Evidence {
        day,
        minute,
        places_in_village: true,
        id: id.to_owned(),
        corrected: false,
    }
}

fn elsewhere(day: Date) -> Evidence {
    Evidence {
        day,
        minute: 12 * 60,
        places_in_village: false,
        id: "x".to_owned(),
        corrected: false,
    }
}

#[test]
fn a_night_is_an_evening_in_the_village_and_the_next_morning_too() {
    let d1 = date!(2026 - 11 - 02);
    let d2 = date!(2026 - 11 - 03);
    let d3 = date!(2026 - 11 - 04);
    let mut i = input(d1, d2);
    i.evidence = vec![
        placed_at(d1, 19 * 60 + 30, "eve1"),
        placed_at(d2, 8 * 60 + 59, "morn2"),
        // The evening of d2 is answered only by a morning after the range: still counted.
        placed_at(d2, 21 * 60, "eve2"),
        placed_at(d3, 6 * 60, "morn3"),
    ];
    let days = presence(&i);
    assert!(days[0].night);
    assert_eq!(days[0].evidence, ["eve1", "morn2"]);
    assert!(days[1].night);
    assert_eq!(days[1].evidence, ["morn2", "eve2", "morn3"]);
    // Without a night, the first record placing the cadre decides the day.
    let mut i = input(d1, d1);
    i.evidence = vec![
        placed_at(d1, 10 * 60, "first"),
        placed_at(d1, 11 * 60, "second"),
    ];
    assert_eq!(presence(&i)[0].evidence, ["first"]);
    assert_eq!(totals(&days)["nights"], 2);
    // 18:59 is not evening, 09:00 is no longer morning; elsewhere counts for nothing.
    let mut i = input(d1, d1);
    i.evidence = vec![
        placed_at(d1, 18 * 60 + 59, "early"),
        placed_at(d2, 9 * 60, "late"),
        elsewhere(d2),
    ];
    assert!(!presence(&i)[0].night);
    // A duty day is a night in the village (值班).
    let mut i = input(d1, d1);
    i.duties = vec![Duty {
        day: d1,
        id: "duty".into(),
    }];
    assert!(presence(&i)[0].night);
}

#[test]
fn each_day_is_judged_by_the_night_window_in_force_that_day() {
    let d1 = date!(2026 - 11 - 02);
    let d2 = date!(2026 - 11 - 03);
    let d3 = date!(2026 - 11 - 04);
    let late = NightWindow {
        evening_from: 21 * 60,
        morning_until: 7 * 60,
    };
    let mut i = input(d1, d2);
    i.windows = vec![(d2, late)];
    i.evidence = vec![
        placed_at(d1, 20 * 60, "eve1"),
        placed_at(d2, 8 * 60, "morn2"),
        placed_at(d2, 20 * 60, "eve2"),
        placed_at(d3, 6 * 60, "morn3"),
    ];
    let days = presence(&i);
    // d1 under the default (19:00 / 09:00): a night. d2 under 21:00 / 07:00: 20:00 is too
    // early an evening.
    assert!(days[0].night);
    assert!(!days[1].night);
}

use DayStatus::{Absent, Leave, NotAssigned, Present, Trip};

#[test]
fn one_line_per_day_inclusive_and_none_for_a_reversed_range() {
    let days = presence(&input(date!(2026 - 02 - 27), date!(2026 - 03 - 02)));
    let dates: Vec<&str> = days.iter().map(|d| d.date.as_str()).collect();
    assert_eq!(
        dates,
        ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]
    );
    assert_eq!(
        presence(&input(date!(2026 - 03 - 02), date!(2026 - 03 - 02))).len(),
        1
    );
    assert!(presence(&input(date!(2026 - 03 - 02), date!(2026 - 03 - 01))).is_empty());
}

#[test]
fn a_placed_record_makes_the_day_present_and_every_record_is_counted() {
    let mut q = input(date!(2026 - 03 - 01), date!(2026 - 03 - 03));
    q.evidence = vec![
        elsewhere(date!(2026 - 03 - 01)),
        placed(date!(2026 - 03 - 01)),
        elsewhere(date!(2026 - 03 - 01)),
        elsewhere(date!(2026 - 03 - 02)),
        // Outside the range: neither counted nor placed.
        placed(date!(2026 - 02 - 28)),
        placed(date!(2026 - 03 - 04)),
    ];
    let days = presence(&q);
    assert_eq!(statuses(&days), [Present, Absent, Absent]);
    let records: Vec<u32> = days.iter().map(|d| d.records).collect();
    assert_eq!(records, [3, 1, 0]);
}

#[test]
fn an_approved_trip_is_its_own_status_but_present_beats_it() {
    let mut q = input(date!(2026 - 03 - 01), date!(2026 - 03 - 05));
    q.trips = vec![ApprovedTrip {
        from: date!(2026 - 03 - 02),
        to: date!(2026 - 03 - 04),
    }];
    q.evidence = vec![placed(date!(2026 - 03 - 03))];
    assert_eq!(
        statuses(&presence(&q)),
        [Absent, Trip, Present, Trip, Absent]
    );
}

#[test]
fn a_trip_counts_even_outside_an_assignment() {
    let mut q = input(date!(2025 - 12 - 30), date!(2026 - 01 - 01));
    q.trips = vec![ApprovedTrip {
        from: date!(2025 - 12 - 31),
        to: date!(2025 - 12 - 31),
    }];
    assert_eq!(statuses(&presence(&q)), [NotAssigned, Trip, Absent]);
}

#[test]
fn trip_beats_leave_and_leave_beats_absence() {
    let mut q = input(date!(2026 - 03 - 01), date!(2026 - 03 - 04));
    q.leaves = vec![ApprovedLeave {
        from: date!(2026 - 03 - 01),
        to: date!(2026 - 03 - 03),
        returned_on: None,
    }];
    q.trips = vec![ApprovedTrip {
        from: date!(2026 - 03 - 02),
        to: date!(2026 - 03 - 02),
    }];
    assert_eq!(statuses(&presence(&q)), [Leave, Trip, Leave, Absent]);
}

#[test]
fn leave_does_not_override_a_day_present_in_the_village() {
    let mut q = input(date!(2026 - 03 - 01), date!(2026 - 03 - 02));
    q.leaves = vec![ApprovedLeave {
        from: date!(2026 - 03 - 01),
        to: date!(2026 - 03 - 02),
        returned_on: None,
    }];
    q.evidence = vec![
        placed(date!(2026 - 03 - 02)),
        elsewhere(date!(2026 - 03 - 01)),
    ];
    assert_eq!(statuses(&presence(&q)), [Leave, Present]);
}

#[test]
fn leave_ends_the_day_before_the_return() {
    let mut q = input(date!(2026 - 03 - 01), date!(2026 - 03 - 07));
    q.leaves = vec![ApprovedLeave {
        from: date!(2026 - 03 - 02),
        to: date!(2026 - 03 - 06),
        returned_on: Some(date!(2026 - 03 - 04)),
    }];
    assert_eq!(
        statuses(&presence(&q)),
        [Absent, Leave, Leave, Absent, Absent, Absent, Absent]
    );
}

#[test]
fn a_return_on_the_first_day_or_after_the_end_changes_nothing_odd() {
    let mut q = input(date!(2026 - 03 - 01), date!(2026 - 03 - 04));
    q.leaves = vec![
        // Returned before it began: no leave days at all.
        ApprovedLeave {
            from: date!(2026 - 03 - 01),
            to: date!(2026 - 03 - 02),
            returned_on: Some(date!(2026 - 03 - 01)),
        },
        // Returned late: the approved end still bounds the leave.
        ApprovedLeave {
            from: date!(2026 - 03 - 03),
            to: date!(2026 - 03 - 03),
            returned_on: Some(date!(2026 - 03 - 10)),
        },
    ];
    assert_eq!(statuses(&presence(&q)), [Absent, Absent, Leave, Absent]);
}

#[test]
fn days_outside_every_assignment_are_not_assigned() {
    let mut q = input(date!(2026 - 03 - 01), date!(2026 - 03 - 08));
    q.assigned = vec![
        ValidPeriod::new(date!(2026 - 03 - 02), Some(date!(2026 - 03 - 03))).unwrap(),
        ValidPeriod::new(date!(2026 - 03 - 03), Some(date!(2026 - 03 - 04))).unwrap(),
        ValidPeriod::new(date!(2026 - 03 - 07), None).unwrap(),
    ];
    q.leaves = vec![ApprovedLeave {
        from: date!(2026 - 03 - 05),
        to: date!(2026 - 03 - 05),
        returned_on: None,
    }];
    assert_eq!(
        statuses(&presence(&q)),
        [
            NotAssigned,
            Absent,
            Absent,
            Absent,
            Leave,
            NotAssigned,
            Absent,
            Absent
        ]
    );
}

#[test]
fn periods_and_spans_reaching_past_the_range_are_clipped() {
    let mut q = input(date!(2026 - 03 - 10), date!(2026 - 03 - 12));
    q.assigned = vec![
        ValidPeriod::new(date!(2026 - 03 - 01), Some(date!(2026 - 03 - 10))).unwrap(),
        ValidPeriod::new(date!(2026 - 03 - 12), Some(date!(2026 - 04 - 30))).unwrap(),
    ];
    q.trips = vec![
        ApprovedTrip {
            from: date!(2026 - 01 - 01),
            to: date!(2026 - 03 - 09),
        },
        ApprovedTrip {
            from: date!(2026 - 03 - 13),
            to: date!(2026 - 05 - 01),
        },
    ];
    assert_eq!(statuses(&presence(&q)), [Absent, NotAssigned, Absent]);
}

#[test]
fn a_duty_is_met_only_by_presence() {
    let mut q = input(date!(2026 - 03 - 01), date!(2026 - 03 - 04));
    q.evidence = vec![placed(date!(2026 - 03 - 01))];
    q.trips = vec![ApprovedTrip {
        from: date!(2026 - 03 - 02),
        to: date!(2026 - 03 - 02),
    }];
    q.duties = vec![
        Duty {
            day: date!(2026 - 03 - 01),
            id: "d1".into(),
        },
        Duty {
            day: date!(2026 - 03 - 02),
            id: "d2".into(),
        },
        Duty {
            day: date!(2026 - 03 - 03),
            id: "d3".into(),
        },
        Duty {
            day: date!(2026 - 03 - 03),
            id: "d3-second".into(),
        },
    ];
    let days = presence(&q);
    let duty: Vec<(Option<&str>, Option<bool>)> = days
        .iter()
        .map(|d| (d.duty_id.as_deref(), d.duty_met))
        .collect();
    assert_eq!(
        duty,
        [
            (Some("d1"), Some(true)),
            (Some("d2"), Some(false)),
            (Some("d3"), Some(false)),
            (None, None),
        ]
    );
}

#[test]
fn a_day_serialises_without_duty_fields_when_there_is_no_duty() {
    let mut q = input(date!(2026 - 03 - 01), date!(2026 - 03 - 02));
    q.duties = vec![Duty {
        day: date!(2026 - 03 - 02),
        id: "d".into(),
    }];
    let days = presence(&q);
    assert_eq!(
        serde_json::to_value(&days).unwrap(),
        json!([
            {"date": "2026-03-01", "status": "absent", "night": false, "records": 0,
             "evidence": [], "flags": [], "corrected": false},
            {"date": "2026-03-02", "status": "absent", "night": true, "records": 0,
             "evidence": [], "flags": [], "corrected": false, "duty_id": "d",
             "duty_met": false},
        ])
    );
}

#[test]
fn status_spelling_matches_serde() {
    for status in DayStatus::ALL {
        assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
    }
}

#[test]
fn totals_count_every_status_and_keep_zeros() {
    let mut q = input(date!(2025 - 12 - 30), date!(2026 - 01 - 05));
    q.evidence = vec![placed(date!(2026 - 01 - 01)), placed(date!(2026 - 01 - 02))];
    q.trips = vec![ApprovedTrip {
        from: date!(2026 - 01 - 03),
        to: date!(2026 - 01 - 03),
    }];
    let days = presence(&q);
    assert_eq!(
        totals(&days),
        json!({"present": 2, "trip": 1, "leave": 0, "absent": 2, "not_assigned": 2,
               "nights": 0, "flagged_days": 0})
    );
    assert_eq!(
        totals(&[]),
        json!({"present": 0, "trip": 0, "leave": 0, "absent": 0, "not_assigned": 0, "nights": 0,
               "flagged_days": 0})
    );
}

#[test]
fn a_year_with_many_records_matches_the_plain_rule() {
    let from = date!(2026 - 01 - 01);
    let to = from + Duration::days(MAX_PRESENCE_DAYS - 1);
    let mut q = input(from, to);
    q.assigned = vec![
        ValidPeriod::new(date!(2026 - 02 - 01), Some(date!(2026 - 09 - 30))).unwrap(),
        ValidPeriod::new(date!(2026 - 11 - 01), None).unwrap(),
    ];
    q.evidence = (0..5_000)
        .map(|i: i64| Evidence {
            day: from + Duration::days((i * 7919) % 400 - 20),
            minute: u16::try_from((i * 389) % 1440).unwrap(),
            places_in_village: i % 3 == 0,
            id: format!("r{i}"),
            corrected: false,
        })
        .collect();
    q.leaves = vec![ApprovedLeave {
        from: date!(2026 - 04 - 01),
        to: date!(2026 - 04 - 20),
        returned_on: Some(date!(2026 - 04 - 10)),
    }];
    q.trips = vec![ApprovedTrip {
        from: date!(2026 - 06 - 01),
        to: date!(2026 - 06 - 15),
    }];
    let days = presence(&q);
    assert_eq!(days.len(), 366);
    let mut day = from;
    for got in &days {
        let today: Vec<&Evidence> = q.evidence.iter().filter(|e| e.day == day).collect();
        let expected = if today.iter().any(|e| e.places_in_village) {
            Present
        } else if q.trips.iter().any(|t| t.from <= day && day <= t.to) {
            Trip
        } else if q
            .leaves
            .iter()
            .any(|l| l.from <= day && day <= l.to && l.returned_on.is_none_or(|r| day < r))
        {
            Leave
        } else if q.assigned.iter().any(|p| p.covers(day)) {
            Absent
        } else {
            NotAssigned
        };
        assert_eq!(got.status, expected, "{day}");
        assert_eq!(got.records as usize, today.len(), "{day}");
        let next = day.next_day().unwrap();
        let night = today
            .iter()
            .any(|e| e.places_in_village && e.minute >= 19 * 60)
            && q.evidence
                .iter()
                .any(|e| e.day == next && e.places_in_village && e.minute < 9 * 60);
        assert_eq!(got.night, night, "night of {day}");
        assert_eq!(got.date, format_date(day));
        day = day.next_day().unwrap();
    }
}

#[test]
fn a_day_shows_its_records_flags_once_and_whether_a_correction_moved_one() {
    let d = date!(2026 - 03 - 02);
    let mut q = input(d, d.next_day().unwrap());
    q.evidence = vec![Evidence {
        corrected: true,
        ..placed(d)
    }];
    q.flags = vec![
        (d, "mock_location".to_owned()),
        (d, "late_sync".to_owned()),
        (d, "mock_location".to_owned()),
    ];
    let days = presence(&q);
    assert_eq!(days[0].flags, ["late_sync", "mock_location"]);
    assert!(days[0].corrected);
    assert!(days[1].flags.is_empty());
    assert!(!days[1].corrected);
    assert_eq!(totals(&days)["flagged_days"], 1);
}
