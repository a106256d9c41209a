//! Unit boundaries as uploaded: GeoJSON Polygon/MultiPolygon in, every problem reported with its
//! JSON pointer, and back out.

// `::geo` because this module sits under one called `geo`: the leading `::` makes it plain that
// the crate is meant.
use ::geo::{Coord, LineString, MultiPolygon, Polygon};
use serde::Serialize;
use serde_json::{json, Value};

use super::{GeoError, Position};

/// One thing wrong with an uploaded geometry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeometryProblem {
    /// RFC 6901 JSON pointer relative to the geometry object ("" is the geometry itself), so the
    /// caller can prefix it with wherever the geometry sat in its request.
    pub pointer: String,
    pub reason: String,
}

/// A unit boundary (GeoJSON Polygon or MultiPolygon, WGS-84), validated: at least one polygon,
/// every polygon has an outer ring, every ring is closed with at least 4 positions, every
/// position is in range.
///
/// Edges are straight lines in longitude/latitude, as RFC 7946 prescribes. Boundaries that
/// cross the antimeridian are not supported (they would be read as going the long way round).
#[derive(Debug, Clone, PartialEq)]
pub struct Boundary {
    polygons: MultiPolygon<f64>,
}

impl Boundary {
    /// null -> Ok(None). Otherwise must be {"type": "Polygon"|"MultiPolygon", "coordinates": ...}.
    /// Collects ALL problems, not just the first. A position is `[lon, lat]` or
    /// `[lon, lat, altitude]`; the altitude is checked to be a number and then dropped. Members
    /// other than "type" and "coordinates" (e.g. "bbox") are ignored.
    pub fn from_geojson(geometry: &Value) -> Result<Option<Boundary>, Vec<GeometryProblem>> {
        Self::parse(geometry, true)
    }

    /// Without the ring checks: tests that throw random shapes at the geometry code.
    #[cfg(test)]
    pub(crate) fn from_geojson_unchecked(
        geometry: &Value,
    ) -> Result<Option<Boundary>, Vec<GeometryProblem>> {
        Self::parse(geometry, false)
    }

    fn parse(geometry: &Value, validate: bool) -> Result<Option<Boundary>, Vec<GeometryProblem>> {
        let object = match geometry {
            Value::Null => return Ok(None),
            Value::Object(object) => object,
            _ => {
                return Err(vec![problem(
                    String::new(),
                    "geometry must be a GeoJSON object or null",
                )])
            }
        };
        let mut problems = Vec::new();
        let kind = match object.get("type") {
            None => {
                problems.push(problem(
                    "/type".into(),
                    format!("missing \"type\"; {EXPECTED_TYPES}"),
                ));
                None
            }
            Some(Value::String(s)) if s == "Polygon" => Some(GeometryKind::Polygon),
            Some(Value::String(s)) if s == "MultiPolygon" => Some(GeometryKind::MultiPolygon),
            Some(Value::String(s)) => {
                problems.push(problem(
                    "/type".into(),
                    format!("unsupported geometry type \"{s}\"; {EXPECTED_TYPES}"),
                ));
                None
            }
            Some(_) => {
                problems.push(problem(
                    "/type".into(),
                    "\"type\" must be the string \"Polygon\" or \"MultiPolygon\"",
                ));
                None
            }
        };
        let coordinates = object.get("coordinates");
        if coordinates.is_none() {
            problems.push(problem("/coordinates".into(), "missing \"coordinates\""));
        }
        // Bounded before anything is built: judging cost grows with the vertices, and a village
        // boundary has hundreds to a few thousand of them.
        if let Some(count) = coordinates.map(count_positions) {
            if count > MAX_POSITIONS {
                return Err(vec![problem(
                    "/coordinates".into(),
                    format!(
                        "a boundary has at most {MAX_POSITIONS} positions; this one has {count} (simplify it)"
                    ),
                )]);
            }
        }
        let polygons = match (kind, coordinates) {
            (Some(GeometryKind::Polygon), Some(c)) => {
                parse_polygon(c, "/coordinates", &mut problems).map(|p| vec![p])
            }
            (Some(GeometryKind::MultiPolygon), Some(c)) => {
                parse_multi_polygon(c, "/coordinates", &mut problems)
            }
            // Without a known type the shape of "coordinates" cannot be judged.
            _ => None,
        };
        // Rings that cross themselves or each other make "inside" ambiguous: reported, not fixed.
        if let Some(polygons) = polygons.as_ref().filter(|_| validate) {
            use geo::Validation;
            for (i, polygon) in polygons.iter().enumerate() {
                let pointer = match kind {
                    Some(GeometryKind::MultiPolygon) => format!("/coordinates/{i}"),
                    _ => "/coordinates".to_owned(),
                };
                for invalid in polygon.validation_errors() {
                    use geo::algorithm::validation::{InvalidPolygon, RingRole};
                    // The ring the problem is about, as its index in the polygon's array.
                    let ring = match &invalid {
                        InvalidPolygon::TooFewPointsInRing(r)
                        | InvalidPolygon::SelfIntersection(r)
                        | InvalidPolygon::NonFiniteCoord(r, _)
                        | InvalidPolygon::InteriorRingNotContainedInExteriorRing(r)
                        | InvalidPolygon::IntersectingRingsOnALine(_, r)
                        | InvalidPolygon::IntersectingRingsOnAnArea(_, r) => *r,
                    };
                    let index = match ring {
                        RingRole::Exterior => 0,
                        RingRole::Interior(i) => i + 1,
                    };
                    problems.push(problem(format!("{pointer}/{index}"), invalid.to_string()));
                }
            }
        }
        match polygons {
            Some(polygons) if problems.is_empty() => Ok(Some(Boundary {
                polygons: MultiPolygon(polygons),
            })),
            _ => Err(problems),
        }
    }

