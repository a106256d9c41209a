//! The policy of supervision (docs/supervision.md): which facts propose negative-list items
//! (负面清单) and how confirmed items escalate (一次学习, 两次约谈, 三次处罚). Counties differ in
//! both, so they are data, inherited down the tree like every other setting.

use serde_json::{json, Map, Value};

use super::values::{escape_pointer, integer};
use crate::error::FieldProblem;

/// A named on/off setting of a [`Switches`] set.
pub trait Switch: Copy + Eq + 'static {
    /// Every switch, in the order answers list them.
    const ALL: &'static [Self];
    /// What a problem says when a key is not one of these.
    const UNKNOWN: &'static str;
    fn as_str(self) -> &'static str;

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.as_str() == raw)
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// Which of a family of switches are on. One value: an override replaces the whole set, and a
/// switch it does not name is on (so a county that switches one off does not silently lose
/// others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switches<S: Switch> {
    off: u32,
    _kind: std::marker::PhantomData<S>,
}

impl<S: Switch> Default for Switches<S> {
    fn default() -> Self {
        Switches {
            off: 0,
            _kind: std::marker::PhantomData,
        }
    }
}

impl<S: Switch> Switches<S> {
    pub fn is_on(&self, switch: S) -> bool {
        self.off & (1 << switch.index()) == 0
    }

    pub fn with(mut self, switch: S, on: bool) -> Self {
        let bit = 1 << switch.index();
        if on {
            self.off &= !bit;
        } else {
            self.off |= bit;
        }
        self
    }

    pub fn to_value(&self) -> Value {
        let map: Map<String, Value> = S::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), Value::Bool(self.is_on(*s))))
            .collect();
        Value::Object(map)
    }

    pub(super) fn parse(
        raw: &Value,
        pointer: &str,
        problems: &mut Vec<FieldProblem>,
    ) -> Option<Switches<S>> {
        let Some(object) = raw.as_object() else {
            problems.push(FieldProblem::new(
                pointer,
                "must be an object of names and true or false",
            ));
            return None;
        };
        let before = problems.len();
        let mut switches = Switches::default();
        for (key, value) in object {
            let inner = format!("{pointer}/{}", escape_pointer(key));
            match (S::parse(key), value.as_bool()) {
                (None, _) => problems.push(FieldProblem::new(inner, S::UNKNOWN)),
                (Some(_), None) => problems.push(FieldProblem::new(inner, "must be true or false")),
                (Some(s), Some(on)) => switches = switches.with(s, on),
            }
        }
        (problems.len() == before).then_some(switches)
    }
}

/// A rule that turns a fact into a proposed negative-list item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NegativeRule {
    /// A month's residency below the rule (days or nights).
    ResidencyBelow,
    /// A spot-check challenge not answered by its deadline.
    SpotCheckMissed,
    /// A spot-check that found the cadre outside their village.
    SpotCheckAbsent,
    /// A household that denied the cadre's visits.
    VerificationDenied,
    /// A paired household not visited within the visit interval.
    VisitOverdue,
}

impl Switch for NegativeRule {
    const ALL: &'static [Self] = &[
        NegativeRule::ResidencyBelow,
        NegativeRule::SpotCheckMissed,
        NegativeRule::SpotCheckAbsent,
        NegativeRule::VerificationDenied,
        NegativeRule::VisitOverdue,
    ];
    const UNKNOWN: &'static str = "is not a negative-list rule";

    fn as_str(self) -> &'static str {
        match self {
            NegativeRule::ResidencyBelow => "residency_below",
            NegativeRule::SpotCheckMissed => "spot_check_missed",
            NegativeRule::SpotCheckAbsent => "spot_check_absent",
            NegativeRule::VerificationDenied => "verification_denied",
            NegativeRule::VisitOverdue => "visit_overdue",
        }
    }
}

impl NegativeRule {
    pub fn as_str(self) -> &'static str {
        Switch::as_str(self)
    }

    pub fn parse(raw: &str) -> Option<NegativeRule> {
        <Self as Switch>::parse(raw)
    }
}

/// Which rules propose negative-list items (policy `negative_rules`).
pub type NegativeRules = Switches<NegativeRule>;

/// What raises an alert for a supervisor to review (policy `alerts`, docs/spot-checks.md). An
/// alert is for review, never a penalty by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertTrigger {
    /// A record judged outside the cadre's villages.
    Outside,
    /// A record from someone not assigned where they were.
    NotAssigned,
    /// The phone said the fix came from a mock-location provider.
    MockLocation,
    /// Reaching the fix needed more than the policy's speed limit.
    ImpossibleSpeed,
    SpotCheckAbsent,
    SpotCheckMissed,
    HouseholdDenied,
    /// A negative-list item proposed from the facts (a month closed below the residency rule,
    /// a paired household overdue, a missed or absent spot-check): for review, never decided.
    NegativeItemProposed,
}

