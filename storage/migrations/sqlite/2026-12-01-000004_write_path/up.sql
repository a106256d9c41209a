-- Fewer B-trees per record for the group writer. Every index here is one more page to dirty
-- and to write to the WAL at each commit, so only what reads use stays.

-- The writer compares fixes in memory; nothing reads fixes by point or records by refers_to
-- (requests carry their own refers_to index).
DROP INDEX fixes_person_point;
DROP INDEX records_refers_to;

-- Records keyed by seq: the table grows at its end, and the separate UNIQUE (seq) index goes.
-- No foreign key to people (nor from ledger_payloads to ledger, below): the writer writes both
-- sides in one transaction and `fieldtrail check-store` proves the references, while a foreign
-- key makes SQLite keep a statement journal for every multi-row INSERT and look up each row.
-- The answer given at submission is no longer kept here: it is rebuilt from the record's ledger
-- entry (seq, leaf hash, received_at, verdicts), which holds every part of it already.
CREATE TABLE records_by_seq (
    seq              INTEGER PRIMARY KEY NOT NULL,
    id               TEXT   NOT NULL UNIQUE,
    person_id        TEXT   NOT NULL,
    kind             TEXT   NOT NULL,
    captured_at      BIGINT NOT NULL,
    content_hash     BLOB   NOT NULL,
    unit_code        TEXT,
    actual_unit_code TEXT,
    geo              TEXT   NOT NULL,
    roster           TEXT   NOT NULL,
    refers_to        TEXT
);
INSERT INTO records_by_seq (seq, id, person_id, kind, captured_at, content_hash, unit_code,
                            actual_unit_code, geo, roster, refers_to)
    SELECT seq, id, person_id, kind, captured_at, content_hash, unit_code, actual_unit_code,
           geo, roster, refers_to
    FROM records;
DROP TABLE records;
ALTER TABLE records_by_seq RENAME TO records;
-- One index by person, not two: each one is a page to dirty per cadre in every commit, which
-- made it the largest cost of a group of check-ins. A cadre's history in seq order is found
-- through (person_id, captured_at) too, the seq being the row's key.
CREATE INDEX records_person_captured ON records (person_id, captured_at);

-- Fixes keyed by their entry's seq: the table grows at its end. A person's fixes are found
-- through records (person_id, captured_at), which is indexed already, instead of through two
-- indexes of their own that every insert had to update at each person's place.
CREATE TABLE fixes_by_seq (
    seq         INTEGER PRIMARY KEY NOT NULL,
    record_id   TEXT   NOT NULL,
    person_id   TEXT   NOT NULL,
    captured_at BIGINT NOT NULL,
    lon         DOUBLE NOT NULL,
    lat         DOUBLE NOT NULL,
    sent_lon    DOUBLE NOT NULL,
    sent_lat    DOUBLE NOT NULL,
    accuracy_m  DOUBLE NOT NULL
);
INSERT INTO fixes_by_seq (seq, record_id, person_id, captured_at, lon, lat, sent_lon, sent_lat,
                          accuracy_m)
    SELECT r.seq, f.record_id, f.person_id, f.captured_at, f.lon, f.lat, f.sent_lon, f.sent_lat,
           f.accuracy_m
    FROM fixes f JOIN records r ON r.id = f.record_id;
DROP TABLE fixes;
ALTER TABLE fixes_by_seq RENAME TO fixes;

-- Payloads without their foreign key to the ledger (see records above); the rule that a payload
-- is never rewritten stays.
CREATE TABLE ledger_payloads_unchecked (
    seq     INTEGER PRIMARY KEY NOT NULL,
    salt    BLOB    NOT NULL,
    payload BLOB    NOT NULL
);
INSERT INTO ledger_payloads_unchecked (seq, salt, payload)
    SELECT seq, salt, payload FROM ledger_payloads;
DROP TABLE ledger_payloads;
ALTER TABLE ledger_payloads_unchecked RENAME TO ledger_payloads;
CREATE TRIGGER ledger_payloads_no_update BEFORE UPDATE ON ledger_payloads
BEGIN
    SELECT RAISE(ABORT, 'ledger payloads are never rewritten: UPDATE refused');
END;
