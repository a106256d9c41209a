//! How lists page: `limit` and a seq `cursor` in, `{items, next_cursor}` out, the cursor being
//! the last seq of the page as a string (docs/api-design.md).

use fieldtrail_domain::error::Problems;

pub const DEFAULT_PAGE: i64 = 100;
pub const MAX_PAGE: i64 = 1000;

/// `limit`: from 1 to [`MAX_PAGE`], [`DEFAULT_PAGE`] when not given; a bad one is named in
/// `problems` (and the default answered, for the other checks to go on).
pub fn parse_limit(problems: &mut Problems, raw: Option<&str>) -> i64 {
    problems
        .check(
            "/limit",
            match raw {
                None => Ok(DEFAULT_PAGE),
                Some(raw) => raw
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or("must be a whole number from 1 to 1000"),
            },
        )
        .unwrap_or(DEFAULT_PAGE)
}

/// `cursor`, a seq as `next_cursor` gave it: None when not given; a bad one is named in
/// `problems`.
pub fn parse_seq_cursor(problems: &mut Problems, raw: Option<&str>) -> Option<i64> {
    let raw = raw?;
    problems.check(
        "/cursor",
        raw.parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or("is not a cursor this server gave"),
    )
}

/// One page of a list, as every list answers it: `{items, next_cursor}`, the cursor a string
/// to send back as `cursor`, null on the last page.
pub fn page_answer<T: serde::Serialize, C: ToString>(
    items: Vec<T>,
    next: Option<C>,
) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(serde_json::json!({
        "items": items,
        "next_cursor": next.map(|cursor| cursor.to_string()),
    }))
}
