//! A committed draw (RFC 3797 in spirit): the `spot_check.draw` entry fixes the unit,
//! population, size, period, time, supervisor and the population itself before any randomness
//! exists; a checkpoint of the tree that ends with that entry is signed at once, and its root is
//! the seed; the `spot_check.sample` entry records what the seed selects, and for a draw over
//! cadres one `spot_check.challenge` entry per selected cadre opens the challenge.

use super::super::appender::LedgerAppender;
use super::super::commit::sign_checkpoint;
use super::super::state::{JudgeState, Learned, OpenChallenge};
use super::super::{Actor, LogSigner};
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::models::{ChallengeRow, DrawRow};
use crate::schema::{challenges, draws, visits};
use crate::spot_checks::draw_view;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use diesel::prelude::*;
use fieldtrail_domain::canonical::{format_utc_micros, unix_micros};
use fieldtrail_domain::person::PersonId;
use fieldtrail_domain::roster::county_date;
use fieldtrail_domain::spotcheck::{
    population_sha256, sample, within_challenge_hours, Period, Population, CHALLENGE_HOURS,
};
use fieldtrail_domain::unit::UnitCode;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

/// A supervisor's request for a draw, parsed.
#[derive(Debug, Clone)]
pub struct NewDraw {
    pub unit_code: UnitCode,
    pub population: Population,
    pub size: usize,
    /// None: the county month of the draw.
    pub period: Option<Period>,
    pub purpose: Option<String>,
    pub emergency_reason: Option<String>,
}

/// Households looked up per query when finding the visited ones.
const IN_CHUNK: usize = 500;

pub(crate) fn draw(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    log: &LogSigner,
    request: &NewDraw,
) -> StorageResult<(Value, Vec<Learned>)> {
    let unit = actor.unit_in(state, &request.unit_code, "/unit_code")?;
    let unit_path = unit.path.clone();
    let now = ledger.now;
    let today = county_date(now);
    let period = request.period.unwrap_or_else(|| Period::month_of(today));
    let emergency = request
        .emergency_reason
        .as_deref()
        .map(str::trim)
        .filter(|reason| !reason.is_empty());
    let (members, passed_over, cadres) = match request.population {
        Population::Cadres => {
            if emergency.is_none() && !within_challenge_hours(now) {
                return Err(StorageError::invalid(
                    "/emergency_reason",
                    format!(
                        "challenges are only opened from {:02}:00 to {:02}:00 county time; outside those hours a draw over cadres needs an emergency reason",
                        CHALLENGE_HOURS.start, CHALLENGE_HOURS.end
                    ),
                ));
            }
            let cadres = state.cadres_under(&unit_path, today);
            let members: Vec<String> = cadres.iter().map(|(p, _)| p.to_string()).collect();
            let passed_over = at_cap(conn, state, &cadres, today)?;
            (members, passed_over, cadres)
        }
        Population::VisitedHouseholds => {
            let members = visited_households(conn, state, &unit_path, &period)?;
            (members, Vec::new(), Vec::new())
        }
    };
    let population_hash = hex::encode(population_sha256(&members));
    let drawn_by = actor.id.map(|id| id.to_string());
    let period_value = period.describe();
    let draw_payload = json!({
        "unit_code": request.unit_code.as_str(),
        "population": request.population.as_str(),
        "size": request.size,
        "period": period_value["period"],
        "period_from": period_value["from"],
        "period_to": period_value["to"],
        "drawn_at": ledger.now_text,
        "drawn_by": drawn_by,
        "purpose": request.purpose,
        "emergency_reason": request.emergency_reason,
        "members": members,
        "population_sha256": population_hash,
        "passed_over": passed_over,
    });
    let entry = ledger.append_admin(
        "spot_check.draw",
        actor,
        Some(request.unit_code.as_str()),
        &draw_payload,
    )?;
    // The seed: a checkpoint of the tree whose last leaf is the draw entry, signed now.
    let checkpoint = sign_checkpoint(conn, ledger, log)?;
    if checkpoint.size != u64::try_from(entry.seq).unwrap_or(0) {
        return Err(StorageError::Corrupt(format!(
            "the draw's checkpoint has size {} but the draw is entry {}",
            checkpoint.size, entry.seq
        )));
    }
    let draw_id = uuid::Uuid::parse_str(&entry.entry_id)
        .map_err(|_| StorageError::Corrupt("entry id is not a UUID".into()))?;
    let skipped: BTreeSet<&str> = passed_over
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    let candidates: Vec<String> = members
        .iter()
        .filter(|m| !skipped.contains(m.as_str()))
        .cloned()
        .collect();
    let chosen = sample(
        checkpoint.root,
        *draw_id.as_bytes(),
        &candidates,
        request.size,
    );
    let root = STANDARD.encode(checkpoint.root);
    let sample_entry = ledger.append_admin(
        "spot_check.sample",
        actor,
        Some(request.unit_code.as_str()),
        &json!({
            "draw_id": entry.entry_id,
            "checkpoint": {"size": checkpoint.size, "root": root},
            "sample": chosen,
        }),
    )?;
    let mut learned = Vec::new();
    let mut opened = Vec::new();
    if request.population == Population::Cadres {
        let villages: HashMap<String, &Vec<String>> = cadres
            .iter()
            .map(|(person, villages)| (person.to_string(), villages))
            .collect();
        for member in &chosen {
            let person = PersonId::parse(member)
                .map_err(|_| StorageError::Corrupt(format!("person id {member}")))?;
            let info = state
                .person(&person)
                .ok_or_else(|| StorageError::Corrupt(format!("unknown person {member}")))?;
            // The cadre's policy as their records are judged by: that of their first village.
            let policy = state.person_policy(info, &state.villages_on(&person, today));
            let issued_at = unix_micros(now);
            let deadline = issued_at + i64::from(policy.policy.challenge_minutes) * 60_000_000;
            let nonce = nonce()?;
            let payload = json!({
                "draw_id": entry.entry_id,
                "person_id": member,
                "nonce": nonce,
                "issued_at": ledger.now_text,
                "deadline": format_utc_micros(fieldtrail_domain::canonical::from_unix_micros(deadline)),
                "issued_by": drawn_by,
                "emergency_reason": emergency,
            });
            let village = villages.get(member).and_then(|v| v.first()).cloned();
            let challenge =
                ledger.append_admin("spot_check.challenge", actor, village.as_deref(), &payload)?;
            let row = ChallengeRow {
                id: challenge.entry_id.clone(),
                seq: challenge.seq,
                draw_id: entry.entry_id.clone(),
                person_id: member.clone(),
                nonce: nonce.clone(),
                issued_by: drawn_by.clone(),
                issued_at,
                deadline,
                status: "open".to_owned(),
                outcome_id: None,
                answer_id: None,
                answered_at: None,
            };
            learned.push(Learned::ChallengeOpened {
                id: challenge.entry_id.clone(),
                challenge: OpenChallenge {
                    draw_id: entry.entry_id.clone(),
                    person,
                    nonce,
                    issued_at,
                    deadline,
                },
            });
            opened.push(row);
        }
        for row in &opened {
            diesel::insert_into(challenges::table)
                .values(row)
                .execute(conn)?;
        }
    }
    let row = DrawRow {
        id: entry.entry_id.clone(),
        seq: entry.seq,
        unit_code: request.unit_code.as_str().to_owned(),
        unit_path: unit_path.as_str().to_owned(),
        population: request.population.as_str().to_owned(),
        size: i32::try_from(request.size).unwrap_or(i32::MAX),
        period: period.label(),
        purpose: request.purpose.clone(),
        emergency_reason: request.emergency_reason.clone(),
        drawn_by,
        drawn_at: unix_micros(now),
        members: Value::from(members).to_string(),
        population_sha256: population_hash,
        passed_over: Value::from(passed_over).to_string(),
        checkpoint_size: entry.seq,
        sample: Value::from(chosen).to_string(),
        sample_seq: sample_entry.seq,
    };
    diesel::insert_into(draws::table)
        .values(&row)
        .execute(conn)?;
    let view = draw_view(&row, &opened, &[], Some(&checkpoint.note))?;
    Ok((view, learned))
}

