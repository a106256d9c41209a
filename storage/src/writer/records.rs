//! Field records: a record judged in its context (roster, policy, the person's earlier fixes and
//! device, households and pairings) entirely from what the writer holds in memory, its ledger
//! entry, and the rows of its projections. Nothing here reads or writes the database.

use super::appender::{EntryDraft, LedgerAppender, SealedPayload};
use super::rows::{BindingRow, ReturnRow};
use super::state::{JudgeState, KnownFix, KnownRecord, Learned};
use super::Actor;
use crate::error::{StorageError, StorageResult};
use crate::models::{
    AlertRow, AttachmentRefRow, DutyRow, FixRow, FlagRow, NoteRow, RecordRow, RequestRow, VisitRow,
};
use crate::stored::record_answer;
use fieldtrail_domain::canonical::{payload_hash, to_canonical_bytes, unix_micros};
use fieldtrail_domain::flags::{flags as flag_rules, judge_household, FlagInputs};
use fieldtrail_domain::geo::GeoVerdict;
use fieldtrail_domain::person::{PersonId, Role};
use fieldtrail_domain::policy::{AlertTrigger, EffectivePolicy};
use fieldtrail_domain::record::{
    roster_only, Flag, RecordBody, RecordKind, RecordSubmission, RosterVerdict, Verdict,
};
use fieldtrail_domain::roster::{county_date, format_date};
use fieldtrail_domain::unit::{UnitCode, UnitLevel, UnitPath};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use time::Date;

/// Who submits a record: the person it is stored under, and their scope (for duty rotas).
#[derive(Debug, Clone)]
pub struct Submitter {
    pub person: PersonId,
    pub scope: UnitPath,
}

/// The answer to a record submission: the stored response, and whether this call created it.
/// Shared: the writer keeps the same answer for a resend later in the group.
#[derive(Debug, Clone)]
pub struct RecordOutcome {
    pub created: bool,
    pub response: Arc<Value>,
}

/// One item of a batch: where it sat in the request, and the record.
pub struct BatchItem {
    pub index: usize,
    pub pointer: String,
    pub submission: RecordSubmission,
}

/// A record as the writer takes it: the submission, and what can be worked out before it
/// reaches the writer thread (so the submitting thread does it): its id as text and its payload,
/// canonically encoded, salted and hashed.
pub(crate) struct Prepared {
    pub(crate) submission: RecordSubmission,
    pub(crate) id: String,
    pub(crate) payload: SealedPayload,
    /// Where it sat in its batch ("/records/3"), or "" for a record on its own.
    pub(crate) pointer: String,
    pub(crate) index: usize,
}

impl Prepared {
    pub(crate) fn new(
        submission: RecordSubmission,
        pointer: String,
        index: usize,
    ) -> StorageResult<Prepared> {
        let payload = SealedPayload::new(to_canonical_bytes(&submission.payload_value()))?;
        Ok(Prepared {
            id: submission.id.to_string(),
            submission,
            payload,
            pointer,
            index,
        })
    }
}

/// A judged record: its answer and what judging learns from it.
pub(crate) type Judged = (RecordOutcome, Vec<Learned>);

/// What the stored context adds to a record beyond the geo verdict.
#[derive(Default)]
struct Context {
    household: Option<Value>,
    unrelated_household: bool,
    duty_id: Option<String>,
    corrected: Option<(Option<i64>, Option<Verdict>)>,
    duty_roster: Option<Verdict>,
}

