-- The readiness probe's write: GET /readyz upserts this one row, so that a
-- ledger that answers reads but refuses writes (a read-only file or
-- filesystem, a full disk) is reported not ready instead of answering
-- every webhook with 503 while the probe says all is well.

-- +goose Up
CREATE TABLE heartbeat (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    beat_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE heartbeat;
