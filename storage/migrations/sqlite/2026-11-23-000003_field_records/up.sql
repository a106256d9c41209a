-- Projections for the full field record. All of them are rebuildable from the ledger; the
-- ledger stays the only source of truth.

-- The record a leave_return, dispute or correction is about.
ALTER TABLE records ADD COLUMN refers_to TEXT;
CREATE INDEX records_refers_to ON records (refers_to);
CREATE INDEX records_person_captured ON records (person_id, captured_at);

-- Every fix a person sent, for the speed and repeated-fix checks: WGS-84 and as sent.
CREATE TABLE fixes (
    record_id   TEXT   PRIMARY KEY NOT NULL,
    person_id   TEXT   NOT NULL,
    captured_at BIGINT NOT NULL,
    lon         DOUBLE NOT NULL,
    lat         DOUBLE NOT NULL,
    sent_lon    DOUBLE NOT NULL,
    sent_lat    DOUBLE NOT NULL,
    accuracy_m  DOUBLE NOT NULL
);
CREATE INDEX fixes_person_time ON fixes (person_id, captured_at);
CREATE INDEX fixes_person_point ON fixes (person_id, sent_lon, sent_lat);

-- The phone bound to each person (常用手机); the latest row wins.
CREATE TABLE device_bindings (
    seq       BIGINT PRIMARY KEY NOT NULL,
    person_id TEXT   NOT NULL,
    device_id TEXT   NOT NULL
);
CREATE INDEX device_bindings_person ON device_bindings (person_id, seq);

-- Each unit's own policy overrides, every version; the latest row per unit is in force.
CREATE TABLE policies (
    seq       BIGINT PRIMARY KEY NOT NULL,
    unit_code TEXT   NOT NULL,
    body      TEXT   NOT NULL
);
CREATE INDEX policies_unit ON policies (unit_code, seq);

CREATE TABLE pairings (
    id           TEXT   PRIMARY KEY NOT NULL,
    person_id    TEXT   NOT NULL,
    household_id TEXT   NOT NULL,
    valid_from   TEXT   NOT NULL,
    valid_to     TEXT,
    seq          BIGINT NOT NULL
);
CREATE INDEX pairings_person ON pairings (person_id);
CREATE INDEX pairings_household ON pairings (household_id);

-- Leave, trips, corrections and disputes: what a supervisor decides, and how it stands.
CREATE TABLE requests (
    record_id      TEXT   PRIMARY KEY NOT NULL,
    person_id      TEXT   NOT NULL,
    kind           TEXT   NOT NULL,
    refers_to      TEXT,
    date_from      TEXT,
    date_to        TEXT,
    corrected_at   BIGINT,
    corrected_geo  TEXT,
    status         TEXT   NOT NULL,
    decision_seq   BIGINT,
    decided_by     TEXT,
    decided_at     BIGINT,
    decision_note  TEXT,
    returned_on    TEXT
);
CREATE INDEX requests_person ON requests (person_id, kind);
CREATE INDEX requests_refers_to ON requests (refers_to);

-- The duty rota (值班).
CREATE TABLE duties (
    record_id TEXT   PRIMARY KEY NOT NULL,
    person_id TEXT   NOT NULL,
    unit_code TEXT   NOT NULL,
    day       TEXT   NOT NULL,
    seq       BIGINT NOT NULL
);
CREATE INDEX duties_person_day ON duties (person_id, day);

-- Photos, stored as files named by their SHA-256; one row per person who sent each.
CREATE TABLE attachments (
    sha256      TEXT   NOT NULL,
    uploaded_by TEXT   NOT NULL,
    size        BIGINT NOT NULL,
    media_type  TEXT   NOT NULL,
    uploaded_at BIGINT NOT NULL,
    PRIMARY KEY (sha256, uploaded_by)
);
