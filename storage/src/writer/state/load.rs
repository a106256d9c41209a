//! The judging state as the database holds it, read when the writer starts and after a group
//! fails to write.

use super::fixes::load_window;
use super::{corrupt, stored_person_id, HouseholdInfo, JudgeState, PersonInfo, UnitInfo};
use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::policies::load_policies;
use crate::schema::*;
use crate::stored::{stored_boundary, stored_period};
use diesel::prelude::*;
use fieldtrail_domain::geo::{Position, ToleranceMeters};
use fieldtrail_domain::person::{PersonId, Role};
use fieldtrail_domain::roster::{format_date, parse_date};
use fieldtrail_domain::unit::{UnitLevel, UnitPath};
use uuid::Uuid;

impl JudgeState {
    /// Everything judging needs, from the database (inside the caller's transaction, if any).
    pub(crate) fn load(conn: &mut DbConnection) -> StorageResult<JudgeState> {
        let mut state = JudgeState {
            policies: load_policies(conn)?,
            ..JudgeState::default()
        };
        let units: Vec<(String, String, String, f64, Option<String>)> = units::table
            .select((
                units::code,
                units::level,
                units::path,
                units::tolerance_m,
                units::boundary,
            ))
            .load(conn)?;
        let mut shapes = Vec::new();
        for (code, level, path, tolerance, boundary) in units {
            let level = UnitLevel::parse(&level)
                .map_err(|_| corrupt(format!("unit {code} has level {level}")))?;
            if let Some(boundary) = stored_boundary(&code, boundary.as_deref())? {
                shapes.push((code.clone(), level.depth(), boundary));
            }
            let info = UnitInfo {
                path: UnitPath::from_stored(path),
                level,
                tolerance: ToleranceMeters::parse(tolerance).unwrap_or_default(),
            };
            state.units.insert(code, info);
        }
        state.index = shapes.into_iter().collect();

        let people: Vec<(String, String, Option<String>, String)> = people::table
            .select((
                people::id,
                people::role,
                people::unit_code,
                people::unit_path,
            ))
            .load(conn)?;
        for (id, role, unit_code, unit_path) in people {
            let role = Role::parse(&role).map_err(|_| corrupt(format!("stored role {role}")))?;
            let info = PersonInfo {
                role,
                unit_code,
                unit_path: UnitPath::from_stored(unit_path),
            };
            state.people.insert(stored_person_id(&id)?, info);
        }

        let assignments: Vec<(String, String, String, Option<String>)> = assignments::table
            .order(assignments::seq.asc())
            .select((
                assignments::person_id,
                assignments::unit_code,
                assignments::valid_from,
                assignments::valid_to,
            ))
            .load(conn)?;
        for (person, unit_code, from, to) in assignments {
            let period = stored_period(&from, to.as_deref())
                .ok_or_else(|| corrupt(format!("assignment period {from}..{to:?}")))?;
            state
                .assignments
                .entry(stored_person_id(&person)?)
                .or_default()
                .push((unit_code, period));
        }

        let bindings: Vec<(String, String)> = device_bindings::table
            .order(device_bindings::seq.asc())
            .select((device_bindings::person_id, device_bindings::device_id))
            .load(conn)?;
        for (person, device) in bindings {
            state.bindings.insert(stored_person_id(&person)?, device);
        }

        let duties: Vec<(String, String, String)> = duties::table
            .filter(duties::day.ge(format_date(state.duty_horizon.0)))
            .order(duties::seq.asc())
            .select((duties::person_id, duties::day, duties::record_id))
            .load(conn)?;
        for (person, day, record_id) in duties {
            let day = parse_date(&day).map_err(|_| corrupt(format!("duty day {day}")))?;
            state
                .duties
                .entry((stored_person_id(&person)?, day))
                .or_insert(record_id);
        }

        let households: Vec<(String, String, f64, f64)> = households::table
            .select((
                households::id,
                households::unit_code,
                households::lon,
                households::lat,
            ))
            .load(conn)?;
        for (id, unit_code, lon, lat) in households {
            let location = Position::parse(lon, lat)
                .map_err(|_| corrupt(format!("household {id} location")))?;
            let id = Uuid::parse_str(&id).map_err(|_| corrupt(format!("household id {id}")))?;
            state.households.insert(
                id,
                HouseholdInfo {
                    unit_code,
                    location,
                },
            );
        }

        let pairings: Vec<(String, String, String, Option<String>)> = pairings::table
            .order(pairings::seq.asc())
            .select((
                pairings::person_id,
                pairings::household_id,
                pairings::valid_from,
                pairings::valid_to,
            ))
            .load(conn)?;
        for (person, household, from, to) in pairings {
            let household = Uuid::parse_str(&household)
                .map_err(|_| corrupt(format!("paired household id {household}")))?;
            let period = stored_period(&from, to.as_deref())
                .ok_or_else(|| corrupt(format!("pairing period {from}..{to:?}")))?;
            state
                .pairings
                .entry(stored_person_id(&person)?)
                .or_default()
                .push((household, period));
        }

        let people: Vec<PersonId> = state.people.keys().copied().collect();
        for person in people {
            let window = load_window(conn, person)?;
            if !window.fixes.is_empty() {
                state.fixes.insert(person, window);
            }
        }
        state.load_open_challenges(conn)?;
        state.webhooks = super::super::webhooks::load_subscriptions(conn)?;
        Ok(state)
    }
}
