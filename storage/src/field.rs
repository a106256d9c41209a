//! The writer's side of field records: judging a record in its stored context (roster, policy,
//! the person's earlier fixes and device, households and pairings), appending it, and keeping the
//! projections; and the supervisor and admin writes that belong to records — decisions, duty,
//! device binding, pairings and policies.

use crate::error::{StorageError, StorageResult};
use crate::models::*;
use crate::schema::*;
use crate::writer::{
    find_unit, in_savepoint, person_in_scope, Actor, EntryDraft, GeoState, LedgerAppender,
};
use crate::DbConnection;
use diesel::prelude::*;
use fieldtrail_domain::canonical::{
    format_utc_micros, from_unix_micros, payload_hash, to_canonical_bytes, unix_micros,
};
use fieldtrail_domain::flags::{flags as flag_rules, judge_household, FlagInputs, PriorFix};
use fieldtrail_domain::geo::Position;
use fieldtrail_domain::person::{PersonId, Role};
use fieldtrail_domain::policy::{resolve, EffectivePolicy, PolicyOverrides};
use fieldtrail_domain::record::{
    judge_fix, roster_only, AssignedVillage, Fix, Flag, RecordBody, RecordKind, RecordSubmission,
    RosterVerdict, Verdict,
};
use fieldtrail_domain::roster::{county_date, format_date, parse_date, ValidPeriod};
use fieldtrail_domain::unit::{UnitCode, UnitLevel, UnitPath};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::RwLock;
use time::Date;
use uuid::Uuid;

/// Each unit's own policy overrides, as the writer keeps them in memory.
pub type PolicyCache = HashMap<String, PolicyOverrides>;

/// Who submits a record: the person it is stored under, and their scope (for duty rotas).
#[derive(Debug, Clone)]
pub struct Submitter {
    pub person: PersonId,
    pub scope: UnitPath,
}

/// The answer to a record submission: the stored response, and whether this call created it.
#[derive(Debug, Clone)]
pub struct RecordOutcome {
    pub created: bool,
    pub response: Value,
}

/// One item of a batch: where it sat in the request, and the record.
pub struct BatchItem {
    pub index: usize,
    pub pointer: String,
    pub submission: RecordSubmission,
}

/// A supervisor's decision on a leave request, trip, correction or dispute.
pub struct Decision {
    pub record_id: Uuid,
    pub kind: RecordKind,
    pub decision: String,
    pub note: Option<String>,
}

pub struct NewPairing {
    pub person_id: PersonId,
    pub household_id: Uuid,
    pub period: ValidPeriod,
}

pub(crate) fn load_policies(conn: &mut DbConnection) -> StorageResult<PolicyCache> {
    let rows: Vec<(String, String)> = policies::table
        .order(policies::seq.asc())
        .select((policies::unit_code, policies::body))
        .load(conn)?;
    let mut cache = PolicyCache::new();
    for (code, body) in rows {
        cache.insert(code, stored_overrides(&body)?);
    }
    Ok(cache)
}

fn stored_overrides(body: &str) -> StorageResult<PolicyOverrides> {
    let value: Value = serde_json::from_str(body)
        .map_err(|err| StorageError::Corrupt(format!("stored policy: {err}")))?;
    PolicyOverrides::parse(&value)
        .map_err(|_| StorageError::Corrupt("a stored policy no longer parses".into()))
}

/// The units from the root down to the one with this path.
fn path_codes(path: &str) -> Vec<&str> {
    path.split('/').filter(|code| !code.is_empty()).collect()
}

fn resolve_path(cache: &PolicyCache, path: &str) -> EffectivePolicy {
    let empty = PolicyOverrides::default();
    let chain: Vec<(&str, &PolicyOverrides)> = path_codes(path)
        .into_iter()
        .map(|code| (code, cache.get(code).unwrap_or(&empty)))
        .collect();
    resolve(&chain)
}

/// The effective policy of a unit as readers see it, straight from the database.
pub fn policy_view(conn: &mut DbConnection, code: &str) -> StorageResult<Option<Value>> {
    let Some(unit) = find_unit(conn, code)? else {
        return Ok(None);
    };
    let codes: Vec<String> = path_codes(&unit.path)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let rows: Vec<(i64, String, String)> = policies::table
        .filter(policies::unit_code.eq_any(&codes))
        .order(policies::seq.asc())
        .select((policies::seq, policies::unit_code, policies::body))
        .load(conn)?;
    let mut cache = PolicyCache::new();
    let mut own_seq = None;
    for (seq, unit_code, body) in rows {
        if unit_code == unit.code {
            own_seq = Some(seq);
        }
        cache.insert(unit_code, stored_overrides(&body)?);
    }
    Ok(Some(effective_view(&cache, &unit, own_seq)))
}

