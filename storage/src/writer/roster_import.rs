//! A roster sheet imported whole or not at all (docs/roster.md). Every row is checked against
//! the store and the rest of the sheet first — units, scope, who a row names, what already
//! exists — and every bad cell is reported at once; only a sheet without a single problem is
//! written, in one savepoint. A row that matches what is stored is left alone, so re-running
//! the same sheet stores nothing new.

use super::appender::LedgerAppender;
use super::pairings::{periods_overlap, write_pairing, NewPairing};
use super::roster::{write_assignment, write_household, write_person};
use super::roster::{NewAssignment, NewHousehold, NewPerson};
use super::state::{JudgeState, Learned};
use super::Actor;
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::models::{AssignmentRow, HouseholdRow, PairingRow};
use crate::schema::*;
use diesel::prelude::*;
use fieldtrail_domain::person::{PersonId, Role};
use fieldtrail_domain::roster::{format_date, ValidPeriod};
use fieldtrail_domain::roster_sheet::RosterSheet;
use fieldtrail_domain::unit::{UnitLevel, UnitPath};
use fieldtrail_domain::FieldProblem;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// IN lists stay well under SQLite's and PostgreSQL's bound on parameters.
const CHUNK: usize = 500;

pub struct RosterImport {
    pub sheet: RosterSheet,
    /// The argon2 hash of each new person's initial password, by spreadsheet row.
    pub password_hashes: HashMap<usize, String>,
    pub dry_run: bool,
}

#[derive(Default)]
struct Counts {
    people: usize,
    households: usize,
    assignments: usize,
    pairings: usize,
}

impl Counts {
    fn to_json(&self) -> Value {
        json!({
            "people": self.people,
            "households": self.households,
            "assignments": self.assignments,
            "pairings": self.pairings,
        })
    }
}

/// A person a row may name: stored, or a row of this sheet.
#[derive(Clone)]
struct Known {
    id: Option<PersonId>,
    role: Role,
    path: UnitPath,
}

/// A household a row may name: stored (with its id), or a row of this sheet (by index).
#[derive(Clone, Copy)]
enum HouseholdRef {
    Stored(Uuid),
    New(usize),
}

type StoredPerson = (
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
);

fn chunked<T, R>(
    keys: &[T],
    mut load: impl FnMut(&[T]) -> QueryResult<Vec<R>>,
) -> StorageResult<Vec<R>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        out.extend(load(chunk)?);
    }
    Ok(out)
}

