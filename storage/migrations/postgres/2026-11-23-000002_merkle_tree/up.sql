-- Hashes of the perfect subtrees of the RFC 6962 tree over the ledger: the node at (level, idx)
-- covers leaves [idx * 2^level, (idx + 1) * 2^level). Level 0 holds the leaf hashes. Any proof
-- or root is then O(log n) indexed reads.
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL,
    idx   BIGINT  NOT NULL,
    hash  BYTEA   NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE OR DELETE ON merkle_nodes
    FOR EACH ROW EXECUTE FUNCTION fieldtrail_refuse_change();
CREATE TRIGGER merkle_nodes_no_truncate BEFORE TRUNCATE ON merkle_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION fieldtrail_refuse_change();

-- Every signed checkpoint (C2SP tlog-checkpoint in a signed note), kept for good.
CREATE TABLE checkpoints (
    size       BIGINT PRIMARY KEY,
    root       BYTEA  NOT NULL,
    note       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION fieldtrail_refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION fieldtrail_refuse_change();
