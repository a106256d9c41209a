-- Fewer indexes per record for the group writer: only what reads use stays.

-- The writer compares fixes in memory; nothing reads fixes by point or records by refers_to
-- (requests carry their own refers_to index).
DROP INDEX fixes_person_point;
DROP INDEX records_refers_to;
-- One index by person, not two: each is a page to update per cadre in every commit; a cadre's
-- history in seq order is found through (person_id, captured_at) too.
DROP INDEX records_person_seq;

-- Fixes keyed by their entry's seq, which only grows. A person's fixes are found through
-- records (person_id, captured_at), indexed already, instead of through two indexes of their own
-- that every insert had to update at each person's place.
ALTER TABLE fixes ADD COLUMN seq BIGINT;
UPDATE fixes SET seq = records.seq FROM records WHERE records.id = fixes.record_id;
ALTER TABLE fixes ALTER COLUMN seq SET NOT NULL;
ALTER TABLE fixes DROP CONSTRAINT fixes_pkey;
DROP INDEX fixes_person_time;
ALTER TABLE fixes ADD PRIMARY KEY (seq);

-- The writer writes an entry, its payload and its record in the same statement group of one
-- transaction, and `fieldtrail check-store` proves the references afterwards. On PostgreSQL each
-- foreign-key check is a query of its own per inserted row (RI triggers), which cost more than
-- half of the server's time per record; on these two append-only tables they go.
ALTER TABLE ledger_payloads DROP CONSTRAINT ledger_payloads_seq_fkey;
ALTER TABLE records DROP CONSTRAINT records_person_id_fkey;

-- The answer given at submission is rebuilt from the record's ledger entry (seq, leaf hash,
-- received_at, verdicts), which holds every part of it already: it is not stored twice.
ALTER TABLE records DROP COLUMN response;
