//! Day indexing for presence: a range of county days as indices, spans marked with
//! difference arrays, and the night window of each day.

use crate::policy::NightWindow;
use time::Date;

/// The night window of each day of the range.
pub(super) fn windows_by_day(days: &Days, windows: &[(Date, NightWindow)]) -> Vec<NightWindow> {
    let mut out = Vec::with_capacity(days.len);
    let mut current = NightWindow::default();
    let mut next = windows.iter().peekable();
    let mut date = Some(days.from);
    for _ in 0..days.len {
        let Some(day) = date else { break };
        while let Some((from, window)) = next.peek() {
            if *from > day {
                break;
            }
            current = *window;
            next.next();
        }
        out.push(current);
        date = day.next_day();
    }
    out
}

/// The queried range, mapping dates to indices.
pub(super) struct Days {
    pub(super) from: Date,
    pub(super) len: usize,
}

impl Days {
    pub(super) fn new(from: Date, to: Date) -> Self {
        let len = if to < from {
            0
        } else {
            usize::try_from((to - from).whole_days() + 1).unwrap_or(0)
        };
        Self { from, len }
    }

    pub(super) fn index(&self, day: Date) -> Option<usize> {
        if day < self.from {
            return None;
        }
        usize::try_from((day - self.from).whole_days())
            .ok()
            .filter(|i| *i < self.len)
    }

    /// Inclusive indices of `start..=end` clipped to the range (`end` None: open-ended).
    pub(super) fn span(&self, start: Date, end: Option<Date>) -> Option<(usize, usize)> {
        if self.len == 0 || end.is_some_and(|end| end < start || end < self.from) {
            return None;
        }
        let first = if start <= self.from {
            0
        } else {
            self.index(start)?
        };
        let last = match end.and_then(|end| self.index(end)) {
            Some(last) => last,
            // Past the range (or open-ended): known to be >= from by the check above.
            None => self.len - 1,
        };
        (first <= last).then_some((first, last))
    }
}

/// Difference array: marking a span is O(1), reading all days once is O(days).
pub(super) struct Spans(Vec<i64>);

impl Spans {
    pub(super) fn new(len: usize) -> Self {
        Self(vec![0; len + 1])
    }

    pub(super) fn mark(&mut self, span: Option<(usize, usize)>) {
        if let Some((first, last)) = span {
            self.0[first] += 1;
            self.0[last + 1] -= 1;
        }
    }

    pub(super) fn covered(self) -> Vec<bool> {
        let mut depth = 0;
        let len = self.0.len() - 1;
        self.0[..len]
            .iter()
            .map(|delta| {
                depth += delta;
                depth > 0
            })
            .collect()
    }
}
