use clap::{Args, Parser, Subcommand};
use fieldtrail_api::auth::hash_password;
use fieldtrail_api::config::{Config, DEFAULT_BIND, DEFAULT_DATA_DIR};
use fieldtrail_api::{demo, open_state, telemetry, verify, verify_draw, Application};
use fieldtrail_domain::person::{DisplayName, Password, Role, Username};
use fieldtrail_storage::writer::NewPerson;
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;

/// fieldtrail: the server of the mobile field-presence system for resident village cadres.
#[derive(Parser)]
#[command(name = "fieldtrail", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (migrations run at start).
    Serve(ServeArgs),
    /// Create the first admin, whose scope is the whole unit tree. Refused once an admin exists.
    Bootstrap(BootstrapArgs),
    /// Load a demo organisation into an empty data dir, then serve it.
    Demo(DemoArgs),
    /// Write ledger entries, the hashes to rebuild the root and a signed checkpoint into one file.
    Export(ExportArgs),
    /// Check an export file or a live server against the log's key; exit 0 only if all verifies.
    Verify(VerifyArgs),
    /// Recompute a spot-check draw from the signed ledger (seed, population hash, sample);
    /// exit 0 only if everything matches.
    VerifyDraw(VerifyDrawArgs),
    /// Benchmark the Merkle tree: bulk-build N leaves in a scratch SQLite file, time proofs.
    BenchLedger(BenchArgs),
    /// Drive a running server with generated cadre traffic; report throughput and latency.
    Loadtest(fieldtrail_api::loadtest::LoadtestArgs),
    /// Delete the personal payloads of records past retention (each unit's policy
    /// retention_days, or --before DATE) and append payload.purge entries naming them. Run it
    /// with the server stopped.
    Purge(PurgeArgs),
    /// Check a database directly: ledger seqs, Merkle leaves, records, fixes, payloads; exit 1 on damage.
    CheckStore(CheckStoreArgs),
    /// Write one archive (0600: it holds the private keys) with a consistent snapshot of the
    /// database, taken while the server runs, plus the keys and photos of the data dir.
    Backup(BackupArgs),
    /// Restore a `fieldtrail backup` archive into an empty data dir (and empty database).
    Restore(RestoreArgs),
}

#[derive(Args)]
struct BackupArgs {
    /// The archive to write (a tar file; replaced if it exists).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    storage: StorageArgs,
}

#[derive(Args)]
struct RestoreArgs {
    /// An archive written by `fieldtrail backup`.
    #[arg(long)]
    from: PathBuf,
    #[command(flatten)]
    storage: StorageArgs,
}

#[derive(Args)]
struct CheckStoreArgs {
    /// An acked log from `fieldtrail loadtest --acked-log`: each line must be stored as acknowledged.
    #[arg(long)]
    acked_log: Option<PathBuf>,
    #[command(flatten)]
    storage: StorageArgs,
}

#[derive(Args)]
struct PurgeArgs {
    /// Purge records captured before this county day (YYYY-MM-DD) instead of applying each
    /// unit's retention_days.
    #[arg(long)]
    before: Option<String>,
    /// Why, for the payload.purge entry (default: the rule applied).
    #[arg(long)]
    reason: Option<String>,
    /// Say what would be purged and which photo files would go; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Photos uploaded but named by no kept record are removed once this old.
    #[arg(long, default_value_t = 24)]
    attachment_grace_hours: u64,
    #[command(flatten)]
    storage: StorageArgs,
}

#[derive(Args)]
struct BenchArgs {
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
    #[arg(long, default_value_t = 10_000)]
    proofs: usize,
    /// Where the scratch database goes (default: a new temporary directory, removed after).
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Args)]
struct ExportArgs {
    /// The file to write (JSON, see docs/ledger.md).
    #[arg(long)]
    out: PathBuf,
    /// First sequence number to include (default 1).
    #[arg(long)]
    from: Option<u64>,
    /// Last sequence number to include (default: the latest checkpoint's size).
    #[arg(long)]
    to: Option<u64>,
    /// Which payloads to include: those of spot-check draws and samples (enough for
    /// `verify-draw --file`), all (exact coordinates, notes: personal data) or none.
    #[arg(long, value_enum, default_value_t = verify::Payloads::Draws)]
    payloads: verify::Payloads,
    #[command(flatten)]
    storage: StorageArgs,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["file", "server"])))]
struct VerifyArgs {
    /// An export written by `fieldtrail export`.
    #[arg(long)]
    file: Option<PathBuf>,
    /// A running fieldtrail, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    server: Option<String>,
    /// The log's verifier key (`name+id+key`, as GET /v1/ledger/key serves it) or a file holding it.
    #[arg(long)]
    key: String,
    /// Bearer token of an inspector or admin (needed with --server to read entries).
    #[arg(long, env = "FIELDTRAIL_TOKEN")]
    token: Option<String>,
    /// An earlier checkpoint (signed note file): check that the ledger still extends it.
    #[arg(long)]
    since: Option<PathBuf>,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["file", "server"])))]
