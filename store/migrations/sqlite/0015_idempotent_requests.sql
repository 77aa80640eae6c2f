-- The staff API's Idempotency-Key memory: one row per (staff member, key),
-- holding the request's fingerprint and, once served, its response, so
-- that a retried request is answered with the first answer rather than
-- paying again, and a key reused with other parameters is refused. A row
-- without completed_at is a request being served (or abandoned by a
-- process that died: started_at tells, and a retry takes it over).

-- +goose Up
CREATE TABLE idempotent_requests (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    completed_at INTEGER,
    status       INTEGER NOT NULL DEFAULT 0,
    body         BLOB,
    PRIMARY KEY (scope, key)
);

-- +goose Down
DROP TABLE idempotent_requests;
