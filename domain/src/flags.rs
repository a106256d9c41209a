//! The rules that distrust the phone, and the household check of a visit. Each rule only adds a
//! flag for a person to review; none refuses a record.

use crate::geo::{distance_m, GeoVerdict, Position};
use crate::policy::Policy;
use crate::record::{Fix, Flag, RecordSubmission};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

/// The person's fix that came before this one, by captured_at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriorFix {
    pub captured_at: OffsetDateTime,
    pub position: Position,
    pub accuracy_m: f64,
}

/// What storage knows about the record's context, for the flag rules.
pub struct FlagInputs<'a> {
    pub policy: &'a Policy,
    pub received_at: OffsetDateTime,
    pub previous_fix: Option<PriorFix>,
    /// An earlier fix of the person had exactly these coordinates and accuracy.
    pub repeated_fix: bool,
    /// The device bound to the person before this record; None when this record binds it.
    pub bound_device: Option<&'a str>,
    pub unrelated_household: bool,
}

/// Speed needed to get from `previous` to `fix` in km/h, giving the phone the benefit of both
/// accuracy circles: only the distance beyond them counts.
pub fn implied_speed_kmh(previous: &PriorFix, fix: &Fix, captured_at: OffsetDateTime) -> f64 {
    let distance = distance_m(previous.position, fix.position);
    let unexplained = (distance - previous.accuracy_m - fix.accuracy.get()).max(0.0);
    if unexplained == 0.0 {
        return 0.0;
    }
    let seconds = (captured_at - previous.captured_at).as_seconds_f64().abs();
    if seconds == 0.0 {
        return f64::INFINITY;
    }
    unexplained / seconds * 3.6
}

/// The flags for a record, in a fixed order, besides those the geo verdict gave.
pub fn flags(submission: &RecordSubmission, inputs: &FlagInputs<'_>) -> Vec<Flag> {
    let policy = inputs.policy;
    let captured_at = submission.captured_at.at();
    let mut flags = Vec::new();
    if let Some(fix) = submission.fix() {
        if fix.mock {
            flags.push(Flag::MockLocation);
        }
        if let Some(previous) = &inputs.previous_fix {
            if implied_speed_kmh(previous, fix, captured_at) > policy.speed_limit_kmh {
                flags.push(Flag::ImpossibleSpeed);
            }
        }
        if inputs.repeated_fix {
            flags.push(Flag::RepeatedFix);
        }
    }
    let skew_limit = Duration::seconds(i64::from(policy.clock_skew_limit_s));
    let ahead = captured_at > inputs.received_at;
    let sent_off = submission
        .sent_at
        .is_some_and(|sent| (sent - inputs.received_at).abs() > skew_limit);
    if ahead || sent_off {
        flags.push(Flag::ClockSkew);
    }
    if let (Some(bound), Some(device)) = (inputs.bound_device, &submission.device_id) {
        if bound != device.as_str() {
            flags.push(Flag::UnboundDevice);
        }
    }
    let window = Duration::hours(i64::from(policy.late_sync_hours));
    if inputs.received_at - captured_at > window {
        flags.push(Flag::LateSync);
    }
    if inputs.unrelated_household {
        flags.push(Flag::UnrelatedHousehold);
    }
    flags
}

/// How a visit's fix relates to the household's location.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HouseholdJudgement {
    pub distance_m: f64,
    pub check: GeoVerdict,
}

impl HouseholdJudgement {
    pub fn at_household(&self) -> bool {
        self.check == GeoVerdict::Inside
    }

    pub fn to_value(&self) -> Value {
        json!({
            "household_distance_m": self.distance_m,
            "household_check": self.check.as_str(),
            "at_household": self.at_household(),
        })
    }
}