/// The cadres who cannot be challenged again this county month, with why.
fn at_cap(
    conn: &mut DbConnection,
    state: &JudgeState,
    cadres: &[(PersonId, Vec<String>)],
    today: time::Date,
) -> StorageResult<Vec<Value>> {
    let month = Period::month_of(today);
    let (start, end) = month.micros_range();
    let mut counts: HashMap<String, i64> = HashMap::new();
    for chunk in cadres.chunks(IN_CHUNK) {
        let ids: Vec<String> = chunk.iter().map(|(p, _)| p.to_string()).collect();
        let rows: Vec<String> = challenges::table
            .filter(challenges::person_id.eq_any(&ids))
            .filter(challenges::issued_at.ge(start))
            .filter(challenges::issued_at.lt(end))
            .select(challenges::person_id)
            .load(conn)?;
        for person in rows {
            *counts.entry(person).or_default() += 1;
        }
    }
    let mut passed_over = Vec::new();
    for (person, _) in cadres {
        let id = person.to_string();
        let count = counts.get(&id).copied().unwrap_or(0);
        let Some(info) = state.person(person) else {
            continue;
        };
        let cap = i64::from(
            state
                .person_policy(info, &state.villages_on(person, today))
                .policy
                .max_challenges_per_month,
        );
        if count >= cap {
            passed_over.push(json!({
                "id": id,
                "reason": "max_challenges_per_month",
                "challenges_this_month": count,
                "max_challenges_per_month": cap,
            }));
        }
    }
    Ok(passed_over)
}

/// Households under the unit with at least one visit record captured in the period, sorted.
fn visited_households(
    conn: &mut DbConnection,
    state: &JudgeState,
    path: &fieldtrail_domain::unit::UnitPath,
    period: &Period,
) -> StorageResult<Vec<String>> {
    let (start, end) = period.micros_range();
    let households: Vec<String> = state
        .households_under(path)
        .into_iter()
        .map(|id| id.to_string())
        .collect();
    let mut visited = BTreeSet::new();
    for chunk in households.chunks(IN_CHUNK) {
        let found: Vec<String> = visits::table
            .filter(visits::household_id.eq_any(chunk))
            .filter(visits::captured_at.ge(start))
            .filter(visits::captured_at.lt(end))
            .select(visits::household_id)
            .distinct()
            .load(conn)?;
        visited.extend(found);
    }
    Ok(visited.into_iter().collect())
}

/// 128 random bits as hex: what only a fresh answer can carry back.
fn nonce() -> StorageResult<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|err| StorageError::Unavailable(format!("no randomness: {err}")))?;
    Ok(hex::encode(bytes))
}
