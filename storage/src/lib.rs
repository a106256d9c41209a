//! fieldtrail persistence: one schema on SQLite and PostgreSQL, the single ledger writer, and
//! read queries over the projections. Nothing here knows about HTTP.

mod db;
mod error;
mod field;
pub mod integrity;
pub mod merkle;
pub mod models;
pub mod reads;
mod schema;
pub mod writer;

pub use db::{establish as db_connect, Backend, Database, DbConnection};
pub use error::{StorageError, StorageResult};
pub use writer::{GeoState, LogSigner, Writer};
