//! Where a shape's edges are, so that a query reads only the edges near it.
//!
//! Two lists of segment numbers over the shape's bounding box in the local plane:
//!
//! - **bands**: horizontal strips, each listing (in ascending order) every segment whose y-range
//!   meets it. The even-odd test casts a ray towards +x, and only a segment straddling the ray's
//!   y can cross it; every such segment is in the band of that y, so counting crossings over the
//!   band gives exactly the parity a scan of every segment gives.
//! - **cells**: a uniform grid, each cell listing every segment that passes through it (padded
//!   by a hair). The nearest edge is found by visiting cells in square rings around the query's
//!   cell until nothing outside the rings can be nearer than the best found: the minimum is taken
//!   over the same distances a full scan computes, so it is the same number, bit for bit.
//!
//! Both are sized by the number of segments (about two segments per band and one cell per
//! segment), and both are capped at a fixed number of entries per segment, so memory stays a
//! small multiple of the segments' own (48 bytes each) however the shape is drawn.

use super::shape::Segment;

/// Segments per band: about how many a band lists besides those crossing it.
const SEGMENTS_PER_BAND: usize = 2;
/// Grid cells per segment.
const CELLS_PER_SEGMENT: f64 = 0.5;
/// Largest number of list entries per segment (each list) before the partition is coarsened:
/// long edges crossing many bands or cells (a star of long spokes) would otherwise make the
/// lists quadratic in the number of segments.
const ENTRIES_PER_SEGMENT: usize = 8;

/// Many short lists in two vectors: list `i` is `items[start[i]..start[i + 1]]`.
#[derive(Debug, Clone, PartialEq)]
struct Lists {
    start: Vec<u32>,
    items: Vec<u32>,
}

impl Lists {
    /// From `(list, item)` pairs; within a list, items come out in ascending order.
    fn from_pairs(lists: usize, mut pairs: Vec<(u32, u32)>) -> Self {
        pairs.sort_unstable();
        let mut start = vec![0u32; lists + 1];
        for &(list, _) in &pairs {
            start[list as usize + 1] += 1;
        }
        for i in 0..lists {
            start[i + 1] += start[i];
        }
        // Collected in place, the items would keep the pairs' allocation: twice their size.
        let mut items: Vec<u32> = pairs.into_iter().map(|(_, item)| item).collect();
        items.shrink_to_fit();
        Lists { start, items }
    }

    #[inline(always)]
    fn get(&self, list: usize) -> &[u32] {
        &self.items[self.start[list] as usize..self.start[list + 1] as usize]
    }

    fn heap_bytes(&self) -> usize {
        (self.start.capacity() + self.items.capacity()) * std::mem::size_of::<u32>()
    }
}

/// `n` equal slots over `[lo, lo + n·step)`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    lo: f64,
    step: f64,
    /// 1 / step, or 0 when the extent is 0 (everything then falls in slot 0).
    inv_step: f64,
    n: usize,
}

impl Axis {
    fn new(lo: f64, hi: f64, n: usize) -> Self {
        let step = (hi - lo) / n as f64;
        let inv_step = if step > 0.0 { 1.0 / step } else { 0.0 };
        Axis {
            lo,
            step,
            inv_step: if inv_step.is_finite() { inv_step } else { 0.0 },
            n,
        }
    }

    /// The slot of `v`, clamped to the axis. Monotone in `v` (each step of the computation is
    /// a correctly rounded or truncating, non-decreasing operation), which is what makes the
    /// bands exact: a y between a segment's ends lands between their slots.
    #[inline(always)]
    fn slot(&self, v: f64) -> usize {
        let t = (v - self.lo) * self.inv_step;
        // Truncation is floor for t > 0 (and `f64::floor` is a library call on baseline x86-64).
        if t > 0.0 {
            (t as usize).min(self.n - 1)
        } else {
            0
        }
    }

    /// Where slot `i` begins (`i = n` is the far end).
    #[inline(always)]
    fn at(&self, i: usize) -> f64 {
        self.lo + i as f64 * self.step
    }
}

/// The bands and cells of one shape (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct EdgeIndex {
    bands: Axis,
    band_lists: Lists,
    columns: Axis,
    rows: Axis,
    cells: Lists,
    /// Per cell, how many square rings around it hold no segment at all: a search from there
    /// starts beyond them.
    empty_rings: Vec<u16>,
    /// How far (metres) rounding may put a segment outside the cells it is listed in, or a
    /// computed distance below the true one; bounds are loosened by this much.
    slack: f64,
}

