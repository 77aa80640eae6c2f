package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
)

// Run exercises every method of store.DB against databases made by open,
// which must return a new, empty, migrated store on each call (OpenSQLite,
// OpenPostgres). Subtests run in parallel, each on its own database.
func Run(t *testing.T, open func(t *testing.T) *store.DB) {
	setup := func(t *testing.T) (*store.DB, *Clock) {
		t.Helper()
		t.Parallel()
		c := NewClock(start)
		return open(t).WithClock(c.Now), c
	}
	t.Run("Basics", func(t *testing.T) { testBasics(t, setup) })
	t.Run("Links", func(t *testing.T) { testLinks(t, setup) })
	t.Run("Cursors", func(t *testing.T) { testCursors(t, setup) })
	t.Run("Runs", func(t *testing.T) { testRuns(t, setup) })
	t.Run("Queue", func(t *testing.T) { testQueue(t, setup) })
	t.Run("Ticks", func(t *testing.T) { testTicks(t, setup) })
	t.Run("Locks", func(t *testing.T) { testLocks(t, setup) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, setup) })
	t.Run("Payments", func(t *testing.T) { testPayments(t, setup) })
	t.Run("RecordPayments", func(t *testing.T) { testRecordPayments(t, setup) })
	t.Run("Events", func(t *testing.T) { testEvents(t, setup) })
	t.Run("Triggers", func(t *testing.T) { testTriggers(t, setup) })
	t.Run("Prune", func(t *testing.T) { testPrune(t, setup) })
	t.Run("Collection", func(t *testing.T) { testCollection(t, setup) })
	t.Run("Receipts", func(t *testing.T) { testReceipts(t, setup) })
	t.Run("Staff", func(t *testing.T) { testStaff(t, setup) })
	t.Run("Failures", func(t *testing.T) { testFailures(t, setup) })
	t.Run("OpsStatus", func(t *testing.T) { testOpsStatus(t, setup) })
}

// setupFunc gives a subtest its own store, whose clock it controls.
type setupFunc func(t *testing.T) (*store.DB, *Clock)

// start is the suite's initial time. It has nanoseconds and a non-UTC zone
// on purpose: what comes back must be UTC truncated to the microsecond.
var start = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+2", 2*3600))

// Clock is a manual clock for store.DB.WithClock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// stored is t as the store gives it back.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// wantCode fails the test unless err carries code.
func wantCode(t *testing.T, what string, err error, code stripesync.ErrorCode) {
	t.Helper()
	var se *stripesync.Error
	if !errors.As(err, &se) || se.Code != code {
		t.Errorf("%s: err = %v, want a *stripesync.Error with code %q", what, err, code)
	}
}

// wantUTC fails the test unless every non-zero time is in UTC. cmp compares
// times with Equal, which ignores the location, so this is checked apart.
func wantUTC(t *testing.T, what string, times ...time.Time) {
	t.Helper()
	for i, tm := range times {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s: time %d = %v is in %v, want UTC", what, i, tm, tm.Location())
		}
	}
}

func testBasics(t *testing.T, setup setupFunc) {
	t.Run("PingAndDialect", func(t *testing.T) {
		db, _ := setup(t)
		if err := db.Ping(t.Context()); err != nil {
			t.Errorf("Ping: %v", err)
		}
		if d := db.Dialect(); d != store.DialectSQLite && d != store.DialectPostgres {
			t.Errorf("Dialect() = %q, want %q or %q", d, store.DialectSQLite, store.DialectPostgres)
		}
	})
	t.Run("Heartbeat", func(t *testing.T) {
		db, _ := setup(t)
		// The first beat inserts the row, the next ones update it.
		for i := range 2 {
			if err := db.Heartbeat(t.Context()); err != nil {
				t.Errorf("Heartbeat #%d: %v", i+1, err)
			}
		}
	})
	t.Run("MigrateIsIdempotent", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		link := stripesync.AccountLink{CRMID: "001A", Policy: stripesync.PolicyCreate, State: stripesync.LinkPending}
		if err := db.SaveAccountLink(ctx, link); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("Migrate #%d on a migrated store: %v", i+2, err)
			}
		}
		got, err := db.AccountLinks(ctx, []string{"001A"})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got["001A"]; !ok {
			t.Errorf("link saved before re-migrating is gone")
		}
	})
}
