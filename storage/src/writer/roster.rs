//! Roster and units: importing the unit tree with its boundaries, people, assignments and
//! households. Each change is a ledger entry and a projection row; what judging needs of it is
//! returned as [`Learned`] facts.

use super::appender::LedgerAppender;
use super::state::{HouseholdInfo, JudgeState, Learned, PersonInfo, UnitInfo};
use super::Actor;
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::models::*;
use crate::schema::*;
use diesel::prelude::*;
use fieldtrail_domain::geo::{Boundary, Position, ToleranceMeters};
use fieldtrail_domain::person::{DisplayName, PersonId, Phone, Role, Username};
use fieldtrail_domain::roster::{format_date, AssignmentRole, ValidPeriod};
use fieldtrail_domain::unit::{UnitCode, UnitLevel, UnitName, UnitPath};
use fieldtrail_domain::FieldProblem;
use serde_json::json;
use std::collections::HashMap;

pub struct NewUnit {
    /// Where the unit came from in the request, e.g. "/features/3", for error pointers.
    pub pointer: String,
    pub code: UnitCode,
    pub name: UnitName,
    pub level: UnitLevel,
    pub parent_code: Option<UnitCode>,
    pub boundary: Option<Boundary>,
    pub tolerance: ToleranceMeters,
}

pub struct NewPerson {
    pub username: Username,
    /// An argon2 PHC string; the plain password never reaches storage.
    pub password_hash: String,
    pub display_name: DisplayName,
    pub role: Role,
    /// None only for the first admin, whose scope is the whole tree.
    pub unit_code: Option<UnitCode>,
    pub phone: Option<Phone>,
    /// Set for an initial password someone else chose (an import): changed at first login.
    pub must_change_password: bool,
}

pub struct NewAssignment {
    pub person_id: PersonId,
    pub unit_code: UnitCode,
    pub role: AssignmentRole,
    pub period: ValidPeriod,
}

pub struct NewHousehold {
    pub unit_code: UnitCode,
    pub head_name: String,
    pub members: u16,
    pub location: Position,
}

