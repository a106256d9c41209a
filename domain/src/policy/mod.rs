//! Per-unit policy: the settings records are judged by, set as overrides on any unit and
//! inherited down the tree (docs/records.md, "Policies").
//!
//! Policies are data rather than constants because practice differs between counties (五天四夜
//! in one, a monthly day count in another); the defaults below only fill what nobody set.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::error::FieldProblem;
use crate::geo::ToleranceMeters;

/// Fixes less precise than this are stored but cannot prove presence (policy default).
pub const DEFAULT_ACCURACY_LIMIT_M: f64 = 500.0;
pub const DEFAULT_RETENTION_DAYS: u32 = 1_095;

/// Every top-level setting, in the order the docs list them; `sources` has exactly these keys.
pub const POLICY_KEYS: [&str; 18] = [
    "residency",
    "accuracy_limit_m",
    "tolerance_m",
    "household_radius_m",
    "visit_interval_days",
    "max_paired_households",
    "speed_limit_kmh",
    "late_sync_hours",
    "clock_skew_limit_s",
    "challenge_minutes",
    "max_challenges_per_month",
    "night_window",
    "negative_rules",
    "escalation",
    "alerts",
    "read_reason_required",
    "retention_days",
    "max_submissions_per_device_minute",
];

mod supervision;
mod values;

pub use supervision::{
    AlertRules, AlertTrigger, Escalation, EscalationLevel, NegativeRule, NegativeRules, Switch,
    Switches,
};
use values::{escape_pointer, integer, number, parse_night_window, parse_residency};
pub use values::{NightWindow, Residency};

/// The overrides one unit sets; None = not set here (inherit).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicyOverrides {
    pub residency: Option<Residency>,
    pub accuracy_limit_m: Option<f64>,
    pub tolerance_m: Option<ToleranceMeters>,
    pub household_radius_m: Option<f64>,
    pub visit_interval_days: Option<u16>,
    pub max_paired_households: Option<u16>,
    pub speed_limit_kmh: Option<f64>,
    pub late_sync_hours: Option<u32>,
    pub clock_skew_limit_s: Option<u32>,
    pub challenge_minutes: Option<u32>,
    pub max_challenges_per_month: Option<u32>,
    pub night_window: Option<NightWindow>,
    pub negative_rules: Option<NegativeRules>,
    pub escalation: Option<Escalation>,
    pub alerts: Option<AlertRules>,
    pub read_reason_required: Option<bool>,
    pub retention_days: Option<u32>,
    pub max_submissions_per_device_minute: Option<u32>,
}

