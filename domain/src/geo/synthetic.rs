//! A synthetic county, for benchmarks and tests only: never for judging real records.
//!
//! Real boundaries cannot be shipped (they are not ours to publish) and a benchmark on squares
//! says nothing, so this builds a county that looks like one to the geometry code: villages
//! tiling townships tiling a county, every shared edge a wiggly polyline that both neighbours use
//! vertex for vertex, township and county rings made of their villages' outer edges, and check-in
//! points of a realistic mix. Everything is drawn from one seed with plain `+ - × ÷` arithmetic
//! (no platform `sin`/`exp`), so a seed gives the same county bit for bit on every machine.
//!
//! # The default county ([`CountyParams::default`])
//!
//! - 20 × 16 = 320 villages on a jittered lattice (column widths and row heights 0.75–1.25 ×
//!   2.3 km, every lattice node moved by up to ±0.12 × 2.3 km), the whole plane then bent by a
//!   smooth one-to-one warp (waves of 12–41 km), about 46 × 37 km around 116.9° E 34.2° N;
//!   20 townships of 9–25 villages (blocks of 5/3/4/4/4 columns by 4/4/3/5 rows). Each village
//!   is a quadrilateral of the lattice, so it has four neighbours (fewer on the county's edge).
//! - Vertices per shared edge: 78 % uniform in 30–110, 15 % in 110–260, 7 % in 260–700. A
//!   village is four such edges: 175–1,533 vertices, median 428, mean 495, 13 villages (4 %)
//!   over a thousand. Townships have 1,100–3,000 (mean ≈ 2,000), the county 7,031.
//! - Points: 70 % inside the assigned village, 15 % within accuracy + tolerance of its edge
//!   (either side), 10 % inside a neighbouring village, 5 % outside the county (within 3 km of
//!   its bounding box). Accuracy log-uniform in 5–200 m; every village's tolerance is 20 m.

use serde_json::json;

use super::{AccuracyMeters, Boundary, Position, ToleranceMeters, UnitIndex, UnitShape};
use super::{EARTH_RADIUS_M, MAX_TOLERANCE_M};

/// What to build. The default is the benchmark county described in the module doc.
#[derive(Debug, Clone, PartialEq)]
pub struct CountyParams {
    pub seed: u64,
    /// Centre of the county, degrees (longitude, latitude).
    pub centre: (f64, f64),
    /// Width in villages of each column of townships, west to east.
    pub township_columns: Vec<usize>,
    /// Height in villages of each row of townships, south to north.
    pub township_rows: Vec<usize>,
    /// Mean width and height of a village, metres.
    pub spacing_m: f64,
    /// How many check-in points to draw.
    pub points: usize,
    /// Every village's boundary tolerance, metres.
    pub tolerance_m: f64,
}

impl Default for CountyParams {
    fn default() -> Self {
        CountyParams {
            seed: 20_261_201,
            centre: (116.9, 34.2),
            township_columns: vec![5, 3, 4, 4, 4],
            township_rows: vec![4, 4, 3, 5],
            spacing_m: 2300.0,
            points: 10_000,
            tolerance_m: 20.0,
        }
    }
}

/// One unit of the county: depth 1 is the county, 2 a township, 3 a village (as
/// [`UnitIndex::insert`] counts them).
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticUnit {
    pub code: String,
    pub depth: u8,
    pub parent: Option<String>,
    pub boundary: Boundary,
}

/// Where a point was drawn, which is what its verdict should mostly be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PointKind {
    /// Anywhere inside the assigned village.
    Inside,
    /// Within accuracy + tolerance of the assigned village's edge, on either side.
    NearEdge,
    /// Inside a village that shares an edge with the assigned one.
    Neighbour,
    /// Outside the county.
    OutsideCounty,
}

impl PointKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PointKind::Inside => "inside",
            PointKind::NearEdge => "near_edge",
            PointKind::Neighbour => "neighbour",
            PointKind::OutsideCounty => "outside_county",
        }
    }
}

