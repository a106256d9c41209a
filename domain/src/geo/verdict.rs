//! The graded verdict: inside, boundary, outside or unverifiable, from the signed distance, the
//! accuracy radius and the unit's tolerance.

use serde::{Deserialize, Serialize};

use super::{AccuracyMeters, Position, ToleranceMeters, UnitShape};

/// Outcome of judging a check-in position against its village.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeoVerdict {
    Inside,
    Boundary,
    Outside,
    Unverifiable,
}

impl GeoVerdict {
    /// The same spelling serde uses, for storage columns and logs.
    pub fn as_str(&self) -> &'static str {
        match self {
            GeoVerdict::Inside => "inside",
            GeoVerdict::Boundary => "boundary",
            GeoVerdict::Outside => "outside",
            GeoVerdict::Unverifiable => "unverifiable",
        }
    }

    /// Inverse of [`GeoVerdict::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "inside" => Some(GeoVerdict::Inside),
            "boundary" => Some(GeoVerdict::Boundary),
            "outside" => Some(GeoVerdict::Outside),
            "unverifiable" => Some(GeoVerdict::Unverifiable),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoJudgement {
    pub verdict: GeoVerdict,
    /// Signed distance to the boundary (positive inside), rounded to 0.1 m.
    pub distance_to_boundary_m: Option<f64>,
}

/// The graded verdict. shape = assigned village's shape (None when no village or it has no
/// boundary). d = signed distance, r = accuracy, t = tolerance:
///   no shape -> Unverifiable, distance None
///   accuracy > accuracy_limit_m -> Unverifiable, distance Some(d)
///   d >= r + t -> Inside; d <= -(r + t) -> Outside; otherwise Boundary.
///
/// The thresholds use the unrounded d; only the reported distance is rounded to 0.1 m, so a
/// reported distance equal to r + t may still come with Boundary.
pub fn judge(
    shape: Option<&UnitShape>,
    p: Position,
    accuracy: AccuracyMeters,
    tolerance: ToleranceMeters,
    accuracy_limit_m: f64,
) -> GeoJudgement {
    let Some(shape) = shape else {
        return GeoJudgement {
            verdict: GeoVerdict::Unverifiable,
            distance_to_boundary_m: None,
        };
    };
    let d = shape.signed_distance_m(p);
    // A NaN limit is a misconfiguration; failing closed keeps it from passing every fix.
    let verdict = if accuracy.get() > accuracy_limit_m || accuracy_limit_m.is_nan() {
        GeoVerdict::Unverifiable
    } else {
        grade(d, accuracy.get() + tolerance.get())
    };
    GeoJudgement {
        verdict,
        distance_to_boundary_m: Some(round_to_decimetre(d)),
    }
}

/// `reach` is how far the true position may be from the reported one and still count.
fn grade(d: f64, reach: f64) -> GeoVerdict {
    if d >= reach {
        GeoVerdict::Inside
    } else if d <= -reach {
        GeoVerdict::Outside
    } else {
        GeoVerdict::Boundary
    }
}

