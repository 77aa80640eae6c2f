package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
)

func testTicks(t *testing.T, setup setupFunc) {
	t.Run("OncePerJobAndTick", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		tick := start.Truncate(time.Hour)
		for _, tc := range []struct {
			job  string
			tick time.Time
			want bool
		}{
			{"accounts", tick, true},
			{"accounts", tick, false},
			{"accounts", tick.In(time.UTC), false},           // same instant, other zone
			{"accounts", tick.Add(time.Nanosecond), false},   // same microsecond
			{"accounts", tick.Add(time.Microsecond), true},   // next microsecond
			{"payments", tick, true},                         // other job
			{"accounts", tick.Add(time.Hour), true},          // next tick
			{"accounts", tick.Add(8 * 24 * time.Hour), true}, // a week later...
			{"accounts", tick, true},                         // ...the old tick is forgotten
		} {
			got, err := db.ClaimTick(ctx, tc.job, tc.tick)
			if err != nil || got != tc.want {
				t.Errorf("ClaimTick(%s, %v) = %v, %v; want %v, nil", tc.job, tc.tick, got, err, tc.want)
			}
		}
		_, err := db.ClaimTick(ctx, "", tick)
		wantCode(t, "ClaimTick with no job", err, stripesync.EINVALID)
		_, err = db.ClaimTick(ctx, "accounts", time.Time{})
		wantCode(t, "ClaimTick with no tick", err, stripesync.EINVALID)
	})

	t.Run("Concurrent", func(t *testing.T) {
		db, _ := setup(t)
		var (
			winners atomic.Int32
			wg      sync.WaitGroup
		)
		for range 8 {
			wg.Go(func() {
				ok, err := db.ClaimTick(t.Context(), "accounts", start)
				if err != nil {
					t.Errorf("ClaimTick: %v", err)
				}
				if ok {
					winners.Add(1)
				}
			})
		}
		wg.Wait()
		if n := winners.Load(); n != 1 {
			t.Errorf("%d of 8 concurrent ClaimTick calls won the tick, want exactly 1", n)
		}
	})
}

func testLocks(t *testing.T, setup setupFunc) {
	db, _ := setup(t)
	ctx := t.Context()
	try := func(key string) (func(), bool) {
		t.Helper()
		release, ok, err := db.TryLock(ctx, key)
		if err != nil {
			t.Fatalf("TryLock(%q): %v", key, err)
		}
		if ok == (release == nil) {
			t.Fatalf("TryLock(%q) = release %v, ok %v; want a release func exactly when ok", key, release != nil, ok)
		}
		return release, ok
	}
	release, ok := try("schedule:accounts")
	if !ok {
		t.Fatalf("TryLock of a free lock = false")
	}
	if _, ok := try("schedule:accounts"); ok {
		t.Errorf("TryLock of a held lock = true, want false")
	}
	other, ok := try("schedule:payments")
	if !ok {
		t.Errorf("TryLock of another free lock = false")
	} else {
		other()
	}
	release()
	again, ok := try("schedule:accounts")
	if !ok {
		t.Fatalf("TryLock after release = false")
	}
	release() // a second release of the old holder must not free the new one
	if _, ok := try("schedule:accounts"); ok {
		t.Errorf("TryLock succeeded after a stale release; the lock was freed twice")
	}
	again()

	_, _, err := db.TryLock(ctx, "")
	wantCode(t, "TryLock with no key", err, stripesync.EINVALID)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, ok, err := db.TryLock(cancelled, "schedule:accounts"); err == nil || ok {
		t.Errorf("TryLock with a cancelled context = %v, %v; want an error", ok, err)
	}
}
