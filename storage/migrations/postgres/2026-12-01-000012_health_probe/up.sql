-- What /healthz writes, through the ledger writer, to learn whether the database takes writes
-- again after a fault (a full or read-only disk, a lost connection): a read alone would not
-- tell (docs/reliability.md). One row, replaced by each probe; not evidence of anything.
CREATE TABLE health_probe (
    id         INTEGER PRIMARY KEY,
    checked_at BIGINT  NOT NULL
);
