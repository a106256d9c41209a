//! The ledger as a transparency log: signed checkpoints, proofs and entry bytes, so that anyone
//! holding a checkpoint can check that an entry is in the ledger and nothing before it changed.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::handlers::read;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use fieldtrail_domain::error::Problems;
use fieldtrail_domain::merkle::Hash;
use fieldtrail_domain::person::Role;
use fieldtrail_storage::merkle as tree;
use serde::Deserialize;
use serde_json::json;

/// Most entries one `GET /v1/ledger/entries` returns.
pub const MAX_ENTRIES_PAGE: u64 = 1000;

fn note_response(note: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(note)
}

fn b64(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(|h| STANDARD.encode(h)).collect()
}

/// The latest checkpoint, signed now if entries arrived since the last one. Public: it holds a
/// size and a root hash, nothing personal.
pub async fn checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let checkpoint = state.writer.checkpoint().await?;
    Ok(note_response(checkpoint.note))
}

pub async fn checkpoint_at(
    state: web::Data<AppState>,
    size: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let raw = size.into_inner();
    let not_found = || ApiError::NotFound(format!("no checkpoint of size {raw}"));
    let size: u64 = raw.parse().map_err(|_| not_found())?;
    let stored = read(&state.db, move |conn| tree::checkpoint_at(conn, size))
        .await?
        .ok_or_else(not_found)?;
    Ok(note_response(stored.note))
}

pub async fn key(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("{}\n", state.log_verifier_key))
}

fn parse_count(
    problems: &mut Problems,
    pointer: &str,
    raw: &Option<String>,
    min: u64,
) -> Option<u64> {
    match raw.as_deref() {
        None => {
            problems.push(pointer, "is required");
            None
        }
        Some(text) => problems.check(
            pointer,
            text.parse::<u64>()
                .ok()
                .filter(|n| *n >= min && *n < i64::MAX as u64)
                .ok_or(format!("must be a whole number of at least {min}")),
        ),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    seq: Option<String>,
    tree_size: Option<String>,
}

/// Inspectors and admins may prove any entry; anyone else only entries they made (a cadre their
/// records, a supervisor their draws, so that they can verify them).
pub async fn inclusion(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<InclusionQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let mut problems = Problems::new();
    let seq = parse_count(&mut problems, "/seq", &query.seq, 1);
    let size = parse_count(&mut problems, "/tree_size", &query.tree_size, 1);
    problems.finish()?;
    let (Some(seq), Some(size)) = (seq, size) else {
        return Err(ApiError::Internal("parsed fields missing".into()));
    };
    if seq > size {
        return Err(ApiError::Invalid(vec![
            fieldtrail_domain::FieldProblem::new("/seq", "must not be greater than tree_size"),
        ]));
    }
    let seq_i64 = i64::try_from(seq).map_err(|_| ApiError::NotFound("no such entry".into()))?;
    let allowed_roles = [Role::Inspector, Role::Admin];
    let me = principal.id.to_string();
    let may_prove_any = allowed_roles.contains(&principal.role);
    let (leaf, hashes) = read(&state.db, move |conn| {
        let actor = tree::entry_actor(conn, seq_i64)?;
        let Some(actor) = actor else {
            return Ok(None);
        };
        let own_entry = actor.as_deref() == Some(me.as_str());
        if !(may_prove_any || own_entry) {
            return Ok(Some(Err(())));
        }
        let hashes = tree::inclusion(conn, seq - 1, size)?;
        let leaf = tree::leaf(conn, seq - 1)?;
        Ok(Some(Ok((leaf, hashes))))
    })
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("no ledger entry {seq}")))?
    .map_err(|()| ApiError::forbidden())?;
    Ok(HttpResponse::Ok().json(json!({
        "seq": seq,
        "leaf_index": seq - 1,
        "tree_size": size,
        "leaf_hash": hex::encode(leaf),
        "hashes": b64(&hashes),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    from: Option<String>,
    to: Option<String>,
}

pub async fn consistency(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, ApiError> {
    // Hashes only, nothing personal: supervisors need them to verify their draws.
    principal.require_role(&[Role::Supervisor, Role::Inspector, Role::Admin])?;
    let query = query.into_inner();
    let mut problems = Problems::new();
    let from = parse_count(&mut problems, "/from", &query.from, 0);
    let to = parse_count(&mut problems, "/to", &query.to, 0);
    problems.finish()?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::Internal("parsed fields missing".into()));
    };
    if from > to {
        return Err(ApiError::Invalid(vec![
            fieldtrail_domain::FieldProblem::new("/from", "must not be greater than to"),
        ]));
    }
    let hashes = read(&state.db, move |conn| tree::consistency(conn, from, to)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "from": from,
        "to": to,
        "hashes": b64(&hashes),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    start: Option<String>,
    count: Option<String>,
}

/// Entry headers (canonical bytes) as the Merkle leaves commit to them; payloads are not served.
pub async fn entries(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<EntriesQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_role(&[Role::Inspector, Role::Admin])?;
    let query = query.into_inner();
    let mut problems = Problems::new();
    let start = parse_count(&mut problems, "/start", &query.start, 1);
    let count = match query.count {
        None => Some(100),
        some => match parse_count(&mut problems, "/count", &some, 1) {
            Some(n) if n > MAX_ENTRIES_PAGE => {
                // One problem per field: an unparseable count is not also "too large".
                problems.push("/count", format!("must be at most {MAX_ENTRIES_PAGE}"));
                None
            }
            parsed => parsed,
        },
    };
    problems.finish()?;
    let (Some(start), Some(count)) = (start, count) else {
        return Err(ApiError::Internal("parsed fields missing".into()));
    };
    let (start, count) = (start as i64, count as i64);
    let rows = read(&state.db, move |conn| tree::entries(conn, start, count)).await?;
    let entries: Vec<_> = rows
        .into_iter()
        .map(|entry| {
            json!({
                "seq": entry.seq,
                "leaf_index": entry.seq - 1,
                "body": STANDARD.encode(&entry.body),
                "leaf_hash": hex::encode(entry.tree_leaf),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "entries": entries })))
}