impl EdgeIndex {
    /// `bbox` is `[min_x, min_y, max_x, max_y]` over every segment end.
    pub(super) fn new(segments: &[Segment], bbox: [f64; 4]) -> Self {
        let n = segments.len().max(1);
        let [x0, y0, x1, y1] = bbox;
        let magnitude = x0.abs().max(x1.abs()).max(y0.abs()).max(y1.abs());
        // Rounding in a projected coordinate or a squared distance is ~1e-16 of the numbers
        // involved; 1e-9 leaves seven orders of magnitude to spare and costs nothing in speed.
        let slack = 1e-9 * (magnitude + (x1 - x0) + (y1 - y0)) + 1e-12;
        let budget = ENTRIES_PER_SEGMENT * n + 64;

        let mut bands = (n / SEGMENTS_PER_BAND).max(1);
        let (bands, band_lists) = loop {
            let axis = Axis::new(y0, y1, bands);
            let lists = band_lists(segments, axis);
            if lists.items.len() <= budget || bands == 1 {
                break (axis, lists);
            }
            bands = (bands / 4).max(1);
        };

        let (width, height) = (x1 - x0, y1 - y0);
        let cells = n as f64 * CELLS_PER_SEGMENT;
        let mut columns = if width <= 0.0 {
            1
        } else if height <= 0.0 {
            n
        } else {
            (cells * width / height).sqrt().round().clamp(1.0, n as f64) as usize
        };
        let mut rows = (cells / columns as f64).ceil().max(1.0) as usize;
        if height <= 0.0 {
            rows = 1;
        }
        let (columns, rows, cells) = loop {
            let (cx, cy) = (Axis::new(x0, x1, columns), Axis::new(y0, y1, rows));
            let lists = cell_lists(segments, cx, cy, slack);
            if lists.items.len() <= budget || columns * rows == 1 {
                break (cx, cy, lists);
            }
            columns = columns.div_ceil(2);
            rows = rows.div_ceil(2);
        };
        let empty_rings = empty_rings(&cells, columns.n, rows.n);
        EdgeIndex {
            bands,
            band_lists,
            columns,
            rows,
            cells,
            empty_rings,
            slack: 4.0 * slack,
        }
    }

    /// Every segment that may straddle the horizontal line at `y`, ascending.
    #[inline(always)]
    pub(super) fn band(&self, y: f64) -> &[u32] {
        self.band_lists.get(self.bands.slot(y))
    }

    /// The smallest `Segment::distance2` from (x, y) over all segments: exactly what a scan of
    /// every segment returns.
    pub(super) fn nearest_distance2(&self, segments: &[Segment], x: f64, y: f64) -> f64 {
        let (columns, rows) = (self.columns.n, self.rows.n);
        let (cx, cy) = (self.columns.slot(x), self.rows.slot(y));
        // A far-away query's own coordinates carry rounding too.
        let slack = self.slack + 1e-9 * (x.abs() + y.abs());
        let mut best = f64::INFINITY;
        let mut k = usize::from(self.empty_rings[cy * columns + cx]);
        loop {
            let (c_lo, c_hi) = (cx.saturating_sub(k), (cx + k).min(columns - 1));
            let (r_lo, r_hi) = (cy.saturating_sub(k), (cy + k).min(rows - 1));
            for r in r_lo..=r_hi {
                if r + k == cy || r == cy + k {
                    for c in c_lo..=c_hi {
                        best = self.visit(segments, r, c, x, y, slack, best);
                    }
                } else {
                    if cx >= k {
                        best = self.visit(segments, r, cx - k, x, y, slack, best);
                    }
                    if k > 0 && cx + k < columns {
                        best = self.visit(segments, r, cx + k, x, y, slack, best);
                    }
                }
            }
            if c_lo == 0 && r_lo == 0 && c_hi == columns - 1 && r_hi == rows - 1 {
                return best;
            }
            // Every segment not yet seen lies (but for the slack) in the grid outside the
            // block searched so far: four strips, whichever exist.
            let (bx0, bx1) = (self.columns.at(c_lo), self.columns.at(c_hi + 1));
            let (by0, by1) = (self.rows.at(r_lo), self.rows.at(r_hi + 1));
            let (gx0, gx1) = (self.columns.at(0), self.columns.at(columns));
            let (gy0, gy1) = (self.rows.at(0), self.rows.at(rows));
            let mut bound2 = f64::INFINITY;
            if c_lo > 0 {
                bound2 = bound2.min(rect_distance2(x, y, [gx0, gy0, bx0, gy1]));
            }
            if c_hi + 1 < columns {
                bound2 = bound2.min(rect_distance2(x, y, [bx1, gy0, gx1, gy1]));
            }
            if r_lo > 0 {
                bound2 = bound2.min(rect_distance2(x, y, [gx0, gy0, gx1, by0]));
            }
            if r_hi + 1 < rows {
                bound2 = bound2.min(rect_distance2(x, y, [gx0, by1, gx1, gy1]));
            }
            if no_nearer(bound2, best, slack) {
                return best;
            }
            k += 1;
        }
    }

