-- Times are microseconds since the Unix epoch (UTC); dates are 'YYYY-MM-DD' county dates.

CREATE TABLE ledger (
    seq         BIGINT PRIMARY KEY,
    entry_id    TEXT   NOT NULL UNIQUE,
    kind        TEXT   NOT NULL,
    actor       TEXT,
    unit_code   TEXT,
    captured_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    body        BYTEA  NOT NULL,
    leaf_hash   BYTEA  NOT NULL,
    verdicts    TEXT
);

-- The ledger is evidence: nothing may change or remove an entry once written.
CREATE FUNCTION fieldtrail_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER ledger_no_update BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION fieldtrail_refuse_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION fieldtrail_refuse_change();

-- Personal content of an entry, committed to by the salted payload_hash in the entry body.
-- It may be purged (DELETE) after its retention period; it is never rewritten.
CREATE TABLE ledger_payloads (
    seq     BIGINT PRIMARY KEY REFERENCES ledger (seq),
    salt    BYTEA  NOT NULL,
    payload BYTEA  NOT NULL
);
CREATE TRIGGER ledger_payloads_no_update BEFORE UPDATE ON ledger_payloads
    FOR EACH ROW EXECUTE FUNCTION fieldtrail_refuse_change();
-- Purging is row by row after retention; wiping every payload at once is never legitimate.
CREATE TRIGGER ledger_payloads_no_truncate BEFORE TRUNCATE ON ledger_payloads
    FOR EACH STATEMENT EXECUTE FUNCTION fieldtrail_refuse_change();

CREATE TABLE units (
    code        TEXT             PRIMARY KEY,
    name        TEXT             NOT NULL,
    level       TEXT             NOT NULL,
    parent_code TEXT             REFERENCES units (code),
    path        TEXT             NOT NULL UNIQUE,
    boundary    TEXT,
    tolerance_m DOUBLE PRECISION NOT NULL,
    seq         BIGINT           NOT NULL
);
CREATE INDEX units_parent ON units (parent_code);

CREATE TABLE people (
    id            TEXT   PRIMARY KEY,
    username      TEXT   NOT NULL UNIQUE,
    password_hash TEXT   NOT NULL,
    display_name  TEXT   NOT NULL,
    role          TEXT   NOT NULL,
    unit_code     TEXT   REFERENCES units (code),
    unit_path     TEXT   NOT NULL,
    phone         TEXT,
    seq           BIGINT NOT NULL
);

CREATE TABLE assignments (
    id         TEXT   PRIMARY KEY,
    person_id  TEXT   NOT NULL REFERENCES people (id),
    unit_code  TEXT   NOT NULL REFERENCES units (code),
    role       TEXT   NOT NULL,
    valid_from TEXT   NOT NULL,
    valid_to   TEXT,
    seq        BIGINT NOT NULL
);
CREATE INDEX assignments_person ON assignments (person_id);

CREATE TABLE households (
    id        TEXT             PRIMARY KEY,
    unit_code TEXT             NOT NULL REFERENCES units (code),
    head_name TEXT             NOT NULL,
    members   INTEGER          NOT NULL,
    lon       DOUBLE PRECISION NOT NULL,
    lat       DOUBLE PRECISION NOT NULL,
    seq       BIGINT           NOT NULL
);
CREATE INDEX households_unit ON households (unit_code);

CREATE TABLE records (
    id               TEXT   PRIMARY KEY,
    person_id        TEXT   NOT NULL REFERENCES people (id),
    kind             TEXT   NOT NULL,
    seq              BIGINT NOT NULL UNIQUE,
    captured_at      BIGINT NOT NULL,
    content_hash     BYTEA  NOT NULL,
    unit_code        TEXT,
    actual_unit_code TEXT,
    geo              TEXT   NOT NULL,
    roster           TEXT   NOT NULL,
    response         TEXT   NOT NULL
);
CREATE INDEX records_person_seq ON records (person_id, seq);
