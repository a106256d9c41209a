-- Supervision outputs (docs/supervision.md): projections the writer keeps so that presence,
-- compliance, the bulletin and the archive never scan the ledger. Every row names its entry.

-- The flags of each flagged record (most records have none, so most records add no row),
-- by the cadre and the record's captured_at, for the flags of a presence day.
CREATE TABLE record_flags (
    seq         BIGINT PRIMARY KEY NOT NULL,
    person_id   TEXT   NOT NULL,
    captured_at BIGINT NOT NULL,
    flags       TEXT   NOT NULL
);
CREATE INDEX record_flags_person ON record_flags (person_id, captured_at);
INSERT INTO record_flags (seq, person_id, captured_at, flags)
    SELECT r.seq, r.person_id, r.captured_at,
           (SELECT string_agg(f, ',') FROM jsonb_array_elements_text(l.verdicts::jsonb -> 'flags') AS f)
    FROM records r JOIN ledger l ON l.seq = r.seq
    WHERE l.verdicts IS NOT NULL AND jsonb_array_length(COALESCE(l.verdicts::jsonb -> 'flags', '[]'::jsonb)) > 0;

-- Supervisors' notes by the cadre they are about (the record itself is the supervisor's).
CREATE TABLE notes (
    record_id   TEXT PRIMARY KEY NOT NULL,
    seq         BIGINT NOT NULL UNIQUE,
    person_id   TEXT   NOT NULL,
    author_id   TEXT   NOT NULL,
    category    TEXT   NOT NULL,
    captured_at BIGINT NOT NULL
);
CREATE INDEX notes_person ON notes (person_id, captured_at);
INSERT INTO notes (record_id, seq, person_id, author_id, category, captured_at)
    SELECT r.id, r.seq, (convert_from(p.payload, 'UTF8')::jsonb ->> 'person_id'), r.person_id,
           (convert_from(p.payload, 'UTF8')::jsonb ->> 'category'), r.captured_at
    FROM records r JOIN ledger_payloads p ON p.seq = r.seq
    WHERE r.kind = 'note';

-- Decided negative-list items (负面清单): proposals are derived from the facts when listed;
-- a decision fixes the item as it stood (its negative_item.decision entry).
CREATE TABLE negative_decisions (
    item_id    TEXT PRIMARY KEY NOT NULL,
    seq        BIGINT NOT NULL UNIQUE,
    rule       TEXT   NOT NULL,
    person_id  TEXT   NOT NULL,
    unit_code  TEXT   NOT NULL,
    unit_path  TEXT   NOT NULL,
    month      TEXT   NOT NULL,
    fact_date  TEXT   NOT NULL,
    decision   TEXT   NOT NULL,
    note       TEXT   NOT NULL,
    decided_by TEXT,
    decided_at BIGINT NOT NULL,
    item       TEXT   NOT NULL
);
CREATE INDEX negative_decisions_month ON negative_decisions (month, unit_path);
CREATE INDEX negative_decisions_person ON negative_decisions (person_id, fact_date);

-- Actions taken on a cadre's escalation level (学习, 约谈, 处罚), each an escalation.action entry.
CREATE TABLE escalation_actions (
    seq         BIGINT PRIMARY KEY NOT NULL,
    id          TEXT   NOT NULL UNIQUE,
    person_id   TEXT   NOT NULL,
    level       INTEGER NOT NULL,
    name        TEXT   NOT NULL,
    note        TEXT   NOT NULL,
    taken_on    TEXT   NOT NULL,
    recorded_by TEXT,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX escalation_actions_person ON escalation_actions (person_id, seq);

-- Published (frozen) monthly bulletins; the document itself is the entry's payload.
CREATE TABLE bulletins (
    seq          BIGINT PRIMARY KEY NOT NULL,
    unit_code    TEXT   NOT NULL,
    month        TEXT   NOT NULL,
    sha256       TEXT   NOT NULL,
    published_by TEXT,
    published_at BIGINT NOT NULL
);
CREATE INDEX bulletins_unit_month ON bulletins (unit_code, month, seq);
