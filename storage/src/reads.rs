//! Read queries over the projections. Callers run them on a pooled connection off the async
//! runtime; scope checks happen in the caller with the paths these return.

use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::models::*;
use crate::policies::{effective_view, load_policies_of};
use crate::schema::*;
use crate::stored::{path_codes, stored_answer};
use diesel::prelude::*;
use fieldtrail_domain::compliance::ResultFact;
use fieldtrail_domain::presence::PresenceDay;

use serde_json::{json, Map, Value};
use std::collections::HashMap;
use time::Date;

pub fn unit(conn: &mut DbConnection, code: &str) -> StorageResult<Option<UnitRow>> {
    Ok(units::table
        .find(code)
        .select(UnitRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn children(conn: &mut DbConnection, code: &str) -> StorageResult<Vec<UnitRow>> {
    Ok(units::table
        .filter(units::parent_code.eq(code))
        .order(units::code.asc())
        .select(UnitRow::as_select())
        .load(conn)?)
}

pub fn person(conn: &mut DbConnection, id: &str) -> StorageResult<Option<PersonRow>> {
    Ok(people::table
        .find(id)
        .select(PersonRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn person_by_username(
    conn: &mut DbConnection,
    username: &str,
) -> StorageResult<Option<PersonRow>> {
    Ok(people::table
        .filter(people::username.eq(username))
        .select(PersonRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn assignments_of(
    conn: &mut DbConnection,
    person_id: &str,
) -> StorageResult<Vec<AssignmentView>> {
    let rows: Vec<AssignmentRow> = assignments::table
        .filter(assignments::person_id.eq(person_id))
        .order(assignments::seq.asc())
        .select(AssignmentRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(AssignmentView::from).collect())
}

/// A stored record: its owner (for scope checks) and its full view.
pub struct StoredRecord {
    pub person_id: String,
    pub view: Value,
}

pub fn record(conn: &mut DbConnection, id: &str) -> StorageResult<Option<StoredRecord>> {
    let row: Option<RecordRow> = records::table
        .find(id)
        .select(RecordRow::as_select())
        .first(conn)
        .optional()?;
    match row {
        None => Ok(None),
        Some(row) => {
            let person_id = row.person_id.clone();
            let mut views = record_views(conn, vec![row])?;
            Ok(views.pop().map(|view| StoredRecord { person_id, view }))
        }
    }
}

/// Filters for a person's record history; times are Unix microseconds, bounds inclusive.
#[derive(Debug, Default, Clone)]
pub struct RecordFilter {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub kind: Option<String>,
    pub after_seq: Option<i64>,
    pub limit: i64,
}

/// One page of a person's records in ledger order, and the seq to continue after, if any.
pub fn records_of(
    conn: &mut DbConnection,
    person_id: &str,
    filter: &RecordFilter,
) -> StorageResult<(Vec<Value>, Option<i64>)> {
    // The page's seqs first, from the (person_id, captured_at) index alone (it holds the seq,
    // the row's key), then only those rows: a cadre's records are not read whole for a page.
    let mut query = records::table
        .filter(records::person_id.eq(person_id))
        .into_boxed();
    if let Some(from) = filter.from {
        query = query.filter(records::captured_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(records::captured_at.le(to));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(records::kind.eq(kind.clone()));
    }
    if let Some(after) = filter.after_seq {
        query = query.filter(records::seq.gt(after));
    }
    let mut seqs: Vec<i64> = query
        .order(records::seq.asc())
        .limit(filter.limit + 1)
        .select(records::seq)
        .load(conn)?;
    let more = seqs.len() as i64 > filter.limit;
    seqs.truncate(usize::try_from(filter.limit).unwrap_or(0));
    let rows: Vec<RecordRow> = records::table
        .filter(records::seq.eq_any(&seqs))
        .order(records::seq.asc())
        .select(RecordRow::as_select())
        .load(conn)?;
    let next = if more { seqs.last().copied() } else { None };
    Ok((record_views(conn, rows)?, next))
}

/// Payloads for the given seqs, in the same order; None where one has been purged.
fn payloads(conn: &mut DbConnection, seqs: &[i64]) -> StorageResult<Vec<Option<Value>>> {
    let found: HashMap<i64, Vec<u8>> = ledger_payloads::table
        .filter(ledger_payloads::seq.eq_any(seqs))
        .select((ledger_payloads::seq, ledger_payloads::payload))
        .load::<(i64, Vec<u8>)>(conn)?
        .into_iter()
        .collect();
    Ok(seqs
        .iter()
        .map(|seq| {
            found
                .get(seq)
                .and_then(|bytes| serde_json::from_slice(bytes).ok())
        })
        .collect())
}

/// The answers the records got when they were stored, rebuilt from their ledger entries.
fn answers(conn: &mut DbConnection, rows: &[RecordRow]) -> StorageResult<Vec<Value>> {
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    let entries: HashMap<i64, (Vec<u8>, i64, Option<String>)> = ledger::table
        .filter(ledger::seq.eq_any(&seqs))
        .select((
            ledger::seq,
            ledger::leaf_hash,
            ledger::received_at,
            ledger::verdicts,
        ))
        .load::<(i64, Vec<u8>, i64, Option<String>)>(conn)?
        .into_iter()
        .map(|(seq, leaf, received, verdicts)| (seq, (leaf, received, verdicts)))
        .collect();
    rows.iter()
        .map(|row| {
            let (leaf, received_at, verdicts) = entries.get(&row.seq).ok_or_else(|| {
                StorageError::Corrupt(format!("record {} has no ledger entry", row.id))
            })?;
            stored_answer(
                &row.id,
                &row.kind,
                row.seq,
                leaf,
                *received_at,
                verdicts.as_deref(),
            )
        })
        .collect()
}

/// Records as readers see them: the answer given at submission, the content as sent, and what
/// happened since (decisions, returns, corrections and disputes), all from projections.
fn record_views(conn: &mut DbConnection, rows: Vec<RecordRow>) -> StorageResult<Vec<Value>> {
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let contents = payloads(conn, &seqs)?;
    let stored_answers = answers(conn, &rows)?;
    let own_requests: Vec<RequestRow> = requests::table
        .filter(requests::record_id.eq_any(&ids))
        .select(RequestRow::as_select())
        .load(conn)?;
    let about: Vec<RequestRow> = requests::table
        .filter(requests::refers_to.eq_any(&ids))
        .order(requests::record_id.asc())
        .select(RequestRow::as_select())
        .load(conn)?;
    let about_seqs: Vec<(String, i64)> = records::table
        .filter(records::id.eq_any(about.iter().map(|r| r.record_id.clone())))
        .select((records::id, records::seq))
        .load(conn)?;
    let about_payloads = payloads(
        conn,
        &about_seqs.iter().map(|(_, seq)| *seq).collect::<Vec<_>>(),
    )?;
    let about_content: HashMap<&str, Value> = about_seqs
        .iter()
        .zip(about_payloads)
        .map(|((id, _), payload)| (id.as_str(), payload.unwrap_or(Value::Null)))
        .collect();
    let mut contested = crate::spot_checks::contested_by(conn, &ids)?;
    let mut views = Vec::with_capacity(rows.len());
    for ((row, payload), answer) in rows.into_iter().zip(contents).zip(stored_answers) {
        let contested_by = contested.remove(&row.id);
        let own = own_requests.iter().find(|r| r.record_id == row.id);
        let related: Vec<&RequestRow> = about
            .iter()
            .filter(|r| r.refers_to.as_deref() == Some(&row.id))
            .collect();
        let mut view = record_view(row, answer, payload, own, &related, &about_content);
        if let (Some(by), Value::Object(fields)) = (contested_by, &mut view) {
            // Denied by the household in a spot-check verification: shown, never hidden.
            fields.insert("contested_by".into(), json!(by));
        }
        views.push(view);
    }
    Ok(views)
}

fn record_view(
    row: RecordRow,
    answer: Value,
    payload: Option<Value>,
    own: Option<&RequestRow>,
    related: &[&RequestRow],
    related_content: &HashMap<&str, Value>,
) -> Value {
    let mut view: Map<String, Value> = match answer {
        Value::Object(answer) => answer,
        _ => Map::new(),
    };
    view.insert("person_id".into(), Value::String(row.person_id.clone()));
    view.insert("kind".into(), Value::String(row.kind.clone()));
    let content = payload.unwrap_or(Value::Null);
    // The content as sent; after a purge only the fields' names remain, as nulls.
    for field in ["captured_at", "position", "device_id", "note"] {
        view.insert(
            field.into(),
            content.get(field).cloned().unwrap_or(Value::Null),
        );
    }
    if let Some(object) = content.as_object() {
        for (key, value) in object {
            match key.as_str() {
                "id" | "kind" => {}
                // A duty entry names the cadre on duty; the record's person is who entered it.
                "person_id" if row.kind == "duty" => {
                    view.insert("duty_person_id".into(), value.clone());
                }
                // A note is entered by a supervisor about the cadre it names.
                "person_id" if row.kind == "note" => {
                    view.insert("about_person_id".into(), value.clone());
                }
                _ => {
                    view.insert(key.clone(), value.clone());
                }
            }
        }
    }
    if let Some(request) = own {
        view.insert("status".into(), json!(request.status));
        view.insert("decision".into(), request.decision_view());
        if request.kind == "leave_request" {
            view.insert("returned_on".into(), json!(request.returned_on));
        }
    }
    let listed = |kind: &str| -> Vec<Value> {
        related
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| {
                let content = related_content.get(r.record_id.as_str());
                let field = |name: &str| {
                    content
                        .and_then(|c| c.get(name))
                        .cloned()
                        .unwrap_or(Value::Null)
                };
                let mut item = json!({
                    "id": r.record_id,
                    "status": r.status,
                    "reason": field("reason"),
                    "decision": r.decision_view(),
                });
                if kind == "correction" {
                    item["corrected"] = field("corrected");
                }
                item
            })
            .collect()
    };
    view.insert("amended_by".into(), Value::Array(listed("correction")));
    view.insert("disputed_by".into(), Value::Array(listed("dispute")));
    let effective_correction = related
        .iter()
        .filter(|r| r.kind == "correction" && r.status == "approved")
        .max_by_key(|r| r.decision_seq);
    let mut effective = json!({
        "captured_at": view.get("captured_at").cloned().unwrap_or(Value::Null),
        "position": view.get("position").cloned().unwrap_or(Value::Null),
        "verdict": view.get("verdict").cloned().unwrap_or(Value::Null),
        "correction_id": null,
    });
    if let Some(correction) = effective_correction {
        let corrected = related_content
            .get(correction.record_id.as_str())
            .and_then(|c| c.get("corrected"))
            .cloned()
            .unwrap_or(Value::Null);
        effective["correction_id"] = json!(correction.record_id);
        if let Some(at) = corrected.get("captured_at") {
            effective["captured_at"] = at.clone();
        }
        if let Some(position) = corrected.get("position") {
            effective["position"] = position.clone();
            effective["verdict"]["geo"] = json!(correction.corrected_geo);
        }
    }
    view.insert("effective".into(), effective);
    Value::Object(view)
}

/// Pairings of a person, oldest first.
pub fn pairings_of(conn: &mut DbConnection, person_id: &str) -> StorageResult<Vec<Value>> {
    let rows: Vec<PairingRow> = pairings::table
        .filter(pairings::person_id.eq(person_id))
        .order(pairings::seq.asc())
        .select(PairingRow::as_select())
        .load(conn)?;
    Ok(rows.iter().map(PairingRow::to_view).collect())
}

/// Everyone who uploaded the photo with this hash, first uploader first.
pub fn attachment_uploads(
    conn: &mut DbConnection,
    sha256: &str,
) -> StorageResult<Vec<AttachmentRow>> {
    Ok(attachments::table
        .filter(attachments::sha256.eq(sha256))
        .order(attachments::uploaded_at.asc())
        .select(AttachmentRow::as_select())
        .load(conn)?)
}

/// Every photo that has an upload row: the files the attachments directory should keep.
pub fn attachment_hashes(
    conn: &mut DbConnection,
) -> StorageResult<std::collections::HashSet<String>> {
    Ok(attachments::table
        .select(attachments::sha256)
        .distinct()
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// Notes an upload (the file is already stored); false when the photo was known before.
pub fn note_attachment(conn: &mut DbConnection, row: &AttachmentRow) -> StorageResult<bool> {
    let known = attachment_uploads(conn, &row.sha256)?;
    if known.iter().any(|k| k.uploaded_by == row.uploaded_by) {
        return Ok(false);
    }
    let inserted = diesel::insert_into(attachments::table)
        .values(row)
        .execute(conn);
    match inserted {
        Ok(_) => Ok(known.is_empty()),
        // The same person sending the same photo twice at once: the other request noted it.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// One person's presence, day by day, from the records they sent and the decisions on them,
/// and the spot-check results concerning them captured in the range.
pub fn presence(
    conn: &mut DbConnection,
    person_id: &str,
    from: Date,
    to: Date,
) -> StorageResult<(Vec<PresenceDay>, Vec<ResultFact>)> {
    use crate::supervision::facts::{load, Depth};
    let mut facts = load(conn, &[person_id.to_owned()], from, to, Depth::Presence)?;
    Ok(facts
        .cadres
        .pop()
        .map(|cadre| (cadre.presence, cadre.results))
        .unwrap_or_default())
}

/// How many entries the ledger holds.
pub fn ledger_size(conn: &mut DbConnection) -> StorageResult<i64> {
    crate::merkle::ledger_size(conn)
}

/// The effective policy of a unit, where each value comes from, and the unit's own overrides.
pub fn policy_view(conn: &mut DbConnection, code: &str) -> StorageResult<Option<Value>> {
    let Some(unit) = unit(conn, code)? else {
        return Ok(None);
    };
    let codes: Vec<String> = path_codes(&unit.path).map(str::to_owned).collect();
    let (cache, seqs) = load_policies_of(conn, &codes)?;
    let own_seq = seqs.get(&unit.code).copied();
    Ok(Some(effective_view(
        &cache,
        &unit.code,
        &unit.path,
        unit.tolerance_m,
        own_seq,
    )))
}

/// The policy in force now at the unit with this stored path.
pub fn policy_at_path(
    conn: &mut DbConnection,
    path: &str,
) -> StorageResult<fieldtrail_domain::policy::Policy> {
    let codes: Vec<String> = path_codes(path).map(str::to_owned).collect();
    let (cache, _) = load_policies_of(conn, &codes)?;
    Ok(crate::policies::resolve_path(&cache, path).policy)
}

/// Audited reads, newest first: of one person's data and/or by one reader, in `[from, to)`.
pub fn read_audits(
    conn: &mut DbConnection,
    person: Option<&str>,
    actor: Option<&str>,
    from: Option<i64>,
    to: Option<i64>,
    limit: i64,
) -> StorageResult<Vec<Value>> {
    let mut query = read_audits::table.into_boxed();
    if let Some(person) = person {
        query = query.filter(read_audits::person_id.eq(person.to_owned()));
    }
    if let Some(actor) = actor {
        query = query.filter(read_audits::actor_id.eq(actor.to_owned()));
    }
    if let Some(from) = from {
        query = query.filter(read_audits::read_at.ge(from));
    }
    if let Some(to) = to {
        query = query.filter(read_audits::read_at.lt(to));
    }
    type Row = (
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
        i64,
    );
    let rows: Vec<Row> = query
        .order(read_audits::seq.desc())
        .limit(limit)
        .select((
            read_audits::seq,
            read_audits::actor_id,
            read_audits::actor_role,
            read_audits::person_id,
            read_audits::unit_code,
            read_audits::what,
            read_audits::reason,
            read_audits::read_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(seq, actor, role, person, unit, what, reason, at)| {
            json!({
                "seq": seq, "actor_id": actor, "actor_role": role, "person_id": person,
                "unit_code": unit, "what": what, "reason": reason,
                "read_at": crate::stored::instant(at),
            })
        })
        .collect())
}

/// Whether a token was given back at logout.
pub fn token_revoked(conn: &mut DbConnection, jti: &str) -> StorageResult<bool> {
    let count: i64 = revoked_tokens::table
        .filter(revoked_tokens::jti.eq(jti))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}
