-- The failure inbox: one row for each thing that failed to be paid (a
-- declined card, a returned debit, a failed verification, a missing Stripe
-- customer, a CRM write-back given up on), whatever its source, keyed by
-- what failed so that a failure seen again updates its row; and the
-- history of each row's status. notified is when the ops digest reported
-- the row (NULL: due in the next one).

-- +goose Up
CREATE TABLE failures (
    id          INTEGER PRIMARY KEY,
    dedup_key   TEXT NOT NULL UNIQUE,
    source      TEXT NOT NULL,
    invoice_id  TEXT NOT NULL DEFAULT '',
    account_id  TEXT NOT NULL DEFAULT '',
    payment_id  TEXT NOT NULL DEFAULT '',
    amount      BIGINT NOT NULL DEFAULT 0,
    currency    TEXT NOT NULL DEFAULT '',
    code        TEXT NOT NULL DEFAULT '',
    message     TEXT NOT NULL DEFAULT '',
    next_step   TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    occurrences INTEGER NOT NULL DEFAULT 1,
    retry_at    INTEGER,
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    notified    INTEGER
);
CREATE INDEX failures_status_idx ON failures (status, updated);
CREATE INDEX failures_invoice_idx ON failures (invoice_id);
CREATE INDEX failures_due_idx ON failures (id) WHERE notified IS NULL;

CREATE TABLE failure_changes (
    id         INTEGER PRIMARY KEY,
    failure_id INTEGER NOT NULL REFERENCES failures (id),
    at         INTEGER NOT NULL,
    status     TEXT NOT NULL,
    staff      TEXT NOT NULL DEFAULT '',
    note       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX failure_changes_failure_idx ON failure_changes (failure_id, id);

-- +goose Down
DROP TABLE failure_changes;
DROP TABLE failures;
