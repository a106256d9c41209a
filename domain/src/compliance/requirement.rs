//! Residency requirements pro-rated day by day (docs/supervision.md, "Residency").
//!
//! Every day a cadre is assigned and not on leave carries its share of each rule in force that
//! day: 1/7 of a weekly count, 1/L of a monthly count for a month of L days. Summing shares
//! handles, with one formula, an assignment that starts or ends mid-period, leave, a week that
//! spans two months and a rule changed mid-month. The sum is kept exact (every share is a whole
//! multiple of 1/DENOMINATOR), so "5 of 7 days, seven times" is exactly 5 and not 4.999….

use crate::policy::Residency;
use serde::Serialize;
use time::Date;

/// lcm(7, 28, 29, 30, 31): every share of a weekly or monthly rule is a whole number of these.
const DENOMINATOR: u64 = 377_580;

/// The parts of the residency rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    DaysPerWeek,
    NightsPerWeek,
    DaysPerMonth,
}

impl RuleKind {
    pub const ALL: [RuleKind; 3] = [
        RuleKind::DaysPerWeek,
        RuleKind::NightsPerWeek,
        RuleKind::DaysPerMonth,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::DaysPerWeek => "days_per_week",
            RuleKind::NightsPerWeek => "nights_per_week",
            RuleKind::DaysPerMonth => "days_per_month",
        }
    }

    /// Whether the rule counts nights (else days).
    pub fn counts_nights(self) -> bool {
        self == RuleKind::NightsPerWeek
    }

    fn value(self, residency: &Residency) -> Option<u8> {
        match self {
            RuleKind::DaysPerWeek => residency.days_per_week,
            RuleKind::NightsPerWeek => residency.nights_per_week,
            RuleKind::DaysPerMonth => residency.days_per_month,
        }
    }

    /// Days the rule's count is spread over, for a day in it.
    fn spread(self, day: Date) -> u64 {
        match self {
            RuleKind::DaysPerWeek | RuleKind::NightsPerWeek => 7,
            RuleKind::DaysPerMonth => u64::from(day.month().length(day.year())),
        }
    }
}

/// One part of the rule against the period: what was required and what was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requirement {
    pub rule: RuleKind,
    /// The rule's count on the last day it was in force (a mid-period change shows the new one).
    pub value: u8,
    pub required: u32,
    pub actual: u32,
    pub met: bool,
}

/// Sums the shares of every rule part over the available days (assigned, not on leave) and
/// rounds each sum half up. `residency(day)` is the rule in force that day. A part set on no
/// available day is not a requirement of the period.
pub fn requirements(
    available: impl IntoIterator<Item = (Date, Residency)>,
    days_in_village: u32,
    nights_in_village: u32,
) -> Vec<Requirement> {
    let mut sums = [0u64; RuleKind::ALL.len()];
    let mut last = [None::<u8>; RuleKind::ALL.len()];
    for (day, residency) in available {
        for (i, kind) in RuleKind::ALL.into_iter().enumerate() {
            if let Some(value) = kind.value(&residency) {
                sums[i] += u64::from(value) * (DENOMINATOR / kind.spread(day));
                last[i] = Some(value);
            }
        }
    }
    RuleKind::ALL
        .into_iter()
        .enumerate()
        .filter_map(|(i, rule)| {
            let value = last[i]?;
            let required = round_half_up(sums[i]);
            let actual = if rule.counts_nights() {
                nights_in_village
            } else {
                days_in_village
            };
            Some(Requirement {
                rule,
                value,
                required,
                actual,
                met: actual >= required,
            })
        })
        .collect()
}

