-- Payments: invoices copied from the CRM with their rollups, one row per
-- Stripe PaymentIntent, the receipt-number counter and the Stripe event
-- inbox. Money is INTEGER minor units with its currency beside it.

-- +goose Up
CREATE TABLE invoices (
    id              TEXT    PRIMARY KEY,
    number          TEXT    NOT NULL DEFAULT '',
    account_id      TEXT    NOT NULL DEFAULT '',
    total_amount    INTEGER NOT NULL,
    currency        TEXT    NOT NULL,
    due_date        INTEGER,
    auto_pay        INTEGER NOT NULL DEFAULT 0 CHECK (auto_pay IN (0, 1)),
    -- What the CRM holds (Status__c, Amount_Paid__c in currency), so that
    -- the ledger knows whether its rollup still has to be written back.
    crm_status      TEXT    NOT NULL,
    crm_amount_paid INTEGER NOT NULL DEFAULT 0,
    modstamp        INTEGER,
    deleted         INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    -- The rollup (stripesync.RollUp) over the invoice's payments.
    paid            INTEGER NOT NULL DEFAULT 0,
    pending         INTEGER NOT NULL DEFAULT 0,
    balance         INTEGER NOT NULL DEFAULT 0,
    credit          INTEGER NOT NULL DEFAULT 0,
    status          TEXT    NOT NULL,
    mismatched      INTEGER NOT NULL DEFAULT 0, -- payments in another currency
    updated_at      INTEGER NOT NULL
);

CREATE TABLE payments (
    id             TEXT    PRIMARY KEY, -- the PaymentIntent id
    invoice_id     TEXT    NOT NULL DEFAULT '',
    account_id     TEXT    NOT NULL DEFAULT '',
    customer_id    TEXT    NOT NULL DEFAULT '',
    amount         INTEGER NOT NULL,
    currency       TEXT    NOT NULL,
    refunded       INTEGER NOT NULL DEFAULT 0,
    status         TEXT    NOT NULL,
    method         TEXT    NOT NULL DEFAULT '',
    method_detail  TEXT    NOT NULL DEFAULT '',
    channel        TEXT    NOT NULL DEFAULT '',
    failure_reason TEXT    NOT NULL DEFAULT '',
    disputed       INTEGER NOT NULL DEFAULT 0 CHECK (disputed IN (0, 1)),
    created        INTEGER NOT NULL,
    paid_at        INTEGER,
    charge_id      TEXT    NOT NULL DEFAULT '',
    charge_created INTEGER,
    receipt_number TEXT    UNIQUE,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX payments_invoice_idx ON payments (invoice_id, created, id);

-- Counters that only grow, one row each (Postgres uses sequences): the
-- value is bumped inside the transaction that uses it.
CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);
-- The last receipt number handed out.
INSERT INTO counters (name, value) VALUES ('receipt_numbers', 0);

-- Stripe events, verified and stored before the webhook is acknowledged.
-- Processed events stay (35 days) as the de-duplication memory.
CREATE TABLE stripe_events (
    id                TEXT    PRIMARY KEY,
    type              TEXT    NOT NULL,
    created           INTEGER NOT NULL,
    api_version       TEXT    NOT NULL DEFAULT '',
    account           TEXT    NOT NULL DEFAULT '',
    object_id         TEXT    NOT NULL DEFAULT '',
    payment_intent_id TEXT    NOT NULL DEFAULT '',
    customer_id       TEXT    NOT NULL DEFAULT '',
    payload           BLOB    NOT NULL DEFAULT x'',
    received_at       INTEGER NOT NULL,
    locked_until      INTEGER,
    processed_at      INTEGER
);
CREATE INDEX stripe_events_unprocessed_idx ON stripe_events (created, id) WHERE processed_at IS NULL;
CREATE INDEX stripe_events_processed_idx ON stripe_events (processed_at) WHERE processed_at IS NOT NULL;

-- +goose Down
DROP TABLE stripe_events;
DROP TABLE counters;
DROP TABLE payments;
DROP TABLE invoices;
