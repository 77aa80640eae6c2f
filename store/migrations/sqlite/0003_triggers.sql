-- The trigger inbox: CRM change notifications stored before they are
-- acknowledged, coalesced per record until a worker pushes the record.

-- +goose Up
-- Outbound Message notification ids already accepted (Salesforce redelivers
-- until it sees the ack). Forgotten after seven days.
CREATE TABLE seen_notifications (
    id      TEXT    PRIMARY KEY,
    seen_at INTEGER NOT NULL
);
CREATE INDEX seen_notifications_seen_idx ON seen_notifications (seen_at);

-- One row per record with work pending. Every trigger merged into the row
-- gives it a new, greater seq, so completing a claim can tell whether a
-- newer trigger arrived meanwhile.
CREATE TABLE pending_triggers (
    object          TEXT    NOT NULL,
    record_id       TEXT    NOT NULL,
    notification_id TEXT    NOT NULL DEFAULT '', -- the latest merged
    modstamp        INTEGER,                     -- the greatest merged
    received_at     INTEGER NOT NULL,            -- the first merged
    seq             INTEGER NOT NULL,
    not_before      INTEGER NOT NULL,
    locked_until    INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (object, record_id)
);
CREATE INDEX pending_triggers_claim_idx ON pending_triggers (received_at, object, record_id);
-- The source of seq: global, so a row deleted and created again never
-- reuses a number a worker may still hold.
INSERT INTO counters (name, value) VALUES ('trigger_seqs', 0);

-- +goose Down
DELETE FROM counters WHERE name = 'trigger_seqs';
DROP TABLE pending_triggers;
DROP TABLE seen_notifications;
