//! Read queries over the projections. Callers run them on a pooled connection off the async
//! runtime; scope checks happen in the caller with the paths these return.

use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::models::*;
use crate::schema::*;
use diesel::prelude::*;
use serde_json::{Map, Value};

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
            let payload = payloads(conn, &[row.seq])?.pop().flatten();
            Ok(Some(StoredRecord {
                person_id: row.person_id.clone(),
                view: record_view(row, payload),
            }))
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
    let mut rows: Vec<RecordRow> = query
        .order(records::seq.asc())
        .limit(filter.limit + 1)
        .select(RecordRow::as_select())
        .load(conn)?;
    let more = rows.len() as i64 > filter.limit;
    rows.truncate(usize::try_from(filter.limit).unwrap_or(0));
    let next = if more {
        rows.last().map(|r| r.seq)
    } else {
        None
    };
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    let payloads = payloads(conn, &seqs)?;
    let views = rows
        .into_iter()
        .zip(payloads)
        .map(|(row, payload)| record_view(row, payload))
        .collect();
    Ok((views, next))
}

/// Payloads for the given seqs, in the same order; None where one has been purged.
fn payloads(conn: &mut DbConnection, seqs: &[i64]) -> StorageResult<Vec<Option<Value>>> {
    let found: Vec<(i64, Vec<u8>)> = ledger_payloads::table
        .filter(ledger_payloads::seq.eq_any(seqs))
        .select((ledger_payloads::seq, ledger_payloads::payload))
        .load(conn)?;
    Ok(seqs
        .iter()
        .map(|seq| {
            found
                .iter()
                .find(|(s, _)| s == seq)
                .and_then(|(_, bytes)| serde_json::from_slice(bytes).ok())
        })
        .collect())
}

/// The record as stored at submission (the response) with its content from the payload.
fn record_view(row: RecordRow, payload: Option<Value>) -> Value {
    let mut view: Map<String, Value> = serde_json::from_str(&row.response).unwrap_or_default();
    view.insert("person_id".into(), Value::String(row.person_id));
    view.insert("kind".into(), Value::String(row.kind));
    let content = payload.unwrap_or(Value::Null);
    for field in ["captured_at", "position", "device_id", "note"] {
        view.insert(
            field.into(),
            content.get(field).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(view)
}

/// How many entries the ledger holds.
pub fn ledger_size(conn: &mut DbConnection) -> StorageResult<i64> {
    crate::writer::current_size(conn)
}
