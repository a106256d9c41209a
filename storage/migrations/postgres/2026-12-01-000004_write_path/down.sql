ALTER TABLE records ADD CONSTRAINT records_person_id_fkey
    FOREIGN KEY (person_id) REFERENCES people (id);
ALTER TABLE ledger_payloads ADD CONSTRAINT ledger_payloads_seq_fkey
    FOREIGN KEY (seq) REFERENCES ledger (seq);
ALTER TABLE fixes DROP CONSTRAINT fixes_pkey;
ALTER TABLE fixes DROP COLUMN seq;
ALTER TABLE fixes ADD PRIMARY KEY (record_id);
CREATE INDEX fixes_person_time ON fixes (person_id, captured_at);
CREATE INDEX fixes_person_point ON fixes (person_id, sent_lon, sent_lat);
CREATE INDEX records_refers_to ON records (refers_to);