fn round_to_decimetre(d: f64) -> f64 {
    // `+ 0.0` turns the -0.0 that rounding a tiny negative gives into 0.0, which is what a
    // reader of the stored JSON expects to see.
    (d * 10.0).round() / 10.0 + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::test_support::*;
    use serde_json::json;

    #[test]
    fn serialised_forms() {
        let p = serde_json::to_value(pos(116.5, 34.25)).expect("serialise");
        assert_eq!(p, json!({ "lon": 116.5, "lat": 34.25 }));
        assert_eq!(
            serde_json::to_value(acc(12.5)).expect("serialise"),
            json!(12.5)
        );
        assert_eq!(
            serde_json::to_value(tol(30.0)).expect("serialise"),
            json!(30.0)
        );
        for v in [
            GeoVerdict::Inside,
            GeoVerdict::Boundary,
            GeoVerdict::Outside,
            GeoVerdict::Unverifiable,
        ] {
            assert_eq!(
                serde_json::to_value(v).expect("serialise"),
                json!(v.as_str())
            );
            let back: GeoVerdict = serde_json::from_value(json!(v.as_str())).expect("parse");
            assert_eq!(back, v);
            assert_eq!(GeoVerdict::parse(v.as_str()), Some(v));
        }
        assert_eq!(GeoVerdict::parse("Inside"), None);
    }

    // ---- judge ----

    fn village() -> UnitShape {
        UnitShape::new(&square(LON0, LAT0, 1000.0))
    }

    #[test]
    fn judge_inside_boundary_outside() {
        let shape = village();
        let centre = pos(LON0, LAT0);
        let j = judge(Some(&shape), centre, acc(20.0), tol(50.0), 100.0);
        assert_eq!(j.verdict, GeoVerdict::Inside);
        let d = j.distance_to_boundary_m.expect("distance");
        assert!((d - 500.0).abs() < 5.0);
        assert_eq!(d, (d * 10.0).round() / 10.0);

        // 30 m inside with r + t = 70: boundary.
        let near_edge = pos(LON0 + dlon(470.0, LAT0), LAT0);
        let j = judge(Some(&shape), near_edge, acc(20.0), tol(50.0), 100.0);
        assert_eq!(j.verdict, GeoVerdict::Boundary);
        // 30 m outside: still boundary.
        let just_out = pos(LON0 + dlon(530.0, LAT0), LAT0);
        let j = judge(Some(&shape), just_out, acc(20.0), tol(50.0), 100.0);
        assert_eq!(j.verdict, GeoVerdict::Boundary);
        let d = j.distance_to_boundary_m.expect("distance");
        assert!((d + 30.0).abs() < 0.5, "{d}");
        // 200 m outside: outside.
        let far_out = pos(LON0 + dlon(700.0, LAT0), LAT0);
        let j = judge(Some(&shape), far_out, acc(20.0), tol(50.0), 100.0);
        assert_eq!(j.verdict, GeoVerdict::Outside);
    }

    #[test]
    fn judge_without_a_shape_is_unverifiable() {
        let j = judge(None, pos(LON0, LAT0), acc(5.0), tol(0.0), 100.0);
        assert_eq!(
            j,
            GeoJudgement {
                verdict: GeoVerdict::Unverifiable,
                distance_to_boundary_m: None
            }
        );
    }

    #[test]
    fn judge_with_accuracy_above_the_limit_is_unverifiable_but_keeps_the_distance() {
        let shape = village();
        let j = judge(Some(&shape), pos(LON0, LAT0), acc(100.5), tol(0.0), 100.0);
        assert_eq!(j.verdict, GeoVerdict::Unverifiable);
        let d = j.distance_to_boundary_m.expect("distance");
        assert!((d - 500.0).abs() < 5.0);
        // At the limit is still judged.
        let j = judge(Some(&shape), pos(LON0, LAT0), acc(100.0), tol(0.0), 100.0);
        assert_eq!(j.verdict, GeoVerdict::Inside);
        // A NaN limit fails closed.
        let j = judge(Some(&shape), pos(LON0, LAT0), acc(1.0), tol(0.0), f64::NAN);
        assert_eq!(j.verdict, GeoVerdict::Unverifiable);
    }

    #[test]
    fn judge_exact_thresholds() {
        let shape = village();
        let p = pos(LON0 + dlon(100.0, LAT0), LAT0 + dlat(50.0));
        let d = shape.signed_distance_m(p);
        assert!(d > 300.0);
        // r + t == d exactly: inside.
        let j = judge(Some(&shape), p, acc(d), tol(0.0), 1e7);
        assert_eq!(j.verdict, GeoVerdict::Inside);
        // r + t a hair above d: boundary.
        let j = judge(Some(&shape), p, acc(d.next_up()), tol(0.0), 1e7);
        assert_eq!(j.verdict, GeoVerdict::Boundary);
        // The same with a tolerance in play.
        assert_eq!(grade(70.0, 20.0 + 50.0), GeoVerdict::Inside);
        assert_eq!(grade(69.999_999, 20.0 + 50.0), GeoVerdict::Boundary);
        assert_eq!(grade(-70.0, 20.0 + 50.0), GeoVerdict::Outside);
        assert_eq!(grade(-69.999_999, 20.0 + 50.0), GeoVerdict::Boundary);
        assert_eq!(grade(0.0, 5.0), GeoVerdict::Boundary);
        // Outside, at exactly -(r + t).
        let out = pos(LON0 + dlon(800.0, LAT0), LAT0);
        let d = shape.signed_distance_m(out);
        let j = judge(Some(&shape), out, acc(-d), tol(0.0), 1e7);
        assert_eq!(j.verdict, GeoVerdict::Outside);
        let j = judge(Some(&shape), out, acc((-d).next_up()), tol(0.0), 1e7);
        assert_eq!(j.verdict, GeoVerdict::Boundary);
    }

    #[test]
    fn rounding_never_yields_negative_zero() {
        assert!(round_to_decimetre(-0.04).is_sign_positive());
        assert_eq!(round_to_decimetre(12.345), 12.3);
        assert_eq!(round_to_decimetre(-12.36), -12.4);
    }
}
