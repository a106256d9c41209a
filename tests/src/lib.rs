//! The black-box test harness: each test starts the real fieldtrail server on a random port,
//! with a fresh database of its own (a temporary SQLite file, or a new PostgreSQL database),
//! and talks HTTP to it with real tokens.
//!
//! PostgreSQL tests need `FIELDTRAIL_TEST_PG_URL` (a URL to an existing database of a role that
//! may create databases, e.g. `postgres://postgres@127.0.0.1:5432/postgres`). Without it they
//! are skipped, unless `FIELDTRAIL_REQUIRE_PG=1`, which makes them fail instead.

pub mod field;
pub mod fixtures;
pub mod python;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use fieldtrail_api::auth::hash_password;
use fieldtrail_api::config::Config;
use fieldtrail_api::Application;
use fieldtrail_domain::person::{DisplayName, Role, Username};
use fieldtrail_storage::writer::NewPerson;
use serde_json::Value;
use std::sync::mpsc;

pub use fieldtrail_storage::Backend;

pub const ROOT_USER: &str = "root";
pub const ROOT_PASSWORD: &str = "root-password";

/// Runs a test body once per backend: `both_backends!(name_a, name_b);` makes
/// `name_a::sqlite`, `name_a::postgres`, … from `fn name_a(backend: Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name($crate::Backend::Sqlite)
                }
                #[test]
                fn postgres() {
                    super::$name($crate::Backend::Postgres)
                }
            }
        )*
    };
}

/// A fresh PostgreSQL database, dropped when the test ends.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) =
            diesel::PgConnection::establish(&fieldtrail_storage::without_gss(&self.admin_url))
        {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn postgres_database() -> Option<(String, PgDatabase)> {
    let admin_url = match std::env::var("FIELDTRAIL_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var("FIELDTRAIL_REQUIRE_PG").as_deref() != Ok("1"),
                "FIELDTRAIL_REQUIRE_PG=1 but FIELDTRAIL_TEST_PG_URL is not set"
            );
            eprintln!("skipped: FIELDTRAIL_TEST_PG_URL is not set");
            return None;
        }
    };
    let name = format!("fieldtrail_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = diesel::PgConnection::establish(&fieldtrail_storage::without_gss(&admin_url))
        .unwrap_or_else(|err| panic!("cannot reach PostgreSQL at FIELDTRAIL_TEST_PG_URL: {err}"));
    conn.batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base.to_owned())
        .expect("FIELDTRAIL_TEST_PG_URL must name a database");
    // The local test PostgreSQL takes trust auth over loopback; without TLS the test process
    // keeps OpenSSL out of libpq, whose exit-time cleanup raced with a server thread's
    // connection and aborted processes after their test had passed (docs/reliability.md).
    let url = format!("{base}/{name}?sslmode=disable");
    Some((url, PgDatabase { admin_url, name }))
}

/// One HTTP response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    /// The Retry-After header, if the server sent one (with 503 and 429).
    pub retry_after: Option<String>,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// Asserts the response is an RFC 9457 problem with this status and returns its body.
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.content_type, "application/problem+json",
            "body: {}",
            self.text
        );
        for member in ["type", "title", "status", "detail"] {
            assert!(
                self.body.get(member).is_some(),
                "problem lacks {member}: {}",
                self.text
            );
        }
        assert_eq!(self.body["status"], status);
        &self.body
    }

    /// The pointers of a validation problem's `errors`.
    pub fn pointers(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["pointer"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub struct TestApp {
    pub backend: Backend,
    pub base: String,
    pub database_url: String,
    pub data_dir: tempfile::TempDir,
    /// The server's clock: move it forward to pass deadlines without waiting.
    pub clock: fieldtrail_storage::Clock,
    agent: ureq::Agent,
    handle: actix_web::dev::ServerHandle,
    /// Closed when the server's thread has ended: its runtime, writer and pool are gone.
    finished: std::sync::Mutex<mpsc::Receiver<()>>,
    proposal_watch: std::time::Duration,
    // Dropped after the server has stopped.
    _pg: Option<PgDatabase>,
}

/// How long a stopping test server may take to end its thread.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// A started server: its port, its handle, and the channel that closes when its thread ends.
type Started = (u16, actix_web::dev::ServerHandle, mpsc::Receiver<()>);

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop is sent at once; the returned future only waits for completion. Then wait for
        // the thread, so that no connection of the server's is still open when the test's
        // database is dropped or the process exits (libpq's cleanup at exit crashed on one).
        self.stop_and_wait();
    }
}

