//! Geometry for judging check-ins against unit boundaries.
//!
//! Everything that comes from outside (a phone's fix, an uploaded boundary) enters through a
//! parsing constructor, so the rest of the server can never see NaN, an out-of-range latitude or
//! an unclosed ring. Distances are computed on a spherical earth in a local flat projection; see
//! [`UnitShape`] for what exactly is computed and how wrong it can be.

use std::cmp::Ordering;
use std::collections::HashMap;

// `::geo` because this module is itself called `geo`: the leading `::` makes it plain that the
// crate is meant, wherever this file is mounted.
use ::geo::{Coord, LineString, MultiPolygon, Polygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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
    fn lon_lat_bounds(&self) -> [f64; 4] {
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

/// One boundary edge in the local plane, with what a query needs already worked out.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    // Both ends are stored (not start + delta) so the `by` of one edge is bit-for-bit the `ay`
    // of the next: the crossing test then counts a ray through a vertex exactly once.
    ax: f64,
    ay: f64,
    bx: f64,
    by: f64,
    /// 1 / |b - a|², or 0 for a zero-length edge (the projection parameter then stays at 0).
    inv_len2: f64,
    /// Δx / Δy, used only when the edge straddles the query's y, so Δy is never 0 there.
    dx_per_dy: f64,
}

/// Half-open range of `UnitShape::segments` belonging to one ring.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RingSpan {
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct PolygonSpan {
    /// Half-open range of `UnitShape::rings`; the first is the outer ring, the rest holes.
    first_ring: usize,
    end_ring: usize,
    /// Local-plane `[min_x, min_y, max_x, max_y]` over all rings.
    bbox: [f64; 4],
}

impl PolygonSpan {
    fn bbox_contains(&self, x: f64, y: f64) -> bool {
        let [x0, y0, x1, y1] = self.bbox;
        x0 <= x && x <= x1 && y0 <= y && y <= y1
    }

    /// Lower bound on the squared distance to any edge of the polygon.
    fn bbox_distance2(&self, x: f64, y: f64) -> f64 {
        let [x0, y0, x1, y1] = self.bbox;
        let dx = (x0 - x).max(0.0).max(x - x1);
        let dy = (y0 - y).max(0.0).max(y - y1);
        dx * dx + dy * dy
    }
}

/// A boundary prepared for fast metric queries.
///
/// # What is computed
///
/// At construction every vertex is projected once to a local equirectangular plane centred on
/// the boundary's bounding-box centre (λ0, φ0):
/// `x = R·cos(φ0)·(λ − λ0)`, `y = R·(φ − φ0)` (radians, R = [`EARTH_RADIUS_M`]).
/// A query point is projected the same way (its Δλ taken the short way round), then
/// containment is an exact planar even-odd test (a point in a hole is outside) and the distance
/// is the minimum point-to-segment distance over every ring, holes included.
///
/// # How wrong it can be
///
/// The projection is affine in (λ, φ), and GeoJSON edges are straight in (λ, φ), so
/// **containment is exact** (up to floating-point rounding on the edge itself); only distances
/// carry error. Relative to great-circle distance on the same sphere (what haversine gives) the
/// east–west scale is off by `cos φ / cos φ0 − 1 ≈ −tan φ0 · Δφ`, where Δφ is how far (in
/// radians) the point is north or south of the centre, plus terms of order `(d / R)²`.
/// For a village 5 km tall at latitude 34° that is at most `0.67 × 2.5 km / 6371 km ≈ 2.6e-4`,
/// i.e. about 0.26 m per km of distance; under 0.7 m per km even at 60°. Points far from the
/// shape get proportionally larger error, which does not matter for a verdict but means the
/// number is only meaningful near the boundary.
///
/// The sphere itself is a model. Against the WGS-84 ellipsoid its local scale is off by
/// −0.25 % north–south and +0.2 % east–west at 34° N (≈ 2.5 m per km), and by up to about
/// 0.6 % at other latitudes. That error is the same for every unit and far below phone
/// accuracy, so verdicts do not suffer; tolerances and accuracy radii are read as metres on
/// the same sphere.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitShape {
    origin_lon: f64,
    origin_lat: f64,
    /// Metres per degree of longitude at φ0, and per degree of latitude.
    kx: f64,
    ky: f64,
    segments: Vec<Segment>,
    rings: Vec<RingSpan>,
    polygons: Vec<PolygonSpan>,
    area_m2: f64,
}

