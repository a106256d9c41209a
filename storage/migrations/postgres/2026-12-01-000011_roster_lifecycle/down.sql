DROP INDEX assignments_unit;
DROP TABLE revoked_tokens;
ALTER TABLE people DROP COLUMN token_generation;
ALTER TABLE people DROP COLUMN must_change_password;
ALTER TABLE people DROP COLUMN active;
