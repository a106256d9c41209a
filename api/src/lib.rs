//! The fieldtrail HTTP service: routing, authentication, handlers and problem+json errors, plus
//! what the `fieldtrail` binary needs to start it.

pub mod attachments;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod bench;
pub mod check_store;
pub mod config;
pub mod console;
pub mod demo;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod loadtest;
pub mod login_limits;
pub mod purge;
pub mod roster_sheet;
pub mod routes;
pub mod state;
pub mod telemetry;
pub mod verify;
pub mod verify_draw;
pub mod webhooks;

use crate::auth::{load_or_create_key, KeyError, TokenKeys};
use crate::config::Config;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::dev::{Server, Service};
use actix_web::{web, App, HttpServer};
use fieldtrail_domain::note::NoteSigner;
use fieldtrail_storage::{Database, LogSigner, StorageError, Writer};
use std::net::TcpListener;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the log origin is not a valid signed-note key name: {0}")]
    Origin(String),
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        bind: String,
        source: std::io::Error,
    },
}

/// The database, writer and keys of one fieldtrail instance, before it listens.
pub fn open_state(config: &Config) -> Result<web::Data<AppState>, StartError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    let key = load_or_create_key(&config.jwt_key_path())?;
    let tokens = TokenKeys::new(&key, config.token_ttl_seconds)?;
    let log = log_signer(config)?;
    let log_verifier_key = log.signer.verifier_key();
    let url = config.database_url();
    let db = Database::open(&url, config.read_pool_size)?;
    let writer = Writer::start(&url, log, config.clock.clone())?;
    let attachments = crate::attachments::AttachmentStore::open(config.attachments_path())
        .map_err(|source| StartError::DataDir {
            path: config.attachments_path().display().to_string(),
            source,
        })?;
    tracing::info!(backend = db.backend().as_str(), "storage ready");
    Ok(web::Data::new(AppState {
        db,
        writer,
        tokens,
        log_verifier_key,
        attachments,
        clock: config.clock.clone(),
        login_limits: login_limits::LoginLimits::new(config.login_limits.clone()),
    }))
}

/// The log's key (created on first start) and origin.
pub fn log_signer(config: &Config) -> Result<LogSigner, StartError> {
    let key = load_or_create_key(&config.log_key_path())?;
    let default_name = format!(
        "fieldtrail.local/{:08x}",
        fieldtrail_domain::note::key_id("fieldtrail.local", key.verifying_key().as_bytes())
    );
    let origin = config.origin.clone().unwrap_or(default_name);
    let signer =
        NoteSigner::new(&origin, key).map_err(|err| StartError::Origin(err.to_string()))?;
    Ok(LogSigner { origin, signer })
}

/// A running server: bound, with its port known (port 0 in the config picks a free one).
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Opens storage and binds the listener. Must be called inside an actix/tokio runtime.
    pub fn build(config: &Config) -> Result<Application, StartError> {
        let state = open_state(config)?;
        Self::serve(config, state)
    }

    pub fn serve(config: &Config, state: web::Data<AppState>) -> Result<Application, StartError> {
        let bind_error = |source| StartError::Bind {
            bind: config.bind.clone(),
            source,
        };
        let listener = TcpListener::bind(&config.bind).map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();
        let app_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    ApiError::Malformed {
                        detail: format!("bad query string: {err}"),
                        problems: Vec::new(),
                    }
                    .into()
                }))
                .app_data(web::PathConfig::default().error_handler(|err, _| {
                    ApiError::NotFound(format!("bad path: {err}")).into()
                }))
                .wrap_fn(|req, service| {
                    let started = Instant::now();
                    let method = req.method().clone();
                    let path = req.path().to_owned();
                    let response = service.call(req);
                    async move {
                        let response = response.await?;
                        tracing::debug!(
                            %method,
                            %path,
                            status = response.status().as_u16(),
                            micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                            "request"
                        );
                        Ok(response)
                    }
                })
                .configure(|cfg| routes::configure(cfg, &mut Vec::new()))
        })
        .listen(listener)
        .map_err(bind_error)?;
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        if config.embedded {
            // An embedded server (tests) must not take over the process's Ctrl-C handling.
            server = server.disable_signals();
        }
        spawn_checkpointer(state.clone(), config.checkpoint_interval);
        spawn_deadline_watch(state.clone());
        webhooks::spawn_sender(state.clone(), config.webhook_retry.clone());
        spawn_proposal_watch(state.clone(), config.proposal_watch);
        Ok(Application {
            port,
            server: server.run(),
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server from another thread or task.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until stopped (SIGTERM or Ctrl-C, or the handle): actix stops accepting and
    /// answers every request it has taken; each of those has had its write committed or refused
    /// by the writer before it was answered. Then the final checkpoint is signed, so that the
    /// last acknowledged entry is covered by a signed checkpoint when the process exits.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let state = self.state.clone();
        self.server.await?;
        let signed = state.writer.checkpoint().await;
        // Its connection closed now, not at whatever moment the process's exit reaches it.
        state.writer.stop().await;
        match signed {
            Ok(checkpoint) => {
                tracing::info!(size = checkpoint.size, "stopped; final checkpoint signed");
                Ok(())
            }
            Err(err) => {
                tracing::error!(error = %err, "stopped, but the final checkpoint could not be signed");
                Err(std::io::Error::other(format!(
                    "the final checkpoint could not be signed: {err}"
                )))
            }
        }
    }
}

