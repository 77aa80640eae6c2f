-- The readiness probe's write: GET /readyz upserts this one row, so that a
-- ledger that answers reads but refuses writes (a standby after a failover,
-- a read-only transaction default, a full disk) is reported not ready
-- instead of answering every webhook with 503 while the probe says all is
-- well. Replicas share the row: the probe needs a write, not a record.

-- +goose Up
CREATE TABLE heartbeat (
    id      integer     PRIMARY KEY CHECK (id = 1),
    beat_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE heartbeat;