impl UnitShape {
    pub fn new(boundary: &Boundary) -> Self {
        let [min_lon, min_lat, max_lon, max_lat] = boundary.lon_lat_bounds();
        let origin_lon = (min_lon + max_lon) / 2.0;
        let origin_lat = (min_lat + max_lat) / 2.0;
        let metres_per_degree = EARTH_RADIUS_M.to_radians();
        let mut shape = UnitShape {
            origin_lon,
            origin_lat,
            kx: metres_per_degree * origin_lat.to_radians().cos(),
            ky: metres_per_degree,
            segments: Vec::new(),
            rings: Vec::new(),
            polygons: Vec::with_capacity(boundary.polygons.0.len()),
            area_m2: 0.0,
        };
        let mut points = Vec::new();
        for polygon in &boundary.polygons {
            let first_ring = shape.rings.len();
            let mut bbox = [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            let mut area = 0.0;
            for (k, ring) in std::iter::once(polygon.exterior())
                .chain(polygon.interiors())
                .enumerate()
            {
                points.clear();
                points.extend(ring.0.iter().map(|c| shape.project_lon_lat(c.x, c.y)));
                for &(x, y) in &points {
                    bbox = [
                        bbox[0].min(x),
                        bbox[1].min(y),
                        bbox[2].max(x),
                        bbox[3].max(y),
                    ];
                }
                let start = shape.segments.len();
                let mut twice_area = 0.0;
                for pair in points.windows(2) {
                    let [(ax, ay), (bx, by)] = [pair[0], pair[1]];
                    twice_area += ax * by - bx * ay;
                    shape.segments.push(Segment::new(ax, ay, bx, by));
                }
                let ring_area = (twice_area / 2.0).abs();
                area += if k == 0 { ring_area } else { -ring_area };
                shape.rings.push(RingSpan {
                    start,
                    end: shape.segments.len(),
                });
            }
            shape.area_m2 += area.max(0.0);
            shape.polygons.push(PolygonSpan {
                first_ring,
                end_ring: shape.rings.len(),
                bbox,
            });
        }
        shape
    }

    /// Signed distance in metres from the point to the nearest edge of the boundary (any ring,
    /// holes included): positive inside, negative outside.
    pub fn signed_distance_m(&self, p: Position) -> f64 {
        let (x, y) = self.project(p);
        let mut best2 = f64::INFINITY;
        let mut inside = false;
        for polygon in &self.polygons {
            let rings = &self.rings[polygon.first_ring..polygon.end_ring];
            if polygon.bbox_contains(x, y) {
                let mut in_polygon = false;
                for (k, ring) in rings.iter().enumerate() {
                    let odd = self.scan_ring(*ring, x, y, &mut best2);
                    if k == 0 {
                        in_polygon = odd;
                    } else if odd {
                        in_polygon = false;
                    }
                }
                inside |= in_polygon;
            } else if polygon.bbox_distance2(x, y) < best2 {
                // Outside the bbox the point cannot be inside, so only distance is needed.
                for ring in rings {
                    self.ring_distance2(*ring, x, y, &mut best2);
                }
            }
        }
        let d = best2.sqrt();
        if inside {
            d
        } else {
            -d
        }
    }

    /// Whether the point is inside (a point in a hole is not). Points exactly on an edge may
    /// go either way.
    pub fn contains(&self, p: Position) -> bool {
        let (x, y) = self.project(p);
        self.polygons.iter().any(|polygon| {
            if !polygon.bbox_contains(x, y) {
                return false;
            }
            let rings = &self.rings[polygon.first_ring..polygon.end_ring];
            match rings.split_first() {
                Some((outer, holes)) => {
                    self.ring_parity(*outer, x, y)
                        && !holes.iter().any(|hole| self.ring_parity(*hole, x, y))
                }
                None => false,
            }
        })
    }

    /// Area on the sphere's local plane, holes subtracted, in square metres.
    pub fn area_m2(&self) -> f64 {
        self.area_m2
    }

    fn project(&self, p: Position) -> (f64, f64) {
        self.project_lon_lat(p.lon(), p.lat())
    }

    fn project_lon_lat(&self, lon: f64, lat: f64) -> (f64, f64) {
        // Boundary vertices are always within 180° of the centre; only a query point on the
        // far side of the globe is wrapped, which keeps its (meaningless but large) distance
        // the short way round without moving it into the shape.
        let mut dlon = lon - self.origin_lon;
        if dlon > 180.0 {
            dlon -= 360.0;
        } else if dlon < -180.0 {
            dlon += 360.0;
        }
        (self.kx * dlon, self.ky * (lat - self.origin_lat))
    }

    /// Even-odd crossing parity of a ray towards +x, and the squared distance, in one pass.
    fn scan_ring(&self, ring: RingSpan, x: f64, y: f64, best2: &mut f64) -> bool {
        let segments = &self.segments[ring.start..ring.end];
        *best2 = min_distance2(segments, x, y, *best2);
        segments.iter().fold(false, |odd, s| odd ^ s.crosses(x, y))
    }

    fn ring_parity(&self, ring: RingSpan, x: f64, y: f64) -> bool {
        self.segments[ring.start..ring.end]
            .iter()
            .fold(false, |odd, s| odd ^ s.crosses(x, y))
    }

    fn ring_distance2(&self, ring: RingSpan, x: f64, y: f64, best2: &mut f64) {
        *best2 = min_distance2(&self.segments[ring.start..ring.end], x, y, *best2);
    }
}

/// Smallest squared distance from (x, y) to any of `segments`, or `best` if that is smaller.
///
/// Four running minima instead of one: with a single one every iteration waits for the
/// previous comparison, which made 200-vertex queries about 1.5 times slower.
#[inline(always)]
fn min_distance2(segments: &[Segment], x: f64, y: f64, best: f64) -> f64 {
    let mut m = [best; 4];
    let chunks = segments.chunks_exact(4);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (m, s) in m.iter_mut().zip(chunk) {
            *m = fast_min(*m, s.distance2(x, y));
        }
    }
    for s in rest {
        m[0] = fast_min(m[0], s.distance2(x, y));
    }
    fast_min(fast_min(m[0], m[1]), fast_min(m[2], m[3]))
}

