//! The rows a commit group writes. They are collected while the group is judged and written
//! at the end with one multi-row INSERT per table.
//!
//! On SQLite rows go out in chunks of fixed sizes (powers of two up to [`MAX_CHUNK`]), each chunk
//! size of each table a statement type of its own: the connection keeps every one prepared and
//! finds it by its type, so no SQL is built, hashed or parsed again group after group. The
//! inserts are `OR FAIL`: a failing row stops the statement without undoing the rows before it,
//! which spares SQLite a statement journal per INSERT (any failure rolls the whole group back
//! anyway, or the request's savepoint). On PostgreSQL see `pg_columns!`.

use super::webhooks::{outbox, Subscription};
use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::models::*;
use crate::schema::*;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Binary, Double, Integer, Nullable, Text};
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

/// Most rows in one INSERT statement (SQLite allows 32,766 bound values, PostgreSQL 65,535).
const MAX_CHUNK: usize = 256;

/// A row of one table, as the values of an INSERT.
pub(crate) trait BulkRow {
    const TABLE: &'static str;
    const COLUMNS: &'static str;
    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()>;
}

/// Binds each value in turn, comma-separated.
macro_rules! values {
    ($out:ident; $first_ty:ty => $first:expr $(, $ty:ty => $value:expr)* $(,)?) => {{
        $out.push_bind_param::<$first_ty, _>($first)?;
        $(
            $out.push_sql(", ");
            $out.push_bind_param::<$ty, _>($value)?;
        )*
        Ok(())
    }};
}

impl BulkRow for LedgerRow {
    const TABLE: &'static str = "ledger";
    const COLUMNS: &'static str =
        "seq, entry_id, kind, actor, unit_code, captured_at, received_at, body, leaf_hash, verdicts";
    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        values!(out;
            BigInt => &self.seq,
            Text => &self.entry_id,
            Text => &self.kind,
            Nullable<Text> => &self.actor,
            Nullable<Text> => &self.unit_code,
            BigInt => &self.captured_at,
            BigInt => &self.received_at,
            Binary => &self.body,
            Binary => &self.leaf_hash,
            Nullable<Text> => &self.verdicts,
        )
    }
}

impl BulkRow for PayloadRow {
    const TABLE: &'static str = "ledger_payloads";
    const COLUMNS: &'static str = "seq, salt, payload";
    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        values!(out; BigInt => &self.seq, Binary => &self.salt, Binary => &self.payload)
    }
}

/// One stored perfect subtree of the Merkle tree.
#[derive(Insertable)]
#[diesel(table_name = merkle_nodes, treat_none_as_default_value = false)]
pub(crate) struct NodeRow {
    pub level: i32,
    pub idx: i64,
    pub hash: Vec<u8>,
}

impl BulkRow for NodeRow {
    const TABLE: &'static str = "merkle_nodes";
    const COLUMNS: &'static str = "level, idx, hash";
    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        values!(out; Integer => &self.level, BigInt => &self.idx, Binary => &self.hash)
    }
}

impl BulkRow for RecordRow {
    const TABLE: &'static str = "records";
    const COLUMNS: &'static str =
        "id, person_id, kind, seq, captured_at, content_hash, unit_code, \
         actual_unit_code, geo, roster, refers_to";
    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        values!(out;
            Text => &self.id,
            Text => &self.person_id,
            Text => &self.kind,
            BigInt => &self.seq,
            BigInt => &self.captured_at,
            Binary => &self.content_hash,
            Nullable<Text> => &self.unit_code,
            Nullable<Text> => &self.actual_unit_code,
            Text => &self.geo,
            Text => &self.roster,
            Nullable<Text> => &self.refers_to,
        )
    }
}

impl BulkRow for FixRow {
    const TABLE: &'static str = "fixes";
    const COLUMNS: &'static str =
        "seq, record_id, person_id, captured_at, lon, lat, sent_lon, sent_lat, accuracy_m";
    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        values!(out;
            BigInt => &self.seq,
            Text => &self.record_id,
            Text => &self.person_id,
            BigInt => &self.captured_at,
            Double => &self.lon,
            Double => &self.lat,
            Double => &self.sent_lon,
            Double => &self.sent_lat,
            Double => &self.accuracy_m,
        )
    }
}

