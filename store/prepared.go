package store

import (
	"context"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Postgres plans a query afresh each time lib/pq runs it (as an unnamed
// statement), and for the pay page's read (payPageQuery: six tables and
// two subqueries) planning is most of the cost: 1.0 ms a read where a
// prepared statement, planned once per connection and then from
// Postgres's plan cache, takes 0.2–0.4 ms on the 2-core test machine.
// The few hot reads worth it are therefore prepared, once per pool:
// database/sql prepares a Stmt on each connection the first time it runs
// there. SQLite needs none of this (stmtCacheConn keeps its compiled
// statements).
//
// A connection pooler in transaction mode must then support prepared
// statements (PgBouncer 1.21+ with max_prepared_statements set).

// preparedStmts are a pool's prepared statements by query text.
type preparedStmts struct {
	mu      sync.Mutex
	byQuery map[string]*sqlx.Stmt
}

// prepared returns the statement of query (already rebound), preparing it
// on the first call; nil on SQLite, where the caller runs the query as
// is. A failure to prepare is returned and tried again next time.
func (db *DB) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if db.dialect != DialectPostgres {
		return nil, nil
	}
	p := db.stmts
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.byQuery[query]; ok {
		return st, nil
	}
	st, err := db.x.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	p.byQuery[query] = st
	return st, nil
}

// selectPrepared is sqlx.SelectContext through the prepared statement of
// query (see prepared).
func (db *DB) selectPrepared(ctx context.Context, dest any, query string, args ...any) error {
	query = db.x.Rebind(query)
	st, err := db.prepared(ctx, query)
	if err != nil {
		return err
	}
	if st == nil {
		return db.x.SelectContext(ctx, dest, query, args...)
	}
	return st.SelectContext(ctx, dest, args...)
}
