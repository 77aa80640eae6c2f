package schedules_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stripesync/stripesync/schedules"
	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/store/storetest"
)

// twoReplicas opens two connection pools on one new, migrated Postgres
// schema, as two replicas would.
func twoReplicas(t *testing.T) (a, b *store.DB) {
	t.Helper()
	url := storetest.PostgresURL(t)
	open := func() *store.DB {
		db, err := store.Open(t.Context(), url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b = open(), open()
	if err := a.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestOncePerTickAcrossProcesses runs the same job in two schedulers, each
// with its own connection pool on one Postgres schema, as two replicas
// would. Every tick must run exactly once overall.
func TestOncePerTickAcrossProcesses(t *testing.T) {
	const every = 500 * time.Millisecond
	dbA, dbB := twoReplicas(t)

	var mu sync.Mutex
	ranBy := map[time.Time][]string{}
	runs := 0
	job := func(replica string) func(context.Context) error {
		return func(ctx context.Context) error {
			// The tick the run was claimed for: under load a run starts
			// late, and its own clock would put it in the next window.
			tick, ok := schedules.Tick(ctx)
			if !ok {
				t.Error("the job's context carries no tick")
			}
			mu.Lock()
			ranBy[tick] = append(ranBy[tick], replica)
			runs++
			mu.Unlock()
			// Short runs release the lock long before the other replica's
			// timer fires on a slow machine: only the tick claim stops it.
			time.Sleep(20 * time.Millisecond)
			return nil
		}
	}
	start := func(replica string, db *store.DB) {
		s := newScheduler(t, schedules.Config{Locker: db})
		if err := s.Every("accounts", every, 5*time.Second, job(replica)); err != nil {
			t.Fatal(err)
		}
		s.Start()
	}
	start("a", dbA)
	time.Sleep(170 * time.Millisecond) // replicas start at different times
	start("b", dbB)
	time.Sleep(2700 * time.Millisecond)

	mu.Lock()
	defer mu.Unlock()
	var first, last time.Time
	for tick, who := range ranBy {
		if len(who) != 1 {
			t.Errorf("tick %s ran %d times (by %v)", tick.Format("15:04:05.000"), len(who), who)
		}
		if first.IsZero() || tick.Before(first) {
			first = tick
		}
		if tick.After(last) {
			last = tick
		}
	}
	// No tick between the first and the last was lost either.
	ticks := int(last.Sub(first)/every) + 1
	if len(ranBy) != ticks || runs != ticks {
		t.Errorf("%d runs over %d distinct ticks, want one run for each of the %d ticks from %s to %s",
			runs, len(ranBy), ticks, first.Format("15:04:05.000"), last.Format("15:04:05.000"))
	}
	if ticks < 4 {
		t.Errorf("only %d ticks ran in 2.8 s of 500 ms ticks", ticks)
	}
}
