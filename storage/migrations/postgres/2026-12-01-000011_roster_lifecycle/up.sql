-- The roster's life cycle (docs/roster.md). A person is deactivated, not deleted; a password
-- change or an admin reset refuses every token issued before it (a token carries the generation
-- it was issued in; a change moves the person to the next);
-- an admin reset or an import makes the person choose their own password at next login.
ALTER TABLE people ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE people ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE people ADD COLUMN token_generation BIGINT NOT NULL DEFAULT 0;

-- Tokens given back at logout, until they would have expired anyway. Sessions are not evidence,
-- so this is not in the ledger.
CREATE TABLE revoked_tokens (
    jti        TEXT   PRIMARY KEY,
    person_id  TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);

CREATE INDEX assignments_unit ON assignments (unit_code);
