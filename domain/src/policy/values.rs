//! The values of policy settings that are more than a number: residency, the night window, and
//! the parsing every setting shares (one problem per bad field, pointers by RFC 6901).

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::FieldProblem;

const RESIDENCY_KEYS: [&str; 3] = ["days_per_week", "nights_per_week", "days_per_month"];

/// How much of their time a resident cadre must spend in the village. A `None` part sets no
/// requirement of that kind (a county may count days per month and not per week).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Residency {
    pub days_per_week: Option<u8>,
    pub nights_per_week: Option<u8>,
    pub days_per_month: Option<u8>,
}

impl Residency {
    /// All three keys, `null` where unset, so a reader sees that a part is deliberately absent.
    pub fn to_value(&self) -> Value {
        json!({
            "days_per_week": self.days_per_week,
            "nights_per_week": self.nights_per_week,
            "days_per_month": self.days_per_month,
        })
    }
}

/// When a night counts as spent in the village: a record placing the cadre there at or after
/// `evening_from` on a day and one before `morning_until` the next morning (county time, minutes
/// after midnight). One value, like residency: an override replaces both times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NightWindow {
    pub evening_from: u16,
    pub morning_until: u16,
}

impl Default for NightWindow {
    fn default() -> Self {
        NightWindow {
            evening_from: 19 * 60,
            morning_until: 9 * 60,
        }
    }
}

impl NightWindow {
    pub fn to_value(&self) -> Value {
        let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        json!({
            "evening_from": hhmm(self.evening_from),
            "morning_until": hhmm(self.morning_until),
        })
    }
}

/// `HH:MM` (00:00–23:59) as minutes after midnight.
fn parse_hhmm(raw: &str) -> Option<u16> {
    let (h, m) = raw.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

pub(super) fn parse_night_window(
    raw: &Value,
    pointer: &str,
    problems: &mut Vec<FieldProblem>,
) -> Option<NightWindow> {
    let Some(object) = raw.as_object() else {
        problems.push(FieldProblem::new(
            pointer,
            "must be an object with evening_from and morning_until",
        ));
        return None;
    };
    let before = problems.len();
    for key in object.keys() {
        if key != "evening_from" && key != "morning_until" {
            problems.push(FieldProblem::new(
                format!("{pointer}/{}", escape_pointer(key)),
                "is not a night_window setting",
            ));
        }
    }
    let mut time = |key: &str| {
        let found = object.get(key).and_then(Value::as_str).and_then(parse_hhmm);
        if found.is_none() {
            problems.push(FieldProblem::new(
                format!("{pointer}/{key}"),
                "is required, as HH:MM county time (00:00 to 23:59)",
            ));
        }
        found
    };
    let evening_from = time("evening_from");
    let morning_until = time("morning_until");
    let (evening_from, morning_until) = (evening_from?, morning_until?);
    if morning_until >= evening_from {
        problems.push(FieldProblem::new(
            format!("{pointer}/morning_until"),
            "must be earlier in the day than evening_from",
        ));
    }
    (problems.len() == before).then_some(NightWindow {
        evening_from,
        morning_until,
    })
}

/// RFC 6901: a key containing `~` or `/` must be escaped to name itself in a pointer.
pub(super) fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

pub(super) fn number(
    raw: &Value,
    min: f64,
    max: f64,
    pointer: &str,
    problems: &mut Vec<FieldProblem>,
) -> Option<f64> {
    match raw.as_f64() {
        // `+ 0.0` turns -0.0 into 0.0, so it never serialises as "-0.0".
        Some(n) if n.is_finite() && (min..=max).contains(&n) => Some(n + 0.0),
        _ => {
            problems.push(FieldProblem::new(
                pointer,
                format!("must be a number from {min} to {max}"),
            ));
            None
        }
    }
}

pub(super) fn integer<T: TryFrom<u32>>(
    raw: &Value,
    min: u32,
    max: u32,
    pointer: &str,
    problems: &mut Vec<FieldProblem>,
) -> Option<T> {
    // Through f64 so that 5.0 (as some JSON encoders write every number) is accepted; every
    // range here is far below 2^53, so the conversion is exact for anything in range.
    let parsed = raw
        .as_f64()
        .filter(|n| n.fract() == 0.0 && f64::from(min) <= *n && *n <= f64::from(max))
        // In range and whole, so the cast neither truncates nor saturates.
        .map(|n| n as u32)
        .and_then(|n| T::try_from(n).ok());
    if parsed.is_none() {
        problems.push(FieldProblem::new(
            pointer,
            format!("must be an integer from {min} to {max}"),
        ));
    }
    parsed
}

pub(super) fn parse_residency(
    raw: &Value,
    pointer: &str,
    problems: &mut Vec<FieldProblem>,
) -> Option<Residency> {
    let Some(object) = raw.as_object() else {
        problems.push(FieldProblem::new(
            pointer,
            "must be an object with days_per_week, nights_per_week and days_per_month",
        ));
        return None;
    };
    let before = problems.len();
    let mut residency = Residency::default();
    for (key, part) in object {
        let inner = format!("{pointer}/{}", escape_pointer(key));
        if !RESIDENCY_KEYS.contains(&key.as_str()) {
            problems.push(FieldProblem::new(inner, "is not a residency setting"));
            continue;
        }
        if part.is_null() {
            continue;
        }
        match key.as_str() {
            "days_per_week" => residency.days_per_week = integer(part, 0, 7, &inner, problems),
            "nights_per_week" => residency.nights_per_week = integer(part, 0, 7, &inner, problems),
            "days_per_month" => residency.days_per_month = integer(part, 0, 31, &inner, problems),
            _ => problems.push(FieldProblem::new(inner, "is not a residency setting")),
        }
    }
    (problems.len() == before).then_some(residency)
}
