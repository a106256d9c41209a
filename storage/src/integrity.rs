//! Read-only integrity checks of a stored ledger and its projections, for `fieldtrail
//! check-store`: the things that must hold after any crash if every group commit was atomic.
//!
//! Every check is set-wise — counts, anti-joins and joins that the database runs in one pass
//! over primary keys and indexes — never a query per row, so it stays fast at millions of
//! entries; a check runs its "first few offenders" query only when its count found some. All
//! checks read one snapshot (one transaction, REPEATABLE READ on PostgreSQL), so a server
//! writing meanwhile cannot make rows seem to be missing.
//!
//! What the checks do not do: recompute hashes from entry bytes or rebuild the tree's root (that
//! is `fieldtrail verify`), or check projections other than `records`, `fixes` and the
//! supervision tables (each row has its entry of the right kind).

use crate::schema::{fixes, ledger, ledger_payloads, merkle_nodes, records};
use crate::{DbConnection, StorageError, StorageResult};
use diesel::connection::SimpleConnection;
use diesel::dsl::{count_star, exists, max, min, not};
use diesel::prelude::*;
use fieldtrail_domain::record::RecordKind;

/// How many offenders a failed check names.
pub const EXAMPLES: i64 = 5;
/// Acknowledged records looked up per query.
pub const ACKED_CHUNK: usize = 500;

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// A stable name, e.g. `ledger-seqs`.
    pub name: &'static str,
    /// What must hold, in words.
    pub rule: &'static str,
    /// How many rows break the rule (0: passed).
    pub failures: u64,
    /// What was checked (on success) or found (on failure), in words.
    pub detail: String,
    /// The first few offenders.
    pub examples: Vec<String>,
}

impl Check {
    pub fn passed(&self) -> bool {
        self.failures == 0
    }
}

/// Every check, in the order they ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityReport {
    pub entries: i64,
    pub checks: Vec<Check>,
}

impl IntegrityReport {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(Check::passed)
    }

    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// A record the server acknowledged: it must be stored with this seq and leaf hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckedRecord {
    /// Line number in the acked log, for messages.
    pub line: u64,
    pub id: String,
    pub seq: i64,
    pub leaf_hash: Vec<u8>,
}

/// A line of an acked log, read or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckedLine {
    Record(AckedRecord),
    Malformed { line: u64, reason: String },
}

/// Runs every check in one read-only snapshot; with `acked`, also checks each acknowledged
/// record (read lazily, in chunks, so a log of millions of lines is never held in memory).
pub fn check_store(
    conn: &mut DbConnection,
    acked: Option<&mut dyn Iterator<Item = AckedLine>>,
) -> StorageResult<IntegrityReport> {
    conn.transaction::<_, StorageError, _>(|conn| {
        if let DbConnection::Postgres(pg) = conn {
            // One snapshot for every query, and a promise not to write.
            pg.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        }
        let (entries, mut checks) = ledger_seqs(conn)?;
        checks.push(merkle_leaves(conn, entries)?);
        checks.push(record_entries(conn)?);
        checks.push(records_in_ledger(conn)?);
        checks.push(fixes_have_records(conn)?);
        checks.push(payloads(conn, entries)?);
        checks.push(supervision_rows(conn)?);
        if let Some(acked) = acked {
            checks.push(acked_records(conn, acked)?);
        }
        Ok(IntegrityReport { entries, checks })
    })
}

fn check(name: &'static str, rule: &'static str, failures: u64, detail: String) -> Check {
    Check {
        name,
        rule,
        failures,
        detail,
        examples: Vec::new(),
    }
}

fn ledger_seqs(conn: &mut DbConnection) -> StorageResult<(i64, Vec<Check>)> {
    const RULE: &str = "ledger seqs run 1..N without gaps";
    let (n, lo, hi): (i64, Option<i64>, Option<i64>) = ledger::table
        .select((count_star(), min(ledger::seq), max(ledger::seq)))
        .first(conn)?;
    let (lo, hi) = (lo.unwrap_or(1), hi.unwrap_or(0));
    if n == 0 || (lo == 1 && hi == n) {
        let detail = format!("1..{n}, {n} entries");
        return Ok((n, vec![check("ledger-seqs", RULE, 0, detail)]));
    }
    let mut found = check(
        "ledger-seqs",
        RULE,
        u64::try_from(hi.max(n) - n + (1 - lo).max(0)).unwrap_or(u64::MAX),
        format!("{n} entries, seqs {lo}..{hi}"),
    );
    if lo > 1 {
        found.examples.push(format!("seqs 1..{} missing", lo - 1));
    }
    let next = diesel::alias!(ledger as next_entry);
    let gap_starts: Vec<i64> = ledger::table
        .filter(ledger::seq.lt(hi))
        .filter(not(exists(
            next.filter(next.field(ledger::seq).eq(ledger::seq + 1)),
        )))
        .select(ledger::seq)
        .order(ledger::seq)
        .limit(EXAMPLES)
        .load(conn)?;
    for start in gap_starts {
        let resumes: Option<i64> = ledger::table
            .filter(ledger::seq.gt(start))
            .select(min(ledger::seq))
            .first(conn)?;
        let end = resumes.map_or(hi, |r| r - 1);
        found.examples.push(if end == start + 1 {
            format!("seq {end} missing")
        } else {
            format!("seqs {}..{end} missing", start + 1)
        });
    }
    Ok((n, vec![found]))
}

