-- Fewer indexes per record for the group writer: only what reads use stays.

-- The writer compares fixes in memory; nothing reads fixes by point or records by refers_to
-- (requests carry their own refers_to index).
DROP INDEX fixes_person_point;
DROP INDEX records_refers_to;

-- Fixes are only ever read by person and time: that is their key, instead of a record_id key
-- and a (person, time) index beside it.
ALTER TABLE fixes DROP CONSTRAINT fixes_pkey;
DROP INDEX fixes_person_time;
ALTER TABLE fixes ADD PRIMARY KEY (person_id, captured_at, record_id);
