use std::path::{Path, PathBuf};

/// Where fieldtrail keeps its state and how it listens. Built from the command line and the
/// environment by `main`; tests build it directly.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; otherwise an SQLite file path. Default: inside data_dir.
    pub database_url: Option<String>,
    /// The token signing key; default `<data_dir>/jwt-ed25519.pem`, created on first start.
    pub jwt_key: Option<PathBuf>,
    /// The checkpoint signing key; default `<data_dir>/log-ed25519.pem`, created on first start.
    pub log_key: Option<PathBuf>,
    /// Where photos are stored, content-addressed; default `<data_dir>/attachments`.
    pub attachments_dir: Option<PathBuf>,
    /// The log's origin line; default `fieldtrail.local/<key id of the log key>`.
    pub origin: Option<String>,
    /// How often a new checkpoint is signed while entries arrive.
    pub checkpoint_interval: std::time::Duration,
    pub token_ttl_seconds: i64,
    pub read_pool_size: u32,
    /// HTTP worker threads; default: one per core.
    pub workers: Option<usize>,
    /// Running inside another program (tests): leave signal handling to it.
    pub embedded: bool,
    /// The clock the server judges by; tests move it forward to pass deadlines.
    pub clock: fieldtrail_storage::Clock,
    /// When webhook deliveries are retried and given up.
    pub webhook_retry: crate::webhooks::RetrySchedule,
    /// How often proposed negative-list items are looked for, to alert on new ones.
    pub proposal_watch: std::time::Duration,
    /// Failed logins tolerated per username and per address, and the lockout.
    pub login_limits: crate::login_limits::LoginLimitConfig,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./fieldtrail-data";
pub const DEFAULT_TOKEN_TTL_SECONDS: i64 = 12 * 3600;

impl Config {
    pub fn new(data_dir: impl AsRef<Path>) -> Config {
        Config {
            bind: DEFAULT_BIND.to_owned(),
            data_dir: data_dir.as_ref().to_path_buf(),
            database_url: None,
            jwt_key: None,
            log_key: None,
            origin: None,
            attachments_dir: None,
            checkpoint_interval: std::time::Duration::from_secs(10),
            token_ttl_seconds: DEFAULT_TOKEN_TTL_SECONDS,
            read_pool_size: 8,
            workers: None,
            embedded: false,
            clock: fieldtrail_storage::Clock::system(),
            webhook_retry: crate::webhooks::RetrySchedule::default(),
            proposal_watch: std::time::Duration::from_secs(3600),
            login_limits: crate::login_limits::LoginLimitConfig::default(),
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            self.data_dir
                .join("fieldtrail.sqlite")
                .to_string_lossy()
                .into_owned()
        })
    }

    pub fn log_key_path(&self) -> PathBuf {
        self.log_key
            .clone()
            .unwrap_or_else(|| self.data_dir.join("log-ed25519.pem"))
    }

    pub fn attachments_path(&self) -> PathBuf {
        self.attachments_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("attachments"))
    }

    pub fn jwt_key_path(&self) -> PathBuf {
        self.jwt_key
            .clone()
            .unwrap_or_else(|| self.data_dir.join("jwt-ed25519.pem"))
    }
}
