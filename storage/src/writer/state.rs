//! What judging reads, held in memory by the writer thread: units with their paths, levels,
//! tolerances and shapes; people; assignments by person; policies; bound devices; each person's
//! latest fixes; the duty rota; households and pairings. It is loaded when the writer starts and
//! changes only through [`Learned`] facts, which the commit loop applies once the request that
//! taught them has been judged (and, when requests are retried one by one, written). After a
//! group fails to write it is loaded again, so nothing of the failed group lingers.
//!
//! Memory stays bounded as the ledger grows: per person only the [`FIX_WINDOW`] latest fixes by
//! capture time are kept, never every record. What one group needs beyond that (the records its
//! ids may already name, attachments, an older fix for a very late sync) is read once per group
//! by [`JudgeState::prefetch`].

use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::policies::{load_policies, resolve_path, PolicyCache};
use crate::schema::*;
use crate::stored::{stored_answer, stored_boundary, stored_period};
use diesel::prelude::*;
use fieldtrail_domain::canonical::{from_unix_micros, unix_micros};
use fieldtrail_domain::flags::PriorFix;
use fieldtrail_domain::geo::{Boundary, Position, ToleranceMeters, UnitIndex};
use fieldtrail_domain::person::{PersonId, Role};
use fieldtrail_domain::policy::{EffectivePolicy, PolicyOverrides};
use fieldtrail_domain::record::{
    judge_fix, AssignedVillage, Fix, Flag, RecordBody, RecordSubmission, Verdict,
};
use fieldtrail_domain::roster::{county_date, format_date, parse_date, ValidPeriod};
use fieldtrail_domain::unit::{UnitLevel, UnitPath};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// Days of the duty rota kept in memory, back from today; a record captured before them (a very
/// late sync) has its day's duty read with the group's prefetch.
pub const DUTY_DAYS: i64 = 400;

/// Fixes kept per person, the latest by capture time. `repeated_fix` compares against these;
/// the previous fix of a record captured before all of them is read from the database.
pub const FIX_WINDOW: usize = 256;

#[derive(Debug, Clone)]
pub(crate) struct UnitInfo {
    pub path: UnitPath,
    pub level: UnitLevel,
    pub tolerance: ToleranceMeters,
}

#[derive(Debug, Clone)]
pub(crate) struct PersonInfo {
    pub role: Role,
    pub unit_code: Option<String>,
    pub unit_path: UnitPath,
}

#[derive(Debug, Clone)]
pub(crate) struct HouseholdInfo {
    pub unit_code: String,
    pub location: Position,
}

/// A fix as the speed and repetition checks need it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct KnownFix {
    pub captured_at: i64,
    pub position: Position,
    pub accuracy_m: f64,
    pub sent_lon: f64,
    pub sent_lat: f64,
}

impl KnownFix {
    pub(crate) fn of(fix: &Fix, captured_at: i64) -> Self {
        KnownFix {
            captured_at,
            position: fix.position,
            accuracy_m: fix.accuracy.get(),
            sent_lon: fix.sent.lon(),
            sent_lat: fix.sent.lat(),
        }
    }

    fn prior(&self) -> PriorFix {
        PriorFix {
            captured_at: from_unix_micros(self.captured_at),
            position: self.position,
            accuracy_m: self.accuracy_m,
        }
    }

    fn same_as(&self, fix: &Fix) -> bool {
        self.sent_lon == fix.sent.lon()
            && self.sent_lat == fix.sent.lat()
            && self.accuracy_m == fix.accuracy.get()
    }
}

/// A person's latest fixes, ascending by capture time. `complete` while nothing was left out.
#[derive(Debug, Clone, Default)]
struct FixWindow {
    fixes: Vec<KnownFix>,
    complete: bool,
}

impl FixWindow {
    fn insert(&mut self, fix: KnownFix) {
        // After every fix with the same time: among equal times the later arrival counts as
        // the previous one, as an index scan in insertion order gives it.
        let at = self
            .fixes
            .partition_point(|f| f.captured_at <= fix.captured_at);
        self.fixes.insert(at, fix);
    }

    fn trim(&mut self) {
        if self.fixes.len() > FIX_WINDOW {
            let excess = self.fixes.len() - FIX_WINDOW;
            self.fixes.drain(..excess);
            self.complete = false;
        }
    }

