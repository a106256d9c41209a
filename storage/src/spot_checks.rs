//! Spot-checks as reads show them: draws with their checkpoint, sample and challenges or
//! verifications; a cadre's open challenges; alerts; the results of a person's days; and the
//! verifications that contest a record. The writer answers a new draw with the same view.

use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::merkle::checkpoint_at;
use crate::models::{AlertRow, ChallengeRow, DrawRow, VerificationRow};
use crate::schema::*;
use crate::stored::{instant, like_escape, stored_json};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use diesel::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;

fn challenge_view(row: &ChallengeRow) -> Value {
    json!({
        "id": row.id,
        "seq": row.seq,
        "draw_id": row.draw_id,
        "person_id": row.person_id,
        "issued_by": row.issued_by,
        "issued_at": instant(row.issued_at),
        "deadline": instant(row.deadline),
        "status": row.status,
        "outcome": (row.status != "open").then_some(&row.status),
        "outcome_id": row.outcome_id,
        "answer_id": row.answer_id,
        "answered_at": row.answered_at.map(instant),
    })
}

fn verification_view(row: &VerificationRow) -> Value {
    json!({
        "id": row.id,
        "seq": row.seq,
        "household_id": row.household_id,
        "result": row.result,
        "person_id": row.person_id,
        "verified_by": row.verified_by,
        "verified_at": instant(row.verified_at),
    })
}

/// A draw as answered and listed; `note` is the signed checkpoint that seeded it.
pub fn draw_view(
    row: &DrawRow,
    challenges: &[ChallengeRow],
    verifications: &[VerificationRow],
    note: Option<&str>,
) -> StorageResult<Value> {
    let members = stored_json("draw members", &row.members)?;
    let sample = stored_json("draw sample", &row.sample)?;
    let passed_over = stored_json("draw passed_over", &row.passed_over)?;
    // The note is the checkpoint body, a blank line, then its signatures.
    let root = note
        .and_then(|note| note.split_once("\n\n"))
        .and_then(|(body, _)| fieldtrail_domain::note::Checkpoint::parse(&format!("{body}\n")).ok())
        .map(|checkpoint| STANDARD.encode(checkpoint.root));
    let mut view = json!({
        "id": row.id,
        "seq": row.seq,
        "leaf_index": row.seq - 1,
        "unit_code": row.unit_code,
        "population": row.population,
        "size": row.size,
        "period": row.period,
        "purpose": row.purpose,
        "emergency_reason": row.emergency_reason,
        "drawn_by": row.drawn_by,
        "drawn_at": instant(row.drawn_at),
        "population_size": members.as_array().map_or(0, Vec::len),
        "population_sha256": row.population_sha256,
        "members": members,
        "passed_over": passed_over,
        "checkpoint": {"size": row.checkpoint_size, "root": root, "note": note},
        "sample": sample,
        "sample_seq": row.sample_seq,
    });
    if row.population == "cadres" {
        view["challenges"] = challenges.iter().map(challenge_view).collect();
    } else {
        view["verifications"] = verifications.iter().map(verification_view).collect();
    }
    Ok(view)
}