fn merkle_leaves(conn: &mut DbConnection, entries: i64) -> StorageResult<Check> {
    const RULE: &str = "the Merkle tree has exactly N leaves, each equal to its entry's leaf_hash";
    let unmatched = || {
        ledger::table
            .left_join(
                merkle_nodes::table.on(merkle_nodes::level
                    .eq(0)
                    .and(merkle_nodes::idx.eq(ledger::seq - 1))),
            )
            .filter(
                merkle_nodes::hash
                    .is_null()
                    .or(merkle_nodes::hash.ne(ledger::leaf_hash)),
            )
    };
    let stray = || {
        merkle_nodes::table
            .filter(merkle_nodes::level.eq(0))
            .filter(merkle_nodes::idx.lt(0).or(merkle_nodes::idx.ge(entries)))
    };
    let bad: i64 = unmatched().count().get_result(conn)?;
    let extra: i64 = stray().count().get_result(conn)?;
    let mut found = check(
        "merkle-leaves",
        RULE,
        u64::try_from(bad + extra).unwrap_or(u64::MAX),
        if bad + extra == 0 {
            format!("{entries} leaves match the ledger")
        } else {
            format!("{bad} entries without their leaf, {extra} leaves beyond the ledger")
        },
    );
    if bad > 0 {
        let seqs: Vec<i64> = unmatched()
            .select(ledger::seq)
            .order(ledger::seq)
            .limit(EXAMPLES)
            .load(conn)?;
        found.examples.extend(
            seqs.into_iter()
                .map(|s| format!("seq {s}: leaf {} missing or different", s - 1)),
        );
    }
    if extra > 0 {
        let idx: Vec<i64> = stray()
            .select(merkle_nodes::idx)
            .order(merkle_nodes::idx)
            .limit(EXAMPLES)
            .load(conn)?;
        found
            .examples
            .extend(idx.into_iter().map(|i| format!("leaf {i} has no entry")));
    }
    Ok(found)
}

fn record_kinds() -> Vec<&'static str> {
    RecordKind::ALL.iter().map(|k| k.as_str()).collect()
}

fn record_entries(conn: &mut DbConnection) -> StorageResult<Check> {
    const RULE: &str = "every record entry in the ledger has its records row (same seq and kind)";
    let kinds = record_kinds();
    let orphans = || {
        ledger::table
            .left_join(records::table.on(records::seq.eq(ledger::seq)))
            .filter(ledger::kind.eq_any(kinds.clone()))
            .filter(records::seq.is_null().or(records::kind.ne(ledger::kind)))
    };
    let bad: i64 = orphans().count().get_result(conn)?;
    let mut found = if bad == 0 {
        let total: i64 = ledger::table
            .filter(ledger::kind.eq_any(kinds.clone()))
            .count()
            .get_result(conn)?;
        check("record-entries", RULE, 0, format!("{total} record entries"))
    } else {
        check(
            "record-entries",
            RULE,
            u64::try_from(bad).unwrap_or(u64::MAX),
            format!("{bad} record entries without their records row"),
        )
    };
    if bad > 0 {
        let rows: Vec<(i64, String)> = orphans()
            .select((ledger::seq, ledger::kind))
            .order(ledger::seq)
            .limit(EXAMPLES)
            .load(conn)?;
        found.examples.extend(
            rows.into_iter()
                .map(|(seq, kind)| format!("seq {seq} ({kind})")),
        );
    }
    Ok(found)
}

