-- Hashes of the perfect subtrees of the RFC 6962 tree over the ledger: the node at (level, idx)
-- covers leaves [idx * 2^level, (idx + 1) * 2^level). Level 0 holds the leaf hashes. Any proof
-- or root is then O(log n) indexed reads.
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL,
    idx   BIGINT  NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID; -- the key is the only access path: store rows in it, one B-tree not two
CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes
BEGIN
    SELECT RAISE(ABORT, 'merkle_nodes is append-only: UPDATE refused');
END;
CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
BEGIN
    SELECT RAISE(ABORT, 'merkle_nodes is append-only: DELETE refused');
END;

-- Every signed checkpoint (C2SP tlog-checkpoint in a signed note), kept for good.
CREATE TABLE checkpoints (
    size       BIGINT PRIMARY KEY NOT NULL,
    root       BLOB   NOT NULL,
    note       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints is append-only: UPDATE refused');
END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints is append-only: DELETE refused');
END;