impl Switch for AlertTrigger {
    const ALL: &'static [Self] = &[
        AlertTrigger::Outside,
        AlertTrigger::NotAssigned,
        AlertTrigger::MockLocation,
        AlertTrigger::ImpossibleSpeed,
        AlertTrigger::SpotCheckAbsent,
        AlertTrigger::SpotCheckMissed,
        AlertTrigger::HouseholdDenied,
        AlertTrigger::NegativeItemProposed,
    ];
    const UNKNOWN: &'static str = "is not an alert trigger";

    fn as_str(self) -> &'static str {
        match self {
            AlertTrigger::Outside => "outside",
            AlertTrigger::NotAssigned => "not_assigned",
            AlertTrigger::MockLocation => "mock_location",
            AlertTrigger::ImpossibleSpeed => "impossible_speed",
            AlertTrigger::SpotCheckAbsent => "spot_check_absent",
            AlertTrigger::SpotCheckMissed => "spot_check_missed",
            AlertTrigger::HouseholdDenied => "household_denied",
            AlertTrigger::NegativeItemProposed => "negative_item_proposed",
        }
    }
}

impl AlertTrigger {
    /// The alert's kind as stored and listed.
    pub fn kind(self) -> &'static str {
        match self {
            AlertTrigger::Outside => "record.outside",
            AlertTrigger::NotAssigned => "record.not_assigned",
            AlertTrigger::MockLocation => "record.mock_location",
            AlertTrigger::ImpossibleSpeed => "record.impossible_speed",
            AlertTrigger::SpotCheckAbsent => "spot_check.absent",
            AlertTrigger::SpotCheckMissed => "spot_check.missed",
            AlertTrigger::HouseholdDenied => "household.denied",
            AlertTrigger::NegativeItemProposed => "negative_item.proposed",
        }
    }

    /// The event a webhook receives for the alert (docs/alerts.md): `alert.` and its kind.
    pub fn event_type(self) -> String {
        format!("alert.{}", self.kind())
    }

    /// The trigger whose alerts carry this event type.
    pub fn from_event_type(raw: &str) -> Option<AlertTrigger> {
        let kind = raw.strip_prefix("alert.")?;
        Self::ALL.iter().copied().find(|t| t.kind() == kind)
    }
}

/// Which triggers raise alerts (policy `alerts`).
pub type AlertRules = Switches<AlertTrigger>;

/// A level of escalation: reached when a cadre has `at` confirmed items in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationLevel {
    pub at: u32,
    pub name: String,
}

/// How confirmed negative-list items escalate: counted over a rolling window of days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub window_days: u32,
    /// Ascending by `at`, at least one.
    pub levels: Vec<EscalationLevel>,
}

/// Most levels a policy may name.
const MAX_LEVELS: usize = 10;

impl Default for Escalation {
    fn default() -> Self {
        let level = |at: u32, name: &str| EscalationLevel {
            at,
            name: name.to_owned(),
        };
        Escalation {
            window_days: 365,
            levels: vec![level(1, "学习"), level(2, "约谈"), level(3, "处罚")],
        }
    }
}

impl Escalation {
    /// The level reached with `count` confirmed items: (1-based level, its name), or None below
    /// the first threshold.
    pub fn level_for(&self, count: u32) -> Option<(u32, &str)> {
        self.levels
            .iter()
            .enumerate()
            .rev()
            .find(|(_, level)| level.at <= count)
            .map(|(i, level)| (i as u32 + 1, level.name.as_str()))
    }

    /// The name of a 1-based level, if the policy has it.
    pub fn name_of(&self, level: u32) -> Option<&str> {
        let index = usize::try_from(level).ok()?.checked_sub(1)?;
        self.levels.get(index).map(|l| l.name.as_str())
    }

    pub fn to_value(&self) -> Value {
        json!({
            "window_days": self.window_days,
            "levels": self.levels.iter().map(|l| json!({"at": l.at, "name": l.name})).collect::<Vec<_>>(),
        })
    }

