package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripesync/stripesync"
)

// These tests sit inside the package because they look at the pool itself;
// the behaviour of the store is tested through storetest.Run.

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url, dialect string
	}{
		{"sqlite:stripesync.db", DialectSQLite},
		{"sqlite:/var/lib/stripesync/stripesync.db", DialectSQLite},
		{"sqlite:./data/x y.db", DialectSQLite},
		{"postgres://u:p@db.example.com:5432/stripesync?sslmode=require", DialectPostgres},
		{"postgresql://localhost/stripesync", DialectPostgres},
		{"postgres:///stripesync?host=/var/run/postgresql", DialectPostgres},
	} {
		got, err := parseURL(tc.url)
		if err != nil || got.dialect != tc.dialect {
			t.Errorf("parseURL(%q) = %q, %v; want %q", tc.url, got.dialect, err, tc.dialect)
		}
		if err := ValidateURL(tc.url); err != nil {
			t.Errorf("ValidateURL(%q) = %v, want nil", tc.url, err)
		}
	}
}

func TestOpenRejectsBadURLs(t *testing.T) {
	const secret = "s3cr3t-pw"
	for _, url := range []string{
		"",
		"stripesync.db",
		"mysql://u:" + secret + "@host/db",
		"sqlite:",
		"sqlite::memory:",
		"sqlite:file:x.db?mode=memory",
		"sqlite://stripesync.db",
		"sqlite:x.db?_pragma=foo",
		"postgres://u:" + secret + "@host:port/db",
		"postgres://u:" + secret + "@host/db/extra",
		"postgres://u:" + secret + "@host/db?sslmode=sometimes",
		"postgres://host/db?user=u&password=" + secret + "&sslmode=sometimes",
		"postgres://u:" + secret + "@[::1/db",
		"postgres:u:" + secret + "@host/db",
	} {
		verr := ValidateURL(url)
		db, err := Open(t.Context(), url, nil)
		if err == nil {
			db.Close()
		}
		// A syntax error must be caught by ValidateURL; one only the
		// driver sees (an unknown sslmode) by Open. Both say EINVALID.
		if stripesync.CodeOf(err) != stripesync.EINVALID {
			t.Errorf("Open(%q) = %v, want EINVALID", url, err)
		}
		for _, e := range []error{verr, err} {
			if e != nil && strings.Contains(e.Error(), secret) {
				t.Errorf("error for %q leaks the password: %v", url, e)
			}
		}
		if verr == nil && !strings.Contains(url, "sslmode=sometimes") {
			t.Errorf("ValidateURL(%q) = nil, want EINVALID", url)
		}
	}
}

func TestOpenUnreachablePostgresHidesPassword(t *testing.T) {
	const secret = "s3cr3t-pw"
	// Port 1 on localhost: nothing listens, the connection is refused.
	_, err := Open(t.Context(), "postgres://u:"+secret+"@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", nil)
	if stripesync.CodeOf(err) != stripesync.EUNAVAILABLE {
		t.Errorf("Open of an unreachable server = %v, want EUNAVAILABLE", err)
	}
	if err != nil && strings.Contains(err.Error(), secret) {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestSQLitePool(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pool.db")
	db, err := Open(t.Context(), "sqlite:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := sqlx.BindType(db.x.DriverName()); got != sqlx.QUESTION {
		t.Errorf("sqlx.BindType(%q) = %d, want QUESTION (%d)", db.x.DriverName(), got, sqlx.QUESTION)
	}
	if got := db.x.Rebind("a = ? AND b = ?"); got != "a = ? AND b = ?" {
		t.Errorf("Rebind on SQLite = %q, want the query unchanged", got)
	}
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000",
		"synchronous": "2", // FULL: a commit survives power loss, not only a crash
	} {
		var got string
		if err := db.x.GetContext(t.Context(), &got, "PRAGMA "+pragma); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
	if got := db.x.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("MaxOpenConnections = %d, want 1", got)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("Open did not create the database file: %v", err)
	}
}

func TestPostgresBindType(t *testing.T) {
	db := openTestPostgres(t)
	if got := sqlx.BindType(db.x.DriverName()); got != sqlx.DOLLAR {
		t.Errorf("sqlx.BindType(%q) = %d, want DOLLAR (%d)", db.x.DriverName(), got, sqlx.DOLLAR)
	}
	if got := db.x.Rebind("a = ? AND b = ?"); got != "a = $1 AND b = $2" {
		t.Errorf("Rebind on Postgres = %q", got)
	}
}

// TestPostgresLockDiesWithSession: when the session holding a lock ends (the
// replica died, or the server dropped it), the lock is free for others, and
// releasing the dead holder neither panics nor returns the broken
// connection to the pool.
func TestPostgresLockDiesWithSession(t *testing.T) {
	db := openTestPostgres(t)
	ctx := t.Context()
	key := fmt.Sprintf("test:%d", time.Now().UnixNano())
	release, ok, err := db.TryLock(ctx, key)
	if err != nil || !ok {
		t.Fatalf("TryLock = %v, %v; want true", ok, err)
	}
	k := uint64(db.advisoryKey(key))
	// The timeout (Postgres 14+) waits for the backend to be gone.
	var terminated bool
	err = db.x.GetContext(ctx, &terminated, "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks"+
		" WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 1",
		int64(k>>32), int64(k&0xffffffff))
	if err != nil || !terminated {
		t.Fatalf("terminating the lock holder's session = %v, %v", terminated, err)
	}
	if _, ok, err := db.TryLock(ctx, key); err != nil || !ok {
		t.Errorf("TryLock after the holder's session ended = %v, %v; want true", ok, err)
	}
	release()
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping after releasing through a dead session: %v", err)
	}
}

// openTestPostgres opens the test database itself (no per-test schema:
// storetest, which makes those, imports this package).
func openTestPostgres(t *testing.T) *DB {
	t.Helper()
	dbURL := os.Getenv("STRIPESYNC_TEST_DATABASE_URL")
	if dbURL == "" {
		if os.Getenv("STRIPESYNC_REQUIRE_PG") == "1" {
			t.Fatal("STRIPESYNC_TEST_DATABASE_URL is not set and STRIPESYNC_REQUIRE_PG=1")
		}
		t.Skip("STRIPESYNC_TEST_DATABASE_URL is not set")
	}
	db, err := Open(t.Context(), dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A driver message that quotes any credential of the URL, decoded or as
// written, is scrubbed of all of them: the userinfo password, password and
// sslpassword parameters, together and percent-encoded.
func TestScrubHidesEveryCredential(t *testing.T) {
	raw := "postgres://u:pw%40one@host/db?password=pw-two&sslpassword=pw%26three&sslkey=/k.pem"
	tg, err := parseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	msg := "auth failed for " + raw + ": pw@one pw-two pw&three pw%40one pw%26three"
	got := tg.scrub(errors.New(msg)).Error()
	for _, secret := range []string{"pw@one", "pw%40one", "pw-two", "pw&three", "pw%26three"} {
		if strings.Contains(got, secret) {
			t.Errorf("scrubbed message still holds %q: %s", secret, got)
		}
	}
	if !strings.Contains(got, "/k.pem") {
		t.Errorf("the key path, not a secret, was scrubbed too: %s", got)
	}
}