/// `f64::min` without its NaN handling (no NaN can arise from validated, finite geometry),
/// which lets it compile to a single instruction.
#[inline(always)]
fn fast_min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

impl Segment {
    fn new(ax: f64, ay: f64, bx: f64, by: f64) -> Self {
        let (dx, dy) = (bx - ax, by - ay);
        let len2 = dx * dx + dy * dy;
        let inv_len2 = if len2 > 0.0 { 1.0 / len2 } else { 0.0 };
        Segment {
            ax,
            ay,
            bx,
            by,
            inv_len2: if inv_len2.is_finite() { inv_len2 } else { 0.0 },
            dx_per_dy: if dy != 0.0 { dx / dy } else { 0.0 },
        }
    }

    /// Whether a ray from (x, y) towards +x crosses this edge. Half-open in y (an end exactly
    /// at the ray's height counts for the edge going up from it only), so vertices on the ray
    /// are counted once.
    #[inline(always)]
    fn crosses(&self, x: f64, y: f64) -> bool {
        (self.ay > y) != (self.by > y) && x < self.ax + (y - self.ay) * self.dx_per_dy
    }

    #[inline(always)]
    fn distance2(&self, x: f64, y: f64) -> f64 {
        let (dx, dy) = (self.bx - self.ax, self.by - self.ay);
        let t = (((x - self.ax) * dx + (y - self.ay) * dy) * self.inv_len2).clamp(0.0, 1.0);
        let ex = self.ax + t * dx - x;
        let ey = self.ay + t * dy - y;
        ex * ex + ey * ey
    }
}

