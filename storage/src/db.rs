use crate::error::{StorageError, StorageResult};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to whichever backend the URL named; queries are written once for both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// WAL lets readers run beside the writer; FULL makes every commit durable across power loss,
/// which evidence needs. Foreign keys are off by default in SQLite. Temporary tables and
/// statement journals stay in memory: they never need to survive the connection, and writing
/// them to a temporary file cost the writer a system call per statement.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA temp_store = MEMORY;";

/// A PostgreSQL URL with GSSAPI encryption off unless it says otherwise: fieldtrail does not use
/// Kerberos, and libpq's GSSAPI code can abort the process on a krb5 mutex at exit while another
/// thread still holds a connection (seen as a SIGSEGV after a test had passed).
pub fn without_gss(url: &str) -> String {
    if url.contains("gssencmode=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}gssencmode=disable")
}

/// Opens one connection of the backend the URL names, set up as fieldtrail needs it.
pub fn establish(url: &str) -> StorageResult<DbConnection> {
    match Backend::of_url(url) {
        Backend::Postgres => diesel::PgConnection::establish(&without_gss(url))
            .map(DbConnection::Postgres)
            .map_err(|err| StorageError::Connection(err.to_string())),
        Backend::Sqlite => {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            let mut conn = diesel::SqliteConnection::establish(path)
                .map_err(|err| StorageError::Connection(err.to_string()))?;
            conn.batch_execute(SQLITE_PRAGMAS)?;
            Ok(DbConnection::Sqlite(conn))
        }
    }
}

/// Opens the pool's connections with [`establish`]. diesel's own `ConnectionManager` would call
/// the derived `DbConnection::establish`, which tries every backend in turn on any URL (a
/// PostgreSQL URL as an SQLite file name too) and, when PostgreSQL is down, reports only "Invalid
/// connection url for multiconnection" instead of why the connection failed.
#[derive(Debug)]
pub struct Connector {
    url: String,
}

impl ManageConnection for Connector {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        establish(&self.url).map_err(|err| {
            diesel::r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(
                err.to_string(),
            ))
        })
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// The read side: a pool of connections. Writes go through [`crate::Writer`].
#[derive(Clone)]
pub struct Database {
    pool: Pool<Connector>,
    backend: Backend,
    url: String,
}

