//! A boundary projected to a local plane, with containment and signed distance in metres.

use super::edges::EdgeIndex;
use super::{Boundary, Position, EARTH_RADIUS_M};

/// How close to an edge a point counts as on it: far below any GPS accuracy, far above the
/// rounding of the projection.
pub const ON_BOUNDARY_M: f64 = 0.001;

/// Shapes with fewer segments than this are scanned whole: an index would cost more memory than
/// it saves time.
const INDEX_MIN_SEGMENTS: usize = 32;

/// One boundary edge in the local plane, with what a query needs already worked out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Segment {
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
/// A shape of 32 segments or more also keeps an edge index (bands and grid cells of segment
/// numbers, see `edges.rs`), so that both answers read only the segments near the point; they
/// are the very numbers a scan of every segment would give, bit for bit.
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
    /// None below [`INDEX_MIN_SEGMENTS`].
    edges: Option<EdgeIndex>,
}

impl UnitShape {
    pub fn new(boundary: &Boundary) -> Self {
        Self::build(boundary, INDEX_MIN_SEGMENTS)
    }

    /// With an edge index if the shape has at least `index_from` segments.
    fn build(boundary: &Boundary, index_from: usize) -> Self {
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
            polygons: Vec::with_capacity(boundary.multi_polygon().0.len()),
            area_m2: 0.0,
            edges: None,
        };
        let mut points = Vec::new();
        for polygon in boundary.multi_polygon() {
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
        if shape.segments.len() >= index_from {
            let bbox = shape.polygons.iter().fold(
                [
                    f64::INFINITY,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::NEG_INFINITY,
                ],
                |b, p| {
                    [
                        b[0].min(p.bbox[0]),
                        b[1].min(p.bbox[1]),
                        b[2].max(p.bbox[2]),
                        b[3].max(p.bbox[3]),
                    ]
                },
            );
            shape.edges = Some(EdgeIndex::new(&shape.segments, bbox));
        }
        shape.segments.shrink_to_fit();
        shape.rings.shrink_to_fit();
        shape
    }

    /// Signed distance in metres from the point to the nearest edge of the boundary (any ring,
    /// holes included): positive inside, negative outside.
    pub fn signed_distance_m(&self, p: Position) -> f64 {
        let (x, y) = self.project(p);
        match &self.edges {
            Some(edges) => {
                let d = edges.nearest_distance2(&self.segments, x, y).sqrt();
                if self.inside_by_band(edges, x, y) {
                    d
                } else {
                    -d
                }
            }
            None => self.signed_distance_by_scan(x, y),
        }
    }

    /// Whether the point is inside or on the boundary: boundaries are closed (docs/records.md),
    /// so a point exactly on an edge or a vertex belongs to every unit whose boundary passes
    /// through it, and the index's ranking picks one of them, never none.
    pub fn covers(&self, p: Position) -> bool {
        self.contains(p) || self.signed_distance_m(p).abs() <= ON_BOUNDARY_M
    }

    /// Whether the point is inside (a point in a hole is not). Points exactly on an edge may
    /// go either way: see [`Self::covers`].
    pub fn contains(&self, p: Position) -> bool {
        let (x, y) = self.project(p);
        match &self.edges {
            Some(edges) => self.inside_by_band(edges, x, y),
            None => self.contains_by_scan(x, y),
        }
    }

    /// Area on the sphere's local plane, holes subtracted, in square metres.
    pub fn area_m2(&self) -> f64 {
        self.area_m2
    }

    /// Heap memory the shape holds, in bytes: what keeping it in the writer costs.
    pub fn heap_bytes(&self) -> usize {
        self.segments.capacity() * std::mem::size_of::<Segment>()
            + self.rings.capacity() * std::mem::size_of::<RingSpan>()
            + self.polygons.capacity() * std::mem::size_of::<PolygonSpan>()
            + self.edges.as_ref().map_or(0, EdgeIndex::heap_bytes)
    }

    /// The even-odd test over the segments of the band at `y` only. They are listed in segment
    /// order, and segments run ring by ring, polygon by polygon, so one walk along the list
    /// gives every ring its own parity, combined exactly as [`Self::contains_by_scan`] does.
    fn inside_by_band(&self, edges: &EdgeIndex, x: f64, y: f64) -> bool {
        let band = edges.band(y);
        let mut at = 0;
        let mut inside = false;
        for polygon in &self.polygons {
            let rings = &self.rings[polygon.first_ring..polygon.end_ring];
            if !polygon.bbox_contains(x, y) {
                let end = rings.last().map_or(0, |ring| ring.end);
                at += band[at..].partition_point(|&s| (s as usize) < end);
                continue;
            }
            let mut in_polygon = false;
            for (k, ring) in rings.iter().enumerate() {
                let mut odd = false;
                while let Some(&s) = band.get(at) {
                    if s as usize >= ring.end {
                        break;
                    }
                    odd ^= self.segments[s as usize].crosses(x, y);
                    at += 1;
                }
                if k == 0 {
                    in_polygon = odd;
                } else if odd {
                    in_polygon = false;
                }
            }
            inside |= in_polygon;
        }
        inside
    }