/// Signs a checkpoint every `interval` while entries arrive (the writer skips it when the
/// latest checkpoint already covers the tree).
fn spawn_checkpointer(state: web::Data<AppState>, interval: std::time::Duration) {
    actix_web::rt::spawn(async move {
        let mut ticker = actix_web::rt::time::interval(interval);
        loop {
            ticker.tick().await;
            if let Err(err) = state.writer.checkpoint().await {
                tracing::warn!(error = %err, "periodic checkpoint failed");
            }
        }
    });
}

/// How often open challenges are checked for a passed deadline.
const DEADLINE_WATCH: std::time::Duration = std::time::Duration::from_secs(1);

/// Asks the writer every second to decide `missed` for challenges whose deadline has passed,
/// so the outcome is recorded without any request arriving (and after a restart too: the open
/// challenges are loaded from the database).
fn spawn_deadline_watch(state: web::Data<AppState>) {
    actix_web::rt::spawn(async move {
        let mut ticker = actix_web::rt::time::interval(DEADLINE_WATCH);
        loop {
            ticker.tick().await;
            if let Err(err) = state.writer.expire_challenges().await {
                tracing::warn!(error = %err, "deciding missed challenges failed");
            }
        }
    });
}

/// Looks at the negative-list items the facts propose, this month and last, and has the writer
/// raise `negative_item.proposed` for each not alerted yet: an item such as a month below the
/// residency rule appears when its month closes, with no request to notice it.
fn spawn_proposal_watch(state: web::Data<AppState>, interval: std::time::Duration) {
    actix_web::rt::spawn(async move {
        // Not at once: a server just started has nothing new, and tests must not see it run.
        let first = actix_web::rt::time::Instant::now() + interval;
        let mut ticker = actix_web::rt::time::interval_at(first, interval);
        loop {
            ticker.tick().await;
            if let Err(err) = raise_proposals(&state).await {
                tracing::warn!(error = %err, "raising alerts for proposed negative-list items");
            }
        }
    });
}

async fn raise_proposals(state: &AppState) -> Result<(), ApiError> {
    use fieldtrail_domain::spotcheck::Period;
    let today = handlers::supervision::today(state);
    let this_month = Period::month_of(today);
    let last_month = Period::month_of(this_month.first_day().previous_day().unwrap_or(today));
    let items = handlers::read(&state.db, move |conn| {
        let mut items = Vec::new();
        for month in [last_month, this_month] {
            items.extend(
                fieldtrail_storage::supervision::negative::proposed_everywhere(conn, month, today)?,
            );
        }
        Ok(items)
    })
    .await?;
    let text =
        |item: &serde_json::Value, key: &str| item[key].as_str().unwrap_or_default().to_owned();
    let proposed: Vec<fieldtrail_storage::writer::ProposedItem> = items
        .iter()
        .map(|item| fieldtrail_storage::writer::ProposedItem {
            item_id: text(item, "id"),
            rule: text(item, "rule"),
            person_id: text(item, "person_id"),
            unit_code: text(item, "unit_code"),
            month: text(item, "month"),
            message: text(item, "message"),
        })
        .collect();
    if !proposed.is_empty() {
        state.writer.raise_proposed(proposed).await?;
    }
    Ok(())
}
