//! Negative-list items (负面清单, docs/supervision.md): which facts propose an item and the id
//! that names it. Ids are built from the fact itself, so a proposal needs no stored row until a
//! supervisor decides it, the same fact always proposes the same item, and a decision can find
//! its fact again from the id alone.

use crate::policy::NegativeRule;
use crate::spotcheck::Period;
use std::fmt;
use uuid::Uuid;

/// What an item is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A cadre's month (residency below the rule).
    PersonMonth { month: Period, person: Uuid },
    /// A pairing's month (the household overdue at its end).
    PairingMonth { month: Period, pairing: Uuid },
    /// A spot-check result record.
    Result { record: Uuid },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemId {
    pub rule: NegativeRule,
    pub subject: Subject,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("is not a negative-list item id")]
pub struct BadItemId;

impl ItemId {
    /// `residency_below:2026-11:<person>`, `visit_overdue:2026-11:<pairing>`,
    /// `spot_check_missed:<record>`, `spot_check_absent:<record>`, `verification_denied:<record>`.
    pub fn parse(raw: &str) -> Result<ItemId, BadItemId> {
        let mut parts = raw.split(':');
        let rule = parts
            .next()
            .and_then(NegativeRule::parse)
            .ok_or(BadItemId)?;
        let uuid = |s: Option<&str>| -> Result<Uuid, BadItemId> {
            let s = s.ok_or(BadItemId)?;
            let id = Uuid::parse_str(s).map_err(|_| BadItemId)?;
            // One spelling per id: the canonical lowercase hyphenated form.
            (id.to_string() == s).then_some(id).ok_or(BadItemId)
        };
        let month = |s: Option<&str>| -> Result<Period, BadItemId> {
            match s.map(Period::parse) {
                Some(Ok(p @ Period::Month { .. })) => Ok(p),
                _ => Err(BadItemId),
            }
        };
        let subject = match rule {
            NegativeRule::ResidencyBelow => {
                let month = month(parts.next())?;
                Subject::PersonMonth {
                    month,
                    person: uuid(parts.next())?,
                }
            }
            NegativeRule::VisitOverdue => {
                let month = month(parts.next())?;
                Subject::PairingMonth {
                    month,
                    pairing: uuid(parts.next())?,
                }
            }
            _ => Subject::Result {
                record: uuid(parts.next())?,
            },
        };
        if parts.next().is_some() {
            return Err(BadItemId);
        }
        Ok(ItemId { rule, subject })
    }

    /// The month the item belongs to, when the id names one.
    pub fn month(&self) -> Option<Period> {
        match self.subject {
            Subject::PersonMonth { month, .. } | Subject::PairingMonth { month, .. } => Some(month),
            Subject::Result { .. } => None,
        }
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = self.rule.as_str();
        match self.subject {
            Subject::PersonMonth { month, person } => {
                write!(f, "{rule}:{}:{person}", month.label())
            }
            Subject::PairingMonth { month, pairing } => {
                write!(f, "{rule}:{}:{pairing}", month.label())
            }
            Subject::Result { record } => write!(f, "{rule}:{record}"),
        }
    }
}

/// The rule a compliance reason proposes an item under, if any.
pub fn rule_of_reason(code: &str) -> Option<NegativeRule> {
    match code {
        "days_below" | "nights_below" => Some(NegativeRule::ResidencyBelow),
        "household_overdue" => Some(NegativeRule::VisitOverdue),
        "spot_check_missed" => Some(NegativeRule::SpotCheckMissed),
        "spot_check_absent" => Some(NegativeRule::SpotCheckAbsent),
        "verification_denied" => Some(NegativeRule::VerificationDenied),
        _ => None,
    }
}

/// Item decisions a supervisor may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemDecision {
    Confirmed,
    Dismissed,
}

impl ItemDecision {
    pub fn parse(raw: &str) -> Option<ItemDecision> {
        match raw {
            "confirmed" => Some(ItemDecision::Confirmed),
            "dismissed" => Some(ItemDecision::Dismissed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ItemDecision::Confirmed => "confirmed",
            ItemDecision::Dismissed => "dismissed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_have_one_spelling() {
        for raw in [
            "residency_below:2026-11:0192f0c1-1111-7aaa-8bbb-000000000001",
            "visit_overdue:2026-02:0192f0c1-1111-7aaa-8bbb-000000000002",
            "spot_check_missed:0192f0c1-1111-7aaa-8bbb-000000000003",
            "spot_check_absent:0192f0c1-1111-7aaa-8bbb-000000000004",
            "verification_denied:0192f0c1-1111-7aaa-8bbb-000000000005",
        ] {
            let id = ItemId::parse(raw).unwrap();
            assert_eq!(id.to_string(), raw);
        }
        for bad in [
            "",
            "residency_below:2026-W47:0192f0c1-1111-7aaa-8bbb-000000000001",
            "residency_below:0192f0c1-1111-7aaa-8bbb-000000000001",
            "spot_check_missed:0192F0C1-1111-7AAA-8BBB-000000000003",
            "spot_check_missed:0192f0c1-1111-7aaa-8bbb-000000000003:x",
            "speeding:0192f0c1-1111-7aaa-8bbb-000000000003",
        ] {
            assert_eq!(ItemId::parse(bad), Err(BadItemId), "{bad}");
        }
        let id =
            ItemId::parse("visit_overdue:2026-02:0192f0c1-1111-7aaa-8bbb-000000000002").unwrap();
        assert_eq!(id.month().map(|m| m.label()), Some("2026-02".to_owned()));
    }
}
