-- Audited reads (docs/privacy.md): who read whose whereabouts, what, when and why. Each row is
-- the projection of a read.audit ledger entry, so the record of reads is as tamper-evident as
-- the records read.
CREATE TABLE read_audits (
    seq        INTEGER PRIMARY KEY NOT NULL,
    actor_id   TEXT   NOT NULL,
    actor_role TEXT   NOT NULL,
    person_id  TEXT,
    unit_code  TEXT,
    what       TEXT   NOT NULL,
    reason     TEXT,
    read_at    BIGINT NOT NULL
);
CREATE INDEX read_audits_person ON read_audits (person_id, read_at);
CREATE INDEX read_audits_actor ON read_audits (actor_id, read_at);
