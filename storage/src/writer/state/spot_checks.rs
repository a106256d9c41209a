//! What spot-checks need of the judging state: who is assigned under a unit on a day, which
//! households lie under it, and the open challenges (few at any time), whose deadlines the
//! writer watches so that a missed one is decided without any request arriving.

use super::{stored_person_id, JudgeState};
use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::schema::challenges;
use diesel::prelude::*;
use fieldtrail_domain::person::PersonId;
use fieldtrail_domain::unit::UnitPath;
use time::Date;
use uuid::Uuid;

/// A challenge waiting for its answer.
#[derive(Debug, Clone)]
pub(crate) struct OpenChallenge {
    pub draw_id: String,
    pub person: PersonId,
    pub nonce: String,
    /// Unix microseconds.
    pub issued_at: i64,
    pub deadline: i64,
}

impl JudgeState {
    pub(super) fn load_open_challenges(&mut self, conn: &mut DbConnection) -> StorageResult<()> {
        let rows: Vec<(String, String, String, String, i64, i64)> = challenges::table
            .filter(challenges::status.eq("open"))
            .select((
                challenges::id,
                challenges::draw_id,
                challenges::person_id,
                challenges::nonce,
                challenges::issued_at,
                challenges::deadline,
            ))
            .load(conn)?;
        for (id, draw_id, person, nonce, issued_at, deadline) in rows {
            let challenge = OpenChallenge {
                draw_id,
                person: stored_person_id(&person)?,
                nonce,
                issued_at,
                deadline,
            };
            self.open_challenges.insert(id, challenge);
        }
        Ok(())
    }

    /// People assigned on `day` to a village under `path`, sorted by id (as text), with those
    /// villages in assignment order.
    pub(crate) fn cadres_under(&self, path: &UnitPath, day: Date) -> Vec<(PersonId, Vec<String>)> {
        let mut cadres: Vec<(PersonId, Vec<String>)> = self
            .assignments
            .iter()
            .filter_map(|(person, all)| {
                let villages: Vec<String> = all
                    .iter()
                    .filter(|(code, period)| {
                        period.covers(day)
                            && self.units.get(code).is_some_and(|u| path.contains(&u.path))
                    })
                    .map(|(code, _)| code.clone())
                    .collect();
                (!villages.is_empty()).then_some((*person, villages))
            })
            .collect();
        cadres.sort_by_key(|(person, _)| person.to_string());
        cadres
    }

    /// Households whose unit lies under `path`.
    pub(crate) fn households_under(&self, path: &UnitPath) -> Vec<Uuid> {
        self.households
            .iter()
            .filter(|(_, h)| {
                self.units
                    .get(&h.unit_code)
                    .is_some_and(|u| path.contains(&u.path))
            })
            .map(|(id, _)| *id)
            .collect()
    }

    pub(crate) fn open_challenge(&self, id: &str) -> Option<&OpenChallenge> {
        self.open_challenges.get(id)
    }

    /// Whether any open challenge's deadline is at or before `now` (Unix microseconds).
    pub(crate) fn has_due_challenges(&self, now: i64) -> bool {
        self.open_challenges.values().any(|c| c.deadline <= now)
    }

    /// Open challenges whose deadline is at or before `now` (Unix microseconds), oldest first.
    pub(crate) fn due_challenges(&self, now: i64) -> Vec<(String, OpenChallenge)> {
        let mut due: Vec<(String, OpenChallenge)> = self
            .open_challenges
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(id, c)| (id.clone(), c.clone()))
            .collect();
        due.sort_by(|a, b| (a.1.deadline, &a.0).cmp(&(b.1.deadline, &b.0)));
        due
    }
}