pub(crate) fn import_units(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    units: &[NewUnit],
) -> StorageResult<(Vec<ImportedUnit>, Vec<Learned>)> {
    let mut problems: Vec<FieldProblem> = Vec::new();
    let mut first_index: HashMap<&str, &NewUnit> = HashMap::new();
    for unit in units {
        if first_index.contains_key(unit.code.as_str()) {
            problems.push(FieldProblem::new(
                format!("{}/properties/code", unit.pointer),
                format!("duplicate code {} in this import", unit.code),
            ));
        } else {
            first_index.insert(unit.code.as_str(), unit);
        }
    }
    for unit in units
        .iter()
        .filter(|u| state.unit(u.code.as_str()).is_some())
    {
        problems.push(FieldProblem::new(
            format!("{}/properties/code", unit.pointer),
            format!("unit {} already exists", unit.code),
        ));
    }

    // Each unit's path, resolved parents first, from the import itself or from what is stored.
    let mut paths: HashMap<String, (UnitPath, UnitLevel)> = HashMap::new();
    let mut order: Vec<&NewUnit> = Vec::with_capacity(units.len());
    let mut pending: Vec<&NewUnit> = units.iter().collect();
    loop {
        let before = pending.len();
        let mut still_pending = Vec::new();
        for unit in pending {
            // Outer None: the parent is in this import and not placed yet; inner None: no parent.
            let parent = match &unit.parent_code {
                None => Some(None),
                Some(parent) => match paths.get(parent.as_str()) {
                    Some((path, level)) => Some(Some((path.clone(), *level))),
                    None if first_index.contains_key(parent.as_str()) => None,
                    // Stored (or unknown, which resolve_parent reports): decided now.
                    None => Some(
                        state
                            .unit(parent.as_str())
                            .map(|info| (info.path.clone(), info.level)),
                    ),
                },
            };
            match parent {
                None => still_pending.push(unit),
                Some(parent) => {
                    match resolve_parent(unit, parent, actor) {
                        Ok(path) => {
                            paths.insert(unit.code.as_str().to_owned(), (path, unit.level));
                        }
                        Err(problem) => problems.push(problem),
                    }
                    order.push(unit);
                }
            }
        }
        pending = still_pending;
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    for unit in pending {
        problems.push(FieldProblem::new(
            format!("{}/properties/parent_code", unit.pointer),
            "parent is not resolvable (it is part of a cycle or itself invalid)",
        ));
    }
    if !problems.is_empty() {
        problems.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        return Err(StorageError::Invalid(problems));
    }

    let mut imported = Vec::with_capacity(order.len());
    let mut learned = Vec::with_capacity(order.len());
    for unit in order {
        let Some((path, _)) = paths.get(unit.code.as_str()) else {
            continue;
        };
        let boundary = unit.boundary.as_ref().map(Boundary::to_geojson);
        let payload = json!({
            "code": unit.code.as_str(),
            "name": unit.name.as_str(),
            "level": unit.level.as_str(),
            "parent_code": unit.parent_code.as_ref().map(UnitCode::as_str),
            "boundary": boundary,
            "tolerance_m": unit.tolerance.get(),
        });
        let appended =
            ledger.append_admin("unit.create", actor, Some(unit.code.as_str()), &payload)?;
        diesel::insert_into(units::table)
            .values(UnitRow {
                code: unit.code.as_str().to_owned(),
                name: unit.name.as_str().to_owned(),
                level: unit.level.as_str().to_owned(),
                parent_code: unit.parent_code.as_ref().map(|c| c.as_str().to_owned()),
                path: path.as_str().to_owned(),
                boundary: boundary.map(|b| b.to_string()),
                tolerance_m: unit.tolerance.get(),
                seq: appended.seq,
            })
            .execute(conn)?;
        learned.push(Learned::Unit {
            code: unit.code.as_str().to_owned(),
            info: UnitInfo {
                path: path.clone(),
                level: unit.level,
                tolerance: unit.tolerance,
            },
            boundary: unit.boundary.clone(),
        });
        imported.push(ImportedUnit {
            code: unit.code.as_str().to_owned(),
            seq: appended.seq,
        });
    }
    Ok((imported, learned))
}

/// Checks a unit against its parent and the actor's scope and gives the unit's path.
fn resolve_parent(
    unit: &NewUnit,
    parent: Option<(UnitPath, UnitLevel)>,
    actor: &Actor,
) -> Result<UnitPath, FieldProblem> {
    let parent_pointer = format!("{}/properties/parent_code", unit.pointer);
    match (&unit.parent_code, parent) {
        (Some(code), None) => Err(FieldProblem::new(
            parent_pointer,
            format!("unknown parent unit {code}"),
        )),
        (_, Some((parent_path, parent_level))) => {
            if parent_level.child() != Some(unit.level) {
                return Err(FieldProblem::new(
                    format!("{}/properties/level", unit.pointer),
                    format!(
                        "a child of a {} must be a {}",
                        parent_level.as_str(),
                        parent_level.child().map_or("(nothing)", UnitLevel::as_str)
                    ),
                ));
            }
            if !actor.scope.contains(&parent_path) {
                return Err(FieldProblem::new(
                    parent_pointer,
                    "parent is outside your scope",
                ));
            }
            Ok(parent_path.child(&unit.code))
        }
        (None, None) => {
            if !actor.scope.is_whole_tree() {
                return Err(FieldProblem::new(
                    parent_pointer,
                    "only an admin of the whole tree may import a new root unit",
                ));
            }
            Ok(UnitPath::root_of(&unit.code))
        }
    }
}

pub(crate) fn create_person(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    person: &NewPerson,
) -> StorageResult<(PersonView, Vec<Learned>)> {
    // Scope first, so that an admin cannot probe usernames outside their units.
    let unit_path = match &person.unit_code {
        Some(code) => actor.unit_in(state, code, "/unit_code")?.path.clone(),
        None => UnitPath::whole_tree(),
    };
    let taken: i64 = people::table
        .filter(people::username.eq(person.username.as_str()))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(StorageError::Conflict(format!(
            "username {} is taken",
            person.username.as_str()
        )));
    }
    let (row, learned) = write_person(conn, ledger, actor, person, unit_path)?;
    Ok((row.into(), vec![learned]))
}

/// The person's entry and row; the caller has checked scope and that the username is free.
pub(super) fn write_person(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    person: &NewPerson,
    unit_path: UnitPath,
) -> StorageResult<(PersonRow, Learned)> {
    let id = PersonId::new();
    let payload = json!({
        "id": id.to_string(),
        "username": person.username.as_str(),
        "display_name": person.display_name.as_str(),
        "role": person.role.as_str(),
        "unit_code": person.unit_code.as_ref().map(UnitCode::as_str),
        "phone": person.phone.as_ref().map(Phone::as_str),
    });
    let unit = person.unit_code.as_ref().map(UnitCode::as_str);
    let appended = ledger.append_admin("person.create", actor, unit, &payload)?;
    let row = PersonRow {
        id: id.to_string(),
        username: person.username.as_str().to_owned(),
        password_hash: person.password_hash.clone(),
        display_name: person.display_name.as_str().to_owned(),
        role: person.role.as_str().to_owned(),
        unit_code: person.unit_code.as_ref().map(|c| c.as_str().to_owned()),
        unit_path: unit_path.as_str().to_owned(),
        phone: person.phone.as_ref().map(|p| p.as_str().to_owned()),
        seq: appended.seq,
        active: true,
        must_change_password: person.must_change_password,
        token_generation: 0,
    };
    diesel::insert_into(people::table)
        .values(&row)
        .execute(conn)?;
    let learned = Learned::Person {
        id,
        info: PersonInfo {
            role: person.role,
            unit_code: row.unit_code.clone(),
            unit_path,
        },
    };
    Ok((row, learned))
}

