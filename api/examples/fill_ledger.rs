//! Grows a fieldtrail ledger quickly, through the real append path, so `scripts/bench` can
//! measure at millions of entries: the loadtest organisation, then a year of realistic records
//! per cadre, appended in batches straight to the ledger writer.
//!
//!   cargo run --release -p fieldtrail-api --example fill_ledger -- --data-dir DIR
//!       [--database-url URL] [--entries N] [--cadres 2000] [--villages 600]
//!       [--households-per-cadre 3] [--records-per-cadre 5000] [--batch 500] [--in-flight 32]
//!
//! It opens the data directory as `fieldtrail serve` does (`open_state`: keys, migrations, the
//! writer with the log key), so run it while no server runs on that database. Then:
//!
//! 1. The organisation, made exactly as `fieldtrail loadtest`'s setup would make it
//!    (`loadtest::org` plans: unit codes, usernames with `CADRE_PASSWORD`, each cadre's first
//!    assignment to its village, households paired in `HouseholdPlan::index` order), creating
//!    only what is missing, so a later `fieldtrail loadtest --cadres K` against a server on
//!    this data dir reuses it. Writes go in as the operator (like `fieldtrail demo`); the
//!    password is hashed once and the hash reused, since every cadre has the same one.
//! 2. Records, until the ledger holds at least N entries (default: only the organisation):
//!    cadre after cadre, each given `--records-per-cadre` records over one year, oldest first,
//!    during county working hours (07:30–21:30, about every hour at 5,000 a year), made by the
//!    load generator's own record writer (`loadtest::traffic`: the default mix of check-ins,
//!    household visits and daily logs, positions by ten-minute stays inside, near and outside
//!    the village and at households). Each batch of `--batch` records of one cadre is one
//!    `Writer::append_batch`, parsed by the same `parse_record` as `POST /v1/records/batch`;
//!    `--in-flight` cadres are filled at once, so the writer's groups fill up (it commits up
//!    to 8,192 records per group).
//!
//! Resumable: the year (365 county days ending two days before the first run) is fixed at the
//! first run (`DIR/bench-fill.json`); a cadre's records are counted within it, and filling continues where it stopped. So running again with a
//! larger N grows the same ledger (1M, then 10M), and records other clients send later (they
//! are captured "now", after the year) do not count. The server stamps every record as
//! received now, so these records carry the `late_sync` flag: a year synced today.
//!
//! Prints progress on stderr and, at the end, one JSON object on stdout:
//!   {"entries_before":…, "entries_after":…, "records_appended":…, "record_errors":…,
//!    "fill_seconds":…, "entries_per_s":…, "setup_seconds":…, "created":{…}, "cadres":…,
//!    "records_per_cadre":…, "year":{"from":…, "to":…}}
//! where entries_per_s is (entries_after − entries_before) / fill_seconds, the records only.

use bytes::Bytes;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use fieldtrail_api::auth::hash_password;
use fieldtrail_api::config::Config;
use fieldtrail_api::loadtest::org::{
    self, households_of, CadrePlan, OrgSpec, Organisation, UnitPlan,
};
use fieldtrail_api::loadtest::places::VillageGeo;
use fieldtrail_api::loadtest::setup::{ReadyCadre, ReadyHousehold};
use fieldtrail_api::loadtest::traffic::{CadreTraffic, Generator};
use fieldtrail_api::loadtest::Mix;
use fieldtrail_domain::canonical::unix_micros;
use fieldtrail_domain::geo::{Position, ToleranceMeters};
use fieldtrail_domain::person::{DisplayName, PersonId, Phone, Role, Username};
use fieldtrail_domain::roster::{format_date, parse_date, AssignmentRole, ValidPeriod};
use fieldtrail_domain::submission::parse_record;
use fieldtrail_domain::unit::{UnitCode, UnitName, UnitPath};
use fieldtrail_storage::writer::{
    Actor, BatchItem, NewAssignment, NewHousehold, NewPairing, NewPerson, NewUnit, Submitter,
};
use fieldtrail_storage::{reads, Database, DbConnection, Writer};
use hyper::header::HeaderValue;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use time::{Date, Duration, OffsetDateTime, UtcOffset};
use tokio::task::JoinSet;