    /// Back to GeoJSON: Polygon if it has one polygon, else MultiPolygon; coordinates as
    /// [lon, lat] (any altitude given on input is gone).
    pub fn to_geojson(&self) -> Value {
        match self.polygons.0.as_slice() {
            [single] => json!({ "type": "Polygon", "coordinates": polygon_json(single) }),
            many => json!({
                "type": "MultiPolygon",
                "coordinates": many.iter().map(polygon_json).collect::<Vec<_>>(),
            }),
        }
    }

    pub fn multi_polygon(&self) -> &MultiPolygon<f64> {
        &self.polygons
    }

    /// `[min_lon, min_lat, max_lon, max_lat]` over every vertex.
    pub(super) fn lon_lat_bounds(&self) -> [f64; 4] {
        let mut b = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for polygon in &self.polygons {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                for c in &ring.0 {
                    b = [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)];
                }
            }
        }
        b
    }
}

const EXPECTED_TYPES: &str = "expected \"Polygon\" or \"MultiPolygon\"";

/// Most positions one boundary may have, over all its rings and polygons.
pub const MAX_POSITIONS: usize = 100_000;

/// Positions in a GeoJSON coordinates value: arrays whose first member is a number.
fn count_positions(value: &Value) -> usize {
    match value {
        Value::Array(items) if items.first().is_some_and(Value::is_number) => 1,
        Value::Array(items) => items.iter().map(count_positions).sum(),
        _ => 0,
    }
}

#[derive(Clone, Copy)]
enum GeometryKind {
    Polygon,
    MultiPolygon,
}

fn problem(pointer: String, reason: impl Into<String>) -> GeometryProblem {
    GeometryProblem {
        pointer,
        reason: reason.into(),
    }
}

fn parse_multi_polygon(
    value: &Value,
    pointer: &str,
    problems: &mut Vec<GeometryProblem>,
) -> Option<Vec<Polygon<f64>>> {
    let Value::Array(items) = value else {
        problems.push(problem(
            pointer.into(),
            "MultiPolygon coordinates must be an array of polygons",
        ));
        return None;
    };
    if items.is_empty() {
        problems.push(problem(
            pointer.into(),
            "MultiPolygon must contain at least one polygon",
        ));
        return None;
    }
    let mut polygons = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match parse_polygon(item, &format!("{pointer}/{i}"), problems) {
            Some(polygon) => polygons.push(polygon),
            None => ok = false,
        }
    }
    ok.then_some(polygons)
}

