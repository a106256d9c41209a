//! The seq ranges `payload.purge` entries name (docs/privacy.md): what tells a purged payload
//! from one deleted without a record of it. Each entry's header states its ranges under
//! `verdicts.purged` as inclusive `[first, last]` pairs, all before the entry itself.

use serde_json::Value;

#[derive(Debug, Clone, Default)]
pub struct PurgedRanges {
    /// Inclusive; sorted and merged once [`PurgedRanges::covers`] is first asked.
    ranges: Vec<(i64, i64)>,
    sorted: bool,
}

impl PurgedRanges {
    /// Adds the ranges of the purge entry at `purge_seq` from its header's verdicts. A range
    /// that is malformed or names the entry itself or a later one is refused: a purge can only
    /// account for what was in the ledger before it.
    pub fn add_from(&mut self, purge_seq: i64, verdicts: &Value) -> Result<usize, String> {
        let Some(items) = verdicts["purged"].as_array() else {
            return Err(format!("purge entry {purge_seq} names no ranges"));
        };
        let mut found = Vec::with_capacity(items.len());
        for item in items {
            let pair = item.as_array().map(|p| (p.first(), p.get(1), p.len()));
            let Some((Some(first), Some(last), 2)) = pair else {
                return Err(format!(
                    "purge entry {purge_seq}: {item} is not a [first, last] pair"
                ));
            };
            let (Some(first), Some(last)) = (first.as_i64(), last.as_i64()) else {
                return Err(format!(
                    "purge entry {purge_seq}: {item} is not a pair of seqs"
                ));
            };
            if first < 1 || last < first || last >= purge_seq {
                return Err(format!(
                    "purge entry {purge_seq}: range {first}..={last} is not before it"
                ));
            }
            found.push((first, last));
        }
        self.ranges.extend(found);
        self.sorted = false;
        Ok(items.len())
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether some purge entry names `seq`.
    pub fn covers(&mut self, seq: i64) -> bool {
        if !self.sorted {
            // Sorted and merged, so that the one range starting at or before `seq` decides.
            self.ranges.sort_unstable();
            let mut merged: Vec<(i64, i64)> = Vec::with_capacity(self.ranges.len());
            for &(first, last) in &self.ranges {
                match merged.last_mut() {
                    Some(prev) if first <= prev.1.saturating_add(1) => prev.1 = prev.1.max(last),
                    _ => merged.push((first, last)),
                }
            }
            self.ranges = merged;
            self.sorted = true;
        }
        let after = self.ranges.partition_point(|(first, _)| *first <= seq);
        after > 0 && seq <= self.ranges[after - 1].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn covers_exactly_the_named_seqs() {
        let mut ranges = PurgedRanges::default();
        assert_eq!(
            ranges.add_from(20, &json!({"purged": [[1, 3], [7, 7]]})),
            Ok(2)
        );
        assert_eq!(
            ranges.add_from(30, &json!({"purged": [[10, 12], [2, 4]]})),
            Ok(2)
        );
        let covered: Vec<i64> = (0..15).filter(|s| ranges.covers(*s)).collect();
        assert_eq!(covered, vec![1, 2, 3, 4, 7, 10, 11, 12]);
    }

    #[test]
    fn refuses_ranges_that_are_not_before_the_entry() {
        let mut ranges = PurgedRanges::default();
        assert!(ranges.add_from(5, &json!({"purged": [[3, 5]]})).is_err());
        assert!(ranges
            .add_from(5, &json!({"purged": [[1, 2], [4, 2]]}))
            .is_err());
        assert!(ranges.add_from(5, &json!({"purged": [[0, 2]]})).is_err());
        assert!(ranges.add_from(5, &json!({"purged": [[1]]})).is_err());
        assert!(ranges.add_from(5, &json!({"purged": "all"})).is_err());
        assert!(ranges.add_from(5, &json!({})).is_err());
        assert!(ranges.is_empty());
    }
}