struct VerifyDrawArgs {
    /// The draw's id (as POST /v1/spot-checks/draws answered it: its ledger entry's id).
    #[arg(long)]
    draw: String,
    /// An export written by `fieldtrail export` holding the draw entry, its sample entry and
    /// their payloads.
    #[arg(long)]
    file: Option<PathBuf>,
    /// A running fieldtrail, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    server: Option<String>,
    /// The log's verifier key (`name+id+key`, as GET /v1/ledger/key serves it) or a file holding it.
    #[arg(long)]
    key: String,
    /// Bearer token of the supervisor who made the draw, an inspector or an admin (needed with --server).
    #[arg(long, env = "FIELDTRAIL_TOKEN")]
    token: Option<String>,
}

#[derive(Args)]
struct StorageArgs {
    /// Directory for the SQLite database and keys.
    #[arg(long, env = "FIELDTRAIL_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// postgres://… selects PostgreSQL; default: an SQLite file inside the data dir.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Ed25519 token signing key (PKCS#8 PEM); default: <data-dir>/jwt-ed25519.pem, created if missing.
    #[arg(long, env = "FIELDTRAIL_JWT_KEY")]
    jwt_key: Option<PathBuf>,
    /// Ed25519 checkpoint signing key (PKCS#8 PEM); default: <data-dir>/log-ed25519.pem, created if missing.
    #[arg(long, env = "FIELDTRAIL_LOG_KEY")]
    log_key: Option<PathBuf>,
    /// The log's origin (first checkpoint line and key name); default: fieldtrail.local/<key id>.
    #[arg(long, env = "FIELDTRAIL_ORIGIN")]
    origin: Option<String>,
    /// Where photos are stored, named by their SHA-256; default: <data-dir>/attachments.
    #[arg(long, env = "FIELDTRAIL_ATTACHMENTS_DIR")]
    attachments_dir: Option<PathBuf>,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FIELDTRAIL_BIND", default_value = DEFAULT_BIND)]
    bind: String,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "FIELDTRAIL_WORKERS")]
    workers: Option<usize>,
    #[command(flatten)]
    storage: StorageArgs,
}

#[derive(Args)]
struct BootstrapArgs {
    #[arg(long)]
    username: String,
    /// The admin's password (8 characters at least).
    #[arg(long, env = "FIELDTRAIL_BOOTSTRAP_PASSWORD")]
    password: String,
    #[arg(long, default_value = "Administrator")]
    display_name: String,
    #[command(flatten)]
    storage: StorageArgs,
}

#[derive(Args)]
struct DemoArgs {
    #[arg(long, env = "FIELDTRAIL_BIND", default_value = DEFAULT_BIND)]
    bind: String,
    #[command(flatten)]
    storage: StorageArgs,
}

fn config_from(storage: StorageArgs, bind: String) -> Config {
    let mut config = Config::new(storage.data_dir);
    config.bind = bind;
    config.database_url = storage.database_url;
    config.jwt_key = storage.jwt_key;
    config.log_key = storage.log_key;
    config.origin = storage.origin;
    config.attachments_dir = storage.attachments_dir;
    config
}

// glibc's allocator serialises the writer thread and the HTTP workers on its arena locks (every
// record is allocated on a worker and freed on the writer, and its answer the other way round);
// mimalloc's per-thread heaps avoid that and cut the writer's time per record by a third.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    telemetry::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => {
            let mut config = config_from(args.storage, args.bind);
            config.workers = args.workers;
            serve(config)
        }
        Command::Bootstrap(args) => bootstrap(args),
        Command::Demo(args) => run_demo(config_from(args.storage, args.bind)),
        Command::Export(args) => export(args),
        Command::Verify(args) => verify(args),
        Command::VerifyDraw(args) => verify_draw(args),
        Command::BenchLedger(args) => bench_ledger(args),
        Command::Loadtest(args) => fieldtrail_api::loadtest::main(&args),
        Command::CheckStore(args) => check_store(args),
        Command::Purge(args) => purge(args),
        Command::Backup(args) => fieldtrail_api::backup::main_backup(
            &config_from(args.storage, DEFAULT_BIND.to_owned()),
            &args.out,
        ),
        Command::Restore(args) => fieldtrail_api::backup::main_restore(
            &config_from(args.storage, DEFAULT_BIND.to_owned()),
            &args.from,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fieldtrail: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: Config) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&config).map_err(|err| err.to_string())?;
        tracing::info!(bind = %config.bind, port = app.port(), "fieldtrail listening");
        app.run_until_stopped().await.map_err(|err| err.to_string())
    })
}

