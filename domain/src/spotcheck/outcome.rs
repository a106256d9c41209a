//! What a spot-check finds: the outcome of a challenge or of a supervisor's own check, and the
//! result of a household verification, with the rules that decide them.

use crate::geo::GeoVerdict;
use crate::roster::COUNTY_OFFSET;
use time::OffsetDateTime;

/// The outcome of one spot-check of a cadre.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Inside (or on the boundary of) a village they are assigned to.
    Present,
    /// Outside it.
    Absent,
    /// Approved leave covers the moment.
    OnLeave,
    /// An approved official trip covers the moment.
    OnTrip,
    /// Answered, but after the deadline.
    Late,
    /// No answer by the deadline.
    Missed,
    /// The position cannot prove either (no boundary, accuracy worse than the policy limit).
    Unverifiable,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Present,
        Outcome::Absent,
        Outcome::OnLeave,
        Outcome::OnTrip,
        Outcome::Late,
        Outcome::Missed,
        Outcome::Unverifiable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Present => "present",
            Outcome::Absent => "absent",
            Outcome::OnLeave => "on_leave",
            Outcome::OnTrip => "on_trip",
            Outcome::Late => "late",
            Outcome::Missed => "missed",
            Outcome::Unverifiable => "unverifiable",
        }
    }

    pub fn parse(raw: &str) -> Option<Outcome> {
        Self::ALL.into_iter().find(|o| o.as_str() == raw)
    }

    /// Outcomes a supervisor may record for a check of their own; late and missed only follow
    /// from a challenge's deadline.
    pub fn parse_recorded(raw: &str) -> Option<Outcome> {
        Self::parse(raw).filter(|o| !matches!(o, Outcome::Late | Outcome::Missed))
    }

    /// Whether it is raised as an alert for supervisors to review.
    pub fn alerts(self) -> bool {
        matches!(self, Outcome::Absent | Outcome::Missed)
    }
}

/// What the moment of an answer was, for [`challenge_outcome`].
#[derive(Debug, Clone, Copy)]
pub struct AnswerFacts {
    /// The answer reached the server after the deadline.
    pub after_deadline: bool,
    /// The answer's fix against the cadre's villages that day.
    pub geo: Option<GeoVerdict>,
    pub on_leave: bool,
    pub on_trip: bool,
}

/// The outcome of an answered challenge. A late answer is late whatever it shows; a fix in the
/// village is presence even on a leave day; otherwise approved leave, then an approved trip,
/// explain the absence; a fix outside is absence, one that proves nothing is unverifiable.
pub fn challenge_outcome(facts: AnswerFacts) -> Outcome {
    if facts.after_deadline {
        return Outcome::Late;
    }
    match facts.geo {
        Some(GeoVerdict::Inside | GeoVerdict::Boundary) => Outcome::Present,
        _ if facts.on_leave => Outcome::OnLeave,
        _ if facts.on_trip => Outcome::OnTrip,
        Some(GeoVerdict::Outside) => Outcome::Absent,
        _ => Outcome::Unverifiable,
    }
}

/// How a supervisor checked on a cadre themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Phone,
    InPerson,
}

impl Method {
    pub fn parse(raw: &str) -> Option<Method> {
        match raw {
            "phone" => Some(Method::Phone),
            "in_person" => Some(Method::InPerson),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Phone => "phone",
            Method::InPerson => "in_person",
        }
    }
}

/// What a household said when a supervisor knocked (随机入户核查).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The household confirms the cadre's visits.
    Confirmed,
    /// The household says the cadre did not come: the visits are contested.
    Denied,
    NotHome,
    Unreachable,
}

impl Verification {
    pub fn parse(raw: &str) -> Option<Verification> {
        match raw {
            "confirmed" => Some(Verification::Confirmed),
            "denied" => Some(Verification::Denied),
            "not_home" => Some(Verification::NotHome),
            "unreachable" => Some(Verification::Unreachable),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Confirmed => "confirmed",
            Verification::Denied => "denied",
            Verification::NotHome => "not_home",
            Verification::Unreachable => "unreachable",
        }
    }
}

/// The county hours in which challenges may be opened without an emergency: 08:00 to 20:00.
pub const CHALLENGE_HOURS: std::ops::Range<u8> = 8..20;

/// Whether a challenge may be opened at this instant without an emergency reason.
pub fn within_challenge_hours(at: OffsetDateTime) -> bool {
    CHALLENGE_HOURS.contains(&at.to_offset(COUNTY_OFFSET).hour())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn facts(geo: Option<GeoVerdict>) -> AnswerFacts {
        AnswerFacts {
            after_deadline: false,
            geo,
            on_leave: false,
            on_trip: false,
        }
    }

    #[test]
    fn answers_are_judged_late_first_then_by_place() {
        use GeoVerdict::*;
        assert_eq!(challenge_outcome(facts(Some(Inside))), Outcome::Present);
        assert_eq!(challenge_outcome(facts(Some(Boundary))), Outcome::Present);
        assert_eq!(challenge_outcome(facts(Some(Outside))), Outcome::Absent);
        assert_eq!(
            challenge_outcome(facts(Some(Unverifiable))),
            Outcome::Unverifiable
        );
        let late = AnswerFacts {
            after_deadline: true,
            ..facts(Some(Inside))
        };
        assert_eq!(challenge_outcome(late), Outcome::Late);
        let leave = AnswerFacts {
            on_leave: true,
            ..facts(Some(Outside))
        };
        assert_eq!(challenge_outcome(leave), Outcome::OnLeave);
        let trip = AnswerFacts {
            on_trip: true,
            ..facts(Some(Outside))
        };
        assert_eq!(challenge_outcome(trip), Outcome::OnTrip);
        let leave_inside = AnswerFacts {
            on_leave: true,
            ..facts(Some(Inside))
        };
        assert_eq!(challenge_outcome(leave_inside), Outcome::Present);
    }

    #[test]
    fn words_round_trip() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
        }
        assert_eq!(Outcome::parse_recorded("missed"), None);
        assert_eq!(Outcome::parse_recorded("present"), Some(Outcome::Present));
        assert_eq!(Method::parse("in_person"), Some(Method::InPerson));
        assert_eq!(Verification::parse("not_home"), Some(Verification::NotHome));
        assert_eq!(Verification::parse("maybe"), None);
    }

    #[test]
    fn challenge_hours_are_county_time() {
        // 00:30 UTC is 08:30 in the county; 12:00 UTC is 20:00 there (closed).
        assert!(within_challenge_hours(datetime!(2026-12-01 00:30 UTC)));
        assert!(!within_challenge_hours(datetime!(2026-11-30 23:59 UTC)));
        assert!(within_challenge_hours(datetime!(2026-12-01 11:59 UTC)));
        assert!(!within_challenge_hours(datetime!(2026-12-01 12:00 UTC)));
    }
}