/// Judges one record and appends it, or answers a resend with the stored answer.
pub(crate) fn append_record(
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    submitter: &Submitter,
    record: &Prepared,
) -> StorageResult<Judged> {
    let submission = &record.submission;
    let pointer = record.pointer.as_str();
    let me = submitter.person.to_string();
    let record_id = record.id.clone();
    if let Some(response) = resent(state, &me, &record_id, &record.payload.bytes)? {
        let outcome = RecordOutcome {
            created: false,
            response,
        };
        return Ok((outcome, Vec::new()));
    }
    check_references(state, &me, submission, pointer)?;
    let person = state
        .person(&submitter.person)
        .ok_or_else(|| StorageError::NotFound(format!("person {me}")))?;
    let captured_at = submission.captured_at.at();
    let captured_micros = unix_micros(captured_at);
    let day = county_date(captured_at);
    let villages = state.villages_on(&submitter.person, day);
    let policy = state.person_policy(person, &villages);
    let context = judge_context(state, &policy, submitter, &villages, submission, pointer)?;
    let (verdict, mut flags) = match (submission.fix(), &context.duty_roster) {
        (_, Some(duty)) => (duty.clone(), Vec::new()),
        (Some(fix), None) => state.judge_in(&policy, &villages, fix),
        (None, None) => (roster_only(&villages), Vec::new()),
    };

    let staff_record = submission.kind.is_staff_record();
    let (previous_fix, repeated_fix, bound_device) = match (staff_record, submission.fix()) {
        (true, _) => (None, false, None),
        (false, Some(fix)) => (
            state.previous_fix(&submitter.person, captured_micros),
            state.repeated_fix(&submitter.person, fix),
            state.bound_device(&submitter.person),
        ),
        (false, None) => (None, false, state.bound_device(&submitter.person)),
    };
    flags.extend(flag_rules(
        submission,
        &FlagInputs {
            policy: &policy.policy,
            received_at: ledger.now,
            previous_fix,
            repeated_fix,
            bound_device,
            unrelated_household: context.unrelated_household,
        },
    ));
    flags.sort();
    flags.dedup();
    let binds_device = !staff_record && bound_device.is_none();

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
    // Values are moved and cloned, never re-serialised through json!: this runs per record.
    let flags_value = Value::Array(
        flags
            .iter()
            .map(|flag| serde_json::to_value(flag).unwrap_or_default())
            .collect(),
    );
    let flag_names = flags_value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(",");
    let mut header_verdicts = Map::new();
    header_verdicts.insert("verdict".into(), verdict_value.clone());
    header_verdicts.insert("flags".into(), flags_value.clone());
    if !submission.attachments.is_empty() {
        // In the header, not only the payload: the photo stays covered by the tree after a purge.
        let hashes: Vec<Value> = submission
            .attachments
            .iter()
            .map(|h| Value::String(h.to_hex()))
            .collect();
        header_verdicts.insert("attachments".into(), Value::Array(hashes));
    }
    let unit = verdict
        .unit_code
        .clone()
        .or_else(|| verdict.actual_unit_code.clone());
    // The alerts the record raises (policy `alerts`), prepared before their parts move into
    // the entry; rare, so nothing is cloned for the common record.
    let alerts: Vec<(AlertTrigger, AlertParts)> = if staff_record {
        Vec::new()
    } else {
        alert_triggers(&verdict, &flags)
            .into_iter()
            .filter(|trigger| policy.policy.alerts.is_on(*trigger))
            .map(|trigger| {
                // Scoped by the village the record was judged in (else the cadre's home unit),
                // so that village's supervisors see it.
                let path = unit
                    .as_deref()
                    .and_then(|code| state.unit(code))
                    .map_or(&person.unit_path, |u| &u.path);
                let detail = json!({"kind": submission.kind.as_str(), "verdict": verdict_value});
                (
                    trigger,
                    (unit.clone(), path.as_str().to_owned(), detail.to_string()),
                )
            })
            .collect()
    };
    let appended = ledger.append(EntryDraft {
        kind: submission.kind.as_str(),
        actor: Some(me.clone()),
        unit,
        captured_at,
        verdicts: Some(Value::Object(header_verdicts)),
        payload: &record.payload,
    });

    let response = Arc::new(record_answer(
        &record_id,
        submission.kind.as_str(),
        appended.seq,
        hex::encode(appended.leaf_hash),
        ledger.now_text,
        verdict_value,
        flags_value,
    ));
    let mut learned = vec![Learned::Record {
        id: record_id.clone(),
        record: KnownRecord {
            person_id: me.clone(),
            kind: submission.kind.as_str().to_owned(),
            content_hash: record.payload.hash.to_vec(),
            salt: Some(record.payload.salt.to_vec()),
            response: Arc::clone(&response),
            returned_on: None,
        },
    }];
    let rows = &mut *ledger.rows;
    // Which photos the record names, for retention (an attachment goes once none is kept).
    let mut named: Vec<String> = submission.attachments.iter().map(|h| h.to_hex()).collect();
    named.sort();
    named.dedup();
    for sha256 in named {
        rows.attachment_refs.push(AttachmentRefRow {
            sha256,
            seq: appended.seq,
        });
    }
    rows.records.push(RecordRow {
        id: record_id.clone(),
        person_id: me.clone(),
        kind: submission.kind.as_str().to_owned(),
        seq: appended.seq,
        captured_at: captured_micros,
        content_hash: record.payload.hash.to_vec(),
        unit_code: verdict.unit_code.clone(),
        actual_unit_code: verdict.actual_unit_code.clone(),
        geo: verdict.geo.map_or("none", |g| g.as_str()).to_owned(),
        roster: verdict.roster.as_str().to_owned(),
        refers_to: submission.refers_to().map(|id| id.to_string()),
    });
    for (trigger, (unit_code, path, detail)) in alerts {
        rows.alerts.push(AlertRow {
            id: uuid::Uuid::now_v7().to_string(),
            seq: appended.seq,
            kind: trigger.kind().to_owned(),
            unit_code,
            unit_path: path,
            person_id: Some(me.clone()),
            source_id: record_id.clone(),
            status: "open".to_owned(),
            created_at: unix_micros(ledger.now),
            detail,
        });
    }
    if !flag_names.is_empty() {
        rows.flags.push(FlagRow {
            seq: appended.seq,
            person_id: me.clone(),
            captured_at: captured_micros,
            flags: flag_names,
        });
    }
    if let Some(fix) = submission.fix() {
        rows.fixes.push(FixRow {
            seq: appended.seq,
            record_id: record_id.clone(),
            person_id: me.clone(),
            captured_at: captured_micros,
            lon: fix.position.lon(),
            lat: fix.position.lat(),
            sent_lon: fix.sent.lon(),
            sent_lat: fix.sent.lat(),
            accuracy_m: fix.accuracy.get(),
        });
        learned.push(Learned::Fix {
            person: submitter.person,
            fix: KnownFix::of(fix, captured_micros),
        });
    }
    if let (true, Some(device)) = (binds_device, &submission.device_id) {
        // First use binds the phone (常用手机); the record's own entry is the evidence.
        rows.bindings.push(BindingRow {
            seq: appended.seq,
            person_id: me.clone(),
            device_id: device.as_str().to_owned(),
        });
        learned.push(Learned::Binding {
            person: submitter.person,
            device: device.as_str().to_owned(),
        });
    }
    let request = |date_from: Option<Date>, date_to: Option<Date>| RequestRow {
        record_id: record_id.clone(),
        person_id: me.clone(),
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
    match &submission.body {
        RecordBody::LeaveRequest { period, .. } | RecordBody::OfficialTrip { period, .. } => {
            rows.requests
                .push(request(Some(period.from), Some(period.to)));
        }
        RecordBody::HouseholdVisit { household_id, .. } => rows.visits.push(VisitRow {
            seq: appended.seq,
            household_id: household_id.to_string(),
            person_id: me.clone(),
            captured_at: captured_micros,
        }),
        RecordBody::Dispute { .. } => rows.requests.push(request(None, None)),
        RecordBody::Correction { .. } => {
            let mut row = request(None, None);
            if let Some((at, verdict)) = &context.corrected {
                row.corrected_at = *at;
                row.corrected_geo = verdict
                    .as_ref()
                    .and_then(|v| v.geo)
                    .map(|g| g.as_str().to_owned());
            }
            rows.requests.push(row);
        }
        RecordBody::LeaveReturn { leave_id, .. } => {
            let on = format_date(day);
            rows.returns.push(ReturnRow {
                leave_id: leave_id.to_string(),
                returned_on: on.clone(),
            });
            learned.push(Learned::LeaveReturned {
                leave_id: leave_id.to_string(),
                on,
            });
        }
        RecordBody::Duty {
            person_id,
            unit_code,
            date,
            ..
        } => {
            rows.duties.push(DutyRow {
                record_id: record_id.clone(),
                person_id: person_id.to_string(),
                unit_code: unit_code.as_str().to_owned(),
                day: format_date(*date),
                seq: appended.seq,
            });
            learned.push(Learned::Duty {
                person: *person_id,
                day: *date,
                record_id: record_id.clone(),
            });
        }
        RecordBody::Note {
            person_id,
            category,
            ..
        } => rows.notes.push(NoteRow {
            record_id: record_id.clone(),
            seq: appended.seq,
            person_id: person_id.to_string(),
            author_id: me.clone(),
            category: category.as_str().to_owned(),
            captured_at: captured_micros,
        }),
        _ => {}
    }
    let outcome = RecordOutcome {
        created: true,
        response,
    };
    Ok((outcome, learned))
}

/// The stored answer when this record id was seen before: Ok(Some) for a resend of the same
/// content by the same person, Conflict for anything else.
fn resent(
    state: &JudgeState,
    person: &str,
    record_id: &str,
    payload: &[u8],
) -> StorageResult<Option<Arc<Value>>> {
    let Some(stored) = state.record(record_id) else {
        return Ok(None);
    };
    // The stored hash is the entry's salted payload hash, so it reveals nothing once the
    // payload and its salt are purged; a resend is then no longer recognisable as the same.
    let same_content = stored
        .salt
        .as_ref()
        .is_some_and(|salt| payload_hash(salt, payload).as_slice() == stored.content_hash);
    if stored.person_id == person && same_content {
        return Ok(Some(Arc::clone(&stored.response)));
    }
    Err(StorageError::Conflict(format!(
        "record {record_id} was already submitted with different content"
    )))
}

/// Checks a record's references against what is stored; each problem is named under `pointer`.
fn check_references(
    state: &JudgeState,
    me: &str,
    submission: &RecordSubmission,
    pointer: &str,
) -> StorageResult<()> {
    for (i, hash) in submission.attachments.iter().enumerate() {
        if !state.attachment_known(&hash.to_hex()) {
            // A note names its one photo as `attachment`.
            let field = if submission.kind == RecordKind::Note && submission.attachments.len() == 1
            {
                "attachment".to_owned()
            } else {
                format!("attachments/{i}")
            };
            return Err(StorageError::invalid(
                &format!("{pointer}/{field}"),
                "no attachment with this hash; upload it first with POST /v1/attachments",
            ));
        }
    }
    match &submission.body {
        RecordBody::LeaveReturn { leave_id, .. } => match state.record(&leave_id.to_string()) {
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
        },
        RecordBody::Dispute {
            disputes: target, ..
        }
        | RecordBody::Correction { amends: target, .. } => {
            let field = if submission.kind == RecordKind::Dispute {
                "disputes"
            } else {
                "amends"
            };
            let Some(target) = state
                .record(&target.to_string())
                .filter(|record| record.person_id == me)
            else {
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
            if field == "amends" && !correctable.contains(&target.kind.as_str()) {
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

fn judge_context(
    state: &JudgeState,
    policy: &EffectivePolicy,
    submitter: &Submitter,
    villages: &[String],
    submission: &RecordSubmission,
    pointer: &str,
) -> StorageResult<Context> {
    let mut context = Context::default();
    let day = county_date(submission.captured_at.at());
    match &submission.body {
        RecordBody::HouseholdVisit {
            household_id, fix, ..
        } => {
            let Some(household) = state.household(household_id) else {
                return Err(StorageError::invalid(
                    &format!("{pointer}/household_id"),
                    "unknown household",
                ));
            };
            let judged = judge_household(
                fix,
                household.location,
                policy.policy.household_radius_m,
                policy.policy.accuracy_limit_m,
            );
            context.household = Some(judged.to_value());
            context.unrelated_household =
                !state.household_related(&submitter.person, household_id, household, villages, day);
        }
        RecordBody::Presence { .. } => {
            context.duty_id = state.duty(&submitter.person, day).map(str::to_owned);
        }
        RecordBody::Correction {
            captured_at, fix, ..
        } => {
            let corrected_day = captured_at.as_ref().map_or(day, |at| county_date(at.at()));
            let verdict = fix.as_ref().map(|fix| {
                let villages = state.villages_on(&submitter.person, corrected_day);
                state.judge_in(policy, &villages, fix).0
            });
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
                state, submitter, *person_id, unit_code, *date, pointer,
            )?);
        }
        RecordBody::Note { person_id, .. } => {
            context.duty_roster = Some(check_note(state, submitter, *person_id, day, pointer)?);
        }
        _ => {}
    }
    Ok(context)
}

/// A note is about a cadre within the submitter's scope; its verdict is the cadre's roster that
/// day (their first village).
fn check_note(
    state: &JudgeState,
    submitter: &Submitter,
    person_id: PersonId,
    day: Date,
    pointer: &str,
) -> StorageResult<Verdict> {
    staff_subject(
        state,
        submitter,
        person_id,
        pointer,
        "notes are about cadres",
    )?;
    Ok(roster_only(&state.villages_on(&person_id, day)))
}

/// The cadre a staff record (duty, note) is about, who must be a cadre in the submitter's scope;
/// the submitter as an actor, for further scope checks.
fn staff_subject(
    state: &JudgeState,
    submitter: &Submitter,
    person_id: PersonId,
    pointer: &str,
    not_a_cadre: &str,
) -> StorageResult<Actor> {
    let actor = Actor {
        id: Some(submitter.person),
        scope: submitter.scope.clone(),
    };
    let person = actor.person_in(state, person_id, &format!("{pointer}/person_id"))?;
    if person.role != Role::Cadre {
        return Err(StorageError::invalid(
            &format!("{pointer}/person_id"),
            not_a_cadre,
        ));
    }
    Ok(actor)
}

fn check_duty(
    state: &JudgeState,
    submitter: &Submitter,
    person_id: PersonId,
    unit_code: &UnitCode,
    date: Date,
    pointer: &str,
) -> StorageResult<Verdict> {
    let actor = staff_subject(
        state,
        submitter,
        person_id,
        pointer,
        "duty rotas are for cadres",
    )?;
    let unit = actor.unit_in(state, unit_code, &format!("{pointer}/unit_code"))?;
    if unit.level != UnitLevel::Village {
        return Err(StorageError::invalid(
            &format!("{pointer}/unit_code"),
            format!(
                "duty is kept in a village; {unit_code} is a {}",
                unit.level.as_str()
            ),
        ));
    }
    let assigned = state
        .villages_on(&person_id, date)
        .iter()
        .any(|code| code == unit_code.as_str());
    Ok(Verdict {
        geo: None,
        roster: if assigned {
            RosterVerdict::Assigned
        } else {
            RosterVerdict::NotAssigned
        },
        unit_code: Some(unit_code.as_str().to_owned()),
        actual_unit_code: None,
        distance_to_boundary_m: None,
    })
}

/// An alert's unit code, unit path and detail, before its record's seq is known.
type AlertParts = (Option<String>, String, String);

/// What in a cadre's record raises an alert, before the policy says which do (docs/alerts):
/// judged outside their villages, sent where they are not assigned, a mock location, an
/// impossible speed.
fn alert_triggers(verdict: &Verdict, flags: &[Flag]) -> Vec<AlertTrigger> {
    let mut triggers = Vec::new();
    if verdict.geo == Some(GeoVerdict::Outside) {
        triggers.push(AlertTrigger::Outside);
    }
    if verdict.roster == RosterVerdict::NotAssigned {
        triggers.push(AlertTrigger::NotAssigned);
    }
    if flags.contains(&Flag::MockLocation) {
        triggers.push(AlertTrigger::MockLocation);
    }
    if flags.contains(&Flag::ImpossibleSpeed) {
        triggers.push(AlertTrigger::ImpossibleSpeed);
    }
    triggers
}