/// Grades the fix against a circle of `radius_m` around the household, as the geo verdict grades
/// against a village: inside when the whole accuracy circle is within it, outside when none is.
pub fn judge_household(
    fix: &Fix,
    household: Position,
    radius_m: f64,
    accuracy_limit_m: f64,
) -> HouseholdJudgement {
    let distance = distance_m(fix.position, household);
    let accuracy = fix.accuracy.get();
    let check = if accuracy > accuracy_limit_m || accuracy_limit_m.is_nan() {
        GeoVerdict::Unverifiable
    } else if distance + accuracy <= radius_m {
        GeoVerdict::Inside
    } else if distance - accuracy > radius_m {
        GeoVerdict::Outside
    } else {
        GeoVerdict::Boundary
    };
    HouseholdJudgement {
        distance_m: (distance * 10.0).round() / 10.0,
        check,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::AccuracyMeters;
    use crate::record::{CapturedAt, DeviceId, RecordBody, RecordKind};
    use time::macros::datetime;
    use uuid::Uuid;

    const NOW: OffsetDateTime = datetime!(2026-11-23 08:00 +08:00);

    fn fix_at(lon: f64, lat: f64, accuracy: f64) -> Fix {
        Fix::wgs84(
            Position::parse(lon, lat).unwrap(),
            AccuracyMeters::parse(accuracy).unwrap(),
        )
    }

    fn check_in(fix: Fix, captured_at: &str) -> RecordSubmission {
        RecordSubmission {
            id: Uuid::nil(),
            kind: RecordKind::CheckIn,
            captured_at: CapturedAt::parse(captured_at, NOW).unwrap(),
            device_id: Some(DeviceId::parse("phone-1").unwrap()),
            sent_at: None,
            attachments: Vec::new(),
            body: RecordBody::Presence { fix, note: None },
        }
    }

    fn inputs(policy: &Policy) -> FlagInputs<'_> {
        FlagInputs {
            policy,
            received_at: NOW,
            previous_fix: None,
            repeated_fix: false,
            bound_device: None,
            unrelated_household: false,
        }
    }

    #[test]
    fn a_plain_record_has_no_flags() {
        let policy = Policy::default();
        let record = check_in(fix_at(116.91, 34.21, 10.0), "2026-11-23T07:59:00+08:00");
        assert!(flags(&record, &inputs(&policy)).is_empty());
    }

    #[test]
    fn speed_allows_for_both_accuracy_circles() {
        let previous = PriorFix {
            captured_at: datetime!(2026-11-23 07:59 +08:00),
            position: Position::parse(116.91, 34.21).unwrap(),
            accuracy_m: 450.0,
        };
        // About 1.84 km east in 60 s: 110 km/h raw, but only ~940 m beyond the circles.
        let near = fix_at(116.93, 34.21, 450.0);
        let speed = implied_speed_kmh(&previous, &near, NOW);
        assert!((50.0..60.0).contains(&speed), "{speed}");
        let far = fix_at(117.21, 34.21, 10.0);
        assert!(implied_speed_kmh(&previous, &far, NOW) > 1000.0);
        let same_instant = implied_speed_kmh(&previous, &far, previous.captured_at);
        assert!(same_instant.is_infinite());
        let within_circles = fix_at(116.911, 34.21, 450.0);
        assert_eq!(
            implied_speed_kmh(&previous, &within_circles, previous.captured_at),
            0.0
        );

        let policy = Policy::default();
        let mut context = inputs(&policy);
        context.previous_fix = Some(previous);
        let record = check_in(far, "2026-11-23T08:00:00+08:00");
        assert_eq!(flags(&record, &context), [Flag::ImpossibleSpeed]);
    }

    #[test]
    fn clock_rules_use_the_policy_limits() {
        let mut policy = Policy::default();
        let ahead = check_in(fix_at(116.91, 34.21, 10.0), "2026-11-23T08:02:00+08:00");
        assert_eq!(flags(&ahead, &inputs(&policy)), [Flag::ClockSkew]);

        let mut sent = check_in(fix_at(116.91, 34.21, 10.0), "2026-11-23T07:59:00+08:00");
        sent.sent_at = Some(datetime!(2026-11-23 07:00 +08:00));
        assert_eq!(flags(&sent, &inputs(&policy)), [Flag::ClockSkew]);
        sent.sent_at = Some(datetime!(2026-11-23 07:57 +08:00));
        assert!(flags(&sent, &inputs(&policy)).is_empty());

        let old = check_in(fix_at(116.91, 34.21, 10.0), "2026-11-19T08:00:00+08:00");
        assert_eq!(flags(&old, &inputs(&policy)), [Flag::LateSync]);
        policy.late_sync_hours = 200;
        assert!(flags(&old, &inputs(&policy)).is_empty());
    }

    #[test]
    fn device_mock_repeat_and_household_flags() {
        let policy = Policy::default();
        let mut mocked = fix_at(116.91, 34.21, 10.0);
        mocked.mock = true;
        let record = check_in(mocked, "2026-11-23T07:59:00+08:00");
        let mut context = inputs(&policy);
        context.bound_device = Some("phone-2");
        context.repeated_fix = true;
        context.unrelated_household = true;
        assert_eq!(
            flags(&record, &context),
            [
                Flag::MockLocation,
                Flag::RepeatedFix,
                Flag::UnboundDevice,
                Flag::UnrelatedHousehold
            ]
        );
        context.bound_device = Some("phone-1");
        assert!(!flags(&record, &context).contains(&Flag::UnboundDevice));
    }

    #[test]
    fn household_check_is_graded_by_accuracy() {
        let home = Position::parse(116.91, 34.21).unwrap();
        // 0.0005° of latitude is about 55.6 m.
        let near = judge_household(&fix_at(116.91, 34.2105, 20.0), home, 100.0, 500.0);
        assert_eq!(near.check, GeoVerdict::Inside);
        assert!(near.at_household());
        assert!(
            (55.0..56.5).contains(&near.distance_m),
            "{}",
            near.distance_m
        );
        let crossing = judge_household(&fix_at(116.91, 34.2105, 60.0), home, 100.0, 500.0);
        assert_eq!(crossing.check, GeoVerdict::Boundary);
        assert!(!crossing.at_household());
        let away = judge_household(&fix_at(116.91, 34.2105, 20.0), home, 30.0, 500.0);
        assert_eq!(away.check, GeoVerdict::Outside);
        let vague = judge_household(&fix_at(116.91, 34.2105, 800.0), home, 100.0, 500.0);
        assert_eq!(vague.check, GeoVerdict::Unverifiable);
    }
}
