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
        // Raw UTF-8 is accepted: reasons are written in Chinese.
        Some(value) => match std::str::from_utf8(value.as_bytes()).map(str::trim) {
            Ok("") => None,
            Ok(text) if text.chars().count() <= MAX_REASON => Some(text.to_owned()),
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

fn bad_reason(reason: String) -> ApiError {
    ApiError::Malformed {
        detail: format!("X-Reason {reason}"),
        problems: vec![FieldProblem::new("/headers/X-Reason", reason)],
    }
}
