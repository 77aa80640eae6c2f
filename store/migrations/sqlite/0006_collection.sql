-- Collection: the reservations that hold part of an invoice's balance for
-- a payment in progress, the link revocations, and the ledger's copy of
-- the methods customers saved in Stripe.

-- +goose Up
-- One row per reservation (stripesync.Reservation). Reserve counts the
-- unexpired rows of an invoice, except those bound to a PaymentIntent the
-- ledger records as Processing or Succeeded, against its balance.
CREATE TABLE reservations (
    key               TEXT    PRIMARY KEY,
    invoice_id        TEXT    NOT NULL,
    amount            INTEGER NOT NULL CHECK (amount > 0),
    currency          TEXT    NOT NULL,
    holder            TEXT    NOT NULL,
    session_id        TEXT    NOT NULL DEFAULT '',
    payment_intent_id TEXT    NOT NULL DEFAULT '',
    expires_at        INTEGER NOT NULL,
    created           INTEGER NOT NULL
);
CREATE INDEX reservations_invoice_idx ON reservations (invoice_id, holder);
CREATE INDEX reservations_session_idx ON reservations (session_id);
CREATE INDEX reservations_payment_intent_idx ON reservations (payment_intent_id);

-- The latest time before which every link to the invoice was revoked.
CREATE TABLE link_revocations (
    invoice_id TEXT    PRIMARY KEY,
    revoked_at INTEGER NOT NULL
);

-- When each customer's saved methods were last read from Stripe, and what
-- was read, in Stripe's order.
CREATE TABLE saved_method_fetches (
    customer_id TEXT    PRIMARY KEY,
    fetched_at  INTEGER NOT NULL
);
CREATE TABLE saved_methods (
    customer_id TEXT    NOT NULL REFERENCES saved_method_fetches (customer_id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    id          TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    brand       TEXT    NOT NULL DEFAULT '',
    last4       TEXT    NOT NULL DEFAULT '',
    exp_month   INTEGER NOT NULL DEFAULT 0,
    exp_year    INTEGER NOT NULL DEFAULT 0,
    bank_name   TEXT    NOT NULL DEFAULT '',
    is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
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