fn parse_polygon(
    value: &Value,
    pointer: &str,
    problems: &mut Vec<GeometryProblem>,
) -> Option<Polygon<f64>> {
    let Value::Array(items) = value else {
        problems.push(problem(
            pointer.into(),
            "polygon must be an array of linear rings",
        ));
        return None;
    };
    if items.is_empty() {
        problems.push(problem(
            pointer.into(),
            "polygon must have at least one linear ring (its outer boundary)",
        ));
        return None;
    }
    if items.iter().all(Value::is_number) {
        problems.push(problem(
            pointer.into(),
            "polygon must be an array of linear rings, not a single position \
             (coordinates nested two levels too shallow?)",
        ));
        return None;
    }
    let mut rings = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match parse_ring(item, &format!("{pointer}/{i}"), problems) {
            Some(ring) => rings.push(ring),
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    let mut rings = rings.into_iter();
    let exterior = rings.next()?;
    Some(Polygon::new(exterior, rings.collect()))
}

fn parse_ring(
    value: &Value,
    pointer: &str,
    problems: &mut Vec<GeometryProblem>,
) -> Option<LineString<f64>> {
    let Value::Array(items) = value else {
        problems.push(problem(
            pointer.into(),
            "linear ring must be an array of positions",
        ));
        return None;
    };
    // A bare position where a ring belongs means the nesting is one level short; saying so
    // once beats one complaint per number.
    if !items.is_empty() && items.iter().all(Value::is_number) {
        problems.push(problem(
            pointer.into(),
            "linear ring must be an array of positions, not a single position \
             (coordinates nested one level too shallow?)",
        ));
        return None;
    }
    let positions: Vec<Option<Coord<f64>>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_position(item, &format!("{pointer}/{i}"), problems))
        .collect();
    let mut ok = true;
    if positions.len() < 4 {
        problems.push(problem(
            pointer.into(),
            format!(
                "linear ring needs at least 4 positions (the last repeating the first), has {}",
                positions.len()
            ),
        ));
        ok = false;
    }
    if let (Some(Some(first)), Some(Some(last))) = (positions.first(), positions.last()) {
        if positions.len() >= 2 && first != last {
            problems.push(problem(
                pointer.into(),
                "linear ring is not closed: its last position must equal its first",
            ));
            ok = false;
        }
    }
    let coords: Option<Vec<Coord<f64>>> = positions.into_iter().collect();
    match coords {
        Some(coords) if ok => Some(LineString(coords)),
        _ => None,
    }
}

