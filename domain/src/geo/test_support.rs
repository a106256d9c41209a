//! Shapes and numbers the geometry tests of every file build on.

use serde_json::{json, Value};

use super::{AccuracyMeters, Boundary, Position, ToleranceMeters, EARTH_RADIUS_M};

pub const LON0: f64 = 116.9;
pub const LAT0: f64 = 34.2;

pub fn pos(lon: f64, lat: f64) -> Position {
    Position::parse(lon, lat).expect("valid test position")
}

pub fn acc(m: f64) -> AccuracyMeters {
    AccuracyMeters::parse(m).expect("valid test accuracy")
}

pub fn tol(m: f64) -> ToleranceMeters {
    ToleranceMeters::parse(m).expect("valid test tolerance")
}

/// Degrees of latitude for `m` metres north-south.
pub fn dlat(m: f64) -> f64 {
    m / EARTH_RADIUS_M.to_radians()
}

/// Degrees of longitude for `m` metres east-west at `lat`.
pub fn dlon(m: f64, lat: f64) -> f64 {
    m / (EARTH_RADIUS_M.to_radians() * lat.to_radians().cos())
}

/// Closed ring (counter-clockwise) of an axis-aligned square `side_m` wide around a centre.
pub fn square_ring(lon: f64, lat: f64, side_m: f64) -> Value {
    let (hx, hy) = (dlon(side_m / 2.0, lat), dlat(side_m / 2.0));
    json!([
        [lon - hx, lat - hy],
        [lon + hx, lat - hy],
        [lon + hx, lat + hy],
        [lon - hx, lat + hy],
        [lon - hx, lat - hy]
    ])
}

pub fn polygon(rings: Vec<Value>) -> Value {
    json!({ "type": "Polygon", "coordinates": rings })
}

pub fn boundary(geometry: &Value) -> Boundary {
    // Random test shapes may cross themselves; the geometry code must cope with them anyway.
    Boundary::from_geojson_unchecked(geometry)
        .expect("valid test geometry")
        .expect("not null")
}

pub fn square(lon: f64, lat: f64, side_m: f64) -> Boundary {
    boundary(&polygon(vec![square_ring(lon, lat, side_m)]))
}