/// Units per import request, as loadtest's setup sends them.
const IMPORT_CHUNK: usize = 200;
/// Admin writes awaited at once while setting up: enough to fill the writer's groups, well
/// within its queue.
const SETUP_IN_FLIGHT: usize = 1024;
const YEAR_DAYS: i64 = 365;
/// The year's last county day is this many days before the first run's, so that nothing
/// another client sends later (captured a few seconds, or a batch's eight hours, before it is
/// sent) falls inside it.
const YEAR_ENDS_DAYS_BEFORE: i64 = 2;
/// Records are captured between 07:30 and 21:30 county time.
const WORKDAY_START: Duration = Duration::minutes(7 * 60 + 30);
const WORKDAY: Duration = Duration::hours(14);
const CHINA: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

struct Options {
    data_dir: PathBuf,
    database_url: Option<String>,
    entries: i64,
    spec: OrgSpec,
    records_per_cadre: usize,
    batch: usize,
    in_flight: usize,
}

const USAGE: &str = "usage: --data-dir DIR [--database-url URL] [--entries N] [--cadres 2000] \
     [--villages 600] [--households-per-cadre 3] [--records-per-cadre 5000] [--batch 500] \
     [--in-flight 32]";

fn options() -> Result<Options, String> {
    let mut o = Options {
        data_dir: PathBuf::new(),
        database_url: None,
        entries: 0,
        spec: OrgSpec {
            villages: 600,
            cadres: 2000,
            households_per_cadre: 3,
        },
        records_per_cadre: 5000,
        batch: 500,
        in_flight: 32,
    };
    let mut data_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--data-dir" => data_dir = Some(PathBuf::from(value()?)),
            "--database-url" => o.database_url = Some(value()?),
            "--entries" => o.entries = number(&arg, value()?)?,
            "--cadres" => o.spec.cadres = number(&arg, value()?)?,
            "--villages" => o.spec.villages = number(&arg, value()?)?,
            "--households-per-cadre" => o.spec.households_per_cadre = number(&arg, value()?)?,
            "--records-per-cadre" => o.records_per_cadre = number(&arg, value()?)?,
            "--batch" => o.batch = number(&arg, value()?)?,
            "--in-flight" => o.in_flight = number(&arg, value()?)?,
            _ => return Err(format!("unknown argument {arg}; {USAGE}")),
        }
    }
    o.data_dir = data_dir.ok_or(format!("--data-dir is required; {USAGE}"))?;
    if o.spec.cadres == 0 || o.spec.villages == 0 {
        return Err("--cadres and --villages must be at least 1".into());
    }
    if !(1..=500).contains(&o.batch) || o.in_flight == 0 {
        return Err("--batch must be 1 to 500 and --in-flight at least 1".into());
    }
    o.spec.households_per_cadre = o
        .spec
        .households_per_cadre
        .min(org::MAX_HOUSEHOLDS_PER_CADRE);
    Ok(o)
}

fn number<T: std::str::FromStr>(arg: &str, raw: String) -> Result<T, String> {
    raw.parse()
        .map_err(|_| format!("{arg}: not a number: {raw}"))
}

fn main() -> ExitCode {
    let result = options().and_then(|options| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(run(options))
    });
    match result {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("fill_ledger: {message}");
            ExitCode::FAILURE
        }
    }
}

fn text<E: std::fmt::Display>(err: E) -> String {
    err.to_string()
}

/// Runs a read on a pooled connection off the async threads.
async fn read<T, F>(db: &Database, f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, String> + Send + 'static,
{
    let db = db.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = db.conn().map_err(text)?;
        f(&mut conn)
    })
    .await
    .map_err(text)?
}

/// Awaits every task, failing with the first error.
async fn join_all<T: 'static>(mut set: JoinSet<Result<T, String>>) -> Result<Vec<T>, String> {
    let mut out = Vec::with_capacity(set.len());
    while let Some(joined) = set.join_next().await {
        out.push(joined.map_err(text)??);
    }
    Ok(out)
}