/// A cadre's fix as the writer would see it.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticPoint {
    pub position: Position,
    pub accuracy: AccuracyMeters,
    /// Code of the village the cadre is assigned to.
    pub assigned: String,
    pub kind: PointKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticCounty {
    /// The county first, then the townships, then the villages.
    pub units: Vec<SyntheticUnit>,
    pub points: Vec<SyntheticPoint>,
    pub tolerance: ToleranceMeters,
}

impl SyntheticCounty {
    /// Panics on parameters that cannot make a county (no township, zero spacing, a tolerance
    /// out of range): they are a benchmark's or test's own constants.
    pub fn generate(params: &CountyParams) -> Self {
        assert!(
            !params.township_columns.is_empty()
                && !params.township_rows.is_empty()
                && params
                    .township_columns
                    .iter()
                    .chain(&params.township_rows)
                    .all(|&n| n > 0),
            "a county needs at least one township of at least one village"
        );
        assert!(params.spacing_m > 0.0 && params.spacing_m.is_finite());
        assert!((0.0..=MAX_TOLERANCE_M).contains(&params.tolerance_m));
        let mut rng = Rng::new(params.seed);
        let lattice = Lattice::new(params, &mut rng);
        let to_lon_lat = LonLat::new(params.centre);
        let boundary = |ring: &[[f64; 2]]| to_lon_lat.boundary(ring);

        let county_code = "349901".to_owned();
        let mut units = vec![SyntheticUnit {
            code: county_code.clone(),
            depth: 1,
            parent: None,
            boundary: boundary(&lattice.block_ring(0..lattice.columns, 0..lattice.rows)),
        }];
        // Village (column, row) → index into `units`.
        let mut village_at = vec![0; lattice.columns * lattice.rows];
        let mut townships = Vec::new();
        let mut row0 = 0;
        for &height in &params.township_rows {
            let mut column0 = 0;
            for &width in &params.township_columns {
                let (columns, rows) = (column0..column0 + width, row0..row0 + height);
                let code = format!("{county_code}{:03}", 101 + townships.len());
                townships.push(SyntheticUnit {
                    code: code.clone(),
                    depth: 2,
                    parent: Some(county_code.clone()),
                    boundary: boundary(&lattice.block_ring(columns.clone(), rows.clone())),
                });
                let mut villages = Vec::new();
                for r in rows {
                    for c in columns.clone() {
                        villages.push((c, r));
                    }
                }
                for (k, (c, r)) in villages.into_iter().enumerate() {
                    village_at[r * lattice.columns + c] = units.len();
                    units.push(SyntheticUnit {
                        code: format!("{code}{:03}", 201 + k),
                        depth: 3,
                        parent: Some(code.clone()),
                        boundary: boundary(&lattice.block_ring(c..c + 1, r..r + 1)),
                    });
                }
                column0 += width;
            }
            row0 += height;
        }
        // Townships go between the county and the villages; shift the village indices.
        let shift = townships.len();
        for i in &mut village_at {
            *i += shift;
        }
        units.splice(1..1, townships);

        let tolerance =
            ToleranceMeters::parse(params.tolerance_m).expect("tolerance was checked above");
        let points = draw_points(
            params,
            &units,
            &lattice,
            &village_at,
            tolerance,
            &to_lon_lat,
        );
        SyntheticCounty {
            units,
            points,
            tolerance,
        }
    }

    pub fn villages(&self) -> impl Iterator<Item = &SyntheticUnit> {
        self.units.iter().filter(|unit| unit.depth == 3)
    }

    /// Every unit in one index, as the writer holds them.
    pub fn index(&self) -> UnitIndex {
        self.units
            .iter()
            .map(|unit| (unit.code.clone(), unit.depth, unit.boundary.clone()))
            .collect()
    }
}

