ALTER TABLE records ADD COLUMN response TEXT;
UPDATE records SET response = json_build_object(
        'id', records.id, 'kind', records.kind, 'seq', records.seq,
        'leaf_index', records.seq - 1,
        'leaf_hash', encode(l.leaf_hash, 'hex'),
        'received_at', to_char(to_timestamp(l.received_at / 1000000.0) AT TIME ZONE 'UTC',
                               'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'verdict', (l.verdicts::json) -> 'verdict',
        'flags', (l.verdicts::json) -> 'flags')::text
    FROM ledger l WHERE l.seq = records.seq;
ALTER TABLE records ALTER COLUMN response SET NOT NULL;
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
CREATE INDEX records_person_seq ON records (person_id, seq);