    /// `best` lowered by the segments of cell (r, c), unless the cell is too far to matter.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn visit(
        &self,
        segments: &[Segment],
        r: usize,
        c: usize,
        x: f64,
        y: f64,
        slack: f64,
        best: f64,
    ) -> f64 {
        let list = self.cells.get(r * self.columns.n + c);
        if list.is_empty() {
            return best;
        }
        let cell = [
            self.columns.at(c),
            self.rows.at(r),
            self.columns.at(c + 1),
            self.rows.at(r + 1),
        ];
        if no_nearer(rect_distance2(x, y, cell), best, slack) {
            return best;
        }
        list.iter()
            .fold(best, |m, &s| m.min(segments[s as usize].distance2(x, y)))
    }

    /// Heap memory held, in bytes.
    pub(super) fn heap_bytes(&self) -> usize {
        self.band_lists.heap_bytes()
            + self.cells.heap_bytes()
            + self.empty_rings.capacity() * std::mem::size_of::<u16>()
    }

    #[cfg(test)]
    pub(super) fn entries(&self) -> (usize, usize) {
        (self.band_lists.items.len(), self.cells.items.len())
    }
}

/// Squared distance from (x, y) to a rectangle.
#[inline(always)]
fn rect_distance2(x: f64, y: f64, [x0, y0, x1, y1]: [f64; 4]) -> f64 {
    let dx = (x0 - x).max(x - x1).max(0.0);
    let dy = (y0 - y).max(y - y1).max(0.0);
    dx * dx + dy * dy
}

/// Whether everything at squared distance `d2` or more, less `slack`, is no nearer than `best`:
/// `√d2 − slack ≥ √best`, i.e. `d2 ≥ best + 2·slack·√best + slack²`, tested without a square
/// root through `2·√best ≤ best + 1`.
#[inline(always)]
fn no_nearer(d2: f64, best: f64, slack: f64) -> bool {
    d2 >= best + slack * (best + 1.0) + slack * slack
}

/// For every cell, the chessboard distance to the nearest cell that lists a segment (0 for one
/// that lists one itself): every ring closer than that is empty. Two passes of the classic distance
/// transform, exact for the chessboard metric.
fn empty_rings(cells: &Lists, columns: usize, rows: usize) -> Vec<u16> {
    const FAR: u16 = u16::MAX - 1;
    let mut d: Vec<u16> = (0..columns * rows)
        .map(|i| if cells.get(i).is_empty() { FAR } else { 0 })
        .collect();
    let at = |c: usize, r: usize| r * columns + c;
    for r in 0..rows {
        for c in 0..columns {
            let mut v = d[at(c, r)];
            if c > 0 {
                v = v.min(d[at(c - 1, r)] + 1);
            }
            if r > 0 {
                v = v.min(d[at(c, r - 1)] + 1);
                if c > 0 {
                    v = v.min(d[at(c - 1, r - 1)] + 1);
                }
                if c + 1 < columns {
                    v = v.min(d[at(c + 1, r - 1)] + 1);
                }
            }
            d[at(c, r)] = v;
        }
    }
    for r in (0..rows).rev() {
        for c in (0..columns).rev() {
            let mut v = d[at(c, r)];
            if c + 1 < columns {
                v = v.min(d[at(c + 1, r)] + 1);
            }
            if r + 1 < rows {
                v = v.min(d[at(c, r + 1)] + 1);
                if c + 1 < columns {
                    v = v.min(d[at(c + 1, r + 1)] + 1);
                }
                if c > 0 {
                    v = v.min(d[at(c - 1, r + 1)] + 1);
                }
            }
            d[at(c, r)] = v;
        }
    }
    // Beyond FAR rings (or with no segment at all) FAR is still a ring that is known empty.
    d
}