/// Distinct vertices of a boundary (the closing repeat of each ring not counted).
pub fn vertex_count(boundary: &Boundary) -> usize {
    boundary
        .multi_polygon()
        .0
        .iter()
        .flat_map(|polygon| std::iter::once(polygon.exterior()).chain(polygon.interiors()))
        .map(|ring| ring.0.len().saturating_sub(1))
        .sum()
}

/// The county's nodes and shared edges in metres (x east, y north of the centre).
struct Lattice {
    columns: usize,
    rows: usize,
    /// `horizontal[r * columns + c]` runs from node (c, r) to node (c + 1, r).
    horizontal: Vec<Vec<[f64; 2]>>,
    /// `vertical[c * rows + r]` runs from node (c, r) to node (c, r + 1).
    vertical: Vec<Vec<[f64; 2]>>,
}

impl Lattice {
    fn new(params: &CountyParams, rng: &mut Rng) -> Self {
        let columns: usize = params.township_columns.iter().sum();
        let rows: usize = params.township_rows.iter().sum();
        let s = params.spacing_m;
        let lines = |n: usize, rng: &mut Rng| {
            let mut at = vec![0.0];
            for i in 0..n {
                at.push(at[i] + s * rng.range(0.75, 1.25));
            }
            let half = at[n] / 2.0;
            at.into_iter().map(|v| v - half).collect::<Vec<f64>>()
        };
        let xs = lines(columns, rng);
        let ys = lines(rows, rng);
        // Jitter small enough that edges meeting at a node stay apart: each edge keeps within
        // a cone of ±22° around its chord (see `wiggly_edge`), and jittered chords still meet
        // at 54° or more.
        let mut nodes = Vec::with_capacity((columns + 1) * (rows + 1));
        for &y in &ys {
            for &x in &xs {
                let jx = s * rng.range(-0.12, 0.12);
                let jy = s * rng.range(-0.12, 0.12);
                nodes.push([x + jx, y + jy]);
            }
        }
        let node = |c: usize, r: usize| nodes[r * (columns + 1) + c];
        let mut horizontal = Vec::with_capacity((rows + 1) * columns);
        for r in 0..=rows {
            for c in 0..columns {
                horizontal.push(wiggly_edge(rng, node(c, r), node(c + 1, r)));
            }
        }
        let mut vertical = Vec::with_capacity((columns + 1) * rows);
        for c in 0..=columns {
            for r in 0..rows {
                vertical.push(wiggly_edge(rng, node(c, r), node(c, r + 1)));
            }
        }
        let warp = Warp::new(rng, s);
        for vertex in horizontal.iter_mut().chain(&mut vertical).flatten() {
            *vertex = warp.apply(*vertex);
        }
        Lattice {
            columns,
            rows,
            horizontal,
            vertical,
        }
    }

    /// The counter-clockwise closed ring around a block of cells, made of the shared edges.
    fn block_ring(
        &self,
        columns: std::ops::Range<usize>,
        rows: std::ops::Range<usize>,
    ) -> Vec<[f64; 2]> {
        let h = |r: usize, c: usize| &self.horizontal[r * self.columns + c];
        let v = |c: usize, r: usize| &self.vertical[c * self.rows + r];
        let mut ring: Vec<[f64; 2]> = Vec::new();
        let mut append = |edge: &Vec<[f64; 2]>, forward: bool| {
            // Each piece starts where the last ended; skip that vertex, except at the start.
            let skip = usize::from(!ring.is_empty());
            if forward {
                ring.extend(edge.iter().skip(skip));
            } else {
                ring.extend(edge.iter().rev().skip(skip));
            }
        };
        for c in columns.clone() {
            append(h(rows.start, c), true);
        }
        for r in rows.clone() {
            append(v(columns.end, r), true);
        }
        for c in columns.clone().rev() {
            append(h(rows.end, c), false);
        }
        for r in rows.clone().rev() {
            append(v(columns.start, r), false);
        }
        ring
    }

