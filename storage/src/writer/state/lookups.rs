//! The group prefetch's two big lookups as single statements whatever the number of records: the
//! keys go in as one bound value (an array on PostgreSQL, a JSON array on SQLite) and are joined
//! as a table, so the plan is an index lookup per key. An `IN (…)` list of thousands of keys
//! would be SQL to parse again for every group on SQLite, and `= ANY(…)` becomes a scan of the
//! table on PostgreSQL; one query per key would be thousands of statements.

use super::fixes::StoredFix;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Binary, Nullable, Text, Untyped};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, QueryableByName, RunQueryDsl};
use fieldtrail_domain::person::PersonId;

/// Both lookups run as plain statements, not through the two-backend connection type.
macro_rules! untyped_query {
    ($name:ident $(<$lt:lifetime>)?) => {
        impl QueryId for $name$(<$lt>)? {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }
        impl Query for $name$(<$lt>)? {
            type SqlType = Untyped;
        }
        impl RunQueryDsl<diesel::PgConnection> for $name$(<$lt>)? {}
        impl RunQueryDsl<diesel::SqliteConnection> for $name$(<$lt>)? {}
    };
}

/// The stored records with the given ids, with what a group needs of each.
pub(super) struct RecordsById<'a> {
    ids: &'a [String],
    /// The same ids as a JSON array, for SQLite's `json_each`.
    ids_json: String,
}

impl<'a> RecordsById<'a> {
    pub(super) fn new(ids: &'a [String]) -> Self {
        RecordsById {
            ids,
            ids_json: serde_json::to_string(ids).unwrap_or_default(),
        }
    }
}

untyped_query!(RecordsById<'_>);

const RECORD_COLUMNS: &str = "SELECT r.id, r.person_id, r.kind, r.seq, r.content_hash, \
     l.leaf_hash, l.received_at, l.verdicts, p.salt, q.returned_on FROM ";
const RECORD_JOINS: &str = " JOIN ledger l ON l.seq = r.seq \
     LEFT JOIN ledger_payloads p ON p.seq = r.seq \
     LEFT JOIN requests q ON q.record_id = r.id";

impl QueryFragment<Pg> for RecordsById<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // A lookup per id, whatever the planner thinks of the table: left to join freely, it
        // merges thousands of ids with a scan of all of `records` (tens of milliseconds, and
        // more as the ledger grows). `OFFSET 0` keeps the LATERAL subquery from being pulled up
        // into such a join.
        out.push_sql("SELECT r.* FROM unnest(");
        out.push_bind_param::<Array<Text>, _>(self.ids)?;
        out.push_sql(") AS wanted (id) CROSS JOIN LATERAL (");
        out.push_sql(RECORD_COLUMNS);
        out.push_sql("records r");
        out.push_sql(RECORD_JOINS);
        out.push_sql(" WHERE r.id = wanted.id OFFSET 0) r");
        Ok(())
    }
}

impl QueryFragment<Sqlite> for RecordsById<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(RECORD_COLUMNS);
        out.push_sql("json_each(");
        out.push_bind_param::<Text, _>(&self.ids_json)?;
        out.push_sql(") AS wanted JOIN records r ON r.id = wanted.value");
        out.push_sql(RECORD_JOINS);
        Ok(())
    }
}

/// A stored record as [`RecordsById`] reads it.
#[derive(QueryableByName)]
pub(super) struct FoundRecord {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub person_id: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = Binary)]
    pub content_hash: Vec<u8>,
    #[diesel(sql_type = Binary)]
    pub leaf_hash: Vec<u8>,
    #[diesel(sql_type = BigInt)]
    pub received_at: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub verdicts: Option<String>,
    #[diesel(sql_type = Nullable<Binary>)]
    pub salt: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub returned_on: Option<String>,
}

/// For each (person, instant), the person's latest fix captured at or before it, found through
/// `records (person_id, captured_at)`: fixes have no index by person of their own.
pub(super) struct FixesBefore {
    persons: Vec<String>,
    instants: Vec<i64>,
    /// The same pairs as a JSON array of `[person, instant]`, for SQLite's `json_each`.
    pairs_json: String,
}

impl FixesBefore {
    pub(super) fn new(pairs: &[(PersonId, i64)]) -> Self {
        let persons: Vec<String> = pairs.iter().map(|(p, _)| p.to_string()).collect();
        let instants: Vec<i64> = pairs.iter().map(|(_, at)| *at).collect();
        let json: Vec<(&str, i64)> = persons
            .iter()
            .zip(&instants)
            .map(|(p, at)| (p.as_str(), *at))
            .collect();
        FixesBefore {
            pairs_json: serde_json::to_string(&json).unwrap_or_default(),
            persons,
            instants,
        }
    }
}

untyped_query!(FixesBefore);

const FIX_COLUMNS: &str = "f.captured_at, f.lon, f.lat, f.accuracy_m, f.sent_lon, f.sent_lat FROM ";
const FIX_LOOKUP: &str = " JOIN fixes f ON f.seq = (SELECT r.seq FROM records r \
     JOIN fixes g ON g.seq = r.seq WHERE r.person_id = w.p AND r.captured_at <= w.t \
     ORDER BY r.captured_at DESC LIMIT 1)";

impl QueryFragment<Pg> for FixesBefore {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // Planned afresh each time, as `RecordsById`.
        out.unsafe_to_cache_prepared();
        out.push_sql("SELECT w.i - 1 AS i, ");
        out.push_sql(FIX_COLUMNS);
        out.push_sql("unnest(");
        out.push_bind_param::<Array<Text>, _>(&self.persons)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<BigInt>, _>(&self.instants)?;
        out.push_sql(") WITH ORDINALITY AS w (p, t, i)");
        out.push_sql(FIX_LOOKUP);
        Ok(())
    }
}

impl QueryFragment<Sqlite> for FixesBefore {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("SELECT w.i AS i, ");
        out.push_sql(FIX_COLUMNS);
        out.push_sql(
            "(SELECT key AS i, json_extract(value, '$[0]') AS p, \
             json_extract(value, '$[1]') AS t FROM json_each(",
        );
        out.push_bind_param::<Text, _>(&self.pairs_json)?;
        out.push_sql(")) AS w");
        out.push_sql(FIX_LOOKUP);
        Ok(())
    }
}

/// One answer of [`FixesBefore`]: the index of its pair, and the fix.
#[derive(QueryableByName)]
pub(super) struct FixBefore {
    #[diesel(sql_type = BigInt)]
    pub i: i64,
    #[diesel(embed)]
    pub fix: StoredFix,
}
