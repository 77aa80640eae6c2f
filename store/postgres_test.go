package store_test

import (
	"sync"
	"testing"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/store/storetest"
)

func TestPostgres(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) *store.DB { return storetest.OpenPostgres(t) })
}

func TestPostgresReclaim(t *testing.T) {
	storetest.RunReclaim(t, func(t *testing.T) string { return storetest.PostgresURL(t) })
}

// openPool opens another pool on dbURL, as a second process would.
func openPool(t *testing.T, dbURL string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), dbURL, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestPostgresTryLockAcrossPools is the two-replica case: a lock held
// through one pool is refused through another until it is released.
func TestPostgresTryLockAcrossPools(t *testing.T) {
	t.Parallel()
	dbURL := storetest.PostgresURL(t)
	a, b := openPool(t, dbURL), openPool(t, dbURL)
	ctx := t.Context()

	release, ok, err := a.TryLock(ctx, "schedule:accounts")
	if err != nil || !ok {
		t.Fatalf("a.TryLock = %v, %v; want true", ok, err)
	}
	if _, ok, err := b.TryLock(ctx, "schedule:accounts"); err != nil || ok {
		t.Errorf("b.TryLock while a holds it = %v, %v; want false, nil", ok, err)
	}
	release()
	releaseB, ok, err := b.TryLock(ctx, "schedule:accounts")
	if err != nil || !ok {
		t.Fatalf("b.TryLock after a released = %v, %v; want true", ok, err)
	}
	if _, ok, err := a.TryLock(ctx, "schedule:accounts"); err != nil || ok {
		t.Errorf("a.TryLock while b holds it = %v, %v; want false, nil", ok, err)
	}
	releaseB()
}

// TestPostgresTryLockPerSchema: advisory locks are database-wide, but
// deployments in different schemas must not block each other.
func TestPostgresTryLockPerSchema(t *testing.T) {
	t.Parallel()
	a, b := storetest.OpenPostgres(t), storetest.OpenPostgres(t)
	ctx := t.Context()
	release, ok, err := a.TryLock(ctx, "schedule:accounts")
	if err != nil || !ok {
		t.Fatalf("a.TryLock = %v, %v; want true", ok, err)
	}
	defer release()
	releaseB, ok, err := b.TryLock(ctx, "schedule:accounts")
	if err != nil || !ok {
		t.Fatalf("TryLock in another schema = %v, %v; want true", ok, err)
	}
	releaseB()
}

// TestPostgresConcurrentMigrate starts several replicas on an empty schema
// at once: all must succeed, taking turns on the migration lock.
func TestPostgresConcurrentMigrate(t *testing.T) {
	t.Parallel()
	dbURL := storetest.PostgresURL(t)
	var wg sync.WaitGroup
	for range 3 {
		db := openPool(t, dbURL)
		wg.Go(func() {
			if err := db.Migrate(t.Context()); err != nil {
				t.Errorf("Migrate: %v", err)
			}
		})
	}
	wg.Wait()
	db := openPool(t, dbURL)
	if _, err := db.Enqueue(t.Context(), stripesync.Job{Kind: "k"}); err != nil {
		t.Errorf("Enqueue after concurrent migrations: %v", err)
	}
}

// TestPostgresHeartbeatOnAReadOnlyServer is a standby, or a server whose
// transactions are read-only by default: it answers, migrated, but takes no
// write, and Heartbeat must say so in words /readyz can show.
func TestPostgresHeartbeatOnAReadOnlyServer(t *testing.T) {
	t.Parallel()
	dbURL := storetest.PostgresURL(t)
	if err := openPool(t, dbURL).Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	// lib/pq sends an unknown URL parameter as a server setting.
	ro := openPool(t, dbURL+"&default_transaction_read_only=on")
	if err := ro.Ping(t.Context()); err != nil {
		t.Fatalf("Ping on the read-only pool: %v", err)
	}
	err := ro.Heartbeat(t.Context())
	const want = "ledger not writable: cannot execute INSERT in a read-only transaction"
	if stripesync.CodeOf(err) != stripesync.EUNAVAILABLE || stripesync.MessageOf(err) != want {
		t.Errorf("Heartbeat = %v (%s), want %s %q", err, stripesync.CodeOf(err), stripesync.EUNAVAILABLE, want)
	}
}