async fn run(o: Options) -> Result<Value, String> {
    let mut config = Config::new(&o.data_dir);
    config.database_url = o.database_url.clone();
    let state = fieldtrail_api::open_state(&config).map_err(text)?;
    let (db, writer) = (state.db.clone(), state.writer.clone());
    let first_day = first_day(&o.data_dir)?;
    // The year as instants: its first county day's midnight to the midnight after its last.
    let year_start = first_day.midnight().assume_offset(CHINA);
    let year_end = year_start + Duration::days(YEAR_DAYS);

    let setup_started = Instant::now();
    let organisation = Arc::new(Organisation::generate(o.spec));
    let mut created = Created::default();
    import_units(&db, &writer, &organisation, &mut created).await?;
    let cadres = prepare_cadres(&db, &writer, &organisation, &mut created).await?;
    let setup_seconds = setup_started.elapsed().as_secs_f64();
    eprintln!(
        "fill_ledger: organisation ready in {setup_seconds:.1} s ({} cadres; created {created:?})",
        cadres.len()
    );

    let entries_before = read(&db, |c| reads::ledger_size(c).map_err(text)).await?;
    let wanted = (o.entries - entries_before).max(0);
    let counted =
        count_records(&db, &cadres, unix_micros(year_start), unix_micros(year_end)).await?;
    let work: Vec<(Arc<Cadre>, usize)> = cadres
        .into_iter()
        .zip(counted)
        .filter(|(_, n)| *n < o.records_per_cadre)
        .map(|(c, n)| (Arc::new(c), n))
        .collect();
    eprintln!(
        "fill_ledger: {entries_before} entries; appending {wanted} records over {} unfinished \
         cadres ({} records each, {} per batch, {} cadres in flight)",
        work.len(),
        o.records_per_cadre,
        o.batch,
        o.in_flight
    );

    let fill = Fill {
        writer,
        work,
        next: AtomicUsize::new(0),
        budget: AtomicI64::new(wanted),
        appended: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        geos: Mutex::new(HashMap::new()),
        records_per_cadre: o.records_per_cadre,
        batch: o.batch,
        year_start,
    };
    let fill = Arc::new(fill);
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..o.in_flight {
        let fill = fill.clone();
        workers.spawn(async move { fill.worker().await });
    }
    let progress = {
        let fill = fill.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(std::time::Duration::from_secs(15));
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let done = fill.appended.load(Ordering::Relaxed);
                eprintln!(
                    "fill_ledger: {done} records in {:.0} s ({:.0}/s)",
                    started.elapsed().as_secs_f64(),
                    done as f64 / started.elapsed().as_secs_f64()
                );
            }
        })
    };
    let finished = join_all(workers).await;
    progress.abort();
    finished?;
    let fill_seconds = started.elapsed().as_secs_f64();
    // Leave a signed checkpoint over what was filled, as a server would within 10 s.
    fill.writer.checkpoint().await.map_err(text)?;
    let entries_after = read(&db, |c| reads::ledger_size(c).map_err(text)).await?;
    let record_errors = fill.errors.load(Ordering::Relaxed);
    let grown = entries_after - entries_before;
    // The checkpoint entry is no record; rates count what the batches appended.
    let rate = if fill_seconds > 0.0 {
        fill.appended.load(Ordering::Relaxed) as f64 / fill_seconds
    } else {
        0.0
    };
    eprintln!(
        "fill_ledger: {entries_after} entries (+{grown}) in {fill_seconds:.1} s, {rate:.0} records/s"
    );
    Ok(json!({
        "entries_before": entries_before,
        "entries_after": entries_after,
        "records_appended": fill.appended.load(Ordering::Relaxed),
        "record_errors": record_errors,
        "fill_seconds": round1(fill_seconds),
        "entries_per_s": rate.round(),
        "setup_seconds": round1(setup_seconds),
        "created": created.to_json(),
        "cadres": o.spec.cadres,
        "villages": o.spec.villages,
        "records_per_cadre": o.records_per_cadre,
        "year": {
            "from": format_date(first_day),
            "to": format_date(first_day + Duration::days(YEAR_DAYS - 1)),
        },
    }))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The first county day of the filled year, fixed at the first run and kept in the data dir,
