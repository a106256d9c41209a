//! The console (docs/console.md): static files embedded at build time from api/console,
//! `index.html` at `/` and everything else under `/assets/`. Plain ES modules, no build step.

use crate::error::ApiError;
use actix_web::http::header;
use actix_web::{web, HttpResponse};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/console_files.rs"));
}

/// Nothing but this origin: no inline scripts, no CDN, no tile server (the machines are
/// offline). Leaflet positions its panes with inline styles, hence `style-src 'unsafe-inline'`.
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; \
                   style-src 'self' 'unsafe-inline'; connect-src 'self'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn content_type(path: &str) -> &'static str {
    if path.ends_with("/LICENSE") {
        return "text/plain; charset=utf-8";
    }
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        Some("json") => "application/json",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn serve(path: &str) -> Result<HttpResponse, ApiError> {
    let (_, bytes) = embedded::FILES
        .iter()
        .find(|(name, _)| *name == path)
        .ok_or_else(|| ApiError::NotFound(format!("no console file {path}")))?;
    Ok(HttpResponse::Ok()
        .content_type(content_type(path))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        // Files are not content-hashed: revalidate, so an upgrade is seen at once.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(*bytes))
}

pub async fn index() -> Result<HttpResponse, ApiError> {
    serve("index.html")
}

pub async fn asset(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    if path
        .split('/')
        .any(|segment| segment.is_empty() || segment == "..")
    {
        return Err(ApiError::NotFound(format!("no console file {path}")));
    }
    serve(&format!("assets/{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_styles_get_their_types() {
        assert_eq!(
            content_type("assets/app.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("assets/vendor/leaflet/LICENSE"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(content_type("assets/blob.bin"), "application/octet-stream");
    }
}