    /// Whether the window alone may not know the fix before `at`.
    fn misses_before(&self, at: i64) -> bool {
        !self.complete && self.fixes.first().is_none_or(|f| at < f.captured_at)
    }

    fn latest_at_or_before(&self, at: i64) -> Option<&KnownFix> {
        let end = self.fixes.partition_point(|f| f.captured_at <= at);
        end.checked_sub(1).map(|i| &self.fixes[i])
    }
}

/// A record the group's requests may name: one stored before the group (read by
/// [`JudgeState::prefetch`]) or one the group has created.
#[derive(Debug, Clone)]
pub(crate) struct KnownRecord {
    pub person_id: String,
    pub kind: String,
    pub content_hash: Vec<u8>,
    /// None once the payload (and its salt) has been purged.
    pub salt: Option<Vec<u8>>,
    /// The answer given when it was stored.
    pub response: Value,
    /// For a leave request: the day the cadre came back, once they have.
    pub returned_on: Option<String>,
}

/// On PostgreSQL, the records with the given ids: the ids as a table to join, so that the plan
/// is an index lookup per id however many there are (`id = ANY(…)` over thousands of ids scans
/// the table). Planned afresh each time: a prepared statement's generic plan, made when the
/// tables were still empty, can stay a scan of `records` long after the table has grown.
struct PgRecordsById<'a> {
    ids: &'a [String],
}

impl diesel::query_builder::QueryId for PgRecordsById<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for PgRecordsById<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for PgRecordsById<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql(
            "SELECT r.id, r.person_id, r.kind, r.seq, r.content_hash, l.leaf_hash, \
             l.received_at, l.verdicts, p.salt, q.returned_on FROM unnest(",
        );
        out.push_bind_param::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(self.ids)?;
        out.push_sql(
            ") AS wanted (id) JOIN records r ON r.id = wanted.id \
             JOIN ledger l ON l.seq = r.seq \
             LEFT JOIN ledger_payloads p ON p.seq = r.seq \
             LEFT JOIN requests q ON q.record_id = r.id",
        );
        Ok(())
    }
}

impl RunQueryDsl<diesel::PgConnection> for PgRecordsById<'_> {}

/// A stored record as a group's prefetch reads it.
#[derive(Queryable, QueryableByName)]
struct PrefetchedRecord {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    person_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    content_hash: Vec<u8>,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    leaf_hash: Vec<u8>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    received_at: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    verdicts: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Binary>)]
    salt: Option<Vec<u8>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    returned_on: Option<String>,
}

/// A fact a judged request adds to what judging knows.
#[derive(Debug, Clone)]
pub(crate) enum Learned {
    Record {
        id: String,
        record: KnownRecord,
    },
    LeaveReturned {
        leave_id: String,
        on: String,
    },
    Fix {
        person: PersonId,
        fix: KnownFix,
    },
    Binding {
        person: PersonId,
        device: String,
    },
    Duty {
        person: PersonId,
        day: Date,
        record_id: String,
    },
    Unit {
        code: String,
        info: UnitInfo,
        boundary: Option<Boundary>,
    },
    Person {
        id: PersonId,
        info: PersonInfo,
    },
    Assignment {
        person: PersonId,
        unit_code: String,
        period: ValidPeriod,
    },
    Household {
        id: Uuid,
        info: HouseholdInfo,
    },
    Pairing {
        person: PersonId,
        household: Uuid,
        period: ValidPeriod,
    },
    Policy {
        unit_code: String,
        overrides: PolicyOverrides,
    },
}

#[derive(Default)]
pub(crate) struct JudgeState {
    units: HashMap<String, UnitInfo>,
    index: UnitIndex,
    people: HashMap<PersonId, PersonInfo>,
    /// Villages by person, in assignment order.
    assignments: HashMap<PersonId, Vec<(String, ValidPeriod)>>,
    policies: PolicyCache,
    /// Resolved policies by unit path; emptied whenever a policy or a unit changes.
    effective: RefCell<HashMap<String, Arc<EffectivePolicy>>>,
    bindings: HashMap<PersonId, String>,
    fixes: HashMap<PersonId, FixWindow>,
    /// Windows a group has added to, to be trimmed once it is settled.
    touched: HashSet<PersonId>,
    /// The first duty entry of each person and day, for days from `duty_horizon` on.
    duties: HashMap<(PersonId, Date), String>,
    duty_horizon: DutyHorizon,
    households: HashMap<Uuid, HouseholdInfo>,
    /// Households each cadre is paired with, and when.
    pairings: HashMap<PersonId, Vec<(Uuid, ValidPeriod)>>,
    /// What the current group read or created; see [`JudgeState::prefetch`].
    records: HashMap<String, KnownRecord>,
    attachments: HashSet<String>,
    earlier_fixes: HashMap<(PersonId, i64), KnownFix>,
    earlier_duties: HashMap<(PersonId, Date), String>,
}

