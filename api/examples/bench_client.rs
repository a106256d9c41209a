//! The small client side of `scripts/bench`, on the load generator's own HTTP/1.1 client
//! (`loadtest::http`: one keep-alive connection, no pool) and setup (`loadtest::setup`).
//!
//!   bench_client cadres --target URL --admin USER --admin-password PW --cadres N
//!       [--villages V] --out FILE
//!     Brings the loadtest organisation onto the server exactly as `fieldtrail loadtest` does
//!     (creating only what is missing), logs every cadre in and writes one line per cadre,
//!     `<token> <lon> <lat> <device id>` (the centre of the cadre's village), for the wrk
//!     script scripts/bench.d/checkin.lua.
//!
//!   bench_client reads --target URL --admin USER --admin-password PW --person USERNAME
//!       --from YYYY-MM-DD --to YYYY-MM-DD [--requests N] [--warmup W]
//!     Times three reads, each N times (default 500) after W untimed ones (default 20), one
//!     after another on one warm keep-alive connection, as the admin (who may read anyone):
//!       presence  GET /v1/people/{id}/presence?from=…&to=…  (the person's days in the range)
//!       records   GET /v1/people/{id}/records?from=…&to=…   (the first page, default limit)
//!       proof     GET /v1/ledger/proof/inclusion?seq=…&tree_size=…  (a fresh random seq each
//!                 time, against the size of the checkpoint served when the run starts)
//!     and prints one JSON object: for each, {"median_ms", "p99_ms", "max_ms", "n"} (exact
//!     order statistics of the N latencies, request written to answer read whole), plus what
//!     was read: the presence days, how many were present and how many records they count,
//!     the page's item count, the tree size. Any answer other than 200 is an error (exit status 1).
//!
//!   bench_client supervision --target URL --admin USER --admin-password PW --from YYYY-MM-DD
//!       --to YYYY-MM-DD [--person lt-cadre-0100] [--unit lt-01] [--month YYYY-MM]
//!       [--week YYYY-Www] [--presence-requests 200] [--county-requests 20] [--warmup 3]
//!       [--budget-seconds 120] [--timeout-seconds 60] [--save-dir DIR]
//!     The supervision reads of issue 11 (scripts/bench-supervision), each timed N times after
//!     W untimed ones on one warm keep-alive connection, as the admin: the person's presence
//!     over --from..--to (N = --presence-requests), then for the unit (N = --county-requests)
//!     compliance for the month and for the ISO week, and the month's bulletin as JSON, CSV and
//!     XLSX. --month defaults to the last whole calendar month inside --from..--to, --week to
//!     the last whole ISO week inside it. Prints one JSON object: for each read, either
//!     {"status": "ok", "path", "n", "first_ms", "mean_ms", "p50_ms", "p99_ms", "max_ms",
//!     "bytes", "goal_ms", "meets_goal"} plus what was read (days, rows, lines), or
//!     {"status": "missing", …} when the first answer is 404 (a route not there yet), or
//!     {"status": "error", "http"?, "detail"} for any other answer, a failed connection or no
//!     answer within --timeout-seconds; "meets_goal" compares the p50 with the goal (5 ms for
//!     presence, 500 ms for the unit's reads). A read that has taken --budget-seconds skips
//!     its remaining warm-ups, and stops after at least one timed answer ("cut_short": true,
//!     "n" says how many). With --save-dir, each read's first answer is written there as
//!     `<read>.json|csv|xlsx`. Exit status 1 only when logging in fails; a read that errs is
//!     reported, and the rest are still measured.

use bytes::Bytes;
use fieldtrail_api::loadtest::http::{bearer, Client, Target};
use fieldtrail_api::loadtest::org::{self, OrgSpec, Organisation};
use fieldtrail_api::loadtest::setup::prepare;
use hyper::header::HeaderValue;
use hyper::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use time::{Date, Duration, Month};

