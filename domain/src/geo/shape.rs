//! A boundary projected to a local plane, with containment and signed distance in metres.

use super::{Boundary, Position, EARTH_RADIUS_M};

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
            polygons: Vec::with_capacity(boundary.multi_polygon().0.len()),
            area_m2: 0.0,
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
}