impl TestApp {
    fn stop_and_wait(&mut self) {
        drop(self.handle.stop(false));
        if let Ok(finished) = self.finished.get_mut() {
            let _ = finished.recv_timeout(STOP_WAIT);
        }
    }

    /// Starts a server with a fresh database and a whole-tree admin (`root`). None when the
    /// backend is not available here (PostgreSQL not configured).
    pub fn spawn(backend: Backend) -> Option<TestApp> {
        // Hourly, as in production: no test sees a proposal alert it did not ask for.
        Self::spawn_watching_proposals(backend, std::time::Duration::from_secs(3600))
    }

    /// [`TestApp::spawn`], looking for proposed negative-list items `every` so often.
    pub fn spawn_watching_proposals(
        backend: Backend,
        proposal_watch: std::time::Duration,
    ) -> Option<TestApp> {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let (database_url, pg) = match backend {
            Backend::Sqlite => (
                data_dir
                    .path()
                    .join("fieldtrail.sqlite")
                    .to_string_lossy()
                    .into_owned(),
                None,
            ),
            Backend::Postgres => {
                let (url, pg) = postgres_database()?;
                (url, Some(pg))
            }
        };
        let clock = fieldtrail_storage::Clock::system();
        let started = Self::start(data_dir.path(), &database_url, &clock, true, proposal_watch)
            .unwrap_or_else(|err| panic!("server failed to start: {err}"));
        let mut app = Self::connected(backend, started, database_url, data_dir, clock, pg);
        app.proposal_watch = proposal_watch;
        Some(app)
    }

    /// Stops the server and starts a new one on the same data and database, as after a
    /// restart of the process; the clock keeps its setting. Waits (bounded) for the old
    /// writer to let go of the database.
    pub fn restart(self) -> TestApp {
        self.restart_after(|_| {})
    }

    /// Stops the server, runs `offline` (a command that needs the server stopped, given the
    /// stopped app), then starts it again as [`TestApp::restart`] does.
    pub fn restart_after(mut self, offline: impl FnOnce(&TestApp)) -> TestApp {
        // Wait for the old server's thread to end: its writer has let go of the database.
        self.stop_and_wait();
        offline(&self);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let (port, handle, finished) = loop {
            match Self::start(
                self.data_dir.path(),
                &self.database_url,
                &self.clock,
                false,
                self.proposal_watch,
            ) {
                Ok(started) => break started,
                Err(err) if std::time::Instant::now() < deadline => {
                    eprintln!("restart: {err}; retrying");
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(err) => panic!("server failed to restart: {err}"),
            }
        };
        let data_dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("temp"));
        let pg = self._pg.take();
        let mut app = Self::connected(
            self.backend,
            (port, handle, finished),
            self.database_url.clone(),
            data_dir,
            self.clock.clone(),
            pg,
        );
        app.proposal_watch = self.proposal_watch;
        app
    }

