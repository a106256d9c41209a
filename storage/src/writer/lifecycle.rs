//! The roster's life cycle after creation (docs/roster.md): an assignment or a pairing ends, a
//! person is deactivated or comes back, a password is changed or reset, a token is given back.
//! Each is a ledger entry (but the logout: sessions are not evidence) and nothing is deleted; the
//! projections keep the latest state, the ledger every step.

use super::appender::LedgerAppender;
use super::state::{JudgeState, Learned};
use super::Actor;
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::models::{AssignmentRow, AssignmentView, PairingRow, PersonRow, PersonView};
use crate::schema::*;
use crate::stored::stored_period;
use diesel::prelude::*;
use fieldtrail_domain::person::PersonId;
use fieldtrail_domain::roster::{format_date, ValidPeriod};
use serde_json::{json, Value};
use time::Date;
use uuid::Uuid;

/// Ends an assignment or a pairing on `valid_to` (inclusive).
pub struct EndPeriod {
    pub id: String,
    pub valid_to: Date,
}

/// A change to a person's account.
pub enum AccountChange {
    Deactivate {
        reason: String,
    },
    Reactivate {
        reason: String,
    },
    /// `reset` is an admin choosing a password for someone else, who must then change it.
    Password {
        hash: String,
        reset: bool,
    },
}

/// A token given back at logout, kept until it would have expired anyway.
pub struct RevokedToken {
    pub jti: String,
    pub person_id: PersonId,
    pub expires_at: i64,
    pub now: i64,
}

/// The shortened period, or why it cannot be.
fn shortened(old: ValidPeriod, valid_to: Date, what: &str) -> StorageResult<ValidPeriod> {
    if let Some(end) = old.to() {
        if end <= valid_to {
            return Err(StorageError::Conflict(format!(
                "the {what} already ends on {}",
                format_date(end)
            )));
        }
    }
    ValidPeriod::new(old.from(), Some(valid_to)).map_err(|_| {
        StorageError::invalid(
            "/valid_to",
            format!(
                "must not be before the {what}'s valid_from {}",
                format_date(old.from())
            ),
        )
    })
}

fn corrupt_period(what: &str, id: &str) -> StorageError {
    StorageError::Corrupt(format!("stored period of {what} {id}"))
}

pub(crate) fn end_assignment(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    end: &EndPeriod,
) -> StorageResult<(Value, Vec<Learned>)> {
    let mut row: AssignmentRow = assignments::table
        .find(&end.id)
        .select(AssignmentRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| StorageError::NotFound(format!("no assignment {}", end.id)))?;
    let unit = state
        .unit(&row.unit_code)
        .ok_or_else(|| StorageError::Corrupt(format!("unit {} of an assignment", row.unit_code)))?;
    actor.require_reach(&unit.path, || format!("assignment {}", end.id))?;
    let old = stored_period(&row.valid_from, row.valid_to.as_deref())
        .ok_or_else(|| corrupt_period("assignment", &row.id))?;
    let new = shortened(old, end.valid_to, "assignment")?;
    let person = PersonId::parse(&row.person_id)
        .map_err(|_| StorageError::Corrupt(format!("person of assignment {}", row.id)))?;
    let valid_to = format_date(end.valid_to);
    let payload = json!({
        "id": row.id,
        "person_id": row.person_id,
        "unit_code": row.unit_code,
        "valid_to": valid_to,
        "previous_valid_to": row.valid_to,
    });
    ledger.append_admin("assignment.end", actor, Some(&row.unit_code), &payload)?;
    diesel::update(assignments::table.find(&row.id))
        .set(assignments::valid_to.eq(&valid_to))
        .execute(conn)?;
    row.valid_to = Some(valid_to);
    let learned = vec![Learned::AssignmentEnded {
        person,
        unit_code: row.unit_code.clone(),
        old,
        new,
    }];
    let view = serde_json::to_value(AssignmentView::from(row))
        .map_err(|err| StorageError::Corrupt(err.to_string()))?;
    Ok((view, learned))
}