/// The phone bound to a person from this entry on.
#[derive(Insertable)]
#[diesel(table_name = device_bindings, treat_none_as_default_value = false)]
pub(crate) struct BindingRow {
    pub seq: i64,
    pub person_id: String,
    pub device_id: String,
}

impl BulkRow for BindingRow {
    const TABLE: &'static str = "device_bindings";
    const COLUMNS: &'static str = "seq, person_id, device_id";
    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        values!(out; BigInt => &self.seq, Text => &self.person_id, Text => &self.device_id)
    }
}

impl BulkRow for RequestRow {
    const TABLE: &'static str = "requests";
    const COLUMNS: &'static str = "record_id, person_id, kind, refers_to, date_from, date_to, \
         corrected_at, corrected_geo, status, decision_seq, decided_by, decided_at, \
         decision_note, returned_on";
    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        values!(out;
            Text => &self.record_id,
            Text => &self.person_id,
            Text => &self.kind,
            Nullable<Text> => &self.refers_to,
            Nullable<Text> => &self.date_from,
            Nullable<Text> => &self.date_to,
            Nullable<BigInt> => &self.corrected_at,
            Nullable<Text> => &self.corrected_geo,
            Text => &self.status,
            Nullable<BigInt> => &self.decision_seq,
            Nullable<Text> => &self.decided_by,
            Nullable<BigInt> => &self.decided_at,
            Nullable<Text> => &self.decision_note,
            Nullable<Text> => &self.returned_on,
        )
    }
}

impl BulkRow for DutyRow {
    const TABLE: &'static str = "duties";
    const COLUMNS: &'static str = "record_id, person_id, unit_code, day, seq";
    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        values!(out;
            Text => &self.record_id,
            Text => &self.person_id,
            Text => &self.unit_code,
            Text => &self.day,
            BigInt => &self.seq,
        )
    }
}

impl BulkRow for VisitRow {
    const TABLE: &'static str = "visits";
    const COLUMNS: &'static str = "seq, household_id, person_id, captured_at";
    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        values!(out;
            BigInt => &self.seq,
            Text => &self.household_id,
            Text => &self.person_id,
            BigInt => &self.captured_at,
        )
    }
}

impl BulkRow for AlertRow {
    const TABLE: &'static str = "alerts";
    const COLUMNS: &'static str =
        "id, seq, kind, unit_code, unit_path, person_id, source_id, status, created_at, detail";
    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        values!(out;
            Text => &self.id,
            BigInt => &self.seq,
            Text => &self.kind,
            Nullable<Text> => &self.unit_code,
            Text => &self.unit_path,
            Nullable<Text> => &self.person_id,
            Text => &self.source_id,
            Text => &self.status,
            BigInt => &self.created_at,
            Text => &self.detail,
        )
    }
}

impl BulkRow for FlagRow {
    const TABLE: &'static str = "record_flags";
    const COLUMNS: &'static str = "seq, person_id, captured_at, flags";
    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        values!(out;
            BigInt => &self.seq,
            Text => &self.person_id,
            BigInt => &self.captured_at,
            Text => &self.flags,
        )
    }
}

impl BulkRow for NoteRow {
    const TABLE: &'static str = "notes";
    const COLUMNS: &'static str = "record_id, seq, person_id, author_id, category, captured_at";
    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        values!(out;
            Text => &self.record_id,
            BigInt => &self.seq,
            Text => &self.person_id,
            Text => &self.author_id,
            Text => &self.category,
            BigInt => &self.captured_at,
        )
    }
}

/// `INSERT OR FAIL INTO <table> (<columns>) VALUES (…), (…), …` for exactly `N` rows.
struct InsertRows<'a, R, const N: usize> {
    rows: &'a [R],
}

/// What the statement cache knows an [`InsertRows`] by: its table's row type and its size.
struct InsertRowsId<R, const N: usize>(std::marker::PhantomData<R>);

impl<R: 'static, const N: usize> QueryId for InsertRows<'_, R, N> {
    type QueryId = InsertRowsId<R, N>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<R: BulkRow, const N: usize> QueryFragment<Sqlite> for InsertRows<'_, R, N> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("INSERT OR FAIL INTO ");
        out.push_sql(R::TABLE);
        out.push_sql(" (");
        out.push_sql(R::COLUMNS);
        out.push_sql(") VALUES ");
        for (i, row) in self.rows.iter().enumerate() {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_sql("(");
            row.push_values(&mut out)?;
            out.push_sql(")");
        }
        Ok(())
    }
}

