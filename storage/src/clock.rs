//! The server's clock. Normally the system clock; a test (or a drill) can move it forward so
//! that deadlines pass and quiet hours come without waiting for them.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The system time plus an offset shared by every clone.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    pub fn now(&self) -> OffsetDateTime {
        let offset = self.offset_micros.load(Ordering::Relaxed);
        OffsetDateTime::now_utc() + Duration::microseconds(offset)
    }

    /// Moves the clock forward (or back, for a negative duration).
    pub fn advance(&self, by: Duration) {
        let micros = i64::try_from(by.whole_microseconds()).unwrap_or(0);
        self.offset_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Sets the clock so that it reads `at` now.
    pub fn set(&self, at: OffsetDateTime) {
        let offset = at - OffsetDateTime::now_utc();
        let micros = i64::try_from(offset.whole_microseconds()).unwrap_or(0);
        self.offset_micros.store(micros, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_offset() {
        let clock = Clock::system();
        let other = clock.clone();
        let before = other.now();
        clock.advance(Duration::hours(2));
        let moved = other.now() - before;
        assert!(moved >= Duration::hours(2) && moved < Duration::hours(2) + Duration::minutes(1));
        let target = OffsetDateTime::now_utc() - Duration::days(3);
        clock.set(target);
        assert!((other.now() - target).abs() < Duration::seconds(5));
    }
}
