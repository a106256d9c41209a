//! Setting a unit's own policy overrides: a ledger entry (so every version is kept) and the
//! `policies` row; judging resolves the new values from the [`Learned`] fact.

use super::appender::LedgerAppender;
use super::state::{JudgeState, Learned};
use super::Actor;
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::policies::{effective_view, PolicyCache};
use crate::schema::*;
use crate::stored::path_codes;
use diesel::prelude::*;
use fieldtrail_domain::policy::PolicyOverrides;
use fieldtrail_domain::unit::UnitCode;
use serde_json::{json, Value};

pub(crate) fn set_policy(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    code: &UnitCode,
    overrides: &PolicyOverrides,
) -> StorageResult<(Value, Vec<Learned>)> {
    let unit = state
        .unit(code.as_str())
        .ok_or_else(|| StorageError::NotFound(format!("no unit {code}")))?;
    actor.require_reach(&unit.path, || format!("unit {code}"))?;
    let body = overrides.to_value();
    let payload = json!({"unit_code": code.as_str(), "policy": body});
    let appended = ledger.append_admin("policy.set", actor, Some(code.as_str()), &payload)?;
    diesel::insert_into(policies::table)
        .values((
            policies::seq.eq(appended.seq),
            policies::unit_code.eq(code.as_str()),
            policies::body.eq(body.to_string()),
        ))
        .execute(conn)?;
    // The answer resolves the unit's chain with the new version in place.
    let mut chain: PolicyCache = path_codes(unit.path.as_str())
        .filter_map(|c| Some((c.to_owned(), state.policies().get(c)?.clone())))
        .collect();
    chain.insert(code.as_str().to_owned(), overrides.clone());
    let view = effective_view(
        &chain,
        code.as_str(),
        unit.path.as_str(),
        unit.tolerance.get(),
        Some(appended.seq),
    );
    let learned = vec![Learned::Policy {
        unit_code: code.as_str().to_owned(),
        overrides: overrides.clone(),
    }];
    Ok((view, learned))
}
