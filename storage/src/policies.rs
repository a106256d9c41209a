//! Per-unit policies as stored (each unit's own overrides, every version a ledger entry) and how
//! they resolve down the unit tree. The writer keeps the overrides in memory to judge with; the
//! policy read resolves the same way from the database.

use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::schema::policies;
use crate::stored::{path_codes, stored_overrides};
use diesel::prelude::*;
use fieldtrail_domain::policy::{resolve, EffectivePolicy, PolicyOverrides};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Each unit's own policy overrides (the latest version), by unit code.
pub type PolicyCache = HashMap<String, PolicyOverrides>;

/// The latest overrides of every unit that has set any.
pub(crate) fn load_policies(conn: &mut DbConnection) -> StorageResult<PolicyCache> {
    let rows: Vec<(String, String)> = policies::table
        .order(policies::seq.asc())
        .select((policies::unit_code, policies::body))
        .load(conn)?;
    let mut cache = PolicyCache::new();
    for (code, body) in rows {
        cache.insert(code, stored_overrides(&body)?);
    }
    Ok(cache)
}

/// The latest overrides of the given units only.
pub(crate) fn load_policies_of(
    conn: &mut DbConnection,
    codes: &[String],
) -> StorageResult<(PolicyCache, HashMap<String, i64>)> {
    let rows: Vec<(i64, String, String)> = policies::table
        .filter(policies::unit_code.eq_any(codes))
        .order(policies::seq.asc())
        .select((policies::seq, policies::unit_code, policies::body))
        .load(conn)?;
    let mut cache = PolicyCache::new();
    let mut seqs = HashMap::new();
    for (seq, code, body) in rows {
        cache.insert(code.clone(), stored_overrides(&body)?);
        seqs.insert(code, seq);
    }
    Ok((cache, seqs))
}

/// The policy in force at the unit with this stored path.
pub(crate) fn resolve_path(cache: &PolicyCache, path: &str) -> EffectivePolicy {
    let empty = PolicyOverrides::default();
    let chain: Vec<(&str, &PolicyOverrides)> = path_codes(path)
        .map(|code| (code, cache.get(code).unwrap_or(&empty)))
        .collect();
    resolve(&chain)
}

/// A unit's policy as the API shows it: every value, where each comes from, the unit's own
/// overrides and the seq of their version.
pub(crate) fn effective_view(
    cache: &PolicyCache,
    code: &str,
    path: &str,
    imported_tolerance_m: f64,
    own_seq: Option<i64>,
) -> Value {
    let effective = resolve_path(cache, path);
    let mut policy = effective.policy.to_value();
    let mut sources = effective.sources_value();
    if effective.policy.tolerance_m.is_none() {
        // No unit up the tree sets a tolerance: the one imported with the unit's boundary holds.
        policy["tolerance_m"] = json!(imported_tolerance_m);
        sources["tolerance_m"] = json!("import");
    }
    let own = cache
        .get(code)
        .map_or_else(|| json!({}), PolicyOverrides::to_value);
    json!({
        "unit_code": code,
        "policy": policy,
        "sources": sources,
        "own": own,
        "seq": own_seq,
    })
}
