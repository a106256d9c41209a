//! Records of a unit as an export (docs/exports.md): read page by page in seq order, so that an
//! export of any size is streamed with a bounded amount in memory. Each line carries the
//! record's seq and leaf index, so it can be proven against a checkpoint.

use crate::db::DbConnection;
use crate::error::StorageResult;
use crate::schema::{fixes, ledger, people, records};
use crate::stored::{instant, like_escape, stored_json};
use diesel::prelude::*;
use serde_json::{json, Value};

/// Which records: of the people under a unit path, captured in `[start, end)`, of one kind.
#[derive(Debug, Clone)]
pub struct ExportFilter {
    pub path: String,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub kind: Option<String>,
}

/// One exported record.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub seq: i64,
    pub id: String,
    pub kind: String,
    pub person_id: String,
    pub captured_at: i64,
    pub received_at: i64,
    pub unit_code: Option<String>,
    pub actual_unit_code: Option<String>,
    pub verdict: Value,
    pub flags: Vec<String>,
    /// lon, lat, accuracy_m of the stored fix (WGS-84), if the record has one.
    pub position: Option<(f64, f64, f64)>,
}

type Loaded = (
    (
        i64,
        String,
        String,
        String,
        i64,
        Option<String>,
        Option<String>,
    ),
    (i64, Option<String>),
    Option<(f64, f64, f64)>,
);

/// Up to `limit` records after `after_seq`, in seq order.
pub fn page(
    conn: &mut DbConnection,
    filter: &ExportFilter,
    after_seq: i64,
    limit: i64,
) -> StorageResult<Vec<ExportRow>> {
    let mut query = records::table
        .inner_join(ledger::table.on(ledger::seq.eq(records::seq)))
        .inner_join(people::table.on(people::id.eq(records::person_id)))
        .left_join(fixes::table.on(fixes::seq.eq(records::seq)))
        .filter(records::seq.gt(after_seq))
        .filter(
            people::unit_path
                .like(format!("{}%", like_escape(&filter.path)))
                .escape('\\'),
        )
        .into_boxed();
    if let Some(start) = filter.start {
        query = query.filter(records::captured_at.ge(start));
    }
    if let Some(end) = filter.end {
        query = query.filter(records::captured_at.lt(end));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(records::kind.eq(kind.clone()));
    }
    let rows: Vec<Loaded> = query
        .order(records::seq.asc())
        .limit(limit)
        .select((
            (
                records::seq,
                records::id,
                records::kind,
                records::person_id,
                records::captured_at,
                records::unit_code,
                records::actual_unit_code,
            ),
            (ledger::received_at, ledger::verdicts),
            (fixes::lon, fixes::lat, fixes::accuracy_m).nullable(),
        ))
        .load(conn)?;
    rows.into_iter()
        .map(
            |(
                (seq, id, kind, person_id, captured_at, unit_code, actual_unit_code),
                (received_at, verdicts),
                position,
            )| {
                let verdicts =
                    stored_json("record verdicts", verdicts.as_deref().unwrap_or("null"))?;
                let flags = verdicts["flags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                Ok(ExportRow {
                    seq,
                    id,
                    kind,
                    person_id,
                    captured_at,
                    received_at,
                    unit_code,
                    actual_unit_code,
                    verdict: verdicts["verdict"].clone(),
                    flags,
                    position,
                })
            },
        )
        .collect()
}

impl ExportRow {
    /// The leaf of the record's entry in the tree (seq 1 is leaf 0).
    pub fn leaf_index(&self) -> i64 {
        self.seq - 1
    }

    /// Everything but the position, as JSON (NDJSON lines and GeoJSON properties).
    pub fn properties(&self) -> Value {
        json!({
            "id": self.id,
            "kind": self.kind,
            "person_id": self.person_id,
            "seq": self.seq,
            "leaf_index": self.leaf_index(),
            "captured_at": instant(self.captured_at),
            "received_at": instant(self.received_at),
            "unit_code": self.unit_code,
            "actual_unit_code": self.actual_unit_code,
            "verdict": self.verdict,
            "flags": self.flags,
        })
    }

    /// The CSV columns, in [`CSV_HEADER`] order.
    pub fn csv_fields(&self) -> Vec<String> {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let (lon, lat, accuracy) = match self.position {
            Some((lon, lat, accuracy)) => (lon.to_string(), lat.to_string(), accuracy.to_string()),
            None => Default::default(),
        };
        vec![
            self.id.clone(),
            self.kind.clone(),
            self.person_id.clone(),
            self.seq.to_string(),
            self.leaf_index().to_string(),
            instant(self.captured_at),
            instant(self.received_at),
            self.unit_code.clone().unwrap_or_default(),
            self.actual_unit_code.clone().unwrap_or_default(),
            text(&self.verdict["geo"]),
            text(&self.verdict["roster"]),
            self.flags.join(";"),
            lon,
            lat,
            accuracy,
        ]
    }
}

pub const CSV_HEADER: [&str; 15] = [
    "id",
    "kind",
    "person_id",
    "seq",
    "leaf_index",
    "captured_at",
    "received_at",
    "unit_code",
    "actual_unit_code",
    "geo",
    "roster",
    "flags",
    "lon",
    "lat",
    "accuracy_m",
];
