package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"strings"
)

// SQLite compiles every statement it runs, and the pure-Go build of it
// (modernc.org/sqlite) does so slowly: before this cache, compiling was a
// third of the CPU time a staff payment spent in the daemon, more than the
// commits. database/sql only reuses a compiled statement the caller
// prepared itself (a Stmt), which inside a transaction on the single
// SQLite connection cannot be done (preparing one waits for a free
// connection), so every query was compiled afresh. The connections
// therefore keep their compiled statements by query text: the ledger's
// queries are constants, or built from a few shapes (IN lists, VALUES
// rows), so a bounded cache holds the ones in use.
//
// Postgres is left as it is: lib/pq with binary parameters already sends
// a query and its arguments in one round trip, and named prepared
// statements do not survive a connection pooler in transaction mode.

// sqliteStmtCacheSize bounds the compiled statements one SQLite connection
// keeps; the least recently used is dropped beyond it.
const sqliteStmtCacheSize = 256

// sqliteConn is what database/sql uses of a modernc.org/sqlite connection,
// and so what stmtCacheConn passes through.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// runnableStmt is a compiled statement that runs with a context, as
// modernc.org/sqlite's do; any other is not kept.
type runnableStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// stmtCacheConnector opens SQLite connections that keep their compiled
// statements (stmtCacheConn).
type stmtCacheConnector struct {
	driver driver.Driver
	dsn    string
}

func (c stmtCacheConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.driver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(sqliteConn)
	if !ok {
		return conn, nil // another driver: no cache, but it works
	}
	return &stmtCacheConn{sqliteConn: sc, byQuery: map[string]*list.Element{}, lru: list.New()}, nil
}

func (c stmtCacheConnector) Driver() driver.Driver { return c.driver }

// stmtCacheConn is a SQLite connection that runs each query through a
// statement compiled once and kept, by query text. Like any driver.Conn
// it is used by one goroutine at a time (database/sql holds its lock
// while a statement runs or its rows close), so it needs no lock of its
// own.
type stmtCacheConn struct {
	sqliteConn
	byQuery map[string]*list.Element // of *cachedStmt, in lru
	lru     *list.List               // most recently used first
}

// cachedStmt is a compiled statement and whether rows of it are open: a
// statement steps through one result at a time, so a query repeated
// while its rows are open (a nested read in a transaction) runs
// uncached.
type cachedStmt struct {
	query   string
	stmt    driver.Stmt
	busy    bool
	dropped bool // out of the cache; closed once its rows are
}

// cacheable tells the queries worth keeping: a script (several
// statements) is compiled statement by statement on every run whatever
// is kept, and transaction control is not run through here anyway.
func cacheable(query string) bool {
	return !strings.Contains(query, ";")
}

// stmt returns the kept statement for query, compiling and keeping it
// first if need be; nil when query runs uncached (not cacheable, or busy).
func (c *stmtCacheConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if !cacheable(query) {
		return nil, nil
	}
	if e, ok := c.byQuery[query]; ok {
		s := e.Value.(*cachedStmt)
		if s.busy {
			return nil, nil
		}
		c.lru.MoveToFront(e)
		return s, nil
	}
	ds, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if _, ok := ds.(runnableStmt); !ok {
		_ = ds.Close()
		return nil, nil
	}
	s := &cachedStmt{query: query, stmt: ds}
	c.byQuery[query] = c.lru.PushFront(s)
	if c.lru.Len() > sqliteStmtCacheSize {
		c.drop(c.lru.Back().Value.(*cachedStmt))
	}
	return s, nil
}

// drop takes s out of the cache and closes it, or has its rows close it.
func (c *stmtCacheConn) drop(s *cachedStmt) {
	if e, ok := c.byQuery[s.query]; ok && e.Value == s {
		c.lru.Remove(e)
		delete(c.byQuery, s.query)
	}
	s.dropped = true
	if !s.busy {
		_ = s.stmt.Close()
	}
}

// run runs query through its kept statement with cached, or with
// uncached when it is not kept, and returns the kept statement it ran
// (nil for none). A kept statement that fails is dropped: the driver
// resets it, and compiling it afresh next time costs little and assumes
// nothing about that.
func run[R any](ctx context.Context, c *stmtCacheConn, query string,
	uncached func() (R, error), cached func(runnableStmt) (R, error)) (R, *cachedStmt, error) {
	var zero R
	s, err := c.stmt(ctx, query)
	if err != nil {
		return zero, nil, err
	}
	if s == nil {
		r, err := uncached()
		return r, nil, err
	}
	r, err := cached(s.stmt.(runnableStmt))
	if err != nil {
		c.drop(s)
		return zero, nil, err
	}
	return r, s, nil
}

func (c *stmtCacheConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, _, err := run(ctx, c, query,
		func() (driver.Result, error) { return c.sqliteConn.ExecContext(ctx, query, args) },
		func(s runnableStmt) (driver.Result, error) { return s.ExecContext(ctx, args) })
	return res, err
}

func (c *stmtCacheConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, s, err := run(ctx, c, query,
		func() (driver.Rows, error) { return c.sqliteConn.QueryContext(ctx, query, args) },
		func(s runnableStmt) (driver.Rows, error) { return s.QueryContext(ctx, args) })
	if err != nil || s == nil {
		return rows, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, conn: c, stmt: s}, nil
}

// Close closes the kept statements, then the connection: SQLite keeps a
// connection with statements left open alive until they are closed.
func (c *stmtCacheConn) Close() error {
	var errs []error
	for e := c.lru.Front(); e != nil; e = e.Next() {
		errs = append(errs, e.Value.(*cachedStmt).stmt.Close())
	}
	c.byQuery, c.lru = map[string]*list.Element{}, list.New()
	return errors.Join(append(errs, c.sqliteConn.Close())...)
}

// cachedRows are the rows of a kept statement, which closing them frees
// for the next query (the driver resets the statement rather than
// closing it). They tell their columns' names, not their types (which
// the ledger never asks database/sql for).
type cachedRows struct {
	driver.Rows
	conn *stmtCacheConn
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.stmt.busy = false
	if err != nil && !r.stmt.dropped {
		r.conn.drop(r.stmt)
	} else if r.stmt.dropped {
		_ = r.stmt.stmt.Close()
	}
	return err
}
