//! `/healthz` (docs/reliability.md): 200 when the database answers and takes writes; 503
//! problem+json with Retry-After naming the fault otherwise. After a failed commit (a full or
//! read-only disk, a lost connection) it asks the writer for a durable probe write each time it
//! is called, so it reports the recovery as soon as the database takes writes again — and that
//! probe is also what brings the writer back without any client write.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;
use std::time::Duration;

/// A probe that takes longer is as good as failed: the writer is stuck or the disk hangs.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let reachable = web::block(move || db.is_reachable()).await.unwrap_or(false);
    if !reachable {
        return Err(ApiError::Unavailable(
            "the database is not reachable".into(),
        ));
    }
    if let Some(fault) = state.writer.fault() {
        match tokio::time::timeout(PROBE_TIMEOUT, state.writer.probe()).await {
            Ok(Ok(_)) => tracing::info!("the database takes writes again"),
            Ok(Err(err)) => {
                return Err(ApiError::Unavailable(format!(
                    "the database does not take writes: {err}"
                )))
            }
            Err(_) => {
                return Err(ApiError::Unavailable(format!(
                    "the database does not take writes (a probe write took over {} s; last failure: {fault})",
                    PROBE_TIMEOUT.as_secs()
                )))
            }
        }
    }
    Ok(HttpResponse::Ok().json(json!({
        "status": "ok",
        "database": state.db.backend().as_str(),
        "writes": "ok",
    })))
}
