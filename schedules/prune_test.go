package schedules_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/schedules"
	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/store/storetest"
)

const day = 24 * time.Hour

// TestPruneOncePerTick runs the prune job in two schedulers sharing one
// database, as two replicas would (on Postgres each has its own pool), on
// one fake clock: at each midnight the inboxes are pruned exactly once,
// and only of what was done more than the retention ago.
func TestPruneOncePerTick(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(t *testing.T) (a, b *store.DB)
	}{
		{"SQLite", func(t *testing.T) (*store.DB, *store.DB) {
			db := storetest.OpenSQLite(t)
			return db, db
		}},
		{"Postgres", twoReplicas},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testPruneOncePerTick(t, tt.open)
		})
	}
}

func testPruneOncePerTick(t *testing.T, open func(t *testing.T) (a, b *store.DB)) {
	ctx := t.Context()
	midnight := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(midnight.Add(-10 * day))
	a, b := open(t)
	a, b = a.WithClock(clock.Now), b.WithClock(clock.Now)

	// Ten days before the first tick: an event processed, a trigger
	// settled. The day before it: the same again. The retention is two
	// days, so that few ticks show what each run forgets.
	event := func(id string) stripesync.Event {
		return stripesync.Event{ID: id, Type: stripesync.EventPaymentIntentSucceeded, Created: clock.Now()}
	}
	handle := func(eventID, notificationID string) {
		t.Helper()
		if _, err := a.AcceptEvent(ctx, event(eventID)); err != nil {
			t.Fatal(err)
		}
		if err := a.MarkEventsProcessed(ctx, []string{eventID}); err != nil {
			t.Fatal(err)
		}
		tr := stripesync.Trigger{NotificationID: notificationID, Object: stripesync.ObjectAccount, RecordID: "001" + notificationID}
		if _, err := a.WithTriggerWindow(0).AcceptTriggers(ctx, []stripesync.Trigger{tr}); err != nil {
			t.Fatal(err)
		}
		claimed, err := a.ClaimTriggers(ctx, 10, time.Minute)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("ClaimTriggers = %v, %v; want the trigger of %s", claimed, err, notificationID)
		}
		if err := a.CompleteTrigger(ctx, claimed[0]); err != nil {
			t.Fatal(err)
		}
	}
	handle("evt_old", "04lOld")
	clock.Advance(9 * day)
	handle("evt_recent", "04lRecent")
	clock.Advance(day - time.Millisecond)

	var (
		mu     sync.Mutex
		pruned []string // "replica inbox=n", in run order
	)
	logs := map[string]*logBuffer{}
	for replica, db := range map[string]*store.DB{"a": a, "b": b} {
		logs[replica] = &logBuffer{}
		s := newScheduler(t, schedules.Config{
			Clock: clock, Locker: db,
			Logger: slog.New(slog.NewJSONHandler(logs[replica], &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
		prune, err := schedules.Prune(schedules.PruneConfig{
			Store: db, Retention: 2 * day, Clock: clock,
			OnPruned: func(inbox string, n int64) {
				mu.Lock()
				defer mu.Unlock()
				pruned = append(pruned, fmt.Sprintf("%s %s=%d", replica, inbox, n))
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Every("prune", schedules.PruneEvery, time.Minute, prune); err != nil {
			t.Fatal(err)
		}
		s.Start()
	}

	// tick advances the clock to the next midnight and waits until both
	// replicas have logged their outcome of it, and returns what was pruned.
	ticks := 0
	tick := func(d time.Duration) []string {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := clock.BlockUntilContext(ctx, 2); err != nil {
			t.Fatalf("the two schedulers armed no timers: %v", err)
		}
		clock.Advance(d)
		ticks++
		for _, l := range logs {
			for len(l.records(t)) < ticks {
				if ctx.Err() != nil {
					t.Fatalf("tick %d: a replica logged nothing", ticks)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		// The run that logged "finished" still releases its lock; the
		// next tick must not find it inside, or singleton mode drops that
		// replica's tick. Wait for the release, then for both runs to
		// return to gocron, which follows at once.
		for {
			release, ok, err := a.TryLock(ctx, "prune")
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				release()
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		got := pruned
		pruned = nil
		return got
	}
	ranOnce := func(what string, got []string, events, triggers int) {
		t.Helper()
		if len(got) != 4 || got[0][0] != got[1][0] || got[0][0] != got[2][0] || got[0][0] != got[3][0] {
			t.Fatalf("%s: pruned %q, want the events, triggers, requests and sessions of one replica", what, got)
		}
		r := got[0][:1]
		want := []string{fmt.Sprintf("%s events=%d", r, events), fmt.Sprintf("%s triggers=%d", r, triggers), r + " requests=0", r + " sessions=0"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", what, diff)
		}
	}

	ranOnce("first midnight", tick(time.Millisecond), 1, 1)
	// What was forgotten is new again; what was kept is still a repeat.
	for id, want := range map[string]bool{"evt_old": true, "evt_recent": false} {
		if fresh, err := a.AcceptEvent(ctx, event(id)); err != nil || fresh != want {
			t.Errorf("AcceptEvent(%s) after the prune = %v, %v; want %v", id, fresh, err, want)
		}
	}
	if err := a.MarkEventsProcessed(ctx, []string{"evt_old"}); err != nil {
		t.Fatal(err)
	}
	// Two days after it, evt_recent and its trigger are old enough;
	// evt_old, processed again at the first midnight, is not.
	ranOnce("second midnight", tick(day), 0, 0)
	ranOnce("third midnight", tick(day), 1, 1)
	if fresh, err := a.AcceptEvent(ctx, event("evt_old")); err != nil || fresh {
		t.Errorf("AcceptEvent(evt_old) = %v, %v; want a repeat", fresh, err)
	}
}

func TestPruneRejects(t *testing.T) {
	db := storetest.OpenSQLite(t)
	for name, cfg := range map[string]schedules.PruneConfig{
		"NoStore":           {Retention: day},
		"ZeroRetention":     {Store: db},
		"NegativeRetention": {Store: db, Retention: -day},
	} {
		if _, err := schedules.Prune(cfg); stripesync.CodeOf(err) != stripesync.EINVALID {
			t.Errorf("%s: Prune = %v, want EINVALID", name, err)
		}
	}
}

// failingPruner fails its event prune.
type failingPruner struct{ triggers int }

func (p *failingPruner) PruneEvents(context.Context, time.Time) (int64, error) {
	return 0, stripesync.Errorf(stripesync.EUNAVAILABLE, "database down")
}

func (p *failingPruner) PruneTriggers(context.Context, time.Time) (int64, error) {
	p.triggers++
	return 3, nil
}

func (p *failingPruner) PruneRequests(context.Context, time.Time) (int64, error) { return 2, nil }
func (p *failingPruner) PruneSessions(context.Context, time.Time) (int64, error) { return 1, nil }

func TestPruneGoesOnAfterAFailure(t *testing.T) {
	p := &failingPruner{}
	var reported []string
	run, err := schedules.Prune(schedules.PruneConfig{Store: p, Retention: day, OnPruned: func(inbox string, n int64) {
		reported = append(reported, fmt.Sprintf("%s=%d", inbox, n))
	}})
	if err != nil {
		t.Fatal(err)
	}
	err = run(t.Context())
	if stripesync.CodeOf(err) != stripesync.EUNAVAILABLE {
		t.Errorf("run = %v, want the event prune's EUNAVAILABLE", err)
	}
	if diff := cmp.Diff([]string{"triggers=3", "requests=2", "sessions=1"}, reported); diff != "" || p.triggers != 1 {
		t.Errorf("triggers pruned %d times, reported (-want +got):\n%s", p.triggers, diff)
	}
}
