-- The payments staff took from bank accounts entered by hand, which wait
-- for the customer to read back the micro-deposits: staff verify by the
-- account's payment method (POST /v1/payment-methods/{id}/verify) and
-- Stripe verifies the PaymentIntent, which this table names. A newer
-- payment from the same account replaces the row.

-- +goose Up
CREATE TABLE bank_verifications (
    payment_method_id TEXT PRIMARY KEY,
    payment_intent_id TEXT NOT NULL,
    invoice_id        TEXT NOT NULL,
    created           timestamptz NOT NULL
);

-- +goose Down
DROP TABLE bank_verifications;
