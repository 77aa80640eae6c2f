package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
)

// held is what one claim of each kind of work handed out: job keys, event
// ids and trigger record ids.
type held struct{ Jobs, Events, Triggers []string }

// claimEach claims up to n jobs of kind "k", events and triggers.
func claimEach(t *testing.T, db *store.DB, n int) held {
	t.Helper()
	jobs, _ := claim(t, db, "k", n)
	var triggers []string
	for _, c := range claimTriggers(t, db, n) {
		triggers = append(triggers, c.RecordID)
	}
	return held{Jobs: jobs, Events: claimEvents(t, db, n), Triggers: triggers}
}

// RunReclaim checks DB.Register and DB.ReclaimDead: what a dead claimer
// held is claimable again at once, while the leases of a live claimer, of
// a process that never registered, and an event's retry time stand.
// newURL returns the URL of a new, empty database, which the test opens
// several times, as several processes would.
func RunReclaim(t *testing.T, newURL func(t *testing.T) string) {
	t.Parallel()
	ctx := t.Context()
	url := newURL(t)
	clock := NewClock(start)
	// process opens the database as a new process would; the test closes
	// it, or the cleanup does.
	process := func() *store.DB {
		t.Helper()
		db, err := store.Open(ctx, url, testLogger(t))
		if err != nil {
			t.Fatalf("store.Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		return db.WithClock(clock.Now).WithTriggerWindow(0)
	}
	register := func(db *store.DB) {
		t.Helper()
		if err := db.Register(ctx); err != nil {
			t.Fatalf("Register: %v", err)
		}
	}
	anon := process() // a CLI command next to the daemon
	postgres := anon.Dialect() == store.DialectPostgres
	// Enough of each for the claims below, so that once the dead
	// claimer's leases end, they are all that is free.
	n := 3
	if postgres {
		n++
	}
	for i := range n {
		id := fmt.Sprintf("%d", i)
		enqueue(t, anon, stripesync.Job{Kind: "k", Key: id, RunAt: clock.Now().Add(time.Duration(i-n) * time.Millisecond)})
		accept(t, anon, stripeEvent("evt_"+id, time.Duration(i)*time.Second), true)
		acceptTriggers(t, anon, 1, stripesync.Trigger{Object: stripesync.ObjectAccount, RecordID: "001" + id,
			ReceivedAt: clock.Now().Add(time.Duration(i-n) * time.Millisecond)})
	}

	dead := process()
	register(dead)
	// Two events: one is failed with a retry time, which is not a lease.
	deadHeld := claimEach(t, dead, 2)
	if err := dead.FailEvents(ctx, []stripesync.EventFailure{{ID: deadHeld.Events[1], Error: "boom", RetryAt: clock.Now().Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	deadHeld.Events = deadHeld.Events[:1]
	claimEach(t, anon, 1)
	// Receipt mails: the dead claimer dies inside one SMTP conversation
	// after finishing another; a CLI command is inside a third.
	startMail(t, dead, "pi_dead_sending")
	startMail(t, dead, "pi_dead_sent")
	if err := dead.FinishReceiptMail(ctx, "pi_dead_sent", true); err != nil {
		t.Fatal(err)
	}
	startMail(t, anon, "pi_anon_sending")

	// Postgres: a live replica holds leases too. SQLite: a second
	// claimer on the file is refused while the first one lives.
	next := process()
	if postgres {
		live := process()
		register(live)
		claimEach(t, live, 1)
		startMail(t, live, "pi_live_sending")
		register(next)
		if r, err := next.ReclaimDead(ctx); err != nil || r != (store.Reclaimed{}) {
			t.Errorf("ReclaimDead while every claimer lives = %+v, %v; want nothing reclaimed", r, err)
		}
	} else {
		wantCode(t, "Register while another process holds the file", next.Register(ctx), stripesync.ECONFLICT)
	}

	// The crash: the claimer's session (or lock file) is gone, its leases
	// still have a minute to run.
	if err := dead.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !postgres {
		register(next)
	}
	r, err := next.ReclaimDead(ctx)
	if want := (store.Reclaimed{Jobs: 2, Events: 1, Triggers: 2, Receipts: 1}); err != nil || r != want {
		t.Errorf("ReclaimDead after the claimer died = %+v, %v; want %+v", r, err, want)
	}
	// Nothing else is free yet, so the next claim gets exactly what the
	// dead claimer held.
	if diff := cmp.Diff(deadHeld, claimEach(t, next, 10)); diff != "" {
		t.Errorf("claim after ReclaimDead (-dead claimer's +got):\n%s", diff)
	}
	// Only the dead claimer's interrupted conversation may start again
	// before the receipt lease is over.
	for _, m := range []struct {
		payment string
		ok      bool
	}{{"pi_dead_sending", true}, {"pi_dead_sent", false}, {"pi_anon_sending", false}, {"pi_live_sending", false}} {
		if !postgres && m.payment == "pi_live_sending" {
			continue
		}
		if _, ok, err := next.StartReceiptMail(ctx, m.payment, time.Hour); err != nil || ok != m.ok {
			t.Errorf("StartReceiptMail(%s) after ReclaimDead = %v, %v; want %v", m.payment, ok, err, m.ok)
		}
	}
	if r, err := next.ReclaimDead(ctx); err != nil || r != (store.Reclaimed{}) {
		t.Errorf("ReclaimDead again = %+v, %v; want nothing: the claimer's own leases stand", r, err)
	}
}

// startMail starts the SMTP conversation of a payment's receipt, with a
// lease of an hour, which must be granted.
func startMail(t *testing.T, db *store.DB, paymentID string) {
	t.Helper()
	if _, ok, err := db.StartReceiptMail(t.Context(), paymentID, time.Hour); err != nil || !ok {
		t.Fatalf("StartReceiptMail(%s) = %v, %v; want it granted", paymentID, ok, err)
	}
}
