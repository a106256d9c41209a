//! A cadre's presence day by day (docs/records.md, "Presence").
//!
//! Presence is derived from records already sent, never from extra check-ins (基层减负): any
//! geotagged work record placed in an assigned village makes the day present. The caller has
//! already applied approved corrections and turned records into [`Evidence`]; this module only
//! decides each day's status, so the rule lives in one place and can be tested without storage.

use serde::Serialize;
use serde_json::{json, Value};
use time::Date;

use crate::policy::NightWindow;
use crate::roster::{format_date, ValidPeriod};

/// Longest range one presence query may cover; callers refuse longer ones before calling
/// [`presence`], which itself computes whatever range it is given.
pub const MAX_PRESENCE_DAYS: i64 = 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayStatus {
    Present,
    Trip,
    Leave,
    Absent,
    NotAssigned,
}

impl DayStatus {
    /// Every status, in order of precedence.
    pub const ALL: [DayStatus; 5] = [
        DayStatus::Present,
        DayStatus::Trip,
        DayStatus::Leave,
        DayStatus::Absent,
        DayStatus::NotAssigned,
    ];

    /// The same spelling serde uses.
    pub fn as_str(self) -> &'static str {
        match self {
            DayStatus::Present => "present",
            DayStatus::Trip => "trip",
            DayStatus::Leave => "leave",
            DayStatus::Absent => "absent",
            DayStatus::NotAssigned => "not_assigned",
        }
    }
}

