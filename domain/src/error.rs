use thiserror::Error;

/// One problem with one field of an input, named by an RFC 6901 JSON pointer into the request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldProblem {
    pub pointer: String,
    pub reason: String,
    /// For a spreadsheet cell: its row number as the spreadsheet shows it (the header is 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    /// For a spreadsheet cell: its column letter (A, B, …, AA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

impl FieldProblem {
    pub fn new(pointer: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self {
            pointer: pointer.into(),
            reason: reason.to_string(),
            row: None,
            column: None,
        }
    }
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum DomainError {
    /// The input is well-formed JSON but breaks a rule; every broken rule is listed.
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<FieldProblem>),
}

impl DomainError {
    pub fn field(pointer: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        DomainError::Invalid(vec![FieldProblem::new(pointer, reason)])
    }
}

/// Collects problems while a whole input is parsed, so a client learns every mistake at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldProblem>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, pointer: impl Into<String>, reason: impl std::fmt::Display) {
        self.0.push(FieldProblem::new(pointer, reason));
    }

    /// Keeps the parsed value when it is good and records the problem otherwise.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        pointer: &str,
        parsed: Result<T, E>,
    ) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(err) => {
                self.push(pointer, err);
                None
            }
        }
    }

    pub fn extend(&mut self, problems: impl IntoIterator<Item = FieldProblem>) {
        self.0.extend(problems);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Ok when nothing was recorded; the caller then knows every `Option` it got is `Some`.
    pub fn finish(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(self.0))
        }
    }
}
