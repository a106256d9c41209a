-- Spot-checks (docs/spot-checks.md). Every table here is a projection of ledger entries
-- (spot_check.draw, .sample, .challenge, .outcome, .verification) and of household visits.

-- Household visits by household, for draws over visited households and for the visits a denied
-- verification contests. Keyed by the visit record's seq.
CREATE TABLE visits (
    seq          INTEGER PRIMARY KEY NOT NULL,
    household_id TEXT   NOT NULL,
    person_id    TEXT   NOT NULL,
    captured_at  BIGINT NOT NULL
);
CREATE INDEX visits_household ON visits (household_id, captured_at);
INSERT INTO visits (seq, household_id, person_id, captured_at)
    SELECT r.seq, json_extract(CAST(p.payload AS TEXT), '$.household_id'), r.person_id,
           r.captured_at
    FROM records r JOIN ledger_payloads p ON p.seq = r.seq
    WHERE r.kind = 'household_visit'
      AND json_extract(CAST(p.payload AS TEXT), '$.household_id') IS NOT NULL;

-- A committed draw: its parameters and population (as its spot_check.draw entry fixed them),
-- the checkpoint that seeded it and the sample (its spot_check.sample entry).
CREATE TABLE draws (
    id                TEXT PRIMARY KEY NOT NULL,
    seq               BIGINT NOT NULL UNIQUE,
    unit_code         TEXT   NOT NULL,
    unit_path         TEXT   NOT NULL,
    population        TEXT   NOT NULL,
    size              INTEGER NOT NULL,
    period            TEXT   NOT NULL,
    purpose           TEXT,
    emergency_reason  TEXT,
    drawn_by          TEXT,
    drawn_at          BIGINT NOT NULL,
    members           TEXT   NOT NULL,
    population_sha256 TEXT   NOT NULL,
    passed_over       TEXT   NOT NULL,
    checkpoint_size   BIGINT NOT NULL,
    sample            TEXT   NOT NULL,
    sample_seq        BIGINT NOT NULL
);
CREATE INDEX draws_path ON draws (unit_path, drawn_at);

-- One challenge per selected cadre; status is open until its outcome is decided.
CREATE TABLE challenges (
    id          TEXT PRIMARY KEY NOT NULL,
    seq         BIGINT NOT NULL UNIQUE,
    draw_id     TEXT   NOT NULL,
    person_id   TEXT   NOT NULL,
    nonce       TEXT   NOT NULL,
    issued_by   TEXT,
    issued_at   BIGINT NOT NULL,
    deadline    BIGINT NOT NULL,
    status      TEXT   NOT NULL,
    outcome_id  TEXT,
    answer_id   TEXT,
    answered_at BIGINT
);
CREATE INDEX challenges_person ON challenges (person_id, issued_at);
CREATE INDEX challenges_draw ON challenges (draw_id);
CREATE INDEX challenges_open ON challenges (status, deadline);

-- Results for supervisors to review (absent, missed, denied); never a penalty by themselves.
CREATE TABLE alerts (
    id         TEXT PRIMARY KEY NOT NULL,
    seq        BIGINT NOT NULL,
    kind       TEXT   NOT NULL,
    unit_code  TEXT,
    unit_path  TEXT   NOT NULL,
    person_id  TEXT,
    source_id  TEXT   NOT NULL,
    status     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    detail     TEXT   NOT NULL
);
CREATE INDEX alerts_path ON alerts (unit_path, created_at);

-- Visit records a denied household verification contradicts.
CREATE TABLE contests (
    record_id       TEXT   NOT NULL,
    verification_id TEXT   NOT NULL,
    seq             BIGINT NOT NULL,
    PRIMARY KEY (record_id, verification_id)
);

-- Household verifications (随机入户核查), by household and by the draw that chose them.
CREATE TABLE verifications (
    id           TEXT PRIMARY KEY NOT NULL,
    seq          BIGINT NOT NULL UNIQUE,
    household_id TEXT   NOT NULL,
    draw_id      TEXT,
    result       TEXT   NOT NULL,
    person_id    TEXT,
    verified_by  TEXT,
    verified_at  BIGINT NOT NULL
);
CREATE INDEX verifications_household ON verifications (household_id, verified_at);
CREATE INDEX verifications_draw ON verifications (draw_id);
