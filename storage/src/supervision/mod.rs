//! Reads for supervisors and inspectors (docs/supervision.md): compliance, the bulletin, the
//! negative list, escalation and the archive, all from projections the writer keeps.

pub mod archive;
pub mod bulletin;
pub mod compliance;
pub mod facts;
pub mod history;
pub mod negative;
