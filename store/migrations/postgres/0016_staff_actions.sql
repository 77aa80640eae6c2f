-- The audit trail of staff actions (payments taken, links sent, receipts
-- re-sent, verifications): who, what, when and the outcome, shown on the
-- invoice. Rows are only ever appended.

-- +goose Up
CREATE TABLE staff_actions (
    id         BIGSERIAL PRIMARY KEY,
    at         timestamptz NOT NULL,
    staff      TEXT NOT NULL,
    action     TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    payment_id TEXT NOT NULL DEFAULT '',
    outcome    TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX staff_actions_invoice_idx ON staff_actions (invoice_id, id);

-- +goose Down
DROP TABLE staff_actions;
