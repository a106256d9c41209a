-- Retention (docs/privacy.md): which records name which photos, so that `fieldtrail purge` can
-- remove an attachment once no record whose payload is kept names it, and photos uploaded but
-- never sent with a record go after a grace period. The digests are in the entries' headers
-- (verdicts), which this projection is backfilled from.
CREATE TABLE record_attachments (
    sha256 TEXT   NOT NULL,
    seq    BIGINT NOT NULL,
    PRIMARY KEY (sha256, seq)
);
CREATE INDEX record_attachments_seq ON record_attachments (seq);
INSERT INTO record_attachments (sha256, seq)
SELECT DISTINCT j.value, l.seq
FROM ledger l, json_each(l.verdicts, '$.attachments') j
WHERE l.verdicts LIKE '%"attachments"%';
