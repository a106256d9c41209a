//! Positions, accuracy radii and tolerances: the numbers a verdict is made of, each parsed so
//! that NaN, an out-of-range latitude or a negative radius never reaches the geometry.

use serde::Serialize;

/// Mean earth radius (IUGG R1), in metres: the sphere every distance in this module is taken on.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Largest accuracy radius a fix may claim; beyond this a "fix" says nothing about where it is.
pub const MAX_ACCURACY_M: f64 = 1e7;

/// Largest boundary tolerance a unit may be given.
pub const MAX_TOLERANCE_M: f64 = 10_000.0;

/// Why a number could not become a position, accuracy or tolerance. The messages are shown to
/// users as the reason their input was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum GeoError {
    #[error("{field} must be a finite number")]
    NotFinite { field: &'static str },
    #[error("longitude must be between -180 and 180")]
    LongitudeOutOfRange,
    #[error("latitude must be between -90 and 90")]
    LatitudeOutOfRange,
    #[error("accuracy must be greater than 0 metres")]
    AccuracyNotPositive,
    #[error("accuracy must be at most 10000000 metres")]
    AccuracyTooLarge,
    #[error("tolerance must be between 0 and 10000 metres")]
    ToleranceOutOfRange,
}

/// WGS-84 position; fields private; cannot hold a bad value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Position {
    lon: f64,
    lat: f64,
}

impl Position {
    /// Accepts finite `lon` in [-180, 180] and `lat` in [-90, 90], ends included.
    pub fn parse(lon: f64, lat: f64) -> Result<Self, GeoError> {
        // Finiteness first, so NaN gets the message that names the actual problem.
        if !lon.is_finite() {
            return Err(GeoError::NotFinite { field: "longitude" });
        }
        if !lat.is_finite() {
            return Err(GeoError::NotFinite { field: "latitude" });
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(GeoError::LongitudeOutOfRange);
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(GeoError::LatitudeOutOfRange);
        }
        Ok(Self { lon, lat })
    }

    pub fn lon(&self) -> f64 {
        self.lon
    }

    pub fn lat(&self) -> f64 {
        self.lat
    }
}

/// Great-circle distance in metres on the sphere the verdicts use.
pub fn distance_m(a: Position, b: Position) -> f64 {
    let (lat1, lat2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Horizontal accuracy radius of a fix in metres: finite and > 0 (and <= 1e7).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct AccuracyMeters(f64);

impl AccuracyMeters {
    pub fn parse(metres: f64) -> Result<Self, GeoError> {
        if !metres.is_finite() {
            return Err(GeoError::NotFinite { field: "accuracy" });
        }
        // A zero radius would claim perfect knowledge, which no receiver has; it is how some
        // clients say "unknown", and must not be mistaken for certainty.
        if metres <= 0.0 {
            return Err(GeoError::AccuracyNotPositive);
        }
        if metres > MAX_ACCURACY_M {
            return Err(GeoError::AccuracyTooLarge);
        }
        Ok(Self(metres))
    }

    pub fn get(&self) -> f64 {
        self.0
    }
}

/// Boundary tolerance of a unit in metres: finite, >= 0, <= 10_000.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[serde(transparent)]
pub struct ToleranceMeters(f64);

impl ToleranceMeters {
    pub fn parse(metres: f64) -> Result<Self, GeoError> {
        if !metres.is_finite() {
            return Err(GeoError::NotFinite { field: "tolerance" });
        }
        if !(0.0..=MAX_TOLERANCE_M).contains(&metres) {
            return Err(GeoError::ToleranceOutOfRange);
        }
        // -0.0 passes the range check; store +0.0 so it serialises as "0.0", not "-0.0".
        Ok(Self(metres + 0.0))
    }

    pub fn get(&self) -> f64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::test_support::*;

    // ---- scalar parsing ----

    #[test]
    fn position_accepts_the_extremes() {
        for (lon, lat) in [(180.0, 90.0), (-180.0, -90.0), (0.0, 0.0), (LON0, LAT0)] {
            let p = Position::parse(lon, lat).expect("in range");
            assert_eq!((p.lon(), p.lat()), (lon, lat));
        }
    }

    #[test]
    fn position_rejects_non_finite_naming_the_field() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(
                Position::parse(bad, 0.0),
                Err(GeoError::NotFinite { field: "longitude" })
            );
            assert_eq!(
                Position::parse(0.0, bad),
                Err(GeoError::NotFinite { field: "latitude" })
            );
        }
    }

    #[test]
    fn position_rejects_out_of_range() {
        assert_eq!(
            Position::parse(180.0001, 0.0),
            Err(GeoError::LongitudeOutOfRange)
        );
        assert_eq!(
            Position::parse(-180.0001, 0.0),
            Err(GeoError::LongitudeOutOfRange)
        );
        assert_eq!(
            Position::parse(0.0, 90.0001),
            Err(GeoError::LatitudeOutOfRange)
        );
        assert_eq!(
            Position::parse(0.0, -90.0001),
            Err(GeoError::LatitudeOutOfRange)
        );
    }

    #[test]
    fn error_messages_are_user_facing() {
        assert_eq!(
            GeoError::LatitudeOutOfRange.to_string(),
            "latitude must be between -90 and 90"
        );
        assert_eq!(
            GeoError::LongitudeOutOfRange.to_string(),
            "longitude must be between -180 and 180"
        );
        assert_eq!(
            GeoError::NotFinite { field: "accuracy" }.to_string(),
            "accuracy must be a finite number"
        );
    }

    #[test]
    fn accuracy_must_be_positive_finite_and_bounded() {
        assert_eq!(acc(5.0).get(), 5.0);
        assert_eq!(acc(MAX_ACCURACY_M).get(), MAX_ACCURACY_M);
        assert_eq!(acc(1e-9).get(), 1e-9);
        for bad in [0.0, -0.0, -1.0] {
            assert_eq!(
                AccuracyMeters::parse(bad),
                Err(GeoError::AccuracyNotPositive)
            );
        }
        assert_eq!(
            AccuracyMeters::parse(MAX_ACCURACY_M + 1.0),
            Err(GeoError::AccuracyTooLarge)
        );
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(
                AccuracyMeters::parse(bad),
                Err(GeoError::NotFinite { field: "accuracy" })
            );
        }
    }

    #[test]
    fn tolerance_is_zero_to_ten_km() {
        assert_eq!(ToleranceMeters::default().get(), 0.0);
        assert_eq!(tol(0.0).get(), 0.0);
        assert!(tol(-0.0).get().is_sign_positive());
        assert_eq!(tol(10_000.0).get(), 10_000.0);
        for bad in [-0.1, 10_000.1] {
            assert_eq!(
                ToleranceMeters::parse(bad),
                Err(GeoError::ToleranceOutOfRange)
            );
        }
        assert_eq!(
            ToleranceMeters::parse(f64::NAN),
            Err(GeoError::NotFinite { field: "tolerance" })
        );
    }
}