fn records_in_ledger(conn: &mut DbConnection) -> StorageResult<Check> {
    const RULE: &str = "every records row has its ledger entry (same seq and kind)";
    let orphans = || {
        records::table
            .left_join(ledger::table.on(ledger::seq.eq(records::seq)))
            .filter(ledger::seq.is_null().or(ledger::kind.ne(records::kind)))
    };
    let bad: i64 = orphans().count().get_result(conn)?;
    let mut found = if bad == 0 {
        let total: i64 = records::table.count().get_result(conn)?;
        check(
            "records-in-ledger",
            RULE,
            0,
            format!("{total} records rows"),
        )
    } else {
        check(
            "records-in-ledger",
            RULE,
            u64::try_from(bad).unwrap_or(u64::MAX),
            format!("{bad} records rows without their entry"),
        )
    };
    if bad > 0 {
        let rows: Vec<(String, i64, String)> = orphans()
            .select((records::id, records::seq, records::kind))
            .order(records::seq)
            .limit(EXAMPLES)
            .load(conn)?;
        found.examples.extend(
            rows.into_iter()
                .map(|(id, seq, kind)| format!("record {id} (seq {seq}, {kind})")),
        );
    }
    Ok(found)
}

fn fixes_have_records(conn: &mut DbConnection) -> StorageResult<Check> {
    const RULE: &str = "every fixes row belongs to a stored record, under its seq";
    let orphans = || {
        fixes::table
            .left_join(
                records::table.on(records::seq
                    .eq(fixes::seq)
                    .and(records::id.eq(fixes::record_id))),
            )
            .filter(records::id.is_null())
    };
    let bad: i64 = orphans().count().get_result(conn)?;
    let mut found = if bad == 0 {
        let total: i64 = fixes::table.count().get_result(conn)?;
        check("fixes", RULE, 0, format!("{total} fixes rows"))
    } else {
        check(
            "fixes",
            RULE,
            u64::try_from(bad).unwrap_or(u64::MAX),
            format!("{bad} fixes rows without their record"),
        )
    };
    if bad > 0 {
        let ids: Vec<String> = orphans()
            .select(fixes::record_id)
            .order(fixes::record_id)
            .limit(EXAMPLES)
            .load(conn)?;
        found
            .examples
            .extend(ids.into_iter().map(|id| format!("fix of record {id}")));
    }
    Ok(found)
}

/// The supervision projections (docs/supervision.md) and the entry kind each row stands for;
/// `None`: a record's row (flags), whose records row must be there; `Some("")`: an entry of any
/// kind (an alert names the entry of the record or result that raised it).
const SUPERVISION_TABLES: [(&str, Option<&str>); 7] = [
    ("record_flags", None),
    ("alerts", Some("")),
    ("read_audits", Some("read.audit")),
    ("notes", Some("note")),
    ("negative_decisions", Some("negative_item.decision")),
    ("escalation_actions", Some("escalation.action")),
    ("bulletins", Some("bulletin.publish")),
];

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn supervision_rows(conn: &mut DbConnection) -> StorageResult<Check> {
    const RULE: &str = "every row of the supervision projections has its ledger entry, of its kind";
    let mut bad = 0i64;
    let mut total = 0i64;
    let mut examples = Vec::new();
    for (table, kind) in SUPERVISION_TABLES {
        // Table names and kinds are the constants above, never input.
        let condition = match kind {
            Some("") => "l.seq IS NULL".to_owned(),
            Some(kind) => format!("l.seq IS NULL OR l.kind <> '{kind}'"),
            None => "r.seq IS NULL".to_owned(),
        };
        let join = match kind {
            Some(_) => format!("{table} t LEFT JOIN ledger l ON l.seq = t.seq"),
            None => format!("{table} t LEFT JOIN records r ON r.seq = t.seq"),
        };
        let count = |sql: String, conn: &mut DbConnection| -> StorageResult<i64> {
            Ok(diesel::sql_query(sql).get_result::<Count>(conn)?.n)
        };
        let orphans = count(
            format!("SELECT COUNT(*) AS n FROM {join} WHERE {condition}"),
            conn,
        )?;
        total += count(format!("SELECT COUNT(*) AS n FROM {table}"), conn)?;
        if orphans > 0 {
            examples.push(format!("{orphans} {table} rows without their entry"));
        }
        bad += orphans;
    }
    let mut found = check(
        "supervision",
        RULE,
        u64::try_from(bad).unwrap_or(u64::MAX),
        if bad == 0 {
            format!("{total} rows")
        } else {
            format!("{bad} rows without their entry")
        },
    );
    found.examples = examples;
    Ok(found)
}

