-- Who holds a lease: the claimer id (DB.Register) of the process that
-- claimed the row, NULL when that process did not register (a CLI command)
-- or the row is not leased. A process that starts after a crash releases the
-- leases of claimers it can prove dead (DB.ReclaimDead) instead of waiting
-- for them to run out. Only meaningful while locked_until is a lease: on
-- stripe_events locked_until is also a retry time, which clears it.

-- +goose Up
ALTER TABLE jobs ADD COLUMN claimed_by BIGINT;
ALTER TABLE stripe_events ADD COLUMN claimed_by BIGINT;
ALTER TABLE pending_triggers ADD COLUMN claimed_by BIGINT;

-- +goose Down
ALTER TABLE pending_triggers DROP COLUMN claimed_by;
ALTER TABLE stripe_events DROP COLUMN claimed_by;
ALTER TABLE jobs DROP COLUMN claimed_by;