fn band_lists(segments: &[Segment], bands: Axis) -> Lists {
    let mut pairs = Vec::with_capacity(segments.len() * 2);
    for (i, s) in segments.iter().enumerate() {
        let (lo, hi) = s.y_range();
        for band in bands.slot(lo)..=bands.slot(hi) {
            pairs.push((band as u32, i as u32));
        }
    }
    Lists::from_pairs(bands.n, pairs)
}

fn cell_lists(segments: &[Segment], columns: Axis, rows: Axis, pad: f64) -> Lists {
    let mut pairs = Vec::with_capacity(segments.len() * 2);
    for (i, s) in segments.iter().enumerate() {
        let ([ax, ay], [bx, by]) = s.ends();
        let (y_lo, y_hi) = (ay.min(by), ay.max(by));
        let (r0, r1) = (rows.slot(y_lo - pad), rows.slot(y_hi + pad));
        for r in r0..=r1 {
            // The part of the segment within this row (padded), then the columns it spans.
            let lo = if r == r0 {
                y_lo
            } else {
                (rows.at(r) - pad).max(y_lo)
            };
            let hi = if r == r1 {
                y_hi
            } else {
                (rows.at(r + 1) + pad).min(y_hi)
            };
            let (x_lo, x_hi) = if ay == by {
                (ax.min(bx), ax.max(bx))
            } else {
                let t0 = ((lo - ay) / (by - ay)).clamp(0.0, 1.0);
                let t1 = ((hi - ay) / (by - ay)).clamp(0.0, 1.0);
                let (xa, xb) = (ax + t0 * (bx - ax), ax + t1 * (bx - ax));
                (xa.min(xb), xa.max(xb))
            };
            for c in columns.slot(x_lo - pad)..=columns.slot(x_hi + pad) {
                pairs.push(((r * columns.n + c) as u32, i as u32));
            }
        }
    }
    Lists::from_pairs(columns.n * rows.n, pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::synthetic::Rng;

    /// A closed wiggly ring of `n` segments in the plane (metres), plus a few long chords, so
    /// that some segments span many bands and cells.
    fn segments(rng: &mut Rng, n: usize) -> (Vec<Segment>, [f64; 4]) {
        let mut points: Vec<[f64; 2]> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                let r = 1000.0 * rng.range(0.5, 1.0);
                [r * a.cos() + 300.0, r * a.sin() - 200.0]
            })
            .collect();
        points.push(points[0]);
        let mut out: Vec<Segment> = points
            .windows(2)
            .map(|w| Segment::new(w[0][0], w[0][1], w[1][0], w[1][1]))
            .collect();
        out.push(Segment::new(-700.0, -1200.0, 1300.0, 800.0));
        out.push(Segment::new(-700.0, 0.0, 1300.0, 0.0));
        out.push(Segment::new(300.0, -1200.0, 300.0, 800.0));
        let mut bbox = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for s in &out {
            let ([ax, ay], [bx, by]) = s.ends();
            bbox = [
                bbox[0].min(ax).min(bx),
                bbox[1].min(ay).min(by),
                bbox[2].max(ax).max(bx),
                bbox[3].max(ay).max(by),
            ];
        }
        (out, bbox)
    }

    #[test]
    fn lists_keep_items_per_list_in_ascending_order() {
        let lists = Lists::from_pairs(4, vec![(2, 9), (0, 3), (2, 1), (3, 4), (2, 5)]);
        assert_eq!(lists.get(0), &[3]);
        assert!(lists.get(1).is_empty());
        assert_eq!(lists.get(2), &[1, 5, 9]);
        assert_eq!(lists.get(3), &[4]);
        assert_eq!(lists.items.capacity(), 5);
    }

    #[test]
    fn axis_slots_are_monotone_and_clamped() {
        let axis = Axis::new(-10.0, 30.0, 8);
        assert_eq!(axis.slot(-1e9), 0);
        assert_eq!(axis.slot(-10.0), 0);
        assert_eq!(axis.slot(-5.0), 1);
        assert_eq!(axis.slot(29.999), 7);
        assert_eq!(axis.slot(30.0), 7);
        assert_eq!(axis.slot(1e300), 7);
        assert_eq!(axis.at(8), 30.0);
        let mut rng = Rng::new(3);
        let mut values: Vec<f64> = (0..10_000).map(|_| rng.range(-20.0, 40.0)).collect();
        values.sort_by(f64::total_cmp);
        assert!(values
            .windows(2)
            .all(|w| axis.slot(w[0]) <= axis.slot(w[1])));
        // No extent: one slot holds everything.
        let flat = Axis::new(5.0, 5.0, 3);
        assert_eq!((flat.slot(-1.0), flat.slot(5.0), flat.slot(9.0)), (0, 0, 0));
    }

    #[test]
    fn every_segment_straddling_a_line_is_in_its_band() {
        let mut rng = Rng::new(8);
        let (segments, bbox) = segments(&mut rng, 500);
        let index = EdgeIndex::new(&segments, bbox);
        // Vertex heights exactly, and random heights.
        let heights = segments
            .iter()
            .map(|s| s.ends().0[1])
            .chain((0..2000).map(|_| rng.range(bbox[1] - 10.0, bbox[3] + 10.0)));
        for y in heights {
            let band = index.band(y);
            assert!(band.windows(2).all(|w| w[0] < w[1]));
            for (i, s) in segments.iter().enumerate() {
                let ([_, ay], [_, by]) = s.ends();
                if (ay > y) != (by > y) {
                    assert!(band.contains(&(i as u32)), "segment {i} missing at y = {y}");
                }
            }
        }
    }

    #[test]
    fn every_segment_is_listed_in_each_cell_it_passes_through() {
        let mut rng = Rng::new(9);
        let (segments, bbox) = segments(&mut rng, 500);
        let index = EdgeIndex::new(&segments, bbox);
        for (i, s) in segments.iter().enumerate() {
            let ([ax, ay], [bx, by]) = s.ends();
            for k in 0..=200 {
                let t = k as f64 / 200.0;
                let (x, y) = (ax + t * (bx - ax), ay + t * (by - ay));
                let cell = index.rows.slot(y) * index.columns.n + index.columns.slot(x);
                assert!(
                    index.cells.get(cell).contains(&(i as u32)),
                    "segment {i} at {t}"
                );
            }
        }
    }

    #[test]
    fn nearest_distance_is_the_minimum_over_every_segment() {
        let mut rng = Rng::new(10);
        for n in [3, 40, 700] {
            let (segments, bbox) = segments(&mut rng, n);
            let index = EdgeIndex::new(&segments, bbox);
            for _ in 0..3000 {
                let far = rng.unit() < 0.1;
                let spread = if far { 1e6 } else { 2500.0 };
                let (x, y) = (rng.range(-spread, spread), rng.range(-spread, spread));
                let brute = segments
                    .iter()
                    .map(|s| s.distance2(x, y))
                    .fold(f64::INFINITY, f64::min);
                assert_eq!(
                    index.nearest_distance2(&segments, x, y).to_bits(),
                    brute.to_bits(),
                    "({x}, {y})"
                );
            }
        }
    }

    #[test]
    fn empty_rings_are_the_chessboard_distance_to_a_listed_cell() {
        let mut rng = Rng::new(12);
        let (segments, bbox) = segments(&mut rng, 300);
        let index = EdgeIndex::new(&segments, bbox);
        let (columns, rows) = (index.columns.n, index.rows.n);
        for r in 0..rows {
            for c in 0..columns {
                let mut want = usize::MAX;
                for r2 in 0..rows {
                    for c2 in 0..columns {
                        if !index.cells.get(r2 * columns + c2).is_empty() {
                            want = want.min(c.abs_diff(c2).max(r.abs_diff(r2)));
                        }
                    }
                }
                assert_eq!(usize::from(index.empty_rings[r * columns + c]), want);
            }
        }
    }

    #[test]
    fn degenerate_extents_still_index() {
        // All on one horizontal line, and all on one vertical line.
        for segments in [
            vec![
                Segment::new(0.0, 0.0, 10.0, 0.0),
                Segment::new(10.0, 0.0, 20.0, 0.0),
            ],
            vec![
                Segment::new(0.0, 0.0, 0.0, 10.0),
                Segment::new(0.0, 10.0, 0.0, 20.0),
            ],
        ] {
            let ([x0, y0], _) = segments[0].ends();
            let (_, [x1, y1]) = segments[1].ends();
            let index = EdgeIndex::new(&segments, [x0, y0, x1, y1]);
            for (x, y) in [(5.0, 5.0), (-3.0, 0.0), (0.0, 30.0), (15.0, -2.0)] {
                let brute = segments
                    .iter()
                    .map(|s| s.distance2(x, y))
                    .fold(f64::INFINITY, f64::min);
                assert_eq!(index.nearest_distance2(&segments, x, y), brute);
            }
        }
    }
}
