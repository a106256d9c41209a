//! Challenges (电话抽查, digital): a cadre's answer — a fresh fix carrying the challenge's nonce,
//! stored as a check-in of its own and judged like any — and its outcome; the `missed` outcome of
//! a challenge whose deadline passed unanswered; and the outcome of a check a supervisor made
//! by phone or in person.

use super::super::appender::LedgerAppender;
use super::super::records::{self, Prepared, Submitter};
use super::super::state::{JudgeState, Learned, OpenChallenge};
use super::super::Actor;
use super::{append_result, ResultDraft};
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::models::ChallengeRow;
use crate::schema::{challenges, requests};
use diesel::prelude::*;
use fieldtrail_domain::canonical::{format_utc_micros, from_unix_micros, unix_micros};
use fieldtrail_domain::geo::GeoVerdict;
use fieldtrail_domain::person::PersonId;
use fieldtrail_domain::policy::AlertTrigger;
use fieldtrail_domain::record::{roster_only, Fix, Flag};
use fieldtrail_domain::roster::{county_date, format_date};
use fieldtrail_domain::spotcheck::{challenge_outcome, AnswerFacts, Method, Outcome};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// A cadre's answer to a challenge: its nonce and the fix, as a check-in record.
pub struct ChallengeAnswer {
    pub challenge_id: String,
    pub nonce: String,
    pub(crate) record: Prepared,
}

impl ChallengeAnswer {
    pub fn new(
        challenge_id: String,
        nonce: String,
        submission: fieldtrail_domain::record::RecordSubmission,
    ) -> StorageResult<Self> {
        Ok(ChallengeAnswer {
            challenge_id,
            nonce,
            record: Prepared::new(submission, String::new(), 0)?,
        })
    }
}

/// A check a supervisor made themselves.
#[derive(Debug, Clone)]
pub struct NewOutcome {
    pub person: PersonId,
    pub method: Method,
    pub outcome: Outcome,
    pub note: Option<String>,
    /// The supervisor's own fix (required in person), judged against the cadre's villages.
    pub fix: Option<Fix>,
    pub captured_at: Option<OffsetDateTime>,
}

pub(crate) fn answer_challenge(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    submitter: &Submitter,
    answer: &ChallengeAnswer,
) -> StorageResult<(Value, Vec<Learned>)> {
    let id = answer.challenge_id.as_str();
    let open = match state
        .open_challenge(id)
        .filter(|c| c.person == submitter.person)
    {
        Some(open) => open.clone(),
        None => missed_challenge(conn, id, &submitter.person)?,
    };
    if answer.nonce != open.nonce {
        return Err(StorageError::invalid(
            "/nonce",
            "is not this challenge's nonce",
        ));
    }
    let captured_at = answer.record.submission.captured_at.at();
    if unix_micros(captured_at) < open.issued_at {
        return Err(StorageError::invalid(
            "/captured_at",
            format!(
                "must not be before the challenge was issued ({})",
                format_utc_micros(from_unix_micros(open.issued_at))
            ),
        ));
    }
    let (check_in, mut learned) = records::append_record(ledger, state, submitter, &answer.record)?;
    let check_in = check_in.response;
    let verdict = &check_in["verdict"];
    let geo = verdict["geo"].as_str().and_then(GeoVerdict::parse);
    let day = county_date(captured_at);
    let (on_leave, on_trip) = approved_absence(conn, &submitter.person, day)?;
    let outcome = challenge_outcome(AnswerFacts {
        after_deadline: unix_micros(ledger.now) > open.deadline,
        geo,
        on_leave,
        on_trip,
    });
    let answer_id = check_in["id"].as_str().unwrap_or_default().to_owned();
    let result = json!({
        "outcome": outcome.as_str(),
        "method": "challenge",
        "challenge_id": id,
        "draw_id": open.draw_id,
        "answer_id": answer_id,
        "geo": verdict["geo"],
        "unit_code": verdict["unit_code"],
        "deadline": format_utc_micros(from_unix_micros(open.deadline)),
    });
    let actor = Actor {
        id: Some(submitter.person),
        scope: submitter.scope.clone(),
    };
    let appended = append_result(
        ledger,
        &actor,
        ResultDraft {
            kind: "spot_check.outcome",
            person: Some(submitter.person),
            unit_code: verdict["unit_code"].as_str().map(str::to_owned),
            actual_unit_code: verdict["actual_unit_code"].as_str().map(str::to_owned),
            roster: roster_of(verdict),
            captured_at,
            verdict: result.clone(),
            flags: check_in["flags"].clone(),
            payload: json!({
                "challenge_id": id,
                "draw_id": open.draw_id,
                "answer_id": answer_id,
                "nonce": answer.nonce,
                "outcome": outcome.as_str(),
            }),
            alert: alert_for(
                state,
                outcome,
                &submitter.person,
                verdict["unit_code"].as_str(),
            ),
        },
        &mut learned,
    )?;
    close(
        conn,
        id,
        outcome,
        &appended.id,
        Some(&answer_id),
        ledger.now,
    )?;
    learned.push(Learned::ChallengeClosed { id: id.to_owned() });
    Ok((
        json!({
            "challenge_id": id,
            "outcome": outcome.as_str(),
            "outcome_id": appended.id,
            "outcome_seq": appended.seq,
            "answer": *check_in,
            "result": *appended.answer,
        }),
        learned,
    ))
}

