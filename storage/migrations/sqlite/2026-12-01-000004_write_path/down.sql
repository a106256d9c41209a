CREATE TABLE ledger_payloads_checked (
    seq     INTEGER PRIMARY KEY NOT NULL REFERENCES ledger (seq),
    salt    BLOB    NOT NULL,
    payload BLOB    NOT NULL
);
INSERT INTO ledger_payloads_checked (seq, salt, payload)
    SELECT seq, salt, payload FROM ledger_payloads;
DROP TABLE ledger_payloads;
ALTER TABLE ledger_payloads_checked RENAME TO ledger_payloads;
CREATE TRIGGER ledger_payloads_no_update BEFORE UPDATE ON ledger_payloads
BEGIN
    SELECT RAISE(ABORT, 'ledger payloads are never rewritten: UPDATE refused');
END;

CREATE TABLE fixes_by_record (
    record_id   TEXT   PRIMARY KEY NOT NULL,
    person_id   TEXT   NOT NULL,
    captured_at BIGINT NOT NULL,
    lon         DOUBLE NOT NULL,
    lat         DOUBLE NOT NULL,
    sent_lon    DOUBLE NOT NULL,
    sent_lat    DOUBLE NOT NULL,
    accuracy_m  DOUBLE NOT NULL
);
INSERT INTO fixes_by_record (record_id, person_id, captured_at, lon, lat, sent_lon, sent_lat,
                             accuracy_m)
    SELECT record_id, person_id, captured_at, lon, lat, sent_lon, sent_lat, accuracy_m
    FROM fixes;
DROP TABLE fixes;
ALTER TABLE fixes_by_record RENAME TO fixes;
CREATE INDEX fixes_person_time ON fixes (person_id, captured_at);
CREATE INDEX fixes_person_point ON fixes (person_id, sent_lon, sent_lat);

CREATE TABLE records_by_id (
    id               TEXT   PRIMARY KEY NOT NULL,
    person_id        TEXT   NOT NULL REFERENCES people (id),
    kind             TEXT   NOT NULL,
    seq              BIGINT NOT NULL UNIQUE,
    captured_at      BIGINT NOT NULL,
    content_hash     BLOB   NOT NULL,
    unit_code        TEXT,
    actual_unit_code TEXT,
    geo              TEXT   NOT NULL,
    roster           TEXT   NOT NULL,
    response         TEXT   NOT NULL,
    refers_to        TEXT
);
INSERT INTO records_by_id (id, person_id, kind, seq, captured_at, content_hash, unit_code,
                           actual_unit_code, geo, roster, response, refers_to)
    SELECT r.id, r.person_id, r.kind, r.seq, r.captured_at, r.content_hash, r.unit_code,
           r.actual_unit_code, r.geo, r.roster,
           json_object('id', r.id, 'kind', r.kind, 'seq', r.seq, 'leaf_index', r.seq - 1,
                       'leaf_hash', lower(hex(l.leaf_hash)),
                       'received_at', strftime('%Y-%m-%dT%H:%M:%S', l.received_at / 1000000,
                                               'unixepoch')
                                      || printf('.%06dZ', l.received_at % 1000000),
                       'verdict', json_extract(l.verdicts, '$.verdict'),
                       'flags', json_extract(l.verdicts, '$.flags')),
           r.refers_to
    FROM records r JOIN ledger l ON l.seq = r.seq;
DROP TABLE records;
ALTER TABLE records_by_id RENAME TO records;
CREATE INDEX records_person_seq ON records (person_id, seq);
CREATE INDEX records_refers_to ON records (refers_to);
CREATE INDEX records_person_captured ON records (person_id, captured_at);