impl PolicyOverrides {
    /// Parses a PUT body. `value` must be a JSON object; unknown keys, wrong types and
    /// out-of-range values each give one FieldProblem whose pointer is `/<key>` (or
    /// `/residency/<key>`); a key whose value is null is "not set". All problems are collected so
    /// an administrator fixes the whole body in one round.
    pub fn parse(value: &Value) -> Result<PolicyOverrides, Vec<FieldProblem>> {
        let Some(object) = value.as_object() else {
            return Err(vec![FieldProblem::new("", "policy must be a JSON object")]);
        };
        let mut out = PolicyOverrides::default();
        let mut problems = Vec::new();
        for (key, raw) in object {
            let pointer = format!("/{}", escape_pointer(key));
            if !POLICY_KEYS.contains(&key.as_str()) {
                // Refused even when null: a misspelt key would otherwise be silently ignored and
                // the administrator would believe a setting took effect.
                problems.push(FieldProblem::new(pointer, "is not a policy setting"));
                continue;
            }
            if raw.is_null() {
                continue;
            }
            let p = &mut problems;
            match key.as_str() {
                "residency" => out.residency = parse_residency(raw, &pointer, p),
                "accuracy_limit_m" => {
                    out.accuracy_limit_m = number(raw, 1.0, 10_000.0, &pointer, p);
                }
                "tolerance_m" => {
                    // ToleranceMeters has the final say, so this can never accept a value the
                    // geometry code would refuse; `number` still gives the uniform message.
                    out.tolerance_m = number(raw, 0.0, 10_000.0, &pointer, p).and_then(|metres| {
                        ToleranceMeters::parse(metres)
                            .map_err(|err| p.push(FieldProblem::new(pointer.as_str(), err)))
                            .ok()
                    });
                }
                "household_radius_m" => {
                    out.household_radius_m = number(raw, 1.0, 5_000.0, &pointer, p);
                }
                "visit_interval_days" => {
                    out.visit_interval_days = integer(raw, 1, 366, &pointer, p);
                }
                "max_paired_households" => {
                    out.max_paired_households = integer(raw, 0, 100, &pointer, p);
                }
                "speed_limit_kmh" => out.speed_limit_kmh = number(raw, 1.0, 2_000.0, &pointer, p),
                "late_sync_hours" => out.late_sync_hours = integer(raw, 0, 8_760, &pointer, p),
                "clock_skew_limit_s" => {
                    out.clock_skew_limit_s = integer(raw, 1, 86_400, &pointer, p);
                }
                "challenge_minutes" => out.challenge_minutes = integer(raw, 1, 1_440, &pointer, p),
                "max_challenges_per_month" => {
                    out.max_challenges_per_month = integer(raw, 0, 31, &pointer, p);
                }
                "night_window" => out.night_window = parse_night_window(raw, &pointer, p),
                "negative_rules" => out.negative_rules = NegativeRules::parse(raw, &pointer, p),
                "escalation" => out.escalation = Escalation::parse(raw, &pointer, p),
                "alerts" => out.alerts = AlertRules::parse(raw, &pointer, p),
                "read_reason_required" => match raw.as_bool() {
                    Some(required) => out.read_reason_required = Some(required),
                    None => p.push(FieldProblem::new(pointer, "must be true or false")),
                },
                "retention_days" => out.retention_days = integer(raw, 30, 36_500, &pointer, p),
                "max_submissions_per_device_minute" => {
                    out.max_submissions_per_device_minute = integer(raw, 1, 100_000, &pointer, p)
                }
                _ => problems.push(FieldProblem::new(pointer, "is not a policy setting")),
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// Only the keys that are set, as a JSON object (same shape parse accepts;
    /// `parse(to_value(x)) == x`).
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                map.insert(key.to_owned(), value);
            }
        };
        put("residency", self.residency.map(|r| r.to_value()));
        put("accuracy_limit_m", self.accuracy_limit_m.map(Value::from));
        put(
            "tolerance_m",
            self.tolerance_m.map(|t| Value::from(t.get())),
        );
        put(
            "household_radius_m",
            self.household_radius_m.map(Value::from),
        );
        put(
            "visit_interval_days",
            self.visit_interval_days.map(Value::from),
        );
        put(
            "max_paired_households",
            self.max_paired_households.map(Value::from),
        );
        put("speed_limit_kmh", self.speed_limit_kmh.map(Value::from));
        put("late_sync_hours", self.late_sync_hours.map(Value::from));
        put(
            "clock_skew_limit_s",
            self.clock_skew_limit_s.map(Value::from),
        );
        put("challenge_minutes", self.challenge_minutes.map(Value::from));
        put(
            "max_challenges_per_month",
            self.max_challenges_per_month.map(Value::from),
        );
        put("night_window", self.night_window.map(|w| w.to_value()));
        put("negative_rules", self.negative_rules.map(|r| r.to_value()));
        put(
            "escalation",
            self.escalation.as_ref().map(Escalation::to_value),
        );
        put("alerts", self.alerts.map(|a| a.to_value()));
        put(
            "read_reason_required",
            self.read_reason_required.map(Value::from),
        );
        put("retention_days", self.retention_days.map(Value::from));
        put(
            "max_submissions_per_device_minute",
            self.max_submissions_per_device_minute.map(Value::from),
        );
        Value::Object(map)
    }
}

