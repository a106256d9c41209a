-- Acknowledging an alert (docs/alerts.md): who looked at it, when, what they noted, and the
-- alert.ack entry that says so. The alert itself stays; only where it stands changes.
ALTER TABLE alerts ADD COLUMN acked_by TEXT;
ALTER TABLE alerts ADD COLUMN acked_at BIGINT;
ALTER TABLE alerts ADD COLUMN ack_note TEXT;
ALTER TABLE alerts ADD COLUMN ack_seq BIGINT;
CREATE INDEX alerts_source ON alerts (source_id);
