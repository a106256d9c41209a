//! One cadre's compliance over a period (docs/supervision.md, "Compliance"): days and nights
//! in the village against the residency rule, paired households visited, spot-check results,
//! and `compliant` with every reason spelled out. Computed from presence, which the caller has
//! already derived from the records as they stand now (late records and corrections included).

use serde::Serialize;
use serde_json::{json, Value};
use time::Date;

use super::requirement::{requirements, Requirement};
use crate::policy::Residency;
use crate::presence::{DayStatus, PresenceDay};
use crate::roster::{format_date, ValidPeriod};

/// An assignment that counts for the row: the village and its days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub unit_code: String,
    pub period: ValidPeriod,
}

/// A pairing of the cadre with a household and the cadre's uncontested visits to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingFacts {
    pub pairing_id: String,
    pub household_id: String,
    pub period: ValidPeriod,
    /// The visits: (county day, the visit's ledger seq), ascending, up to any day (only those up
    /// to the period's end count).
    pub visits: Vec<(Date, i64)>,
    /// The policy's visit interval on the day the pairing is judged ([`judged_on`]).
    pub interval_days: u16,
}

/// The day a pairing is judged on for a period: its last day, the pairing's end or today,
/// whichever comes first.
pub fn judged_on(period: ValidPeriod, to: Date, today: Date) -> Date {
    [Some(to), period.to(), Some(today)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(to)
}

/// A spot-check result concerning the cadre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultFact {
    pub id: String,
    pub kind: String,
    pub outcome: String,
    /// How a supervisor's own check was made (a challenge's outcome has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// RFC 3339, as records show times.
    pub at: String,
    #[serde(skip)]
    pub day: Date,
    /// The cadre's dispute on this result, if any: (dispute record id, status).
    #[serde(serialize_with = "serialize_dispute")]
    pub dispute: Option<(String, String)>,
}

fn serialize_dispute<S: serde::Serializer>(
    dispute: &Option<(String, String)>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match dispute {
        Some((id, status)) => json!({"id": id, "status": status}).serialize(serializer),
        None => serializer.serialize_none(),
    }
}

impl ResultFact {
    /// The code of what the result found against the cadre, if anything, disputed or not.
    pub fn fact_code(&self) -> Option<&'static str> {
        match (self.kind.as_str(), self.outcome.as_str()) {
            ("spot_check.outcome", "absent") => Some("spot_check_absent"),
            ("spot_check.outcome", "missed") => Some("spot_check_missed"),
            ("spot_check.verification", "denied") => Some("verification_denied"),
            _ => None,
        }
    }

    pub fn upheld_dispute(&self) -> bool {
        self.dispute
            .as_ref()
            .is_some_and(|(_, status)| status == "upheld")
    }

    /// The reason this result gives, unless an upheld dispute withdrew it.
    pub fn reason_code(&self) -> Option<&'static str> {
        self.fact_code().filter(|_| !self.upheld_dispute())
    }

    /// What the result found, in English and in Chinese.
    pub fn describe(&self) -> (String, String) {
        let date = format_date(self.day);
        match self.fact_code() {
            Some("spot_check_absent") => (
                format!(
                    "spot-check {} found the cadre outside the village on {date}",
                    self.id
                ),
                format!("{date}抽查不在岗"),
            ),
            Some("spot_check_missed") => (
                format!(
                    "spot-check {} was not answered by its deadline on {date}",
                    self.id
                ),
                format!("{date}抽查未应答"),
            ),
            Some(_) => (
                format!(
                    "household verification {} denied the visits on {date}",
                    self.id
                ),
                format!("{date}入户核实否认走访"),
            ),
            None => (
                format!("spot-check {} on {date}: {}", self.id, self.outcome),
                format!("{date}抽查：{}", self.outcome),
            ),
        }
    }
}

