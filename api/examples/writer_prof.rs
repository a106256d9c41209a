// Scratch profiling harness (not committed): drives the Writer in-process.
use fieldtrail_domain::geo::{Boundary, Position, ToleranceMeters};
use fieldtrail_domain::person::{DisplayName, Role, Username};
use fieldtrail_domain::record::RecordSubmission;
use fieldtrail_domain::roster::{AssignmentRole, ValidPeriod};
use fieldtrail_domain::submission::parse_record;
use fieldtrail_domain::unit::{UnitCode, UnitLevel, UnitName, UnitPath};
use fieldtrail_storage::writer::*;
use fieldtrail_storage::{Database, LogSigner, Writer};
use serde_json::json;
use std::time::Instant;

fn square(lon: f64, lat: f64, d: f64) -> Boundary {
    let g = json!({"type":"Polygon","coordinates":[[[lon,lat],[lon+d,lat],[lon+d,lat+d],[lon,lat+d],[lon,lat]]]});
    Boundary::from_geojson(&g).unwrap().unwrap()
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).cloned().unwrap_or("/tmp/wp/db.sqlite".into());
    let clients: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(64);
    let batch: usize = args.get(3).map(|s| s.parse().unwrap()).unwrap_or(1);
    let seconds: u64 = args.get(4).map(|s| s.parse().unwrap()).unwrap_or(8);
    let _db = Database::open(&url, 2).unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let signer = fieldtrail_domain::note::NoteSigner::new("bench.local/x", key).unwrap();
    let writer = Writer::start(
        &url,
        LogSigner {
            origin: "bench.local/x".into(),
            signer,
        },
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let op = Actor::operator();
        let mut units = vec![NewUnit { pointer: "/0".into(), code: UnitCode::parse("c1").unwrap(), name: UnitName::parse("C").unwrap(), level: UnitLevel::County, parent_code: None, boundary: Some(square(116.0, 34.0, 1.0)), tolerance: ToleranceMeters::parse(20.0).unwrap() },
            NewUnit { pointer: "/1".into(), code: UnitCode::parse("t1").unwrap(), name: UnitName::parse("T").unwrap(), level: UnitLevel::Township, parent_code: Some(UnitCode::parse("c1").unwrap()), boundary: Some(square(116.0, 34.0, 0.5)), tolerance: ToleranceMeters::parse(20.0).unwrap() }];
        for v in 0..10 {
            units.push(NewUnit { pointer: format!("/{}", v + 2), code: UnitCode::parse(&format!("v{v}")).unwrap(), name: UnitName::parse("V").unwrap(), level: UnitLevel::Village, parent_code: Some(UnitCode::parse("t1").unwrap()), boundary: Some(square(116.0 + 0.04 * v as f64, 34.0, 0.03)), tolerance: ToleranceMeters::parse(20.0).unwrap() });
        }
        writer.import_units(op.clone(), units).await.unwrap();
        let mut people = Vec::new();
        for c in 0..50 {
            let p = writer.create_person(op.clone(), NewPerson { username: Username::parse(&format!("cadre{c}")).unwrap(), password_hash: "x".into(), display_name: DisplayName::parse("x").unwrap(), role: Role::Cadre, unit_code: Some(UnitCode::parse(&format!("v{}", c % 10)).unwrap()), phone: None }).await.unwrap();
            let id = fieldtrail_domain::person::PersonId::parse(&p.id).unwrap();
            writer.create_assignment(op.clone(), NewAssignment { person_id: id, unit_code: UnitCode::parse(&format!("v{}", c % 10)).unwrap(), role: AssignmentRole::TeamMember, period: ValidPeriod::new(time::macros::date!(2020-01-01), None).unwrap() }).await.unwrap();
            people.push((id, c % 10));
        }
        let deadline = Instant::now() + std::time::Duration::from_secs(seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for k in 0..clients {
            let writer = writer.clone();
            let people = people.clone();
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                let mut i = k;
                while Instant::now() < deadline {
                    let (person, v) = people[i % people.len()];
                    i += clients;
                    let mk = |j: usize| -> RecordSubmission {
                        let now = time::OffsetDateTime::now_utc();
                        let body = json!({"id": uuid::Uuid::now_v7().to_string(), "kind":"check_in", "captured_at": now.format(&time::format_description::well_known::Rfc3339).unwrap(),
                          "position":{"lon":116.015 + 0.04 * v as f64 + (j as f64) * 1e-6, "lat":34.015, "accuracy_m":15}, "device_id":"phone"});
                        parse_record(&body, "", now).unwrap()
                    };
                    let sub = Submitter { person, scope: UnitPath::whole_tree() };
                    if batch <= 1 {
                        writer.append_record(sub, mk(0)).await.unwrap();
                        n += 1;
                    } else {
                        let items = (0..batch).map(|j| BatchItem { index: j, pointer: format!("/records/{j}"), submission: mk(j) }).collect();
                        let r = writer.append_batch(sub, items).await.unwrap();
                        n += r.len() as u64;
                    }
                }
                n
            }));
        }
        let mut total = 0;
        for t in tasks { total += t.await.unwrap(); }
        let secs = started.elapsed().as_secs_f64();
        let cpu = writer_cpu_secs();
        println!("clients {clients} batch {batch}: {total} records in {secs:.1}s = {:.0}/s; writer cpu {:.1} us/record", total as f64 / secs, cpu * 1e6 / total as f64);
        let _ = Position::parse(0.0, 0.0);
    });
}

fn writer_cpu_secs() -> f64 {
    let tick = 100.0;
    for entry in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = entry.unwrap().path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim() == "ledger-writer" {
            let stat = std::fs::read_to_string(path.join("stat")).unwrap();
            let rest = &stat[stat.rfind(')').unwrap() + 2..];
            let f: Vec<&str> = rest.split(' ').collect();
            let utime: f64 = f[11].parse().unwrap();
            let stime: f64 = f[12].parse().unwrap();
            return (utime + stime) / tick;
        }
    }
    0.0
}
