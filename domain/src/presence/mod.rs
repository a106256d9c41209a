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

mod days;
use days::{windows_by_day, Days, Spans};

#[cfg(test)]
mod tests;