/// One draw with everything that followed from it.
pub fn draw(conn: &mut DbConnection, id: &str) -> StorageResult<Option<(String, Value)>> {
    let Some(row) = draws::table
        .find(id)
        .select(DrawRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let challenges: Vec<ChallengeRow> = challenges::table
        .filter(challenges::draw_id.eq(id))
        .order(challenges::seq.asc())
        .select(ChallengeRow::as_select())
        .load(conn)?;
    let verifications: Vec<VerificationRow> = verifications::table
        .filter(verifications::draw_id.eq(id))
        .order(verifications::seq.asc())
        .select(VerificationRow::as_select())
        .load(conn)?;
    let size = u64::try_from(row.checkpoint_size).unwrap_or(0);
    let note = checkpoint_at(conn, size)?.map(|c| c.note);
    let mut view = draw_view(&row, &challenges, &verifications, note.as_deref())?;
    view["evidence"] = json!({
        "draw_entry": entry_evidence(conn, row.seq)?,
        "sample_entry": entry_evidence(conn, row.sample_seq)?,
    });
    Ok(Some((row.unit_path, view)))
}

/// An entry as the tree commits to it, with the salted payload its header's `payload_hash`
/// covers, so that anyone can check the draw's parameters and population against the ledger
/// rather than trust this view (`fieldtrail verify-draw`). Payload and salt are null once purged.
fn entry_evidence(conn: &mut DbConnection, seq: i64) -> StorageResult<Value> {
    let body: Option<Vec<u8>> = ledger::table
        .find(seq)
        .select(ledger::body)
        .first(conn)
        .optional()?;
    let payload: Option<(Vec<u8>, Vec<u8>)> = ledger_payloads::table
        .find(seq)
        .select((ledger_payloads::salt, ledger_payloads::payload))
        .first(conn)
        .optional()?;
    Ok(json!({
        "seq": seq,
        "leaf_index": seq - 1,
        "body": body.map(|b| STANDARD.encode(b)),
        "salt": payload.as_ref().map(|(salt, _)| STANDARD.encode(salt)),
        "payload": payload.as_ref().map(|(_, bytes)| STANDARD.encode(bytes)),
    }))
}

/// Draws over units under `path`, drawn in `[from, to)` (Unix microseconds), newest first.
pub fn draws(
    conn: &mut DbConnection,
    path: &str,
    from: Option<i64>,
    to: Option<i64>,
    limit: i64,
) -> StorageResult<Vec<Value>> {
    let mut query = draws::table
        .filter(
            draws::unit_path
                .like(format!("{}%", like_escape(path)))
                .escape('\\'),
        )
        .into_boxed();
    if let Some(from) = from {
        query = query.filter(draws::drawn_at.ge(from));
    }
    if let Some(to) = to {
        query = query.filter(draws::drawn_at.lt(to));
    }
    let rows: Vec<DrawRow> = query
        .order(draws::drawn_at.desc())
        .limit(limit)
        .select(DrawRow::as_select())
        .load(conn)?;
    let sizes: Vec<i64> = rows.iter().map(|row| row.checkpoint_size).collect();
    let notes: HashMap<i64, String> = checkpoints::table
        .filter(checkpoints::size.eq_any(&sizes))
        .select((checkpoints::size, checkpoints::note))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    rows.iter()
        .map(|row| {
            let note = notes.get(&row.checkpoint_size).map(String::as_str);
            let mut view = draw_view(row, &[], &[], note)?;
            // A list shows what was drawn and how; the population and results are in the draw.
            if let Some(object) = view.as_object_mut() {
                object.remove("members");
                object.remove("challenges");
                object.remove("verifications");
            }
            Ok(view)
        })
        .collect()
}

/// How long a missed challenge stays listed for a cadre, who may still answer it (late).
const MISSED_LISTED_MICROS: i64 = 7 * 24 * 3600 * 1_000_000;

/// A cadre's open challenges, oldest first, with the nonce their answer must carry; also those
/// missed in the last week, which can still be answered (the outcome is then `late`).
pub fn open_challenges_of(
    conn: &mut DbConnection,
    person: &str,
    now: i64,
) -> StorageResult<Vec<Value>> {
    let rows: Vec<ChallengeRow> = challenges::table
        .filter(challenges::person_id.eq(person))
        .filter(
            challenges::status.eq("open").or(challenges::status
                .eq("missed")
                .and(challenges::deadline.ge(now - MISSED_LISTED_MICROS))),
        )
        .order(challenges::issued_at.asc())
        .select(ChallengeRow::as_select())
        .load(conn)?;
    Ok(rows
        .iter()
        .map(|row| {
            let mut view = challenge_view(row);
            view["nonce"] = json!(row.nonce);
            view
        })
        .collect())
}

/// Filters for alerts; times are Unix microseconds, `to` exclusive.
#[derive(Debug, Default, Clone)]
pub struct AlertFilter {
    pub status: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub limit: i64,
}

/// Alerts scoped under `path`, newest first.
pub fn alerts(
    conn: &mut DbConnection,
    path: &str,
    filter: &AlertFilter,
) -> StorageResult<Vec<Value>> {
    let mut query = alerts::table
        .filter(
            alerts::unit_path
                .like(format!("{}%", like_escape(path)))
                .escape('\\'),
        )
        .into_boxed();
    if let Some(status) = &filter.status {
        query = query.filter(alerts::status.eq(status.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(alerts::created_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(alerts::created_at.lt(to));
    }
    type Ack = (Option<String>, Option<i64>, Option<String>, Option<i64>);
    let rows: Vec<(AlertRow, Ack)> = query
        .order((alerts::created_at.desc(), alerts::seq.desc()))
        .limit(filter.limit)
        .select((
            AlertRow::as_select(),
            (
                alerts::acked_by,
                alerts::acked_at,
                alerts::ack_note,
                alerts::ack_seq,
            ),
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(row, (by, at, note, seq))| {
            let ack = at.map(|at| json!({"by": by, "at": instant(at), "note": note, "seq": seq}));
            Ok(json!({
                "ack": ack,
                "id": row.id,
                "kind": row.kind,
                "status": row.status,
                "unit_code": row.unit_code,
                "person_id": row.person_id,
                "source_id": row.source_id,
                "seq": row.seq,
                "created_at": instant(row.created_at),
                "detail": stored_json("alert detail", &row.detail)?,
            }))
        })
        .collect()
}

/// For each of the records, the verifications that contest it.
pub(crate) fn contested_by(
    conn: &mut DbConnection,
    ids: &[String],
) -> StorageResult<HashMap<String, Vec<String>>> {
    let rows: Vec<(String, String)> = contests::table
        .filter(contests::record_id.eq_any(ids))
        .order(contests::seq.asc())
        .select((contests::record_id, contests::verification_id))
        .load(conn)?;
    let mut by_record: HashMap<String, Vec<String>> = HashMap::new();
    for (record, verification) in rows {
        by_record.entry(record).or_default().push(verification);
    }
    Ok(by_record)
}
