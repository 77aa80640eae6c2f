-- Stripe event payloads (2–4 KB of JSON) stay in the row uncompressed.
-- With the default target of about 2 KB every webhook row was compressed
-- with pglz before it could be inserted: a sixth of the database's CPU time
-- while accepting webhooks, for rows that are read once by the worker and
-- kept only as the de-duplication memory. Rows larger than the target are
-- still compressed and moved out of line as before.

-- +goose Up
ALTER TABLE stripe_events SET (toast_tuple_target = 8160);

-- +goose Down
ALTER TABLE stripe_events RESET (toast_tuple_target);