    fn connected(
        backend: Backend,
        (port, handle, finished): Started,
        database_url: String,
        data_dir: tempfile::TempDir,
        clock: fieldtrail_storage::Clock,
        pg: Option<PgDatabase>,
    ) -> TestApp {
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build(),
        );
        TestApp {
            proposal_watch: std::time::Duration::from_secs(3600),
            backend,
            base: format!("http://127.0.0.1:{port}"),
            database_url,
            data_dir,
            clock,
            agent,
            handle,
            finished: std::sync::Mutex::new(finished),
            _pg: pg,
        }
    }

    /// Starts a server on `data_dir` and `database_url` in a thread of its own; with
    /// `first_admin`, creates `root` too.
    fn start(
        data_dir: &std::path::Path,
        database_url: &str,
        clock: &fieldtrail_storage::Clock,
        first_admin: bool,
        proposal_watch: std::time::Duration,
    ) -> Result<Started, String> {
        let mut config = Config::new(data_dir);
        config.bind = "127.0.0.1:0".into();
        config.database_url = Some(database_url.to_owned());
        config.workers = Some(2);
        config.read_pool_size = 4;
        config.embedded = true;
        // Tests sign checkpoints on demand; a periodic one must not race their assertions.
        config.checkpoint_interval = std::time::Duration::from_secs(3600);
        config.clock = clock.clone();
        // Webhook retries in fractions of a second, so an outage and its recovery fit a test.
        config.proposal_watch = proposal_watch;
        config.webhook_retry = fieldtrail_api::webhooks::RetrySchedule {
            first: std::time::Duration::from_millis(200),
            max: std::time::Duration::from_secs(1),
            give_up_after: std::time::Duration::from_secs(600),
        };
        let (started, ready) = mpsc::channel();
        let (finish, finished) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            // Dropped when the thread ends, after the runtime and everything it held.
            let _finish = finish;
            actix_web::rt::System::new().block_on(async move {
                let app = match Application::build(&config) {
                    Ok(app) => app,
                    Err(err) => {
                        let _ = started.send(Err(err.to_string()));
                        return;
                    }
                };
                if first_admin {
                    let state = app.state();
                    let root = NewPerson {
                        username: Username::parse(ROOT_USER).expect("username"),
                        password_hash: hash_password(ROOT_PASSWORD).expect("hash"),
                        display_name: DisplayName::parse("Root admin").expect("name"),
                        role: Role::Admin,
                        unit_code: None,
                        phone: None,
                        must_change_password: false,
                    };
                    if let Err(err) = state.writer.create_first_admin(root).await {
                        let _ = started.send(Err(err.to_string()));
                        return;
                    }
                }
                let _ = started.send(Ok((app.port(), app.handle())));
                let _ = app.run_until_stopped().await;
            });
        });
        let (port, handle) = ready
            .recv()
            .map_err(|_| "server thread died".to_owned())??;
        Ok((port, handle, finished))
    }

    fn finish(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Resp {
        Self::read_response(result.expect("HTTP request failed"))
    }

    fn read_response(response: ureq::http::Response<ureq::Body>) -> Resp {
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (status, content_type, bytes) = Self::read_raw(response);
        let text = bytes
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            content_type,
            retry_after,
            body,
            text,
        }
    }

    fn read_raw(
        mut response: ureq::http::Response<ureq::Body>,
    ) -> (u16, String, Result<Vec<u8>, ureq::Error>) {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec();
        (status, content_type, bytes)
    }

    /// Stops the server at once (connections are dropped, as when the process dies) and keeps
    /// its database for inspection.
    pub fn stop(&self) {
        drop(self.handle.stop(false));
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        let mut request = self.agent.get(self.url(path));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        Self::finish(request.call())
    }

    pub fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        let mut request = self.agent.delete(self.url(path));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        Self::finish(request.call())
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.post_raw(path, token, body.to_string().as_bytes())
    }

    pub fn post_raw(&self, path: &str, token: Option<&str>, bytes: &[u8]) -> Resp {
        self.try_post_raw(path, token, bytes)
            .unwrap_or_else(|err| panic!("HTTP request failed: {err}"))
    }

    pub fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        let mut request = self
            .agent
            .put(self.url(path))
            .header("Content-Type", "application/json");
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        Self::finish(request.send(body.to_string().as_bytes()))
    }

    /// A POST of raw bytes with the given Content-Type (e.g. a photo upload).
    pub fn post_bytes(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        bytes: &[u8],
    ) -> Resp {
        let mut request = self
            .agent
            .post(self.url(path))
            .header("Content-Type", content_type);
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        Self::finish(request.send(bytes))
    }

    /// A GET whose body is returned as raw bytes (for binary downloads), with status and type.
    pub fn get_bytes(&self, path: &str, token: Option<&str>) -> (u16, String, Vec<u8>) {
        let mut request = self.agent.get(self.url(path));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let (status, content_type, bytes) =
            Self::read_raw(request.call().expect("HTTP request failed"));
        (status, content_type, bytes.expect("read body"))
    }

    /// A POST that may fail at the connection level (a server may answer 413 and close before
    /// the whole body is written); the error is the transport's message.
    pub fn try_post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        bytes: &[u8],
    ) -> Result<Resp, String> {
        let mut request = self
            .agent
            .post(self.url(path))
            .header("Content-Type", "application/json");
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        request
            .send(bytes)
            .map(Self::read_response)
            .map_err(|err| err.to_string())
    }

    /// Sends a request with a raw Authorization header value.
    pub fn get_with_authorization(&self, path: &str, authorization: &str) -> Resp {
        Self::finish(
            self.agent
                .get(self.url(path))
                .header("Authorization", authorization)
                .call(),
        )
    }

    pub fn login(&self, username: &str, password: &str) -> String {
        let resp = self.post(
            "/v1/auth/login",
            None,
            &serde_json::json!({"username": username, "password": password}),
        );
        assert_eq!(
            resp.status, 200,
            "login of {username} failed: {}",
            resp.text
        );
        resp.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    pub fn root_token(&self) -> String {
        self.login(ROOT_USER, ROOT_PASSWORD)
    }

    /// The token signing key the server created in its data dir (for forging test tokens).
    pub fn signing_key_pem(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("jwt-ed25519.pem")).expect("key file")
    }

    /// A direct database connection, bypassing the API (for proving what the database refuses).
    pub fn db(&self) -> fieldtrail_storage::DbConnection {
        fieldtrail_storage::db_connect(&self.database_url).expect("direct connection")
    }

    /// Runs one SQL statement directly; Err carries the database's message.
    pub fn sql(&self, statement: &str) -> Result<(), String> {
        self.db()
            .batch_execute(statement)
            .map_err(|err| err.to_string())
    }

    /// A single number from SQL, e.g. a count.
    pub fn sql_count(&self, query: &str) -> i64 {
        use diesel::RunQueryDsl;
        diesel::dsl::sql::<diesel::sql_types::BigInt>(query)
            .get_result(&mut self.db())
            .expect("count query")
    }
}

