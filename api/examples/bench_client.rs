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

const USAGE: &str = "usage: bench_client cadres|reads --target URL --admin USER \
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
