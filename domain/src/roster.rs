use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

/// The role a cadre holds in a village's resident team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentRole {
    FirstSecretary,
    TeamMember,
    PairedCadre,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RosterError {
    #[error("role must be one of first_secretary, team_member, paired_cadre")]
    BadRole,
    #[error("must be a date as YYYY-MM-DD")]
    BadDate,
    #[error("valid_to must not be before valid_from")]
    EndsBeforeStart,
}

impl AssignmentRole {
    pub fn parse(raw: &str) -> Result<Self, RosterError> {
        match raw {
            "first_secretary" => Ok(AssignmentRole::FirstSecretary),
            "team_member" => Ok(AssignmentRole::TeamMember),
            "paired_cadre" => Ok(AssignmentRole::PairedCadre),
            _ => Err(RosterError::BadRole),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentRole::FirstSecretary => "first_secretary",
            AssignmentRole::TeamMember => "team_member",
            AssignmentRole::PairedCadre => "paired_cadre",
        }
    }
}

/// China Standard Time: roster dates are calendar days in the county, which has no daylight saving.
pub const COUNTY_OFFSET: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

pub fn parse_date(raw: &str) -> Result<Date, RosterError> {
    Date::parse(raw, format_description!("[year]-[month]-[day]")).map_err(|_| RosterError::BadDate)
}

pub fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The county calendar day an instant falls on, whatever offset the phone reported it in.
pub fn county_date(at: OffsetDateTime) -> Date {
    at.to_offset(COUNTY_OFFSET).date()
}

/// Unix microseconds of the county midnight that starts `day` (how stored times are bounded by
/// county days).
pub fn day_start_micros(day: Date) -> i64 {
    crate::canonical::unix_micros(day.midnight().assume_offset(COUNTY_OFFSET))
}

/// Inclusive days on which an assignment holds; open-ended when `to` is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidPeriod {
    from: Date,
    to: Option<Date>,
}

impl ValidPeriod {
    pub fn new(from: Date, to: Option<Date>) -> Result<Self, RosterError> {
        match to {
            Some(end) if end < from => Err(RosterError::EndsBeforeStart),
            _ => Ok(Self { from, to }),
        }
    }

    pub fn from(&self) -> Date {
        self.from
    }

    pub fn to(&self) -> Option<Date> {
        self.to
    }

    pub fn covers(&self, day: Date) -> bool {
        self.from <= day && self.to.is_none_or(|end| day <= end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn periods_are_inclusive_and_may_be_open() {
        let closed = ValidPeriod::new(date!(2026 - 01 - 01), Some(date!(2026 - 06 - 30))).unwrap();
        assert!(closed.covers(date!(2026 - 01 - 01)));
        assert!(closed.covers(date!(2026 - 06 - 30)));
        assert!(!closed.covers(date!(2026 - 07 - 01)));
        assert!(!closed.covers(date!(2025 - 12 - 31)));
        let open = ValidPeriod::new(date!(2026 - 01 - 01), None).unwrap();
        assert!(open.covers(date!(2030 - 01 - 01)));
        assert_eq!(
            ValidPeriod::new(date!(2026 - 02 - 01), Some(date!(2026 - 01 - 31))),
            Err(RosterError::EndsBeforeStart)
        );
    }

    #[test]
    fn county_date_uses_china_time_not_the_phone_offset() {
        // 23:30 UTC is already the next morning in the county.
        assert_eq!(
            county_date(datetime!(2026-03-01 23:30 UTC)),
            date!(2026 - 03 - 02)
        );
        assert_eq!(
            county_date(datetime!(2026-03-02 07:30 +08:00)),
            date!(2026 - 03 - 02)
        );
    }

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(parse_date("2026-02-28"), Ok(date!(2026 - 02 - 28)));
        assert_eq!(parse_date("2026-02-30"), Err(RosterError::BadDate));
        assert_eq!(parse_date("2026/02/01"), Err(RosterError::BadDate));
        assert_eq!(format_date(date!(2026 - 02 - 03)), "2026-02-03");
    }
}
