-- Receipt numbers without gaps. A sequence hands out numbers outside the
-- transaction, so a rolled-back payment left a hole in the receipts, which
-- accounting documents must not have. The number now comes from a counter
-- row bumped inside the transaction that records the success (as on
-- SQLite): a rollback takes its number back. Transactions that issue a
-- receipt wait for each other on the row, for the rest of their commit.

-- +goose Up
CREATE TABLE counters (
    name  text   PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO counters (name, value)
    SELECT 'receipt_numbers', CASE WHEN is_called THEN last_value ELSE 0 END FROM receipt_numbers;
DROP SEQUENCE receipt_numbers;

-- +goose Down
CREATE SEQUENCE receipt_numbers;
SELECT setval('receipt_numbers', GREATEST(value, 1), value > 0) FROM counters WHERE name = 'receipt_numbers';
DROP TABLE counters;
