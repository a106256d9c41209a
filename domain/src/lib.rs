//! Pure fieldtrail logic: no I/O, no database, no HTTP.
//!
//! Everything that comes from outside is parsed into a type here that cannot hold a bad value
//! (a [`geo::Position`], a [`unit::UnitCode`], …); storage and api only move these types around.

pub mod canonical;
pub mod compliance;
pub mod crs;
pub mod error;
pub mod flags;
pub mod geo;
pub mod merkle;
pub mod names;
pub mod note;
pub mod person;
pub mod policy;
pub mod presence;
pub mod purge;
pub mod record;
pub mod roster;
pub mod roster_sheet;
pub mod spotcheck;
pub mod submission;
pub mod unit;

pub use error::{DomainError, FieldProblem};