/// One record's evidence for presence, after approved corrections were applied by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The county date of the record's effective captured_at.
    pub day: Date,
    /// Minutes after county midnight of the effective captured_at (for nights).
    pub minute: u16,
    /// the fix was judged inside or boundary of an assigned village
    pub places_in_village: bool,
    /// The record's id, named in the day's `evidence` when it places the cadre.
    pub id: String,
    /// An approved correction replaced its time or place.
    pub corrected: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovedLeave {
    pub from: Date,
    pub to: Date,
    /// county date of the leave_return, if any: leave ends the day before
    pub returned_on: Option<Date>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovedTrip {
    pub from: Date,
    pub to: Date,
}

/// A duty rota (值班) entry for the cadre.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duty {
    pub day: Date,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceInput {
    /// First day of the range, inclusive.
    pub from: Date,
    /// Last day of the range, inclusive.
    pub to: Date,
    pub assigned: Vec<ValidPeriod>,
    pub evidence: Vec<Evidence>,
    pub leaves: Vec<ApprovedLeave>,
    pub trips: Vec<ApprovedTrip>,
    pub duties: Vec<Duty>,
    /// The night window in force from each date on, ascending (the policy of each day decides
    /// that day); before the first, the default. Evidence may include the day after `to`, whose
    /// morning decides `to`'s night.
    pub windows: Vec<(Date, NightWindow)>,
    /// The flags of the cadre's flagged records, by the county day they were captured on.
    pub flags: Vec<(Date, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PresenceDay {
    /// YYYY-MM-DD
    pub date: String,
    pub status: DayStatus,
    /// Stayed in the village: placed in the evening window and again the next morning, or on
    /// duty that day (the night belongs to the evening's day).
    pub night: bool,
    pub records: u32,
    /// The records that decided the day: the first placing the cadre in the village that day,
    /// and for a night the evening's and the next morning's.
    pub evidence: Vec<String>,
    /// The distinct flags of the day's records, sorted (for a person to review, never a verdict).
    pub flags: Vec<String>,
    /// A record counted this day was moved or re-judged by an approved correction.
    pub corrected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duty_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duty_met: Option<bool>,
}

/// One line per day from `from` to `to` inclusive (none when `from > to`).
///
/// Runs in O(days + evidence + leaves + trips + periods + duties): everything is bucketed by day
/// index and spans are marked with difference arrays, so a year against thousands of records
/// stays well inside the 5 ms budget.
///
/// When two duties fall on one day, the first in `duties` is reported.
pub fn presence(input: &PresenceInput) -> Vec<PresenceDay> {
    let days = Days::new(input.from, input.to);
    let n = days.len;
    if n == 0 {
        return Vec::new();
    }

    let window = windows_by_day(&days, &input.windows);
    let mut records = vec![0u32; n];
    let mut corrected = vec![false; n];
    let mut flags: Vec<Vec<String>> = vec![Vec::new(); n];
    for (day, flag) in &input.flags {
        if let Some(i) = days.index(*day) {
            if !flags[i].contains(flag) {
                flags[i].push(flag.clone());
            }
        }
    }
    let mut placed = vec![false; n];
    // The first record placing the cadre in the village each day: it decides the day.
    let mut first_placing: Vec<Option<&str>> = vec![None; n];
    let mut evening: Vec<Option<&str>> = vec![None; n];
    // Index i: the morning of day i, which closes the night of day i − 1 (so 1..=n are used).
    let mut morning: Vec<Option<&str>> = vec![None; n + 1];
    let after_last = input.to.next_day();
    for item in &input.evidence {
        let index = days.index(item.day);
        if let Some(i) = index {
            records[i] = records[i].saturating_add(1);
            corrected[i] |= item.corrected;
            placed[i] |= item.places_in_village;
        }
        if !item.places_in_village {
            continue;
        }
        if let Some(i) = index {
            first_placing[i].get_or_insert(&item.id);
            if item.minute >= window[i].evening_from && evening[i].is_none() {
                evening[i] = Some(&item.id);
            }
        }
        let morning_index = match index {
            Some(i) => Some(i),
            None if Some(item.day) == after_last => Some(n),
            None => None,
        };
        if let Some(m) = morning_index.filter(|m| *m > 0) {
            // The window of the evening's day decides its night.
            if item.minute < window[m - 1].morning_until && morning[m].is_none() {
                morning[m] = Some(&item.id);
            }
        }
    }

    let mut trip = Spans::new(n);
    for t in &input.trips {
        trip.mark(days.span(t.from, Some(t.to)));
    }
    let trip = trip.covered();

    let mut leave = Spans::new(n);
    for l in &input.leaves {
        // The day of return is a working day again: leave covers only the days before it.
        let last = match l.returned_on {
            Some(returned) => match returned.previous_day() {
                Some(day_before) => day_before.min(l.to),
                None => continue,
            },
            None => l.to,
        };
        leave.mark(days.span(l.from, Some(last)));
    }
    let leave = leave.covered();

    let mut assigned = Spans::new(n);
    for period in &input.assigned {
        assigned.mark(days.span(period.from(), period.to()));
    }
    let assigned = assigned.covered();

    let mut duty: Vec<Option<&str>> = vec![None; n];
    for d in &input.duties {
        if let Some(i) = days.index(d.day) {
            duty[i].get_or_insert(d.id.as_str());
        }
    }

    let mut out = Vec::with_capacity(n);
    let mut date = Some(input.from);
    for i in 0..n {
        let Some(day) = date else { break };
        let status = if placed[i] {
            DayStatus::Present
        } else if trip[i] {
            DayStatus::Trip
        } else if leave[i] {
            DayStatus::Leave
        } else if assigned[i] {
            DayStatus::Absent
        } else {
            DayStatus::NotAssigned
        };
        let stayed = evening[i].zip(morning[i + 1]);
        let night = stayed.is_some() || duty[i].is_some();
        let mut evidence: Vec<String> = first_placing[i].into_iter().map(str::to_owned).collect();
        if let Some((evening_id, morning_id)) = stayed {
            for id in [evening_id, morning_id] {
                if !evidence.iter().any(|e| e == id) {
                    evidence.push(id.to_owned());
                }
            }
        }
        out.push(PresenceDay {
            date: format_date(day),
            status,
            night,
            records: records[i],
            evidence,
            flags: {
                let mut day_flags = std::mem::take(&mut flags[i]);
                day_flags.sort();
                day_flags
            },
            corrected: corrected[i],
            duty_id: duty[i].map(str::to_owned),
            // A duty is kept in the village it was set for; a trip, though it counts as present
            // for residency, is elsewhere, so it does not meet the duty.
            duty_met: duty[i].map(|_| status == DayStatus::Present),
        });
        date = day.next_day();
    }
    out
}

/// Counts per status as a JSON object {present, trip, leave, absent, not_assigned} (all keys,
/// zeros included, so a report never has to tell a missing key from zero).
pub fn totals(days: &[PresenceDay]) -> Value {
    let mut counts = [0u64; DayStatus::ALL.len()];
    for day in days {
        // The discriminant is the position in ALL: both follow declaration order.
        counts[day.status as usize] += 1;
    }
    json!({
        "present": counts[0],
        "trip": counts[1],
        "leave": counts[2],
        "absent": counts[3],
        "not_assigned": counts[4],
        "nights": days.iter().filter(|d| d.night).count(),
        "flagged_days": days.iter().filter(|d| !d.flags.is_empty()).count(),
    })
}

/// The night window of each day of the range.
fn windows_by_day(days: &Days, windows: &[(Date, NightWindow)]) -> Vec<NightWindow> {
    let mut out = Vec::with_capacity(days.len);
    let mut current = NightWindow::default();
    let mut next = windows.iter().peekable();
    let mut date = Some(days.from);
    for _ in 0..days.len {
        let Some(day) = date else { break };
        while let Some((from, window)) = next.peek() {
            if *from > day {
                break;
            }
            current = *window;
            next.next();
        }
        out.push(current);
        date = day.next_day();
    }
    out
}

/// The queried range, mapping dates to indices.
struct Days {
    from: Date,
    len: usize,
}

impl Days {
    fn new(from: Date, to: Date) -> Self {
        let len = if to < from {
            0
        } else {
            usize::try_from((to - from).whole_days() + 1).unwrap_or(0)
        };
        Self { from, len }
    }

    fn index(&self, day: Date) -> Option<usize> {
        if day < self.from {
            return None;
        }
        usize::try_from((day - self.from).whole_days())
            .ok()
            .filter(|i| *i < self.len)
    }

    /// Inclusive indices of `start..=end` clipped to the range (`end` None: open-ended).
    fn span(&self, start: Date, end: Option<Date>) -> Option<(usize, usize)> {
        if self.len == 0 || end.is_some_and(|end| end < start || end < self.from) {
            return None;
        }
        let first = if start <= self.from {
            0
        } else {
            self.index(start)?
        };
        let last = match end.and_then(|end| self.index(end)) {
            Some(last) => last,
            // Past the range (or open-ended): known to be >= from by the check above.
            None => self.len - 1,
        };
        (first <= last).then_some((first, last))
    }
}

/// Difference array: marking a span is O(1), reading all days once is O(days).
struct Spans(Vec<i64>);

impl Spans {
    fn new(len: usize) -> Self {
        Self(vec![0; len + 1])
    }

    fn mark(&mut self, span: Option<(usize, usize)>) {
        if let Some((first, last)) = span {
            self.0[first] += 1;
            self.0[last + 1] -= 1;
        }
    }

    fn covered(self) -> Vec<bool> {
        let mut depth = 0;
        let len = self.0.len() - 1;
        self.0[..len]
            .iter()
            .map(|delta| {
                depth += delta;
                depth > 0
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
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
}