pub struct ComplianceInput<'a> {
    /// The period, inclusive.
    pub from: Date,
    pub to: Date,
    /// The county day it is now: households cannot be overdue in the future.
    pub today: Date,
    /// Presence from `from` to `to`, one per day in order, over all the cadre's assignments.
    pub days: &'a [PresenceDay],
    /// The assignments that count (e.g. only those under the unit asked about).
    pub served: &'a [Served],
    /// The residency rule in force each day, index 0 = `from`.
    pub residency: &'a [Residency],
    pub pairings: &'a [PairingFacts],
    /// Results captured in the period, in order.
    pub results: &'a [ResultFact],
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HouseholdLine {
    pub household_id: String,
    pub pairing_id: String,
    pub visits: u32,
    pub last_visit: Option<String>,
    /// The ledger entry of that visit, to prove it.
    pub last_visit_seq: Option<i64>,
    pub days_since_visit: i64,
    /// The visit interval in force on the day the pairing was judged.
    pub interval_days: u16,
    pub overdue: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    pub code: &'static str,
    pub message: String,
    /// The same in Chinese, as the bulletin writes it.
    pub text_zh: String,
    #[serde(flatten)]
    pub detail: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComplianceRow {
    pub villages: Vec<Value>,
    pub assigned_days: u32,
    pub leave_days: u32,
    pub trip_days: u32,
    pub present_days: u32,
    pub days_in_village: u32,
    pub nights_in_village: u32,
    pub required_days: Option<u32>,
    pub required_nights: Option<u32>,
    pub requirements: Vec<Requirement>,
    pub visits: u32,
    pub households: Vec<HouseholdLine>,
    pub overdue_households: u32,
    pub spot_checks: Vec<ResultFact>,
    pub compliant: bool,
    pub reasons: Vec<Reason>,
}

pub fn evaluate(input: &ComplianceInput<'_>) -> ComplianceRow {
    let served_on = |day: Date| input.served.iter().any(|s| s.period.covers(day));
    let mut counts = Counts::default();
    let mut available = Vec::new();
    let mut day = Some(input.from);
    for (i, presence) in input.days.iter().enumerate() {
        let Some(d) = day.filter(|d| *d <= input.to) else {
            break;
        };
        day = d.next_day();
        if !served_on(d) {
            continue;
        }
        counts.assigned += 1;
        match presence.status {
            DayStatus::Leave => {
                counts.leave += 1;
                continue;
            }
            DayStatus::Trip => counts.trip += 1,
            DayStatus::Present => counts.present += 1,
            DayStatus::Absent | DayStatus::NotAssigned => {}
        }
        // An approved official trip counts as a day and a night in the village (公务外出).
        if presence.night || presence.status == DayStatus::Trip {
            counts.nights += 1;
        }
        available.push((d, input.residency.get(i).copied().unwrap_or_default()));
    }
    let days_in_village = counts.present + counts.trip;
    let requirements = requirements(available, days_in_village, counts.nights);
    let mut reasons = Vec::new();
    for r in requirements.iter().filter(|r| !r.met) {
        let (code, what, what_zh) = if r.rule.counts_nights() {
            ("nights_below", "nights", "在村夜数")
        } else {
            ("days_below", "days", "在村天数")
        };
        reasons.push(Reason {
            code,
            message: format!(
                "{} {what} in the village, {} required ({} {})",
                r.actual,
                r.required,
                r.rule.as_str(),
                r.value
            ),
            text_zh: format!("{what_zh}不足（{}/{}）", r.actual, r.required),
            detail: json!({"rule": r.rule.as_str(), "required": r.required, "actual": r.actual}),
        });
    }

    let (households, visits) = households(input);
    for h in households.iter().filter(|h| h.overdue) {
        reasons.push(Reason {
            code: "household_overdue",
            message: format!(
                "household {} not visited for {} days (interval {})",
                h.household_id, h.days_since_visit, h.interval_days
            ),
            text_zh: format!("结对户{}天未走访", h.days_since_visit),
            detail: json!({
                "household_id": h.household_id,
                "days_since_visit": h.days_since_visit,
                "interval": h.interval_days,
            }),
        });
    }
    let spot_checks: Vec<ResultFact> = input
        .results
        .iter()
        .filter(|r| (input.from..=input.to).contains(&r.day) && served_on(r.day))
        .cloned()
        .collect();
    for result in &spot_checks {
        let Some(code) = result.reason_code() else {
            continue;
        };
        let (message, text_zh) = result.describe();
        reasons.push(Reason {
            code,
            message,
            text_zh,
            detail: json!({"id": result.id}),
        });
    }

    let villages = input
        .served
        .iter()
        .filter_map(|s| {
            let from = s.period.from().max(input.from);
            let to = s.period.to().map_or(input.to, |t| t.min(input.to));
            (from <= to).then(|| {
                json!({"unit_code": s.unit_code, "from": format_date(from), "to": format_date(to)})
            })
        })
        .collect();
    let most = |nights: bool| {
        requirements
            .iter()
            .filter(|r| r.rule.counts_nights() == nights)
            .map(|r| r.required)
            .max()
    };
    let overdue_households = households.iter().filter(|h| h.overdue).count() as u32;
    ComplianceRow {
        villages,
        assigned_days: counts.assigned,
        leave_days: counts.leave,
        trip_days: counts.trip,
        present_days: counts.present,
        days_in_village,
        nights_in_village: counts.nights,
        required_days: most(false),
        required_nights: most(true),
        requirements,
        visits,
        households,
        overdue_households,
        spot_checks,
        compliant: reasons.is_empty(),
        reasons,
    }
}

#[derive(Default)]
struct Counts {
    assigned: u32,
    leave: u32,
    trip: u32,
    present: u32,
    nights: u32,
}

/// Each pairing valid during the period, and the visits in the period to paired households.
fn households(input: &ComplianceInput<'_>) -> (Vec<HouseholdLine>, u32) {
    let mut lines = Vec::new();
    let mut total = 0;
    for pairing in input.pairings {
        let starts = pairing.period.from();
        let overlaps = starts <= input.to && pairing.period.to().is_none_or(|t| t >= input.from);
        if !overlaps {
            continue;
        }
        let in_period = pairing
            .visits
            .iter()
            .filter(|(d, _)| (input.from..=input.to).contains(d) && pairing.period.covers(*d))
            .count() as u32;
        total += in_period;
        let end = judged_on(pairing.period, input.to, input.today);
        let last = pairing
            .visits
            .iter()
            .rev()
            .find(|(d, _)| *d <= end)
            .copied();
        // The interval runs from the later of the pairing's start and the last visit.
        let since = last.map_or(starts, |(l, _)| l.max(starts));
        let days_since_visit = (end - since).whole_days().max(0);
        lines.push(HouseholdLine {
            household_id: pairing.household_id.clone(),
            pairing_id: pairing.pairing_id.clone(),
            visits: in_period,
            last_visit: last.map(|(day, _)| format_date(day)),
            last_visit_seq: last.map(|(_, seq)| seq),
            days_since_visit,
            interval_days: pairing.interval_days,
            overdue: end >= starts && days_since_visit > i64::from(pairing.interval_days),
        });
    }
    (lines, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn day(status: DayStatus, night: bool) -> PresenceDay {
        PresenceDay {
            date: String::new(),
            status,
            night,
            records: 0,
            evidence: Vec::new(),
            flags: Vec::new(),
            corrected: false,
            duty_id: None,
            duty_met: None,
        }
    }

    #[test]
    fn leave_is_excused_trips_count_and_overdue_households_are_reasons() {
        use DayStatus::*;
        // Week 2026-W47 (Mon 16 – Sun 22 November), assigned from Tuesday the 17th.
        let week = [
            day(NotAssigned, false),
            day(Present, true),
            day(Present, true),
            day(Leave, false),
            day(Trip, false),
            day(Absent, false),
            day(Present, false),
        ];
        let served = [Served {
            unit_code: "v".into(),
            period: ValidPeriod::new(date!(2026 - 11 - 17), None).unwrap(),
        }];
        let rule = Residency {
            days_per_week: Some(5),
            nights_per_week: Some(4),
            days_per_month: None,
        };
        let pairings = [
            PairingFacts {
                pairing_id: "p1".into(),
                household_id: "h1".into(),
                period: ValidPeriod::new(date!(2026 - 10 - 01), None).unwrap(),
                visits: vec![(date!(2026 - 10 - 20), 7), (date!(2026 - 11 - 18), 9)],
                interval_days: 30,
            },
            PairingFacts {
                pairing_id: "p2".into(),
                household_id: "h2".into(),
                period: ValidPeriod::new(date!(2026 - 10 - 01), None).unwrap(),
                visits: vec![(date!(2026 - 10 - 20), 8)],
                interval_days: 30,
            },
        ];
        let row = evaluate(&ComplianceInput {
            from: date!(2026 - 11 - 16),
            to: date!(2026 - 11 - 22),
            today: date!(2026 - 12 - 01),
            days: &week,
            served: &served,
            residency: &[rule; 7],
            pairings: &pairings,
            results: &[],
        });
        assert_eq!(row.assigned_days, 6);
        assert_eq!(row.leave_days, 1);
        assert_eq!(
            (row.present_days, row.trip_days, row.days_in_village),
            (3, 1, 4)
        );
        // Nights: the two present nights and the trip day.
        assert_eq!(row.nights_in_village, 3);
        // 5 available days: 5 × 5/7 = 3.57 → 4 days; 4 × 5/7 = 2.86 → 3 nights. Both met.
        assert_eq!((row.required_days, row.required_nights), (Some(4), Some(3)));
        assert_eq!(row.visits, 1);
        // h2: last visited 20 October, 33 days before 22 November.
        assert!(!row.households[0].overdue);
        assert_eq!(row.households[0].last_visit_seq, Some(9));
        assert_eq!(row.households[1].days_since_visit, 33);
        assert!(row.households[1].overdue);
        assert!(!row.compliant);
        let codes: Vec<&str> = row.reasons.iter().map(|r| r.code).collect();
        assert_eq!(codes, ["household_overdue"]);
    }
}
