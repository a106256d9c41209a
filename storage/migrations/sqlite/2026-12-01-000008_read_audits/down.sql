DROP TABLE read_audits;
