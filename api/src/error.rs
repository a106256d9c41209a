//! The one place errors become HTTP responses: every failure leaves as RFC 9457
//! `application/problem+json` with `type`, `title`, `status`, `detail` and, for invalid input,
//! `errors: [{pointer, reason}]`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use fieldtrail_domain::{DomainError, FieldProblem};
use fieldtrail_storage::StorageError;
use serde_json::json;

/// Problem type URIs are stable identifiers clients can switch on.
pub const PROBLEM_BASE: &str = "urn:fieldtrail:problem:";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON, or not the JSON this route takes.
    #[error("{detail}")]
    Malformed {
        detail: String,
        problems: Vec<FieldProblem>,
    },
    /// Well-formed, but a field breaks a rule.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldProblem>),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("no route {0}")]
    NoRoute(String),
    /// The path exists, but not with this method; `allow` lists the methods it has.
    #[error("{route} is not served; this path allows {}", .allow.join(", "))]
    MethodNotAllowed { route: String, allow: Vec<String> },
    /// The caller's password was chosen by someone else and must be changed first.
    #[error("{0}")]
    PasswordChangeRequired(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Too many attempts: a login lockout or the per-device submission limit.
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after: u64 },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::Malformed { .. } => ("malformed-request", "Malformed request"),
            ApiError::Invalid(_) => ("validation", "Invalid input"),
            ApiError::Unauthorized(_) => ("unauthorized", "Not authenticated"),
            ApiError::Forbidden(_) => ("forbidden", "Outside your permissions"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::NoRoute(_) => ("route-not-found", "No such route"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::PasswordChangeRequired(_) => {
                ("password-change-required", "Change your password first")
            }
            ApiError::Conflict(_) => ("conflict", "Conflict"),
            ApiError::PayloadTooLarge(_) => ("payload-too-large", "Request body too large"),
            ApiError::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::Unavailable(_) => ("unavailable", "Service unavailable"),
            ApiError::Internal(_) => ("internal", "Internal error"),
        }
    }

    pub fn forbidden() -> ApiError {
        ApiError::Forbidden("this is outside your scope or role".into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Malformed { .. } => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::PasswordChangeRequired(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::NoRoute(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let body = self.problem();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        if matches!(self, ApiError::Unauthorized(_)) {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let ApiError::MethodNotAllowed { allow, .. } = self {
            response.insert_header(("Allow", allow.join(", ")));
        }
        if let ApiError::TooManyRequests { retry_after, .. } = self {
            response.insert_header(("Retry-After", retry_after.max(&1).to_string()));
        }
        if matches!(self, ApiError::Unavailable(_)) {
            response.insert_header(("Retry-After", "1"));
        }
        response.body(body.to_string())
    }
}

impl ApiError {
    /// The problem document, also used for one failed item inside a batch answer.
    pub fn problem(&self) -> serde_json::Value {
        let status = self.status_code();
        let (slug, title) = self.slug_and_title();
        let detail = match self {
            ApiError::Invalid(problems) => problems
                .iter()
                .map(|p| format!("{}: {}", p.pointer, p.reason))
                .collect::<Vec<_>>()
                .join("; "),
            ApiError::Internal(_) => "an unexpected error occurred; it has been logged".into(),
            other => other.to_string(),
        };
        let mut body = json!({
            "type": format!("{PROBLEM_BASE}{slug}"),
            "title": title,
            "status": status.as_u16(),
            "detail": detail,
        });
        let problems = match self {
            ApiError::Invalid(problems) => Some(problems),
            ApiError::Malformed { problems, .. } if !problems.is_empty() => Some(problems),
            _ => None,
        };
        if let Some(problems) = problems {
            body["errors"] = json!(problems);
        }
        body
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Invalid(problems) => ApiError::Invalid(problems),
            StorageError::Conflict(detail) => ApiError::Conflict(detail),
            StorageError::RateLimited {
                detail,
                retry_after,
            } => ApiError::TooManyRequests {
                detail,
                retry_after,
            },
            StorageError::NotFound(detail) => ApiError::NotFound(detail),
            StorageError::OutOfScope(what) => {
                ApiError::Forbidden(format!("{what} is outside your scope"))
            }
            StorageError::Unavailable(detail) | StorageError::Connection(detail) => {
                ApiError::Unavailable(detail)
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        match err {
            DomainError::Invalid(problems) => ApiError::Invalid(problems),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        ApiError::Unavailable(err.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