fn payloads(conn: &mut DbConnection, entries: i64) -> StorageResult<Check> {
    const RULE: &str =
        "every entry has its payload row, unless a payload.purge entry names it as purged";
    let missing: Vec<i64> = ledger::table
        .left_join(ledger_payloads::table.on(ledger_payloads::seq.eq(ledger::seq)))
        .filter(ledger_payloads::seq.is_null())
        .select(ledger::seq)
        .order(ledger::seq)
        .load(conn)?;
    let purged = purged_ranges(conn)?;
    let mut purged = purged;
    let (accounted, unaccounted): (Vec<i64>, Vec<i64>) =
        missing.into_iter().partition(|seq| purged.covers(*seq));
    let bad = unaccounted.len();
    let mut found = check(
        "payloads",
        RULE,
        u64::try_from(bad).unwrap_or(u64::MAX),
        if bad == 0 {
            format!(
                "{} payload rows, {} purged by payload.purge entries",
                entries - i64::try_from(accounted.len()).unwrap_or(0),
                accounted.len()
            )
        } else {
            format!("{bad} entries without their payload and no purge entry naming them")
        },
    );
    found.examples.extend(
        unaccounted
            .into_iter()
            .take(usize::try_from(EXAMPLES).unwrap_or(5))
            .map(|s| format!("seq {s}")),
    );
    Ok(found)
}

/// The seqs `payload.purge` entries name, read from their headers' verdicts (the header is in
/// the tree; its payload could itself be gone).
fn purged_ranges(conn: &mut DbConnection) -> StorageResult<fieldtrail_domain::purge::PurgedRanges> {
    let rows: Vec<(i64, Option<String>)> = ledger::table
        .filter(ledger::kind.eq("payload.purge"))
        .select((ledger::seq, ledger::verdicts))
        .load(conn)?;
    let mut ranges = fieldtrail_domain::purge::PurgedRanges::default();
    for (seq, verdicts) in rows {
        let verdicts: serde_json::Value = verdicts
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
            .ok_or_else(|| StorageError::Corrupt(format!("purge entry {seq} has no ranges")))?;
        ranges
            .add_from(seq, &verdicts)
            .map_err(StorageError::Corrupt)?;
    }
    Ok(ranges)
}

/// Failures counted, the first few kept.
#[derive(Default)]
struct Offenders {
    failures: u64,
    examples: Vec<String>,
}

impl Offenders {
    fn add(&mut self, message: String) {
        self.failures += 1;
        if self.examples.len() < EXAMPLES as usize {
            self.examples.push(message);
        }
    }
}

/// Looks one chunk of acknowledged records up in one query and compares.
fn lookup_acked(
    conn: &mut DbConnection,
    chunk: &mut Vec<AckedRecord>,
    offenders: &mut Offenders,
) -> StorageResult<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = chunk.iter().map(|a| a.id.as_str()).collect();
    let stored: Vec<(String, i64, Option<Vec<u8>>)> = records::table
        .left_join(ledger::table.on(ledger::seq.eq(records::seq)))
        .filter(records::id.eq_any(ids))
        .select((records::id, records::seq, ledger::leaf_hash.nullable()))
        .load(conn)?;
    let stored: std::collections::HashMap<String, (i64, Option<Vec<u8>>)> = stored
        .into_iter()
        .map(|(id, seq, leaf)| (id, (seq, leaf)))
        .collect();
    for acked in chunk.drain(..) {
        let at = format!("line {}: record {}", acked.line, acked.id);
        match stored.get(&acked.id) {
            None => offenders.add(format!("{at} is not stored")),
            Some((seq, _)) if *seq != acked.seq => offenders.add(format!(
                "{at} was acknowledged at seq {} but is stored at seq {seq}",
                acked.seq
            )),
            Some((_, leaf)) if leaf.as_deref() != Some(acked.leaf_hash.as_slice()) => offenders
                .add(format!(
                    "{at} at seq {}: the stored leaf hash differs",
                    acked.seq
                )),
            Some(_) => {}
        }
    }
    Ok(())
}

fn acked_records(
    conn: &mut DbConnection,
    acked: &mut dyn Iterator<Item = AckedLine>,
) -> StorageResult<Check> {
    const RULE: &str = "every acknowledged record is stored with the same seq and leaf hash";
    let mut lines = 0u64;
    let mut offenders = Offenders::default();
    let mut chunk: Vec<AckedRecord> = Vec::with_capacity(ACKED_CHUNK);
    for line in acked {
        lines += 1;
        match line {
            AckedLine::Malformed { line, reason } => {
                offenders.add(format!("line {line}: {reason}"));
            }
            AckedLine::Record(record) => {
                chunk.push(record);
                if chunk.len() >= ACKED_CHUNK {
                    lookup_acked(conn, &mut chunk, &mut offenders)?;
                }
            }
        }
    }
    lookup_acked(conn, &mut chunk, &mut offenders)?;
    let failures = offenders.failures;
    Ok(Check {
        name: "acked",
        rule: RULE,
        failures,
        detail: if failures == 0 {
            format!("{lines} acknowledged records stored as acknowledged")
        } else {
            format!("{failures} of {lines} acknowledged lines not stored as acknowledged")
        },
        examples: offenders.examples,
    })
}
