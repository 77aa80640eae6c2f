-- Each Stripe event settles on its own: a failed attempt is counted and
-- retried later, and an event that keeps failing moves to the dead letters
-- instead of being retried forever.

-- +goose Up
ALTER TABLE stripe_events ADD COLUMN attempts integer NOT NULL DEFAULT 0;
ALTER TABLE stripe_events ADD COLUMN last_error text NOT NULL DEFAULT '';
ALTER TABLE stripe_events ADD COLUMN dead_at timestamptz;
-- The claim order keeps the events of one PaymentIntent together (Stripe
-- sends charge.succeeded and payment_intent.succeeded in the same second),
-- so that one batch sees both snapshots. locked_until and received_at are
-- in the index so that a claim skips leased events (thousands, while the
-- engine waits to read them) without reading their rows.
DROP INDEX stripe_events_unprocessed_idx;
CREATE INDEX stripe_events_claim_idx ON stripe_events (created, payment_intent_id, id, locked_until, received_at)
    WHERE processed_at IS NULL AND dead_at IS NULL;
CREATE INDEX stripe_events_dead_idx ON stripe_events (dead_at) WHERE dead_at IS NOT NULL;

-- +goose Down
DROP INDEX stripe_events_dead_idx;
DROP INDEX stripe_events_claim_idx;
CREATE INDEX stripe_events_unprocessed_idx ON stripe_events (created, id) WHERE processed_at IS NULL;
ALTER TABLE stripe_events DROP COLUMN dead_at;
ALTER TABLE stripe_events DROP COLUMN last_error;
ALTER TABLE stripe_events DROP COLUMN attempts;
