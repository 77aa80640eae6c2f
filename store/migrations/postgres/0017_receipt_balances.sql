-- The balance a receipt shows: what was left to pay on the invoice right
-- after the payment, recorded in the transaction that numbers the receipt,
-- so that a receipt mailed, downloaded or re-sent later reads the same
-- however the invoice changes afterwards (a later payment, a refund of an
-- earlier one, a new total). Receipts numbered before this table existed
-- have no row; their balance is computed from the ledger as before.

-- +goose Up
CREATE TABLE receipt_balances (
    payment_id TEXT PRIMARY KEY,
    amount     BIGINT NOT NULL,
    currency   TEXT NOT NULL,
    created    timestamptz NOT NULL
);

-- +goose Down
DROP TABLE receipt_balances;
