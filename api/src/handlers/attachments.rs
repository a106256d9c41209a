//! Photo evidence. Uploads are optional evidence for records, never a condition of one.

use crate::attachments::{sniff_media_type, MAX_ATTACHMENT_BYTES};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::RawBody;
use crate::handlers::people::may_see_person;
use crate::handlers::read;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use fieldtrail_domain::canonical::unix_micros;
use fieldtrail_domain::person::PersonId;
use fieldtrail_domain::record::AttachmentHash;
use fieldtrail_storage::models::AttachmentRow;
use serde_json::json;
use time::OffsetDateTime;

/// Stores a JPEG or PNG, named by its SHA-256, and answers the hash records refer to it by.
pub async fn upload(
    state: web::Data<AppState>,
    principal: Principal,
    RawBody(body): RawBody,
) -> Result<HttpResponse, ApiError> {
    if body.len() > MAX_ATTACHMENT_BYTES {
        return Err(ApiError::PayloadTooLarge(format!(
            "a photo may be at most {MAX_ATTACHMENT_BYTES} bytes"
        )));
    }
    let Some(media_type) = sniff_media_type(&body) else {
        return Err(ApiError::UnsupportedMediaType(
            "only JPEG and PNG photos are accepted (recognised by their content)".into(),
        ));
    };
    let size = body.len();
    let data = state.clone();
    let hash = web::block(move || data.attachments.store(&body))
        .await?
        .map_err(|err| ApiError::Unavailable(format!("cannot store the photo: {err}")))?;
    let row = AttachmentRow {
        sha256: hash.to_hex(),
        size: i64::try_from(size).unwrap_or(i64::MAX),
        media_type: media_type.to_owned(),
        uploaded_by: principal.id.to_string(),
        uploaded_at: unix_micros(OffsetDateTime::now_utc()),
    };
    let created = read(&state.db, move |conn| {
        fieldtrail_storage::reads::note_attachment(conn, &row)
    })
    .await?;
    let answer = json!({"sha256": hash.to_hex(), "size": size, "media_type": media_type});
    tracing::info!(person = %principal.id, sha256 = %hash.to_hex(), size, "photo stored");
    Ok(if created {
        HttpResponse::Created().json(answer)
    } else {
        HttpResponse::Ok().json(answer)
    })
}

/// The photo's bytes, to anyone who uploaded it and to staff whose scope covers an uploader.
pub async fn download(
    state: web::Data<AppState>,
    principal: Principal,
    sha256: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let raw = sha256.into_inner();
    let not_found = || ApiError::NotFound(format!("no attachment {raw}"));
    let hash = AttachmentHash::parse(&raw).map_err(|_| not_found())?;
    let wanted = hash.to_hex();
    let uploads = read(&state.db, move |conn| {
        let mut uploads = Vec::new();
        for row in fieldtrail_storage::reads::attachment_uploads(conn, &wanted)? {
            let uploader = fieldtrail_storage::reads::person(conn, &row.uploaded_by)?;
            uploads.push((row, uploader));
        }
        Ok(uploads)
    })
    .await?;
    let Some((first, _)) = uploads.first() else {
        return Err(not_found());
    };
    let media_type = first.media_type.clone();
    let allowed = uploads.iter().any(|(row, uploader)| {
        let path = uploader.as_ref().map_or("/", |p| p.unit_path.as_str());
        PersonId::parse(&row.uploaded_by).is_ok_and(|id| may_see_person(&principal, id, path))
    });
    if !allowed {
        return Err(ApiError::forbidden());
    }
    let data = state.clone();
    let bytes = web::block(move || data.attachments.read(&hash))
        .await?
        .map_err(|err| ApiError::Unavailable(format!("cannot read the photo: {err}")))?;
    Ok(HttpResponse::Ok().content_type(media_type).body(bytes))
}
