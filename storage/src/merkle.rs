//! The Merkle tree as stored: perfect-subtree hashes in `merkle_nodes`, signed checkpoints in
//! `checkpoints`. The math lives in `fieldtrail_domain::merkle`; this module only feeds it rows.

use crate::db::DbConnection;
use crate::error::{StorageError, StorageResult};
use crate::schema::*;
use diesel::prelude::*;
use fieldtrail_domain::merkle::{
    consistency_proof, inclusion_proof, CompactRange, Hash, NodeSource, ProofError,
};

/// Reads perfect-subtree hashes with one indexed lookup each.
pub struct DbNodes<'a>(pub &'a mut DbConnection);

impl NodeSource for DbNodes<'_> {
    type Error = StorageError;

    fn node(&mut self, level: u8, index: u64) -> Result<Hash, StorageError> {
        let idx = i64::try_from(index)
            .map_err(|_| StorageError::Corrupt(format!("node index {index} out of range")))?;
        let bytes: Vec<u8> = merkle_nodes::table
            .find((i32::from(level), idx))
            .select(merkle_nodes::hash)
            .first(self.0)
            .optional()?
            .ok_or_else(|| {
                StorageError::Corrupt(format!("merkle node ({level}, {index}) missing"))
            })?;
        to_hash(&bytes)
    }
}

pub fn to_hash(bytes: &[u8]) -> StorageResult<Hash> {
    bytes
        .try_into()
        .map_err(|_| StorageError::Corrupt("a stored hash is not 32 bytes".into()))
}

fn proof_error(err: ProofError<StorageError>) -> StorageError {
    match err {
        ProofError::Source(err) => err,
        ProofError::Merkle(err) => StorageError::invalid("", err),
    }
}

/// The tree over the first `size` leaves, as the writer keeps it in memory.
pub fn frontier(conn: &mut DbConnection, size: u64) -> StorageResult<CompactRange> {
    CompactRange::from_source(size, &mut DbNodes(conn))
}

/// How many leaves the stored tree has (the writer catches up if it lags the ledger).
pub fn stored_leaves(conn: &mut DbConnection) -> StorageResult<u64> {
    let max: Option<i64> = merkle_nodes::table
        .filter(merkle_nodes::level.eq(0))
        .select(diesel::dsl::max(merkle_nodes::idx))
        .first(conn)?;
    Ok(max.map_or(0, |idx| u64::try_from(idx).unwrap_or(0) + 1))
}

