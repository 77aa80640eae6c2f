-- Payments: invoices copied from the CRM with their rollups, one row per
-- Stripe PaymentIntent, the receipt-number sequence and the Stripe event
-- inbox. Money is bigint minor units with its currency beside it.

-- +goose Up
CREATE TABLE invoices (
    id              text        PRIMARY KEY,
    number          text        NOT NULL DEFAULT '',
    account_id      text        NOT NULL DEFAULT '',
    total_amount    bigint      NOT NULL,
    currency        text        NOT NULL,
    due_date        timestamptz,
    auto_pay        boolean     NOT NULL DEFAULT false,
    -- What the CRM holds (Status__c, Amount_Paid__c in currency), so that
    -- the ledger knows whether its rollup still has to be written back.
    crm_status      text        NOT NULL,
    crm_amount_paid bigint      NOT NULL DEFAULT 0,
    modstamp        timestamptz,
    deleted         boolean     NOT NULL DEFAULT false,
    -- The rollup (stripesync.RollUp) over the invoice's payments.
    paid            bigint      NOT NULL DEFAULT 0,
    pending         bigint      NOT NULL DEFAULT 0,
    balance         bigint      NOT NULL DEFAULT 0,
    credit          bigint      NOT NULL DEFAULT 0,
    status          text        NOT NULL,
    mismatched      integer     NOT NULL DEFAULT 0, -- payments in another currency
    updated_at      timestamptz NOT NULL
);

CREATE TABLE payments (
    id             text        PRIMARY KEY, -- the PaymentIntent id
    invoice_id     text        NOT NULL DEFAULT '',
    account_id     text        NOT NULL DEFAULT '',
    customer_id    text        NOT NULL DEFAULT '',
    amount         bigint      NOT NULL,
    currency       text        NOT NULL,
    refunded       bigint      NOT NULL DEFAULT 0,
    status         text        NOT NULL,
    method         text        NOT NULL DEFAULT '',
    method_detail  text        NOT NULL DEFAULT '',
    channel        text        NOT NULL DEFAULT '',
    failure_reason text        NOT NULL DEFAULT '',
    disputed       boolean     NOT NULL DEFAULT false,
    created        timestamptz NOT NULL,
    paid_at        timestamptz,
    charge_id      text        NOT NULL DEFAULT '',
    charge_created timestamptz,
    receipt_number text        UNIQUE,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX payments_invoice_idx ON payments (invoice_id, created, id);

-- Receipt numbers: nextval inside the transaction that records the
-- success. A rolled-back transaction leaves a gap; numbers only grow.
CREATE SEQUENCE receipt_numbers;

-- Stripe events, verified and stored before the webhook is acknowledged.
-- Processed events stay (35 days) as the de-duplication memory.
CREATE TABLE stripe_events (
    id                text        PRIMARY KEY,
    type              text        NOT NULL,
    created           timestamptz NOT NULL,
    api_version       text        NOT NULL DEFAULT '',
    account           text        NOT NULL DEFAULT '',
    object_id         text        NOT NULL DEFAULT '',
    payment_intent_id text        NOT NULL DEFAULT '',
    customer_id       text        NOT NULL DEFAULT '',
    -- bytea, not jsonb: the payload comes back byte for byte.
    payload           bytea       NOT NULL DEFAULT '\x',
    received_at       timestamptz NOT NULL,
    locked_until      timestamptz,
    processed_at      timestamptz
);
CREATE INDEX stripe_events_unprocessed_idx ON stripe_events (created, id) WHERE processed_at IS NULL;
CREATE INDEX stripe_events_processed_idx ON stripe_events (processed_at) WHERE processed_at IS NOT NULL;

-- +goose Down
DROP TABLE stripe_events;
DROP SEQUENCE receipt_numbers;
DROP TABLE payments;
DROP TABLE invoices;
