use serde::{Deserialize, Serialize};
use std::fmt;

/// A unit's code: the national administrative division code where one exists, otherwise any
/// short identifier of ASCII letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UnitCode(String);

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum UnitError {
    #[error("unit code must be 1 to 32 characters of A-Z, a-z, 0-9, '-' or '_'")]
    BadCode,
    #[error("unit name must be 1 to 200 characters, without control characters or line breaks")]
    BadName,
    #[error("level must be one of city, county, township, village, group")]
    BadLevel,
}

impl UnitCode {
    pub fn parse(raw: &str) -> Result<Self, UnitError> {
        let ok = !raw.is_empty()
            && raw.len() <= 32
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(UnitError::BadCode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The five levels of the organisation tree, from the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitLevel {
    City,
    County,
    Township,
    Village,
    Group,
}

impl UnitLevel {
    pub const ALL: [UnitLevel; 5] = [
        UnitLevel::City,
        UnitLevel::County,
        UnitLevel::Township,
        UnitLevel::Village,
        UnitLevel::Group,
    ];

    pub fn parse(raw: &str) -> Result<Self, UnitError> {
        Self::ALL
            .into_iter()
            .find(|level| level.as_str() == raw)
            .ok_or(UnitError::BadLevel)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UnitLevel::City => "city",
            UnitLevel::County => "county",
            UnitLevel::Township => "township",
            UnitLevel::Village => "village",
            UnitLevel::Group => "group",
        }
    }

    /// 0 for a city, 4 for a group: how deep the level sits in the tree.
    pub fn depth(self) -> u8 {
        self as u8
    }

    /// The level a child of a unit at this level must have.
    pub fn child(self) -> Option<UnitLevel> {
        Self::ALL.get(usize::from(self.depth()) + 1).copied()
    }
}

/// A unit's display name (e.g. 萧县): trimmed, 1 to 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct UnitName(String);

impl UnitName {
    pub fn parse(raw: &str) -> Result<Self, UnitError> {
        crate::names::plain_name(raw, 200)
            .map(Self)
            .ok_or(UnitError::BadName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a unit sits in the tree, as the codes from the root down to it joined by `/` with a
/// leading and trailing `/`. Subtree membership is then a prefix test, which both databases index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnitPath(String);

impl UnitPath {
    /// The scope of an admin of everything: every path starts with it.
    pub fn whole_tree() -> Self {
        Self("/".to_owned())
    }

    pub fn is_whole_tree(&self) -> bool {
        self.0 == "/"
    }

    pub fn root_of(code: &UnitCode) -> Self {
        Self(format!("/{code}/"))
    }

    pub fn child(&self, code: &UnitCode) -> Self {
        Self(format!("{}{code}/", self.0))
    }

    /// Rebuilds a path read back from storage; storage only ever holds paths built here.
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn contains(&self, other: &UnitPath) -> bool {
        other.0.starts_with(&self.0)
    }

    /// The code of the unit this path leads to; None for the whole tree.
    pub fn last_code(&self) -> Option<&str> {
        self.0
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|code| !code.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_codes_accept_division_codes_and_reject_junk() {
        assert!(UnitCode::parse("341322").is_ok());
        assert!(UnitCode::parse("341322100-g1").is_ok());
        assert_eq!(UnitCode::parse(""), Err(UnitError::BadCode));
        assert_eq!(UnitCode::parse("34 13"), Err(UnitError::BadCode));
        assert_eq!(UnitCode::parse("a/b"), Err(UnitError::BadCode));
        assert_eq!(UnitCode::parse(&"1".repeat(33)), Err(UnitError::BadCode));
    }

    #[test]
    fn a_path_names_the_unit_it_leads_to() {
        let county = UnitPath::root_of(&UnitCode::parse("341322").unwrap());
        let town = county.child(&UnitCode::parse("341322100").unwrap());
        assert_eq!(town.last_code(), Some("341322100"));
        assert_eq!(county.last_code(), Some("341322"));
        assert_eq!(UnitPath::whole_tree().last_code(), None);
    }

    #[test]
    fn levels_step_down_one_at_a_time() {
        assert_eq!(UnitLevel::City.child(), Some(UnitLevel::County));
        assert_eq!(UnitLevel::Township.child(), Some(UnitLevel::Village));
        assert_eq!(UnitLevel::Group.child(), None);
        assert_eq!(UnitLevel::parse("village"), Ok(UnitLevel::Village));
        assert_eq!(UnitLevel::parse("Village"), Err(UnitError::BadLevel));
        assert_eq!(UnitLevel::Village.depth(), 3);
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            UnitName::parse("  萧县 ").map(|n| n.0),
            Ok("萧县".to_owned())
        );
        assert_eq!(UnitName::parse("   "), Err(UnitError::BadName));
        assert!(UnitName::parse(&"村".repeat(200)).is_ok());
        assert!(UnitName::parse(&"村".repeat(201)).is_err());
    }

    #[test]
    fn paths_nest_by_prefix_and_not_by_code_prefix() {
        let county = UnitPath::root_of(&UnitCode::parse("3413").unwrap());
        let town = county.child(&UnitCode::parse("341322").unwrap());
        let other = UnitPath::root_of(&UnitCode::parse("34132").unwrap());
        assert!(county.contains(&town));
        assert!(county.contains(&county));
        assert!(!town.contains(&county));
        assert!(
            !other.contains(&town),
            "a code that is a prefix of another must not nest"
        );
    }
}