fn bootstrap(args: BootstrapArgs) -> Result<(), String> {
    let username = Username::parse(&args.username).map_err(|err| format!("--username: {err}"))?;
    let password = Password::parse(&args.password).map_err(|err| format!("--password: {err}"))?;
    let display_name =
        DisplayName::parse(&args.display_name).map_err(|err| format!("--display-name: {err}"))?;
    let config = config_from(args.storage, DEFAULT_BIND.to_owned());
    let password_hash = hash_password(password.expose()).map_err(|err| err.to_string())?;
    actix_web::rt::System::new().block_on(async move {
        let state = open_state(&config).map_err(|err| err.to_string())?;
        let admin = state
            .writer
            .create_first_admin(NewPerson {
                username,
                password_hash,
                display_name,
                role: Role::Admin,
                unit_code: None,
                phone: None,
                must_change_password: false,
            })
            .await
            .map_err(|err| format!("bootstrap refused: {err}"))?;
        println!("created admin {} (id {})", admin.username, admin.id);
        Ok(())
    })
}

fn run_demo(config: Config) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let state = open_state(&config).map_err(|err| err.to_string())?;
        let db = state.db.clone();
        let size = actix_web::web::block(move || {
            let mut conn = db.conn()?;
            fieldtrail_storage::reads::ledger_size(&mut conn)
        })
        .await
        .map_err(|err| err.to_string())?
        .map_err(|err| err.to_string())?;
        let logins = if size == 0 {
            println!(
                "Loading the demo organisation (萧县, 3 townships, 12 villages, 24 cadres) and its last month…"
            );
            let started = std::time::Instant::now();
            let loaded = demo::load(&state).await.map_err(|err| err.to_string())?;
            let kinds: Vec<String> = loaded
                .records
                .iter()
                .map(|(kind, n)| format!("{kind} {n}"))
                .collect();
            println!(
                "Loaded in {:.1} s: {} records over the last 30 days ({}), {} decisions, {} spot-check draws ({} challenges, {} answered; {} household verifications), {} open alerts.",
                started.elapsed().as_secs_f64(),
                loaded.record_count(),
                kinds.join(", "),
                loaded.decisions,
                loaded.draws,
                loaded.challenges,
                loaded.answered,
                loaded.verifications,
                loaded.alerts,
            );
            loaded.logins
        } else {
            println!(
                "{} already holds data; serving it as it is.",
                config.data_dir.display()
            );
            Vec::new()
        };
        let app = Application::serve(&config, state).map_err(|err| err.to_string())?;
        let host = config
            .bind
            .rsplit_once(':')
            .map_or("127.0.0.1", |(host, _)| host);
        let url = format!("http://{host}:{}", app.port());
        println!();
        println!(
            "fieldtrail demo is running at {url}  (data in {})",
            config.data_dir.display()
        );
        println!("  console: open {url}/ in a browser (e.g. as supervisor / {})", demo::STAFF_PASSWORD);
        println!("  health:  curl {url}/healthz");
        if !logins.is_empty() {
            println!("  logins (username / password):");
            for login in &logins {
                println!(
                    "    {:<14} {:<16} {}",
                    login.username, login.password, login.what
                );
            }
            if let Some((lon, lat)) = demo::village_centre("341322100201") {
                println!(
                    "  cadre01's village 城东村 (341322100201) centre: lon {lon:.5}, lat {lat:.5}"
                );
            }
        }
        println!(
            "  log in:  curl -s -X POST {url}/v1/auth/login -H 'content-type: application/json' \\"
        );
        println!(
            "             -d '{{\"username\":\"cadre01\",\"password\":\"{}\"}}'",
            demo::CADRE_PASSWORD
        );
        println!("Press Ctrl-C to stop.");
        app.run_until_stopped().await.map_err(|err| err.to_string())
    })
}

fn export(args: ExportArgs) -> Result<(), String> {
    let config = config_from(args.storage, DEFAULT_BIND.to_owned());
    let db =
        fieldtrail_storage::Database::open(&config.database_url(), 2).map_err(|e| e.to_string())?;
    let bundle =
        verify::export_with(&db, args.from, args.to, args.payloads).map_err(|e| e.to_string())?;
    let json = serde_json::to_vec(&bundle).map_err(|e| e.to_string())?;
    std::fs::write(&args.out, json).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let checkpoint_size = bundle.checkpoint.lines().nth(1).unwrap_or("?");
    println!(
        "exported entries {}..={} with the checkpoint of size {checkpoint_size} to {}",
        bundle.from,
        bundle.to,
        args.out.display()
    );
    Ok(())
}

