package store

import (
	"context"
	"database/sql/driver"
	"sync"
	"time"

	"github.com/stripesync/stripesync"
)

// unlockTimeout bounds how long releasing a Postgres lock may take; release
// has no context of its own.
const unlockTimeout = 5 * time.Second

// TryLock takes the cluster-wide lock named key if it is free, without
// waiting. ok is false when someone else holds it. release gives it back; it
// is safe to call more than once.
//
// On Postgres the lock is a session advisory lock (key hashed into the
// advisory key space, per schema) on a connection set aside until release,
// so another process, or another TryLock in this one, cannot take it; if
// the process dies the server frees it with the session. On SQLite, which
// one process owns, it is an in-process lock of this DB.
func (db *DB) TryLock(ctx context.Context, key string) (release func(), ok bool, err error) {
	if key == "" {
		return nil, false, stripesync.Errorf(stripesync.EINVALID, "store: lock has no name")
	}
	if err := ctx.Err(); err != nil {
		return nil, false, wrap(err, "lock %q", key)
	}
	if db.dialect == DialectPostgres {
		return db.tryAdvisoryLock(ctx, key)
	}
	release, ok = db.local.try(key)
	return release, ok, nil
}

func (db *DB) tryAdvisoryLock(ctx context.Context, key string) (func(), bool, error) {
	conn, err := db.x.Conn(ctx)
	if err != nil {
		return nil, false, wrap(err, "lock %q", key)
	}
	id := db.advisoryKey(key)
	var ok bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", id).Scan(&ok); err != nil {
		discard(conn.Raw)
		return nil, false, wrap(err, "lock %q", key)
	}
	if !ok {
		conn.Close()
		return nil, false, nil
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
			defer cancel()
			var unlocked bool
			err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1)", id).Scan(&unlocked)
			if err != nil || !unlocked {
				// Ending the session is the other way to free the lock;
				// the connection must not go back to the pool holding it.
				db.logger.WarnContext(ctx, "advisory unlock failed; dropping the connection", "lock", key, "error", err)
				discard(conn.Raw)
				return
			}
			conn.Close()
		})
	}
	return release, true, nil
}

// discard closes a dedicated connection instead of returning it to the pool
// (database/sql drops a connection whose Raw callback reports it bad), which
// ends its session and any advisory lock the session holds. raw is the
// connection's Raw method.
func discard(raw func(func(any) error) error) {
	_ = raw(func(any) error { return driver.ErrBadConn })
}

// localLocks are TryLock's locks on SQLite.
type localLocks struct {
	mu   sync.Mutex
	held map[string]bool
}

func (l *localLocks) try(key string) (func(), bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[key] {
		return nil, false
	}
	if l.held == nil {
		l.held = make(map[string]bool)
	}
	l.held[key] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			delete(l.held, key)
		})
	}, true
}
