package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stripesync/stripesync/store"
)

// The environment that selects the Postgres tests.
const (
	// EnvDatabaseURL is a Postgres URL (postgres://…) the tests may create
	// schemas in. Unset, Postgres tests are skipped.
	EnvDatabaseURL = "STRIPESYNC_TEST_DATABASE_URL"
	// EnvRequirePG set to "1" turns that skip into a failure, so CI cannot
	// pass without Postgres.
	EnvRequirePG = "STRIPESYNC_REQUIRE_PG"
)

// cleanupTimeout bounds closing and dropping a test database after the
// test's own context is gone.
const cleanupTimeout = 30 * time.Second

// OpenSQLite returns a migrated store on a new SQLite file in t.TempDir(),
// closed when the test ends.
func OpenSQLite(t testing.TB) *store.DB {
	t.Helper()
	return open(t, SQLiteURL(t))
}

// SQLiteURL returns the URL of a new SQLite file in t.TempDir(), for a
// test that opens it several times, as several processes would.
func SQLiteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "stripesync.db")
}

// OpenPostgres returns a migrated store in a new schema of
// STRIPESYNC_TEST_DATABASE_URL, closed and dropped when the test ends.
// Without that variable the test is skipped, or fails when
// STRIPESYNC_REQUIRE_PG=1.
func OpenPostgres(t testing.TB) *store.DB {
	t.Helper()
	return open(t, PostgresURL(t))
}

func open(t testing.TB, dbURL string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), dbURL, testLogger(t))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("store.Close: %v", err)
		}
	})
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

// PostgresURL creates an empty schema for the test in
// STRIPESYNC_TEST_DATABASE_URL and returns a URL whose search_path selects
// it, so that a test can open several pools on one database (as separate
// processes would) or hand the URL to a subprocess. The schema is dropped
// when the test ends. Skip and failure rules are OpenPostgres's.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvDatabaseURL)
	if base == "" {
		if os.Getenv(EnvRequirePG) == "1" {
			t.Fatalf("%s is not set and %s=1", EnvDatabaseURL, EnvRequirePG)
		}
		t.Skipf("%s is not set; skipping Postgres test", EnvDatabaseURL)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", EnvDatabaseURL)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "stripesync_test_" + hex.EncodeToString(b[:])

	admin(t, base, "CREATE SCHEMA "+pq.QuoteIdentifier(schema))
	t.Cleanup(func() { admin(t, base, "DROP SCHEMA "+pq.QuoteIdentifier(schema)+" CASCADE") })

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// admin runs one statement on a short-lived connection to the base
// database. It uses its own context because cleanups run after the test's
// context is cancelled.
func admin(t testing.TB, dbURL, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatalf("open %s: %v", EnvDatabaseURL, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// testLogger returns a logger that writes warnings and errors to t.Log, so that
// store warnings (a job moved to the dead letters) show with the test.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}