pub fn insert_nodes(conn: &mut DbConnection, nodes: &[(u8, u64, Hash)]) -> StorageResult<()> {
    // One row at a time on purpose: an append completes two nodes on average, and a single-row
    // INSERT is a cached prepared statement, where multi-row ones of varying width are not.
    for (level, index, hash) in nodes {
        let idx = i64::try_from(*index)
            .map_err(|_| StorageError::Corrupt(format!("node index {index} out of range")))?;
        diesel::insert_into(merkle_nodes::table)
            .values((
                merkle_nodes::level.eq(i32::from(*level)),
                merkle_nodes::idx.eq(idx),
                merkle_nodes::hash.eq(&hash[..]),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Answers node reads from a map filled by one query; records what it was asked for.
#[derive(Default)]
struct Prefetched {
    nodes: std::collections::HashMap<(u8, u64), Hash>,
    wanted: Vec<(u8, u64)>,
}

impl NodeSource for Prefetched {
    type Error = StorageError;

    fn node(&mut self, level: u8, index: u64) -> Result<Hash, StorageError> {
        match self.nodes.get(&(level, index)) {
            Some(hash) => Ok(*hash),
            None => {
                // Which nodes a proof reads depends only on the sizes, never on hash values,
                // so a dry run with placeholders lists them all.
                self.wanted.push((level, index));
                Ok([0u8; 32])
            }
        }
    }
}

/// Runs a proof computation twice: once to learn which nodes it reads, then on those nodes
/// fetched in a single query — a proof costs one round trip instead of one per node.
fn with_prefetch<T>(
    conn: &mut DbConnection,
    compute: impl Fn(&mut Prefetched) -> Result<T, ProofError<StorageError>>,
) -> StorageResult<T> {
    let mut source = Prefetched::default();
    compute(&mut source).map_err(proof_error)?;
    let wanted = std::mem::take(&mut source.wanted);
    let mut query = merkle_nodes::table.into_boxed();
    for (level, index) in &wanted {
        let idx = i64::try_from(*index)
            .map_err(|_| StorageError::Corrupt(format!("node index {index} out of range")))?;
        query = query.or_filter(
            merkle_nodes::level
                .eq(i32::from(*level))
                .and(merkle_nodes::idx.eq(idx)),
        );
    }
    if !wanted.is_empty() {
        let rows: Vec<(i32, i64, Vec<u8>)> = query
            .select((merkle_nodes::level, merkle_nodes::idx, merkle_nodes::hash))
            .load(conn)?;
        for (level, idx, hash) in rows {
            let key = (
                u8::try_from(level).unwrap_or(u8::MAX),
                u64::try_from(idx).unwrap_or(u64::MAX),
            );
            source.nodes.insert(key, to_hash(&hash)?);
        }
        if let Some((level, index)) = wanted.iter().find(|k| !source.nodes.contains_key(k)) {
            return Err(StorageError::Corrupt(format!(
                "merkle node ({level}, {index}) missing"
            )));
        }
    }
    compute(&mut source).map_err(proof_error)
}

/// How many entries the ledger holds (its last seq: seqs are gap-free from 1).
pub fn ledger_size(conn: &mut DbConnection) -> StorageResult<i64> {
    let max: Option<i64> = ledger::table
        .select(diesel::dsl::max(ledger::seq))
        .first(conn)?;
    Ok(max.unwrap_or(0))
}

/// Committed ledger size: proofs and checkpoints may not reach past it.
pub fn tree_size(conn: &mut DbConnection) -> StorageResult<u64> {
    Ok(u64::try_from(ledger_size(conn)?).unwrap_or(0))
}

fn check_size(conn: &mut DbConnection, size: u64, pointer: &str) -> StorageResult<()> {
    let current = tree_size(conn)?;
    if size > current {
        return Err(StorageError::invalid(
            pointer,
            format!("the ledger has only {current} entries"),
        ));
    }
    Ok(())
}

pub fn inclusion(conn: &mut DbConnection, index: u64, size: u64) -> StorageResult<Vec<Hash>> {
    check_size(conn, size, "/tree_size")?;
    inclusion_proof_prefetched(conn, index, size)
}

pub fn consistency(conn: &mut DbConnection, from: u64, to: u64) -> StorageResult<Vec<Hash>> {
    check_size(conn, to, "/to")?;
    with_prefetch(conn, |source| consistency_proof(from, to, source))
}

/// An inclusion proof from the stored nodes in one query, without checking the ledger size
/// (the caller has; `bench-ledger` has no ledger rows).
pub fn inclusion_proof_prefetched(
    conn: &mut DbConnection,
    index: u64,
    size: u64,
) -> StorageResult<Vec<Hash>> {
    with_prefetch(conn, |source| inclusion_proof(index, size, source))
}

/// The leaf hash the tree holds for a leaf index (what proofs are about).
pub fn leaf(conn: &mut DbConnection, index: u64) -> StorageResult<Hash> {
    DbNodes(conn).node(0, index)
}

#[derive(Debug, Clone)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    pub note: String,
}

fn checkpoint_row(row: (i64, Vec<u8>, String)) -> StorageResult<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        size: u64::try_from(row.0).unwrap_or(0),
        root: to_hash(&row.1)?,
        note: row.2,
    })
}

pub fn latest_checkpoint(conn: &mut DbConnection) -> StorageResult<Option<StoredCheckpoint>> {
    checkpoints::table
        .order(checkpoints::size.desc())
        .select((checkpoints::size, checkpoints::root, checkpoints::note))
        .first::<(i64, Vec<u8>, String)>(conn)
        .optional()?
        .map(checkpoint_row)
        .transpose()
}

