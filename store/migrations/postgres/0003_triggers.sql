-- The trigger inbox: CRM change notifications stored before they are
-- acknowledged, coalesced per record until a worker pushes the record.

-- +goose Up
-- Outbound Message notification ids already accepted (Salesforce redelivers
-- until it sees the ack). Forgotten after seven days.
CREATE TABLE seen_notifications (
    id      text        PRIMARY KEY,
    seen_at timestamptz NOT NULL
);
CREATE INDEX seen_notifications_seen_idx ON seen_notifications (seen_at);

-- One row per record with work pending. Every trigger merged into the row
-- gives it a new, greater seq, so completing a claim can tell whether a
-- newer trigger arrived meanwhile.
CREATE TABLE pending_triggers (
    object          text        NOT NULL,
    record_id       text        NOT NULL,
    notification_id text        NOT NULL DEFAULT '', -- the latest merged
    modstamp        timestamptz,                     -- the greatest merged
    received_at     timestamptz NOT NULL,            -- the first merged
    seq             bigint      NOT NULL,
    not_before      timestamptz NOT NULL,
    locked_until    timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    PRIMARY KEY (object, record_id)
);
CREATE INDEX pending_triggers_claim_idx ON pending_triggers (received_at, object, record_id);
-- The source of seq: global, so a row deleted and created again never
-- reuses a number a worker may still hold.
CREATE SEQUENCE trigger_seqs;

-- +goose Down
DROP SEQUENCE trigger_seqs;
DROP TABLE pending_triggers;
DROP TABLE seen_notifications;