/// so that a later run continues the same year.
fn first_day(data_dir: &std::path::Path) -> Result<Date, String> {
    let path = data_dir.join("bench-fill.json");
    if let Ok(raw) = std::fs::read_to_string(&path) {
        let stored: Value = serde_json::from_str(&raw).map_err(|e| format!("{path:?}: {e}"))?;
        return stored["first_day"]
            .as_str()
            .and_then(|day| parse_date(day).ok())
            .ok_or(format!("{path:?}: no first_day"));
    }
    let today = OffsetDateTime::now_utc().to_offset(CHINA).date();
    let first = today - Duration::days(YEAR_ENDS_DAYS_BEFORE + YEAR_DAYS - 1);
    let body = json!({"first_day": format_date(first)});
    std::fs::write(&path, format!("{body}\n")).map_err(|e| format!("{path:?}: {e}"))?;
    Ok(first)
}

#[derive(Debug, Default)]
struct Created {
    units: usize,
    people: usize,
    assignments: usize,
    households: usize,
    pairings: usize,
}

impl Created {
    fn to_json(&self) -> Value {
        json!({
            "units": self.units, "people": self.people, "assignments": self.assignments,
            "households": self.households, "pairings": self.pairings,
        })
    }
}

fn new_unit(plan: &UnitPlan) -> Result<NewUnit, String> {
    Ok(NewUnit {
        pointer: format!("/units/{}", plan.code),
        code: UnitCode::parse(&plan.code).map_err(text)?,
        name: UnitName::parse(&plan.name).map_err(text)?,
        level: plan
            .unit_level()
            .ok_or("a generated unit without a level")?,
        parent_code: plan
            .parent_code
            .as_deref()
            .map(UnitCode::parse)
            .transpose()
            .map_err(text)?,
        boundary: Some(
            plan.boundary()
                .ok_or("a generated boundary that does not parse")?,
        ),
        tolerance: ToleranceMeters::parse(plan.tolerance_m).map_err(text)?,
    })
}

async fn import_units(
    db: &Database,
    writer: &Writer,
    organisation: &Arc<Organisation>,
    created: &mut Created,
) -> Result<(), String> {
    let codes: Vec<String> = organisation.units.iter().map(|u| u.code.clone()).collect();
    let exists = read(db, move |conn| {
        codes
            .iter()
            .map(|code| Ok(reads::unit(conn, code).map_err(text)?.is_some()))
            .collect::<Result<Vec<bool>, String>>()
    })
    .await?;
    // Parents come first in the plan, so every chunk's parents are stored or in the chunk.
    let missing: Vec<&UnitPlan> = organisation
        .units
        .iter()
        .zip(exists)
        .filter(|(_, exists)| !exists)
        .map(|(u, _)| u)
        .collect();
    for chunk in missing.chunks(IMPORT_CHUNK) {
        let units = chunk
            .iter()
            .map(|u| new_unit(u))
            .collect::<Result<Vec<_>, _>>()?;
        writer
            .import_units(Actor::operator(), units)
            .await
            .map_err(text)?;
        created.units += chunk.len();
    }
    Ok(())
}

/// A cadre ready to be filled: who they are to the writer, and the load generator's view.
struct Cadre {
    submitter: Submitter,
    ready: ReadyCadre,
}

/// Runs `make` for every element, at most [`SETUP_IN_FLIGHT`] awaited at once, in order.
async fn in_waves<T, R, F, Fut>(items: Vec<T>, make: F) -> Result<Vec<R>, String>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<R, String>> + Send + 'static,
{
    let mut out = Vec::with_capacity(items.len());
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let mut set = JoinSet::new();
        for (k, item) in items.by_ref().take(SETUP_IN_FLIGHT).enumerate() {
            let fut = make(item);
            set.spawn(async move { fut.await.map(|r| (k, r)) });
        }
        let mut wave = join_all(set).await?;
        wave.sort_by_key(|(k, _)| *k);
        out.extend(wave.into_iter().map(|(_, r)| r));
    }
    Ok(out)
}