impl<R, const N: usize> RunQueryDsl<diesel::SqliteConnection> for InsertRows<'_, R, N> {}

/// Inserts all rows, largest chunks first: n rows cost at most one statement per set bit of n
/// below [`MAX_CHUNK`], plus one per full chunk.
fn insert_all<R: BulkRow + 'static>(
    conn: &mut diesel::SqliteConnection,
    rows: &[R],
) -> StorageResult<()> {
    fn exec<R: BulkRow + 'static, const N: usize>(
        conn: &mut diesel::SqliteConnection,
        rows: &[R],
    ) -> QueryResult<usize> {
        InsertRows::<R, N> { rows }.execute(conn)
    }
    let mut rest = rows;
    while !rest.is_empty() {
        let size = if rest.len() >= MAX_CHUNK {
            MAX_CHUNK
        } else {
            1 << rest.len().ilog2()
        };
        let (chunk, tail) = rest.split_at(size);
        match size {
            256 => exec::<R, 256>(conn, chunk),
            128 => exec::<R, 128>(conn, chunk),
            64 => exec::<R, 64>(conn, chunk),
            32 => exec::<R, 32>(conn, chunk),
            16 => exec::<R, 16>(conn, chunk),
            8 => exec::<R, 8>(conn, chunk),
            4 => exec::<R, 4>(conn, chunk),
            2 => exec::<R, 2>(conn, chunk),
            _ => exec::<R, 1>(conn, chunk),
        }?;
        rest = tail;
    }
    Ok(())
}

/// On PostgreSQL, a table's rows as one `INSERT … SELECT * FROM unnest($1, $2, …)`: one bound
/// array per column, so the statement is the same whatever the row count. (COPY costs two round
/// trips and a setup for each table, which outweighed its per-row speed at the group sizes
/// single requests make.) The tables' inserts go out together as a [`PgGroupInsert`].
macro_rules! pg_columns {
    ($row:ty, $name:ident, $table:literal, [$($column:ident: $ty:ty),+ $(,)?]) => {
        struct $name<'a> {
            $($column: Vec<&'a <$ty as PgArrayElement>::Rust>,)+
        }

        impl<'a> $name<'a> {
            fn of(rows: &'a [$row]) -> Self {
                $name {
                    $($column: rows.iter().map(|row| &row.$column).collect(),)+
                }
            }
        }

        impl QueryId for $name<'_> {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }

        impl QueryFragment<diesel::pg::Pg> for $name<'_> {
            fn walk_ast<'b>(
                &'b self,
                mut out: AstPass<'_, 'b, diesel::pg::Pg>,
            ) -> QueryResult<()> {
                out.push_sql(concat!(
                    "INSERT INTO ", $table, " (",
                    pg_columns!(@names $($column),+),
                    ") SELECT * FROM unnest("
                ));
                let mut first = true;
                $(
                    if !first {
                        out.push_sql(", ");
                    }
                    first = false;
                    out.push_bind_param::<diesel::sql_types::Array<$ty>, _>(&self.$column)?;
                )+
                let _ = first;
                out.push_sql(")");
                Ok(())
            }
        }

    };
    (@names $first:ident $(, $rest:ident)*) => {
        concat!(stringify!($first) $(, ", ", stringify!($rest))*)
    };
}

/// How a column's Rust value is bound as an element of a PostgreSQL array.
trait PgArrayElement {
    type Rust: ?Sized;
}
impl PgArrayElement for BigInt {
    type Rust = i64;
}
impl PgArrayElement for Integer {
    type Rust = i32;
}
impl PgArrayElement for Double {
    type Rust = f64;
}
impl PgArrayElement for Text {
    type Rust = String;
}
impl PgArrayElement for Binary {
    type Rust = Vec<u8>;
}
impl<T: PgArrayElement> PgArrayElement for Nullable<T>
where
    T::Rust: Sized,
{
    type Rust = Option<T::Rust>;
}

