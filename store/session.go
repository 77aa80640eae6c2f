package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/stripesync/stripesync"
)

// CreateSession implements [stripesync.StaffSessions].
func (db *DB) CreateSession(ctx context.Context, s stripesync.StaffSession) error {
	if s.IDHash == "" || s.Staff == "" || s.CSRF == "" || s.Created.IsZero() {
		return stripesync.Errorf(stripesync.EINVALID, "store: a staff session needs its id hash, staff member, CSRF token and time")
	}
	const q = "INSERT INTO staff_sessions (id_hash, staff, csrf, created, last_seen) VALUES (?, ?, ?, ?, ?)"
	_, err := db.x.ExecContext(ctx, db.x.Rebind(q), s.IDHash, s.Staff, s.CSRF, db.ts(s.Created), db.ts(s.Created))
	return wrap(err, "create staff session for %s", s.Staff)
}

// TouchSession implements [stripesync.StaffSessions]. One statement checks
// both expiries and moves last_seen, so two requests of one session never
// revive it between them.
func (db *DB) TouchSession(ctx context.Context, idHash string, now time.Time, idle, absolute time.Duration) (stripesync.StaffSession, error) {
	var row struct {
		IDHash   string `db:"id_hash"`
		Staff    string `db:"staff"`
		CSRF     string `db:"csrf"`
		Created  dbTime `db:"created"`
		LastSeen dbTime `db:"last_seen"`
	}
	const q = "UPDATE staff_sessions SET last_seen = ? WHERE id_hash = ? AND last_seen > ? AND created > ?" +
		" RETURNING id_hash, staff, csrf, created, last_seen"
	err := db.x.GetContext(ctx, &row, db.x.Rebind(q), db.ts(now), idHash, db.ts(now.Add(-idle)), db.ts(now.Add(-absolute)))
	if errors.Is(err, sql.ErrNoRows) {
		return stripesync.StaffSession{}, stripesync.Errorf(stripesync.ENOTFOUND, "no staff session, or it has expired")
	}
	if err != nil {
		return stripesync.StaffSession{}, wrap(err, "read staff session")
	}
	return stripesync.StaffSession{
		IDHash: row.IDHash, Staff: row.Staff, CSRF: row.CSRF,
		Created: time.Time(row.Created), LastSeen: time.Time(row.LastSeen),
	}, nil
}

// DeleteSession implements [stripesync.StaffSessions].
func (db *DB) DeleteSession(ctx context.Context, idHash string) error {
	_, err := db.x.ExecContext(ctx, db.x.Rebind("DELETE FROM staff_sessions WHERE id_hash = ?"), idHash)
	return wrap(err, "delete staff session")
}
