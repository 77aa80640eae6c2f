package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"

	"github.com/lib/pq"
	"github.com/stripesync/stripesync"
	"modernc.org/sqlite"
)

// Heartbeat checks that the ledger takes a write, for readiness probes: it
// upserts the one row of the heartbeat table. A ping is not enough, since a
// SQLite file the process may only read, or a Postgres standby, answers
// every read while each webhook's insert fails.
//
// A failure is EUNAVAILABLE, with the message "ledger not writable: " and
// the database's own reason, which never holds the URL's password, so that
// /readyz can show it to the operator.
func (db *DB) Heartbeat(ctx context.Context) error {
	const q = "INSERT INTO heartbeat (id, beat_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at"
	_, err := db.x.ExecContext(ctx, db.x.Rebind(q), db.ts(db.now()))
	if err == nil {
		return nil
	}
	return stripesync.WrapError(stripesync.EUNAVAILABLE, db.target.scrub(err),
		"ledger not writable: %s", db.target.scrubText(reason(err)))
}

// reason says in a few words why a statement failed, from the parts of err
// that are safe to show: the database's message, never a connection string.
func reason(err error) string {
	var (
		pe *pq.Error
		se *sqlite.Error
		ne net.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	case errors.As(err, &pe):
		return pe.Message
	case errors.As(err, &se):
		return se.Error()
	case errors.Is(err, sql.ErrConnDone):
		return "the connection pool is closed"
	case errors.As(err, &ne), errors.Is(err, driver.ErrBadConn):
		return "cannot reach the database server"
	}
	return "see the log"
}