    fn neighbours(&self, c: usize, r: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::with_capacity(4);
        if c > 0 {
            out.push((c - 1, r));
        }
        if c + 1 < self.columns {
            out.push((c + 1, r));
        }
        if r > 0 {
            out.push((c, r - 1));
        }
        if r + 1 < self.rows {
            out.push((c, r + 1));
        }
        out
    }
}

/// A smooth, one-to-one distortion of the whole plane, so that the lattice's rows and columns
/// bend and its villages differ in shape and size the way real ones do.
///
/// Each term moves a point by `a·sin(k·(p·u) + φ)` along an axis, for a random direction u.
/// The terms' slopes `a·k` add up to at most 0.45 < 1, so the map cannot fold (two points moved
/// onto one would need a slope of 1): edges that did not cross before do not cross after.
struct Warp {
    terms: Vec<WarpTerm>,
}

struct WarpTerm {
    /// Which coordinate moves: 0 = x, 1 = y.
    axis: usize,
    amplitude: f64,
    /// Wave vector (radians per metre along x and y).
    k: [f64; 2],
    phase: f64,
}

impl Warp {
    fn new(rng: &mut Rng, spacing_m: f64) -> Self {
        const TERMS: usize = 6;
        const TOTAL_SLOPE: f64 = 0.45;
        let mut terms = Vec::with_capacity(TERMS);
        for i in 0..TERMS {
            // Waves 5 to 18 villages long.
            let wavelength = spacing_m * rng.range(5.0, 18.0);
            let k = std::f64::consts::TAU / wavelength;
            let angle = rng.range(0.0, std::f64::consts::TAU);
            let direction = [sin(angle + std::f64::consts::FRAC_PI_2), sin(angle)];
            let slope = TOTAL_SLOPE / TERMS as f64;
            terms.push(WarpTerm {
                axis: i % 2,
                amplitude: slope / k,
                k: [k * direction[0], k * direction[1]],
                phase: rng.range(0.0, std::f64::consts::TAU),
            });
        }
        Warp { terms }
    }

    fn apply(&self, p: [f64; 2]) -> [f64; 2] {
        let mut out = p;
        for term in &self.terms {
            let wave = sin(term.k[0] * p[0] + term.k[1] * p[1] + term.phase);
            out[term.axis] += term.amplitude * wave;
        }
        out
    }
}

/// How many segments a shared edge gets: mostly dozens, sometimes hundreds, as digitised
/// field and road boundaries are.
fn edge_segments(rng: &mut Rng) -> usize {
    let class = rng.unit();
    let (lo, hi) = if class < 0.78 {
        (30, 110)
    } else if class < 0.93 {
        (110, 260)
    } else {
        (260, 700)
    };
    lo + rng.below(hi - lo + 1)
}

/// A polyline from `a` to `b` that wanders off its chord like a real boundary.
///
/// It is the graph of an offset along the chord's normal over strictly increasing positions
/// along the chord, so it cannot cross itself; the offset is at most `4·A·t·(1 − t)·L` (A = 0.1,
/// L the chord's length, t the position), so near either end it stays within ±atan(0.4) ≈ 22°
/// of the chord, which keeps edges that meet at a node from crossing.
fn wiggly_edge(rng: &mut Rng, a: [f64; 2], b: [f64; 2]) -> Vec<[f64; 2]> {
    const AMPLITUDE: f64 = 0.1;
    const HARMONICS: usize = 8;
    let segments = edge_segments(rng);
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let length = (dx * dx + dy * dy).sqrt();
    let normal = [-dy / length, dx / length];
    let mut weights = [0.0; HARMONICS];
    let mut phases = [0.0; HARMONICS];
    for k in 0..HARMONICS {
        weights[k] = rng.range(-1.0, 1.0) / (k + 1) as f64;
        phases[k] = rng.range(0.0, std::f64::consts::TAU);
    }
    let norm: f64 = weights
        .iter()
        .map(|w| w.abs())
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    let mut line = Vec::with_capacity(segments + 1);
    line.push(a);
    for i in 1..segments {
        // Spacing jittered by less than half a step keeps the positions in order.
        let t = (i as f64 + rng.range(-0.3, 0.3)) / segments as f64;
        let smooth: f64 = (0..HARMONICS)
            .map(|k| weights[k] * sin((k + 1) as f64 * std::f64::consts::PI * t + phases[k]) / norm)
            .sum();
        let g = AMPLITUDE * (0.85 * smooth + 0.15 * rng.range(-1.0, 1.0));
        let offset = length * 4.0 * t * (1.0 - t) * g;
        line.push([
            a[0] + t * dx + offset * normal[0],
            a[1] + t * dy + offset * normal[1],
        ]);
    }
    line.push(b);
    line
}