fn effective_view(cache: &PolicyCache, unit: &UnitRow, own_seq: Option<i64>) -> Value {
    let effective = resolve_path(cache, &unit.path);
    let mut policy = effective.policy.to_value();
    let mut sources = effective.sources_value();
    if effective.policy.tolerance_m.is_none() {
        // No unit up the tree sets a tolerance: the one imported with the unit's boundary holds.
        policy["tolerance_m"] = json!(unit.tolerance_m);
        sources["tolerance_m"] = json!("import");
    }
    let own = cache
        .get(&unit.code)
        .map_or_else(|| json!({}), PolicyOverrides::to_value);
    json!({
        "unit_code": unit.code,
        "policy": policy,
        "sources": sources,
        "own": own,
        "seq": own_seq,
    })
}

/// Villages the person is assigned to on `day`, in assignment order.
fn active_villages(conn: &mut DbConnection, person: &str, day: Date) -> StorageResult<Vec<String>> {
    let rows: Vec<(String, String, Option<String>)> = assignments::table
        .filter(assignments::person_id.eq(person))
        .order(assignments::seq.asc())
        .select((
            assignments::unit_code,
            assignments::valid_from,
            assignments::valid_to,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, from, to)| stored_period(from, to.as_deref()).is_some_and(|p| p.covers(day)))
        .map(|(code, _, _)| code)
        .collect())
}

/// A period as the projections store it (YYYY-MM-DD, open end as NULL); None if unreadable.
pub(crate) fn stored_period(from: &str, to: Option<&str>) -> Option<ValidPeriod> {
    let from = parse_date(from).ok()?;
    let to = to.map(parse_date).transpose().ok()?;
    ValidPeriod::new(from, to).ok()
}

fn unit_path(conn: &mut DbConnection, code: &str) -> StorageResult<Option<String>> {
    Ok(units::table
        .find(code)
        .select(units::path)
        .first(conn)
        .optional()?)
}

/// The policy a person's record on `day` is judged by: that of their first village that day,
/// else of their home unit.
fn person_policy(
    conn: &mut DbConnection,
    cache: &PolicyCache,
    person: &PersonRow,
    villages: &[String],
) -> StorageResult<EffectivePolicy> {
    let path = match villages.first() {
        Some(code) => unit_path(conn, code)?.unwrap_or_else(|| person.unit_path.clone()),
        None => person.unit_path.clone(),
    };
    Ok(resolve_path(cache, &path))
}

/// What the stored context adds to a record beyond the geo verdict.
#[derive(Default)]
struct Context {
    household: Option<Value>,
    unrelated_household: bool,
    duty_id: Option<String>,
    corrected: Option<(Option<i64>, Option<Verdict>)>,
    duty_roster: Option<Verdict>,
}