/// The first day of the duty rota the writer keeps in memory: [`DUTY_DAYS`] before today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct DutyHorizon(Date);

impl DutyHorizon {
    fn now() -> Self {
        let today = county_date(OffsetDateTime::now_utc());
        DutyHorizon(
            today
                .checked_sub(time::Duration::days(DUTY_DAYS))
                .unwrap_or(today),
        )
    }
}

impl Default for DutyHorizon {
    fn default() -> Self {
        Self::now()
    }
}

fn corrupt(what: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(what.to_string())
}

fn stored_person_id(raw: &str) -> StorageResult<PersonId> {
    PersonId::parse(raw).map_err(|_| corrupt(format!("stored person id {raw}")))
}

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
        Ok(state)
    }

    /// Reads what the group's records may refer to, once for the whole group: the records their
    /// ids (and the ids they refer to) already name, which of their attachments exist, and the
    /// previous fix of any record captured before everything its person's window holds.
    pub(crate) fn prefetch<'a>(
        &mut self,
        conn: &mut DbConnection,
        items: impl Iterator<Item = (PersonId, &'a RecordSubmission)>,
    ) -> StorageResult<()> {
        self.records.clear();
        self.attachments.clear();
        self.earlier_fixes.clear();
        self.earlier_duties.clear();
        let mut ids = Vec::new();
        let mut hashes = Vec::new();
        let mut earlier = Vec::new();
        let mut earlier_duty_days = Vec::new();
        for (person, submission) in items {
            if let RecordBody::Presence { .. } = submission.body {
                let day = county_date(submission.captured_at.at());
                if day < self.duty_horizon.0 {
                    earlier_duty_days.push((person, day));
                }
            }
            ids.push(submission.id.to_string());
            if let Some(target) = submission.refers_to() {
                ids.push(target.to_string());
            }
            hashes.extend(submission.attachments.iter().map(|h| h.to_hex()));
            if submission.fix().is_some() && !submission.kind.is_staff_record() {
                let at = unix_micros(submission.captured_at.at());
                if self.fixes.get(&person).is_some_and(|w| w.misses_before(at)) {
                    earlier.push((person, at));
                }
            }
        }
        if !ids.is_empty() {
            ids.sort_unstable();
            ids.dedup();
            let rows: Vec<PrefetchedRecord> = match conn {
                // The ids as a table to join, so that the plan is index lookups for each id
                // however many there are; `id = ANY(…)` over thousands of ids scans the table.
                DbConnection::Postgres(pg) => PgRecordsById { ids: &ids }.load(pg)?,
                DbConnection::Sqlite(_) => records::table
                    .inner_join(ledger::table.on(ledger::seq.eq(records::seq)))
                    .left_join(ledger_payloads::table.on(ledger_payloads::seq.eq(records::seq)))
                    .left_join(requests::table.on(requests::record_id.eq(records::id)))
                    .filter(records::id.eq_any(&ids))
                    .select((
                        records::id,
                        records::person_id,
                        records::kind,
                        records::seq,
                        records::content_hash,
                        ledger::leaf_hash,
                        ledger::received_at,
                        ledger::verdicts,
                        ledger_payloads::salt.nullable(),
                        requests::returned_on.nullable(),
                    ))
                    .load(conn)?,
            };
            for row in rows {
                let response = stored_answer(
                    &row.id,
                    &row.kind,
                    row.seq,
                    &row.leaf_hash,
                    row.received_at,
                    row.verdicts.as_deref(),
                )?;
                let record = KnownRecord {
                    person_id: row.person_id,
                    kind: row.kind,
                    content_hash: row.content_hash,
                    salt: row.salt,
                    response,
                    returned_on: row.returned_on,
                };
                self.records.insert(row.id, record);
            }
        }
        if !hashes.is_empty() {
            hashes.sort_unstable();
            hashes.dedup();
            let known: Vec<String> = attachments::table
                .filter(attachments::sha256.eq_any(&hashes))
                .select(attachments::sha256)
                .distinct()
                .load(conn)?;
            self.attachments.extend(known);
        }
        if !earlier_duty_days.is_empty() {
            // Rare too: a check-in from before the days the rota is kept for.
            let persons: Vec<String> = earlier_duty_days
                .iter()
                .map(|(p, _)| p.to_string())
                .collect();
            let days: Vec<String> = earlier_duty_days
                .iter()
                .map(|(_, d)| format_date(*d))
                .collect();
            let rows: Vec<(String, String, String)> = duties::table
                .filter(duties::person_id.eq_any(&persons))
                .filter(duties::day.eq_any(&days))
                .order(duties::seq.asc())
                .select((duties::person_id, duties::day, duties::record_id))
                .load(conn)?;
            for (person, day, record_id) in rows {
                let key = (
                    stored_person_id(&person)?,
                    parse_date(&day).map_err(|_| corrupt(format!("duty day {day}")))?,
                );
                if earlier_duty_days.contains(&key) {
                    self.earlier_duties.entry(key).or_insert(record_id);
                }
            }
        }
        for (person, at) in earlier {
            // Rare (a phone syncing records older than its person's whole window), so one
            // indexed read for each is cheaper than keeping every fix in memory.
            let row: Option<(i64, f64, f64, f64, f64, f64)> = fixes::table
                .inner_join(records::table.on(records::seq.eq(fixes::seq)))
                .filter(records::person_id.eq(person.to_string()))
                .filter(records::captured_at.le(at))
                .order(records::captured_at.desc())
                .select(FIX_COLUMNS)
                .first(conn)
                .optional()?;
            if let Some(row) = row {
                self.earlier_fixes.insert((person, at), known_fix(row)?);
            }
        }
        Ok(())
    }

    /// Takes in what a judged request taught.
    pub(crate) fn learn(&mut self, facts: Vec<Learned>) {
        for fact in facts {
            match fact {
                Learned::Record { id, record } => {
                    self.records.insert(id, record);
                }
                Learned::LeaveReturned { leave_id, on } => {
                    if let Some(leave) = self.records.get_mut(&leave_id) {
                        leave.returned_on = Some(on);
                    }
                }
                Learned::Fix { person, fix } => {
                    self.fixes
                        .entry(person)
                        .or_insert_with(|| FixWindow {
                            fixes: Vec::new(),
                            complete: true,
                        })
                        .insert(fix);
                    self.touched.insert(person);
                }
                Learned::Binding { person, device } => {
                    self.bindings.insert(person, device);
                }
                Learned::Duty {
                    person,
                    day,
                    record_id,
                } => {
                    // An older day is only for the rest of this group; later groups read it
                    // from the database like any other day before the horizon.
                    let days = if day >= self.duty_horizon.0 {
                        &mut self.duties
                    } else {
                        &mut self.earlier_duties
                    };
                    days.entry((person, day)).or_insert(record_id);
                }
                Learned::Unit {
                    code,
                    info,
                    boundary,
                } => {
                    if let Some(boundary) = &boundary {
                        self.index.insert(&code, info.level.depth(), boundary);
                    }
                    self.units.insert(code, info);
                    self.effective.borrow_mut().clear();
                }
                Learned::Person { id, info } => {
                    self.people.insert(id, info);
                }
                Learned::Assignment {
                    person,
                    unit_code,
                    period,
                } => {
                    self.assignments
                        .entry(person)
                        .or_default()
                        .push((unit_code, period));
                }
                Learned::Household { id, info } => {
                    self.households.insert(id, info);
                }
                Learned::Pairing {
                    person,
                    household,
                    period,
                } => {
                    self.pairings
                        .entry(person)
                        .or_default()
                        .push((household, period));
                }
                Learned::Policy {
                    unit_code,
                    overrides,
                } => {
                    self.policies.insert(unit_code, overrides);
                    self.effective.borrow_mut().clear();
                }
            }
        }
    }

    /// After a group has committed: windows back to their bound, and the duty rota to its days.
    pub(crate) fn settle(&mut self) {
        for person in self.touched.drain() {
            if let Some(window) = self.fixes.get_mut(&person) {
                window.trim();
            }
        }
        let horizon = DutyHorizon::now();
        if horizon > self.duty_horizon {
            self.duty_horizon = horizon;
            self.duties.retain(|(_, day), _| *day >= horizon.0);
        }
    }

    pub(crate) fn person(&self, id: &PersonId) -> Option<&PersonInfo> {
        self.people.get(id)
    }

    pub(crate) fn unit(&self, code: &str) -> Option<&UnitInfo> {
        self.units.get(code)
    }

    pub(crate) fn household(&self, id: &Uuid) -> Option<&HouseholdInfo> {
        self.households.get(id)
    }

    pub(crate) fn has_admin(&self) -> bool {
        self.people.values().any(|p| p.role == Role::Admin)
    }

    /// The households a person is or was paired with, with the periods of the pairings.
    pub(crate) fn pairings_of(
        &self,
        person: &PersonId,
    ) -> impl Iterator<Item = (Uuid, &ValidPeriod)> + '_ {
        self.pairings
            .get(person)
            .into_iter()
            .flatten()
            .map(|(household, period)| (*household, period))
    }

    pub(crate) fn policies(&self) -> &PolicyCache {
        &self.policies
    }

    /// Villages the person is assigned to on `day`, in assignment order.
    pub(crate) fn villages_on(&self, person: &PersonId, day: Date) -> Vec<String> {
        self.assignments.get(person).map_or_else(Vec::new, |all| {
            all.iter()
                .filter(|(_, period)| period.covers(day))
                .map(|(code, _)| code.clone())
                .collect()
        })
    }

    /// The policy in force at a unit path.
    pub(crate) fn policy_at(&self, path: &UnitPath) -> Arc<EffectivePolicy> {
        let mut cache = self.effective.borrow_mut();
        if let Some(policy) = cache.get(path.as_str()) {
            return Arc::clone(policy);
        }
        let policy = Arc::new(resolve_path(&self.policies, path.as_str()));
        cache.insert(path.as_str().to_owned(), Arc::clone(&policy));
        policy
    }

    /// The policy a person's record on a day is judged by: that of their first village that
    /// day, else of their home unit.
    pub(crate) fn person_policy(
        &self,
        person: &PersonInfo,
        villages: &[String],
    ) -> Arc<EffectivePolicy> {
        let path = villages
            .first()
            .and_then(|code| self.units.get(code))
            .map_or(&person.unit_path, |unit| &unit.path);
        self.policy_at(path)
    }

    /// The geo verdict of a fix against the given villages and the whole unit tree.
    pub(crate) fn judge_in(
        &self,
        policy: &EffectivePolicy,
        villages: &[String],
        fix: &Fix,
    ) -> (Verdict, Vec<Flag>) {
        let assigned: Vec<AssignedVillage<'_>> = villages
            .iter()
            .map(|code| AssignedVillage {
                code,
                shape: self.index.shape(code),
                tolerance: policy
                    .policy
                    .tolerance_m
                    .or_else(|| self.units.get(code).map(|u| u.tolerance))
                    .unwrap_or_default(),
            })
            .collect();
        judge_fix(fix, &assigned, &self.index, policy.policy.accuracy_limit_m)
    }

    /// A household is related to a cadre who is paired with it that day or assigned to its
    /// village.
    pub(crate) fn household_related(
        &self,
        person: &PersonId,
        household_id: &Uuid,
        household: &HouseholdInfo,
        villages: &[String],
        day: Date,
    ) -> bool {
        let paired = self
            .pairings_of(person)
            .any(|(household, period)| household == *household_id && period.covers(day));
        if paired {
            return true;
        }
        let Some(home) = self.units.get(&household.unit_code) else {
            return false;
        };
        villages.iter().any(|village| {
            self.units
                .get(village)
                .is_some_and(|unit| unit.path.contains(&home.path))
        })
    }

    /// The duty entry (its record id) that puts the person on duty on `day`.
    pub(crate) fn duty(&self, person: &PersonId, day: Date) -> Option<&str> {
        let days = if day >= self.duty_horizon.0 {
            &self.duties
        } else {
            &self.earlier_duties
        };
        days.get(&(*person, day)).map(String::as_str)
    }

    /// The person's fix before this one by capture time.
    pub(crate) fn previous_fix(&self, person: &PersonId, captured_at: i64) -> Option<PriorFix> {
        let window = self
            .fixes
            .get(person)
            .and_then(|w| w.latest_at_or_before(captured_at));
        let earlier = self.earlier_fixes.get(&(*person, captured_at));
        match (window, earlier) {
            (Some(a), Some(b)) => Some(if b.captured_at > a.captured_at { b } else { a }),
            (a, b) => a.or(b),
        }
        .map(KnownFix::prior)
    }

    /// Whether one of the person's latest fixes had exactly these coordinates and accuracy.
    pub(crate) fn repeated_fix(&self, person: &PersonId, fix: &Fix) -> bool {
        self.fixes
            .get(person)
            .is_some_and(|w| w.fixes.iter().any(|f| f.same_as(fix)))
    }

    pub(crate) fn bound_device(&self, person: &PersonId) -> Option<&str> {
        self.bindings.get(person).map(String::as_str)
    }

    pub(crate) fn record(&self, id: &str) -> Option<&KnownRecord> {
        self.records.get(id)
    }

    pub(crate) fn attachment_known(&self, sha256_hex: &str) -> bool {
        self.attachments.contains(sha256_hex)
    }
}