    /// [`Self::signed_distance_m`] by looking at every segment.
    fn signed_distance_by_scan(&self, x: f64, y: f64) -> f64 {
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

    /// [`Self::contains`] by looking at every segment.
    fn contains_by_scan(&self, x: f64, y: f64) -> bool {
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
    pub(super) fn ends(&self) -> ([f64; 2], [f64; 2]) {
        ([self.ax, self.ay], [self.bx, self.by])
    }

    pub(super) fn y_range(&self) -> (f64, f64) {
        (self.ay.min(self.by), self.ay.max(self.by))
    }

    pub(super) fn new(ax: f64, ay: f64, bx: f64, by: f64) -> Self {
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
    pub(super) fn crosses(&self, x: f64, y: f64) -> bool {
        (self.ay > y) != (self.by > y) && x < self.ax + (y - self.ay) * self.dx_per_dy
    }

    #[inline(always)]
    pub(super) fn distance2(&self, x: f64, y: f64) -> f64 {
        let (dx, dy) = (self.bx - self.ax, self.by - self.ay);
        let t = (((x - self.ax) * dx + (y - self.ay) * dy) * self.inv_len2).clamp(0.0, 1.0);
        let ex = self.ax + t * dx - x;
        let ey = self.ay + t * dy - y;
        ex * ex + ey * ey
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::test_support::*;
    use ::geo::{Contains, Coord, Distance, Euclidean, LineString, Point, Polygon};
    use serde_json::{json, Value};

    fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
        let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
        let dphi = la2 - la1;
        let dlam = (b.0 - a.0).to_radians();
        let h = (dphi / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlam / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * h.sqrt().asin()
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

    // ---- the edge index answers exactly as a scan of every segment ----

    use crate::geo::synthetic::Rng;

    /// A closed, star-shaped (so simple) ring: `n` vertices at sorted angles around a centre,
    /// radii varying by `wobble`. With `snap`, coordinates are rounded to a coarse grid, which
    /// makes horizontal and vertical edges, collinear runs and vertices sharing a latitude.
    fn star_ring(
        rng: &mut Rng,
        centre: (f64, f64),
        radius_m: f64,
        n: usize,
        wobble: f64,
        snap: bool,
    ) -> Value {
        let mut angles: Vec<f64> = (0..n)
            .map(|_| rng.range(0.0, std::f64::consts::TAU))
            .collect();
        angles.sort_by(f64::total_cmp);
        let quantum = dlat(radius_m / 8.0);
        let mut ring: Vec<[f64; 2]> = angles
            .iter()
            .map(|a| {
                let r = radius_m * (1.0 - wobble * rng.unit());
                let mut lon = centre.0 + dlon(r * a.cos(), centre.1);
                let mut lat = centre.1 + dlat(r * a.sin());
                if snap {
                    lon = (lon / quantum).round() * quantum;
                    lat = (lat / quantum).round() * quantum;
                }
                [lon, lat]
            })
            .collect();
        // Now and then a repeated vertex: a zero-length edge.
        if n > 4 && rng.unit() < 0.3 {
            let i = rng.below(n - 1);
            ring.insert(i, ring[i]);
        }
        ring.push(ring[0]);
        json!(ring)
    }

    /// Polygons with and without holes, MultiPolygons with parts near and far, some snapped.
    fn random_boundary(rng: &mut Rng) -> Boundary {
        let parts = 1 + rng.below(3);
        let mut polygons = Vec::new();
        for part in 0..parts {
            let spread = if rng.unit() < 0.2 { 0.5 } else { 0.03 };
            let centre = (
                LON0 + part as f64 * rng.range(-spread, spread),
                LAT0 + part as f64 * rng.range(-spread, spread),
            );
            let radius = rng.range(200.0, 3000.0);
            let most = if rng.unit() < 0.3 { 30 } else { 400 };
            let n = 3 + rng.below(most);
            let snap = rng.unit() < 0.25;
            let wobble = rng.range(0.0, 0.7);
            let mut rings = vec![star_ring(rng, centre, radius, n, wobble, snap)];
            if rng.unit() < 0.4 {
                // A hole well inside the outer ring's smallest radius.
                let n = 3 + rng.below(40);
                rings.push(star_ring(rng, centre, radius * 0.2, n, 0.3, snap));
            }
            polygons.push(rings);
        }
        boundary(&json!({"type": "MultiPolygon", "coordinates": polygons}))
    }

    /// Random points around the shape, every vertex, every edge's midpoint, points level with
    /// vertices, and points far away.
    fn queries(rng: &mut Rng, b: &Boundary) -> Vec<Position> {
        let [x0, y0, x1, y1] = b.lon_lat_bounds();
        let (w, h) = (x1 - x0, y1 - y0);
        let mut out = Vec::new();
        for _ in 0..150 {
            out.push(pos(
                rng.range(x0 - 0.3 * w, x1 + 0.3 * w),
                rng.range(y0 - 0.3 * h, y1 + 0.3 * h),
            ));
        }
        for polygon in &b.multi_polygon().0 {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                for pair in ring.0.windows(2).step_by(3) {
                    let (a, c) = (pair[0], pair[1]);
                    out.push(pos(a.x, a.y));
                    out.push(pos((a.x + c.x) / 2.0, (a.y + c.y) / 2.0));
                    out.push(pos(rng.range(x0 - w, x1 + w), a.y));
                }
            }
        }
        for p in [
            (-170.0, LAT0),
            (LON0, -89.0),
            (LON0 + 2.0, LAT0 + 1.0),
            (180.0, 90.0),
        ] {
            out.push(pos(p.0, p.1));
        }
        out
    }

    #[test]
    fn the_index_gives_the_scans_answers_bit_for_bit() {
        let mut rng = Rng::new(2026);
        let mut checked = 0;
        for _ in 0..300 {
            let b = random_boundary(&mut rng);
            let shape = UnitShape::build(&b, 0);
            assert!(shape.edges.is_some());
            for p in queries(&mut rng, &b) {
                let (x, y) = shape.project(p);
                let scanned = shape.signed_distance_by_scan(x, y);
                let indexed = shape.signed_distance_m(p);
                assert_eq!(
                    indexed.to_bits(),
                    scanned.to_bits(),
                    "{p:?}: {indexed} vs {scanned}"
                );
                assert_eq!(shape.contains(p), shape.contains_by_scan(x, y), "{p:?}");
                checked += 1;
            }
        }
        assert!(checked > 100_000, "{checked}");
    }

    #[test]
    fn the_index_agrees_on_the_synthetic_county() {
        use crate::geo::synthetic::{CountyParams, SyntheticCounty};
        let county = SyntheticCounty::generate(&CountyParams {
            township_columns: vec![2, 2],
            township_rows: vec![2],
            points: 3000,
            ..CountyParams::default()
        });
        let shapes: Vec<UnitShape> = county
            .units
            .iter()
            .map(|u| UnitShape::new(&u.boundary))
            .collect();
        for shape in &shapes {
            assert!(shape.edges.is_some());
            for p in &county.points {
                let (x, y) = shape.project(p.position);
                let scanned = shape.signed_distance_by_scan(x, y);
                assert_eq!(
                    shape.signed_distance_m(p.position).to_bits(),
                    scanned.to_bits()
                );
                assert_eq!(shape.contains(p.position), shape.contains_by_scan(x, y));
            }
        }
    }

    #[test]
    fn small_shapes_are_scanned_and_large_ones_indexed() {
        assert!(UnitShape::new(&square(LON0, LAT0, 1000.0)).edges.is_none());
        let mut rng = Rng::new(5);
        let ring = star_ring(&mut rng, (LON0, LAT0), 1000.0, 40, 0.2, false);
        assert!(UnitShape::new(&boundary(&polygon(vec![ring])))
            .edges
            .is_some());
    }

    #[test]
    fn memory_stays_a_small_multiple_of_the_segments() {
        use crate::geo::synthetic::{CountyParams, SyntheticCounty};
        let county = SyntheticCounty::generate(&CountyParams {
            township_columns: vec![2, 2],
            township_rows: vec![2],
            points: 0,
            ..CountyParams::default()
        });
        for unit in &county.units {
            let shape = UnitShape::new(&unit.boundary);
            let segments = shape.segments.len();
            let bytes = shape.heap_bytes();
            // Segments alone are 48 bytes each; the index may add at most as much again.
            assert!(
                bytes <= 100 * segments,
                "{}: {bytes} bytes for {segments} segments",
                unit.code
            );
        }
        // Long spokes through the middle cross every band and many cells: still bounded.
        let n = 2000;
        let spokes: Vec<[f64; 2]> = (0..=n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU * 0.999_9;
                let r = if i % 2 == 0 { 3000.0 } else { 10.0 };
                [LON0 + dlon(r * a.cos(), LAT0), LAT0 + dlat(r * a.sin())]
            })
            .chain(std::iter::once([LON0 + dlon(3000.0, LAT0), LAT0]))
            .collect();
        let star = UnitShape::new(&boundary(&polygon(vec![json!(spokes)])));
        let segments = star.segments.len();
        let (bands, cells) = star.edges.as_ref().expect("indexed").entries();
        assert!(
            bands <= 8 * segments + 64 && cells <= 8 * segments + 64,
            "{bands} {cells}"
        );
        assert!(star.heap_bytes() <= 120 * segments, "{}", star.heap_bytes());
        // And it still answers as the scan does.
        let mut rng = Rng::new(11);
        for _ in 0..500 {
            let p = pos(LON0 + rng.range(-0.05, 0.05), LAT0 + rng.range(-0.04, 0.04));
            let (x, y) = star.project(p);
            assert_eq!(
                star.signed_distance_m(p).to_bits(),
                star.signed_distance_by_scan(x, y).to_bits()
            );
            assert_eq!(star.contains(p), star.contains_by_scan(x, y));
        }
    }
}
