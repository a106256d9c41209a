//! Which unit a point falls in, over every boundary of the tree.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;

use super::{Boundary, Position, UnitShape};

/// The R-tree holds the unit itself (shared with the code map), so a query reaches each
/// candidate's shape without a hash lookup.
type IndexItem = GeomWithData<Rectangle<[f64; 2]>, Entry>;

#[derive(Debug, Clone)]
struct Entry(Arc<IndexedUnit>);

/// By identity: two units with equal boundaries are still two entries, and removing one must
/// not take the other.
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
struct IndexedUnit {
    code: String,
    depth: u8,
    shape: UnitShape,
    /// Kept so the R-tree entry can be found again for removal.
    envelope: Rectangle<[f64; 2]>,
}

impl IndexedUnit {
    fn new(code: String, depth: u8, boundary: &Boundary) -> Self {
        let [min_lon, min_lat, max_lon, max_lat] = boundary.lon_lat_bounds();
        IndexedUnit {
            code,
            depth,
            shape: UnitShape::new(boundary),
            envelope: Rectangle::from_corners([min_lon, min_lat], [max_lon, max_lat]),
        }
    }

    /// The order of [`UnitIndex::most_specific_containing`]: deeper first, then smaller area,
    /// then smaller code.
    fn rank(&self, other: &Self) -> Ordering {
        other
            .depth
            .cmp(&self.depth)
            .then(self.shape.area_m2().total_cmp(&other.shape.area_m2()))
            .then(self.code.cmp(&other.code))
    }
}

/// Which unit a point falls in: an R-tree (rstar) over the WGS-84 bounding boxes of all unit
/// boundaries, each candidate then checked against its exact shape.
#[derive(Debug, Clone, Default)]
pub struct UnitIndex {
    tree: RTree<IndexItem>,
    units: HashMap<String, Arc<IndexedUnit>>,
}

/// Candidates sorted on the stack; a point inside more bounding boxes than this (units nested
/// deeper than any county's tree, or heavily overlapping) is still answered exactly, the rest
/// being checked one by one.
const SORTED_CANDIDATES: usize = 32;

