//! The policy in force on a given day (policies are versioned in the ledger): each version of a
//! unit's overrides holds from the county day it was set on, so a day is judged by the rules of
//! that day and not by those of the time of the request.

use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::schema::{ledger, policies};
use crate::stored::{path_codes, stored_overrides};
use diesel::prelude::*;
use fieldtrail_domain::canonical::from_unix_micros;
use fieldtrail_domain::policy::{resolve, Policy, PolicyOverrides};
use fieldtrail_domain::roster::{county_date, ValidPeriod};
use std::collections::HashMap;
use time::Date;

/// Every version of the overrides of some units, oldest first, by the day each was set on.
pub struct PolicyHistory {
    versions: HashMap<String, Vec<(Date, PolicyOverrides)>>,
    /// Per unit path, the policy from each day a unit on it changed its overrides on, ascending
    /// (a policy changes only on those days, so a year of days resolves only a few times).
    segments: HashMap<String, Vec<(Option<Date>, Policy)>>,
}

impl PolicyHistory {
    /// The versions of every unit on the given paths (and their ancestors).
    pub fn load<'a>(
        conn: &mut DbConnection,
        paths: impl IntoIterator<Item = &'a str>,
    ) -> StorageResult<PolicyHistory> {
        let mut codes: Vec<String> = paths
            .into_iter()
            .flat_map(path_codes)
            .map(str::to_owned)
            .collect();
        codes.sort();
        codes.dedup();
        let rows: Vec<(String, String, i64)> = policies::table
            .inner_join(ledger::table.on(ledger::seq.eq(policies::seq)))
            .filter(policies::unit_code.eq_any(&codes))
            .order(policies::seq.asc())
            .select((policies::unit_code, policies::body, ledger::received_at))
            .load(conn)?;
        let mut versions: HashMap<String, Vec<(Date, PolicyOverrides)>> = HashMap::new();
        for (code, body, received_at) in rows {
            let day = county_date(from_unix_micros(received_at));
            versions
                .entry(code)
                .or_default()
                .push((day, stored_overrides(&body)?));
        }
        Ok(PolicyHistory {
            versions,
            segments: HashMap::new(),
        })
    }

    /// The policy in force at the unit with this path on `day`: every unit's latest version set
    /// by the end of that day.
    pub fn on(&mut self, path: &str, day: Date) -> &Policy {
        if !self.segments.contains_key(path) {
            let segments = self.segments_of(path);
            self.segments.insert(path.to_owned(), segments);
        }
        let segments = &self.segments[path];
        // The last segment starting on or before the day; the first (None) starts at the
        // beginning of time.
        let at = segments.partition_point(|(from, _)| from.is_none_or(|f| f <= day));
        &segments[at.saturating_sub(1)].1
    }

    fn segments_of(&self, path: &str) -> Vec<(Option<Date>, Policy)> {
        let mut days: Vec<Date> = path_codes(path)
            .filter_map(|code| self.versions.get(code))
            .flatten()
            .map(|(day, _)| *day)
            .collect();
        days.sort_unstable();
        days.dedup();
        let starts = std::iter::once(None).chain(days.into_iter().map(Some));
        starts
            .map(|start| (start, self.resolve_on(path, start)))
            .collect()
    }

    /// Resolves the chain with each unit's latest version set by `day` (none: before any).
    fn resolve_on(&self, path: &str, day: Option<Date>) -> Policy {
        let empty = PolicyOverrides::default();
        let chain: Vec<(&str, &PolicyOverrides)> = path_codes(path)
            .map(|code| {
                let own = day
                    .and_then(|day| {
                        self.versions
                            .get(code)?
                            .iter()
                            .rev()
                            .find(|(set_on, _)| *set_on <= day)
                    })
                    .map_or(&empty, |(_, overrides)| overrides);
                (code, own)
            })
            .collect();
        resolve(&chain).policy
    }
}

/// Where a cadre's day is judged: their first village that day, else their home unit.
pub fn path_on<'a>(
    villages: &'a [(String, ValidPeriod)],
    village_paths: &'a HashMap<String, String>,
    home_path: &'a str,
    day: Date,
) -> &'a str {
    villages
        .iter()
        .find(|(_, period)| period.covers(day))
        .and_then(|(code, _)| village_paths.get(code))
        .map_or(home_path, String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldtrail_domain::policy::NightWindow;
    use time::macros::date;

    fn window(evening: u16) -> PolicyOverrides {
        PolicyOverrides {
            night_window: Some(NightWindow {
                evening_from: evening * 60,
                morning_until: 8 * 60,
            }),
            ..PolicyOverrides::default()
        }
    }

    #[test]
    fn each_day_gets_the_versions_set_by_its_end() {
        let mut versions = HashMap::new();
        versions.insert(
            "c".to_owned(),
            vec![
                (date!(2026 - 03 - 10), window(20)),
                (date!(2026 - 03 - 20), window(22)),
            ],
        );
        versions.insert("v".to_owned(), vec![(date!(2026 - 03 - 15), window(21))]);
        let mut history = PolicyHistory {
            versions,
            segments: HashMap::new(),
        };
        let evening =
            |h: &mut PolicyHistory, day: Date| h.on("/c/v/", day).night_window.evening_from / 60;
        assert_eq!(
            evening(&mut history, date!(2026 - 03 - 09)),
            19,
            "the default"
        );
        assert_eq!(evening(&mut history, date!(2026 - 03 - 10)), 20);
        assert_eq!(evening(&mut history, date!(2026 - 03 - 14)), 20);
        // The village's own version wins over the county's, from the day it was set.
        assert_eq!(evening(&mut history, date!(2026 - 03 - 15)), 21);
        assert_eq!(evening(&mut history, date!(2026 - 03 - 25)), 21);
        // The county alone sees its later version.
        assert_eq!(
            history
                .on("/c/", date!(2026 - 03 - 25))
                .night_window
                .evening_from
                / 60,
            22
        );
        assert_eq!(
            history
                .on("/c/", date!(2026 - 03 - 19))
                .night_window
                .evening_from
                / 60,
            20
        );
    }
}