fn parse_position(
    value: &Value,
    pointer: &str,
    problems: &mut Vec<GeometryProblem>,
) -> Option<Coord<f64>> {
    let items = match value {
        Value::Array(items) if items.len() == 2 || items.len() == 3 => items,
        _ => {
            problems.push(problem(
                pointer.into(),
                "position must be an array of 2 or 3 numbers: [longitude, latitude] or \
                 [longitude, latitude, altitude]",
            ));
            return None;
        }
    };
    const NAMES: [&str; 3] = ["longitude", "latitude", "altitude"];
    let mut numbers = [0.0_f64; 3];
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match item.as_f64().filter(|n| n.is_finite()) {
            Some(n) => numbers[i] = n,
            None => {
                problems.push(problem(
                    format!("{pointer}/{i}"),
                    format!("{} must be a finite number", NAMES[i]),
                ));
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    let [lon, lat, _altitude] = numbers;
    match Position::parse(lon, lat) {
        Ok(_) => Some(Coord { x: lon, y: lat }),
        Err(_) => {
            // Both coordinates may be out of range; report each where it stands.
            if Position::parse(lon, 0.0).is_err() {
                problems.push(problem(
                    format!("{pointer}/0"),
                    GeoError::LongitudeOutOfRange.to_string(),
                ));
            }
            if Position::parse(0.0, lat).is_err() {
                problems.push(problem(
                    format!("{pointer}/1"),
                    GeoError::LatitudeOutOfRange.to_string(),
                ));
            }
            None
        }
    }
}

fn ring_json(ring: &LineString<f64>) -> Value {
    Value::Array(ring.0.iter().map(|c| json!([c.x, c.y])).collect())
}

fn polygon_json(polygon: &Polygon<f64>) -> Value {
    Value::Array(
        std::iter::once(polygon.exterior())
            .chain(polygon.interiors())
            .map(ring_json)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::test_support::*;
    use serde_json::json;

    fn problems(geometry: Value) -> Vec<GeometryProblem> {
        Boundary::from_geojson(&geometry).expect_err("geometry should be rejected")
    }

    fn pointers(geometry: Value) -> Vec<String> {
        problems(geometry).into_iter().map(|p| p.pointer).collect()
    }

    // ---- GeoJSON in ----

    #[test]
    fn crossing_rings_are_reported_and_huge_boundaries_refused() {
        let bow_tie = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]]});
        let problems = Boundary::from_geojson(&bow_tie).unwrap_err();
        assert_eq!(problems[0].pointer, "/coordinates/0");
        assert!(
            problems[0].reason.contains("self-intersection"),
            "{problems:?}"
        );
        let many: Vec<[f64; 2]> = (0..=MAX_POSITIONS)
            .map(|i| {
                let a = std::f64::consts::TAU * i as f64 / MAX_POSITIONS as f64;
                [a.cos(), a.sin()]
            })
            .collect();
        let huge = json!({"type": "Polygon", "coordinates": [many]});
        let problems = Boundary::from_geojson(&huge).unwrap_err();
        assert!(problems[0].reason.contains("at most"), "{problems:?}");
    }

    #[test]
    fn null_geometry_is_no_boundary() {
        assert_eq!(Boundary::from_geojson(&Value::Null), Ok(None));
    }

    #[test]
    fn accepts_a_polygon() {
        let b = square(LON0, LAT0, 1000.0);
        assert_eq!(b.multi_polygon().0.len(), 1);
        assert_eq!(b.multi_polygon().0[0].exterior().0.len(), 5);
        assert!(b.multi_polygon().0[0].interiors().is_empty());
    }

    #[test]
    fn accepts_a_polygon_with_a_hole() {
        let b = boundary(&polygon(vec![
            square_ring(LON0, LAT0, 1000.0),
            square_ring(LON0, LAT0, 200.0),
        ]));
        assert_eq!(b.multi_polygon().0[0].interiors().len(), 1);
    }

    #[test]
    fn accepts_a_multipolygon() {
        let g = json!({
            "type": "MultiPolygon",
            "coordinates": [
                [square_ring(LON0, LAT0, 1000.0)],
                [square_ring(LON0 + 0.1, LAT0, 1000.0), square_ring(LON0 + 0.1, LAT0, 100.0)]
            ]
        });
        let b = boundary(&g);
        assert_eq!(b.multi_polygon().0.len(), 2);
        assert_eq!(b.multi_polygon().0[1].interiors().len(), 1);
    }

    #[test]
    fn altitude_and_bbox_are_ignored() {
        let g = json!({
            "type": "Polygon",
            "bbox": [0.0, 0.0, 1.0, 1.0],
            "coordinates": [[[0.0, 0.0, 12.0], [1.0, 0.0, 13.5], [1.0, 1.0], [0.0, 0.0, 12.0]]]
        });
        let b = boundary(&g);
        assert_eq!(
            b.to_geojson(),
            json!({ "type": "Polygon",
                    "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]] })
        );
    }

    #[test]
    fn rejects_non_object_geometry() {
        for g in [json!("Polygon"), json!(3), json!([1, 2]), json!(true)] {
            assert_eq!(pointers(g), vec![""]);
        }
    }

    #[test]
    fn rejects_missing_or_wrong_type() {
        let coords = json!([square_ring(LON0, LAT0, 100.0)]);
        assert_eq!(pointers(json!({ "coordinates": coords })), vec!["/type"]);
        assert_eq!(
            pointers(json!({ "type": "Point", "coordinates": [1.0, 2.0] })),
            vec!["/type"]
        );
        assert_eq!(
            pointers(json!({ "type": "polygon", "coordinates": coords })),
            vec!["/type"]
        );
        assert_eq!(
            pointers(json!({ "type": 7, "coordinates": coords })),
            vec!["/type"]
        );
        assert_eq!(pointers(json!({})), vec!["/type", "/coordinates"]);
        let reason = &problems(json!({ "type": "LineString", "coordinates": [] }))[0].reason;
        assert!(reason.contains("LineString"), "{reason}");
    }

    #[test]
    fn rejects_coordinates_of_the_wrong_shape() {
        assert_eq!(pointers(json!({ "type": "Polygon" })), vec!["/coordinates"]);
        assert_eq!(
            pointers(json!({ "type": "Polygon", "coordinates": null })),
            vec!["/coordinates"]
        );
        assert_eq!(
            pointers(json!({ "type": "Polygon", "coordinates": [1.0, 2.0] })),
            vec!["/coordinates"]
        );
        assert_eq!(
            pointers(json!({ "type": "MultiPolygon", "coordinates": {} })),
            vec!["/coordinates"]
        );
        assert_eq!(
            pointers(
                json!({ "type": "Polygon", "coordinates": [square_ring(LON0, LAT0, 10.0), 5] })
            ),
            vec!["/coordinates/1"]
        );
        assert_eq!(
            pointers(json!({
                "type": "MultiPolygon",
                "coordinates": [[square_ring(LON0, LAT0, 10.0)], "ring"]
            })),
            vec!["/coordinates/1"]
        );
        // A Polygon's coordinates given where a MultiPolygon's belong: one level too shallow.
        assert_eq!(
            pointers(json!({
                "type": "MultiPolygon",
                "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]
            })),
            vec![
                "/coordinates/0/0",
                "/coordinates/0/1",
                "/coordinates/0/2",
                "/coordinates/0/3"
            ]
        );
    }

    #[test]
    fn rejects_malformed_positions() {
        let with_position = |p: Value| {
            polygon(vec![json!([
                [0.0, 0.0],
                [1.0, 0.0],
                p,
                [0.0, 1.0],
                [0.0, 0.0]
            ])])
        };
        assert_eq!(
            pointers(with_position(json!(1.0))),
            vec!["/coordinates/0/2"]
        );
        assert_eq!(
            pointers(with_position(json!([1.0]))),
            vec!["/coordinates/0/2"]
        );
        assert_eq!(pointers(with_position(json!([]))), vec!["/coordinates/0/2"]);
        assert_eq!(
            pointers(with_position(json!([1.0, 1.0, 1.0, 1.0]))),
            vec!["/coordinates/0/2"]
        );
        assert_eq!(
            pointers(with_position(json!([1.0, "1.0"]))),
            vec!["/coordinates/0/2/1"]
        );
        assert_eq!(
            pointers(with_position(json!([null, 1.0]))),
            vec!["/coordinates/0/2/0"]
        );
        assert_eq!(
            pointers(with_position(json!([1.0, 1.0, "high"]))),
            vec!["/coordinates/0/2/2"]
        );
    }

    #[test]
    fn rejects_out_of_range_coordinates_at_the_coordinate() {
        let ring = json!([[0.0, 0.0], [1.0, 0.0], [1.0, 95.0], [0.0, 1.0], [0.0, 0.0]]);
        let found = problems(polygon(vec![ring]));
        assert_eq!(
            found,
            vec![GeometryProblem {
                pointer: "/coordinates/0/2/1".into(),
                reason: "latitude must be between -90 and 90".into(),
            }]
        );
        let ring = json!([[0.0, 0.0], [181.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]);
        assert_eq!(pointers(polygon(vec![ring])), vec!["/coordinates/0/1/0"]);
        let ring = json!([
            [0.0, 0.0],
            [-181.0, -91.0],
            [1.0, 1.0],
            [0.0, 1.0],
            [0.0, 0.0]
        ]);
        assert_eq!(
            pointers(polygon(vec![ring])),
            vec!["/coordinates/0/1/0", "/coordinates/0/1/1"]
        );
    }

    #[test]
    fn rejects_short_rings() {
        let ring = json!([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]);
        let found = problems(polygon(vec![ring]));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].pointer, "/coordinates/0");
        assert!(
            found[0].reason.contains("at least 4"),
            "{}",
            found[0].reason
        );
        assert_eq!(pointers(polygon(vec![json!([])])), vec!["/coordinates/0"]);
    }

    #[test]
    fn rejects_unclosed_rings() {
        let open = json!([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]);
        let found = problems(polygon(vec![open.clone()]));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].pointer, "/coordinates/0");
        assert!(
            found[0].reason.contains("not closed"),
            "{}",
            found[0].reason
        );
        // An unclosed hole is pointed at as the hole.
        let g = polygon(vec![square_ring(LON0, LAT0, 1000.0), open]);
        assert_eq!(pointers(g), vec!["/coordinates/1"]);
        // Closing only up to the altitude counts as closed: altitude is not part of the 2D ring.
        let g = polygon(vec![json!([
            [0.0, 0.0, 1.0],
            [1.0, 0.0],
            [1.0, 1.0],
            [0.0, 0.0, 2.0]
        ])]);
        assert!(Boundary::from_geojson(&g).is_ok());
    }

    #[test]
    fn rejects_empty_polygons() {
        assert_eq!(
            pointers(json!({ "type": "Polygon", "coordinates": [] })),
            vec!["/coordinates"]
        );
        assert_eq!(
            pointers(json!({ "type": "MultiPolygon", "coordinates": [] })),
            vec!["/coordinates"]
        );
        assert_eq!(
            pointers(json!({
                "type": "MultiPolygon",
                "coordinates": [[square_ring(LON0, LAT0, 100.0)], []]
            })),
            vec!["/coordinates/1"]
        );
    }

    #[test]
    fn reports_every_problem_at_once() {
        let g = json!({
            "type": "MultiPolygon",
            "coordinates": [
                [
                    [[0.0, 0.0], [200.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]],
                    [[0.2, 0.2], [0.4, 0.2], [0.4, 0.4], [0.2, 0.4]]
                ],
                [[[5.0, 5.0], [6.0, 5.0], [6.0, 95.0], [5.0, 6.0], [5.0, 5.0]]],
                [],
                [[[7.0, 7.0], [8.0, 7.0], [7.0, 7.0]]]
            ]
        });
        assert_eq!(
            pointers(g),
            vec![
                "/coordinates/0/0/1/0",
                "/coordinates/0/1",
                "/coordinates/1/0/2/1",
                "/coordinates/2",
                "/coordinates/3/0",
            ]
        );
        let g = json!({ "type": "Circle", "coordinates": "x", "bbox": 1 });
        assert_eq!(pointers(g), vec!["/type"]);
    }

    // ---- GeoJSON out ----

    #[test]
    fn to_geojson_round_trips() {
        let with_hole = polygon(vec![
            square_ring(LON0, LAT0, 1000.0),
            square_ring(LON0, LAT0, 200.0),
        ]);
        assert_eq!(boundary(&with_hole).to_geojson(), with_hole);

        let multi = json!({
            "type": "MultiPolygon",
            "coordinates": [
                [square_ring(LON0, LAT0, 1000.0)],
                [square_ring(LON0 + 0.1, LAT0, 500.0), square_ring(LON0 + 0.1, LAT0, 50.0)]
            ]
        });
        let b = boundary(&multi);
        assert_eq!(b.to_geojson(), multi);
        assert_eq!(boundary(&b.to_geojson()), b);

        // A MultiPolygon of one polygon comes back as the equivalent Polygon.
        let single = json!({
            "type": "MultiPolygon",
            "coordinates": [[square_ring(LON0, LAT0, 1000.0)]]
        });
        assert_eq!(
            boundary(&single).to_geojson(),
            polygon(vec![square_ring(LON0, LAT0, 1000.0)])
        );
    }
}