/// A challenge that is no longer open can still be answered if it was missed: the answer is
/// evidence all the same, and its outcome is `late`. Any other state is final.
fn missed_challenge(
    conn: &mut DbConnection,
    id: &str,
    person: &PersonId,
) -> StorageResult<OpenChallenge> {
    let stored: Option<ChallengeRow> = challenges::table
        .find(id)
        .select(ChallengeRow::as_select())
        .first(conn)
        .optional()?;
    match stored {
        Some(row) if row.person_id == person.to_string() => {
            if row.status != Outcome::Missed.as_str() {
                return Err(StorageError::Conflict(format!(
                    "challenge {id} was already answered: {}",
                    row.status
                )));
            }
            Ok(OpenChallenge {
                draw_id: row.draw_id,
                person: *person,
                nonce: row.nonce,
                issued_at: row.issued_at,
                deadline: row.deadline,
            })
        }
        _ => Err(StorageError::NotFound(format!("challenge {id}"))),
    }
}

/// Decides `missed` for every open challenge whose deadline has passed; answers how many.
pub(crate) fn expire_challenges(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
) -> StorageResult<(Value, Vec<Learned>)> {
    let due = state.due_challenges(unix_micros(ledger.now));
    let mut learned = Vec::new();
    for (id, open) in &due {
        missed(conn, ledger, state, id, open, &mut learned)?;
    }
    Ok((json!({"missed": due.len()}), learned))
}

fn missed(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    id: &str,
    open: &OpenChallenge,
    learned: &mut Vec<Learned>,
) -> StorageResult<()> {
    let deadline = from_unix_micros(open.deadline);
    let villages = state.villages_on(&open.person, county_date(deadline));
    let result = json!({
        "outcome": Outcome::Missed.as_str(),
        "method": "challenge",
        "challenge_id": id,
        "draw_id": open.draw_id,
        "deadline": format_utc_micros(deadline),
        "unit_code": villages.first(),
    });
    // The server decides it: no person acts.
    let actor = Actor::operator();
    let appended = append_result(
        ledger,
        &actor,
        ResultDraft {
            kind: "spot_check.outcome",
            person: Some(open.person),
            unit_code: villages.first().cloned(),
            actual_unit_code: None,
            roster: roster_only(&villages).roster.as_str(),
            captured_at: deadline,
            verdict: result,
            flags: json!([]),
            payload: json!({
                "challenge_id": id,
                "draw_id": open.draw_id,
                "outcome": Outcome::Missed.as_str(),
            }),
            alert: alert_for(
                state,
                Outcome::Missed,
                &open.person,
                villages.first().map(String::as_str),
            ),
        },
        learned,
    )?;
    close(conn, id, Outcome::Missed, &appended.id, None, ledger.now)?;
    learned.push(Learned::ChallengeClosed { id: id.to_owned() });
    Ok(())
}

