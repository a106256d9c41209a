//! Which unit a point falls in, over every boundary of the tree.

use std::cmp::Ordering;
use std::collections::HashMap;

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;

use super::{Boundary, Position, UnitShape};

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
                        .then(unit.shape.area_m2().total_cmp(&best_unit.shape.area_m2()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::test_support::*;
    use serde_json::json;

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
