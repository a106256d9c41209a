use clap::{Args, Parser, Subcommand};
use fieldtrail_api::auth::hash_password;
use fieldtrail_api::config::{Config, DEFAULT_BIND, DEFAULT_DATA_DIR};
use fieldtrail_api::{demo, open_state, telemetry, Application};
use fieldtrail_domain::person::{DisplayName, Password, Role, Username};
use fieldtrail_storage::writer::NewPerson;
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
    config
}

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
            println!("Loading the demo organisation (萧县, 3 townships, 12 villages, 24 cadres)…");
            demo::load(&state).await.map_err(|err| err.to_string())?
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
