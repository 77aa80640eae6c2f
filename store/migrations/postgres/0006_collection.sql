-- Collection: the reservations that hold part of an invoice's balance for
-- a payment in progress, the link revocations, and the ledger's copy of
-- the methods customers saved in Stripe.

-- +goose Up
-- One row per reservation (stripesync.Reservation). Reserve counts the
-- unexpired rows of an invoice, except those bound to a PaymentIntent the
-- ledger records as Processing or Succeeded, against its balance, with the
-- invoice row locked FOR UPDATE.
CREATE TABLE reservations (
    key               text        PRIMARY KEY,
    invoice_id        text        NOT NULL,
    amount            bigint      NOT NULL CHECK (amount > 0),
    currency          text        NOT NULL,
    holder            text        NOT NULL,
    session_id        text        NOT NULL DEFAULT '',
    payment_intent_id text        NOT NULL DEFAULT '',
    expires_at        timestamptz NOT NULL,
    created           timestamptz NOT NULL
);
CREATE INDEX reservations_invoice_idx ON reservations (invoice_id, holder);
CREATE INDEX reservations_session_idx ON reservations (session_id);
CREATE INDEX reservations_payment_intent_idx ON reservations (payment_intent_id);

-- The latest time before which every link to the invoice was revoked.
CREATE TABLE link_revocations (
    invoice_id text        PRIMARY KEY,
    revoked_at timestamptz NOT NULL
);

-- When each customer's saved methods were last read from Stripe, and what
-- was read, in Stripe's order.
CREATE TABLE saved_method_fetches (
    customer_id text        PRIMARY KEY,
    fetched_at  timestamptz NOT NULL
);
CREATE TABLE saved_methods (
    customer_id text    NOT NULL REFERENCES saved_method_fetches (customer_id) ON DELETE CASCADE,
    position    integer NOT NULL,
    id          text    NOT NULL,
    type        text    NOT NULL,
    brand       text    NOT NULL DEFAULT '',
    last4       text    NOT NULL DEFAULT '',
    exp_month   integer NOT NULL DEFAULT 0,
    exp_year    integer NOT NULL DEFAULT 0,
    bank_name   text    NOT NULL DEFAULT '',
    is_default  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (customer_id, position)
);

-- An account's invoices, for the portal (AccountInvoices).
CREATE INDEX invoices_account_idx ON invoices (account_id, due_date);

-- +goose Down
DROP INDEX invoices_account_idx;
DROP TABLE saved_methods;
DROP TABLE saved_method_fetches;
DROP TABLE link_revocations;
DROP TABLE reservations;
