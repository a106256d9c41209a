//! What one group reads from the database before it is judged: one query per need, whatever the
//! number of records (see [`super::lookups`]).

use super::lookups::{FixBefore, FixesBefore, FoundRecord, RecordsById};
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
            let query = RecordsById::new(&ids);
            let rows: Vec<FoundRecord> = match conn {
                DbConnection::Postgres(pg) => query.load(pg)?,
                DbConnection::Sqlite(lite) => query.load(lite)?,
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
                    response: std::sync::Arc::new(response),
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
        if !earlier.is_empty() {
            // Records captured before everything their person's window holds (a phone syncing
            // old records after newer ones): the fix before each, all in one query.
            earlier.sort_unstable();
            earlier.dedup();
            let query = FixesBefore::new(&earlier);
            let rows: Vec<FixBefore> = match conn {
                DbConnection::Postgres(pg) => query.load(pg)?,
                DbConnection::Sqlite(lite) => query.load(lite)?,
            };
            for row in rows {
                let key = usize::try_from(row.i)
                    .ok()
                    .and_then(|i| earlier.get(i))
                    .ok_or_else(|| corrupt("a previous fix answered for no record"))?;
                self.earlier_fixes.insert(*key, row.fix.known()?);
            }
        }
        Ok(())
    }
}