pg_columns!(LedgerRow, LedgerColumns, "ledger", [
    seq: BigInt,
    entry_id: Text,
    kind: Text,
    actor: Nullable<Text>,
    unit_code: Nullable<Text>,
    captured_at: BigInt,
    received_at: BigInt,
    body: Binary,
    leaf_hash: Binary,
    verdicts: Nullable<Text>,
]);
pg_columns!(PayloadRow, PayloadColumns, "ledger_payloads", [
    seq: BigInt,
    salt: Binary,
    payload: Binary,
]);
pg_columns!(NodeRow, NodeColumns, "merkle_nodes", [level: Integer, idx: BigInt, hash: Binary]);
pg_columns!(RecordRow, RecordColumns, "records", [
    id: Text,
    person_id: Text,
    kind: Text,
    seq: BigInt,
    captured_at: BigInt,
    content_hash: Binary,
    unit_code: Nullable<Text>,
    actual_unit_code: Nullable<Text>,
    geo: Text,
    roster: Text,
    refers_to: Nullable<Text>,
]);
pg_columns!(FixRow, FixColumns, "fixes", [
    seq: BigInt,
    record_id: Text,
    person_id: Text,
    captured_at: BigInt,
    lon: Double,
    lat: Double,
    sent_lon: Double,
    sent_lat: Double,
    accuracy_m: Double,
]);
pg_columns!(BindingRow, BindingColumns, "device_bindings", [
    seq: BigInt,
    person_id: Text,
    device_id: Text,
]);
pg_columns!(RequestRow, RequestColumns, "requests", [
    record_id: Text,
    person_id: Text,
    kind: Text,
    refers_to: Nullable<Text>,
    date_from: Nullable<Text>,
    date_to: Nullable<Text>,
    corrected_at: Nullable<BigInt>,
    corrected_geo: Nullable<Text>,
    status: Text,
    decision_seq: Nullable<BigInt>,
    decided_by: Nullable<Text>,
    decided_at: Nullable<BigInt>,
    decision_note: Nullable<Text>,
    returned_on: Nullable<Text>,
]);
pg_columns!(VisitRow, VisitColumns, "visits", [
    seq: BigInt,
    household_id: Text,
    person_id: Text,
    captured_at: BigInt,
]);
pg_columns!(DutyRow, DutyColumns, "duties", [
    record_id: Text,
    person_id: Text,
    unit_code: Text,
    day: Text,
    seq: BigInt,
]);

pg_columns!(FlagRow, FlagColumns, "record_flags", [
    seq: BigInt,
    person_id: Text,
    captured_at: BigInt,
    flags: Text,
]);

pg_columns!(AlertRow, AlertColumns, "alerts", [
    id: Text,
    seq: BigInt,
    kind: Text,
    unit_code: Nullable<Text>,
    unit_path: Text,
    person_id: Nullable<Text>,
    source_id: Text,
    status: Text,
    created_at: BigInt,
    detail: Text,
]);

/// On PostgreSQL, all of a group's inserts as one statement: each table's `INSERT … SELECT *
/// FROM unnest(…)` a data-modifying `WITH` part, the last one the statement's own. One round
/// trip for the whole group instead of one per table, and one prepared statement whatever the
/// rows (a table without rows gets empty arrays).
struct PgGroupInsert<'a> {
    ledger: LedgerColumns<'a>,
    payloads: PayloadColumns<'a>,
    nodes: NodeColumns<'a>,
    records: RecordColumns<'a>,
    fixes: FixColumns<'a>,
    bindings: BindingColumns<'a>,
    requests: RequestColumns<'a>,
    duties: DutyColumns<'a>,
    flags: FlagColumns<'a>,
    alerts: AlertColumns<'a>,
    visits: VisitColumns<'a>,
}

impl<'a> PgGroupInsert<'a> {
    fn of(rows: &'a GroupRows) -> Self {
        PgGroupInsert {
            ledger: LedgerColumns::of(&rows.ledger),
            payloads: PayloadColumns::of(&rows.payloads),
            nodes: NodeColumns::of(&rows.nodes),
            records: RecordColumns::of(&rows.records),
            fixes: FixColumns::of(&rows.fixes),
            bindings: BindingColumns::of(&rows.bindings),
            requests: RequestColumns::of(&rows.requests),
            duties: DutyColumns::of(&rows.duties),
            flags: FlagColumns::of(&rows.flags),
            alerts: AlertColumns::of(&rows.alerts),
            visits: VisitColumns::of(&rows.visits),
        }
    }
}

