//! Supervisors' acts on the negative list and escalation, and published bulletins: each a ledger
//! entry and its projection row (docs/supervision.md). What the entry states was derived by the
//! reader from the facts; the writer only fixes it, once, in order.

use super::appender::LedgerAppender;
use super::state::{JudgeState, Learned};
use super::Actor;
use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::schema::*;
use crate::stored::instant;
use diesel::prelude::*;
use fieldtrail_domain::canonical::unix_micros;
use fieldtrail_domain::person::PersonId;
use fieldtrail_domain::unit::UnitPath;
use serde_json::{json, Value};
use uuid::Uuid;

/// A decision on a proposed negative-list item, with the item as the reader derived it.
pub struct ItemDecisionDraft {
    pub item_id: String,
    pub rule: String,
    pub person: PersonId,
    pub unit_code: String,
    pub unit_path: UnitPath,
    pub month: String,
    pub fact_date: String,
    pub decision: String,
    pub note: String,
    /// The item's view (rule, fact, evidence, …) as listed when the decision was taken.
    pub item: Value,
    /// Records whose pending dispute must be decided first.
    pub disputable: Vec<String>,
}

pub(crate) fn decide_item(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    draft: &ItemDecisionDraft,
) -> StorageResult<(Value, Vec<Learned>)> {
    actor.require_reach(&draft.unit_path, || format!("unit {}", draft.unit_code))?;
    let decided: Option<String> = negative_decisions::table
        .find(&draft.item_id)
        .select(negative_decisions::decision)
        .first(conn)
        .optional()?;
    if let Some(decision) = decided {
        return Err(StorageError::Conflict(format!(
            "{} was already decided: {decision}",
            draft.item_id
        )));
    }
    // Read again here: a dispute may have been sent since the reader derived the item.
    if !draft.disputable.is_empty() {
        let pending: Option<String> = requests::table
            .filter(requests::kind.eq("dispute"))
            .filter(requests::refers_to.eq_any(&draft.disputable))
            .filter(requests::status.eq("pending"))
            .select(requests::record_id)
            .first(conn)
            .optional()?;
        if let Some(dispute) = pending {
            return Err(StorageError::Conflict(format!(
                "the cadre's dispute {dispute} on this fact is pending: decide the dispute first"
            )));
        }
    }
    let decided_by = actor.id.map(|id| id.to_string());
    let mut item = draft.item.clone();
    item["status"] = json!(draft.decision);
    let payload = json!({
        "item_id": draft.item_id,
        "decision": draft.decision,
        "note": draft.note,
        "item": item,
    });
    let appended = ledger.append_admin(
        "negative_item.decision",
        actor,
        Some(&draft.unit_code),
        &payload,
    )?;
    let decided_at = unix_micros(ledger.now);
    item["decision"] = json!({
        "decision": draft.decision,
        "note": draft.note,
        "by": decided_by,
        "at": instant(decided_at),
        "seq": appended.seq,
    });
    diesel::insert_into(negative_decisions::table)
        .values((
            negative_decisions::item_id.eq(&draft.item_id),
            negative_decisions::seq.eq(appended.seq),
            negative_decisions::rule.eq(&draft.rule),
            negative_decisions::person_id.eq(draft.person.to_string()),
            negative_decisions::unit_code.eq(&draft.unit_code),
            negative_decisions::unit_path.eq(draft.unit_path.as_str()),
            negative_decisions::month.eq(&draft.month),
            negative_decisions::fact_date.eq(&draft.fact_date),
            negative_decisions::decision.eq(&draft.decision),
            negative_decisions::note.eq(&draft.note),
            negative_decisions::decided_by.eq(&decided_by),
            negative_decisions::decided_at.eq(decided_at),
            negative_decisions::item.eq(item.to_string()),
        ))
        .execute(conn)?;
    Ok((item, Vec::new()))
}

/// An action taken on a cadre's escalation level (学习, 约谈, 处罚).
pub struct EscalationActionDraft {
    pub person: PersonId,
    pub level: u32,
    /// The level's name in the policy in force for the cadre.
    pub name: String,
    pub note: String,
    pub taken_on: String,
}

