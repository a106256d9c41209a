-- Webhooks (docs/alerts.md): where an admin asked alerts to be sent, and the outbox of their
-- deliveries. A delivery row is written in the same transaction as the alert it carries, so an
-- alert that committed is never without its deliveries; the sender works through the outbox
-- and keeps each delivery's log here. The secret signs deliveries (Standard Webhooks), so it is
-- kept as given out: it is shown once, never listed.
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY NOT NULL,
    url         TEXT   NOT NULL,
    unit_code   TEXT   NOT NULL,
    unit_path   TEXT   NOT NULL,
    events      TEXT,
    secret      TEXT   NOT NULL,
    created_by  TEXT,
    created_at  BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    deleted_at  BIGINT,
    deleted_seq BIGINT
);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    webhook_id      TEXT   NOT NULL REFERENCES webhooks (id),
    alert_id        TEXT   NOT NULL,
    event_type      TEXT   NOT NULL,
    body            TEXT   NOT NULL,
    state           TEXT   NOT NULL,
    attempts        INTEGER NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    last_attempt_at BIGINT,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, created_at);