impl TestApp {
    /// The latest signed checkpoint (signed on demand) as the server serves it.
    pub fn checkpoint_note(&self) -> String {
        let resp = self.get("/v1/ledger/checkpoint", None);
        assert_eq!(resp.status, 200, "{}", resp.text);
        assert!(
            resp.content_type.starts_with("text/plain"),
            "{}",
            resp.content_type
        );
        resp.text
    }

    /// The log's verifier key (`name+id+key`).
    pub fn log_key(&self) -> String {
        let resp = self.get("/v1/ledger/key", None);
        assert_eq!(resp.status, 200, "{}", resp.text);
        resp.text.trim().to_owned()
    }

    /// Drops the triggers that keep the ledger, its tree and checkpoints append-only — what an
    /// attacker with database access would do first.
    pub fn drop_append_only_triggers(&self) {
        let statements = match self.backend {
            Backend::Sqlite => [
                "DROP TRIGGER ledger_no_update",
                "DROP TRIGGER ledger_no_delete",
                "DROP TRIGGER merkle_nodes_no_delete",
                "DROP TRIGGER checkpoints_no_delete",
            ],
            Backend::Postgres => [
                "DROP TRIGGER ledger_no_update ON ledger",
                "DROP TRIGGER ledger_no_truncate ON ledger",
                "DROP TRIGGER merkle_nodes_no_update ON merkle_nodes",
                "DROP TRIGGER checkpoints_no_update ON checkpoints",
            ],
        };
        for statement in statements {
            self.sql(statement).expect(statement);
        }
    }
}

/// A response with its headers and its body as raw bytes (for downloads and header checks).
#[derive(Debug)]
pub struct FullResp {
    pub resp: Resp,
    pub headers: ureq::http::HeaderMap,
    pub bytes: Vec<u8>,
}

impl FullResp {
    /// A header's value as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    /// Any method on any path, optionally with a body of the given Content-Type; the response
    /// with its headers and raw body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, &[u8])>,
    ) -> FullResp {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        if let Some(token) = token {
            builder = builder.header("Authorization", format!("Bearer {token}"));
        }
        let result = match body {
            Some((content_type, bytes)) => self.agent.run(
                builder
                    .header("Content-Type", content_type)
                    .body(bytes.to_vec())
                    .expect("request"),
            ),
            None => self.agent.run(builder.body(()).expect("request")),
        };
        let response = result.expect("HTTP request failed");
        let headers = response.headers().clone();
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (status, content_type, bytes) = Self::read_raw(response);
        let bytes = bytes.expect("read body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        FullResp {
            resp: Resp {
                status,
                content_type,
                retry_after,
                body,
                text,
            },
            headers,
            bytes,
        }
    }
}