type IndexItem = GeomWithData<Rectangle<[f64; 2]>, String>;

#[derive(Debug, Clone, PartialEq)]
struct IndexedUnit {
    depth: u8,
    shape: UnitShape,
    /// Kept so the R-tree entry can be found again for removal.
    envelope: Rectangle<[f64; 2]>,
}

impl IndexedUnit {
    fn new(depth: u8, boundary: &Boundary) -> Self {
        let [min_lon, min_lat, max_lon, max_lat] = boundary.lon_lat_bounds();
        IndexedUnit {
            depth,
            shape: UnitShape::new(boundary),
            envelope: Rectangle::from_corners([min_lon, min_lat], [max_lon, max_lat]),
        }
    }
}

/// Which unit a point falls in: an R-tree (rstar) over the WGS-84 bounding boxes of all unit
/// boundaries, each candidate then checked against its exact shape.
#[derive(Debug, Clone, Default)]
pub struct UnitIndex {
    tree: RTree<IndexItem>,
    units: HashMap<String, IndexedUnit>,
}

impl UnitIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// depth: 0 = city, 1 = county, 2 = township, 3 = village, 4 = group. Re-inserting a code
    /// replaces it.
    pub fn insert(&mut self, code: &str, depth: u8, boundary: &Boundary) {
        let unit = IndexedUnit::new(depth, boundary);
        let envelope = unit.envelope;
        if let Some(old) = self.units.insert(code.to_owned(), unit) {
            self.tree
                .remove(&GeomWithData::new(old.envelope, code.to_owned()));
        }
        self.tree
            .insert(GeomWithData::new(envelope, code.to_owned()));
    }

    /// Drops a unit (e.g. its boundary was cleared); false if it was not there.
    pub fn remove(&mut self, code: &str) -> bool {
        match self.units.remove(code) {
            Some(old) => {
                self.tree
                    .remove(&GeomWithData::new(old.envelope, code.to_owned()));
                true
            }
            None => false,
        }
    }

    pub fn shape(&self, code: &str) -> Option<&UnitShape> {
        self.units.get(code).map(|unit| &unit.shape)
    }

    /// The most specific (deepest) unit whose boundary contains p; ties at the same depth ->
    /// the smaller-area one, then lexicographically smaller code (deterministic).
    pub fn most_specific_containing(&self, p: Position) -> Option<&str> {
        let mut best: Option<(&str, &IndexedUnit)> = None;
        for item in self.tree.locate_all_at_point(&[p.lon(), p.lat()]) {
            let code = item.data.as_str();
            let Some(unit) = self.units.get(code) else {
                continue;
            };
            if !unit.shape.contains(p) {
                continue;
            }
            let better = match best {
                None => true,
                Some((best_code, best_unit)) => {
                    unit.depth
                        .cmp(&best_unit.depth)
                        .reverse()
                        .then(unit.shape.area_m2.total_cmp(&best_unit.shape.area_m2))
                        .then(code.cmp(best_code))
                        == Ordering::Less
                }
            };
            if better {
                best = Some((code, unit));
            }
        }
        best.map(|(code, _)| code)
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }
}

