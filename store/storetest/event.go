package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
)

// stripeEvent is a payment_intent.succeeded event created at start+offset.
func stripeEvent(id string, offset time.Duration) stripesync.Event {
	return stripesync.Event{
		ID: id, Type: stripesync.EventPaymentIntentSucceeded, Created: start.Add(offset), APIVersion: "2023-10-16",
		ObjectID: "pi_" + id, PaymentIntentID: "pi_" + id,
		Payload: []byte(`{"id":"` + id + `","object":"event","type":"payment_intent.succeeded"}`),
	}
}

func accept(t *testing.T, db *store.DB, e stripesync.Event, want bool) {
	t.Helper()
	inserted, err := db.AcceptEvent(t.Context(), e)
	if err != nil || inserted != want {
		t.Errorf("AcceptEvent(%s) = %v, %v; want %v, nil", e.ID, inserted, err, want)
	}
}

func claimEvents(t *testing.T, db *store.DB, n int) []string {
	t.Helper()
	events, err := db.ClaimEvents(t.Context(), n, lease, 0)
	if err != nil {
		t.Fatalf("ClaimEvents: %v", err)
	}
	var ids []string
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	return ids
}

func testEvents(t *testing.T, setup setupFunc) {
	t.Run("AcceptOnceAndRoundTrip", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		in := stripeEvent("evt_1", 0)
		in.Account, in.CustomerID = "acct_1", "cus_1"
		accept(t, db, in, true)
		accept(t, db, in, false)
		other := in
		other.Type = "charge.refunded" // same id, other content: still a repeat
		accept(t, db, other, false)
		events, err := db.ClaimEvents(ctx, 10, lease, 0)
		if err != nil {
			t.Fatalf("ClaimEvents: %v", err)
		}
		want := in
		want.Created = stored(in.Created)
		if diff := cmp.Diff([]stripesync.Event{want}, events); diff != "" {
			t.Errorf("ClaimEvents (-want +got):\n%s", diff)
		}
		wantUTC(t, "event", events[0].Created)

		for name, e := range map[string]stripesync.Event{
			"no id":      {Type: "x", Created: start},
			"no type":    {ID: "evt_2", Created: start},
			"no created": {ID: "evt_2", Type: "x"},
		} {
			_, err := db.AcceptEvent(ctx, e)
			wantCode(t, "AcceptEvent with "+name, err, stripesync.EINVALID)
		}
		_, err = db.ClaimEvents(ctx, 0, lease, 0)
		wantCode(t, "ClaimEvents(0)", err, stripesync.EINVALID)
	})

	t.Run("ConcurrentAcceptors", func(t *testing.T) {
		db, _ := setup(t)
		const goroutines, perGoroutine, distinct = 32, 50, 600
		var (
			mu       sync.Mutex
			inserted = map[string]int{}
			seen     = map[string]bool{}
			wg       sync.WaitGroup
		)
		for g := range goroutines {
			wg.Go(func() {
				for i := range perGoroutine {
					// 1,600 calls over 600 ids: most ids arrive two or
					// three times, often in the same batch.
					id := fmt.Sprintf("evt_%04d", (g*perGoroutine+i*7)%distinct)
					ok, err := db.AcceptEvent(t.Context(), stripeEvent(id, time.Duration(i)*time.Second))
					if err != nil {
						t.Errorf("AcceptEvent(%s): %v", id, err)
						return
					}
					mu.Lock()
					seen[id] = true
					if ok {
						inserted[id]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for id := range seen {
			if inserted[id] != 1 {
				t.Errorf("event %s: inserted = true %d times, want exactly once", id, inserted[id])
			}
		}
		ids := claimEvents(t, db, 10_000)
		if len(ids) != len(seen) {
			t.Errorf("ClaimEvents returned %d events, want %d (each id once)", len(ids), len(seen))
		}
	})

	t.Run("ClaimLeaseAndProcess", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		// Accepted out of order; claimed oldest (Created) first.
		accept(t, db, stripeEvent("evt_c", 2*time.Second), true)
		accept(t, db, stripeEvent("evt_a", 0), true)
		accept(t, db, stripeEvent("evt_b", time.Second), true)
		if diff := cmp.Diff([]string{"evt_a", "evt_b"}, claimEvents(t, db, 2)); diff != "" {
			t.Errorf("ClaimEvents(2) (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"evt_c"}, claimEvents(t, db, 10)); diff != "" {
			t.Errorf("ClaimEvents while the first two are leased (-want +got):\n%s", diff)
		}
		if err := db.MarkEventsProcessed(ctx, []string{"evt_a", "evt_c", "evt_unknown"}); err != nil {
			t.Fatalf("MarkEventsProcessed: %v", err)
		}
		if ids := claimEvents(t, db, 10); len(ids) != 0 {
			t.Errorf("ClaimEvents during the leases = %v, want nothing", ids)
		}
		clock.Advance(lease)
		if diff := cmp.Diff([]string{"evt_b"}, claimEvents(t, db, 10)); diff != "" {
			t.Errorf("ClaimEvents after the lease ended (-want +got):\n%s", diff)
		}
		// Processed events stay as the de-duplication memory.
		accept(t, db, stripeEvent("evt_a", 0), false)
		if err := db.MarkEventsProcessed(ctx, nil); err != nil {
			t.Errorf("MarkEventsProcessed(nil): %v", err)
		}
	})

	t.Run("ClaimMergesDueAndNewEventsInOrder", func(t *testing.T) {
		db, clock := setup(t)
		// evt_b is claimed and its lease ends; evt_a and evt_c arrive
		// meanwhile, never claimed. One claim takes both kinds, oldest
		// first, and leaves the still-leased evt_d alone.
		accept(t, db, stripeEvent("evt_b", time.Second), true)
		claimEvents(t, db, 10)
		clock.Advance(lease / 2)
		accept(t, db, stripeEvent("evt_d", 3*time.Second), true)
		claimEvents(t, db, 10)
		clock.Advance(lease / 2)
		accept(t, db, stripeEvent("evt_c", 2*time.Second), true)
		accept(t, db, stripeEvent("evt_a", 0), true)
		if diff := cmp.Diff([]string{"evt_a", "evt_b"}, claimEvents(t, db, 2)); diff != "" {
			t.Errorf("ClaimEvents(2) with one due and two new (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"evt_c"}, claimEvents(t, db, 10)); diff != "" {
			t.Errorf("ClaimEvents(10) next (-want +got):\n%s", diff)
		}
	})

	t.Run("ClaimKeepsAPaymentIntentsEventsTogether", func(t *testing.T) {
		db, _ := setup(t)
		// Same second, ids that sort the two PaymentIntents' events apart.
		for _, e := range []struct{ id, pi string }{{"evt_1", "pi_b"}, {"evt_2", "pi_a"}, {"evt_3", "pi_b"}, {"evt_4", "pi_a"}} {
			ev := stripeEvent(e.id, 0)
			ev.PaymentIntentID = e.pi
			accept(t, db, ev, true)
		}
		if diff := cmp.Diff([]string{"evt_2", "evt_4", "evt_1", "evt_3"}, claimEvents(t, db, 4)); diff != "" {
			t.Errorf("claim order (-want +got):\n%s", diff)
		}
	})

	t.Run("SettleHoldsBackNewEvents", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		accept(t, db, stripeEvent("evt_a", 0), true)
		clock.Advance(40 * time.Millisecond)
		accept(t, db, stripeEvent("evt_b", 0), true)
		events, err := db.ClaimEvents(ctx, 10, lease, 50*time.Millisecond)
		if err != nil || len(events) != 0 {
			t.Fatalf("ClaimEvents 40 ms after the first = %v, %v; want nothing", events, err)
		}
		clock.Advance(20 * time.Millisecond)
		events, err = db.ClaimEvents(ctx, 10, lease, 50*time.Millisecond)
		if err != nil || len(events) != 1 || events[0].ID != "evt_a" {
			t.Fatalf("ClaimEvents 60 ms after the first = %v, %v; want evt_a alone", events, err)
		}
		if _, err := db.ClaimEvents(ctx, 10, lease, -time.Millisecond); stripesync.CodeOf(err) != stripesync.EINVALID {
			t.Errorf("ClaimEvents with a negative settle: %v, want EINVALID", err)
		}
	})

	t.Run("FailRetriesThenDeadLetters", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		accept(t, db, stripeEvent("evt_a", 0), true)
		accept(t, db, stripeEvent("evt_b", 0), true)
		claimEvents(t, db, 2)
		retry := clock.Now().Add(10 * time.Second)
		err := db.FailEvents(ctx, []stripesync.EventFailure{
			{ID: "evt_a", Error: "stripe: unavailable", RetryAt: retry},
			{ID: "evt_b", Error: "stripe: bad request", Dead: true},
		})
		if err != nil {
			t.Fatalf("FailEvents: %v", err)
		}
		clock.Advance(9 * time.Second)
		if ids := claimEvents(t, db, 10); len(ids) != 0 {
			t.Errorf("claimed %v before the retry time", ids)
		}
		clock.Advance(2 * time.Second)
		events, err := db.ClaimEvents(ctx, 10, lease, 0)
		if err != nil || len(events) != 1 || events[0].ID != "evt_a" || events[0].Attempts != 1 {
			t.Fatalf("ClaimEvents after the retry time = %+v, %v; want evt_a with 1 attempt (evt_b is dead)", events, err)
		}
		clock.Advance(lease)
		if ids := claimEvents(t, db, 10); !slices.Equal(ids, []string{"evt_a"}) {
			t.Errorf("claimed %v after the lease; want evt_a again and never the dead evt_b", ids)
		}
		// A dead event is still the de-duplication memory.
		accept(t, db, stripeEvent("evt_b", 0), false)
	})

	t.Run("DeferCountsNoAttempt", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		accept(t, db, stripeEvent("evt_a", 0), true)
		claimEvents(t, db, 1)
		if err := db.DeferEvents(ctx, []string{"evt_a"}, clock.Now().Add(5*time.Second)); err != nil {
			t.Fatalf("DeferEvents: %v", err)
		}
		clock.Advance(4 * time.Second)
		if ids := claimEvents(t, db, 1); len(ids) != 0 {
			t.Errorf("claimed %v while deferred", ids)
		}
		clock.Advance(2 * time.Second)
		events, err := db.ClaimEvents(ctx, 1, lease, 0)
		if err != nil || len(events) != 1 || events[0].Attempts != 0 {
			t.Errorf("ClaimEvents after the deferral = %+v, %v; want evt_a with 0 attempts", events, err)
		}
		if err := db.MarkEventsProcessed(ctx, []string{"evt_a"}); err != nil {
			t.Fatal(err)
		}
		if err := db.DeferEvents(ctx, []string{"evt_a"}, clock.Now()); err != nil {
			t.Fatal(err)
		}
		if ids := claimEvents(t, db, 1); len(ids) != 0 {
			t.Errorf("a processed event came back after DeferEvents: %v", ids)
		}
	})
}
