//! The one place ledger entries are made: each gets the next sequence number, a fresh salt and
//! entry id, its canonical header and leaf hash, its payload row, and the Merkle tree nodes its
//! leaf completes. Entries go into the group's rows; nothing here touches the database.

use super::rows::{GroupRows, NodeRow};
use super::Actor;
use crate::error::{StorageError, StorageResult};
use crate::models::{LedgerRow, PayloadRow};
use fieldtrail_domain::canonical::{
    leaf_hash, payload_hash, to_canonical_bytes, unix_micros, EntryHeader,
};
use fieldtrail_domain::merkle::CompactRange;
use serde_json::Value;
use std::cell::RefCell;
use time::OffsetDateTime;

/// Random salts drawn in bulk: one system call for many entries.
struct Salts {
    pool: Vec<u8>,
}

const SALT_BYTES: usize = 16;
const SALT_POOL: usize = SALT_BYTES * 256;

impl Salts {
    fn next(&mut self) -> StorageResult<[u8; SALT_BYTES]> {
        if self.pool.len() < SALT_BYTES {
            self.pool.resize(SALT_POOL, 0);
            getrandom::fill(&mut self.pool)
                .map_err(|err| StorageError::Unavailable(format!("no randomness: {err}")))?;
        }
        let mut salt = [0u8; SALT_BYTES];
        salt.copy_from_slice(&self.pool[self.pool.len() - SALT_BYTES..]);
        self.pool.truncate(self.pool.len() - SALT_BYTES);
        Ok(salt)
    }
}

thread_local! {
    // Per thread: records are sealed on the HTTP workers, admin entries on the writer.
    static SALTS: RefCell<Salts> = const { RefCell::new(Salts { pool: Vec::new() }) };
}

/// An entry's payload with its salt and salted hash, which is what the entry's header commits
/// to. Sealing needs nothing of the ledger, so a record is sealed by the thread that submits
/// it, before it reaches the writer.
#[derive(Debug, Clone)]
pub(crate) struct SealedPayload {
    pub(crate) bytes: Vec<u8>,
    pub(crate) salt: [u8; SALT_BYTES],
    pub(crate) hash: [u8; 32],
}

impl SealedPayload {
    pub(crate) fn new(bytes: Vec<u8>) -> StorageResult<Self> {
        let salt = SALTS.with(|salts| salts.borrow_mut().next())?;
        Ok(SealedPayload {
            hash: payload_hash(&salt, &bytes),
            bytes,
            salt,
        })
    }
}

/// Appends entries for one request: to the in-memory tree (whose end is the last seq handed
/// out) and to the rows the commit loop will write.
pub(crate) struct LedgerAppender<'a> {
    pub(crate) tree: &'a mut CompactRange,
    pub(crate) rows: &'a mut GroupRows,
    /// The instant every entry of the group is received at, and the same as the API shows it.
    pub(crate) now: OffsetDateTime,
    pub(crate) now_text: &'a str,
}

pub(crate) struct Appended {
    pub(crate) seq: i64,
    pub(crate) entry_id: String,
    pub(crate) leaf_hash: [u8; 32],
}

pub(crate) struct EntryDraft<'a> {
    pub(crate) kind: &'a str,
    pub(crate) actor: Option<String>,
    pub(crate) unit: Option<String>,
    pub(crate) captured_at: OffsetDateTime,
    pub(crate) verdicts: Option<Value>,
    pub(crate) payload: &'a SealedPayload,
}

impl LedgerAppender<'_> {
    /// The seq the next entry will get.
    pub(crate) fn next_seq(&self) -> i64 {
        i64::try_from(self.tree.end()).unwrap_or(i64::MAX) + 1
    }

    pub(crate) fn append(&mut self, draft: EntryDraft<'_>) -> Appended {
        let seq = self.next_seq();
        let entry_id = uuid::Uuid::now_v7();
        let payload_hash = draft.payload.hash;
        let header = EntryHeader {
            seq,
            entry_id,
            kind: draft.kind,
            actor: draft.actor,
            unit: draft.unit,
            captured_at: draft.captured_at,
            received_at: self.now,
            verdicts: draft.verdicts.unwrap_or(Value::Null),
            payload_hash,
        };
        let body = header.to_bytes();
        let leaf = leaf_hash(&body);
        let entry_id = entry_id.to_string();
        // Admin entries have no verdicts: NULL in the column, null in the header.
        let verdicts = (!header.verdicts.is_null()).then(|| header.verdicts.to_string());
        self.rows.ledger.push(LedgerRow {
            seq,
            entry_id: entry_id.clone(),
            kind: draft.kind.to_owned(),
            actor: header.actor,
            unit_code: header.unit,
            captured_at: unix_micros(draft.captured_at),
            received_at: unix_micros(self.now),
            body,
            leaf_hash: leaf.to_vec(),
            verdicts,
        });
        self.rows.payloads.push(PayloadRow {
            seq,
            salt: draft.payload.salt.to_vec(),
            payload: draft.payload.bytes.clone(),
        });
        for (level, index, hash) in self.tree.append_leaf(leaf) {
            self.rows.nodes.push(NodeRow {
                level: i32::from(level),
                idx: i64::try_from(index).unwrap_or(i64::MAX),
                hash: hash.to_vec(),
            });
        }
        Appended {
            seq,
            entry_id,
            leaf_hash: leaf,
        }
    }

    /// An admin change: captured and received at the same instant, no verdicts.
    pub(crate) fn append_admin(
        &mut self,
        kind: &str,
        actor: &Actor,
        unit: Option<&str>,
        payload: &Value,
    ) -> StorageResult<Appended> {
        self.append_admin_with(kind, actor, unit, payload, None)
    }

    /// An admin change whose header also states `verdicts` (facts that must stay covered by
    /// the tree after the payload is purged).
    pub(crate) fn append_admin_with(
        &mut self,
        kind: &str,
        actor: &Actor,
        unit: Option<&str>,
        payload: &Value,
        verdicts: Option<Value>,
    ) -> StorageResult<Appended> {
        let payload = SealedPayload::new(to_canonical_bytes(payload))?;
        Ok(self.append(EntryDraft {
            kind,
            actor: actor.id.map(|id| id.to_string()),
            unit: unit.map(str::to_owned),
            captured_at: self.now,
            verdicts,
            payload: &payload,
        }))
    }
}
