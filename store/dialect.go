package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/stripesync/stripesync"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// This file holds everything that differs between SQLite and Postgres, apart
// from the two migration directories. Queries elsewhere are shared.

// The dialects, as [DB.Dialect] reports them. They are also the database/sql
// driver names.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

func init() {
	// sqlx knows "sqlite3" (mattn) but not "sqlite" (modernc). An unknown
	// name happens to mean "?" too, but say it rather than rely on it.
	sqlx.BindDriver(DialectSQLite, sqlx.QUESTION)
}

// sqliteBusyTimeout is how long a SQLite connection waits for another
// process's write lock before failing with SQLITE_BUSY.
const sqliteBusyTimeout = 10 * time.Second

// postgresMaxConns bounds one process's share of the server's
// max_connections (100 by default), leaving room for a few replicas. Each lock
// held through TryLock pins one of them, and so does Register's.
const postgresMaxConns = 10

// connect opens and configures the pool for t; it does not touch the server.
func connect(t target) (*sqlx.DB, error) {
	switch t.dialect {
	case DialectSQLite:
		// WAL lets readers proceed during a write; immediate transactions
		// take the write lock at BEGIN, so two writers queue on the busy
		// timeout instead of one failing when it upgrades a read lock.
		dsn := fmt.Sprintf("%s?_busy_timeout=%d&_foreign_keys=1&_journal_mode=WAL&_txlock=immediate",
			t.path, sqliteBusyTimeout.Milliseconds())
		// sql.Open connects to nothing; it finds the registered driver,
		// whose connections stmtCacheConnector wraps.
		registered, err := sql.Open(DialectSQLite, dsn)
		if err != nil {
			return nil, err
		}
		x := sqlx.NewDb(sql.OpenDB(stmtCacheConnector{driver: registered.Driver(), dsn: dsn}), DialectSQLite)
		_ = registered.Close()
		// One connection: SQLite has a single writer, and one connection
		// serialises this process's calls without SQLITE_BUSY between them.
		x.SetMaxOpenConns(1)
		x.SetMaxIdleConns(1)
		x.SetConnMaxLifetime(0)
		x.SetConnMaxIdleTime(0)
		return x, nil
	case DialectPostgres:
		cfg, err := pq.NewConfig(t.dsn)
		if err != nil {
			return nil, err
		}
		// Without binary parameters lib/pq spends two round trips on a
		// query with arguments (parse, then bind and execute); with them,
		// one, and []byte (the bytea payloads) goes as is instead of hex.
		cfg.BinaryParameters = true
		connector, err := pq.NewConnectorConfig(cfg)
		if err != nil {
			return nil, err
		}
		x := sqlx.NewDb(sql.OpenDB(connector), DialectPostgres)
		x.SetMaxOpenConns(postgresMaxConns)
		x.SetMaxIdleConns(postgresMaxConns / 2)
		x.SetConnMaxIdleTime(5 * time.Minute)
		return x, nil
	}
	return nil, fmt.Errorf("unknown dialect %q", t.dialect)
}

// gooseDialect names the dialect for the migration tool.
func (db *DB) gooseDialect() goose.Dialect {
	if db.dialect == DialectPostgres {
		return goose.DialectPostgres
	}
	return goose.DialectSQLite3
}

// skipLocked is appended to the SELECT that picks jobs to claim. On Postgres
// it lets concurrent claimers pass over each other's rows; SQLite needs
// nothing, its immediate transaction already excludes other writers.
func (db *DB) skipLocked() string {
	if db.dialect == DialectPostgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// ts converts t into the value stored for it: NULL for the zero time,
// otherwise UTC truncated to the microsecond (Postgres would round instead,
// so truncating first keeps both dialects identical), as unix microseconds
// on SQLite and as a timestamptz on Postgres.
func (db *DB) ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	t = t.UTC().Truncate(time.Microsecond)
	if db.dialect == DialectSQLite {
		return t.UnixMicro()
	}
	return t
}

// dbTime reads a timestamp column written by ts on either dialect.
type dbTime time.Time

func (t *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*t = dbTime{}
	case int64:
		*t = dbTime(time.UnixMicro(v).UTC())
	case time.Time:
		*t = dbTime(v.UTC())
	default:
		return fmt.Errorf("store: cannot read %T as a timestamp", src)
	}
	return nil
}

