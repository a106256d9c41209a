//! Each person's latest fixes, as the speed and repetition checks need them: a window of the
//! [`FIX_WINDOW`] latest by capture time, and whether it holds all of them.

use super::corrupt;
use super::FIX_WINDOW;
use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::schema::*;
use diesel::prelude::*;
use fieldtrail_domain::canonical::from_unix_micros;
use fieldtrail_domain::flags::PriorFix;
use fieldtrail_domain::geo::Position;
use fieldtrail_domain::person::PersonId;
use fieldtrail_domain::record::Fix;

/// A fix as the speed and repetition checks need it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct KnownFix {
    pub captured_at: i64,
    pub position: Position,
    pub accuracy_m: f64,
    pub sent_lon: f64,
    pub sent_lat: f64,
}

impl KnownFix {
    pub(crate) fn of(fix: &Fix, captured_at: i64) -> Self {
        KnownFix {
            captured_at,
            position: fix.position,
            accuracy_m: fix.accuracy.get(),
            sent_lon: fix.sent.lon(),
            sent_lat: fix.sent.lat(),
        }
    }

    pub(super) fn prior(&self) -> PriorFix {
        PriorFix {
            captured_at: from_unix_micros(self.captured_at),
            position: self.position,
            accuracy_m: self.accuracy_m,
        }
    }

    pub(super) fn same_as(&self, fix: &Fix) -> bool {
        self.sent_lon == fix.sent.lon()
            && self.sent_lat == fix.sent.lat()
            && self.accuracy_m == fix.accuracy.get()
    }
}

/// A person's latest fixes, ascending by capture time. `complete` while nothing was left out.
#[derive(Debug, Clone, Default)]
pub(super) struct FixWindow {
    pub(super) fixes: Vec<KnownFix>,
    pub(super) complete: bool,
}

impl FixWindow {
    pub(super) fn insert(&mut self, fix: KnownFix) {
        // After every fix with the same time: among equal times the later arrival counts as
        // the previous one, as an index scan in insertion order gives it.
        let at = self
            .fixes
            .partition_point(|f| f.captured_at <= fix.captured_at);
        self.fixes.insert(at, fix);
    }

    pub(super) fn trim(&mut self) {
        if self.fixes.len() > FIX_WINDOW {
            let excess = self.fixes.len() - FIX_WINDOW;
            self.fixes.drain(..excess);
            self.complete = false;
        }
    }

    /// Whether the window alone may not know the fix before `at`.
    pub(super) fn misses_before(&self, at: i64) -> bool {
        !self.complete && self.fixes.first().is_none_or(|f| at < f.captured_at)
    }

    pub(super) fn latest_at_or_before(&self, at: i64) -> Option<&KnownFix> {
        let end = self.fixes.partition_point(|f| f.captured_at <= at);
        end.checked_sub(1).map(|i| &self.fixes[i])
    }
}

/// A fix as `fixes` stores what the checks need of it.
#[derive(Queryable, Selectable, QueryableByName)]
#[diesel(table_name = fixes)]
pub(super) struct StoredFix {
    captured_at: i64,
    lon: f64,
    lat: f64,
    accuracy_m: f64,
    sent_lon: f64,
    sent_lat: f64,
}

impl StoredFix {
    pub(super) fn known(self) -> StorageResult<KnownFix> {
        Ok(KnownFix {
            captured_at: self.captured_at,
            position: Position::parse(self.lon, self.lat)
                .map_err(|_| corrupt("stored fix position"))?,
            accuracy_m: self.accuracy_m,
            sent_lon: self.sent_lon,
            sent_lat: self.sent_lat,
        })
    }
}

/// The person's latest fixes, one more than the window holds to learn whether it is complete.
pub(super) fn load_window(conn: &mut DbConnection, person: PersonId) -> StorageResult<FixWindow> {
    // Through records' (person_id, captured_at) index: fixes have no index by person.
    let rows: Vec<StoredFix> = fixes::table
        .inner_join(records::table.on(records::seq.eq(fixes::seq)))
        .filter(records::person_id.eq(person.to_string()))
        .order(records::captured_at.desc())
        .limit(i64::try_from(FIX_WINDOW).unwrap_or(i64::MAX) + 1)
        .select(StoredFix::as_select())
        .load(conn)?;
    let complete = rows.len() <= FIX_WINDOW;
    let mut fixes = rows
        .into_iter()
        .take(FIX_WINDOW)
        .map(StoredFix::known)
        .collect::<StorageResult<Vec<_>>>()?;
    fixes.reverse();
    Ok(FixWindow { fixes, complete })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix_at(at: i64, lon: f64) -> KnownFix {
        KnownFix {
            captured_at: at,
            position: Position::parse(lon, 34.0).unwrap(),
            accuracy_m: 10.0,
            sent_lon: lon,
            sent_lat: 34.0,
        }
    }

    #[test]
    fn window_finds_the_latest_fix_at_or_before_a_time() {
        let mut window = FixWindow {
            fixes: Vec::new(),
            complete: true,
        };
        for (at, lon) in [(30, 116.3), (10, 116.1), (20, 116.2), (20, 116.25)] {
            window.insert(fix_at(at, lon));
        }
        assert_eq!(window.latest_at_or_before(5), None);
        assert_eq!(window.latest_at_or_before(10).unwrap().sent_lon, 116.1);
        // Two fixes at the same time: the later arrival is the previous one.
        assert_eq!(window.latest_at_or_before(25).unwrap().sent_lon, 116.25);
        assert_eq!(window.latest_at_or_before(99).unwrap().sent_lon, 116.3);
        assert!(
            !window.misses_before(0),
            "a complete window knows there is nothing"
        );
    }

    #[test]
    fn a_trimmed_window_keeps_the_latest_and_knows_it_is_partial() {
        let mut window = FixWindow {
            fixes: Vec::new(),
            complete: true,
        };
        let total = i64::try_from(FIX_WINDOW).unwrap() + 10;
        for at in 0..total {
            window.insert(fix_at(at, 116.0 + at as f64 * 1e-4));
        }
        window.trim();
        assert_eq!(window.fixes.len(), FIX_WINDOW);
        assert_eq!(window.fixes[0].captured_at, 10);
        assert!(!window.complete);
        assert!(window.misses_before(9));
        assert!(!window.misses_before(10));
        assert_eq!(window.latest_at_or_before(15).unwrap().captured_at, 15);
    }
}