fn main() -> ExitCode {
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(run()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bench_client: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: bench_client cadres|reads|supervision --target URL --admin USER \
     --admin-password PW … (see the comment at the top of api/examples/bench_client.rs)";

async fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or(USAGE)?;
    let mut flags = HashMap::new();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        flags.insert(flag, value);
    }
    let get = |name: &str| {
        flags
            .get(name)
            .cloned()
            .ok_or(format!("{name} is required; {USAGE}"))
    };
    let number = |name: &str, default: usize| -> Result<usize, String> {
        flags.get(name).map_or(Ok(default), |raw| {
            raw.parse()
                .map_err(|_| format!("{name}: not a number: {raw}"))
        })
    };
    let target = Target::resolve(&get("--target")?)
        .await
        .map_err(|e| e.to_string())?;
    let (admin, password) = (get("--admin")?, get("--admin-password")?);
    match mode.as_str() {
        "cadres" => {
            let spec = OrgSpec {
                cadres: number("--cadres", 50)?,
                villages: number("--villages", 10)?,
                households_per_cadre: 3,
            };
            cadres(&target, &admin, &password, spec, &get("--out")?).await
        }
        "reads" => {
            let plan = ReadPlan {
                person: get("--person")?,
                from: get("--from")?,
                to: get("--to")?,
                requests: number("--requests", 500)?.max(1),
                warmup: number("--warmup", 20)?,
            };
            reads(&target, &admin, &password, &plan).await
        }
        "supervision" => {
            let from = day(&get("--from")?)?;
            let to = day(&get("--to")?)?;
            let plan = SupervisionPlan {
                person: flags
                    .get("--person")
                    .cloned()
                    .unwrap_or_else(|| org::cadre_username(99)),
                unit: flags
                    .get("--unit")
                    .cloned()
                    .unwrap_or_else(|| org::county_code(0)),
                month: match flags.get("--month") {
                    Some(month) => month.clone(),
                    None => last_whole_month(from, to)?,
                },
                week: match flags.get("--week") {
                    Some(week) => week.clone(),
                    None => last_whole_week(from, to)?,
                },
                from,
                to,
                presence_requests: number("--presence-requests", 200)?.max(1),
                county_requests: number("--county-requests", 20)?.max(1),
                pace: Pace {
                    warmup: number("--warmup", 3)?,
                    save_dir: flags.get("--save-dir").map(std::path::PathBuf::from),
                    budget: std::time::Duration::from_secs(number("--budget-seconds", 120)? as u64),
                    timeout: std::time::Duration::from_secs(
                        number("--timeout-seconds", 60)?.max(1) as u64,
                    ),
                },
            };
            supervision(&target, &admin, &password, &plan).await
        }
        _ => Err(USAGE.into()),
    }
}

async fn cadres(
    target: &Target,
    admin: &str,
    password: &str,
    spec: OrgSpec,
    out: &str,
) -> Result<(), String> {
    let organisation = Arc::new(Organisation::generate(spec));
    let (ready, _) = prepare(target, admin, password, organisation, |_| {})
        .await
        .map_err(|e| e.to_string())?;
    let mut lines = String::new();
    for cadre in &ready {
        let [lon, lat] = cadre.village.centre();
        let _ = writeln!(
            lines,
            "{} {lon:.6} {lat:.6} {}",
            cadre.token, cadre.device_id
        );
    }
    std::fs::write(out, lines).map_err(|e| format!("{out}: {e}"))
}

struct ReadPlan {
    person: String,
    from: String,
    to: String,
    requests: usize,
    warmup: usize,
}