impl UnitIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// depth: 0 = city, 1 = county, 2 = township, 3 = village, 4 = group. Re-inserting a code
    /// replaces it.
    pub fn insert(&mut self, code: &str, depth: u8, boundary: &Boundary) {
        let unit = Arc::new(IndexedUnit::new(code.to_owned(), depth, boundary));
        let item = GeomWithData::new(unit.envelope, Entry(Arc::clone(&unit)));
        if let Some(old) = self.units.insert(code.to_owned(), unit) {
            self.tree
                .remove(&GeomWithData::new(old.envelope, Entry(old)));
        }
        self.tree.insert(item);
    }

    /// Drops a unit (e.g. its boundary was cleared); false if it was not there.
    pub fn remove(&mut self, code: &str) -> bool {
        match self.units.remove(code) {
            Some(old) => {
                self.tree
                    .remove(&GeomWithData::new(old.envelope, Entry(old)));
                true
            }
            None => false,
        }
    }

    pub fn shape(&self, code: &str) -> Option<&UnitShape> {
        self.units.get(code).map(|unit| &unit.shape)
    }

    /// The most specific (deepest) unit whose boundary covers p (inside or on it: boundaries are
    /// closed); ties at the same depth ->
    /// the smaller-area one, then lexicographically smaller code (deterministic).
    ///
    /// The candidates (units whose bounding box holds p) are tried in that order and the first
    /// that contains p is the answer, so a point in a village never pays for the long rings of
    /// its township and county.
    pub fn most_specific_containing(&self, p: Position) -> Option<&str> {
        let mut sorted: [Option<&IndexedUnit>; SORTED_CANDIDATES] = [None; SORTED_CANDIDATES];
        let mut n = 0;
        let mut best: Option<&IndexedUnit> = None;
        for item in self.tree.locate_all_at_point(&[p.lon(), p.lat()]) {
            let unit = &*item.data.0;
            if n < SORTED_CANDIDATES {
                sorted[n] = Some(unit);
                n += 1;
            } else if best.is_none_or(|b| unit.rank(b) == Ordering::Less) && unit.shape.covers(p) {
                best = Some(unit);
            }
        }
        let sorted = &mut sorted[..n];
        sorted.sort_unstable_by(|a, b| match (a, b) {
            (Some(a), Some(b)) => a.rank(b),
            _ => b.is_some().cmp(&a.is_some()),
        });
        for unit in sorted.iter().flatten() {
            if best.is_some_and(|b| unit.rank(b) != Ordering::Less) {
                break;
            }
            if unit.shape.covers(p) {
                best = Some(unit);
                break;
            }
        }
        best.map(|unit| unit.code.as_str())
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
            let unit = Arc::new(IndexedUnit::new(code.clone(), depth, &boundary));
            units.insert(code, unit);
        }
        let items = units
            .values()
            .map(|unit| GeomWithData::new(unit.envelope, Entry(Arc::clone(unit))))
            .collect();
        UnitIndex {
            tree: RTree::bulk_load(items),
            units,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::test_support::*;
    use serde_json::{json, Value};

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

    #[test]
    fn removing_one_of_two_identical_boundaries_keeps_the_other() {
        let mut index = UnitIndex::new();
        index.insert("a", 3, &square(LON0, LAT0, 1000.0));
        index.insert("b", 3, &square(LON0, LAT0, 1000.0));
        assert_eq!(index.most_specific_containing(pos(LON0, LAT0)), Some("a"));
        assert!(index.remove("a"));
        assert_eq!(index.most_specific_containing(pos(LON0, LAT0)), Some("b"));
        assert_eq!(index.tree.size(), 1);
    }

    /// Every unit that contains p, the best by depth, area and code: what the index must find.
    fn reference(index: &UnitIndex, p: Position) -> Option<&str> {
        index
            .units
            .values()
            .filter(|unit| unit.shape.covers(p))
            .min_by(|a, b| a.rank(b))
            .map(|unit| unit.code.as_str())
    }

    #[test]
    fn deepest_first_search_agrees_with_checking_every_unit() {
        use crate::geo::synthetic::Rng;
        let mut rng = Rng::new(77);
        for round in 0..20 {
            let mut index = UnitIndex::new();
            // Nested and overlapping squares at depths 0-4, some of equal size (area ties go to
            // the code), and in some rounds more overlapping candidates than are sorted on the
            // stack.
            let count = if round % 4 == 0 { 120 } else { 15 };
            for i in 0..count {
                let depth = rng.below(5) as u8;
                let side = [500.0, 1000.0, 1000.0, 3000.0, 8000.0][rng.below(5)];
                let centre = (
                    LON0 + dlon(rng.range(-1500.0, 1500.0), LAT0),
                    LAT0 + dlat(rng.range(-1500.0, 1500.0)),
                );
                index.insert(
                    &format!("u{:02}", (i * 7) % count),
                    depth,
                    &square(centre.0, centre.1, side),
                );
            }
            // A large village-like unit with an index of its own among them.
            let ring: Vec<Value> = (0..=200)
                .map(|i| {
                    let a = (i % 200) as f64 / 200.0 * std::f64::consts::TAU;
                    let r = 2500.0 * (1.0 + 0.2 * (5.0 * a).sin());
                    json!([LON0 + dlon(r * a.cos(), LAT0), LAT0 + dlat(r * a.sin())])
                })
                .collect();
            index.insert("star", 3, &boundary(&polygon(vec![Value::Array(ring)])));
            for _ in 0..2000 {
                let p = pos(
                    LON0 + dlon(rng.range(-6000.0, 6000.0), LAT0),
                    LAT0 + dlat(rng.range(-6000.0, 6000.0)),
                );
                assert_eq!(
                    index.most_specific_containing(p),
                    reference(&index, p),
                    "{p:?}"
                );
            }
        }
    }

    #[test]
    fn the_synthetic_county_answers_as_checking_every_unit() {
        use crate::geo::synthetic::{CountyParams, SyntheticCounty};
        let county = SyntheticCounty::generate(&CountyParams {
            township_columns: vec![2, 3],
            township_rows: vec![2, 2],
            points: 3000,
            ..CountyParams::default()
        });
        let index = county.index();
        for p in &county.points {
            assert_eq!(
                index.most_specific_containing(p.position),
                reference(&index, p.position)
            );
        }
    }
}
