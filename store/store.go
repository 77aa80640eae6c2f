package store

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripesync/stripesync"
)

// The ports of the root package that DB implements, checked at compile
// time: a method renamed on one side breaks the build here, not a wiring
// in cmd.
var (
	_ stripesync.Ledger             = (*DB)(nil)
	_ stripesync.Queue              = (*DB)(nil)
	_ stripesync.PaymentLedger      = (*DB)(nil)
	_ stripesync.TriggerInbox       = (*DB)(nil)
	_ stripesync.CollectionLedger   = (*DB)(nil)
	_ stripesync.PaymentLinkLedger  = (*DB)(nil)
	_ stripesync.LinkRevocations    = (*DB)(nil)
	_ stripesync.IdempotentRequests = (*DB)(nil)
	_ stripesync.StaffAudit         = (*DB)(nil)
	_ stripesync.StaffSessions      = (*DB)(nil)
)

// DB is the ledger and job queue on one database. It is safe for concurrent
// use by many goroutines.
type DB struct {
	x       *sqlx.DB
	dialect string
	logger  *slog.Logger
	// now is the clock for defaults (a job's run_at, a link's updated_at)
	// and for deciding which jobs are due; see WithClock.
	now func() time.Time
	// schema namespaces Postgres advisory locks; "" on SQLite.
	schema string
	// local holds the in-process locks TryLock hands out on SQLite.
	local *localLocks
	// events group-commits AcceptEvent calls; see batcher.
	events *batcher[acceptedEvent, bool]
	// triggerWindow delays a new pending trigger; see WithTriggerWindow.
	triggerWindow time.Duration
	// claimer is who this process's claims are recorded as; see Register.
	claimer *claimer
	// stmts are the hot reads prepared on Postgres; see prepared.
	stmts *preparedStmts
	// target is the parsed URL: the SQLite file (for Register's lock
	// file), and the password to scrub from the reasons Heartbeat shows
	// on /readyz.
	target target
}

// Open parses url ("sqlite:PATH", "postgres://…" or "postgresql://…"),
// opens the connection pool and checks that the database answers. It does
// not migrate; call [DB.Migrate]. A nil logger discards.
//
// A malformed URL is EINVALID; an unreachable server EUNAVAILABLE; rejected
// credentials EUNAUTHORIZED. No error quotes the URL's password.
func Open(ctx context.Context, url string, logger *slog.Logger) (*DB, error) {
	t, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	x, err := connect(t)
	if err != nil {
		return nil, stripesync.WrapError(stripesync.EINVALID, t.scrub(err), "database URL is not usable")
	}
	db := &DB{x: x, dialect: t.dialect, logger: logger, now: time.Now, local: &localLocks{},
		triggerWindow: DefaultTriggerWindow, claimer: &claimer{}, stmts: &preparedStmts{byQuery: map[string]*sqlx.Stmt{}},
		target: t}
	if err := x.PingContext(ctx); err != nil {
		x.Close()
		return nil, stripesync.WrapError(classify(err), t.scrub(err), "store: cannot open the %s database", t.dialect)
	}
	if db.schema, err = currentSchema(ctx, x, t.dialect); err != nil {
		x.Close()
		return nil, wrap(t.scrub(err), "read the current schema")
	}
	db.events = newBatcher(maxEventBatch, db.insertEvents)
	return db, nil
}

// Close commits the Stripe events already accepted and waiting for their
// group commit (or fails them, if the database does not answer), then
// gives up the claimer's proof of life (see Register), then closes the
// pool. Calls made afterwards fail with EUNAVAILABLE. It closes every DB
// made from this one by WithClock or WithTriggerWindow, too.
func (db *DB) Close() error {
	db.events.close()
	released := wrap(db.claimer.close(), "release the claimer")
	return errors.Join(released, wrap(db.x.Close(), "close"))
}

// Dialect reports the database in use: [DialectSQLite] or [DialectPostgres].
func (db *DB) Dialect() string { return db.dialect }

// Ping checks that the database answers. Readiness probes want
// [DB.Heartbeat], which also checks that it takes writes.
func (db *DB) Ping(ctx context.Context) error {
	return wrap(db.x.PingContext(ctx), "ping")
}

// WithClock returns a DB on the same pool whose clock is now: it decides
// which jobs are due and which leases have ended, and fills the times left
// zero (a job's RunAt, a link's UpdatedAt). Tests use it to move time
// without sleeping. Closing either DB closes both.
func (db *DB) WithClock(now func() time.Time) *DB {
	c := *db
	c.now = now
	return &c
}

// transact runs fn in a transaction, committing when fn returns nil and
// rolling back when it fails or panics (the panic continues). On SQLite the
// transaction starts with BEGIN IMMEDIATE, so fn holds the write lock.
func (db *DB) transact(ctx context.Context, fn func(tx *sqlx.Tx) error) (err error) {
	tx, err := db.x.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// oneRow returns ENOTFOUND ("store: <what> does not exist") when res
// changed no row.
func oneRow(res sql.Result, what string, args ...any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return wrap(err, what, args...)
	}
	if n == 0 {
		return stripesync.Errorf(stripesync.ENOTFOUND, "store: "+what+" does not exist", args...)
	}
	return nil
}
