//! Household verification (随机入户核查): a supervisor knocks on a household and records what it
//! said. The supervisor's fix is judged against the household's location with the same
//! accuracy-aware radius as visits; a `denied` result contests the visit records it contradicts.

use super::super::appender::LedgerAppender;
use super::super::state::{JudgeState, Learned};
use super::super::Actor;
use super::{append_result, ResultDraft};
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::models::{ContestRow, VerificationRow};
use crate::schema::{contests, draws, records, verifications, visits};
use diesel::prelude::*;
use fieldtrail_domain::canonical::{format_utc_micros, unix_micros};
use fieldtrail_domain::flags::judge_household;
use fieldtrail_domain::person::PersonId;
use fieldtrail_domain::record::{Fix, Flag};
use fieldtrail_domain::roster::county_date;
use fieldtrail_domain::spotcheck::{Period, Verification};
use serde_json::{json, Value};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct NewVerification {
    pub household: Uuid,
    pub result: Verification,
    pub note: Option<String>,
    pub fix: Fix,
    pub captured_at: OffsetDateTime,
    pub draw_id: Option<Uuid>,
}

pub(crate) fn verify_household(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    request: &NewVerification,
) -> StorageResult<(Value, Vec<Learned>)> {
    let household_id = request.household.to_string();
    let household = state
        .household(&request.household)
        .ok_or_else(|| StorageError::NotFound(format!("household {household_id}")))?;
    let unit = state
        .unit(&household.unit_code)
        .ok_or_else(|| StorageError::Corrupt(format!("unit of household {household_id}")))?;
    actor.require_reach(&unit.path, || format!("household {household_id}"))?;
    // Which visits it speaks to: those of the draw's period, else of the month it was made in.
    let period = match request.draw_id {
        Some(draw_id) => {
            let draw: Option<(String, String, String)> = draws::table
                .find(draw_id.to_string())
                .select((draws::population, draws::period, draws::sample))
                .first(conn)
                .optional()?;
            let Some((population, period, sample)) = draw else {
                return Err(StorageError::invalid("/draw_id", "no draw with this id"));
            };
            let sampled: Vec<String> = serde_json::from_str(&sample)
                .map_err(|err| StorageError::Corrupt(format!("draw sample: {err}")))?;
            if population != "visited_households" || !sampled.contains(&household_id) {
                return Err(StorageError::invalid(
                    "/draw_id",
                    "this household is not in the sample of that draw",
                ));
            }
            Period::parse(&period)
                .map_err(|_| StorageError::Corrupt(format!("draw period {period}")))?
        }
        None => Period::month_of(county_date(request.captured_at)),
    };
    let (start, end) = period.micros_range();
    let visited: Vec<(i64, String)> = visits::table
        .filter(visits::household_id.eq(&household_id))
        .filter(visits::captured_at.ge(start))
        .filter(visits::captured_at.lt(end))
        .order(visits::captured_at.asc())
        .select((visits::seq, visits::person_id))
        .load(conn)?;
    let visit_ids: Vec<String> = records::table
        .filter(records::seq.eq_any(visited.iter().map(|(seq, _)| *seq)))
        .order(records::seq.asc())
        .select(records::id)
        .load(conn)?;
    // The cadre it concerns: who visited last in the period.
    let person = visited
        .last()
        .and_then(|(_, person)| PersonId::parse(person).ok());
    let policy = state.policy_at(&unit.path);
    let judged = judge_household(
        &request.fix,
        household.location,
        policy.policy.household_radius_m,
        policy.policy.accuracy_limit_m,
    );
    let mut flags = Vec::new();
    if request.fix.mock {
        flags.push(Flag::MockLocation);
    }
    if request.fix.accuracy.get() > policy.policy.accuracy_limit_m {
        flags.push(Flag::LowAccuracy);
    }
    let denied = request.result == Verification::Denied;
    let contested: Vec<String> = if denied {
        visit_ids.clone()
    } else {
        Vec::new()
    };
    let mut verdict = judged.to_value();
    verdict["result"] = json!(request.result.as_str());
    verdict["household_id"] = json!(household_id);
    verdict["draw_id"] = json!(request.draw_id.map(|d| d.to_string()));
    verdict["period"] = json!(period.label());
    verdict["visits"] = json!(visit_ids);
    verdict["contests"] = json!(contested);
    let mut learned = Vec::new();
    let appended = append_result(
        ledger,
        actor,
        ResultDraft {
            kind: "spot_check.verification",
            person,
            unit_code: Some(household.unit_code.clone()),
            actual_unit_code: None,
            roster: "assigned",
            captured_at: request.captured_at,
            verdict,
            flags: serde_json::to_value(&flags).unwrap_or_default(),
            payload: json!({
                "household_id": household_id,
                "result": request.result.as_str(),
                "note": request.note,
                "captured_at": format_utc_micros(request.captured_at),
                "position": request.fix.to_value(),
                "draw_id": request.draw_id.map(|d| d.to_string()),
            }),
            alert: (denied
                && state
                    .policy_at(&unit.path)
                    .policy
                    .alerts
                    .is_on(fieldtrail_domain::policy::AlertTrigger::HouseholdDenied))
            .then(|| ("household.denied", unit.path.clone())),
        },
        &mut learned,
    )?;
    for record_id in &contested {
        diesel::insert_into(contests::table)
            .values(ContestRow {
                record_id: record_id.clone(),
                verification_id: appended.id.clone(),
                seq: appended.seq,
            })
            .execute(conn)?;
    }
    diesel::insert_into(verifications::table)
        .values(VerificationRow {
            id: appended.id.clone(),
            seq: appended.seq,
            household_id,
            draw_id: request.draw_id.map(|d| d.to_string()),
            result: request.result.as_str().to_owned(),
            person_id: person.map(|p| p.to_string()),
            verified_by: actor.id.map(|id| id.to_string()),
            verified_at: unix_micros(request.captured_at),
        })
        .execute(conn)?;
    let mut answer = (*appended.answer).clone();
    answer["person_id"] = json!(person.map(|p| p.to_string()));
    Ok((answer, learned))
}
