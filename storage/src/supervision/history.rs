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
    memo: HashMap<(String, Date), Policy>,
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
            memo: HashMap::new(),
        })
    }

    /// The policy in force at the unit with this path on `day`: every unit's latest version set
    /// by the end of that day.
    pub fn on(&mut self, path: &str, day: Date) -> &Policy {
        let key = (path.to_owned(), day);
        if !self.memo.contains_key(&key) {
            let empty = PolicyOverrides::default();
            let chain: Vec<(&str, &PolicyOverrides)> = path_codes(path)
                .map(|code| {
                    let own = self
                        .versions
                        .get(code)
                        .and_then(|list| list.iter().rev().find(|(set_on, _)| *set_on <= day))
                        .map_or(&empty, |(_, overrides)| overrides);
                    (code, own)
                })
                .collect();
            let policy = resolve(&chain).policy;
            self.memo.insert(key.clone(), policy);
        }
        &self.memo[&key]
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