/// A supervisor's own check by phone or in person.
pub(crate) fn record_outcome(
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    request: &NewOutcome,
) -> StorageResult<(Value, Vec<Learned>)> {
    let person = actor.person_in(state, request.person, "/person_id")?;
    let at = request.captured_at.unwrap_or(ledger.now);
    let villages = state.villages_on(&request.person, county_date(at));
    let policy = state.person_policy(person, &villages);
    let mut result = json!({
        "outcome": request.outcome.as_str(),
        "method": request.method.as_str(),
        "unit_code": villages.first(),
    });
    let mut flags: Vec<Flag> = Vec::new();
    let mut actual = None;
    if let Some(fix) = &request.fix {
        let (verdict, geo_flags) = state.judge_in(&policy, &villages, fix);
        flags.extend(geo_flags);
        if fix.mock {
            flags.push(Flag::MockLocation);
        }
        // The supervisor's fix, judged against the cadre's villages like any other.
        result["supervisor_position"] = verdict.to_value();
        actual = verdict.actual_unit_code.clone();
    }
    flags.sort();
    flags.dedup();
    let flags_value = serde_json::to_value(&flags).unwrap_or_default();
    let mut learned = Vec::new();
    let appended = append_result(
        ledger,
        actor,
        ResultDraft {
            kind: "spot_check.outcome",
            person: Some(request.person),
            unit_code: villages.first().cloned(),
            actual_unit_code: actual,
            roster: roster_only(&villages).roster.as_str(),
            captured_at: at,
            verdict: result,
            flags: flags_value,
            payload: json!({
                "person_id": request.person.to_string(),
                "method": request.method.as_str(),
                "outcome": request.outcome.as_str(),
                "note": request.note,
                "captured_at": format_utc_micros(at),
                "position": request.fix.as_ref().map(Fix::to_value),
            }),
            alert: alert_for(
                state,
                request.outcome,
                &request.person,
                villages.first().map(String::as_str),
            ),
        },
        &mut learned,
    )?;
    Ok(((*appended.answer).clone(), learned))
}

fn roster_of(verdict: &Value) -> &'static str {
    if verdict["roster"] == "assigned" {
        "assigned"
    } else {
        "not_assigned"
    }
}

/// The alert an outcome raises, scoped by the village it concerns (so every supervisor over the
/// village sees it), else by the cadre's home unit.
fn alert_for(
    state: &JudgeState,
    outcome: Outcome,
    person: &PersonId,
    village: Option<&str>,
) -> Option<(&'static str, fieldtrail_domain::unit::UnitPath)> {
    if !outcome.alerts() {
        return None;
    }
    let path = match village.and_then(|code| state.unit(code)) {
        Some(unit) => unit.path.clone(),
        None => state.person(person)?.unit_path.clone(),
    };
    let trigger = match outcome {
        Outcome::Missed => AlertTrigger::SpotCheckMissed,
        _ => AlertTrigger::SpotCheckAbsent,
    };
    // Which results raise alerts is the unit's policy (`alerts`).
    state
        .policy_at(&path)
        .policy
        .alerts
        .is_on(trigger)
        .then(|| (trigger.kind(), path))
}

/// Whether approved leave (not yet returned from) or an approved trip covers the day.
fn approved_absence(
    conn: &mut DbConnection,
    person: &PersonId,
    day: time::Date,
) -> StorageResult<(bool, bool)> {
    let day = format_date(day);
    let rows: Vec<(String, Option<String>)> = requests::table
        .filter(requests::person_id.eq(person.to_string()))
        .filter(requests::status.eq("approved"))
        .filter(requests::kind.eq_any(["leave_request", "official_trip"]))
        .filter(requests::date_from.le(&day))
        .filter(requests::date_to.ge(&day))
        .select((requests::kind, requests::returned_on))
        .load(conn)?;
    let on_leave = rows.iter().any(|(kind, returned)| {
        kind == "leave_request" && returned.as_deref().is_none_or(|on| on > day.as_str())
    });
    let on_trip = rows.iter().any(|(kind, _)| kind == "official_trip");
    Ok((on_leave, on_trip))
}

fn close(
    conn: &mut DbConnection,
    id: &str,
    outcome: Outcome,
    outcome_id: &str,
    answer_id: Option<&str>,
    now: OffsetDateTime,
) -> StorageResult<()> {
    diesel::update(challenges::table.find(id))
        .set((
            challenges::status.eq(outcome.as_str()),
            challenges::outcome_id.eq(outcome_id),
            challenges::answer_id.eq(answer_id),
            challenges::answered_at.eq(answer_id.map(|_| unix_micros(now))),
        ))
        .execute(conn)?;
    Ok(())
}
