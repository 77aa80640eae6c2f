-- The SQLite schema. Timestamps are INTEGER unix microseconds in UTC (see
-- package doc); booleans are INTEGER 0/1.

-- +goose Up
CREATE TABLE account_links (
    crm_id         TEXT    PRIMARY KEY,
    stripe_id      TEXT    NOT NULL DEFAULT '',
    policy         TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    hash           TEXT    NOT NULL DEFAULT '',
    version        INTEGER NOT NULL DEFAULT 0,
    write_attempt INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT    NOT NULL DEFAULT '',
    synced_at      INTEGER,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX account_links_stripe_id_idx ON account_links (stripe_id);

CREATE TABLE sync_cursors (
    name  TEXT PRIMARY KEY,
    value INTEGER
);

CREATE TABLE sync_runs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    status      TEXT    NOT NULL,
    seen        INTEGER NOT NULL DEFAULT 0,
    pushed      INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    cursor_from INTEGER,
    cursor_to   INTEGER
);
CREATE INDEX sync_runs_kind_started_idx ON sync_runs (kind, started_at DESC, id DESC);

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    key          TEXT    NOT NULL DEFAULT '',
    payload      BLOB    NOT NULL DEFAULT x'',
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL CHECK (max_attempts > 0),
    run_at       INTEGER NOT NULL,
    locked_until INTEGER,
    last_error   TEXT    NOT NULL DEFAULT '',
    dead         INTEGER NOT NULL DEFAULT 0 CHECK (dead IN (0, 1)),
    created_at   INTEGER NOT NULL
);
-- De-duplication: one live or dead job per (kind, key); an empty key opts out.
CREATE UNIQUE INDEX jobs_kind_key_idx ON jobs (kind, key) WHERE key <> '';
CREATE INDEX jobs_claim_idx ON jobs (kind, run_at, id) WHERE NOT dead;
CREATE INDEX jobs_dead_idx ON jobs (kind, id) WHERE dead;

CREATE TABLE schedule_ticks (
    job  TEXT    NOT NULL,
    tick INTEGER NOT NULL,
    PRIMARY KEY (job, tick)
);

-- +goose Down
DROP TABLE schedule_ticks;
DROP TABLE jobs;
DROP TABLE sync_runs;
DROP TABLE sync_cursors;
DROP TABLE account_links;
