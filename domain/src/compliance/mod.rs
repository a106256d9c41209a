//! What inspectors open fieldtrail for (docs/supervision.md): residency compliance per cadre and
//! period, the monthly bulletin, and the negative list. Everything is computed from presence and
//! the records already sent (基层减负: nothing is typed twice).

pub mod bulletin;
pub mod negative;
pub mod requirement;
pub mod row;

pub use requirement::{Requirement, RuleKind};
pub use row::{
    evaluate, judged_on, ComplianceInput, ComplianceRow, PairingFacts, Reason, ResultFact, Served,
};
