-- The Postgres schema. Tables are created in the first schema of the
-- connection's search_path.

-- +goose Up
CREATE TABLE account_links (
    crm_id         text        PRIMARY KEY,
    stripe_id      text        NOT NULL DEFAULT '',
    policy         text        NOT NULL,
    state          text        NOT NULL,
    hash           text        NOT NULL DEFAULT '',
    version        bigint      NOT NULL DEFAULT 0,
    write_attempt bigint      NOT NULL DEFAULT 0,
    last_error     text        NOT NULL DEFAULT '',
    synced_at      timestamptz,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX account_links_stripe_id_idx ON account_links (stripe_id);

CREATE TABLE sync_cursors (
    name  text PRIMARY KEY,
    value timestamptz
);

CREATE TABLE sync_runs (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    status      text        NOT NULL,
    seen        bigint      NOT NULL DEFAULT 0,
    pushed      bigint      NOT NULL DEFAULT 0,
    skipped     bigint      NOT NULL DEFAULT 0,
    failed      bigint      NOT NULL DEFAULT 0,
    error       text        NOT NULL DEFAULT '',
    cursor_from timestamptz,
    cursor_to   timestamptz
);
CREATE INDEX sync_runs_kind_started_idx ON sync_runs (kind, started_at DESC, id DESC);

CREATE TABLE jobs (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text        NOT NULL,
    key          text        NOT NULL DEFAULT '',
    -- bytea, not jsonb: the payload comes back byte for byte.
    payload      bytea       NOT NULL DEFAULT '\x',
    attempts     integer     NOT NULL DEFAULT 0,
    max_attempts integer     NOT NULL CHECK (max_attempts > 0),
    run_at       timestamptz NOT NULL,
    locked_until timestamptz,
    last_error   text        NOT NULL DEFAULT '',
    dead         boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL
);
-- De-duplication: one live or dead job per (kind, key); an empty key opts out.
CREATE UNIQUE INDEX jobs_kind_key_idx ON jobs (kind, key) WHERE key <> '';
CREATE INDEX jobs_claim_idx ON jobs (kind, run_at, id) WHERE NOT dead;
CREATE INDEX jobs_dead_idx ON jobs (kind, id) WHERE dead;

CREATE TABLE schedule_ticks (
    job  text        NOT NULL,
    tick timestamptz NOT NULL,
    PRIMARY KEY (job, tick)
);

-- +goose Down
DROP TABLE schedule_ticks;
DROP TABLE jobs;
DROP TABLE sync_runs;
DROP TABLE sync_cursors;
DROP TABLE account_links;
