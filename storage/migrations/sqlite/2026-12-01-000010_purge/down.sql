DROP TABLE record_attachments;
