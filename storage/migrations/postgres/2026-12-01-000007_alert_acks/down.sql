DROP INDEX alerts_source;
ALTER TABLE alerts DROP COLUMN ack_seq;
ALTER TABLE alerts DROP COLUMN ack_note;
ALTER TABLE alerts DROP COLUMN acked_at;
ALTER TABLE alerts DROP COLUMN acked_by;
