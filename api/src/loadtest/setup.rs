//! Brings the generated organisation onto a server through the public API, creating only what
//! is missing (units and people can never be changed or removed once in the ledger, so a second
//! run must find and reuse them), then logs every cadre in.
//!
//! What counts as existing: a unit whose code the server knows; a cadre who can log in with
//! the generated username and password; an assignment or pairing the server lists for that
//! cadre. A cadre already assigned elsewhere keeps that village: the server's state wins over
//! this run's plan.

use super::http::{Answer, Client, HttpError, Target};
use super::org::{self, CadrePlan, Organisation, UnitPlan};
use super::stats::SetupCounts;
use base64::Engine;
use hyper::Method;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Units per import request: keeps bodies far below the 32 MiB limit whatever the size.
const IMPORT_CHUNK: usize = 200;
/// Connections used while setting up; logins hash passwords, so more would only queue.
const SETUP_CONNECTIONS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{what}: {source}")]
    Transport { what: String, source: HttpError },
    #[error("{what}: the server answered {status}: {body}")]
    Refused {
        what: String,
        status: u16,
        body: String,
    },
    #[error("{0}")]
    Unexpected(String),
}

/// A cadre ready to send: logged in, with its village and paired households as the server has
/// them.
#[derive(Debug, Clone)]
pub struct ReadyCadre {
    pub index: usize,
    pub person_id: String,
    pub token: String,
    pub village: UnitPlan,
    pub device_id: String,
    pub households: Vec<ReadyHousehold>,
}

#[derive(Debug, Clone)]
pub struct ReadyHousehold {
    pub id: String,
    pub lon: f64,
    pub lat: f64,
}

#[derive(Default)]
struct Counters {
    units: AtomicU64,
    people: AtomicU64,
    assignments: AtomicU64,
    households: AtomicU64,
    pairings: AtomicU64,
}

async fn call(
    client: &mut Client,
    what: impl Fn() -> String,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<Answer, SetupError> {
    client
        .json(method, path, token, body)
        .await
        .map_err(|source| SetupError::Transport {
            what: what(),
            source,
        })
}

fn refused(what: String, answer: &Answer) -> SetupError {
    SetupError::Refused {
        what,
        status: answer.status,
        body: answer.excerpt(),
    }
}

/// Logs in; None when the server refuses the credentials (401).
async fn login(
    client: &mut Client,
    username: &str,
    password: &str,
) -> Result<Option<String>, SetupError> {
    let what = || format!("logging in as {username}");
    let body = json!({"username": username, "password": password});
    let answer = call(
        client,
        what,
        Method::POST,
        "/v1/auth/login",
        None,
        Some(&body),
    )
    .await?;
    match answer.status {
        200 => answer.json()["access_token"]
            .as_str()
            .map(|t| Some(t.to_owned()))
            .ok_or_else(|| SetupError::Unexpected(format!("{}: no access_token", what()))),
        401 => Ok(None),
        _ => Err(refused(what(), &answer)),
    }
}

/// The person id a token was issued to (its `sub` claim). The token's signature is the
/// server's business; the id is only used to address the cadre's own resources.
fn token_subject(token: &str) -> Option<String> {
    let claims = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims["sub"].as_str().map(str::to_owned)
}

/// Logs the admin in, creates the missing units, people, assignments, households and pairings
/// and logs every cadre in. `progress` is told how many cadres are ready.
pub async fn prepare(
    target: &Target,
    admin: &str,
    admin_password: &str,
    organisation: Arc<Organisation>,
    progress: impl Fn(u64) + Send + Sync + 'static,
) -> Result<(Vec<ReadyCadre>, SetupCounts), SetupError> {
    let started = std::time::Instant::now();
    let mut client = Client::new(target.clone());
    let admin_token = login(&mut client, admin, admin_password)
        .await?
        .ok_or_else(|| SetupError::Refused {
            what: format!("logging in as {admin}"),
            status: 401,
            body: "invalid username or password".into(),
        })?;
    let counters = Arc::new(Counters::default());
    import_missing_units(&mut client, &admin_token, &organisation, &counters).await?;
    lift_device_limit(&mut client, &admin_token, &organisation).await?;

    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(progress);
    let admin_token = Arc::new(admin_token);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..SETUP_CONNECTIONS.min(organisation.cadres.len().max(1)) {
        let (org, next, done, progress, counters, token) = (
            organisation.clone(),
            next.clone(),
            done.clone(),
            progress.clone(),
            counters.clone(),
            admin_token.clone(),
        );
        let mut client = Client::new(target.clone());
        workers.spawn(async move {
            let mut ready = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(plan) = org.cadres.get(i) else {
                    break;
                };
                let cadre = prepare_cadre(&mut client, &token, &org, plan, &counters).await?;
                ready.push(cadre);
                progress(done.fetch_add(1, Ordering::Relaxed) + 1);
            }
            Ok::<_, SetupError>(ready)
        });
    }
    let mut cadres = Vec::with_capacity(organisation.cadres.len());
    while let Some(joined) = workers.join_next().await {
        let ready = joined.map_err(|err| SetupError::Unexpected(err.to_string()))??;
        cadres.extend(ready);
    }
    cadres.sort_by_key(|c| c.index);
    let counts = SetupCounts {
        units_created: counters.units.load(Ordering::Relaxed),
        people_created: counters.people.load(Ordering::Relaxed),
        assignments_created: counters.assignments.load(Ordering::Relaxed),
        households_created: counters.households.load(Ordering::Relaxed),
        pairings_created: counters.pairings.load(Ordering::Relaxed),
        seconds: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    };
    Ok((cadres, counts))
}