pub(crate) fn end_pairing(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    end: &EndPeriod,
) -> StorageResult<(Value, Vec<Learned>)> {
    let mut row: PairingRow = pairings::table
        .find(&end.id)
        .select(PairingRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| StorageError::NotFound(format!("no pairing {}", end.id)))?;
    let household = Uuid::parse_str(&row.household_id)
        .map_err(|_| StorageError::Corrupt(format!("household of pairing {}", row.id)))?;
    let unit_code = state
        .household(&household)
        .map(|h| h.unit_code.clone())
        .ok_or_else(|| StorageError::Corrupt(format!("household {household} of a pairing")))?;
    let path = state
        .unit(&unit_code)
        .map(|u| u.path.clone())
        .ok_or_else(|| StorageError::Corrupt(format!("unit {unit_code} of a household")))?;
    actor.require_reach(&path, || format!("pairing {}", end.id))?;
    let old = stored_period(&row.valid_from, row.valid_to.as_deref())
        .ok_or_else(|| corrupt_period("pairing", &row.id))?;
    let new = shortened(old, end.valid_to, "pairing")?;
    let person = PersonId::parse(&row.person_id)
        .map_err(|_| StorageError::Corrupt(format!("person of pairing {}", row.id)))?;
    let valid_to = format_date(end.valid_to);
    let payload = json!({
        "id": row.id,
        "person_id": row.person_id,
        "household_id": row.household_id,
        "valid_to": valid_to,
        "previous_valid_to": row.valid_to,
    });
    ledger.append_admin("pairing.end", actor, Some(&unit_code), &payload)?;
    diesel::update(pairings::table.find(&row.id))
        .set(pairings::valid_to.eq(&valid_to))
        .execute(conn)?;
    row.valid_to = Some(valid_to);
    let learned = vec![Learned::PairingEnded {
        person,
        household,
        old,
        new,
    }];
    Ok((row.to_view(), learned))
}

/// Deactivation, reactivation and passwords. Answers the person as they are afterwards.
pub(crate) fn change_account(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    person: PersonId,
    change: &AccountChange,
) -> StorageResult<(PersonView, Vec<Learned>)> {
    let id = person.to_string();
    let mut row: PersonRow = people::table
        .find(&id)
        .select(PersonRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| StorageError::NotFound(format!("no person {id}")))?;
    let own = actor.id == Some(person);
    let path = fieldtrail_domain::unit::UnitPath::from_stored(row.unit_path.clone());
    // Changing one's own password needs no scope; everything else is an admin's, within theirs.
    if !matches!(change, AccountChange::Password { reset: false, .. }) {
        actor.require_reach(&path, || format!("person {id}"))?;
    } else if !own {
        return Err(StorageError::OutOfScope(format!("person {id}")));
    }
    let unit = row.unit_code.clone();
    match change {
        AccountChange::Deactivate { reason } => {
            if own {
                return Err(StorageError::invalid(
                    "",
                    "you cannot deactivate yourself; ask another admin",
                ));
            }
            if !row.active {
                return Err(StorageError::Conflict(format!(
                    "person {id} is already deactivated"
                )));
            }
            let payload = json!({"person_id": id, "reason": reason});
            ledger.append_admin("person.deactivate", actor, unit.as_deref(), &payload)?;
            row.active = false;
            // Tokens from before stay dead after a reactivation: they log in anew.
            row.token_generation += 1;
        }
        AccountChange::Reactivate { reason } => {
            if row.active {
                return Err(StorageError::Conflict(format!(
                    "person {id} is already active"
                )));
            }
            let payload = json!({"person_id": id, "reason": reason});
            ledger.append_admin("person.reactivate", actor, unit.as_deref(), &payload)?;
            row.active = true;
        }
        AccountChange::Password { hash, reset } => {
            // The hash stays in the projection: the ledger says only that it changed.
            let payload = json!({"person_id": id, "reset": reset});
            ledger.append_admin("person.password", actor, unit.as_deref(), &payload)?;
            row.password_hash.clone_from(hash);
            row.must_change_password = *reset;
            row.token_generation += 1;
        }
    }
    diesel::update(people::table.find(&id))
        .set((
            people::active.eq(row.active),
            people::must_change_password.eq(row.must_change_password),
            people::password_hash.eq(&row.password_hash),
            people::token_generation.eq(row.token_generation),
        ))
        .execute(conn)?;
    Ok((row.into(), Vec::new()))
}

/// Keeps a logged-out token until its expiry and forgets the ones whose time has passed.
pub(crate) fn revoke_token(conn: &mut DbConnection, token: &RevokedToken) -> StorageResult<Value> {
    diesel::delete(revoked_tokens::table.filter(revoked_tokens::expires_at.lt(token.now)))
        .execute(conn)?;
    let known: i64 = revoked_tokens::table
        .filter(revoked_tokens::jti.eq(&token.jti))
        .count()
        .get_result(conn)?;
    if known == 0 {
        diesel::insert_into(revoked_tokens::table)
            .values((
                revoked_tokens::jti.eq(&token.jti),
                revoked_tokens::person_id.eq(token.person_id.to_string()),
                revoked_tokens::expires_at.eq(token.expires_at),
            ))
            .execute(conn)?;
    }
    Ok(json!({"revoked": token.jti}))
}
