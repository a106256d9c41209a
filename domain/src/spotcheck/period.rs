//! Reporting periods: a calendar month `YYYY-MM` or an ISO week `YYYY-Www`, in county days.

use crate::roster::{day_start_micros, format_date};
use time::{Date, Month, Weekday};

/// A month or an ISO week; always a whole range of county days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month { year: i32, month: Month },
    Week { year: i32, week: u8 },
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("must be a month as YYYY-MM or an ISO week as YYYY-Www, e.g. 2026-11 or 2026-W47")]
pub struct BadPeriod;

impl Period {
    pub fn parse(raw: &str) -> Result<Period, BadPeriod> {
        let (year, rest) = raw.split_once('-').ok_or(BadPeriod)?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadPeriod);
        }
        let year: i32 = year.parse().map_err(|_| BadPeriod)?;
        let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if let Some(week) = rest.strip_prefix('W') {
            if !digits(week) {
                return Err(BadPeriod);
            }
            let week: u8 = week.parse().map_err(|_| BadPeriod)?;
            Date::from_iso_week_date(year, week, Weekday::Monday).map_err(|_| BadPeriod)?;
            return Ok(Period::Week { year, week });
        }
        if !digits(rest) {
            return Err(BadPeriod);
        }
        let month: u8 = rest.parse().map_err(|_| BadPeriod)?;
        let month = Month::try_from(month).map_err(|_| BadPeriod)?;
        Date::from_calendar_date(year, month, 1).map_err(|_| BadPeriod)?;
        Ok(Period::Month { year, month })
    }

    /// The month a day falls in.
    pub fn month_of(day: Date) -> Period {
        Period::Month {
            year: day.year(),
            month: day.month(),
        }
    }

    pub fn first_day(&self) -> Date {
        match *self {
            Period::Month { year, month } => {
                Date::from_calendar_date(year, month, 1).unwrap_or(Date::MIN)
            }
            Period::Week { year, week } => {
                Date::from_iso_week_date(year, week, Weekday::Monday).unwrap_or(Date::MIN)
            }
        }
    }

    pub fn last_day(&self) -> Date {
        match *self {
            Period::Month { year, month } => {
                let days = month.length(year);
                Date::from_calendar_date(year, month, days).unwrap_or(Date::MAX)
            }
            Period::Week { year, week } => {
                Date::from_iso_week_date(year, week, Weekday::Sunday).unwrap_or(Date::MAX)
            }
        }
    }

    /// The period as Unix microseconds `[start, end)`, county midnight to county midnight.
    pub fn micros_range(&self) -> (i64, i64) {
        let last = self.last_day();
        (
            day_start_micros(self.first_day()),
            day_start_micros(last.next_day().unwrap_or(last)),
        )
    }

    pub fn covers(&self, day: Date) -> bool {
        self.first_day() <= day && day <= self.last_day()
    }

    /// The period as written: `2026-11` or `2026-W47`.
    pub fn label(&self) -> String {
        match *self {
            Period::Month { year, month } => format!("{year:04}-{:02}", u8::from(month)),
            Period::Week { year, week } => format!("{year:04}-W{week:02}"),
        }
    }

    /// `{"period", "from", "to"}` as answers show it.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "period": self.label(),
            "from": format_date(self.first_day()),
            "to": format_date(self.last_day()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn months_and_weeks_parse_to_their_days() {
        let nov = Period::parse("2026-11").unwrap();
        assert_eq!(nov.first_day(), date!(2026 - 11 - 01));
        assert_eq!(nov.last_day(), date!(2026 - 11 - 30));
        assert_eq!(nov.label(), "2026-11");
        let feb = Period::parse("2028-02").unwrap();
        assert_eq!(feb.last_day(), date!(2028 - 02 - 29));
        // ISO week 1 of 2026 starts on Monday 2025-12-29; week 53 of 2026 exists.
        let w1 = Period::parse("2026-W01").unwrap();
        assert_eq!(w1.first_day(), date!(2025 - 12 - 29));
        assert_eq!(w1.last_day(), date!(2026 - 01 - 04));
        let w47 = Period::parse("2026-W47").unwrap();
        assert_eq!(w47.first_day(), date!(2026 - 11 - 16));
        assert_eq!(w47.label(), "2026-W47");
        assert!(Period::parse("2026-W53").is_ok());
        assert!(w47.covers(date!(2026 - 11 - 22)));
        assert!(!w47.covers(date!(2026 - 11 - 23)));
        // Monday 2026-11-16 00:00 to Monday 2026-11-23 00:00, county time (UTC+8).
        assert_eq!(
            w47.micros_range(),
            (1_794_758_400_000_000, 1_795_363_200_000_000)
        );
    }

    #[test]
    fn malformed_periods_are_refused() {
        for raw in [
            "",
            "2026",
            "2026-13",
            "2026-00",
            "2026-1",
            "26-11",
            "2026-W00",
            "2025-W53",
            "2026-W5",
            "2026-w05",
            "2026-11-01",
            "+026-11",
        ] {
            assert_eq!(Period::parse(raw), Err(BadPeriod), "{raw}");
        }
    }
}