impl Database {
    /// Connects, runs pending migrations and opens the read pool.
    pub fn open(url: &str, pool_size: u32) -> StorageResult<Database> {
        let backend = Backend::of_url(url);
        let mut conn = establish(url)?;
        run_migrations(&mut conn)?;
        drop(conn);
        let pool = Pool::builder()
            .max_size(pool_size)
            // When the database is down a read waits this long for a connection, then is
            // answered 503 with Retry-After (docs/reliability.md), rather than hanging.
            .connection_timeout(Duration::from_secs(5))
            .build(Connector {
                url: url.to_owned(),
            })
            .map_err(|err| StorageError::Connection(err.to_string()))?;
        Ok(Database {
            pool,
            backend,
            url: url.to_owned(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn conn(&self) -> StorageResult<PooledConnection<Connector>> {
        Ok(self.pool.get()?)
    }

    /// True when a query round-trips; what /healthz reports.
    pub fn is_reachable(&self) -> bool {
        self.pool
            .get_timeout(Duration::from_secs(2))
            .ok()
            .and_then(|mut conn| conn.batch_execute("SELECT 1").ok())
            .is_some()
    }
}

pub fn run_migrations(conn: &mut DbConnection) -> StorageResult<()> {
    let result = match conn {
        DbConnection::Sqlite(inner) => inner.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConnection::Postgres(inner) => inner
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|_| ()),
    };
    result.map_err(|err| StorageError::Migration(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_is_chosen_by_url_scheme() {
        assert_eq!(
            Backend::of_url("postgres://localhost/db"),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("postgresql://localhost/db"),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("/var/lib/fieldtrail/fieldtrail.sqlite"),
            Backend::Sqlite
        );
        assert_eq!(Backend::of_url("sqlite:///tmp/x.sqlite"), Backend::Sqlite);
    }

    #[test]
    fn postgres_urls_turn_gssapi_off_unless_they_say_otherwise() {
        assert_eq!(
            without_gss("postgres://u@h/db"),
            "postgres://u@h/db?gssencmode=disable"
        );
        assert_eq!(
            without_gss("postgres://u@h/db?sslmode=disable"),
            "postgres://u@h/db?sslmode=disable&gssencmode=disable"
        );
        assert_eq!(
            without_gss("postgres://u@h/db?gssencmode=prefer"),
            "postgres://u@h/db?gssencmode=prefer"
        );
    }

    #[test]
    fn sqlite_migrations_apply_and_revert_cleanly() {
        let dir = std::env::temp_dir().join(format!("ft-mig-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = dir.join("db.sqlite").to_string_lossy().into_owned();
        let mut conn = establish(&url).unwrap();
        run_migrations(&mut conn).unwrap();
        if let DbConnection::Sqlite(inner) = &mut conn {
            inner.revert_all_migrations(SQLITE_MIGRATIONS).unwrap();
            let left: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' \
                 AND name <> '__diesel_schema_migrations'",
            )
            .get_result(inner)
            .unwrap();
            assert_eq!(left, 0, "down.sql must undo everything up.sql made");
        }
        std::fs::remove_dir_all(dir).ok();
    }

    /// One check-in as the writer stores it, written directly: enough for the latest
    /// migration's down.sql to rebuild what it moved (the stored answer).
    const ONE_RECORD: &str = "\
        INSERT INTO units (code, name, level, path, tolerance_m, seq) \
            VALUES ('u1', 'U', 'village', '/u1/', 20, 1); \
        INSERT INTO people (id, username, password_hash, display_name, role, unit_code, unit_path, seq) \
            VALUES ('p1', 'cadre', 'x', 'C', 'cadre', 'u1', '/u1/', 2); \
        INSERT INTO ledger (seq, entry_id, kind, actor, unit_code, captured_at, received_at, body, \
            leaf_hash, verdicts) VALUES (3, 'e3', 'check_in', 'p1', 'u1', 1764000000000000, \
            1764000000123456, 'x', 'ab', '{\"flags\":[\"late_sync\"],\"verdict\":{\"geo\":\"inside\"}}'); \
        INSERT INTO ledger_payloads (seq, salt, payload) VALUES (3, 's', 'p'); \
        INSERT INTO records (seq, id, person_id, kind, captured_at, content_hash, geo, roster) \
            VALUES (3, 'r3', 'p1', 'check_in', 1764000000000000, 'h', 'inside', 'assigned'); \
        INSERT INTO fixes (seq, record_id, person_id, captured_at, lon, lat, sent_lon, sent_lat, \
            accuracy_m) VALUES (3, 'r3', 'p1', 1764000000000000, 116.9, 34.2, 116.9, 34.2, 10);";

    /// A household visit stored before the spot-checks migration (PAYLOAD: its payload bytes as
    /// the backend writes a blob literal). Its records row is written by the write-path schema,
    /// which has no `response` column.
    const ONE_VISIT: &str = "\
        INSERT INTO ledger (seq, entry_id, kind, actor, unit_code, captured_at, received_at, body, \
            leaf_hash, verdicts) SELECT 4, 'e4', 'household_visit', 'p1', 'u1', 1764000000000000, \
            1764000000123456, body, leaf_hash, verdicts FROM ledger WHERE seq = 3; \
        INSERT INTO ledger_payloads (seq, salt, payload) SELECT 4, salt, PAYLOAD \
            FROM ledger_payloads WHERE seq = 3; \
        INSERT INTO records (seq, id, person_id, kind, captured_at, content_hash, geo, roster) \
            SELECT 4, 'r4', 'p1', 'household_visit', captured_at, content_hash, geo, roster \
            FROM records WHERE seq = 3;";

    /// A supervisor's note about the cadre stored before the supervision migration (PAYLOAD as
    /// in ONE_VISIT), its entry a copy of the check-in's (flags included).
    const ONE_NOTE: &str = "\
        INSERT INTO people (id, username, password_hash, display_name, role, unit_code, unit_path, seq) \
            VALUES ('s1', 'sup', 'x', 'S', 'supervisor', 'u1', '/u1/', 6); \
        INSERT INTO ledger (seq, entry_id, kind, actor, unit_code, captured_at, received_at, body, \
            leaf_hash, verdicts) SELECT 5, 'e5', 'note', 's1', 'u1', 1764000000000000, \
            1764000000123456, body, leaf_hash, verdicts FROM ledger WHERE seq = 3; \
        INSERT INTO ledger_payloads (seq, salt, payload) SELECT 5, salt, PAYLOAD \
            FROM ledger_payloads WHERE seq = 3; \
        INSERT INTO records (seq, id, person_id, kind, captured_at, content_hash, geo, roster) \
            SELECT 5, 'r5', 's1', 'note', captured_at, content_hash, 'none', roster \
            FROM records WHERE seq = 3;";

    /// An acknowledged alert of the check-in, as the alert acks migration stores it.
    const ONE_ALERT: &str = "\
        INSERT INTO alerts (id, seq, kind, unit_code, unit_path, person_id, source_id, status, \
            created_at, detail, acked_by, acked_at, ack_note, ack_seq) VALUES ('a1', 3, \
            'record.outside', 'u1', '/u1/', 'p1', 'r3', 'acknowledged', 1, '{}', 'p1', 2, 'n', 3);";

    /// What the supervision migration backfilled: record_flags and notes rows as lines.
    fn supervision_backfilled(conn: &mut DbConnection) -> Vec<String> {
        let mut lines: Vec<String> = diesel::dsl::sql::<diesel::sql_types::Text>(
            "SELECT CAST(seq AS TEXT) || ' ' || person_id || ' ' || flags FROM record_flags",
        )
        .load(conn)
        .unwrap();
        lines.extend(
            diesel::dsl::sql::<diesel::sql_types::Text>(
                "SELECT record_id || ' ' || person_id || ' ' || author_id || ' ' || category \
                 FROM notes",
            )
            .load::<String>(conn)
            .unwrap(),
        );
        lines.sort();
        lines
    }

    fn expected_supervision() -> Vec<&'static str> {
        vec![
            "3 p1 late_sync",
            "4 p1 late_sync",
            "5 s1 late_sync",
            "r5 p1 s1 training",
        ]
    }

    const NOTE_PAYLOAD: &str = "{\"person_id\":\"p1\",\"category\":\"training\",\"text\":\"t\"}";

    /// The visits rows, as `seq household person` lines.
    fn visits_backfilled(conn: &mut DbConnection) -> String {
        diesel::dsl::sql::<diesel::sql_types::Text>(
            "SELECT CAST(seq AS TEXT) || ' ' || household_id || ' ' || person_id FROM visits",
        )
        .get_result(conn)
        .unwrap()
    }

    /// The answer the latest down.sql put back into records.response.
    fn rebuilt_answer(conn: &mut DbConnection) -> serde_json::Value {
        let text: String = diesel::dsl::sql::<diesel::sql_types::Text>(
            "SELECT response FROM records WHERE id = 'r3'",
        )
        .get_result(conn)
        .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn expected_answer() -> serde_json::Value {
        serde_json::json!({
            "id": "r3", "kind": "check_in", "seq": 3, "leaf_index": 2, "leaf_hash": "ab",
            "received_at": "2025-11-24T16:00:00.123456Z",
            "verdict": {"geo": "inside"}, "flags": ["late_sync"],
        })
    }

    #[test]
    fn sqlite_write_path_migration_reverts_with_data() {
        let dir = std::env::temp_dir().join(format!("ft-mig-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = dir.join("db.sqlite").to_string_lossy().into_owned();
        let mut conn = establish(&url).unwrap();
        run_migrations(&mut conn).unwrap();
        conn.batch_execute(
            &ONE_RECORD
                .replace("'x', 'ab'", "X'00', X'ab'")
                .replace("'s', 'p'", "X'00', X'00'")
                .replace("'h'", "X'00'"),
        )
        .unwrap();
        if let DbConnection::Sqlite(inner) = &mut conn {
            // Back before the spot-checks migration (through the health probe, roster life cycle, purge, webhooks, read audits,
            // alert acks and supervision ones): its visits come from the household visits
            // stored before, and the supervision migration's flags and notes from what was.
            inner.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
            inner.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
            inner.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
            inner.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
            inner.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
            inner.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
            inner.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
            inner.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
        }
        conn.batch_execute(
            &ONE_VISIT.replace("PAYLOAD", "CAST('{\"household_id\":\"h1\"}' AS BLOB)"),
        )
        .unwrap();
        conn.batch_execute(
            &ONE_NOTE.replace("PAYLOAD", &format!("CAST('{NOTE_PAYLOAD}' AS BLOB)")),
        )
        .unwrap();
        if let DbConnection::Sqlite(inner) = &mut conn {
            inner.run_next_migration(SQLITE_MIGRATIONS).unwrap();
        }
        assert_eq!(visits_backfilled(&mut conn), "4 h1 p1");
        if let DbConnection::Sqlite(inner) = &mut conn {
            inner.run_next_migration(SQLITE_MIGRATIONS).unwrap();
        }
        assert_eq!(supervision_backfilled(&mut conn), expected_supervision());
        if let DbConnection::Sqlite(inner) = &mut conn {
            // The alert acks migration, forth and back, with an alert stored.
            inner.run_next_migration(SQLITE_MIGRATIONS).unwrap();
        }
        conn.batch_execute(ONE_ALERT).unwrap();
        if let DbConnection::Sqlite(inner) = &mut conn {
            inner.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
            inner.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
            inner.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
            inner.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
        }
        assert_eq!(rebuilt_answer(&mut conn), expected_answer());
        std::fs::remove_dir_all(dir).ok();
    }

    const PHOTO_ENTRY: &str = "\
        INSERT INTO ledger (seq, entry_id, kind, actor, unit_code, captured_at, received_at, body, \
            leaf_hash, verdicts) VALUES (1, 'e1', 'visit', 'p1', 'u1', 1764000000000000, \
            1764000000123456, BODY, BODY, '{\"attachments\":[\"aa\",\"bb\"],\"flags\":[]}'); \
        INSERT INTO ledger (seq, entry_id, kind, actor, unit_code, captured_at, received_at, body, \
            leaf_hash, verdicts) VALUES (2, 'e2', 'check_in', 'p1', 'u1', 1764000000000000, \
            1764000000123456, BODY, BODY, '{\"flags\":[]}');";

    fn photo_references(conn: &mut DbConnection) -> String {
        #[derive(diesel::QueryableByName)]
        struct Refs {
            #[diesel(sql_type = diesel::sql_types::Text)]
            refs: String,
        }
        let rows: Vec<Refs> = diesel::sql_query(
            "SELECT sha256 || '@' || CAST(seq AS TEXT) AS refs FROM record_attachments \
             ORDER BY sha256",
        )
        .load(conn)
        .unwrap();
        rows.into_iter()
            .map(|r| r.refs)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The purge migration finds the photos records named in their entries' headers.
    #[test]
    fn purge_migration_backfills_photo_references() {
        let dir = std::env::temp_dir().join(format!("ft-mig-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = dir.join("db.sqlite").to_string_lossy().into_owned();
        let mut conn = establish(&url).unwrap();
        run_migrations(&mut conn).unwrap();
        let DbConnection::Sqlite(inner) = &mut conn else {
            unreachable!("an SQLite path")
        };
        inner.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
        inner.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
        inner.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
        conn.batch_execute(&PHOTO_ENTRY.replace("BODY", "X'00'"))
            .unwrap();
        run_migrations(&mut conn).unwrap();
        assert_eq!(photo_references(&mut conn), "aa@1 bb@1");
        std::fs::remove_dir_all(dir).ok();
        let Ok(admin) = std::env::var("FIELDTRAIL_TEST_PG_URL") else {
            return;
        };
        let name = format!("fieldtrail_mig_{}", uuid::Uuid::new_v4().simple());
        let mut server = establish(&admin).unwrap();
        server
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        let result = std::panic::catch_unwind(|| {
            let mut conn = establish(&url).unwrap();
            run_migrations(&mut conn).unwrap();
            let DbConnection::Postgres(inner) = &mut conn else {
                unreachable!("a postgres:// URL")
            };
            inner.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
            inner.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
            inner.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
            conn.batch_execute(&PHOTO_ENTRY.replace("BODY", "'\\x00'"))
                .unwrap();
            run_migrations(&mut conn).unwrap();
            assert_eq!(photo_references(&mut conn), "aa@1 bb@1");
        });
        server
            .batch_execute(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
            .unwrap();
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }

    #[test]
    fn postgres_migrations_revert_cleanly_with_data() {
        let Ok(admin) = std::env::var("FIELDTRAIL_TEST_PG_URL") else {
            assert!(
                std::env::var("FIELDTRAIL_REQUIRE_PG").as_deref() != Ok("1"),
                "FIELDTRAIL_REQUIRE_PG=1 but FIELDTRAIL_TEST_PG_URL is not set"
            );
            return;
        };
        let name = format!("fieldtrail_mig_{}", uuid::Uuid::new_v4().simple());
        let mut server = establish(&admin).unwrap();
        server
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        let result = std::panic::catch_unwind(|| {
            let mut conn = establish(&url).unwrap();
            run_migrations(&mut conn).unwrap();
            conn.batch_execute(
                &ONE_RECORD
                    .replace("'x', 'ab'", "'\\x00', '\\xab'")
                    .replace("'s', 'p'", "'\\x00', '\\x00'")
                    .replace("'h'", "'\\x00'"),
            )
            .unwrap();
            let DbConnection::Postgres(inner) = &mut conn else {
                unreachable!("a postgres:// URL")
            };
            inner.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
            inner.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
            inner.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
            inner.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
            inner.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
            inner.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
            inner.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
            inner.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
            conn.batch_execute(
                &ONE_VISIT.replace("PAYLOAD", "convert_to('{\"household_id\":\"h1\"}', 'UTF8')"),
            )
            .unwrap();
            conn.batch_execute(
                &ONE_NOTE.replace("PAYLOAD", &format!("convert_to('{NOTE_PAYLOAD}', 'UTF8')")),
            )
            .unwrap();
            let DbConnection::Postgres(inner) = &mut conn else {
                unreachable!("a postgres:// URL")
            };
            inner.run_next_migration(POSTGRES_MIGRATIONS).unwrap();
            assert_eq!(visits_backfilled(&mut conn), "4 h1 p1");
            let DbConnection::Postgres(inner) = &mut conn else {
                unreachable!("a postgres:// URL")
            };
            inner.run_next_migration(POSTGRES_MIGRATIONS).unwrap();
            assert_eq!(supervision_backfilled(&mut conn), expected_supervision());
            let DbConnection::Postgres(inner) = &mut conn else {
                unreachable!("a postgres:// URL")
            };
            inner.run_next_migration(POSTGRES_MIGRATIONS).unwrap();
            conn.batch_execute(ONE_ALERT).unwrap();
            let DbConnection::Postgres(inner) = &mut conn else {
                unreachable!("a postgres:// URL")
            };
            inner.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
            inner.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
            inner.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
            inner.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
            assert_eq!(rebuilt_answer(&mut conn), expected_answer());
            let DbConnection::Postgres(inner) = &mut conn else {
                unreachable!("a postgres:// URL")
            };
            inner.revert_all_migrations(POSTGRES_MIGRATIONS).unwrap();
            let left: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' \
                 AND tablename <> '__diesel_schema_migrations'",
            )
            .get_result(&mut conn)
            .unwrap();
            assert_eq!(left, 0, "down.sql must undo everything up.sql made");
        });
        server
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .unwrap();
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
    }
}