/// Metres around the centre → degrees, with the same sphere the shapes use.
struct LonLat {
    centre: (f64, f64),
    /// Degrees per metre east and north.
    per_m: (f64, f64),
}

impl LonLat {
    fn new(centre: (f64, f64)) -> Self {
        let metres_per_degree = EARTH_RADIUS_M.to_radians();
        let cos_lat = sin(centre.1.to_radians() + std::f64::consts::FRAC_PI_2);
        LonLat {
            centre,
            per_m: (1.0 / (metres_per_degree * cos_lat), 1.0 / metres_per_degree),
        }
    }

    fn lon_lat(&self, p: [f64; 2]) -> [f64; 2] {
        [
            self.centre.0 + p[0] * self.per_m.0,
            self.centre.1 + p[1] * self.per_m.1,
        ]
    }

    fn position(&self, p: [f64; 2]) -> Position {
        let [lon, lat] = self.lon_lat(p);
        Position::parse(lon, lat).expect("synthetic points lie near the county")
    }

    fn boundary(&self, ring: &[[f64; 2]]) -> Boundary {
        let ring: Vec<[f64; 2]> = ring.iter().map(|&p| self.lon_lat(p)).collect();
        Boundary::from_geojson(&json!({"type": "Polygon", "coordinates": [ring]}))
            .ok()
            .flatten()
            .expect("synthetic rings are closed and in range")
    }
}

fn draw_points(
    params: &CountyParams,
    units: &[SyntheticUnit],
    lattice: &Lattice,
    village_at: &[usize],
    tolerance: ToleranceMeters,
    to_lon_lat: &LonLat,
) -> Vec<SyntheticPoint> {
    // Its own stream, so the first n points are the same however many are drawn.
    let mut rng = Rng::new(params.seed ^ 0x9e37_79b9_7f4a_7c15);
    let shapes: Vec<UnitShape> = units.iter().map(|u| UnitShape::new(&u.boundary)).collect();
    let bounds: Vec<[f64; 4]> = units.iter().map(|u| u.boundary.lon_lat_bounds()).collect();
    let inside = |rng: &mut Rng, i: usize| -> Position {
        let [x0, y0, x1, y1] = bounds[i];
        loop {
            let p = Position::parse(rng.range(x0, x1), rng.range(y0, y1))
                .expect("inside a boundary's bounding box");
            if shapes[i].contains(p) {
                return p;
            }
        }
    };
    let mut points = Vec::with_capacity(params.points);
    for _ in 0..params.points {
        let (c, r) = (rng.below(lattice.columns), rng.below(lattice.rows));
        let assigned = village_at[r * lattice.columns + c];
        let accuracy_m = 5.0 * pow40(rng.unit());
        let kind = rng.unit();
        let (kind, position) = if kind < 0.70 {
            (PointKind::Inside, inside(&mut rng, assigned))
        } else if kind < 0.85 {
            // A vertex of the village's edge (in metres, from the same lattice), then a step
            // of up to accuracy + tolerance in any direction.
            let ring = lattice.block_ring(c..c + 1, r..r + 1);
            let vertex = ring[rng.below(ring.len() - 1)];
            let reach = accuracy_m + tolerance.get();
            let step = reach * rng.unit();
            let angle = rng.range(0.0, std::f64::consts::TAU);
            let p = [
                vertex[0] + step * sin(angle + std::f64::consts::FRAC_PI_2),
                vertex[1] + step * sin(angle),
            ];
            (PointKind::NearEdge, to_lon_lat.position(p))
        } else if kind < 0.95 {
            let neighbours = lattice.neighbours(c, r);
            let (nc, nr) = neighbours[rng.below(neighbours.len())];
            let neighbour = village_at[nr * lattice.columns + nc];
            (PointKind::Neighbour, inside(&mut rng, neighbour))
        } else {
            let [x0, y0, x1, y1] = bounds[0];
            let margin = (3000.0 * to_lon_lat.per_m.0, 3000.0 * to_lon_lat.per_m.1);
            let p = loop {
                let p = Position::parse(
                    rng.range(x0 - margin.0, x1 + margin.0),
                    rng.range(y0 - margin.1, y1 + margin.1),
                )
                .expect("near the county");
                if !shapes[0].contains(p) {
                    break p;
                }
            };
            (PointKind::OutsideCounty, p)
        };
        points.push(SyntheticPoint {
            position,
            accuracy: AccuracyMeters::parse(accuracy_m).expect("5 to 200 metres"),
            assigned: units[assigned].code.clone(),
            kind,
        });
    }
    points
}

