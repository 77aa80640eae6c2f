package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"
)

// openCached opens a SQLite file as Open does (through connect), with a
// table t (k INTEGER PRIMARY KEY, v TEXT) of rows rows: k 0, 1, … and v
// "v0", "v1", ….
func openCached(t *testing.T, rows int) *sqlx.DB {
	t.Helper()
	x, err := connect(target{dialect: DialectSQLite, path: filepath.Join(t.TempDir(), "cache.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	if _, err := x.Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for k := range rows {
		if _, err := x.Exec("INSERT INTO t (k, v) VALUES (?, ?)", k, fmt.Sprint("v", k)); err != nil {
			t.Fatal(err)
		}
	}
	return x
}

// kept returns the statement the connection keeps for query (nil if none)
// and how many it keeps.
func kept(t *testing.T, x *sqlx.DB, query string) (*cachedStmt, int) {
	t.Helper()
	conn, err := x.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var (
		s *cachedStmt
		n int
	)
	err = conn.Raw(func(dc any) error {
		c := dc.(*stmtCacheConn)
		if e, ok := c.byQuery[query]; ok {
			s = e.Value.(*cachedStmt)
		}
		n = c.lru.Len()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, n
}

// TestStmtCacheCompilesOnce runs one insert three times and one select
// twice: each is compiled once and kept, and answers as uncached would.
func TestStmtCacheCompilesOnce(t *testing.T) {
	x := openCached(t, 0)
	const ins = "INSERT INTO t (k, v) VALUES (?, ?)"
	for k := range 3 {
		if _, err := x.Exec(ins, k, fmt.Sprint("v", k)); err != nil {
			t.Fatal(err)
		}
	}
	first, _ := kept(t, x, ins)
	if first == nil {
		t.Fatalf("%q is not kept", ins)
	}
	const sel = "SELECT v FROM t WHERE k >= ? ORDER BY k"
	for range 2 {
		var vs []string
		if err := x.Select(&vs, sel, 1); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(vs) != "[v1 v2]" {
			t.Fatalf("got %v, want [v1 v2]", vs)
		}
	}
	if _, err := x.Exec(ins, 3, "v3"); err != nil {
		t.Fatal(err)
	}
	if again, _ := kept(t, x, ins); again != first {
		t.Errorf("after more runs: kept %p, want the first compiled, %p", again, first)
	}
}

// TestStmtCacheNestedQuery repeats a query, in a transaction, while the
// rows of its first run are open: the repeat runs uncached and both
// answer in full.
func TestStmtCacheNestedQuery(t *testing.T) {
	x := openCached(t, 3)
	const sel = "SELECT k FROM t WHERE k >= ? ORDER BY k"
	tx, err := x.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rows, err := tx.Query(sel, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var k int
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		var inner []int
		if err := tx.Select(&inner, sel, k); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(k, inner))
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if want := "[0 [0 1 2] 1 [1 2] 2 [2]]"; fmt.Sprint(got) != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestStmtCacheDropsFailedAndOldest: a statement that failed is compiled
// afresh on its next run, which succeeds, and the cache keeps no more
// than sqliteStmtCacheSize statements, the most recent.
func TestStmtCacheDropsFailedAndOldest(t *testing.T) {
	x := openCached(t, 0)
	const ins = "INSERT INTO t (k, v) VALUES (?, ?)"
	if _, err := x.Exec(ins, 1, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Exec(ins, 1, "b"); err == nil {
		t.Fatal("a duplicate key was inserted")
	}
	if s, _ := kept(t, x, ins); s != nil {
		t.Errorf("the failed %q is still kept", ins)
	}
	if _, err := x.Exec(ins, 2, "b"); err != nil {
		t.Fatalf("after a failure: %v", err)
	}
	var last string
	for i := range sqliteStmtCacheSize + 10 {
		last = fmt.Sprintf("SELECT %d", i)
		var n int
		if err := x.Get(&n, last); err != nil || n != i {
			t.Fatalf("%s: %d, %v", last, n, err)
		}
	}
	if s, n := kept(t, x, last); s == nil || n != sqliteStmtCacheSize {
		t.Errorf("kept %d statements (the last one: %v), want %d with the last", n, s != nil, sqliteStmtCacheSize)
	}
	if s, _ := kept(t, x, ins); s != nil {
		t.Errorf("the least recently used %q is still kept", ins)
	}
}

// TestStmtCacheReturning runs DELETE … RETURNING through a kept
// statement twice: each run deletes and returns its own rows once.
func TestStmtCacheReturning(t *testing.T) {
	x := openCached(t, 4)
	const del = "DELETE FROM t WHERE k < ? RETURNING v"
	for _, c := range []struct {
		below int
		want  string
	}{{2, "[v0 v1]"}, {4, "[v2 v3]"}} {
		var vs []string
		if err := x.SelectContext(context.Background(), &vs, del, c.below); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(vs) != c.want {
			t.Errorf("k < %d: deleted %v, want %v", c.below, vs, c.want)
		}
	}
}
