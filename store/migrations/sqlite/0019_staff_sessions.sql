-- The staff console's sessions: a staff member signs in with their token
-- and the browser then carries a random session id in a cookie. Only the
-- id's SHA-256 is stored, so a copy of the table opens no session. csrf is
-- the token every console form carries. A session ends when it has been
-- idle too long or is too old (the daemon decides both when it reads one),
-- or when its staff member signs out.

-- +goose Up
CREATE TABLE staff_sessions (
    id_hash   TEXT PRIMARY KEY,
    staff     TEXT NOT NULL,
    csrf      TEXT NOT NULL,
    created   INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
);
CREATE INDEX staff_sessions_last_seen_idx ON staff_sessions (last_seen);

-- +goose Down
DROP TABLE staff_sessions;
