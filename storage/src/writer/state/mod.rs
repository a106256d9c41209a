//! What judging reads, held in memory by the writer thread: units with their paths, levels,
//! tolerances and shapes; people; assignments by person; policies; bound devices; each person's
//! latest fixes; the duty rota; households and pairings. It is loaded when the writer starts and
//! changes only through [`Learned`] facts, which the commit loop applies once the request that
//! taught them has been judged (and, when requests are retried one by one, written). After a
//! group fails to write it is loaded again, so nothing of the failed group lingers.
//!
//! Memory stays bounded as the ledger grows: per person only the [`FIX_WINDOW`] latest fixes by
//! capture time are kept, and the duty rota only for the last [`DUTY_DAYS`] days, never every
//! record. What one group needs beyond that (the records its ids may already name, attachments,
//! an older fix or duty day for a very late sync) is read once per group by
//! [`JudgeState::prefetch`].
//!
//! Layout: this file holds the state and what judging asks of it; [`fixes`] the per-person fix
//! windows, [`load`] how it is read at start, [`prefetch`] what a group reads on top.

use crate::error::{StorageError, StorageResult};
use crate::policies::{resolve_path, PolicyCache};
use fieldtrail_domain::flags::PriorFix;
use fieldtrail_domain::geo::{Boundary, Position, ToleranceMeters, UnitIndex};
use fieldtrail_domain::person::{PersonId, Role};
use fieldtrail_domain::policy::{EffectivePolicy, PolicyOverrides};
use fieldtrail_domain::record::{judge_fix, AssignedVillage, Fix, Flag, Verdict};
use fieldtrail_domain::roster::{county_date, ValidPeriod};
use fieldtrail_domain::unit::{UnitLevel, UnitPath};
use fixes::FixWindow;
pub(crate) use fixes::KnownFix;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

mod admission;
mod fixes;
mod load;
mod lookups;
mod prefetch;
mod spot_checks;
pub(crate) use spot_checks::OpenChallenge;

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
    pub response: Arc<Value>,
    /// For a leave request: the day the cadre came back, once they have.
    pub returned_on: Option<String>,
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
    /// An assignment's period shortened: `old` is replaced by `new`.
    AssignmentEnded {
        person: PersonId,
        unit_code: String,
        old: ValidPeriod,
        new: ValidPeriod,
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
    PairingEnded {
        person: PersonId,
        household: Uuid,
        old: ValidPeriod,
        new: ValidPeriod,
    },
    Policy {
        unit_code: String,
        overrides: PolicyOverrides,
    },
    ChallengeOpened {
        id: String,
        challenge: OpenChallenge,
    },
    ChallengeClosed {
        id: String,
    },
    Webhook {
        subscription: super::webhooks::Subscription,
    },
    WebhookGone {
        id: String,
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
    /// Spot-check challenges not answered yet, by id.
    open_challenges: HashMap<String, OpenChallenge>,
    /// Live webhooks, which the group's alerts are matched against for the outbox.
    webhooks: Vec<super::webhooks::Subscription>,
    /// Record submissions per device this minute.
    admissions: admission::Admissions,
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
                Learned::AssignmentEnded {
                    person,
                    unit_code,
                    old,
                    new,
                } => {
                    // Two identical assignments would be interchangeable, so the first will do.
                    if let Some(slot) = self.assignments.get_mut(&person).and_then(|list| {
                        list.iter_mut().find(|(u, p)| *u == unit_code && *p == old)
                    }) {
                        slot.1 = new;
                    }
                }
                Learned::PairingEnded {
                    person,
                    household,
                    old,
                    new,
                } => {
                    if let Some(slot) = self.pairings.get_mut(&person).and_then(|list| {
                        list.iter_mut().find(|(h, p)| *h == household && *p == old)
                    }) {
                        slot.1 = new;
                    }
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
                Learned::ChallengeOpened { id, challenge } => {
                    self.open_challenges.insert(id, challenge);
                }
                Learned::ChallengeClosed { id } => {
                    self.open_challenges.remove(&id);
                }
                Learned::Webhook { subscription } => {
                    self.webhooks.push(subscription);
                }
                Learned::WebhookGone { id } => {
                    self.webhooks.retain(|hook| hook.id != id);
                }
            }
        }
    }

    pub(crate) fn webhooks(&self) -> &[super::webhooks::Subscription] {
        &self.webhooks
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

    pub(crate) fn people(&self) -> impl Iterator<Item = (&PersonId, &PersonInfo)> {
        self.people.iter()
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
