package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/stripesync/stripesync"
)

// Cursor returns the named watermark (e.g. the SystemModstamp the account
// push has reached), or the zero time when none was saved.
func (db *DB) Cursor(ctx context.Context, name string) (time.Time, error) {
	var at dbTime
	err := db.x.QueryRowxContext(ctx, db.x.Rebind("SELECT value FROM sync_cursors WHERE name = ?"), name).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, wrap(err, "read cursor %q", name)
	}
	return time.Time(at), nil
}

// SetCursor saves the named watermark, truncated to the microsecond. Saving
// the zero time resets it.
func (db *DB) SetCursor(ctx context.Context, name string, at time.Time) error {
	if name == "" {
		return stripesync.Errorf(stripesync.EINVALID, "store: cursor has no name")
	}
	const q = "INSERT INTO sync_cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"
	_, err := db.x.ExecContext(ctx, db.x.Rebind(q), name, db.ts(at))
	return wrap(err, "save cursor %q", name)
}
