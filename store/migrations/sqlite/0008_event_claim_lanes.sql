-- A claim reads two short index ranges instead of walking every unprocessed
-- event: the events never claimed (oldest first, the events of one
-- PaymentIntent side by side), and the events whose lease or retry time has
-- come (by that time). 0004's single index held the leased events too, so
-- while thousands waited in the read lane every claim stepped over all of
-- them, and its cost grew with the backlog rather than with the batch.

-- +goose Up
DROP INDEX stripe_events_claim_idx;
CREATE INDEX stripe_events_fresh_idx ON stripe_events (created, payment_intent_id, id, received_at)
    WHERE processed_at IS NULL AND dead_at IS NULL AND locked_until IS NULL;
CREATE INDEX stripe_events_leased_idx ON stripe_events (locked_until)
    WHERE processed_at IS NULL AND dead_at IS NULL AND locked_until IS NOT NULL;

-- +goose Down
DROP INDEX stripe_events_leased_idx;
DROP INDEX stripe_events_fresh_idx;
CREATE INDEX stripe_events_claim_idx ON stripe_events (created, payment_intent_id, id, locked_until, received_at)
    WHERE processed_at IS NULL AND dead_at IS NULL;