/// Every setting resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub residency: Residency,
    pub accuracy_limit_m: f64,
    /// None: use the village's imported tolerance.
    pub tolerance_m: Option<ToleranceMeters>,
    pub household_radius_m: f64,
    pub visit_interval_days: u16,
    pub max_paired_households: u16,
    pub speed_limit_kmh: f64,
    pub late_sync_hours: u32,
    pub clock_skew_limit_s: u32,
    /// Minutes a cadre has to answer a spot-check challenge.
    pub challenge_minutes: u32,
    /// Challenges one cadre may get in a county month (基层减负: a spot-check, not a roll call).
    pub max_challenges_per_month: u32,
    pub night_window: NightWindow,
    pub negative_rules: NegativeRules,
    pub escalation: Escalation,
    pub alerts: AlertRules,
    /// Inspectors must say why they read a person's whereabouts (an `X-Reason` header).
    pub read_reason_required: bool,
    /// Days a record's personal payload (exact position, note, photo) is kept before
    /// `fieldtrail purge` removes it (PIPL: no longer than needed).
    pub retention_days: u32,
    /// Record submissions (a batch is one) one device may make per minute; more get 429. A
    /// phone syncing after a day offline sends a few batches, not hundreds of requests.
    pub max_submissions_per_device_minute: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            // 五天四夜: the most common residency rule in practice.
            residency: Residency {
                days_per_week: Some(5),
                nights_per_week: Some(4),
                days_per_month: None,
            },
            accuracy_limit_m: DEFAULT_ACCURACY_LIMIT_M,
            tolerance_m: None,
            household_radius_m: 100.0,
            visit_interval_days: 30,
            max_paired_households: 5,
            speed_limit_kmh: 120.0,
            late_sync_hours: 72,
            clock_skew_limit_s: 300,
            challenge_minutes: 30,
            max_challenges_per_month: 2,
            night_window: NightWindow::default(),
            negative_rules: NegativeRules::default(),
            escalation: Escalation::default(),
            alerts: AlertRules::default(),
            read_reason_required: false,
            // Three years: the term of a resident cadre and the review after it.
            retention_days: DEFAULT_RETENTION_DAYS,
            max_submissions_per_device_minute: 600,
        }
    }
}

impl Policy {
    /// All keys; `tolerance_m` is null when the village's imported tolerance applies.
    pub fn to_value(&self) -> Value {
        json!({
            "residency": self.residency.to_value(),
            "accuracy_limit_m": self.accuracy_limit_m,
            "tolerance_m": self.tolerance_m.map(|t| t.get()),
            "household_radius_m": self.household_radius_m,
            "visit_interval_days": self.visit_interval_days,
            "max_paired_households": self.max_paired_households,
            "speed_limit_kmh": self.speed_limit_kmh,
            "late_sync_hours": self.late_sync_hours,
            "clock_skew_limit_s": self.clock_skew_limit_s,
            "challenge_minutes": self.challenge_minutes,
            "max_challenges_per_month": self.max_challenges_per_month,
            "night_window": self.night_window.to_value(),
            "negative_rules": self.negative_rules.to_value(),
            "escalation": self.escalation.to_value(),
            "alerts": self.alerts.to_value(),
            "read_reason_required": self.read_reason_required,
            "retention_days": self.retention_days,
            "max_submissions_per_device_minute": self.max_submissions_per_device_minute,
        })
    }
}

/// The resolved policy and, for each top-level key, where it came from: "default" or the unit
/// code that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectivePolicy {
    pub policy: Policy,
    pub sources: BTreeMap<&'static str, String>,
}

impl EffectivePolicy {
    pub fn sources_value(&self) -> Value {
        Value::Object(
            self.sources
                .iter()
                .map(|(key, source)| ((*key).to_owned(), Value::from(source.as_str())))
                .collect(),
        )
    }
}

