//! fieldtrail persistence: one schema on SQLite and PostgreSQL, the single ledger writer, and
//! read queries over the projections. Nothing here knows about HTTP.

mod clock;
mod db;
mod error;
pub mod exports;
pub mod integrity;
pub mod merkle;
pub mod models;
mod policies;
pub mod reads;
pub mod roster_reads;
mod schema;
pub mod spot_checks;
mod stored;
pub mod supervision;
mod wal;
pub mod webhooks;
pub mod writer;

pub use clock::Clock;
pub use db::{establish as db_connect, without_gss, Backend, Database, DbConnection};
pub use error::{StorageError, StorageResult};
pub use writer::{LogSigner, Writer};
