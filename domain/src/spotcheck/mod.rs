//! Random spot-checks (不定期抽查): periods, the committed draw's sampling, and the outcomes of
//! challenges, supervisors' own checks and household verifications (docs/spot-checks.md).

mod outcome;
mod period;
mod sampling;

pub use outcome::{
    challenge_outcome, within_challenge_hours, AnswerFacts, Method, Outcome, Verification,
    CHALLENGE_HOURS,
};
pub use period::{BadPeriod, Period};
pub use sampling::{population_sha256, sample, DrawStream};

/// What a draw is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Population {
    /// People with an assignment in a village under the unit on the draw's county date.
    Cadres,
    /// Households under the unit with at least one visit record in the period.
    VisitedHouseholds,
}

impl Population {
    pub fn parse(raw: &str) -> Option<Population> {
        match raw {
            "cadres" => Some(Population::Cadres),
            "visited_households" => Some(Population::VisitedHouseholds),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Population::Cadres => "cadres",
            Population::VisitedHouseholds => "visited_households",
        }
    }
}

/// The kinds of the spot-check results stored under a cadre beside their records (ledger
/// entry kinds, and the `records` rows that put them in the cadre's history).
pub const RESULT_KINDS: [&str; 2] = ["spot_check.outcome", "spot_check.verification"];

/// Most members one draw may select.
pub const MAX_DRAW_SIZE: usize = 1000;