// currentSchema returns the schema unqualified names resolve to on Postgres
// ("" on SQLite). Advisory locks are database-wide, so their keys are
// namespaced by it: deployments (or tests) in different schemas of one
// database never share a lock.
func currentSchema(ctx context.Context, x *sqlx.DB, dialect string) (string, error) {
	if dialect != DialectPostgres {
		return "", nil
	}
	var schema sql.NullString
	if err := x.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return "", err
	}
	if !schema.Valid {
		return "", stripesync.Errorf(stripesync.EINVALID, "the database URL's search_path names no existing schema")
	}
	return schema.String, nil
}

// advisoryKey hashes a lock name into the int64 key space of
// pg_try_advisory_lock, within the DB's schema.
func (db *DB) advisoryKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(db.schema))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// forUpdate is appended to a SELECT that reads a row the transaction will
// rewrite from what it read: on Postgres it locks the row until commit.
// SQLite needs nothing, its immediate transaction already excludes other
// writers.
func (db *DB) forUpdate() string {
	if db.dialect == DialectPostgres {
		return " FOR UPDATE"
	}
	return ""
}

// lockNames takes transaction-scoped locks on names (such as "invoice:"+id)
// that are held until tx ends. They serialise the transactions that derive
// one row from others (an invoice's rollup from its payments) even when the
// row does not exist yet, which a row lock cannot do. On Postgres they are
// advisory locks, taken in key order so that two transactions never wait
// on each other in a cycle; SQLite needs none, its immediate transactions
// already run one at a time.
func (db *DB) lockNames(ctx context.Context, tx *sqlx.Tx, names ...string) error {
	if db.dialect != DialectPostgres || len(names) == 0 {
		return nil
	}
	keys := make([]int64, len(names))
	for i, n := range names {
		keys[i] = db.advisoryKey(n)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	// unnest yields the keys in array order, so the locks are taken in it.
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k", pq.Array(keys))
	return err
}

// The counters that only grow. Receipt numbers are a row of the counters
// table on both dialects (nextNumbers: no gaps); the trigger sequence is
// a Postgres sequence (nextValues: gaps allowed, no waiting).
const (
	counterReceipts = "receipt_numbers"
	counterTriggers = "trigger_seqs"
)

// nextValues draws n values from counter inside tx, each greater than any
// drawn before. On Postgres a sequence hands them out without blocking
// other transactions, and a rollback leaves a gap; on SQLite they come from
// the counters table, as nextNumbers draws them.
func (db *DB) nextValues(ctx context.Context, tx *sqlx.Tx, counter string, n int) ([]int64, error) {
	if n <= 0 || db.dialect != DialectPostgres {
		return db.nextNumbers(ctx, tx, counter, n)
	}
	vals := make([]int64, 0, n)
	if err := tx.SelectContext(ctx, &vals, "SELECT nextval($1::regclass) FROM generate_series(1, $2)", counter, n); err != nil {
		return nil, err
	}
	slices.Sort(vals)
	return vals, nil
}

// nextNumbers draws the next n numbers of counter, a row of the counters
// table, inside tx: consecutive, and taken back if tx rolls back, so the
// numbers that reach the ledger have no gaps. The row stays locked until
// tx ends (on SQLite the immediate transaction excludes other writers
// anyway), so concurrent transactions that draw take turns.
func (db *DB) nextNumbers(ctx context.Context, tx *sqlx.Tx, counter string, n int) ([]int64, error) {
	if n <= 0 {
		return nil, nil
	}
	var last int64
	err := tx.QueryRowxContext(ctx, tx.Rebind("UPDATE counters SET value = value + ? WHERE name = ? RETURNING value"), n, counter).Scan(&last)
	if err != nil {
		return nil, err
	}
	vals := make([]int64, 0, n)
	for v := last - int64(n) + 1; v <= last; v++ {
		vals = append(vals, v)
	}
	return vals, nil
}

// valuesRows is the VALUES list of a multi-row statement: rows groups of
// cols placeholders, "(?, ?), (?, ?)". The caller binds rows×cols
// arguments, row after row, and Rebinds the query.
func valuesRows(rows, cols int) string {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	return strings.Repeat(row+", ", rows-1) + row
}