/// 40^u for u in [0, 1): accuracies 5–200 m, log-uniform, without the platform's `powf`.
fn pow40(u: f64) -> f64 {
    // 40^u = 2^(u·log2 40): the integer part exactly, the fraction by its Taylor series of e^x.
    let e = u * 5.321_928_094_887_363; // log2(40)
    let whole = e.floor();
    let x = (e - whole) * std::f64::consts::LN_2;
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 1..=16 {
        term *= x / n as f64;
        sum += term;
    }
    sum * (1u64 << whole as u32) as f64
}

/// sin by its Taylor series after reducing to [−π, π]: plain arithmetic, so the same bits on
/// every platform (the platform's `sin` may differ in the last place between libm versions).
fn sin(x: f64) -> f64 {
    let tau = std::f64::consts::TAU;
    let r = x - (x / tau).round() * tau;
    let r2 = r * r;
    let mut term = r;
    let mut sum = r;
    for n in 1..=14 {
        term *= -r2 / ((2 * n) * (2 * n + 1)) as f64;
        sum += term;
    }
    sum
}

/// SplitMix64: tiny, seedable, and good enough to scatter vertices and points (and, in the
/// geometry tests, shapes and queries).
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(super) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in 0..n (n > 0), by the multiply-high method (no modulo bias worth the name).
    pub(super) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::collections::HashMap;

    fn small() -> CountyParams {
        CountyParams {
            township_columns: vec![2, 3],
            township_rows: vec![2, 1],
            points: 400,
            ..CountyParams::default()
        }
    }

    /// SHA-256 over every coordinate's bits, every code and every point: one number that moves
    /// if anything the generator makes moves.
    fn digest(county: &SyntheticCounty) -> String {
        let mut h = Sha256::new();
        for unit in &county.units {
            h.update(unit.code.as_bytes());
            h.update([unit.depth]);
            h.update(unit.parent.as_deref().unwrap_or("-").as_bytes());
            for polygon in &unit.boundary.multi_polygon().0 {
                for c in &polygon.exterior().0 {
                    h.update(c.x.to_bits().to_le_bytes());
                    h.update(c.y.to_bits().to_le_bytes());
                }
            }
        }
        for p in &county.points {
            h.update(p.position.lon().to_bits().to_le_bytes());
            h.update(p.position.lat().to_bits().to_le_bytes());
            h.update(p.accuracy.get().to_bits().to_le_bytes());
            h.update(p.assigned.as_bytes());
            h.update(p.kind.as_str().as_bytes());
        }
        hex::encode(h.finalize())
    }

    #[test]
    fn plain_arithmetic_sin_and_pow_are_accurate() {
        for i in -40..=40 {
            let x = i as f64 * 0.37;
            assert!((sin(x) - x.sin()).abs() < 1e-12, "sin({x})");
        }
        for i in 0..100 {
            let u = i as f64 / 100.0;
            let want = 40f64.powf(u);
            assert!(((pow40(u) - want) / want).abs() < 1e-12, "40^{u}");
        }
    }

    #[test]
    fn rng_ranges() {
        let mut rng = Rng::new(1);
        for _ in 0..10_000 {
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(rng.below(7) < 7);
        }
        assert_eq!(Rng::new(5).next_u64(), Rng::new(5).next_u64());
        assert_ne!(Rng::new(5).next_u64(), Rng::new(6).next_u64());
    }

    #[test]
    fn the_same_seed_gives_the_same_county_bit_for_bit() {
        let a = SyntheticCounty::generate(&small());
        let b = SyntheticCounty::generate(&small());
        assert_eq!(a, b);
        assert_eq!(
            digest(&a),
            "d183dcbe408f8601919b96353564094c3c486bb72cdbcdb697b34a2bdc5f9f9d",
            "the generator's output changed; benchmarks before and after are not comparable"
        );
        let other = SyntheticCounty::generate(&CountyParams { seed: 7, ..small() });
        assert_ne!(digest(&a), digest(&other));
    }

    #[test]
    fn the_default_county_is_known_and_realistic() {
        let county = SyntheticCounty::generate(&CountyParams::default());
        assert_eq!(
            digest(&county),
            "7e147830776fcf623ecb624aa03c33e901eef388c917de873accafda6b554041"
        );
        let by_depth = |d: u8| county.units.iter().filter(move |u| u.depth == d);
        assert_eq!(by_depth(1).count(), 1);
        assert_eq!(by_depth(2).count(), 20);
        assert_eq!(county.villages().count(), 320);

        let mut vertices: Vec<usize> = county
            .villages()
            .map(|v| vertex_count(&v.boundary))
            .collect();
        vertices.sort_unstable();
        let mean = vertices.iter().sum::<usize>() as f64 / vertices.len() as f64;
        assert!((300.0..600.0).contains(&mean), "mean {mean}");
        assert!(vertices[0] >= 120, "smallest {}", vertices[0]);
        let over_1000 = vertices.iter().filter(|&&n| n > 1000).count();
        assert!(
            (2..=30).contains(&over_1000),
            "{over_1000} villages over 1000"
        );
        for township in by_depth(2) {
            assert!(vertex_count(&township.boundary) > 1000, "{}", township.code);
        }
        assert!(vertex_count(&county.units[0].boundary) > 5000);

        // Township sizes follow the blocks, and parents are right.
        let mut children: HashMap<&str, usize> = HashMap::new();
        for v in county.villages() {
            let parent = v.parent.as_deref().expect("villages have a township");
            assert!(v.code.starts_with(parent));
            *children.entry(parent).or_default() += 1;
        }
        let mut sizes: Vec<usize> = children.into_values().collect();
        sizes.sort_unstable();
        assert_eq!((sizes[0], sizes[sizes.len() - 1]), (9, 25));
    }

    #[test]
    fn villages_tile_townships_which_tile_the_county() {
        let county = SyntheticCounty::generate(&small());
        let shapes: Vec<UnitShape> = county
            .units
            .iter()
            .map(|u| UnitShape::new(&u.boundary))
            .collect();
        let [x0, y0, x1, y1] = county.units[0].boundary.lon_lat_bounds();
        let mut rng = Rng::new(99);
        let mut in_county = 0;
        for _ in 0..3000 {
            // A little beyond the bounding box too, where nothing may claim the point.
            let p = Position::parse(
                rng.range(x0 - 0.01, x1 + 0.01),
                rng.range(y0 - 0.01, y1 + 0.01),
            )
            .expect("near the county");
            let holders: Vec<&SyntheticUnit> = county
                .units
                .iter()
                .zip(&shapes)
                .filter(|(_, s)| s.contains(p))
                .map(|(u, _)| u)
                .collect();
            let at = |d: u8| holders.iter().filter(|u| u.depth == d).collect::<Vec<_>>();
            if at(1).is_empty() {
                assert!(
                    holders.is_empty(),
                    "{p:?} outside the county but in {holders:?}"
                );
                continue;
            }
            in_county += 1;
            let (townships, villages) = (at(2), at(3));
            assert_eq!(townships.len(), 1, "{p:?}");
            assert_eq!(villages.len(), 1, "{p:?}");
            assert_eq!(villages[0].parent.as_ref(), Some(&townships[0].code));
        }
        assert!(in_county > 1500, "{in_county}");
    }

    #[test]
    fn points_follow_the_promised_mix() {
        let params = CountyParams {
            points: 4000,
            ..small()
        };
        let county = SyntheticCounty::generate(&params);
        let index = county.index();
        let neighbours_of = |code: &str, other: &str| {
            let vertices = |c: &str| -> Vec<(u64, u64)> {
                let unit = county.units.iter().find(|u| u.code == c).expect("a unit");
                unit.boundary.multi_polygon().0[0]
                    .exterior()
                    .0
                    .iter()
                    .map(|p| (p.x.to_bits(), p.y.to_bits()))
                    .collect()
            };
            // Two villages meeting only at a corner share one vertex; neighbours share an edge.
            let mine = vertices(code);
            vertices(other).iter().filter(|v| mine.contains(v)).count() >= 2
        };
        let mut counts: HashMap<PointKind, usize> = HashMap::new();
        for p in &county.points {
            *counts.entry(p.kind).or_default() += 1;
            let accuracy = p.accuracy.get();
            assert!((5.0..=200.0).contains(&accuracy), "{accuracy}");
            let assigned = index.shape(&p.assigned).expect("assigned to a village");
            let actual = index.most_specific_containing(p.position);
            match p.kind {
                PointKind::Inside => assert_eq!(actual, Some(p.assigned.as_str())),
                PointKind::NearEdge => {
                    let d = assigned.signed_distance_m(p.position);
                    // The step was measured in the generator's plane, centred on the county
                    // rather than the village: allow its scale difference (< 0.2 %).
                    let reach = accuracy + county.tolerance.get();
                    assert!(d.abs() <= reach * 1.002, "{d} beyond {reach}");
                }
                PointKind::Neighbour => {
                    let actual = actual.expect("inside a village");
                    assert_ne!(actual, p.assigned);
                    assert!(
                        neighbours_of(&p.assigned, actual),
                        "{actual} next to {}",
                        p.assigned
                    );
                }
                PointKind::OutsideCounty => {
                    assert_eq!(actual, None);
                    assert!(assigned.signed_distance_m(p.position) < 0.0);
                }
            }
        }
        let share = |k: PointKind| counts.get(&k).copied().unwrap_or(0) as f64 / 4000.0;
        for (kind, want) in [
            (PointKind::Inside, 0.70),
            (PointKind::NearEdge, 0.15),
            (PointKind::Neighbour, 0.10),
            (PointKind::OutsideCounty, 0.05),
        ] {
            assert!(
                (share(kind) - want).abs() < 0.03,
                "{kind:?}: {}",
                share(kind)
            );
        }
    }

    #[test]
    fn the_first_points_do_not_depend_on_how_many_are_drawn() {
        let few = SyntheticCounty::generate(&CountyParams {
            points: 50,
            ..small()
        });
        let many = SyntheticCounty::generate(&CountyParams {
            points: 500,
            ..small()
        });
        assert_eq!(few.units, many.units);
        assert_eq!(few.points[..], many.points[..50]);
    }
}
