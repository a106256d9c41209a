//! GeoJSON unit import, the domain part of `POST /v1/units/import` (api/src/handlers/units.rs):
//! a FeatureCollection's properties through the unit types and each geometry through
//! `geo::Boundary::from_geojson`; a bare geometry is read as one.
//!
//! * Nothing panics, whatever the JSON.
//! * A boundary that parses comes back equal from its own GeoJSON (round trip).
//! * Its `UnitShape` has a finite, non-negative area; distances to probe points are finite; the
//!   sign of the distance agrees with `contains` away from the edge; the unit index finds only
//!   units that contain the point.
#![no_main]

use fieldtrail_domain::geo::{Boundary, Position, ToleranceMeters, UnitIndex, UnitShape};
use fieldtrail_domain::unit::{UnitCode, UnitLevel, UnitName};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let mut boundaries = Vec::new();
    match value.get("features").and_then(Value::as_array) {
        Some(features) => {
            for feature in features {
                if let Some(props) = feature.get("properties") {
                    let text = |key: &str| props.get(key).and_then(Value::as_str);
                    let _ = text("code").map(UnitCode::parse);
                    let _ = text("parent_code").map(UnitCode::parse);
                    let _ = text("name").map(UnitName::parse);
                    if let Some(Ok(level)) = text("level").map(UnitLevel::parse) {
                        assert_eq!(UnitLevel::parse(level.as_str()), Ok(level));
                        let _ = level.child();
                    }
                    if let Some(t) = props.get("tolerance_m").and_then(Value::as_f64) {
                        if let Ok(t) = ToleranceMeters::parse(t) {
                            assert!(t.get().is_finite() && t.get() >= 0.0);
                        }
                    }
                }
                let geometry = feature.get("geometry").unwrap_or(&Value::Null);
                boundaries.push(geometry);
            }
        }
        None => boundaries.push(&value),
    }

    let mut index = UnitIndex::new();
    let mut shapes = Vec::new();
    for (i, geometry) in boundaries.into_iter().enumerate() {
        let boundary = match Boundary::from_geojson(geometry) {
            Ok(Some(boundary)) => boundary,
            Ok(None) => continue,
            Err(problems) => {
                assert!(!problems.is_empty(), "an error without problems");
                for p in &problems {
                    assert!(p.pointer.is_empty() || p.pointer.starts_with('/'), "{p:?}");
                }
                continue;
            }
        };
        let back = boundary.to_geojson();
        assert_eq!(
            Boundary::from_geojson(&back),
            Ok(Some(boundary.clone())),
            "boundary does not round-trip through its GeoJSON"
        );
        let shape = UnitShape::new(&boundary);
        assert!(
            shape.area_m2().is_finite() && shape.area_m2() >= 0.0,
            "area {}",
            shape.area_m2()
        );
        let code = format!("34132210{i:04}");
        index.insert(&code, (i % 5) as u8, &boundary);
        shapes.push((code, boundary, shape));
    }

    for (_, boundary, shape) in &shapes {
        for p in probes(boundary) {
            let d = shape.signed_distance_m(p);
            assert!(!d.is_nan(), "distance to {p:?} is NaN");
            let inside = shape.contains(p);
            if d > 1.0 {
                assert!(inside, "{p:?} is {d} m inside but not contained");
            } else if d < -1.0 {
                assert!(!inside, "{p:?} is {} m outside but contained", -d);
            }
            if let Some(code) = index.most_specific_containing(p) {
                let found = index.shape(code).expect("the index knows its own units");
                assert!(
                    found.covers(p),
                    "index answered {code}, which does not cover {p:?}"
                );
            }
        }
    }
});

/// Points to probe a boundary at: its vertices, the midpoints of its edges, points just off
/// them, and the middle of its bounding box.
fn probes(boundary: &Boundary) -> Vec<Position> {
    let mut out = Vec::new();
    let (mut min_lon, mut min_lat, mut max_lon, mut max_lat) =
        (180.0f64, 90.0f64, -180.0f64, -90.0f64);
    for polygon in boundary.multi_polygon() {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            for pair in ring.0.windows(2).take(64) {
                let (a, b) = (pair[0], pair[1]);
                min_lon = min_lon.min(a.x);
                min_lat = min_lat.min(a.y);
                max_lon = max_lon.max(a.x);
                max_lat = max_lat.max(a.y);
                let (mx, my) = ((a.x + b.x) / 2.0, (a.y + b.y) / 2.0);
                for (lon, lat) in [
                    (a.x, a.y),
                    (mx, my),
                    (mx + 1e-4, my),
                    (mx - 1e-4, my),
                    (mx, my + 1e-4),
                    (mx, my - 1e-4),
                ] {
                    if let Ok(p) = Position::parse(lon, lat) {
                        out.push(p);
                    }
                }
            }
        }
    }
    if min_lon <= max_lon {
        if let Ok(p) = Position::parse((min_lon + max_lon) / 2.0, (min_lat + max_lat) / 2.0) {
            out.push(p);
        }
    }
    out
}