/// Checks a record's references against what is stored; each problem is named under `pointer`.
fn check_references(
    conn: &mut DbConnection,
    submitter: &Submitter,
    submission: &RecordSubmission,
    pointer: &str,
) -> StorageResult<()> {
    let me = submitter.person.to_string();
    for (i, hash) in submission.attachments.iter().enumerate() {
        let known: i64 = attachments::table
            .filter(attachments::sha256.eq(hash.to_hex()))
            .count()
            .get_result(conn)?;
        if known == 0 {
            return Err(StorageError::invalid(
                &format!("{pointer}/attachments/{i}"),
                "no attachment with this hash; upload it first with POST /v1/attachments",
            ));
        }
    }
    match &submission.body {
        RecordBody::LeaveReturn { leave_id, .. } => {
            let leave: Option<RequestRow> = requests::table
                .find(leave_id.to_string())
                .select(RequestRow::as_select())
                .first(conn)
                .optional()?;
            match leave {
                Some(leave) if leave.person_id == me && leave.kind == "leave_request" => {
                    if leave.returned_on.is_some() {
                        return Err(StorageError::Conflict(format!(
                            "leave {leave_id} has already been returned from"
                        )));
                    }
                }
                _ => {
                    return Err(StorageError::invalid(
                        &format!("{pointer}/leave_id"),
                        "is not one of your leave requests",
                    ))
                }
            }
        }
        RecordBody::Dispute {
            disputes: target, ..
        }
        | RecordBody::Correction { amends: target, .. } => {
            let field = if submission.kind == RecordKind::Dispute {
                "disputes"
            } else {
                "amends"
            };
            let owned: Option<(String, String)> = records::table
                .find(target.to_string())
                .select((records::person_id, records::kind))
                .first(conn)
                .optional()?;
            let Some((_, kind)) = owned.filter(|(owner, _)| *owner == me) else {
                return Err(StorageError::invalid(
                    &format!("{pointer}/{field}"),
                    "is not one of your records",
                ));
            };
            let correctable = [
                "check_in",
                "check_out",
                "household_visit",
                "daily_log",
                "leave_return",
            ];
            if field == "amends" && !correctable.contains(&kind.as_str()) {
                return Err(StorageError::invalid(
                    &format!("{pointer}/amends"),
                    "only check-ins, check-outs, household visits, daily logs and leave returns can be corrected",
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn judge_context(
    conn: &mut DbConnection,
    geo: &GeoState,
    policy: &EffectivePolicy,
    person: &PersonRow,
    villages: &[String],
    submission: &RecordSubmission,
    pointer: &str,
    submitter: &Submitter,
) -> StorageResult<Context> {
    let mut context = Context::default();
    let day = county_date(submission.captured_at.at());
    match &submission.body {
        RecordBody::HouseholdVisit {
            household_id, fix, ..
        } => {
            let household: Option<HouseholdRow> = households::table
                .find(household_id.to_string())
                .select(HouseholdRow::as_select())
                .first(conn)
                .optional()?;
            let Some(household) = household else {
                return Err(StorageError::invalid(
                    &format!("{pointer}/household_id"),
                    "unknown household",
                ));
            };
            let home = Position::parse(household.lon, household.lat).map_err(|_| {
                StorageError::Corrupt(format!("household {} location", household.id))
            })?;
            let judged = judge_household(
                fix,
                home,
                policy.policy.household_radius_m,
                policy.policy.accuracy_limit_m,
            );
            context.household = Some(judged.to_value());
            context.unrelated_household =
                !household_related(conn, &person.id, &household, villages, day)?;
        }
        RecordBody::Presence { .. } => {
            let duty: Option<String> = duties::table
                .filter(duties::person_id.eq(&person.id))
                .filter(duties::day.eq(format_date(day)))
                .order(duties::seq.asc())
                .select(duties::record_id)
                .first(conn)
                .optional()?;
            context.duty_id = duty;
        }
        RecordBody::Correction {
            captured_at, fix, ..
        } => {
            let corrected_day = captured_at.as_ref().map_or(day, |at| county_date(at.at()));
            let verdict = match fix {
                Some(fix) => {
                    let villages = active_villages(conn, &person.id, corrected_day)?;
                    Some(judge_in(geo, policy, &villages, fix).0)
                }
                None => None,
            };
            context.corrected =
                Some((captured_at.as_ref().map(|at| unix_micros(at.at())), verdict));
        }
        RecordBody::Duty {
            person_id,
            unit_code,
            date,
            ..
        } => {
            context.duty_roster = Some(check_duty(
                conn, submitter, *person_id, unit_code, *date, pointer,
            )?);
        }
        _ => {}
    }
    Ok(context)
}

fn check_duty(
    conn: &mut DbConnection,
    submitter: &Submitter,
    person_id: PersonId,
    unit_code: &UnitCode,
    date: Date,
    pointer: &str,
) -> StorageResult<Verdict> {
    let actor = Actor {
        id: Some(submitter.person),
        scope: submitter.scope.clone(),
    };
    let cadre = person_in_scope(conn, &actor, person_id, &format!("{pointer}/person_id"))?;
    if cadre.role != Role::Cadre.as_str() {
        return Err(StorageError::invalid(
            &format!("{pointer}/person_id"),
            "duty rotas are for cadres",
        ));
    }
    let unit =
        crate::writer::unit_in_scope(conn, &actor, unit_code, &format!("{pointer}/unit_code"))?;
    if unit.level != UnitLevel::Village.as_str() {
        return Err(StorageError::invalid(
            &format!("{pointer}/unit_code"),
            format!(
                "duty is kept in a village; {} is a {}",
                unit.code, unit.level
            ),
        ));
    }
    let assigned = active_villages(conn, &cadre.id, date)?.contains(&unit.code);
    Ok(Verdict {
        geo: None,
        roster: if assigned {
            RosterVerdict::Assigned
        } else {
            RosterVerdict::NotAssigned
        },
        unit_code: Some(unit.code),
        actual_unit_code: None,
        distance_to_boundary_m: None,
    })
}

/// A household is related to a cadre who is paired with it that day or assigned to its village.
fn household_related(
    conn: &mut DbConnection,
    person: &str,
    household: &HouseholdRow,
    villages: &[String],
    day: Date,
) -> StorageResult<bool> {
    let pairings: Vec<(String, Option<String>)> = pairings::table
        .filter(pairings::person_id.eq(person))
        .filter(pairings::household_id.eq(&household.id))
        .select((pairings::valid_from, pairings::valid_to))
        .load(conn)?;
    if pairings
        .iter()
        .any(|(from, to)| stored_period(from, to.as_deref()).is_some_and(|p| p.covers(day)))
    {
        return Ok(true);
    }
    let Some(household_path) = unit_path(conn, &household.unit_code)? else {
        return Ok(false);
    };
    let household_path = UnitPath::from_stored(household_path);
    for village in villages {
        if let Some(path) = unit_path(conn, village)? {
            if UnitPath::from_stored(path).contains(&household_path) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn judge_in(
    geo: &GeoState,
    policy: &EffectivePolicy,
    villages: &[String],
    fix: &Fix,
) -> (Verdict, Vec<Flag>) {
    let assigned: Vec<AssignedVillage<'_>> = villages
        .iter()
        .map(|code| AssignedVillage {
            code,
            shape: geo.index.shape(code),
            tolerance: policy
                .policy
                .tolerance_m
                .or_else(|| geo.tolerance.get(code).copied())
                .unwrap_or_default(),
        })
        .collect();
    judge_fix(fix, &assigned, &geo.index, policy.policy.accuracy_limit_m)
}

fn flag_inputs_from_store(
    conn: &mut DbConnection,
    person: &str,
    submission: &RecordSubmission,
) -> StorageResult<(Option<PriorFix>, bool, Option<String>)> {
    let mut previous = None;
    let mut repeated = false;
    if let Some(fix) = submission.fix() {
        let row: Option<FixRow> = fixes::table
            .filter(fixes::person_id.eq(person))
            .filter(fixes::captured_at.le(unix_micros(submission.captured_at.at())))
            .order(fixes::captured_at.desc())
            .select(FixRow::as_select())
            .first(conn)
            .optional()?;
        previous = row.and_then(|row| {
            Some(PriorFix {
                captured_at: from_unix_micros(row.captured_at),
                position: Position::parse(row.lon, row.lat).ok()?,
                accuracy_m: row.accuracy_m,
            })
        });
        // One match is enough; counting them all would grow with every replay.
        let same: Option<String> = fixes::table
            .filter(fixes::person_id.eq(person))
            .filter(fixes::sent_lon.eq(fix.sent.lon()))
            .filter(fixes::sent_lat.eq(fix.sent.lat()))
            .filter(fixes::accuracy_m.eq(fix.accuracy.get()))
            .select(fixes::record_id)
            .first(conn)
            .optional()?;
        repeated = same.is_some();
    }
    let bound: Option<String> = device_bindings::table
        .filter(device_bindings::person_id.eq(person))
        .order(device_bindings::seq.desc())
        .select(device_bindings::device_id)
        .first(conn)
        .optional()?;
    Ok((previous, repeated, bound))
}

/// The stored answer when this record id was seen before: Ok(Some) for a resend of the same
/// content by the same person, Conflict for anything else.
fn resent(
    conn: &mut DbConnection,
    person: &str,
    record_id: &str,
    payload: &[u8],
) -> StorageResult<Option<Value>> {
    let stored: Option<(String, i64, Vec<u8>, String)> = records::table
        .find(record_id)
        .select((
            records::person_id,
            records::seq,
            records::content_hash,
            records::response,
        ))
        .first(conn)
        .optional()?;
    let Some((owner, seq, stored_hash, response)) = stored else {
        return Ok(None);
    };
    // The stored hash is the entry's salted payload hash, so it reveals nothing once the
    // payload and its salt are purged; a resend is then no longer recognisable as the same.
    let salt: Option<Vec<u8>> = ledger_payloads::table
        .find(seq)
        .select(ledger_payloads::salt)
        .first(conn)
        .optional()?;
    let same_content =
        salt.is_some_and(|salt| payload_hash(&salt, payload).as_slice() == stored_hash);
    if owner == person && same_content {
        let response = serde_json::from_str(&response)
            .map_err(|err| StorageError::Corrupt(format!("stored response: {err}")))?;
        return Ok(Some(response));
    }
    Err(StorageError::Conflict(format!(
        "record {record_id} was already submitted with different content"
    )))
}

/// Judges and stores one record, or answers a resend with the stored answer.
pub(crate) fn append_record(
    ledger: &mut LedgerAppender<'_>,
    geo: &RwLock<GeoState>,
    policies: &PolicyCache,
    submitter: &Submitter,
    submission: RecordSubmission,
    pointer: &str,
) -> StorageResult<RecordOutcome> {
    let me = submitter.person.to_string();
    let payload = to_canonical_bytes(&submission.payload_value());
    let record_id = submission.id.to_string();
    if let Some(response) = resent(ledger.conn, &me, &record_id, &payload)? {
        return Ok(RecordOutcome {
            created: false,
            response,
        });
    }
    check_references(ledger.conn, submitter, &submission, pointer)?;
    let person = crate::reads::person(ledger.conn, &me)?
        .ok_or_else(|| StorageError::NotFound(format!("person {me}")))?;
    let captured_at = submission.captured_at.at();
    let day = county_date(captured_at);
    let villages = active_villages(ledger.conn, &me, day)?;
    let policy = person_policy(ledger.conn, policies, &person, &villages)?;

    let state = geo
        .read()
        .map_err(|_| StorageError::Unavailable("unit index lock poisoned".into()))?;
    let context = judge_context(
        ledger.conn,
        &state,
        &policy,
        &person,
        &villages,
        &submission,
        pointer,
        submitter,
    )?;
    let (verdict, mut flags) = match (submission.fix(), &context.duty_roster) {
        (_, Some(duty)) => (duty.clone(), Vec::new()),
        (Some(fix), None) => judge_in(&state, &policy, &villages, fix),
        (None, None) => (roster_only(&villages), Vec::new()),
    };
    drop(state);

    let staff_record = submission.kind.is_staff_record();
    let (previous_fix, repeated_fix, bound_device) = if staff_record {
        (None, false, None)
    } else {
        flag_inputs_from_store(ledger.conn, &me, &submission)?
    };
    flags.extend(flag_rules(
        &submission,
        &FlagInputs {
            policy: &policy.policy,
            received_at: ledger.now,
            previous_fix,
            repeated_fix,
            bound_device: bound_device.as_deref(),
            unrelated_household: context.unrelated_household,
        },
    ));
    flags.sort();
    flags.dedup();

    let mut verdict_value = verdict.to_value();
    if let Some(Value::Object(household)) = &context.household {
        for (key, value) in household {
            verdict_value[key] = value.clone();
        }
    }
    if let Some(duty) = &context.duty_id {
        verdict_value["duty_id"] = json!(duty);
    }
    if let Some((_, Some(corrected))) = &context.corrected {
        verdict_value["corrected"] = corrected.to_value();
    }
    if let Some(sent) = submission.sent_at {
        verdict_value["device_clock_offset_s"] =
            json!(((sent - ledger.now).as_seconds_f64() * 10.0).round() / 10.0);
    }
    let mut header_verdicts = json!({"verdict": verdict_value, "flags": flags});
    if !submission.attachments.is_empty() {
        // In the header, not only the payload: the photo stays covered by the tree after a purge.
        let hashes: Vec<String> = submission.attachments.iter().map(|h| h.to_hex()).collect();
        header_verdicts["attachments"] = json!(hashes);
    }
    let unit = verdict
        .unit_code
        .clone()
        .or_else(|| verdict.actual_unit_code.clone());
    let appended = ledger.append(EntryDraft {
        kind: submission.kind.as_str(),
        actor: Some(me.clone()),
        unit,
        captured_at,
        verdicts: Some(header_verdicts),
        payload: &payload,
    })?;
    let response = json!({
        "id": record_id,
        "kind": submission.kind.as_str(),
        "seq": appended.seq,
        "leaf_index": appended.seq - 1,
        "leaf_hash": hex::encode(appended.leaf_hash),
        "received_at": format_utc_micros(ledger.now),
        "verdict": verdict_value,
        "flags": flags,
    });
    diesel::insert_into(records::table)
        .values(RecordRow {
            id: record_id.clone(),
            person_id: me.clone(),
            kind: submission.kind.as_str().to_owned(),
            seq: appended.seq,
            captured_at: unix_micros(captured_at),
            content_hash: appended.payload_hash.to_vec(),
            unit_code: verdict.unit_code.clone(),
            actual_unit_code: verdict.actual_unit_code.clone(),
            geo: verdict.geo.map_or("none", |g| g.as_str()).to_owned(),
            roster: verdict.roster.as_str().to_owned(),
            response: response.to_string(),
            refers_to: submission.refers_to().map(|id| id.to_string()),
        })
        .execute(ledger.conn)?;
    write_projections(
        ledger,
        &submission,
        &me,
        &record_id,
        appended.seq,
        &context,
        bound_device.is_none(),
    )?;
    Ok(RecordOutcome {
        created: true,
        response,
    })
}

fn write_projections(
    ledger: &mut LedgerAppender<'_>,
    submission: &RecordSubmission,
    me: &str,
    record_id: &str,
    seq: i64,
    context: &Context,
    unbound: bool,
) -> StorageResult<()> {
    let captured_at = submission.captured_at.at();
    if let Some(fix) = submission.fix() {
        diesel::insert_into(fixes::table)
            .values(FixRow {
                record_id: record_id.to_owned(),
                person_id: me.to_owned(),
                captured_at: unix_micros(captured_at),
                lon: fix.position.lon(),
                lat: fix.position.lat(),
                sent_lon: fix.sent.lon(),
                sent_lat: fix.sent.lat(),
                accuracy_m: fix.accuracy.get(),
            })
            .execute(ledger.conn)?;
    }
    if let (true, false, Some(device)) = (
        unbound,
        submission.kind.is_staff_record(),
        &submission.device_id,
    ) {
        // First use binds the phone (常用手机); the record's own entry is the evidence.
        diesel::insert_into(device_bindings::table)
            .values((
                device_bindings::seq.eq(seq),
                device_bindings::person_id.eq(me),
                device_bindings::device_id.eq(device.as_str()),
            ))
            .execute(ledger.conn)?;
    }
    let request = |date_from: Option<Date>, date_to: Option<Date>| RequestRow {
        record_id: record_id.to_owned(),
        person_id: me.to_owned(),
        kind: submission.kind.as_str().to_owned(),
        refers_to: submission.refers_to().map(|id| id.to_string()),
        date_from: date_from.map(format_date),
        date_to: date_to.map(format_date),
        corrected_at: None,
        corrected_geo: None,
        status: "pending".to_owned(),
        decision_seq: None,
        decided_by: None,
        decided_at: None,
        decision_note: None,
        returned_on: None,
    };
    let row = match &submission.body {
        RecordBody::LeaveRequest { period, .. } | RecordBody::OfficialTrip { period, .. } => {
            Some(request(Some(period.from), Some(period.to)))
        }
        RecordBody::Dispute { .. } => Some(request(None, None)),
        RecordBody::Correction { .. } => {
            let mut row = request(None, None);
            if let Some((at, verdict)) = &context.corrected {
                row.corrected_at = *at;
                row.corrected_geo = verdict
                    .as_ref()
                    .and_then(|v| v.geo)
                    .map(|g| g.as_str().to_owned());
            }
            Some(row)
        }
        RecordBody::LeaveReturn { leave_id, .. } => {
            diesel::update(requests::table.find(leave_id.to_string()))
                .set(requests::returned_on.eq(format_date(county_date(captured_at))))
                .execute(ledger.conn)?;
            None
        }
        RecordBody::Duty {
            person_id,
            unit_code,
            date,
            ..
        } => {
            diesel::insert_into(duties::table)
                .values(DutyRow {
                    record_id: record_id.to_owned(),
                    person_id: person_id.to_string(),
                    unit_code: unit_code.as_str().to_owned(),
                    day: format_date(*date),
                    seq,
                })
                .execute(ledger.conn)?;
            None
        }
        _ => None,
    };
    if let Some(row) = row {
        diesel::insert_into(requests::table)
            .values(row)
            .execute(ledger.conn)?;
    }
    Ok(())
}

/// Appends a batch: items in captured_at order, each in its own savepoint so one failure leaves
/// the others standing. Answers in request order.
pub(crate) fn append_batch(
    conn: &mut DbConnection,
    tree: &mut fieldtrail_domain::merkle::CompactRange,
    now: time::OffsetDateTime,
    geo: &RwLock<GeoState>,
    policies: &PolicyCache,
    submitter: &Submitter,
    mut items: Vec<BatchItem>,
) -> Vec<(usize, StorageResult<RecordOutcome>)> {
    items.sort_by_key(|item| item.submission.captured_at.at());
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        let result = in_savepoint(conn, tree, |conn, tree| {
            let mut ledger = LedgerAppender { conn, tree, now };
            append_record(
                &mut ledger,
                geo,
                policies,
                submitter,
                item.submission,
                &item.pointer,
            )
        });
        results.push((item.index, result));
    }
    results
}

/// Records a supervisor's decision on a pending request as a ledger entry.
pub(crate) fn decide(
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    decision: Decision,
) -> StorageResult<Value> {
    let record_id = decision.record_id.to_string();
    let not_found =
        || StorageError::NotFound(format!("no {} with id {record_id}", decision.kind.as_str()));
    let request: RequestRow = requests::table
        .find(&record_id)
        .filter(requests::kind.eq(decision.kind.as_str()))
        .select(RequestRow::as_select())
        .first(ledger.conn)
        .optional()?
        .ok_or_else(not_found)?;
    let owner = crate::reads::person(ledger.conn, &request.person_id)?.ok_or_else(not_found)?;
    actor.require_reach(&owner.unit_path, || format!("the cadre of {record_id}"))?;
    if request.status != "pending" {
        return Err(StorageError::Conflict(format!(
            "{record_id} was already decided: {}",
            request.status
        )));
    }
    let unit: Option<String> = records::table
        .find(&record_id)
        .select(records::unit_code)
        .first(ledger.conn)
        .optional()?
        .flatten();
    let entry_kind = match decision.kind {
        RecordKind::LeaveRequest => "leave_decision",
        RecordKind::OfficialTrip => "trip_decision",
        RecordKind::Correction => "correction_decision",
        _ => "dispute_decision",
    };
    let payload = json!({
        "record_id": record_id,
        "decision": decision.decision,
        "note": decision.note,
    });
    let appended = ledger.append_admin(entry_kind, actor, unit.as_deref(), &payload)?;
    let decided = RequestRow {
        status: decision.decision,
        decision_seq: Some(appended.seq),
        decided_by: actor.id.map(|id| id.to_string()),
        decided_at: Some(unix_micros(ledger.now)),
        decision_note: decision.note,
        ..request
    };
    diesel::update(requests::table.find(&record_id))
        .set((
            requests::status.eq(&decided.status),
            requests::decision_seq.eq(decided.decision_seq),
            requests::decided_by.eq(&decided.decided_by),
            requests::decided_at.eq(decided.decided_at),
            requests::decision_note.eq(&decided.decision_note),
        ))
        .execute(ledger.conn)?;
    // The answer is the decision as every later read of the request shows it, plus its ids.
    let mut answer = decided.decision_view();
    answer["id"] = json!(appended.entry_id);
    answer["record_id"] = json!(record_id);
    answer["kind"] = json!(entry_kind);
    Ok(answer)
}

/// Replaces a unit's own policy overrides; a ledger entry, so every version is kept.
pub(crate) fn set_policy(
    ledger: &mut LedgerAppender<'_>,
    policies: &mut PolicyCache,
    actor: &Actor,
    code: &UnitCode,
    overrides: PolicyOverrides,
) -> StorageResult<Value> {
    let unit = find_unit(ledger.conn, code.as_str())?
        .ok_or_else(|| StorageError::NotFound(format!("no unit {code}")))?;
    actor.require_reach(&unit.path, || format!("unit {code}"))?;
    let body = overrides.to_value();
    let payload = json!({"unit_code": unit.code, "policy": body});
    let appended = ledger.append_admin("policy.set", actor, Some(&unit.code), &payload)?;
    diesel::insert_into(policies::table)
        .values((
            policies::seq.eq(appended.seq),
            policies::unit_code.eq(&unit.code),
            policies::body.eq(body.to_string()),
        ))
        .execute(ledger.conn)?;
    // Last, after every fallible step: the cache follows the rows.
    policies.insert(unit.code.clone(), overrides);
    Ok(effective_view(policies, &unit, Some(appended.seq)))
}

/// A supervisor binds a cadre to a new phone (常用手机 changed).
pub(crate) fn bind_device(
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    person: PersonId,
    device_id: &str,
) -> StorageResult<Value> {
    let row = crate::reads::person(ledger.conn, &person.to_string())?
        .ok_or_else(|| StorageError::NotFound(format!("no person {person}")))?;
    actor.require_reach(&row.unit_path, || format!("person {person}"))?;
    let payload = json!({"person_id": row.id, "device_id": device_id});
    let appended = ledger.append_admin("device.bind", actor, row.unit_code.as_deref(), &payload)?;
    diesel::insert_into(device_bindings::table)
        .values((
            device_bindings::seq.eq(appended.seq),
            device_bindings::person_id.eq(&row.id),
            device_bindings::device_id.eq(device_id),
        ))
        .execute(ledger.conn)?;
    Ok(json!({"person_id": row.id, "device_id": device_id, "seq": appended.seq}))
}

fn periods_overlap(a: &ValidPeriod, b: &ValidPeriod) -> bool {
    let a_before_b_ends = b.to().is_none_or(|end| a.from() <= end);
    let b_before_a_ends = a.to().is_none_or(|end| b.from() <= end);
    a_before_b_ends && b_before_a_ends
}

/// Pairs a cadre with a household, within the policy's limit on households per cadre.
pub(crate) fn create_pairing(
    ledger: &mut LedgerAppender<'_>,
    policies: &PolicyCache,
    actor: &Actor,
    pairing: NewPairing,
) -> StorageResult<Value> {
    let person = person_in_scope(ledger.conn, actor, pairing.person_id, "/person_id")?;
    if person.role != Role::Cadre.as_str() {
        return Err(StorageError::invalid(
            "/person_id",
            "pairings are for cadres",
        ));
    }
    let household_id = pairing.household_id.to_string();
    let household: HouseholdRow = households::table
        .find(&household_id)
        .select(HouseholdRow::as_select())
        .first(ledger.conn)
        .optional()?
        .ok_or_else(|| StorageError::invalid("/household_id", "unknown household"))?;
    let household_path = unit_path(ledger.conn, &household.unit_code)?.unwrap_or_default();
    actor.require_reach(&household_path, || format!("household {household_id}"))?;
    let existing: Vec<PairingRow> = pairings::table
        .filter(pairings::person_id.eq(&person.id))
        .select(PairingRow::as_select())
        .load(ledger.conn)?;
    let overlapping: Vec<&PairingRow> = existing
        .iter()
        .filter(|row| {
            stored_period(&row.valid_from, row.valid_to.as_deref())
                .is_some_and(|p| periods_overlap(&p, &pairing.period))
        })
        .collect();
    if overlapping
        .iter()
        .any(|row| row.household_id == household_id)
    {
        return Err(StorageError::Conflict(format!(
            "the cadre is already paired with household {household_id} in that period"
        )));
    }
    let villages = active_villages(ledger.conn, &person.id, pairing.period.from())?;
    let policy = person_policy(ledger.conn, policies, &person, &villages)?;
    let limit = usize::from(policy.policy.max_paired_households);
    if overlapping.len() >= limit {
        return Err(StorageError::Conflict(format!(
            "the cadre already has {} paired households in that period; the policy allows {limit}",
            overlapping.len()
        )));
    }
    let row = PairingRow {
        id: Uuid::now_v7().to_string(),
        person_id: person.id.clone(),
        household_id,
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
    let appended = ledger.append_admin(
        "pairing.create",
        actor,
        Some(&household.unit_code),
        &payload,
    )?;
    let row = PairingRow {
        seq: appended.seq,
        ..row
    };
    diesel::insert_into(pairings::table)
        .values(&row)
        .execute(ledger.conn)?;
    Ok(row.to_view())
}