pub(crate) fn record_action(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    state: &JudgeState,
    actor: &Actor,
    draft: &EscalationActionDraft,
) -> StorageResult<(Value, Vec<Learned>)> {
    let person = actor.person_in(state, draft.person, "/person_id")?;
    let id = Uuid::now_v7().to_string();
    let payload = json!({
        "id": id,
        "person_id": draft.person.to_string(),
        "level": draft.level,
        "name": draft.name,
        "note": draft.note,
        "taken_on": draft.taken_on,
    });
    let appended = ledger.append_admin(
        "escalation.action",
        actor,
        person.unit_code.as_deref(),
        &payload,
    )?;
    let recorded_by = actor.id.map(|id| id.to_string());
    let recorded_at = unix_micros(ledger.now);
    diesel::insert_into(escalation_actions::table)
        .values((
            escalation_actions::seq.eq(appended.seq),
            escalation_actions::id.eq(&id),
            escalation_actions::person_id.eq(draft.person.to_string()),
            escalation_actions::level.eq(i32::try_from(draft.level).unwrap_or(i32::MAX)),
            escalation_actions::name.eq(&draft.name),
            escalation_actions::note.eq(&draft.note),
            escalation_actions::taken_on.eq(&draft.taken_on),
            escalation_actions::recorded_by.eq(&recorded_by),
            escalation_actions::recorded_at.eq(recorded_at),
        ))
        .execute(conn)?;
    Ok((
        json!({
            "id": id,
            "seq": appended.seq,
            "person_id": draft.person.to_string(),
            "level": draft.level,
            "name": draft.name,
            "note": draft.note,
            "taken_on": draft.taken_on,
            "recorded_by": recorded_by,
            "recorded_at": instant(recorded_at),
        }),
        Vec::new(),
    ))
}

/// A bulletin frozen as published: its exact bytes, the month, the unit.
pub struct BulletinDraft {
    pub unit_code: String,
    pub unit_path: UnitPath,
    pub month: String,
    pub document: String,
    pub sha256: String,
}

/// Publishes the bulletin, or answers the latest version when it is the same document
/// (`created` false).
pub(crate) fn publish_bulletin(
    conn: &mut DbConnection,
    ledger: &mut LedgerAppender<'_>,
    actor: &Actor,
    draft: &BulletinDraft,
) -> StorageResult<(Value, Vec<Learned>)> {
    actor.require_reach(&draft.unit_path, || format!("unit {}", draft.unit_code))?;
    let latest: Option<(i64, String, i64)> = bulletins::table
        .filter(bulletins::unit_code.eq(&draft.unit_code))
        .filter(bulletins::month.eq(&draft.month))
        .order(bulletins::seq.desc())
        .select((bulletins::seq, bulletins::sha256, bulletins::published_at))
        .first(conn)
        .optional()?;
    let view = |seq: i64, at: i64, created: bool| {
        json!({
            "unit_code": draft.unit_code,
            "month": draft.month,
            "sha256": draft.sha256,
            "seq": seq,
            "published_at": instant(at),
            "created": created,
        })
    };
    if let Some((seq, sha256, at)) = latest {
        if sha256 == draft.sha256 {
            return Ok((view(seq, at, false), Vec::new()));
        }
    }
    let payload = json!({
        "unit_code": draft.unit_code,
        "month": draft.month,
        "sha256": draft.sha256,
        "document": draft.document,
    });
    // The digest is in the entry's header too, so it stays covered by the tree and shown by
    // every read of the entry, even if the document itself is ever purged.
    let appended = ledger.append_admin_with(
        "bulletin.publish",
        actor,
        Some(&draft.unit_code),
        &payload,
        Some(json!({"bulletin_sha256": draft.sha256, "month": draft.month})),
    )?;
    let at = unix_micros(ledger.now);
    diesel::insert_into(bulletins::table)
        .values((
            bulletins::seq.eq(appended.seq),
            bulletins::unit_code.eq(&draft.unit_code),
            bulletins::month.eq(&draft.month),
            bulletins::sha256.eq(&draft.sha256),
            bulletins::published_by.eq(actor.id.map(|id| id.to_string())),
            bulletins::published_at.eq(at),
        ))
        .execute(conn)?;
    Ok((view(appended.seq, at, true), Vec::new()))
}