pub fn checkpoint_at(
    conn: &mut DbConnection,
    size: u64,
) -> StorageResult<Option<StoredCheckpoint>> {
    let size = i64::try_from(size).map_err(|_| StorageError::NotFound("checkpoint".into()))?;
    checkpoints::table
        .find(size)
        .select((checkpoints::size, checkpoints::root, checkpoints::note))
        .first::<(i64, Vec<u8>, String)>(conn)
        .optional()?
        .map(checkpoint_row)
        .transpose()
}

pub fn insert_checkpoint(
    conn: &mut DbConnection,
    checkpoint: &StoredCheckpoint,
    created_at: i64,
) -> StorageResult<()> {
    diesel::insert_into(checkpoints::table)
        .values((
            checkpoints::size.eq(i64::try_from(checkpoint.size).unwrap_or(i64::MAX)),
            checkpoints::root.eq(checkpoint.root.to_vec()),
            checkpoints::note.eq(&checkpoint.note),
            checkpoints::created_at.eq(created_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// One ledger entry as verifiers need it: its canonical bytes and the leaf the tree holds.
#[derive(Debug, Clone)]
pub struct EntryBytes {
    pub seq: i64,
    pub actor: Option<String>,
    pub body: Vec<u8>,
    pub tree_leaf: Hash,
}

/// Entries with seq in [start, start + count), in order, with the tree's leaf for each.
pub fn entries(conn: &mut DbConnection, start: i64, count: i64) -> StorageResult<Vec<EntryBytes>> {
    let rows: Vec<(i64, Option<String>, Vec<u8>)> = ledger::table
        .filter(ledger::seq.ge(start))
        .filter(ledger::seq.lt(start.saturating_add(count)))
        .order(ledger::seq.asc())
        .select((ledger::seq, ledger::actor, ledger::body))
        .load(conn)?;
    let leaves: Vec<(i64, Vec<u8>)> = merkle_nodes::table
        .filter(merkle_nodes::level.eq(0))
        .filter(merkle_nodes::idx.ge(start - 1))
        .filter(merkle_nodes::idx.lt(start.saturating_add(count) - 1))
        .order(merkle_nodes::idx.asc())
        .select((merkle_nodes::idx, merkle_nodes::hash))
        .load(conn)?;
    let leaves: std::collections::HashMap<i64, Vec<u8>> = leaves.into_iter().collect();
    rows.into_iter()
        .map(|(seq, actor, body)| {
            let leaf = leaves
                .get(&(seq - 1))
                .ok_or_else(|| StorageError::Corrupt(format!("no tree leaf for seq {seq}")))?;
            Ok(EntryBytes {
                seq,
                actor,
                body,
                tree_leaf: to_hash(leaf)?,
            })
        })
        .collect()
}

/// Who wrote the entry at `seq` (to let cadres prove their own entries only).
pub fn entry_actor(conn: &mut DbConnection, seq: i64) -> StorageResult<Option<Option<String>>> {
    Ok(ledger::table
        .find(seq)
        .select(ledger::actor)
        .first(conn)
        .optional()?)
}

/// A stored payload with its salt.
pub struct StoredPayload {
    pub seq: i64,
    pub salt: Vec<u8>,
    pub payload: Vec<u8>,
}

/// The stored payloads of the entries with seq in [first, last], of the given kinds only (all
/// kinds when None), in seq order. A purged payload has no row and is simply absent.
pub fn payloads_between(
    conn: &mut DbConnection,
    first: i64,
    last: i64,
    kinds: Option<&[&str]>,
) -> StorageResult<Vec<StoredPayload>> {
    let mut query = ledger_payloads::table
        .inner_join(ledger::table)
        .filter(ledger_payloads::seq.ge(first))
        .filter(ledger_payloads::seq.le(last))
        .into_boxed();
    if let Some(kinds) = kinds {
        query = query.filter(ledger::kind.eq_any(kinds.to_vec()));
    }
    let rows: Vec<(i64, Vec<u8>, Vec<u8>)> = query
        .order(ledger_payloads::seq.asc())
        .select((
            ledger_payloads::seq,
            ledger_payloads::salt,
            ledger_payloads::payload,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(seq, salt, payload)| StoredPayload { seq, salt, payload })
        .collect())
}