    pub(super) fn parse(
        raw: &Value,
        pointer: &str,
        problems: &mut Vec<FieldProblem>,
    ) -> Option<Escalation> {
        let Some(object) = raw.as_object() else {
            problems.push(FieldProblem::new(
                pointer,
                "must be an object with window_days and levels",
            ));
            return None;
        };
        let before = problems.len();
        for key in object.keys() {
            if key != "window_days" && key != "levels" {
                problems.push(FieldProblem::new(
                    format!("{pointer}/{}", escape_pointer(key)),
                    "is not an escalation setting",
                ));
            }
        }
        let window_days = match object.get("window_days") {
            Some(raw) => integer::<u32>(raw, 1, 3_650, &format!("{pointer}/window_days"), problems),
            None => {
                problems.push(FieldProblem::new(
                    format!("{pointer}/window_days"),
                    "is required: the days over which confirmed items are counted",
                ));
                None
            }
        };
        let levels_pointer = format!("{pointer}/levels");
        let mut levels = Vec::new();
        match object.get("levels").and_then(Value::as_array) {
            Some(list) if (1..=MAX_LEVELS).contains(&list.len()) => {
                for (i, item) in list.iter().enumerate() {
                    let here = format!("{levels_pointer}/{i}");
                    let at = match item.get("at") {
                        Some(raw) => integer::<u32>(raw, 1, 1_000, &format!("{here}/at"), problems),
                        None => {
                            problems.push(FieldProblem::new(
                                format!("{here}/at"),
                                "is required: the count of confirmed items that reaches the level",
                            ));
                            None
                        }
                    };
                    let name = item
                        .get("name")
                        .and_then(Value::as_str)
                        .map(str::trim)
                        .filter(|n| (1..=40).contains(&n.chars().count()))
                        .filter(|n| !n.chars().any(char::is_control));
                    if name.is_none() {
                        problems.push(FieldProblem::new(
                            format!("{here}/name"),
                            "is required: 1 to 40 characters",
                        ));
                    }
                    if let Some(object) = item.as_object() {
                        for key in object.keys().filter(|k| *k != "at" && *k != "name") {
                            problems.push(FieldProblem::new(
                                format!("{here}/{}", escape_pointer(key)),
                                "is not a level setting",
                            ));
                        }
                    }
                    if let (Some(at), Some(name)) = (at, name) {
                        if levels.last().is_some_and(|l: &EscalationLevel| l.at >= at) {
                            problems.push(FieldProblem::new(
                                format!("{here}/at"),
                                "must be greater than the level before",
                            ));
                        }
                        levels.push(EscalationLevel {
                            at,
                            name: name.to_owned(),
                        });
                    }
                }
            }
            _ => problems.push(FieldProblem::new(
                levels_pointer,
                format!("must be a list of 1 to {MAX_LEVELS} levels, each {{at, name}}"),
            )),
        }
        if problems.len() != before {
            return None;
        }
        Some(Escalation {
            window_days: window_days?,
            levels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_left_out_of_an_override_stay_on() {
        let mut problems = Vec::new();
        let rules = NegativeRules::parse(
            &json!({"visit_overdue": false}),
            "/negative_rules",
            &mut problems,
        )
        .unwrap();
        assert!(!rules.is_on(NegativeRule::VisitOverdue));
        assert!(rules.is_on(NegativeRule::ResidencyBelow));
        assert_eq!(rules.to_value()["visit_overdue"], json!(false));
        let refused = NegativeRules::parse(
            &json!({"visit_overdue": 0, "speeding": true}),
            "/negative_rules",
            &mut problems,
        );
        assert!(refused.is_none());
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["/negative_rules/speeding", "/negative_rules/visit_overdue"]
        );
    }

    #[test]
    fn levels_are_reached_at_their_counts() {
        let escalation = Escalation::default();
        assert_eq!(escalation.level_for(0), None);
        assert_eq!(escalation.level_for(1), Some((1, "学习")));
        assert_eq!(escalation.level_for(2), Some((2, "约谈")));
        assert_eq!(escalation.level_for(3), Some((3, "处罚")));
        assert_eq!(escalation.level_for(9), Some((3, "处罚")));
        assert_eq!(escalation.name_of(2), Some("约谈"));
        assert_eq!(escalation.name_of(0), None);
        assert_eq!(escalation.name_of(4), None);
    }

    #[test]
    fn escalation_round_trips_and_refuses_unordered_levels() {
        let mut problems = Vec::new();
        let value = json!({"window_days": 180, "levels": [{"at": 2, "name": "谈话"}, {"at": 4, "name": "通报"}]});
        let parsed = Escalation::parse(&value, "/escalation", &mut problems).unwrap();
        assert_eq!(parsed.to_value(), value);
        assert_eq!(parsed.level_for(3), Some((1, "谈话")));
        let bad =
            json!({"window_days": 0, "levels": [{"at": 2, "name": "a"}, {"at": 2, "name": ""}]});
        assert!(Escalation::parse(&bad, "/escalation", &mut problems).is_none());
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["/escalation/window_days", "/escalation/levels/1/name"]
        );
        problems.clear();
        let unordered =
            json!({"window_days": 30, "levels": [{"at": 2, "name": "a"}, {"at": 1, "name": "b"}]});
        assert!(Escalation::parse(&unordered, "/escalation", &mut problems).is_none());
        assert_eq!(problems[0].pointer, "/escalation/levels/1/at");
    }
}