fn round_half_up(shares: u64) -> u32 {
    u32::try_from((2 * shares + DENOMINATOR) / (2 * DENOMINATOR)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn rule(days_per_week: Option<u8>, nights: Option<u8>, month: Option<u8>) -> Residency {
        Residency {
            days_per_week,
            nights_per_week: nights,
            days_per_month: month,
        }
    }

    fn days(from: Date, n: usize) -> Vec<Date> {
        std::iter::successors(Some(from), |d| d.next_day())
            .take(n)
            .collect()
    }

    fn required(list: &[Requirement], kind: RuleKind) -> u32 {
        list.iter().find(|r| r.rule == kind).unwrap().required
    }

    #[test]
    fn a_whole_week_requires_the_rule_exactly() {
        let five_four = rule(Some(5), Some(4), None);
        let week = days(date!(2026 - 11 - 16), 7);
        let list = requirements(week.iter().map(|d| (*d, five_four)), 5, 3);
        assert_eq!(required(&list, RuleKind::DaysPerWeek), 5);
        assert_eq!(required(&list, RuleKind::NightsPerWeek), 4);
        assert!(list[0].met);
        assert!(!list[1].met);
        assert_eq!(list.len(), 2, "no monthly rule is set");
    }

    #[test]
    fn part_of_a_week_is_pro_rated_and_rounded_half_up() {
        let five_four = rule(Some(5), Some(4), None);
        // Wednesday to Sunday: 5 × 5/7 = 3.57 → 4 days; 4 × 5/7 = 2.86 → 3 nights.
        let list = requirements(
            days(date!(2026 - 11 - 18), 5)
                .into_iter()
                .map(|d| (d, five_four)),
            4,
            3,
        );
        assert_eq!(required(&list, RuleKind::DaysPerWeek), 4);
        assert_eq!(required(&list, RuleKind::NightsPerWeek), 3);
        // 7 of 14 days at 1/2 each would be 3.5: halves round up. 1 day/week over 3.5 weeks.
        let one = rule(Some(1), None, None);
        let list = requirements(
            days(date!(2026 - 11 - 02), 7).into_iter().map(|d| (d, one)),
            0,
            0,
        );
        assert_eq!(required(&list, RuleKind::DaysPerWeek), 1);
        let list = requirements(
            days(date!(2026 - 11 - 02), 3)
                .into_iter()
                .map(|d| (d, rule(Some(7), None, None))),
            0,
            0,
        );
        assert_eq!(required(&list, RuleKind::DaysPerWeek), 3);
        // 2 days/week over 7 days = 2; over 8 days = 16/7 = 2.29 → 2; over 9 = 2.57 → 3.
        let two = rule(Some(2), None, None);
        for (n, want) in [(7, 2), (8, 2), (9, 3)] {
            let list = requirements(
                days(date!(2026 - 11 - 02), n).into_iter().map(|d| (d, two)),
                0,
                0,
            );
            assert_eq!(required(&list, RuleKind::DaysPerWeek), want, "{n} days");
        }
    }

    #[test]
    fn a_monthly_rule_spreads_over_the_days_of_each_month() {
        let twenty = rule(None, None, Some(20));
        // November with three days of leave: 20 × 27/30 = 18.
        let list = requirements(
            days(date!(2026 - 11 - 01), 27)
                .into_iter()
                .map(|d| (d, twenty)),
            18,
            0,
        );
        assert_eq!(required(&list, RuleKind::DaysPerMonth), 18);
        assert!(list[0].met);
        // A week across a month end: 6 days of October (20/31 each) and 1 of November (20/30):
        // 120/31 + 20/30 = 3.871 + 0.667 = 4.54 → 5.
        let list = requirements(
            days(date!(2026 - 10 - 26), 7)
                .into_iter()
                .map(|d| (d, twenty)),
            0,
            0,
        );
        assert_eq!(required(&list, RuleKind::DaysPerMonth), 5);
    }

    #[test]
    fn a_rule_changed_mid_month_counts_each_day_by_its_own_rule() {
        // 20 a month for the first 15 days of November, 10 for the other 15: 10 + 5 = 15.
        let november = days(date!(2026 - 11 - 01), 30);
        let list = requirements(
            november.iter().map(|d| {
                let value = if d.day() <= 15 { 20 } else { 10 };
                (*d, rule(None, None, Some(value)))
            }),
            15,
            0,
        );
        assert_eq!(required(&list, RuleKind::DaysPerMonth), 15);
        assert_eq!(list[0].value, 10, "the value last in force is shown");
        assert!(list[0].met);
    }

    #[test]
    fn no_available_day_requires_nothing() {
        let list = requirements(std::iter::empty(), 0, 0);
        assert!(list.is_empty());
        let zero = rule(Some(0), None, None);
        let list = requirements(
            days(date!(2026 - 11 - 02), 7)
                .into_iter()
                .map(|d| (d, zero)),
            0,
            0,
        );
        assert_eq!(required(&list, RuleKind::DaysPerWeek), 0);
        assert!(list[0].met);
    }
}
