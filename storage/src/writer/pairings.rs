//! Pairing cadres with households (结对帮扶, within the policy's limit) and binding a cadre to a
//! new phone: ledger entries and their projection rows.

use super::appender::LedgerAppender;
use super::rows::BindingRow;
use super::state::{JudgeState, Learned};
use super::Actor;
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::models::PairingRow;
use crate::schema::*;
use diesel::prelude::*;
use fieldtrail_domain::person::{PersonId, Role};
use fieldtrail_domain::record::DeviceId;
use fieldtrail_domain::roster::{format_date, ValidPeriod};
use serde_json::{json, Value};
use uuid::Uuid;

pub struct NewPairing {
    pub person_id: PersonId,
    pub household_id: Uuid,
    pub period: ValidPeriod,
}

pub(super) fn periods_overlap(a: &ValidPeriod, b: &ValidPeriod) -> bool {
    let a_before_b_ends = b.to().is_none_or(|end| a.from() <= end);
    let b_before_a_ends = a.to().is_none_or(|end| b.from() <= end);
    a_before_b_ends && b_before_a_ends
}

/// Pairs a cadre with a household, within the policy's limit on households per cadre.
pub(crate) fn create_pairing(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    pairing: &NewPairing,
) -> StorageResult<(Value, Vec<Learned>)> {
    let person = actor.person_in(state, pairing.person_id, "/person_id")?;
    if person.role != Role::Cadre {
        return Err(StorageError::invalid(
            "/person_id",
            "pairings are for cadres",
        ));
    }
    let household_id = pairing.household_id.to_string();
    let household = state
        .household(&pairing.household_id)
        .ok_or_else(|| StorageError::invalid("/household_id", "unknown household"))?;
    let household_path = state.unit(&household.unit_code).map(|u| &u.path);
    if !household_path.is_some_and(|path| actor.scope.contains(path)) {
        return Err(StorageError::OutOfScope(format!(
            "household {household_id}"
        )));
    }
    let overlapping: Vec<Uuid> = state
        .pairings_of(&pairing.person_id)
        .filter(|(_, period)| periods_overlap(period, &pairing.period))
        .map(|(household, _)| household)
        .collect();
    if overlapping.contains(&pairing.household_id) {
        return Err(StorageError::Conflict(format!(
            "the cadre is already paired with household {household_id} in that period"
        )));
    }
    let villages = state.villages_on(&pairing.person_id, pairing.period.from());
    let policy = state.person_policy(person, &villages);
    let limit = usize::from(policy.policy.max_paired_households);
    if overlapping.len() >= limit {
        return Err(StorageError::Conflict(format!(
            "the cadre already has {} paired households in that period; the policy allows {limit}",
            overlapping.len()
        )));
    }
    let unit_code = household.unit_code.clone();
    let (row, learned) = write_pairing(conn, ledger, actor, pairing, &unit_code)?;
    Ok((row.to_view(), vec![learned]))
}

/// The pairing's entry and row; the caller has checked the cadre, the household, scope and
/// the policy's limit.
pub(super) fn write_pairing(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    pairing: &NewPairing,
    unit_code: &str,
) -> StorageResult<(PairingRow, Learned)> {
    let mut row = PairingRow {
        id: Uuid::now_v7().to_string(),
        person_id: pairing.person_id.to_string(),
        household_id: pairing.household_id.to_string(),
        valid_from: format_date(pairing.period.from()),
        valid_to: pairing.period.to().map(format_date),
        seq: 0,
    };
    let payload = json!({
        "id": row.id,
        "person_id": row.person_id,
        "household_id": row.household_id,
        "valid_from": row.valid_from,
        "valid_to": row.valid_to,
    });
    let appended = ledger.append_admin("pairing.create", actor, Some(unit_code), &payload)?;
    row.seq = appended.seq;
    diesel::insert_into(pairings::table)
        .values(&row)
        .execute(conn)?;
    let learned = Learned::Pairing {
        person: pairing.person_id,
        household: pairing.household_id,
        period: pairing.period,
    };
    Ok((row, learned))
}

/// A supervisor binds a cadre to a new phone (常用手机 changed).
pub(crate) fn bind_device(
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    person: PersonId,
    device: &DeviceId,
) -> StorageResult<(Value, Vec<Learned>)> {
    let info = state
        .person(&person)
        .ok_or_else(|| StorageError::NotFound(format!("no person {person}")))?;
    actor.require_reach(&info.unit_path, || format!("person {person}"))?;
    let payload = json!({"person_id": person.to_string(), "device_id": device.as_str()});
    let appended =
        ledger.append_admin("device.bind", actor, info.unit_code.as_deref(), &payload)?;
    ledger.rows.bindings.push(BindingRow {
        seq: appended.seq,
        person_id: person.to_string(),
        device_id: device.as_str().to_owned(),
    });
    let learned = vec![Learned::Binding {
        person,
        device: device.as_str().to_owned(),
    }];
    let answer =
        json!({"person_id": person.to_string(), "device_id": device.as_str(), "seq": appended.seq});
    Ok((answer, learned))
}