/// Bulk construction for many units; a code given twice keeps the later boundary.
impl FromIterator<(String, u8, Boundary)> for UnitIndex {
    fn from_iter<I: IntoIterator<Item = (String, u8, Boundary)>>(iter: I) -> Self {
        let mut units = HashMap::new();
        for (code, depth, boundary) in iter {
            units.insert(code, IndexedUnit::new(depth, &boundary));
        }
        let items = units
            .iter()
            .map(|(code, unit)| GeomWithData::new(unit.envelope, code.clone()))
            .collect();
        UnitIndex {
            tree: RTree::bulk_load(items),
            units,
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
    use ::geo::{Contains, Distance, Euclidean, Point};

    const LON0: f64 = 116.9;
    const LAT0: f64 = 34.2;

    fn pos(lon: f64, lat: f64) -> Position {
        Position::parse(lon, lat).expect("valid test position")
    }

    fn acc(m: f64) -> AccuracyMeters {
        AccuracyMeters::parse(m).expect("valid test accuracy")
    }

    fn tol(m: f64) -> ToleranceMeters {
        ToleranceMeters::parse(m).expect("valid test tolerance")
    }

    /// Degrees of latitude for `m` metres north-south.
    fn dlat(m: f64) -> f64 {
        m / EARTH_RADIUS_M.to_radians()
    }

    /// Degrees of longitude for `m` metres east-west at `lat`.
    fn dlon(m: f64, lat: f64) -> f64 {
        m / (EARTH_RADIUS_M.to_radians() * lat.to_radians().cos())
    }

    /// Closed ring (counter-clockwise) of an axis-aligned square `side_m` wide around a centre.
    fn square_ring(lon: f64, lat: f64, side_m: f64) -> Value {
        let (hx, hy) = (dlon(side_m / 2.0, lat), dlat(side_m / 2.0));
        json!([
            [lon - hx, lat - hy],
            [lon + hx, lat - hy],
            [lon + hx, lat + hy],
            [lon - hx, lat + hy],
            [lon - hx, lat - hy]
        ])
    }

    fn polygon(rings: Vec<Value>) -> Value {
        json!({ "type": "Polygon", "coordinates": rings })
    }

    fn boundary(geometry: &Value) -> Boundary {
        Boundary::from_geojson(geometry)
            .expect("valid test geometry")
            .expect("not null")
    }

    fn square(lon: f64, lat: f64, side_m: f64) -> Boundary {
        boundary(&polygon(vec![square_ring(lon, lat, side_m)]))
    }

    fn problems(geometry: Value) -> Vec<GeometryProblem> {
        Boundary::from_geojson(&geometry).expect_err("geometry should be rejected")
    }

    fn pointers(geometry: Value) -> Vec<String> {
        problems(geometry).into_iter().map(|p| p.pointer).collect()
    }

    fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
        let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
        let dphi = la2 - la1;
        let dlam = (b.0 - a.0).to_radians();
        let h = (dphi / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlam / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * h.sqrt().asin()
    }

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

    // ---- GeoJSON in ----

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

    // ---- distances ----

    #[test]
    fn centre_of_a_1km_square_is_500m_inside() {
        let shape = UnitShape::new(&square(LON0, LAT0, 1000.0));
        let d = shape.signed_distance_m(pos(LON0, LAT0));
        assert!((d - 500.0).abs() < 5.0, "{d}");
        assert!(shape.contains(pos(LON0, LAT0)));
        let area = shape.area_m2();
        assert!((area - 1e6).abs() < 1e3, "{area}");
    }

    #[test]
    fn points_100m_outside_an_edge_are_about_minus_100m() {
        let shape = UnitShape::new(&square(LON0, LAT0, 1000.0));
        let east = pos(LON0 + dlon(600.0, LAT0), LAT0);
        let north = pos(LON0, LAT0 + dlat(600.0));
        let south_west_of_centre = pos(LON0 - dlon(200.0, LAT0), LAT0 - dlat(600.0));
        for p in [east, north, south_west_of_centre] {
            let d = shape.signed_distance_m(p);
            assert!((d + 100.0).abs() < 1.0, "{p:?}: {d}");
            assert!(!shape.contains(p));
        }
    }

    #[test]
    fn a_point_in_a_hole_is_outside() {
        let shape = UnitShape::new(&boundary(&polygon(vec![
            square_ring(LON0, LAT0, 1000.0),
            square_ring(LON0, LAT0, 200.0),
        ])));
        let centre = pos(LON0, LAT0);
        let d = shape.signed_distance_m(centre);
        assert!(!shape.contains(centre));
        assert!((d + 100.0).abs() < 1.0, "{d}");
        // Between the hole and the outer edge: inside, nearest edge is the hole's.
        let ring_zone = pos(LON0 + dlon(150.0, LAT0), LAT0);
        let d = shape.signed_distance_m(ring_zone);
        assert!(shape.contains(ring_zone));
        assert!((d - 50.0).abs() < 1.0, "{d}");
    }

    #[test]
    fn distances_match_haversine_within_half_a_percent() {
        let half = 500.0;
        let (hx, hy) = (dlon(half, LAT0), dlat(half));
        let shape = UnitShape::new(&square(LON0, LAT0, 2.0 * half));
        // (query, nearest boundary point, expected sign)
        let cases = [
            // East of the east edge: nearest is straight west.
            (
                (LON0 + hx + dlon(250.0, LAT0), LAT0 + hy / 2.0),
                (LON0 + hx, LAT0 + hy / 2.0),
                -1.0,
            ),
            // North of the north edge: nearest is straight south.
            (
                (LON0 - hx / 3.0, LAT0 + hy + dlat(40.0)),
                (LON0 - hx / 3.0, LAT0 + hy),
                -1.0,
            ),
            // Beyond the north-east corner: nearest is the corner.
            (
                (LON0 + hx + dlon(300.0, LAT0), LAT0 + hy + dlat(400.0)),
                (LON0 + hx, LAT0 + hy),
                -1.0,
            ),
            // Inside, near the south edge.
            (
                (LON0 + hx / 4.0, LAT0 - hy + dlat(80.0)),
                (LON0 + hx / 4.0, LAT0 - hy),
                1.0,
            ),
            // Inside, near the west edge but far off the centre line.
            (
                (LON0 - hx + dlon(30.0, LAT0), LAT0 - 0.8 * hy),
                (LON0 - hx, LAT0 - 0.8 * hy),
                1.0,
            ),
        ];
        for (q, nearest, sign) in cases {
            let reference = sign * haversine_m(q, nearest);
            let d = shape.signed_distance_m(pos(q.0, q.1));
            assert!(
                ((d - reference) / reference).abs() < 0.005,
                "{q:?}: got {d}, haversine {reference}"
            );
        }
    }

    #[test]
    fn multipolygon_distance_uses_the_nearest_part() {
        let g = json!({
            "type": "MultiPolygon",
            "coordinates": [
                [square_ring(LON0, LAT0, 1000.0)],
                [square_ring(LON0 + dlon(3000.0, LAT0), LAT0, 1000.0)]
            ]
        });
        let shape = UnitShape::new(&boundary(&g));
        // 200 m west of the second square's west edge, 1300 m east of the first's east edge.
        let p = pos(LON0 + dlon(2300.0, LAT0), LAT0);
        let d = shape.signed_distance_m(p);
        assert!((d + 200.0).abs() < 1.0, "{d}");
        let p = pos(LON0 + dlon(3000.0, LAT0), LAT0);
        assert!((shape.signed_distance_m(p) - 500.0).abs() < 5.0);
        assert!(shape.contains(p));
    }

    /// Exercises the hot path on a realistically sized village (200 vertices and a hole)
    /// against geo's own algorithms. Speed is measured outside the test suite; nothing here
    /// depends on time.
    #[test]
    fn many_queries_on_a_200_vertex_polygon_match_a_reference() {
        let n = 200;
        let star = |radius_m: f64, wobble: f64, n: usize| -> Value {
            let mut ring: Vec<Value> = (0..n)
                .map(|i| {
                    let a = i as f64 / n as f64 * std::f64::consts::TAU;
                    let r = radius_m * (1.0 + wobble * (7.0 * a).sin());
                    json!([LON0 + dlon(r * a.cos(), LAT0), LAT0 + dlat(r * a.sin())])
                })
                .collect();
            ring.push(ring[0].clone());
            Value::Array(ring)
        };
        let b = boundary(&polygon(vec![star(1500.0, 0.3, n), star(200.0, 0.0, 12)]));
        let shape = UnitShape::new(&b);

        // The same projection, done independently, so geo can serve as the reference.
        let [min_lon, min_lat, max_lon, max_lat] = b.lon_lat_bounds();
        let (lon_c, lat_c) = ((min_lon + max_lon) / 2.0, (min_lat + max_lat) / 2.0);
        let k = EARTH_RADIUS_M.to_radians();
        let proj = |lon: f64, lat: f64| Coord {
            x: k * lat_c.to_radians().cos() * (lon - lon_c),
            y: k * (lat - lat_c),
        };
        let projected =
            |ls: &LineString<f64>| LineString(ls.0.iter().map(|c| proj(c.x, c.y)).collect());
        let source = &b.multi_polygon().0[0];
        let plane = Polygon::new(
            projected(source.exterior()),
            source.interiors().iter().map(projected).collect(),
        );

        let mut checked = 0;
        for i in 0..=60 {
            for j in 0..=60 {
                let lon = LON0 + dlon(-2500.0 + i as f64 * 5000.0 / 60.0, LAT0);
                let lat = LAT0 + dlat(-2500.0 + j as f64 * 5000.0 / 60.0);
                let p = pos(lon, lat);
                let c = proj(lon, lat);
                let reference = std::iter::once(plane.exterior())
                    .chain(plane.interiors())
                    .map(|ring| Euclidean.distance(&Point(c), ring))
                    .fold(f64::INFINITY, f64::min);
                let d = shape.signed_distance_m(p);
                assert!(
                    (d.abs() - reference).abs() < 1e-6,
                    "{p:?}: {d} vs {reference}"
                );
                if reference > 1e-6 {
                    let inside = plane.contains(&Point(c));
                    assert_eq!(shape.contains(p), inside, "{p:?}");
                    assert_eq!(d > 0.0, inside, "{p:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 3000);
    }

    #[test]
    fn vertices_on_the_ray_are_counted_once() {
        // A diamond: a query at the height of the left and right vertices sends its ray
        // straight through one of them.
        let g = polygon(vec![json!([
            [0.0, -1.0],
            [1.0, 0.0],
            [0.0, 1.0],
            [-1.0, 0.0],
            [0.0, -1.0]
        ])]);
        let shape = UnitShape::new(&boundary(&g));
        assert!(shape.contains(pos(0.0, 0.0)));
        assert!(shape.contains(pos(-0.5, 0.0)));
        assert!(!shape.contains(pos(-1.5, 0.0)));
        assert!(!shape.contains(pos(1.5, 0.0)));
    }

    #[test]
    fn far_away_points_are_outside_and_finite() {
        let shape = UnitShape::new(&square(LON0, LAT0, 1000.0));
        for p in [
            pos(-170.0, LAT0),
            pos(LON0, -89.0),
            pos(-63.1, -34.2),
            pos(180.0, 90.0),
        ] {
            let d = shape.signed_distance_m(p);
            assert!(d.is_finite() && d < -1000.0, "{p:?}: {d}");
            assert!(!shape.contains(p));
        }
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

    // ---- index ----

    /// County 20 km ⊃ township 6 km ⊃ villages A (west) and B (east), each 1 km.
    fn nested_units() -> Vec<(String, u8, Boundary)> {
        vec![
            ("320300".into(), 1, square(LON0, LAT0, 20_000.0)),
            ("320301".into(), 2, square(LON0, LAT0, 6000.0)),
            (
                "320301001".into(),
                3,
                square(LON0 - dlon(1500.0, LAT0), LAT0, 1000.0),
            ),
            (
                "320301002".into(),
                3,
                square(LON0 + dlon(1500.0, LAT0), LAT0, 1000.0),
            ),
        ]
    }

    fn incremental(units: &[(String, u8, Boundary)]) -> UnitIndex {
        let mut index = UnitIndex::new();
        for (code, depth, b) in units {
            index.insert(code, *depth, b);
        }
        index
    }

    fn village_a() -> Position {
        pos(LON0 - dlon(1500.0, LAT0), LAT0 + dlat(100.0))
    }

    #[test]
    fn index_finds_the_most_specific_unit() {
        let index = incremental(&nested_units());
        assert_eq!(index.len(), 4);
        assert!(!index.is_empty());
        assert_eq!(
            index.most_specific_containing(village_a()),
            Some("320301001")
        );
        let village_b = pos(LON0 + dlon(1500.0, LAT0), LAT0);
        assert_eq!(index.most_specific_containing(village_b), Some("320301002"));
        // In the township, between the villages.
        assert_eq!(
            index.most_specific_containing(pos(LON0, LAT0)),
            Some("320301")
        );
        // In the county only.
        let county_only = pos(LON0 + dlon(5000.0, LAT0), LAT0);
        assert_eq!(index.most_specific_containing(county_only), Some("320300"));
        // Outside everything.
        assert_eq!(index.most_specific_containing(pos(LON0 + 1.0, LAT0)), None);
        assert!(index.shape("320301001").is_some());
        assert!(index.shape("nope").is_none());
    }

    #[test]
    fn index_checks_the_real_shape_not_just_the_bbox() {
        // A triangle: the bbox corner opposite the hypotenuse is not in the unit.
        let tri = polygon(vec![json!([
            [116.0, 34.0],
            [117.0, 34.0],
            [116.0, 35.0],
            [116.0, 34.0]
        ])]);
        let mut index = UnitIndex::new();
        index.insert("tri", 3, &boundary(&tri));
        assert_eq!(
            index.most_specific_containing(pos(116.2, 34.2)),
            Some("tri")
        );
        assert_eq!(index.most_specific_containing(pos(116.9, 34.9)), None);
    }

    #[test]
    fn index_ties_go_to_the_smaller_area_then_the_smaller_code() {
        let mut index = UnitIndex::new();
        index.insert("b-big", 3, &square(LON0, LAT0, 2000.0));
        index.insert("z-small", 3, &square(LON0, LAT0, 1000.0));
        assert_eq!(
            index.most_specific_containing(pos(LON0, LAT0)),
            Some("z-small")
        );
        index.insert("a-small", 3, &square(LON0, LAT0, 1000.0));
        assert_eq!(
            index.most_specific_containing(pos(LON0, LAT0)),
            Some("a-small")
        );
        // Deeper wins over smaller.
        index.insert("group", 4, &square(LON0, LAT0, 1500.0));
        assert_eq!(
            index.most_specific_containing(pos(LON0, LAT0)),
            Some("group")
        );
    }

    #[test]
    fn index_reinsert_replaces_and_remove_removes() {
        let mut index = incremental(&nested_units());
        // Village A moves far away: its old spot now belongs to the township.
        let moved = square(LON0 + 2.0, LAT0, 1000.0);
        index.insert("320301001", 3, &moved);
        assert_eq!(index.len(), 4);
        assert_eq!(index.most_specific_containing(village_a()), Some("320301"));
        assert_eq!(
            index.most_specific_containing(pos(LON0 + 2.0, LAT0)),
            Some("320301001")
        );
        assert_eq!(index.shape("320301001"), Some(&UnitShape::new(&moved)));

        assert!(index.remove("320301001"));
        assert!(!index.remove("320301001"));
        assert_eq!(index.len(), 3);
        assert_eq!(index.most_specific_containing(pos(LON0 + 2.0, LAT0)), None);
    }

    #[test]
    fn bulk_loading_equals_incremental_insertion() {
        let mut units = nested_units();
        // A duplicate code: the later one wins, as with repeated insert.
        units.push((
            "320301002".into(),
            3,
            square(LON0 + dlon(2000.0, LAT0), LAT0, 800.0),
        ));
        let bulk: UnitIndex = units.clone().into_iter().collect();
        let one_by_one = incremental(&units);
        assert_eq!(bulk.len(), one_by_one.len());
        assert_eq!(bulk.units, one_by_one.units);
        for i in -30..=30 {
            for j in -12..=12 {
                let p = pos(
                    LON0 + dlon(i as f64 * 400.0, LAT0),
                    LAT0 + dlat(j as f64 * 1000.0),
                );
                assert_eq!(
                    bulk.most_specific_containing(p),
                    one_by_one.most_specific_containing(p),
                    "{p:?}"
                );
            }
        }
        assert!(UnitIndex::from_iter(Vec::new()).is_empty());
    }
}