impl QueryId for PgGroupInsert<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<diesel::pg::Pg> for PgGroupInsert<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        let parts: [&dyn QueryFragment<diesel::pg::Pg>; 10] = [
            &self.ledger,
            &self.payloads,
            &self.nodes,
            &self.records,
            &self.fixes,
            &self.bindings,
            &self.requests,
            &self.duties,
            &self.flags,
            &self.alerts,
        ];
        for (i, part) in parts.into_iter().enumerate() {
            out.push_sql(if i == 0 { "WITH " } else { ", " });
            out.push_sql(&format!("w{i} AS ("));
            part.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        out.push_sql(" ");
        self.visits.walk_ast(out.reborrow())
    }
}

impl RunQueryDsl<diesel::PgConnection> for PgGroupInsert<'_> {}

/// A leave request the cadre has come back from.
pub(crate) struct ReturnRow {
    pub leave_id: String,
    pub returned_on: String,
}

/// Everything a group (or, when retrying one by one, a request) has to write.
#[derive(Default)]
pub(crate) struct GroupRows {
    pub ledger: Vec<LedgerRow>,
    pub payloads: Vec<PayloadRow>,
    pub nodes: Vec<NodeRow>,
    pub records: Vec<RecordRow>,
    pub fixes: Vec<FixRow>,
    pub bindings: Vec<BindingRow>,
    pub requests: Vec<RequestRow>,
    pub duties: Vec<DutyRow>,
    pub visits: Vec<VisitRow>,
    pub flags: Vec<FlagRow>,
    /// Alerts the group's records raise, in the same transaction as the records.
    pub alerts: Vec<AlertRow>,
    pub notes: Vec<NoteRow>,
    /// Photos the group's records name; rare, so a statement of their own when there are any.
    pub attachment_refs: Vec<AttachmentRefRow>,
    pub returns: Vec<ReturnRow>,
}

impl GroupRows {
    /// Writes and forgets every row, in an order the foreign keys accept (payloads after their
    /// entries; leave returns after the requests they update).
    /// `hooks` are the live webhooks: each alert gets its outbox rows in the same transaction.
    pub(crate) fn write(
        &mut self,
        conn: &mut DbConnection,
        hooks: &[Subscription],
    ) -> StorageResult<()> {
        let result = self.write_all(conn, hooks);
        self.clear();
        result
    }

    fn write_all(&self, conn: &mut DbConnection, hooks: &[Subscription]) -> StorageResult<()> {
        match conn {
            DbConnection::Postgres(pg) => {
                if !self.ledger.is_empty() {
                    PgGroupInsert::of(self).execute(pg)?;
                }
                // Notes are rare (a supervisor's, now and then): their own statement, only when
                // there are any. Flags are in the group's statement: most groups have a flagged
                // record, and a round trip of its own per group cost single-record ingest 13 %.
                for chunk in self.notes.chunks(1_000) {
                    diesel::insert_into(notes::table)
                        .values(chunk)
                        .execute(pg)?;
                }
            }
            DbConnection::Sqlite(lite) => {
                insert_all(lite, &self.ledger)?;
                insert_all(lite, &self.payloads)?;
                insert_all(lite, &self.nodes)?;
                insert_all(lite, &self.records)?;
                insert_all(lite, &self.fixes)?;
                insert_all(lite, &self.bindings)?;
                insert_all(lite, &self.requests)?;
                insert_all(lite, &self.duties)?;
                insert_all(lite, &self.visits)?;
                insert_all(lite, &self.flags)?;
                insert_all(lite, &self.alerts)?;
                insert_all(lite, &self.notes)?;
            }
        }
        for reference in &self.attachment_refs {
            diesel::insert_into(record_attachments::table)
                .values(reference)
                .execute(conn)?;
        }
        // Only when webhooks are registered: a statement of its own, and no cost otherwise.
        let deliveries = outbox(&self.alerts, hooks)?;
        for delivery in &deliveries {
            diesel::insert_into(webhook_deliveries::table)
                .values(delivery)
                .execute(conn)?;
        }
        for row in &self.returns {
            diesel::update(requests::table.find(&row.leave_id))
                .set(requests::returned_on.eq(&row.returned_on))
                .execute(conn)?;
        }
        Ok(())
    }

    pub(crate) fn clear(&mut self) {
        self.ledger.clear();
        self.payloads.clear();
        self.nodes.clear();
        self.records.clear();
        self.fixes.clear();
        self.bindings.clear();
        self.requests.clear();
        self.duties.clear();
        self.visits.clear();
        self.flags.clear();
        self.alerts.clear();
        self.notes.clear();
        self.attachment_refs.clear();
        self.returns.clear();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ledger.is_empty() && self.returns.is_empty()
    }
}
