//! What one group reads from the database before it is judged: one query per need, whatever the
//! number of records.

use super::fixes::{known_fix, FIX_COLUMNS};
use super::{corrupt, stored_person_id, JudgeState, KnownRecord};
use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::schema::*;
use crate::stored::stored_answer;
use diesel::prelude::*;
use fieldtrail_domain::canonical::unix_micros;
use fieldtrail_domain::person::PersonId;
use fieldtrail_domain::record::{RecordBody, RecordSubmission};
use fieldtrail_domain::roster::{county_date, format_date, parse_date};

/// On PostgreSQL, the records with the given ids: the ids as a table to join, so that the plan
/// is an index lookup per id however many there are (`id = ANY(…)` over thousands of ids scans
/// the table). Planned afresh each time: a prepared statement's generic plan, made when the
/// tables were still empty, can stay a scan of `records` long after the table has grown.
struct PgRecordsById<'a> {
    ids: &'a [String],
}

impl diesel::query_builder::QueryId for PgRecordsById<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for PgRecordsById<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for PgRecordsById<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        out.unsafe_to_cache_prepared();
        out.push_sql(
            "SELECT r.id, r.person_id, r.kind, r.seq, r.content_hash, l.leaf_hash, \
             l.received_at, l.verdicts, p.salt, q.returned_on FROM unnest(",
        );
        out.push_bind_param::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(self.ids)?;
        out.push_sql(
            ") AS wanted (id) JOIN records r ON r.id = wanted.id \
             JOIN ledger l ON l.seq = r.seq \
             LEFT JOIN ledger_payloads p ON p.seq = r.seq \
             LEFT JOIN requests q ON q.record_id = r.id",
        );
        Ok(())
    }
}

impl RunQueryDsl<diesel::PgConnection> for PgRecordsById<'_> {}

/// A stored record as a group's prefetch reads it.
#[derive(Queryable, QueryableByName)]
struct PrefetchedRecord {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    person_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    content_hash: Vec<u8>,
    #[diesel(sql_type = diesel::sql_types::Binary)]
    leaf_hash: Vec<u8>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    received_at: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    verdicts: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Binary>)]
    salt: Option<Vec<u8>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    returned_on: Option<String>,
}

impl JudgeState {
    /// Reads what the group's records may refer to, once for the whole group: the records their
    /// ids (and the ids they refer to) already name, which of their attachments exist, and the
    /// previous fix of any record captured before everything its person's window holds.
    pub(crate) fn prefetch<'a>(
        &mut self,
        conn: &mut DbConnection,
        items: impl Iterator<Item = (PersonId, &'a RecordSubmission)>,
    ) -> StorageResult<()> {
        self.records.clear();
        self.attachments.clear();
        self.earlier_fixes.clear();
        self.earlier_duties.clear();
        let mut ids = Vec::new();
        let mut hashes = Vec::new();
        let mut earlier = Vec::new();
        let mut earlier_duty_days = Vec::new();
        for (person, submission) in items {
            if let RecordBody::Presence { .. } = submission.body {
                let day = county_date(submission.captured_at.at());
                if day < self.duty_horizon.0 {
                    earlier_duty_days.push((person, day));
                }
            }
            ids.push(submission.id.to_string());
            if let Some(target) = submission.refers_to() {
                ids.push(target.to_string());
            }
            hashes.extend(submission.attachments.iter().map(|h| h.to_hex()));
            if submission.fix().is_some() && !submission.kind.is_staff_record() {
                let at = unix_micros(submission.captured_at.at());
                if self.fixes.get(&person).is_some_and(|w| w.misses_before(at)) {
                    earlier.push((person, at));
                }
            }
        }
        if !ids.is_empty() {
            ids.sort_unstable();
            ids.dedup();
            let rows: Vec<PrefetchedRecord> = match conn {
                // The ids as a table to join, so that the plan is index lookups for each id
                // however many there are; `id = ANY(…)` over thousands of ids scans the table.
                DbConnection::Postgres(pg) => PgRecordsById { ids: &ids }.load(pg)?,
                DbConnection::Sqlite(_) => records::table
                    .inner_join(ledger::table.on(ledger::seq.eq(records::seq)))
                    .left_join(ledger_payloads::table.on(ledger_payloads::seq.eq(records::seq)))
                    .left_join(requests::table.on(requests::record_id.eq(records::id)))
                    .filter(records::id.eq_any(&ids))
                    .select((
                        records::id,
                        records::person_id,
                        records::kind,
                        records::seq,
                        records::content_hash,
                        ledger::leaf_hash,
                        ledger::received_at,
                        ledger::verdicts,
                        ledger_payloads::salt.nullable(),
                        requests::returned_on.nullable(),
                    ))
                    .load(conn)?,
            };
            for row in rows {
                let response = stored_answer(
                    &row.id,
                    &row.kind,
                    row.seq,
                    &row.leaf_hash,
                    row.received_at,
                    row.verdicts.as_deref(),
                )?;
                let record = KnownRecord {
                    person_id: row.person_id,
                    kind: row.kind,
                    content_hash: row.content_hash,
                    salt: row.salt,
                    response,
                    returned_on: row.returned_on,
                };
                self.records.insert(row.id, record);
            }
        }
        if !hashes.is_empty() {
            hashes.sort_unstable();
            hashes.dedup();
            let known: Vec<String> = attachments::table
                .filter(attachments::sha256.eq_any(&hashes))
                .select(attachments::sha256)
                .distinct()
                .load(conn)?;
            self.attachments.extend(known);
        }
        if !earlier_duty_days.is_empty() {
            // Rare too: a check-in from before the days the rota is kept for.
            let persons: Vec<String> = earlier_duty_days
                .iter()
                .map(|(p, _)| p.to_string())
                .collect();
            let days: Vec<String> = earlier_duty_days
                .iter()
                .map(|(_, d)| format_date(*d))
                .collect();
            let rows: Vec<(String, String, String)> = duties::table
                .filter(duties::person_id.eq_any(&persons))
                .filter(duties::day.eq_any(&days))
                .order(duties::seq.asc())
                .select((duties::person_id, duties::day, duties::record_id))
                .load(conn)?;
            for (person, day, record_id) in rows {
                let key = (
                    stored_person_id(&person)?,
                    parse_date(&day).map_err(|_| corrupt(format!("duty day {day}")))?,
                );
                if earlier_duty_days.contains(&key) {
                    self.earlier_duties.entry(key).or_insert(record_id);
                }
            }
        }
        for (person, at) in earlier {
            // Rare (a phone syncing records older than its person's whole window), so one
            // indexed read for each is cheaper than keeping every fix in memory.
            let row: Option<(i64, f64, f64, f64, f64, f64)> = fixes::table
                .inner_join(records::table.on(records::seq.eq(fixes::seq)))
                .filter(records::person_id.eq(person.to_string()))
                .filter(records::captured_at.le(at))
                .order(records::captured_at.desc())
                .select(FIX_COLUMNS)
                .first(conn)
                .optional()?;
            if let Some(row) = row {
                self.earlier_fixes.insert((person, at), known_fix(row)?);
            }
        }
        Ok(())
    }
}