/// `chain` is the unit's ancestry root first, the unit itself last: (unit code, its overrides).
/// The nearest unit that sets a key wins; residency is one value (an override replaces the whole
/// object), because its parts are one rule and mixing a parent's weekly count with a child's
/// monthly count would produce a rule nobody set.
///
/// A `tolerance_m` nobody set stays None with source "default"; the caller, which knows the
/// village, reports the imported tolerance.
pub fn resolve(chain: &[(&str, &PolicyOverrides)]) -> EffectivePolicy {
    let mut policy = Policy::default();
    let mut sources: BTreeMap<&'static str, String> = POLICY_KEYS
        .iter()
        .map(|key| (*key, "default".to_owned()))
        .collect();
    // Root first, so a later (nearer) unit simply overwrites what an ancestor set.
    for (code, own) in chain {
        let mut set = |key: &'static str| {
            sources.insert(key, (*code).to_owned());
        };
        if let Some(value) = own.residency {
            policy.residency = value;
            set("residency");
        }
        if let Some(value) = own.accuracy_limit_m {
            policy.accuracy_limit_m = value;
            set("accuracy_limit_m");
        }
        if let Some(value) = own.tolerance_m {
            policy.tolerance_m = Some(value);
            set("tolerance_m");
        }
        if let Some(value) = own.household_radius_m {
            policy.household_radius_m = value;
            set("household_radius_m");
        }
        if let Some(value) = own.visit_interval_days {
            policy.visit_interval_days = value;
            set("visit_interval_days");
        }
        if let Some(value) = own.max_paired_households {
            policy.max_paired_households = value;
            set("max_paired_households");
        }
        if let Some(value) = own.speed_limit_kmh {
            policy.speed_limit_kmh = value;
            set("speed_limit_kmh");
        }
        if let Some(value) = own.late_sync_hours {
            policy.late_sync_hours = value;
            set("late_sync_hours");
        }
        if let Some(value) = own.clock_skew_limit_s {
            policy.clock_skew_limit_s = value;
            set("clock_skew_limit_s");
        }
        if let Some(value) = own.challenge_minutes {
            policy.challenge_minutes = value;
            set("challenge_minutes");
        }
        if let Some(value) = own.max_challenges_per_month {
            policy.max_challenges_per_month = value;
            set("max_challenges_per_month");
        }
        if let Some(value) = own.night_window {
            policy.night_window = value;
            set("night_window");
        }
        if let Some(value) = own.negative_rules {
            policy.negative_rules = value;
            set("negative_rules");
        }
        if let Some(value) = &own.escalation {
            policy.escalation = value.clone();
            set("escalation");
        }
        if let Some(value) = own.alerts {
            policy.alerts = value;
            set("alerts");
        }
        if let Some(value) = own.read_reason_required {
            policy.read_reason_required = value;
            set("read_reason_required");
        }
        if let Some(value) = own.retention_days {
            policy.retention_days = value;
            set("retention_days");
        }
        if let Some(value) = own.max_submissions_per_device_minute {
            policy.max_submissions_per_device_minute = value;
            set("max_submissions_per_device_minute");
        }
    }
    EffectivePolicy { policy, sources }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(value: Value) -> Vec<FieldProblem> {
        PolicyOverrides::parse(&value).unwrap_err()
    }

    fn pointers(problems: &[FieldProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.pointer.as_str()).collect()
    }

    /// (key, lowest allowed, highest allowed, whether only whole numbers are allowed)
    const RANGES: [(&str, f64, f64, bool); 10] = [
        ("accuracy_limit_m", 1.0, 10_000.0, false),
        ("tolerance_m", 0.0, 10_000.0, false),
        ("household_radius_m", 1.0, 5_000.0, false),
        ("visit_interval_days", 1.0, 366.0, true),
        ("max_paired_households", 0.0, 100.0, true),
        ("speed_limit_kmh", 1.0, 2_000.0, false),
        ("late_sync_hours", 0.0, 8_760.0, true),
        ("clock_skew_limit_s", 1.0, 86_400.0, true),
        ("challenge_minutes", 1.0, 1_440.0, true),
        ("max_challenges_per_month", 0.0, 31.0, true),
    ];

    #[test]
    fn every_range_accepts_its_edges_and_refuses_beyond_them() {
        for (key, min, max, _) in RANGES {
            for edge in [min, max] {
                let parsed = PolicyOverrides::parse(&json!({ key: edge }))
                    .unwrap_or_else(|p| panic!("{key} = {edge} refused: {p:?}"));
                assert_eq!(parsed.to_value()[key].as_f64(), Some(edge), "{key}");
            }
            // 0.5 beyond each edge catches an off-by-one in either kind of field.
            for outside in [min - 0.5, max + 0.5, min - 1.0, max + 1.0] {
                let problems = problems_of(json!({ key: outside }));
                assert_eq!(
                    pointers(&problems),
                    [format!("/{key}")],
                    "{key} = {outside}"
                );
            }
        }
    }

    #[test]
    fn integers_written_as_whole_floats_pass_and_fractions_do_not() {
        for (key, min, max, whole) in RANGES {
            let middle = ((min + max) / 2.0).floor();
            assert!(
                PolicyOverrides::parse(&json!({ key: middle })).is_ok(),
                "{key}"
            );
            let fraction = PolicyOverrides::parse(&json!({ key: middle + 0.5 }));
            assert_eq!(fraction.is_err(), whole, "{key}");
        }
        let problems = problems_of(json!({"visit_interval_days": 5.5}));
        assert_eq!(problems[0].reason, "must be an integer from 1 to 366");
        let parsed = PolicyOverrides::parse(&json!({"visit_interval_days": 14.0})).unwrap();
        assert_eq!(parsed.visit_interval_days, Some(14));
    }

    #[test]
    fn wrong_types_are_refused() {
        for (key, _, _, _) in RANGES {
            for bad in [json!("5"), json!(true), json!([5]), json!({"n": 5})] {
                let problems = problems_of(json!({ key: bad }));
                assert_eq!(pointers(&problems), [format!("/{key}")], "{key}");
            }
        }
        let problems = problems_of(json!({"accuracy_limit_m": "500"}));
        assert_eq!(problems[0].reason, "must be a number from 1 to 10000");
    }

    #[test]
    fn residency_parts_have_their_own_ranges() {
        for (key, max) in [
            ("days_per_week", 7),
            ("nights_per_week", 7),
            ("days_per_month", 31),
        ] {
            for ok in [0, max] {
                let parsed = PolicyOverrides::parse(&json!({"residency": { key: ok }})).unwrap();
                let residency = parsed.residency.unwrap();
                assert_eq!(residency.to_value()[key], json!(ok), "{key}");
            }
            for bad in [json!(-1), json!(max + 1), json!(2.5), json!("3")] {
                let problems = problems_of(json!({"residency": { key: bad }}));
                assert_eq!(pointers(&problems), [format!("/residency/{key}")], "{key}");
            }
        }
    }

    #[test]
    fn residency_must_be_an_object_of_known_parts() {
        let problems = problems_of(json!({"residency": 5}));
        assert_eq!(pointers(&problems), ["/residency"]);
        let problems = problems_of(json!({"residency": {"days_per_year": 200}}));
        assert_eq!(pointers(&problems), ["/residency/days_per_year"]);
        assert_eq!(problems[0].reason, "is not a residency setting");
    }

    #[test]
    fn residency_parts_left_out_or_null_set_no_requirement() {
        let parsed = PolicyOverrides::parse(
            &json!({"residency": {"days_per_month": 20, "days_per_week": null}}),
        )
        .unwrap();
        assert_eq!(
            parsed.residency,
            Some(Residency {
                days_per_week: None,
                nights_per_week: None,
                days_per_month: Some(20),
            })
        );
    }

    #[test]
    fn unknown_keys_are_refused_even_when_null() {
        let problems = problems_of(json!({"accuracy_limit": 50, "speed": null}));
        assert_eq!(pointers(&problems), ["/accuracy_limit", "/speed"]);
        assert_eq!(problems[0].reason, "is not a policy setting");
    }

    #[test]
    fn unknown_keys_are_escaped_in_pointers() {
        let problems = problems_of(json!({"a/b~c": 1}));
        assert_eq!(pointers(&problems), ["/a~1b~0c"]);
    }

    #[test]
    fn null_means_not_set() {
        let body = json!({
            "residency": null, "accuracy_limit_m": null, "tolerance_m": null,
            "household_radius_m": null, "visit_interval_days": null,
            "max_paired_households": null, "speed_limit_kmh": null,
            "late_sync_hours": null, "clock_skew_limit_s": null,
        });
        assert_eq!(
            PolicyOverrides::parse(&body).unwrap(),
            PolicyOverrides::default()
        );
        assert_eq!(
            PolicyOverrides::parse(&json!({})).unwrap(),
            PolicyOverrides::default()
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let problems = problems_of(json!({
            "accuracy_limit_m": 0,
            "tolerance_m": -1,
            "visit_interval_days": 400,
            "residency": {"days_per_week": 8, "nights_per_week": 9, "weeks": 1},
            "colour": "red",
            "late_sync_hours": 24,
        }));
        let mut got = pointers(&problems);
        got.sort_unstable();
        assert_eq!(
            got,
            [
                "/accuracy_limit_m",
                "/colour",
                "/residency/days_per_week",
                "/residency/nights_per_week",
                "/residency/weeks",
                "/tolerance_m",
                "/visit_interval_days",
            ]
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_one_problem() {
        for body in [json!([]), json!(null), json!("x"), json!(3)] {
            let problems = problems_of(body);
            assert_eq!(
                problems,
                [FieldProblem::new("", "policy must be a JSON object")]
            );
        }
    }

    #[test]
    fn to_value_round_trips_through_parse() {
        let full = PolicyOverrides {
            residency: Some(Residency {
                days_per_week: Some(4),
                nights_per_week: None,
                days_per_month: Some(18),
            }),
            accuracy_limit_m: Some(75.5),
            tolerance_m: Some(ToleranceMeters::parse(0.0).unwrap()),
            household_radius_m: Some(250.0),
            visit_interval_days: Some(14),
            max_paired_households: Some(0),
            speed_limit_kmh: Some(90.0),
            late_sync_hours: Some(0),
            clock_skew_limit_s: Some(60),
            challenge_minutes: Some(5),
            max_challenges_per_month: Some(0),
            night_window: Some(NightWindow {
                evening_from: 20 * 60 + 30,
                morning_until: 7 * 60,
            }),
            negative_rules: Some(NegativeRules::default().with(NegativeRule::VisitOverdue, false)),
            alerts: Some(AlertRules::default().with(AlertTrigger::Outside, false)),
            read_reason_required: Some(true),
            retention_days: Some(365),
            max_submissions_per_device_minute: Some(10),
            escalation: Some(Escalation {
                window_days: 90,
                levels: vec![EscalationLevel {
                    at: 2,
                    name: "约谈".into(),
                }],
            }),
        };
        for overrides in [
            full.clone(),
            PolicyOverrides::default(),
            PolicyOverrides {
                speed_limit_kmh: Some(300.0),
                ..PolicyOverrides::default()
            },
        ] {
            let value = overrides.to_value();
            assert_eq!(PolicyOverrides::parse(&value).unwrap(), overrides);
        }
        assert_eq!(PolicyOverrides::default().to_value(), json!({}));
        assert_eq!(
            full.to_value()["residency"],
            json!({"days_per_week": 4, "nights_per_week": null, "days_per_month": 18})
        );
    }

    #[test]
    fn defaults_match_the_documented_table() {
        let value = Policy::default().to_value();
        assert_eq!(
            value,
            json!({
                "residency": {"days_per_week": 5, "nights_per_week": 4, "days_per_month": null},
                "accuracy_limit_m": 500.0,
                "tolerance_m": null,
                "household_radius_m": 100.0,
                "visit_interval_days": 30,
                "max_paired_households": 5,
                "speed_limit_kmh": 120.0,
                "late_sync_hours": 72,
                "clock_skew_limit_s": 300,
                "challenge_minutes": 30,
                "max_challenges_per_month": 2,
                "night_window": {"evening_from": "19:00", "morning_until": "09:00"},
                "negative_rules": {"residency_below": true, "spot_check_missed": true,
                    "spot_check_absent": true, "verification_denied": true, "visit_overdue": true},
                "escalation": {"window_days": 365, "levels": [{"at": 1, "name": "学习"},
                    {"at": 2, "name": "约谈"}, {"at": 3, "name": "处罚"}]},
                "alerts": {"outside": true, "not_assigned": true, "mock_location": true,
                    "impossible_speed": true, "spot_check_absent": true, "spot_check_missed": true,
                    "household_denied": true, "negative_item_proposed": true},
                "read_reason_required": false,
                "retention_days": 1_095,
                "max_submissions_per_device_minute": 600,
            })
        );
    }

    #[test]
    fn night_windows_parse_as_county_times() {
        let parsed = PolicyOverrides::parse(
            &json!({"night_window": {"evening_from": "20:30", "morning_until": "06:00"}}),
        )
        .unwrap();
        assert_eq!(
            parsed.night_window,
            Some(NightWindow {
                evening_from: 20 * 60 + 30,
                morning_until: 6 * 60
            })
        );
        for (value, pointer) in [
            (json!("19:00"), "/night_window"),
            (
                json!({"evening_from": "24:00", "morning_until": "06:00"}),
                "/night_window/evening_from",
            ),
            (
                json!({"evening_from": "7pm", "morning_until": "06:00"}),
                "/night_window/evening_from",
            ),
            (
                json!({"evening_from": "19:00"}),
                "/night_window/morning_until",
            ),
            (
                json!({"evening_from": "08:00", "morning_until": "09:00"}),
                "/night_window/morning_until",
            ),
            (
                json!({"evening_from": "19:00", "morning_until": "06:00", "x": 1}),
                "/night_window/x",
            ),
        ] {
            let problems = problems_of(json!({ "night_window": value }));
            assert_eq!(pointers(&problems), [pointer], "{value}");
        }
    }

    #[test]
    fn resolving_nothing_gives_defaults_from_default() {
        let effective = resolve(&[]);
        assert_eq!(effective.policy, Policy::default());
        assert_eq!(effective.sources.len(), POLICY_KEYS.len());
        assert!(effective.sources.values().all(|s| s == "default"));
        let empty = PolicyOverrides::default();
        assert_eq!(resolve(&[("99", &empty), ("9901", &empty)]), effective);
    }

    #[test]
    fn the_nearest_unit_that_sets_a_key_wins() {
        let province = PolicyOverrides {
            speed_limit_kmh: Some(100.0),
            late_sync_hours: Some(48),
            tolerance_m: Some(ToleranceMeters::parse(50.0).unwrap()),
            ..PolicyOverrides::default()
        };
        let county = PolicyOverrides {
            late_sync_hours: Some(24),
            ..PolicyOverrides::default()
        };
        let village = PolicyOverrides {
            speed_limit_kmh: Some(80.0),
            ..PolicyOverrides::default()
        };
        let effective = resolve(&[
            ("99", &province),
            ("990101", &county),
            ("990101001", &village),
        ]);
        assert_eq!(effective.policy.speed_limit_kmh, 80.0);
        assert_eq!(effective.policy.late_sync_hours, 24);
        assert_eq!(effective.policy.tolerance_m.map(|t| t.get()), Some(50.0));
        assert_eq!(effective.policy.visit_interval_days, 30);
        let sources = effective.sources_value();
        assert_eq!(sources["speed_limit_kmh"], "990101001");
        assert_eq!(sources["late_sync_hours"], "990101");
        assert_eq!(sources["tolerance_m"], "99");
        assert_eq!(sources["visit_interval_days"], "default");
        assert_eq!(sources.as_object().unwrap().len(), POLICY_KEYS.len());
    }

    #[test]
    fn residency_is_replaced_whole_not_merged() {
        let county = PolicyOverrides {
            residency: Some(Residency {
                days_per_week: Some(5),
                nights_per_week: Some(4),
                days_per_month: None,
            }),
            ..PolicyOverrides::default()
        };
        let township = PolicyOverrides {
            residency: Some(Residency {
                days_per_week: None,
                nights_per_week: None,
                days_per_month: Some(20),
            }),
            ..PolicyOverrides::default()
        };
        let effective = resolve(&[("990101", &county), ("990101002", &township)]);
        assert_eq!(
            effective.policy.residency,
            Residency {
                days_per_week: None,
                nights_per_week: None,
                days_per_month: Some(20),
            }
        );
        assert_eq!(effective.sources["residency"], "990101002");
    }
}
