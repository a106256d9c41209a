use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// A person's id (UUID v7, so ids sort by creation time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonId(Uuid);

impl PersonId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn parse(raw: &str) -> Result<Self, PersonError> {
        Uuid::parse_str(raw)
            .map(Self)
            .map_err(|_| PersonError::BadId)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for PersonId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PersonError {
    #[error("must be a UUID")]
    BadId,
    #[error("username must be 3 to 64 characters of a-z, 0-9, '.', '-' or '_'")]
    BadUsername,
    #[error("password must be 8 to 256 characters")]
    BadPassword,
    #[error("display name must be 1 to 100 characters, without control characters or line breaks")]
    BadDisplayName,
    #[error("phone must be 5 to 20 digits, optionally starting with '+'")]
    BadPhone,
    #[error("role must be one of cadre, supervisor, inspector, admin")]
    BadRole,
}

/// What a person may do; the scope unit says where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Cadre,
    Supervisor,
    Inspector,
    Admin,
}

impl Role {
    pub fn parse(raw: &str) -> Result<Self, PersonError> {
        match raw {
            "cadre" => Ok(Role::Cadre),
            "supervisor" => Ok(Role::Supervisor),
            "inspector" => Ok(Role::Inspector),
            "admin" => Ok(Role::Admin),
            _ => Err(PersonError::BadRole),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cadre => "cadre",
            Role::Supervisor => "supervisor",
            Role::Inspector => "inspector",
            Role::Admin => "admin",
        }
    }
}

/// Login name: lower-case ASCII so that two people cannot differ only by case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, PersonError> {
        let ok = (3..=64).contains(&raw.len())
            && raw.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
            });
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(PersonError::BadUsername)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed; only ever hashed, never stored or logged.
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Self, PersonError> {
        if (8..=256).contains(&raw.chars().count()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(PersonError::BadPassword)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, PersonError> {
        crate::names::plain_name(raw, 100)
            .map(Self)
            .ok_or(PersonError::BadDisplayName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, PersonError> {
        let digits = raw.strip_prefix('+').unwrap_or(raw);
        if (5..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(PersonError::BadPhone)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lower_case_ascii() {
        assert!(Username::parse("cadre01").is_ok());
        assert!(Username::parse("li.wei-2").is_ok());
        assert_eq!(Username::parse("Cadre01"), Err(PersonError::BadUsername));
        assert_eq!(Username::parse("ab"), Err(PersonError::BadUsername));
        assert_eq!(Username::parse("李伟"), Err(PersonError::BadUsername));
    }

    #[test]
    fn passwords_have_a_minimum_length_and_never_print() {
        assert_eq!(
            Password::parse("short").err(),
            Some(PersonError::BadPassword)
        );
        let password = Password::parse("long enough secret").unwrap();
        assert!(!format!("{password:?}").contains("secret"));
    }

    #[test]
    fn roles_and_phones_parse() {
        assert_eq!(Role::parse("supervisor"), Ok(Role::Supervisor));
        assert_eq!(Role::parse("boss"), Err(PersonError::BadRole));
        assert!(Phone::parse("+8613800138000").is_ok());
        assert!(Phone::parse("138-0013").is_err());
    }
}