fn verify(args: VerifyArgs) -> Result<(), String> {
    let verifier = verify::read_key(&args.key).map_err(|e| e.to_string())?;
    let bundle = match (&args.file, &args.server) {
        (Some(file), _) => {
            let text = verify::read_file(&file.to_string_lossy()).map_err(|e| e.to_string())?;
            serde_json::from_str(&text)
                .map_err(|e| format!("{}: not an export: {e}", file.display()))?
        }
        (None, Some(server)) => {
            verify::fetch(server, args.token.as_deref()).map_err(|e| e.to_string())?
        }
        (None, None) => return Err("give --file or --server".into()),
    };
    let since = match &args.since {
        Some(path) => Some(verify::read_file(&path.to_string_lossy()).map_err(|e| e.to_string())?),
        None => None,
    };
    let report = verify::verify_bundle(&bundle, &verifier, since.as_deref());
    print!("{}", report.render());
    if report.ok() {
        Ok(())
    } else {
        Err(format!("{} check(s) failed", report.failures().len()))
    }
}

fn verify_draw(args: VerifyDrawArgs) -> Result<(), String> {
    let verifier = verify::read_key(&args.key).map_err(|e| e.to_string())?;
    let report = match (&args.file, &args.server) {
        (Some(file), _) => {
            let text = verify::read_file(&file.to_string_lossy()).map_err(|e| e.to_string())?;
            let bundle = serde_json::from_str(&text)
                .map_err(|e| format!("{}: not an export: {e}", file.display()))?;
            verify_draw::verify_file(&bundle, &verifier, &args.draw)
        }
        (None, Some(server)) => {
            verify_draw::verify_online(server, &verifier, &args.draw, args.token.as_deref())
        }
        (None, None) => return Err("give --file or --server".into()),
    }
    .map_err(|e| e.to_string())?;
    print!("{}", report.render());
    if report.ok() {
        Ok(())
    } else {
        Err(format!("{} check(s) failed", report.failures().len()))
    }
}

fn purge(args: PurgeArgs) -> Result<(), String> {
    let before = match &args.before {
        Some(raw) => Some(
            fieldtrail_domain::roster::parse_date(raw).map_err(|err| format!("--before: {err}"))?,
        ),
        None => None,
    };
    let reason = match &args.reason {
        Some(raw) => Some(
            fieldtrail_domain::record::Text::parse(raw, 1, 500)
                .map_err(|err| format!("--reason: {err}"))?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    let config = config_from(args.storage, DEFAULT_BIND.to_owned());
    let options = fieldtrail_api::purge::PurgeOptions {
        before,
        reason,
        dry_run: args.dry_run,
        attachment_grace: std::time::Duration::from_secs(
            args.attachment_grace_hours.saturating_mul(3600),
        ),
    };
    let outcome = fieldtrail_api::purge::run(&config, &options)?;
    let report = &outcome.report;
    let verb = if args.dry_run {
        "would purge"
    } else {
        "purged"
    };
    println!(
        "{verb} the payloads of {} records in {} seq ranges ({}: {})",
        report["purged"],
        report["ranges"],
        report["rule"].as_str().unwrap_or(""),
        report["reason"].as_str().unwrap_or("")
    );
    if let Some(entries) = report["entries"].as_array().filter(|e| !e.is_empty()) {
        let seqs: Vec<String> = entries.iter().map(Value::to_string).collect();
        println!("payload.purge entries: seq {}", seqs.join(", "));
    }
    println!(
        "{} photo files {}",
        outcome.files.len(),
        if args.dry_run {
            "would be removed"
        } else {
            "removed"
        }
    );
    Ok(())
}

fn check_store(args: CheckStoreArgs) -> Result<(), String> {
    let config = config_from(args.storage, DEFAULT_BIND.to_owned());
    fieldtrail_api::check_store::main(&config.database_url(), args.acked_log.as_deref())
}

fn bench_ledger(args: BenchArgs) -> Result<(), String> {
    let scratch = std::env::temp_dir().join(format!("fieldtrail-bench-{}", std::process::id()));
    let dir = args.dir.clone().unwrap_or_else(|| scratch.clone());
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    println!(
        "building a tree of {} leaves in {} …",
        args.entries,
        dir.display()
    );
    let report = fieldtrail_api::bench::run(&dir, args.entries, args.proofs);
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    let report = report?;
    println!("entries:                         {}", report.entries);
    println!(
        "frontier update per append:      {:.0} ns (in memory)",
        report.append_in_memory_ns
    );
    println!(
        "append incl. node rows (SQLite): {:.2} µs per entry (bulk, 10k per transaction)",
        report.append_with_storage_us
    );
    println!(
        "inclusion proof at {} ({} random): mean {:.0} µs, p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        report.entries, report.proofs, report.proof_mean_us, report.proof_p50_us, report.proof_p99_us, report.proof_max_us
    );
    Ok(())
}
