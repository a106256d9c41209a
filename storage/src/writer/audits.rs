//! Audited reads (docs/privacy.md): a supervisor's or inspector's read of a person's
//! whereabouts is a `read.audit` ledger entry, committed with the group like any other entry
//! before the data is answered, and a `read_audits` row to list it by.

use super::appender::LedgerAppender;
use super::state::Learned;
use super::Actor;
use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::schema::read_audits;
use diesel::prelude::*;
use fieldtrail_domain::canonical::unix_micros;
use serde_json::{json, Value};

/// One read to put on record.
pub struct ReadAudit {
    /// The reader's role, as it was when they read.
    pub role: String,
    /// Whose data (None: a unit's, such as its compliance or an export).
    pub person: Option<String>,
    pub unit_code: Option<String>,
    /// What was read: `presence`, `records`, `archive`, `compliance`, `export`.
    pub what: &'static str,
    /// The reader's `X-Reason`, if given.
    pub reason: Option<String>,
}

pub(crate) fn audit(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    read: &ReadAudit,
) -> StorageResult<(Value, Vec<Learned>)> {
    let payload = json!({
        "role": read.role,
        "person_id": read.person,
        "unit_code": read.unit_code,
        "what": read.what,
        "reason": read.reason,
    });
    let appended = ledger.append_admin("read.audit", actor, read.unit_code.as_deref(), &payload)?;
    diesel::insert_into(read_audits::table)
        .values((
            read_audits::seq.eq(appended.seq),
            read_audits::actor_id.eq(actor.id.map(|id| id.to_string()).unwrap_or_default()),
            read_audits::actor_role.eq(&read.role),
            read_audits::person_id.eq(&read.person),
            read_audits::unit_code.eq(&read.unit_code),
            read_audits::what.eq(read.what),
            read_audits::reason.eq(&read.reason),
            read_audits::read_at.eq(unix_micros(ledger.now)),
        ))
        .execute(conn)?;
    Ok((json!({"seq": appended.seq}), Vec::new()))
}