pub(crate) fn import(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    import: &RosterImport,
) -> StorageResult<(Value, Vec<Learned>)> {
    let sheet = &import.sheet;
    let mut problems: Vec<FieldProblem> = sheet.problems.clone();
    // Rows with a problem of their own: rows naming them are not reported a second time.
    let mut unresolved_people: HashSet<String> = sheet.unparsed_people.clone();
    let mut unresolved_households: HashSet<(String, String)> = sheet.unparsed_households.clone();
    let mut created = Counts::default();
    let mut unchanged = Counts::default();

    // A unit a row names: known, and within the importer's scope.
    let unit_of = |code: &str| -> Result<(&UnitPath, UnitLevel), String> {
        let unit = state
            .unit(code)
            .ok_or_else(|| format!("unknown unit {code}"))?;
        if actor.scope.contains(&unit.path) {
            Ok((&unit.path, unit.level))
        } else {
            Err(format!("unit {code} is outside your scope"))
        }
    };

    // People: stored ones by username, then the sheet's.
    let usernames: Vec<String> = sheet
        .people
        .iter()
        .map(|p| p.username.0.as_str().to_owned())
        .chain(
            sheet
                .assignments
                .iter()
                .map(|a| a.username.0.as_str().to_owned()),
        )
        .chain(
            sheet
                .pairings
                .iter()
                .map(|p| p.username.0.as_str().to_owned()),
        )
        .collect();
    let stored_people: Vec<StoredPerson> = chunked(&usernames, |chunk| {
        people::table
            .filter(people::username.eq_any(chunk))
            .select((
                people::username,
                people::id,
                people::display_name,
                people::role,
                people::unit_code,
                people::unit_path,
                people::phone,
            ))
            .load(conn)
    })?;
    let mut known: HashMap<String, Known> = HashMap::new();
    let mut stored_by_name: HashMap<String, StoredPerson> = HashMap::new();
    for person in stored_people {
        let id = PersonId::parse(&person.1)
            .map_err(|_| StorageError::Corrupt(format!("stored person id {}", person.1)))?;
        let role = Role::parse(&person.3)
            .map_err(|_| StorageError::Corrupt(format!("stored role {}", person.3)))?;
        known.insert(
            person.0.clone(),
            Known {
                id: Some(id),
                role,
                path: UnitPath::from_stored(person.5.clone()),
            },
        );
        stored_by_name.insert(person.0.clone(), person);
    }
    let mut new_people = Vec::new();
    let mut seen_usernames: HashMap<&str, usize> = HashMap::new();
    for person in &sheet.people {
        let (username, username_cell) = &person.username;
        if let Some(first) = seen_usernames.insert(username.as_str(), person.row) {
            problems.push(
                username_cell.problem(format!("username already on row {first} of this sheet")),
            );
            continue;
        }
        let path = match unit_of(person.unit_code.0.as_str()) {
            Ok((path, _)) => path.clone(),
            Err(reason) => {
                problems.push(person.unit_code.1.problem(reason));
                unresolved_people.insert(username.as_str().to_owned());
                continue;
            }
        };
        if let Some(stored) = stored_by_name.get(username.as_str()) {
            let differs = [
                (
                    stored.2 != person.display_name.0.as_str(),
                    &person.display_name.1,
                ),
                (stored.3 != person.role.0.as_str(), &person.role.1),
                (
                    stored.6.as_deref() != person.phone.0.as_ref().map(|p| p.as_str()),
                    &person.phone.1,
                ),
                (
                    stored.4.as_deref() != Some(person.unit_code.0.as_str()),
                    &person.unit_code.1,
                ),
            ];
            match differs.iter().find(|(differs, _)| *differs) {
                Some((_, cell)) => {
                    problems.push(cell.problem(format!(
                        "{} already exists with other details; an import does not change people",
                        username.as_str()
                    )));
                    unresolved_people.insert(username.as_str().to_owned());
                }
                None => unchanged.people += 1,
            }
            continue;
        }
        let Some(hash) = import.password_hashes.get(&person.row) else {
            problems.push(
                person
                    .password_cell
                    .problem("a new person needs an initial password"),
            );
            unresolved_people.insert(username.as_str().to_owned());
            continue;
        };
        known.insert(
            username.as_str().to_owned(),
            Known {
                id: None,
                role: person.role.0,
                path: path.clone(),
            },
        );
        new_people.push((
            NewPerson {
                username: username.clone(),
                password_hash: hash.clone(),
                display_name: person.display_name.0.clone(),
                role: person.role.0,
                unit_code: Some(person.unit_code.0.clone()),
                phone: person.phone.0.clone(),
                must_change_password: true,
            },
            path,
        ));
    }

    // Households, keyed by village (or group) and head of household.
    let codes: Vec<String> = sheet
        .households
        .iter()
        .map(|h| h.unit_code.0.as_str().to_owned())
        .chain(
            sheet
                .pairings
                .iter()
                .map(|p| p.unit_code.0.as_str().to_owned()),
        )
        .collect();
    let stored_households: Vec<HouseholdRow> = chunked(&codes, |chunk| {
        households::table
            .filter(households::unit_code.eq_any(chunk))
            .select(HouseholdRow::as_select())
            .load(conn)
    })?;
    let mut stored_by_key: HashMap<(String, String), Vec<HouseholdRow>> = HashMap::new();
    for row in stored_households {
        stored_by_key
            .entry((row.unit_code.clone(), row.head_name.clone()))
            .or_default()
            .push(row);
    }
    let mut household_refs: HashMap<(String, String), HouseholdRef> = HashMap::new();
    let mut new_households = Vec::new();
    for household in &sheet.households {
        let key = (
            household.unit_code.0.as_str().to_owned(),
            household.head_name.0.clone(),
        );
        if household_refs.contains_key(&key) {
            problems.push(household.head_name.1.problem(
                "this household is already on this sheet (households are told apart by village and head)",
            ));
            continue;
        }
        match unit_of(&key.0) {
            Ok((_, UnitLevel::Village | UnitLevel::Group)) => {}
            Ok((_, level)) => {
                problems.push(household.unit_code.1.problem(format!(
                    "households belong to a village or group; {} is a {}",
                    key.0,
                    level.as_str()
                )));
                unresolved_households.insert(key);
                continue;
            }
            Err(reason) => {
                problems.push(household.unit_code.1.problem(reason));
                unresolved_households.insert(key);
                continue;
            }
        }
        match stored_by_key.get(&key).map(Vec::as_slice) {
            Some([stored]) => {
                let same = i32::from(household.members) == stored.members
                    && (stored.lon - household.location.lon()).abs() < 1e-9
                    && (stored.lat - household.location.lat()).abs() < 1e-9;
                if same {
                    let id = Uuid::parse_str(&stored.id).map_err(|_| {
                        StorageError::Corrupt(format!("stored household id {}", stored.id))
                    })?;
                    household_refs.insert(key, HouseholdRef::Stored(id));
                    unchanged.households += 1;
                } else {
                    problems.push(household.head_name.1.problem(
                        "this household already exists with other details; an import does not change households",
                    ));
                    unresolved_households.insert(key);
                }
            }
            Some(_) => {
                problems.push(household.head_name.1.problem(
                    "several stored households have this head in this unit; the import cannot tell them apart",
                ));
                unresolved_households.insert(key);
            }
            None => {
                household_refs.insert(key, HouseholdRef::New(new_households.len()));
                new_households.push(NewHousehold {
                    unit_code: household.unit_code.0.clone(),
                    head_name: household.head_name.0.clone(),
                    members: household.members,
                    location: household.location,
                });
            }
        }
    }
    // Households only pairings name are looked up among the stored ones.
    for pairing in &sheet.pairings {
        let key = (
            pairing.unit_code.0.as_str().to_owned(),
            pairing.head_name.0.clone(),
        );
        if household_refs.contains_key(&key) {
            continue;
        }
        if let Some([stored]) = stored_by_key.get(&key).map(Vec::as_slice) {
            if let Ok(id) = Uuid::parse_str(&stored.id) {
                household_refs.insert(key, HouseholdRef::Stored(id));
            }
        }
    }

    // What is stored of the people the sheet names, to tell a re-run from a new row.
    let stored_ids: Vec<String> = known
        .values()
        .filter_map(|k| k.id.map(|id| id.to_string()))
        .collect();
    let stored_assignments: Vec<AssignmentRow> = chunked(&stored_ids, |chunk| {
        assignments::table
            .filter(assignments::person_id.eq_any(chunk))
            .select(AssignmentRow::as_select())
            .load(conn)
    })?;
    let stored_pairings: Vec<PairingRow> = chunked(&stored_ids, |chunk| {
        pairings::table
            .filter(pairings::person_id.eq_any(chunk))
            .select(PairingRow::as_select())
            .load(conn)
    })?;

    let mut new_assignments = Vec::new();
    for assignment in &sheet.assignments {
        let (username, username_cell) = &assignment.username;
        let Some(person) = known.get(username.as_str()) else {
            if unresolved_people.contains(username.as_str()) {
                continue;
            }
            problems.push(username_cell.problem(format!(
                "no person {} is stored or on this sheet",
                username.as_str()
            )));
            continue;
        };
        if !actor.scope.contains(&person.path) {
            problems.push(username_cell.problem("this person is outside your scope"));
            continue;
        }
        let code = assignment.unit_code.0.as_str();
        match unit_of(code) {
            Ok((_, UnitLevel::Village)) => {}
            Ok((_, level)) => {
                problems.push(assignment.unit_code.1.problem(format!(
                    "assignments are to villages; {code} is a {}",
                    level.as_str()
                )));
                continue;
            }
            Err(reason) => {
                problems.push(assignment.unit_code.1.problem(reason));
                continue;
            }
        }
        let (period, period_cell) = &assignment.period;
        let existing = person.id.and_then(|id| {
            let id = id.to_string();
            stored_assignments.iter().find(|row| {
                row.person_id == id
                    && row.unit_code == code
                    && row.role == assignment.post.as_str()
                    && row.valid_from == format_date(period.from())
            })
        });
        if let Some(row) = existing {
            if row.valid_to == period.to().map(format_date) {
                unchanged.assignments += 1;
            } else {
                problems.push(period_cell.problem(format!(
                    "this assignment exists (id {}) with another 结束日期; end it through POST /v1/assignments/{{id}}/end",
                    row.id
                )));
            }
            continue;
        }
        new_assignments.push((username.as_str().to_owned(), assignment));
    }

    // Pairings, within the policy's limit on households per cadre.
    let mut new_pairings: Vec<(String, HouseholdRef, ValidPeriod, String)> = Vec::new();
    for pairing in &sheet.pairings {
        let (username, username_cell) = &pairing.username;
        let Some(person) = known.get(username.as_str()) else {
            if unresolved_people.contains(username.as_str()) {
                continue;
            }
            problems.push(username_cell.problem(format!(
                "no person {} is stored or on this sheet",
                username.as_str()
            )));
            continue;
        };
        if person.role != Role::Cadre {
            problems.push(username_cell.problem("pairings are for cadres"));
            continue;
        }
        if !actor.scope.contains(&person.path) {
            problems.push(username_cell.problem("this person is outside your scope"));
            continue;
        }
        let code = pairing.unit_code.0.as_str();
        match unit_of(code) {
            Ok(_) => {}
            Err(reason) => {
                problems.push(pairing.unit_code.1.problem(reason));
                continue;
            }
        };
        let key = (code.to_owned(), pairing.head_name.0.clone());
        let Some(household) = household_refs.get(&key).copied() else {
            if unresolved_households.contains(&key) {
                continue;
            }
            let reason = if stored_by_key.get(&key).is_some_and(|rows| rows.len() > 1) {
                format!(
                    "several stored households are headed by {} in {code}; pair them through POST /v1/pairings",
                    pairing.head_name.0
                )
            } else {
                format!(
                    "no household headed by {} in {code} is stored or on this sheet",
                    pairing.head_name.0
                )
            };
            problems.push(pairing.head_name.1.problem(reason));
            continue;
        };
        let (period, period_cell) = &pairing.period;
        if let (Some(id), HouseholdRef::Stored(household_id)) = (person.id, household) {
            let (id, household_id) = (id.to_string(), household_id.to_string());
            let existing = stored_pairings.iter().find(|row| {
                row.person_id == id
                    && row.household_id == household_id
                    && row.valid_from == format_date(period.from())
            });
            if let Some(row) = existing {
                if row.valid_to == period.to().map(format_date) {
                    unchanged.pairings += 1;
                } else {
                    problems.push(period_cell.problem(format!(
                        "this pairing exists (id {}) with another 结束日期; end it through POST /v1/pairings/{{id}}/end",
                        row.id
                    )));
                }
                continue;
            }
        }
        // The same rules as POST /v1/pairings: not twice with one household at once, and
        // within the limit of the policy where the cadre serves.
        let stored_overlapping: Vec<Uuid> = person
            .id
            .map(|id| {
                state
                    .pairings_of(&id)
                    .filter(|(_, p)| periods_overlap(p, period))
                    .map(|(h, _)| h)
                    .collect()
            })
            .unwrap_or_default();
        let sheet_overlapping: Vec<HouseholdRef> = new_pairings
            .iter()
            .filter(|(name, _, p, _)| name == username.as_str() && periods_overlap(p, period))
            .map(|(_, h, _, _)| *h)
            .collect();
        let twice = match household {
            HouseholdRef::Stored(id) => {
                stored_overlapping.contains(&id)
                    || sheet_overlapping
                        .iter()
                        .any(|h| matches!(h, HouseholdRef::Stored(other) if *other == id))
            }
            HouseholdRef::New(index) => sheet_overlapping
                .iter()
                .any(|h| matches!(h, HouseholdRef::New(other) if *other == index)),
        };
        if twice {
            problems.push(
                period_cell
                    .problem("the cadre is already paired with this household in that period"),
            );
            continue;
        }
        let overlapping = stored_overlapping.len() + sheet_overlapping.len();
        let policy = match person
            .id
            .and_then(|id| state.person(&id).map(|info| (id, info)))
        {
            Some((id, info)) => state.person_policy(info, &state.villages_on(&id, period.from())),
            None => state.policy_at(&person.path),
        };
        let limit = usize::from(policy.policy.max_paired_households);
        if overlapping >= limit {
            problems.push(username_cell.problem(format!(
                "the cadre would have {} paired households in that period; the policy allows {limit}",
                overlapping + 1
            )));
            continue;
        }
        new_pairings.push((
            username.as_str().to_owned(),
            household,
            *period,
            code.to_owned(),
        ));
    }

    if !problems.is_empty() {
        problems.sort_by(|a, b| {
            let column = |p: &FieldProblem| {
                let c = p.column.clone().unwrap_or_default();
                (c.len(), c)
            };
            (a.row, column(a)).cmp(&(b.row, column(b)))
        });
        return Err(StorageError::Invalid(problems));
    }
    created.people = new_people.len();
    created.households = new_households.len();
    created.assignments = new_assignments.len();
    created.pairings = new_pairings.len();
    let answer = json!({
        "dry_run": import.dry_run,
        "rows": sheet.rows,
        "created": created.to_json(),
        "unchanged": unchanged.to_json(),
    });
    if import.dry_run {
        return Ok((answer, Vec::new()));
    }

    let mut learned = Vec::new();
    let mut ids: HashMap<String, PersonId> = known
        .iter()
        .filter_map(|(name, k)| k.id.map(|id| (name.clone(), id)))
        .collect();
    for (person, path) in &new_people {
        let (row, fact) = write_person(conn, ledger, actor, person, path.clone())?;
        let id = PersonId::parse(&row.id)
            .map_err(|_| StorageError::Corrupt(format!("new person id {}", row.id)))?;
        ids.insert(row.username, id);
        learned.push(fact);
    }
    let mut household_ids = Vec::with_capacity(new_households.len());
    for household in &new_households {
        let (row, fact) = write_household(conn, ledger, actor, household)?;
        household_ids.push(
            Uuid::parse_str(&row.id)
                .map_err(|_| StorageError::Corrupt(format!("new household id {}", row.id)))?,
        );
        learned.push(fact);
    }
    let person_id = |name: &str| {
        ids.get(name)
            .copied()
            .ok_or_else(|| StorageError::Corrupt(format!("imported person {name}")))
    };
    for (name, assignment) in &new_assignments {
        let (_, fact) = write_assignment(
            conn,
            ledger,
            actor,
            &NewAssignment {
                person_id: person_id(name)?,
                unit_code: assignment.unit_code.0.clone(),
                role: assignment.post,
                period: assignment.period.0,
            },
        )?;
        learned.push(fact);
    }
    for (name, household, period, unit_code) in &new_pairings {
        let household_id = match household {
            HouseholdRef::Stored(id) => *id,
            HouseholdRef::New(index) => *household_ids
                .get(*index)
                .ok_or_else(|| StorageError::Corrupt("imported household".into()))?,
        };
        let (_, fact) = write_pairing(
            conn,
            ledger,
            actor,
            &NewPairing {
                person_id: person_id(name)?,
                household_id,
                period: *period,
            },
            unit_code,
        )?;
        learned.push(fact);
    }
    Ok((answer, learned))
}