/// The first admin (scope: whole tree); refused once any admin exists.
pub(crate) fn create_first_admin(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    person: &NewPerson,
) -> StorageResult<(PersonView, Vec<Learned>)> {
    if state.has_admin() {
        return Err(StorageError::Conflict("an admin already exists".into()));
    }
    create_person(conn, ledger, state, &Actor::operator(), person)
}

pub(crate) fn create_assignment(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    assignment: &NewAssignment,
) -> StorageResult<(AssignmentView, Vec<Learned>)> {
    actor.person_in(state, assignment.person_id, "/person_id")?;
    let unit = actor.unit_in(state, &assignment.unit_code, "/unit_code")?;
    let code = assignment.unit_code.as_str().to_owned();
    if unit.level != UnitLevel::Village {
        return Err(StorageError::invalid(
            "/unit_code",
            format!(
                "assignments are to villages; {code} is a {}",
                unit.level.as_str()
            ),
        ));
    }
    let (row, learned) = write_assignment(conn, ledger, actor, assignment)?;
    Ok((row.into(), vec![learned]))
}

/// The assignment's entry and row; the caller has checked the person, the village and scope.
pub(super) fn write_assignment(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    assignment: &NewAssignment,
) -> StorageResult<(AssignmentRow, Learned)> {
    let code = assignment.unit_code.as_str().to_owned();
    let id = uuid::Uuid::now_v7().to_string();
    let valid_from = format_date(assignment.period.from());
    let valid_to = assignment.period.to().map(format_date);
    let payload = json!({
        "id": id,
        "person_id": assignment.person_id.to_string(),
        "unit_code": code,
        "role": assignment.role.as_str(),
        "valid_from": valid_from,
        "valid_to": valid_to,
    });
    let appended = ledger.append_admin("assignment.create", actor, Some(&code), &payload)?;
    let row = AssignmentRow {
        id,
        person_id: assignment.person_id.to_string(),
        unit_code: code.clone(),
        role: assignment.role.as_str().to_owned(),
        valid_from,
        valid_to,
        seq: appended.seq,
    };
    diesel::insert_into(assignments::table)
        .values(&row)
        .execute(conn)?;
    let learned = Learned::Assignment {
        person: assignment.person_id,
        unit_code: code,
        period: assignment.period,
    };
    Ok((row, learned))
}

pub(crate) fn create_household(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    household: &NewHousehold,
) -> StorageResult<(HouseholdView, Vec<Learned>)> {
    let unit = actor.unit_in(state, &household.unit_code, "/unit_code")?;
    let code = household.unit_code.as_str().to_owned();
    if unit.level != UnitLevel::Village && unit.level != UnitLevel::Group {
        return Err(StorageError::invalid(
            "/unit_code",
            format!(
                "households belong to a village or group; {code} is a {}",
                unit.level.as_str()
            ),
        ));
    }
    let (row, learned) = write_household(conn, ledger, actor, household)?;
    Ok((row.into(), vec![learned]))
}

/// The household's entry and row; the caller has checked the unit and scope.
pub(super) fn write_household(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    household: &NewHousehold,
) -> StorageResult<(HouseholdRow, Learned)> {
    let code = household.unit_code.as_str().to_owned();
    let id = uuid::Uuid::now_v7();
    let payload = json!({
        "id": id.to_string(),
        "unit_code": code,
        "head_name": household.head_name,
        "members": household.members,
        "location": {"lon": household.location.lon(), "lat": household.location.lat()},
    });
    let appended = ledger.append_admin("household.create", actor, Some(&code), &payload)?;
    let row = HouseholdRow {
        id: id.to_string(),
        unit_code: code.clone(),
        head_name: household.head_name.clone(),
        members: i32::from(household.members),
        lon: household.location.lon(),
        lat: household.location.lat(),
        seq: appended.seq,
    };
    diesel::insert_into(households::table)
        .values(&row)
        .execute(conn)?;
    let learned = Learned::Household {
        id,
        info: HouseholdInfo {
            unit_code: code,
            location: household.location,
        },
    };
    Ok((row, learned))
}