async fn prepare_cadres(
    db: &Database,
    writer: &Writer,
    organisation: &Arc<Organisation>,
    created: &mut Created,
) -> Result<Vec<Cadre>, String> {
    let plans = organisation.cadres.clone();
    let usernames: Vec<String> = plans.iter().map(|p| p.username.clone()).collect();
    let lookup = usernames.clone();
    let existing = read(db, move |conn| {
        lookup
            .iter()
            .map(|u| Ok(reads::person_by_username(conn, u).map_err(text)?.is_some()))
            .collect::<Result<Vec<bool>, String>>()
    })
    .await?;
    let missing: Vec<CadrePlan> = plans
        .iter()
        .zip(&existing)
        .filter(|(_, exists)| !**exists)
        .map(|(p, _)| p.clone())
        .collect();
    if !missing.is_empty() {
        // One argon2 hash for everyone: they all have the same password, and hashing 2,000
        // times would take minutes for nothing.
        let hash = tokio::task::spawn_blocking(|| hash_password(org::CADRE_PASSWORD))
            .await
            .map_err(text)?
            .map_err(|e| format!("hashing the cadre password: {e:?}"))?;
        created.people += missing.len();
        in_waves(missing, |plan| {
            let (writer, hash) = (writer.clone(), hash.clone());
            async move {
                let person = NewPerson {
                    username: Username::parse(&plan.username).map_err(text)?,
                    password_hash: hash,
                    display_name: DisplayName::parse(&plan.display_name).map_err(text)?,
                    role: Role::Cadre,
                    unit_code: Some(UnitCode::parse(&plan.village).map_err(text)?),
                    phone: Some(Phone::parse(&plan.phone).map_err(text)?),
                    must_change_password: false,
                };
                writer
                    .create_person(Actor::operator(), person)
                    .await
                    .map_err(|e| format!("creating {}: {e}", plan.username))?;
                Ok(())
            }
        })
        .await?;
    }

    // Who they are now, and where each is assigned (the stored assignment wins, as in setup).
    let people = read(db, move |conn| {
        usernames
            .iter()
            .map(|u| {
                let row = reads::person_by_username(conn, u)
                    .map_err(text)?
                    .ok_or(format!("{u} vanished"))?;
                let assigned = reads::assignments_of(conn, &row.id).map_err(text)?;
                let village = assigned.first().map(|a| a.unit_code.clone());
                let paired: Vec<String> = reads::pairings_of(conn, &row.id)
                    .map_err(text)?
                    .iter()
                    .filter_map(|p| p["household_id"].as_str().map(str::to_owned))
                    .collect();
                Ok((row.id, row.unit_path, village, paired))
            })
            .collect::<Result<Vec<_>, String>>()
    })
    .await?;
    let period =
        ValidPeriod::new(parse_date(org::VALID_FROM).map_err(text)?, None).map_err(text)?;
    let unassigned: Vec<(String, CadrePlan)> = people
        .iter()
        .zip(&plans)
        .filter(|((_, _, village, _), _)| village.is_none())
        .map(|((id, ..), plan)| (id.clone(), plan.clone()))
        .collect();
    created.assignments += unassigned.len();
    in_waves(unassigned, |(id, plan)| {
        let writer = writer.clone();
        async move {
            let assignment = NewAssignment {
                person_id: PersonId::parse(&id).map_err(text)?,
                unit_code: UnitCode::parse(&plan.village).map_err(text)?,
                role: AssignmentRole::parse(plan.assignment_role).map_err(text)?,
                period,
            };
            writer
                .create_assignment(Actor::operator(), assignment)
                .await
                .map_err(|e| format!("assigning {}: {e}", plan.username))?;
            Ok(())
        }
    })
    .await?;

    let wanted = organisation.spec.households_per_cadre;
    let mut cadres: Vec<Cadre> = Vec::with_capacity(plans.len());
    for ((id, unit_path, village, paired), plan) in people.into_iter().zip(&plans) {
        let village_code = village.unwrap_or_else(|| plan.village.clone());
        let village = match organisation.unit(&village_code) {
            Some(unit) => unit.clone(),
            None => org::village_index(&village_code)
                .map(org::village)
                .ok_or(format!(
                    "{} is assigned to {village_code}, not a generated village",
                    plan.username
                ))?,
        };
        let households = paired
            .into_iter()
            .zip(households_of(plan.index, &village.code, wanted))
            .map(|(id, h)| ReadyHousehold {
                id,
                lon: h.lon,
                lat: h.lat,
            })
            .collect();
        cadres.push(Cadre {
            submitter: Submitter {
                person: PersonId::parse(&id).map_err(text)?,
                scope: UnitPath::from_stored(unit_path),
            },
            ready: ReadyCadre {
                index: plan.index,
                person_id: id,
                token: String::new(),
                village,
                device_id: plan.device_id.clone(),
                households,
            },
        });
    }

    // Households and their pairings, k-th household of every cadre in round k, so that each
    // cadre's pairings are made in the plan's order (setup reads the k-th as the k-th).
    for k in 0..wanted {
        let todo: Vec<(usize, PersonId, org::HouseholdPlan)> = cadres
            .iter()
            .enumerate()
            .filter(|(_, c)| c.ready.households.len() == k)
            .filter_map(|(i, c)| {
                households_of(c.ready.index, &c.ready.village.code, k + 1)
                    .pop()
                    .map(|h| (i, c.submitter.person, h))
            })
            .collect();
        created.households += todo.len();
        created.pairings += todo.len();
        let made = in_waves(todo, |(i, person, plan)| {
            let writer = writer.clone();
            async move {
                let household = NewHousehold {
                    unit_code: UnitCode::parse(&plan.village).map_err(text)?,
                    head_name: plan.head_name.clone(),
                    members: plan.members,
                    location: Position::parse(plan.lon, plan.lat).map_err(text)?,
                };
                let view = writer
                    .create_household(Actor::operator(), household)
                    .await
                    .map_err(|e| format!("creating a household: {e}"))?;
                let pairing = NewPairing {
                    person_id: person,
                    household_id: uuid::Uuid::parse_str(&view.id).map_err(text)?,
                    period,
                };
                writer
                    .create_pairing(Actor::operator(), pairing)
                    .await
                    .map_err(|e| format!("pairing a household: {e}"))?;
                Ok((
                    i,
                    ReadyHousehold {
                        id: view.id,
                        lon: plan.lon,
                        lat: plan.lat,
                    },
                ))
            }
        })
        .await?;
        for (i, household) in made {
            cadres[i].ready.households.push(household);
        }
    }
    Ok(cadres)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many records each cadre has captured within the filled year.
async fn count_records(
    db: &Database,
    cadres: &[Cadre],
    from: i64,
    to: i64,
) -> Result<Vec<usize>, String> {
    let ids: Vec<String> = cadres.iter().map(|c| c.ready.person_id.clone()).collect();
    read(db, move |conn| {
        ids.iter()
            .map(|id| {
                // Through records' (person_id, captured_at) index; the schema module is the
                // storage crate's own, so the query is spelt out per backend.
                let rows: Vec<Count> = match conn {
                    DbConnection::Sqlite(c) => diesel::sql_query(
                        "SELECT count(*) AS n FROM records \
                         WHERE person_id = ? AND captured_at >= ? AND captured_at < ?",
                    )
                    .bind::<Text, _>(id)
                    .bind::<BigInt, _>(from)
                    .bind::<BigInt, _>(to)
                    .load(c),
                    DbConnection::Postgres(c) => diesel::sql_query(
                        "SELECT count(*) AS n FROM records \
                         WHERE person_id = $1 AND captured_at >= $2 AND captured_at < $3",
                    )
                    .bind::<Text, _>(id)
                    .bind::<BigInt, _>(from)
                    .bind::<BigInt, _>(to)
                    .load(c),
                }
                .map_err(text)?;
                Ok(rows
                    .first()
                    .map_or(0, |r| usize::try_from(r.n).unwrap_or(0)))
            })
            .collect()
    })
    .await
}

struct Fill {
    writer: Writer,
    /// Unfinished cadres in index order, with how many records each already has.
    work: Vec<(Arc<Cadre>, usize)>,
    next: AtomicUsize,
    /// Records still to append; a batch claims its size before it is made.
    budget: AtomicI64,
    appended: AtomicU64,
    errors: AtomicU64,
    geos: Mutex<HashMap<String, Arc<VillageGeo>>>,
    records_per_cadre: usize,
    batch: usize,
    year_start: OffsetDateTime,
}

impl Fill {
    async fn worker(self: Arc<Self>) -> Result<(), String> {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some((cadre, done)) = self.work.get(i) else {
                return Ok(());
            };
            if !self.fill_cadre(cadre, *done).await? {
                return Ok(());
            }
        }
    }

    fn geo(&self, village: &UnitPlan) -> Arc<VillageGeo> {
        let mut geos = self.geos.lock().unwrap_or_else(|p| p.into_inner());
        geos.entry(village.code.clone())
            .or_insert_with(|| {
                let seed = org::village_index(&village.code).unwrap_or(0) as u64;
                Arc::new(VillageGeo::new(village, seed))
            })
            .clone()
    }

    /// When record `j` of a year of `n` is captured: its share of the year picks the day, and
    /// the rest of that share the moment within the day's working hours, with a per-cadre
    /// shift so that cadres do not all send at the same minute.
    fn captured_at(&self, cadre: usize, j: usize) -> OffsetDateTime {
        let n = self.records_per_cadre as f64;
        let shift = (org_hash(cadre as u64) % 1000) as f64 / 1000.0;
        let x = (j as f64 + shift) * YEAR_DAYS as f64 / n;
        let day = x.floor();
        let within = x - day;
        let midnight = self.year_start + Duration::days(day as i64);
        midnight + WORKDAY_START + Duration::seconds_f64(within * WORKDAY.as_seconds_f64())
    }

    /// Appends the cadre's missing records; false once the budget is spent.
    async fn fill_cadre(&self, cadre: &Cadre, done: usize) -> Result<bool, String> {
        let ready = &cadre.ready;
        let traffic = CadreTraffic::new(
            ready,
            HeaderValue::from_static("Bearer unused"),
            self.geo(&ready.village),
        );
        let seed = org_hash(ready.index as u64 ^ 0x6669_6c6c);
        // Single-record mode: each record is captured just before the `now` it is made for,
        // which lets every record of the year have its own time.
        let mut generator = Generator::new(vec![traffic], Mix::default(), None, 0.0, seed);
        let mut j = done;
        while j < self.records_per_cadre {
            let size = self.batch.min(self.records_per_cadre - j);
            let claimed = i64::try_from(size).unwrap_or(i64::MAX);
            if self.budget.fetch_sub(claimed, Ordering::AcqRel) <= 0 {
                return Ok(false);
            }
            let now = OffsetDateTime::now_utc();
            let mut items = Vec::with_capacity(size);
            for k in 0..size {
                let outgoing = generator.next(self.captured_at(ready.index, j + k));
                let record: Bytes = outgoing.body;
                generator.acknowledged(0, record.clone());
                let value: Value = serde_json::from_slice(&record).map_err(text)?;
                let pointer = format!("/records/{k}");
                let submission = parse_record(&value, &pointer, now)
                    .map_err(|problems| format!("a generated record is invalid: {problems:?}"))?;
                items.push(BatchItem {
                    index: k,
                    pointer,
                    submission,
                });
            }
            let results = self
                .writer
                .append_batch(cadre.submitter.clone(), items)
                .await
                .map_err(|e| format!("appending a batch: {e}"))?;
            let failed = results.iter().filter(|(_, r)| r.is_err()).count();
            if let Some((k, Err(err))) = results.iter().find(|(_, r)| r.is_err()) {
                if self.errors.fetch_add(failed as u64, Ordering::Relaxed) == 0 {
                    eprintln!("fill_ledger: a record was refused (item {k}): {err}");
                }
            }
            self.appended
                .fetch_add((results.len() - failed) as u64, Ordering::Relaxed);
            j += size;
        }
        Ok(true)
    }
}

/// The load generator's stable mix, for per-cadre seeds and shifts.
fn org_hash(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
