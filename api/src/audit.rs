//! Audited reads (docs/privacy.md): location is sensitive personal information (PIPL), so every
//! read of a person's whereabouts by a supervisor or inspector is put on record — who, whose data
//! or which unit, what, when, and the `X-Reason` they gave — before the data is answered.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::handlers::read;
use crate::state::AppState;
use actix_web::HttpRequest;
use fieldtrail_domain::error::FieldProblem;
use fieldtrail_domain::person::Role;
use fieldtrail_storage::writer::ReadAudit;

/// Longest reason kept.
const MAX_REASON: usize = 500;

/// What is being read.
pub struct Subject<'a> {
    /// Whose data, or None for a unit's.
    pub person: Option<&'a str>,
    pub unit_code: Option<&'a str>,
    /// The unit path whose policy decides whether a reason is required.
    pub path: &'a str,
    pub what: &'static str,
}

/// Records the read if the reader is a supervisor or inspector (a cadre reading their own data
/// and admins are not audited here: admins' reads are the audit's own readers). An inspector
/// must give a reason where the policy `read_reason_required` says so: 400 without one.
pub async fn audit_read(
    state: &AppState,
    principal: &Principal,
    req: &HttpRequest,
    subject: Subject<'_>,
) -> Result<(), ApiError> {
    if !matches!(principal.role, Role::Supervisor | Role::Inspector) {
        return Ok(());
    }
    let reason = match req.headers().get("x-reason") {
        None => None,
        // Raw UTF-8 is accepted: reasons are written in Chinese. Browsers cannot send that in
        // a header (fetch takes ISO-8859-1 only), so the console percent-encodes it.
        Some(value) => match std::str::from_utf8(value.as_bytes()).map(str::trim) {
            Ok("") => None,
            Ok(text) => match percent_decoded(text) {
                text if text.chars().count() <= MAX_REASON => Some(text),
                _ => {
                    return Err(bad_reason(format!(
                        "must be UTF-8 text of at most {MAX_REASON} characters"
                    )))
                }
            },
            _ => {
                return Err(bad_reason(format!(
                    "must be UTF-8 text of at most {MAX_REASON} characters"
                )))
            }
        },
    };
    if principal.role == Role::Inspector && reason.is_none() {
        let path = subject.path.to_owned();
        let policy = read(&state.db, move |conn| {
            fieldtrail_storage::reads::policy_at_path(conn, &path)
        })
        .await?;
        if policy.read_reason_required {
            return Err(bad_reason(
                "is required: say why you read this (policy read_reason_required)".into(),
            ));
        }
    }
    state
        .writer
        .audit_read(
            principal.actor(),
            ReadAudit {
                role: principal.role.as_str().to_owned(),
                person: subject.person.map(str::to_owned),
                unit_code: subject.unit_code.map(str::to_owned),
                what: subject.what,
                reason,
            },
        )
        .await?;
    Ok(())
}

/// The text a percent-encoded reason stands for; the text itself when it is not one (a reason
/// may well say "100%").
fn percent_decoded(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                i += 3;
            }
            (b'%', _, _) => return text.to_owned(),
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map(|decoded| decoded.trim().to_owned())
        .unwrap_or_else(|_| text.to_owned())
}

fn bad_reason(reason: String) -> ApiError {
    ApiError::Malformed {
        detail: format!("X-Reason {reason}"),
        problems: vec![FieldProblem::new("/headers/X-Reason", reason)],
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decoded;

    #[test]
    fn percent_encoded_reasons_are_decoded_and_plain_ones_kept() {
        assert_eq!(percent_decoded("%E7%BA%BF%E7%B4%A2%20A"), "线索 A");
        assert_eq!(percent_decoded("核查线索"), "核查线索");
        assert_eq!(percent_decoded("100% sure"), "100% sure");
        assert_eq!(
            percent_decoded("%FF%FE"),
            "%FF%FE",
            "not UTF-8: kept as sent"
        );
    }
}