async fn login(client: &mut Client, username: &str, password: &str) -> Result<String, String> {
    let body = json!({"username": username, "password": password});
    let answer = client
        .json(Method::POST, "/v1/auth/login", None, Some(&body))
        .await
        .map_err(|e| e.to_string())?;
    if answer.status != 200 {
        return Err(format!(
            "logging in as {username}: {} {}",
            answer.status,
            answer.excerpt()
        ));
    }
    answer.json()["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or(format!("logging in as {username}: no access_token"))
}

/// The person a token was issued to (its `sub` claim).
fn subject(token: &str) -> Option<String> {
    use base64::Engine;
    let claims = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims["sub"].as_str().map(str::to_owned)
}

/// Latencies of one kind of read, in milliseconds.
struct Timings(Vec<f64>);

impl Timings {
    fn summary(mut self) -> Value {
        self.0.sort_by(f64::total_cmp);
        let n = self.0.len();
        // Nearest-rank order statistics: the value at or above the share asked for.
        let rank = |q: f64| self.0[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        json!({
            "median_ms": round(rank(0.5)),
            "p99_ms": round(rank(0.99)),
            "max_ms": round(self.0[n - 1]),
            "n": n,
        })
    }
}

/// Sends `path` once on the warm connection; the latency in ms and the answer's JSON.
async fn timed_get(
    client: &mut Client,
    authorization: &HeaderValue,
    path: &str,
) -> Result<(f64, Value), String> {
    let path = client.target().path(path);
    let started = Instant::now();
    let answer = client
        .send(Method::GET, &path, Some(authorization), Bytes::new())
        .await
        .map_err(|e| format!("GET {path}: {e}"))?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if answer.status != 200 {
        return Err(format!(
            "GET {path}: {} {}",
            answer.status,
            answer.excerpt()
        ));
    }
    Ok((ms, answer.json()))
}

async fn reads(
    target: &Target,
    admin: &str,
    password: &str,
    plan: &ReadPlan,
) -> Result<(), String> {
    let mut client = Client::new(target.clone());
    let admin_token = login(&mut client, admin, password).await?;
    let person_token = login(&mut client, &plan.person, org::CADRE_PASSWORD).await?;
    let person = subject(&person_token).ok_or("the person's token has no subject")?;
    let authorization = bearer(&admin_token).map_err(|e| e.to_string())?;

    let presence_path = format!(
        "/v1/people/{person}/presence?from={}&to={}",
        plan.from, plan.to
    );
    // The same range as instants: the first county day's midnight to the last one's end.
    let records_path = format!(
        "/v1/people/{person}/records?from={}T00:00:00%2B08:00&to={}T23:59:59.999999%2B08:00",
        plan.from, plan.to
    );
    let (mut presence, mut records, mut proofs) = (Vec::new(), Vec::new(), Vec::new());
    let (mut days, mut present, mut counted, mut items) = (0, 0, 0, 0);
    for i in 0..plan.warmup + plan.requests {
        let (ms, body) = timed_get(&mut client, &authorization, &presence_path).await?;
        if i >= plan.warmup {
            presence.push(ms);
        }
        let list = body["days"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        days = list.len();
        present = list.iter().filter(|d| d["status"] == "present").count();
        counted = list
            .iter()
            .filter_map(|d| d["records"].as_u64())
            .sum::<u64>();
    }
    for i in 0..plan.warmup + plan.requests {
        let (ms, body) = timed_get(&mut client, &authorization, &records_path).await?;
        if i >= plan.warmup {
            records.push(ms);
        }
        items = body["items"].as_array().map_or(0, Vec::len);
    }
    let checkpoint = client
        .send(
            Method::GET,
            &target.path("/v1/ledger/checkpoint"),
            None,
            Bytes::new(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let tree_size: u64 = String::from_utf8_lossy(&checkpoint.body)
        .lines()
        .nth(1)
        .and_then(|line| line.parse().ok())
        .ok_or("the checkpoint has no size line")?;
    let mut rng = 0x5eed_u64;
    for i in 0..plan.warmup + plan.requests {
        rng = splitmix(rng);
        let seq = 1 + rng % tree_size.max(1);
        let path = format!("/v1/ledger/proof/inclusion?seq={seq}&tree_size={tree_size}");
        let (ms, _) = timed_get(&mut client, &authorization, &path).await?;
        if i >= plan.warmup {
            proofs.push(ms);
        }
    }
    println!(
        "{}",
        json!({
            "person": plan.person,
            "from": plan.from,
            "to": plan.to,
            "presence": Timings(presence).summary(),
            "presence_days": days,
            "present_days": present,
            "presence_records": counted,
            "records": Timings(records).summary(),
            "records_page_items": items,
            "proof": Timings(proofs).summary(),
            "tree_size": tree_size,
        })
    );
    Ok(())
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

struct SupervisionPlan {
    person: String,
    unit: String,
    from: Date,
    to: Date,
    month: String,
    week: String,
    presence_requests: usize,
    county_requests: usize,
    pace: Pace,
}

/// How each supervision read is paced: untimed answers first; no more requests once a read has
/// taken `budget` (warm-ups are then skipped, and timing stops after at least one answer); a
/// request unanswered after `timeout` is an error.
struct Pace {
    warmup: usize,
    /// Where to keep each read's first answer, as `<key>.<ext>`, if anywhere.
    save_dir: Option<std::path::PathBuf>,
    budget: std::time::Duration,
    timeout: std::time::Duration,
}

const PRESENCE_GOAL_MS: f64 = 5.0;
const COUNTY_GOAL_MS: f64 = 500.0;

fn day(raw: &str) -> Result<Date, String> {
    fieldtrail_domain::roster::parse_date(raw).map_err(|_| format!("not a date: {raw}"))
}

fn format_day(date: Date) -> String {
    fieldtrail_domain::roster::format_date(date)
}

/// The last calendar month whose every day lies in `from..=to`, as `YYYY-MM`.
fn last_whole_month(from: Date, to: Date) -> Result<String, String> {
    let next = to + Duration::days(1);
    // The month that ends on `to`, or else the one before `to`'s month.
    let (year, month) = if next.month() != to.month() {
        (to.year(), to.month())
    } else if to.month() == Month::January {
        (to.year() - 1, Month::December)
    } else {
        (to.year(), to.month().previous())
    };
    let first = Date::from_calendar_date(year, month, 1).map_err(|e| e.to_string())?;
    if first < from {
        return Err(format!(
            "no whole month between {} and {}",
            format_day(from),
            format_day(to)
        ));
    }
    Ok(format!("{year:04}-{:02}", u8::from(month)))
}

/// The last ISO week (Monday to Sunday) whose every day lies in `from..=to`, as `YYYY-Www`.
fn last_whole_week(from: Date, to: Date) -> Result<String, String> {
    let sunday = to - Duration::days(i64::from(to.weekday().number_from_sunday()) - 1);
    let monday = sunday - Duration::days(6);
    if monday < from {
        return Err(format!(
            "no whole ISO week between {} and {}",
            format_day(from),
            format_day(to)
        ));
    }
    let (year, week, _) = monday.to_iso_week_date();
    Ok(format!("{year:04}-W{week:02}"))
}

/// One kind of supervision read: where, how often, its goal, and what to note of an answer.
struct Read {
    key: &'static str,
    path: String,
    requests: usize,
    goal_ms: f64,
    facts: fn(&[u8]) -> Value,
    /// The file name extension of a saved answer.
    ext: &'static str,
}

fn presence_facts(body: &[u8]) -> Value {
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let days = body["days"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    json!({
        "days": days.len(),
        "present_days": days.iter().filter(|d| d["status"] == "present").count(),
        "nights": days.iter().filter(|d| d["night"] == true).count(),
        "records": days.iter().filter_map(|d| d["records"].as_u64()).sum::<u64>(),
    })
}

fn compliance_facts(body: &[u8]) -> Value {
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let rows = body["cadres"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    // How many rows give each reason code, to show what the generated county falls short of.
    let mut reasons = serde_json::Map::new();
    for row in rows {
        let codes = row["reasons"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let mut seen: Vec<&str> = codes.iter().filter_map(|r| r["code"].as_str()).collect();
        seen.sort_unstable();
        seen.dedup();
        for code in seen {
            let count = reasons.get(code).and_then(Value::as_u64).unwrap_or(0);
            reasons.insert(code.into(), json!(count + 1));
        }
    }
    json!({
        "from": body["from"],
        "to": body["to"],
        "rows": rows.len(),
        "compliant": rows.iter().filter(|r| r["compliant"] == true).count(),
        "rows_by_reason": reasons,
    })
}

fn bulletin_facts(body: &[u8]) -> Value {
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let townships = body["townships"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    json!({
        "townships": townships.len(),
        "villages": townships
            .iter()
            .filter_map(|t| t["villages"].as_array().map(Vec::len))
            .sum::<usize>(),
        "lines": body["totals"]["lines"],
        "cadres": body["totals"]["cadres"],
        "compliant": body["totals"]["compliant"],
    })
}

fn csv_facts(body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    json!({
        "bom": body.starts_with(b"\xef\xbb\xbf"),
        "rows": text.split("\r\n").filter(|line| !line.is_empty()).count(),
    })
}

fn xlsx_facts(body: &[u8]) -> Value {
    json!({"zip": body.starts_with(b"PK\x03\x04")})
}

/// Times one read: `pace.warmup` untimed answers, then `requests` timed ones, within the pace's
/// budget. Any answer but 200 stops it: 404 is a route not there yet ("missing"), anything
/// else, a failed connection or a timeout, an error.
async fn time_read(
    client: &mut Client,
    authorization: &HeaderValue,
    read: &Read,
    pace: &Pace,
) -> Value {
    let path = client.target().path(&read.path);
    let mut timings = Vec::with_capacity(read.requests);
    let (mut first_ms, mut bytes, mut facts) = (0.0, 0, Value::Null);
    let (mut warmup, mut cut_short) = (pace.warmup, false);
    let read_started = Instant::now();
    let mut i = 0;
    while timings.len() < read.requests {
        if read_started.elapsed() > pace.budget {
            if i < warmup {
                warmup = i;
            } else if !timings.is_empty() {
                cut_short = true;
                break;
            }
        }
        let started = Instant::now();
        let sent = tokio::time::timeout(
            pace.timeout,
            client.send(Method::GET, &path, Some(authorization), Bytes::new()),
        )
        .await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let answer = match sent {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => return read_error(read, format!("GET failed: {e}"), i),
            Err(_) => {
                // The connection is mid-answer: start the next read on a fresh one.
                *client = Client::new(client.target().clone());
                let limit = pace.timeout.as_secs();
                return read_error(read, format!("no answer within {limit} s"), i);
            }
        };
        if answer.status != 200 {
            let problem = answer.json();
            let status = if answer.status == 404 {
                "missing"
            } else {
                "error"
            };
            return json!({
                "status": status,
                "path": read.path,
                "http": answer.status,
                "problem_type": problem["type"],
                "detail": if problem["detail"].is_null() {
                    json!(answer.excerpt())
                } else {
                    problem["detail"].clone()
                },
                "after": i,
            });
        }
        if i == 0 {
            first_ms = ms;
            bytes = answer.body.len();
            facts = (read.facts)(&answer.body);
            if let Some(dir) = &pace.save_dir {
                let file = dir.join(format!("{}.{}", read.key, read.ext));
                if let Err(e) = std::fs::write(&file, &answer.body) {
                    eprintln!("bench_client: {}: {e}", file.display());
                }
            }
        }
        if i >= warmup {
            timings.push(ms);
        }
        i += 1;
    }
    let mean = timings.iter().sum::<f64>() / timings.len() as f64;
    let summary = Timings(timings).summary();
    let p50 = summary["median_ms"].as_f64().unwrap_or(f64::INFINITY);
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    json!({
        "status": "ok",
        "path": read.path,
        "n": summary["n"],
        "warmup": warmup,
        "cut_short": cut_short,
        "first_ms": round(first_ms),
        "mean_ms": round(mean),
        "p50_ms": summary["median_ms"],
        "p99_ms": summary["p99_ms"],
        "max_ms": summary["max_ms"],
        "bytes": bytes,
        "goal_ms": read.goal_ms,
        "meets_goal": p50 <= read.goal_ms,
        "p99_meets_goal": summary["p99_ms"].as_f64().is_some_and(|p99| p99 <= read.goal_ms),
        "read": facts,
    })
}

fn read_error(read: &Read, detail: String, after: usize) -> Value {
    json!({"status": "error", "path": read.path, "detail": detail, "after": after})
}

async fn supervision(
    target: &Target,
    admin: &str,
    password: &str,
    plan: &SupervisionPlan,
) -> Result<(), String> {
    let mut client = Client::new(target.clone());
    let admin_token = login(&mut client, admin, password).await?;
    let person_token = login(&mut client, &plan.person, org::CADRE_PASSWORD).await?;
    let person = subject(&person_token).ok_or("the person's token has no subject")?;
    let authorization = bearer(&admin_token).map_err(|e| e.to_string())?;
    let (unit, month) = (&plan.unit, &plan.month);
    let county = |key, path| Read {
        key,
        path,
        requests: plan.county_requests,
        goal_ms: COUNTY_GOAL_MS,
        facts: compliance_facts,
        ext: "json",
    };
    let reads = [
        Read {
            key: "presence_year",
            path: format!(
                "/v1/people/{person}/presence?from={}&to={}",
                format_day(plan.from),
                format_day(plan.to)
            ),
            requests: plan.presence_requests,
            goal_ms: PRESENCE_GOAL_MS,
            facts: presence_facts,
            ext: "json",
        },
        county(
            "compliance_month",
            format!("/v1/units/{unit}/compliance?period={month}"),
        ),
        county(
            "compliance_week",
            format!("/v1/units/{unit}/compliance?period={}", plan.week),
        ),
        Read {
            facts: bulletin_facts,
            ..county(
                "bulletin_json",
                format!("/v1/units/{unit}/bulletin?month={month}"),
            )
        },
        Read {
            facts: csv_facts,
            ext: "csv",
            ..county(
                "bulletin_csv",
                format!("/v1/units/{unit}/bulletin?month={month}&format=csv"),
            )
        },
        Read {
            facts: xlsx_facts,
            ext: "xlsx",
            ..county(
                "bulletin_xlsx",
                format!("/v1/units/{unit}/bulletin?month={month}&format=xlsx"),
            )
        },
    ];
    let mut results = serde_json::Map::new();
    for read in &reads {
        let result = time_read(&mut client, &authorization, read, &plan.pace).await;
        eprintln!(
            "bench_client: {} {}",
            read.key,
            match result["status"].as_str() {
                Some("ok") => format!(
                    "p50 {} ms, p99 {} ms over {}",
                    result["p50_ms"], result["p99_ms"], result["n"]
                ),
                _ => format!("{} ({})", result["status"], result["http"]),
            }
        );
        results.insert(read.key.into(), result);
    }
    println!(
        "{}",
        json!({
            "person": plan.person,
            "person_id": person,
            "unit": plan.unit,
            "from": format_day(plan.from),
            "to": format_day(plan.to),
            "month": plan.month,
            "week": plan.week,
            "warmup": plan.pace.warmup,
            "budget_seconds": plan.pace.budget.as_secs(),
            "reads": results,
        })
    );
    Ok(())
}