/// Each simulated cadre sends hundreds of requests a second from one device, far beyond what
/// a phone does and what the per-device limit (policy `max_submissions_per_device_minute`)
/// allows; the organisation's root policy lifts it to the highest value the policy takes, so
/// that the load measures the write path and not the limit. Its own units only: nothing else
/// on the server changes.
async fn lift_device_limit(
    client: &mut Client,
    token: &str,
    organisation: &Organisation,
) -> Result<(), SetupError> {
    let Some(root) = organisation.units.first() else {
        return Ok(());
    };
    let what = || format!("lifting the device limit of {}", root.code);
    let path = format!("/v1/units/{}/policy", root.code);
    let body = json!({"max_submissions_per_device_minute": 100_000});
    let answer = call(client, what, Method::PUT, &path, Some(token), Some(&body)).await?;
    if answer.status != 200 {
        return Err(refused(what(), &answer));
    }
    Ok(())
}

/// The codes of `parent`'s children the server lists.
async fn children(
    client: &mut Client,
    token: &str,
    parent: &str,
) -> Result<HashSet<String>, SetupError> {
    let what = || format!("listing the children of unit {parent}");
    let answer = call(
        client,
        what,
        Method::GET,
        &format!("/v1/units/{parent}/children"),
        Some(token),
        None,
    )
    .await?;
    if answer.status != 200 {
        return Err(refused(what(), &answer));
    }
    Ok(answer.json()["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

async fn import_missing_units(
    client: &mut Client,
    token: &str,
    organisation: &Organisation,
    counters: &Counters,
) -> Result<(), SetupError> {
    // Walk down from the roots: a child can only exist where its parent does.
    let mut existing = HashSet::new();
    for county in organisation
        .units
        .iter()
        .filter(|u| u.parent_code.is_none())
    {
        let what = || format!("looking up unit {}", county.code);
        let answer = call(
            client,
            what,
            Method::GET,
            &format!("/v1/units/{}", county.code),
            Some(token),
            None,
        )
        .await?;
        match answer.status {
            200 => {
                existing.insert(county.code.clone());
            }
            404 => {}
            _ => return Err(refused(what(), &answer)),
        }
    }
    for level in ["county", "township"] {
        let parents: Vec<&UnitPlan> = organisation
            .units
            .iter()
            .filter(|u| u.level == level && existing.contains(&u.code))
            .collect();
        for parent in parents {
            let found = children(client, token, &parent.code).await?;
            existing.extend(found);
        }
    }
    let missing: Vec<&UnitPlan> = organisation
        .units
        .iter()
        .filter(|u| !existing.contains(&u.code))
        .collect();
    // Units come parents first, so every chunk's parents are stored or in the chunk itself.
    for chunk in missing.chunks(IMPORT_CHUNK) {
        let body = json!({
            "type": "FeatureCollection",
            "features": chunk.iter().map(|u| u.feature()).collect::<Vec<_>>(),
        });
        let what = || format!("importing {} units", chunk.len());
        let answer = call(
            client,
            what,
            Method::POST,
            "/v1/units/import",
            Some(token),
            Some(&body),
        )
        .await?;
        if answer.status != 201 {
            return Err(refused(what(), &answer));
        }
        counters
            .units
            .fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
    Ok(())
}

async fn prepare_cadre(
    client: &mut Client,
    admin: &str,
    organisation: &Organisation,
    plan: &CadrePlan,
    counters: &Counters,
) -> Result<ReadyCadre, SetupError> {
    let username = &plan.username;
    // Asked of the admin first, not by trying to log in: a failed login per new cadre would
    // count against this address and lock the setup out (the login rate limit).
    let exists = {
        let what = || format!("looking up cadre {username}");
        let path = format!("/v1/people?role=cadre&q={username}");
        let answer = call(client, what, Method::GET, &path, Some(admin), None).await?;
        if answer.status != 200 {
            return Err(refused(what(), &answer));
        }
        String::from_utf8_lossy(&answer.body).contains(&format!("\"username\":\"{username}\""))
    };
    let existing = if exists {
        login(client, username, org::CADRE_PASSWORD).await?
    } else {
        None
    };
    let token = match existing {
        Some(token) => token,
        None if exists => {
            return Err(SetupError::Unexpected(format!(
                "{username} exists but does not accept the load-test password; \
                 it was not made by fieldtrail loadtest"
            )))
        }
        None => {
            let body = json!({
                "username": username,
                "password": org::CADRE_PASSWORD,
                "display_name": plan.display_name,
                "role": "cadre",
                "unit_code": plan.village,
                "phone": plan.phone,
            });
            let what = || format!("creating cadre {username}");
            let answer = call(
                client,
                what,
                Method::POST,
                "/v1/people",
                Some(admin),
                Some(&body),
            )
            .await?;
            match answer.status {
                201 => {}
                409 => {
                    return Err(SetupError::Unexpected(format!(
                        "{username} exists but does not accept the load-test password; \
                         it was not made by fieldtrail loadtest"
                    )))
                }
                _ => return Err(refused(what(), &answer)),
            }
            counters.people.fetch_add(1, Ordering::Relaxed);
            login(client, username, org::CADRE_PASSWORD)
                .await?
                .ok_or_else(|| {
                    SetupError::Unexpected(format!("{username} was created but cannot log in"))
                })?
        }
    };
    let person_id = token_subject(&token)
        .ok_or_else(|| SetupError::Unexpected(format!("the token of {username} has no subject")))?;

    let village_code = assigned_village(client, admin, &person_id, plan, counters).await?;
    let village = match organisation.unit(&village_code) {
        Some(unit) => unit.clone(),
        None => org::village_index(&village_code)
            .map(org::village)
            .ok_or_else(|| {
                SetupError::Unexpected(format!(
                    "{username} is assigned to {village_code}, which is not a generated village"
                ))
            })?,
    };
    let households = paired_households(
        client,
        admin,
        &person_id,
        plan.index,
        &village.code,
        organisation.spec.households_per_cadre,
        counters,
    )
    .await?;
    Ok(ReadyCadre {
        index: plan.index,
        person_id,
        token,
        village,
        device_id: plan.device_id.clone(),
        households,
    })
}

/// The village the cadre is assigned to, assigning the planned one if there is none.
async fn assigned_village(
    client: &mut Client,
    admin: &str,
    person_id: &str,
    plan: &CadrePlan,
    counters: &Counters,
) -> Result<String, SetupError> {
    let what = || format!("listing the assignments of {}", plan.username);
    let answer = call(
        client,
        what,
        Method::GET,
        &format!("/v1/people/{person_id}/assignments"),
        Some(admin),
        None,
    )
    .await?;
    if answer.status != 200 {
        return Err(refused(what(), &answer));
    }
    if let Some(code) = answer.json()["items"]
        .as_array()
        .and_then(|items| items.first())
        .and_then(|first| first["unit_code"].as_str().map(str::to_owned))
    {
        return Ok(code);
    }
    let body = json!({
        "person_id": person_id,
        "unit_code": plan.village,
        "role": plan.assignment_role,
        "valid_from": plan.valid_from,
    });
    let what = || format!("assigning {} to {}", plan.username, plan.village);
    let answer = call(
        client,
        what,
        Method::POST,
        "/v1/assignments",
        Some(admin),
        Some(&body),
    )
    .await?;
    if answer.status != 201 {
        return Err(refused(what(), &answer));
    }
    counters.assignments.fetch_add(1, Ordering::Relaxed);
    Ok(plan.village.clone())
}

/// The cadre's paired households in pairing order, creating and pairing the missing ones.
async fn paired_households(
    client: &mut Client,
    admin: &str,
    person_id: &str,
    cadre: usize,
    village: &str,
    wanted: usize,
    counters: &Counters,
) -> Result<Vec<ReadyHousehold>, SetupError> {
    let what = || format!("listing the pairings of cadre {}", cadre + 1);
    let answer = call(
        client,
        what,
        Method::GET,
        &format!("/v1/people/{person_id}/pairings"),
        Some(admin),
        None,
    )
    .await?;
    if answer.status != 200 {
        return Err(refused(what(), &answer));
    }
    let paired: Vec<String> = answer.json()["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|p| p["household_id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    // Pairings are listed in the order they were made, which is the plan's order, so the k-th
    // one is the k-th planned household and its location is known without another request.
    let planned = org::households_of(cadre, village, wanted.max(paired.len()));
    let mut ready = Vec::with_capacity(planned.len());
    for (household, existing) in planned
        .iter()
        .zip(paired.into_iter().map(Some).chain(std::iter::repeat(None)))
    {
        let id = match existing {
            Some(id) => id,
            None => {
                let what = || format!("creating a household for cadre {}", cadre + 1);
                let answer = call(
                    client,
                    what,
                    Method::POST,
                    "/v1/households",
                    Some(admin),
                    Some(&household.body()),
                )
                .await?;
                if answer.status != 201 {
                    return Err(refused(what(), &answer));
                }
                counters.households.fetch_add(1, Ordering::Relaxed);
                let id = answer.json()["id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| SetupError::Unexpected(format!("{}: no id", what())))?;
                let body = json!({
                    "person_id": person_id,
                    "household_id": id,
                    "valid_from": org::VALID_FROM,
                });
                let what = || format!("pairing cadre {} with a household", cadre + 1);
                let answer = call(
                    client,
                    what,
                    Method::POST,
                    "/v1/pairings",
                    Some(admin),
                    Some(&body),
                )
                .await?;
                if answer.status != 201 {
                    return Err(refused(what(), &answer));
                }
                counters.pairings.fetch_add(1, Ordering::Relaxed);
                id
            }
        };
        ready.push(ReadyHousehold {
            id,
            lon: household.lon,
            lat: household.lat,
        });
    }
    Ok(ready)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_is_read_from_the_claims() {
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"sub":"0190f1a4-3c55-7d2e-9e1f-2a5b7c9d0e11","exp":1}"#);
        assert_eq!(
            token_subject(&format!("x.{claims}.y")).as_deref(),
            Some("0190f1a4-3c55-7d2e-9e1f-2a5b7c9d0e11")
        );
        assert_eq!(token_subject("no-dots"), None);
    }
}
