use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let reachable = web::block(move || db.is_reachable()).await.unwrap_or(false);
    if reachable {
        Ok(HttpResponse::Ok().json(json!({
            "status": "ok",
            "database": state.db.backend().as_str(),
        })))
    } else {
        Err(ApiError::Unavailable(
            "the database is not reachable".into(),
        ))
    }
}
