//! The county supervisor's spot-checks. Two rounds in the past, so that the spot-check pages and
//! the month's bulletin have results: a draw over the county's cadres (two answer at once, one
//! never does and is missed, one answers late) and a draw over visited households (one confirms,
//! one denies, two are still to be visited). And one round now: a draw over cadres whose
//! challenges are open (two answered at once, from the village and from next door), and a check
//! by phone.

use super::activity::{fix_at, instant, rfc3339, Fix};
use super::org::{household_location, internal, Org, COUNTY};
use super::plan::{Key, Moment, Place, Plan};
use super::TimeMachine;
use crate::error::ApiError;
use crate::handlers::read;
use crate::state::AppState;
use fieldtrail_domain::canonical::unix_micros;
use fieldtrail_domain::roster::COUNTY_OFFSET;
use fieldtrail_domain::spotcheck::{Method, Outcome, Period, Population, Verification};
use fieldtrail_domain::submission::{parse_position_member, parse_record};
use fieldtrail_domain::unit::UnitCode;
use fieldtrail_storage::writer::{ChallengeAnswer, NewDraw, NewOutcome, NewVerification};
use serde_json::{json, Value};
use time::{Date, Duration};

/// What the spot-checks left behind, for the summary.
#[derive(Debug, Default)]
pub(super) struct Checks {
    pub draws: usize,
    pub challenges: usize,
    pub answered: usize,
    pub verifications: usize,
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The (challenge id, person id) pairs a draw opened, in sample order.
fn challenges_of(draw: &Value) -> Vec<(String, String)> {
    draw["challenges"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|c| {
                    Some((
                        c["id"].as_str()?.to_owned(),
                        c["person_id"].as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn cadre_index(org: &Org, person: &str) -> Option<usize> {
    org.cadres
        .iter()
        .position(|c| c.submitter.person.to_string() == person)
}

/// Cadres are drawn during working hours; a demo loaded at night says why it cannot wait.
fn emergency_reason(state: &AppState) -> Option<String> {
    let hour = state.clock.now().to_offset(COUNTY_OFFSET).hour();
    (!(8..20).contains(&hour)).then(|| "演示数据在工作时段以外载入，抽查随载入即时发起".to_owned())
}

async fn draw_cadres(
    state: &AppState,
    org: &Org,
    size: usize,
    checks: &mut Checks,
) -> Result<Vec<(String, String)>, ApiError> {
    let draw = state
        .writer
        .draw(
            org.county_supervisor.clone(),
            NewDraw {
                unit_code: UnitCode::parse(COUNTY.0).map_err(internal)?,
                population: Population::Cadres,
                size,
                period: None,
                purpose: Some("不定期电话抽查".into()),
                emergency_reason: emergency_reason(state),
            },
        )
        .await?;
    checks.draws += 1;
    let challenges = challenges_of(&draw);
    checks.challenges += challenges.len();
    Ok(challenges)
}

/// Earlier in the month, at `at`: answers after 12 and 18 minutes, one left to be missed, one
/// answered late. A cadre who was not in the village that day does not answer.
pub(super) async fn past_cadre_round(
    state: &AppState,
    org: &Org,
    plan: &Plan,
    today: Date,
    at: Moment,
    machine: &TimeMachine,
    checks: &mut Checks,
) -> Result<(), ApiError> {
    let later = |minutes| Moment {
        minute: at.minute + minutes,
        ..at
    };
    let challenges = draw_cadres(state, org, 4, checks).await?;
    let in_village = |cadre: usize| {
        plan.steps
            .iter()
            .any(|s| s.key.cadre == cadre && s.key.day == at.day)
    };
    let answering: Vec<(usize, &(String, String), u32)> = challenges
        .iter()
        .zip([Some(12), Some(18), None, Some(55)])
        .filter_map(|(challenge, after)| {
            let cadre = cadre_index(org, &challenge.1)?;
            Some((cadre, challenge, after?)).filter(|_| in_village(cadre))
        })
        .collect();
    let mut expired = false;
    for (n, (cadre, (challenge, _), after)) in answering.into_iter().enumerate() {
        if after > 30 && !expired {
            machine.travel(instant(today, later(31), 0));
            state.writer.expire_challenges().await?;
            expired = true;
        }
        machine.travel(instant(today, later(after), 7));
        let key = Key {
            cadre,
            day: at.day,
            slot: 150 + u8::try_from(n).unwrap_or(0),
        };
        answer(state, org, challenge, cadre, fix_at(key, Place::Village)).await?;
        checks.answered += 1;
    }
    if !expired {
        machine.travel(instant(today, later(31), 0));
        state.writer.expire_challenges().await?;
    }
    Ok(())
}

/// Households visited in the month with most of the demo's days, drawn at `at`; the first
/// confirms the visits, the second denies them, the others are still to be visited.
pub(super) async fn past_household_round(
    state: &AppState,
    org: &Org,
    today: Date,
    at: Moment,
    machine: &TimeMachine,
    checks: &mut Checks,
) -> Result<(), ApiError> {
    let actor = org.county_supervisor.clone();
    let draw = state
        .writer
        .draw(
            actor.clone(),
            NewDraw {
                unit_code: UnitCode::parse(COUNTY.0).map_err(internal)?,
                population: Population::VisitedHouseholds,
                size: 4,
                period: Some(Period::month_of(today - Duration::days(15))),
                purpose: Some("随机入户核查".into()),
                emergency_reason: None,
            },
        )
        .await?;
    checks.draws += 1;
    let draw_id = draw["id"]
        .as_str()
        .and_then(|id| uuid::Uuid::parse_str(id).ok());
    let said = [
        (
            15,
            Verification::Confirmed,
            "户主确认驻村干部本月多次上门走访",
        ),
        (40, Verification::Denied, "户主称本月没有见到驻村干部上门"),
    ];
    for (household, (after, result, note)) in strings(&draw["sample"]).iter().zip(said) {
        let Some(found) = org
            .households
            .iter()
            .flatten()
            .find(|h| h.id.to_string() == *household)
        else {
            continue;
        };
        machine.travel(instant(
            today,
            Moment {
                minute: at.minute + after,
                ..at
            },
            0,
        ));
        let (lon, lat) = household_location(found.village, found.index);
        let position = Fix {
            lon,
            lat,
            accuracy: 15.0,
            mock: false,
        };
        let mut member = serde_json::Map::new();
        member.insert("position".into(), position.json());
        let fix = parse_position_member(&member, true)
            .map_err(ApiError::Invalid)?
            .ok_or_else(|| internal("the supervisor's fix"))?;
        let verification = NewVerification {
            household: found.id,
            result,
            note: Some(note.into()),
            fix,
            captured_at: state.clock.now(),
            draw_id,
        };
        state
            .writer
            .verify_household(actor.clone(), verification)
            .await?;
        checks.verifications += 1;
    }
    Ok(())
}

/// Now: a draw whose challenges are open, two answered at once (from the village, and from the
/// neighbouring village: absent), and a check by phone of someone the draw did not pick.
pub(super) async fn today_round(
    state: &AppState,
    org: &Org,
    checks: &mut Checks,
) -> Result<(), ApiError> {
    let challenges = draw_cadres(state, org, 6, checks).await?;
    for (n, (challenge, person)) in challenges.iter().take(2).enumerate() {
        let cadre = cadre_index(org, person)
            .ok_or_else(|| internal(format!("challenge for unknown person {person}")))?;
        let key = Key {
            cadre,
            day: 0,
            slot: 160 + u8::try_from(n).unwrap_or(0),
        };
        let place = if n == 0 {
            Place::Village
        } else {
            Place::Neighbour
        };
        answer(state, org, challenge, cadre, fix_at(key, place)).await?;
        checks.answered += 1;
    }
    let drawn: Vec<&str> = challenges.iter().map(|(_, p)| p.as_str()).collect();
    if let Some(cadre) = org
        .cadres
        .iter()
        .find(|c| !drawn.contains(&c.submitter.person.to_string().as_str()))
    {
        let outcome = NewOutcome {
            person: cadre.submitter.person,
            method: Method::Phone,
            outcome: Outcome::Present,
            note: Some("电话抽查：正在村部接待群众，情况属实".into()),
            fix: None,
            captured_at: None,
        };
        state
            .writer
            .record_outcome(org.county_supervisor.clone(), outcome)
            .await?;
    }
    Ok(())
}

/// The cadre's answer to a challenge: a fresh check-in carrying the challenge's nonce, exactly as
/// `POST /v1/challenges/{id}/responses` builds it.
async fn answer(
    state: &AppState,
    org: &Org,
    challenge: &str,
    cadre: usize,
    fix: Fix,
) -> Result<(), ApiError> {
    let who = org
        .cadres
        .get(cadre)
        .ok_or_else(|| internal(format!("no cadre {cadre}")))?;
    let person = who.submitter.person.to_string();
    let now = unix_micros(state.clock.now());
    let open = read(&state.db, move |conn| {
        fieldtrail_storage::spot_checks::open_challenges_of(conn, &person, now)
    })
    .await?;
    let nonce = open
        .iter()
        .find(|c| c["id"].as_str() == Some(challenge))
        .and_then(|c| c["nonce"].as_str())
        .ok_or_else(|| internal(format!("no nonce for challenge {challenge}")))?
        .to_owned();
    let record = json!({
        "id": uuid::Uuid::now_v7().to_string(),
        "kind": "check_in",
        "captured_at": rfc3339(state.clock.now()),
        "device_id": who.device,
        "position": fix.json(),
        "note": format!("answer to spot-check challenge {challenge}"),
    });
    let submission = parse_record(&record, "", state.clock.now()).map_err(ApiError::Invalid)?;
    let answer = ChallengeAnswer::new(challenge.to_owned(), nonce, submission)?;
    state
        .writer
        .answer_challenge(who.submitter.clone(), answer)
        .await?;
    Ok(())
}