const FIX_COLUMNS: (
    fixes::captured_at,
    fixes::lon,
    fixes::lat,
    fixes::accuracy_m,
    fixes::sent_lon,
    fixes::sent_lat,
) = (
    fixes::captured_at,
    fixes::lon,
    fixes::lat,
    fixes::accuracy_m,
    fixes::sent_lon,
    fixes::sent_lat,
);

fn known_fix(row: (i64, f64, f64, f64, f64, f64)) -> StorageResult<KnownFix> {
    let (captured_at, lon, lat, accuracy_m, sent_lon, sent_lat) = row;
    Ok(KnownFix {
        captured_at,
        position: Position::parse(lon, lat).map_err(|_| corrupt("stored fix position"))?,
        accuracy_m,
        sent_lon,
        sent_lat,
    })
}

/// The person's latest fixes, one more than the window holds to learn whether it is complete.
fn load_window(conn: &mut DbConnection, person: PersonId) -> StorageResult<FixWindow> {
    // Through records' (person_id, captured_at) index: fixes have no index by person.
    let rows: Vec<(i64, f64, f64, f64, f64, f64)> = fixes::table
        .inner_join(records::table.on(records::seq.eq(fixes::seq)))
        .filter(records::person_id.eq(person.to_string()))
        .order(records::captured_at.desc())
        .limit(i64::try_from(FIX_WINDOW).unwrap_or(i64::MAX) + 1)
        .select(FIX_COLUMNS)
        .load(conn)?;
    let complete = rows.len() <= FIX_WINDOW;
    let mut fixes = rows
        .into_iter()
        .take(FIX_WINDOW)
        .map(known_fix)
        .collect::<StorageResult<Vec<_>>>()?;
    fixes.reverse();
    Ok(FixWindow { fixes, complete })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix_at(at: i64, lon: f64) -> KnownFix {
        KnownFix {
            captured_at: at,
            position: Position::parse(lon, 34.0).unwrap(),
            accuracy_m: 10.0,
            sent_lon: lon,
            sent_lat: 34.0,
        }
    }

    #[test]
    fn window_finds_the_latest_fix_at_or_before_a_time() {
        let mut window = FixWindow {
            fixes: Vec::new(),
            complete: true,
        };
        for (at, lon) in [(30, 116.3), (10, 116.1), (20, 116.2), (20, 116.25)] {
            window.insert(fix_at(at, lon));
        }
        assert_eq!(window.latest_at_or_before(5), None);
        assert_eq!(window.latest_at_or_before(10).unwrap().sent_lon, 116.1);
        // Two fixes at the same time: the later arrival is the previous one.
        assert_eq!(window.latest_at_or_before(25).unwrap().sent_lon, 116.25);
        assert_eq!(window.latest_at_or_before(99).unwrap().sent_lon, 116.3);
        assert!(
            !window.misses_before(0),
            "a complete window knows there is nothing"
        );
    }

    #[test]
    fn a_trimmed_window_keeps_the_latest_and_knows_it_is_partial() {
        let mut window = FixWindow {
            fixes: Vec::new(),
            complete: true,
        };
        let total = i64::try_from(FIX_WINDOW).unwrap() + 10;
        for at in 0..total {
            window.insert(fix_at(at, 116.0 + at as f64 * 1e-4));
        }
        window.trim();
        assert_eq!(window.fixes.len(), FIX_WINDOW);
        assert_eq!(window.fixes[0].captured_at, 10);
        assert!(!window.complete);
        assert!(window.misses_before(9));
        assert!(!window.misses_before(10));
        assert_eq!(window.latest_at_or_before(15).unwrap().captured_at, 15);
    }
}
