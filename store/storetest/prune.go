package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
)

const day = 24 * time.Hour

func markProcessed(t *testing.T, db *store.DB, ids ...string) {
	t.Helper()
	if err := db.MarkEventsProcessed(t.Context(), ids); err != nil {
		t.Fatalf("MarkEventsProcessed(%v): %v", ids, err)
	}
}

func backlog(t *testing.T, db *store.DB) stripesync.Backlog {
	t.Helper()
	b, err := db.InboxBacklog(t.Context())
	if err != nil {
		t.Fatalf("InboxBacklog: %v", err)
	}
	wantUTC(t, "backlog", b.OldestEvent, b.OldestTrigger)
	return b
}

func testPrune(t *testing.T, setup setupFunc) {
	t.Run("EventsProcessedBeforeOnly", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		accept(t, db, stripeEvent("evt_old", 0), true)
		accept(t, db, stripeEvent("evt_unprocessed", 0), true)
		markProcessed(t, db, "evt_old")
		if n, err := db.PruneEvents(ctx, clock.Now()); err != nil || n != 0 {
			t.Errorf("PruneEvents(now) = %d, %v; want 0 (processed at now, not before)", n, err)
		}
		// Marking events processed forgets nothing on its own, however old
		// the others are: only PruneEvents does.
		clock.Advance(60 * day)
		accept(t, db, stripeEvent("evt_new", 0), true)
		markProcessed(t, db, "evt_new")
		accept(t, db, stripeEvent("evt_old", 0), false)

		n, err := db.PruneEvents(ctx, clock.Now().Add(-30*day))
		if err != nil || n != 1 {
			t.Errorf("PruneEvents(30 days ago) = %d, %v; want 1 (evt_old)", n, err)
		}
		accept(t, db, stripeEvent("evt_old", 0), true)          // forgotten
		accept(t, db, stripeEvent("evt_new", 0), false)         // processed after the cut
		accept(t, db, stripeEvent("evt_unprocessed", 0), false) // 60 days old, never processed
		// An unprocessed event is kept whatever the cut, and still claimed.
		if n, err := db.PruneEvents(ctx, clock.Now().Add(day)); err != nil || n != 1 {
			t.Errorf("PruneEvents(tomorrow) = %d, %v; want 1 (evt_new)", n, err)
		}
		if diff := cmp.Diff([]string{"evt_old", "evt_unprocessed"}, claimEvents(t, db, 10)); diff != "" {
			t.Errorf("ClaimEvents after pruning (-want +got):\n%s", diff)
		}
	})

	t.Run("TriggersSettledOnly", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		db = db.WithTriggerWindow(0)
		acceptTriggers(t, db, 2, notification("04l1", "001A", start), notification("04l2", "001B", start))
		for _, c := range claimTriggers(t, db, 10) {
			if c.RecordID == "001A" { // 001B stays pending: its push keeps failing
				if err := db.CompleteTrigger(ctx, c); err != nil {
					t.Fatalf("CompleteTrigger: %v", err)
				}
			} else if err := db.FailTrigger(ctx, c, time.Time{}, stripesync.Errorf(stripesync.EUNAVAILABLE, "down")); err != nil {
				t.Fatalf("FailTrigger: %v", err)
			}
		}
		if n, err := db.PruneTriggers(ctx, clock.Now()); err != nil || n != 0 {
			t.Errorf("PruneTriggers(now) = %d, %v; want 0 (seen at now, not before)", n, err)
		}
		// Accepting triggers forgets nothing on its own either.
		clock.Advance(60 * day)
		acceptTriggers(t, db, 1, notification("04l3", "001C", time.Time{}))
		acceptTriggers(t, db, 0, notification("04l1", "001A", start))

		n, err := db.PruneTriggers(ctx, clock.Now().Add(-30*day))
		if err != nil || n != 1 {
			t.Errorf("PruneTriggers(30 days ago) = %d, %v; want 1 (04l1, settled)", n, err)
		}
		acceptTriggers(t, db, 0, notification("04l2", "001B", start))                // still pending: kept
		acceptTriggers(t, db, 0, notification("04l3", "001C", time.Time{}))          // seen after the cut
		acceptTriggers(t, db, 1, notification("04l1", "001A", start.Add(time.Hour))) // forgotten
		if b := backlog(t, db); b.Triggers != 3 {
			t.Errorf("backlog after pruning = %+v, want 3 pending records (001A again, 001B, 001C)", b)
		}
	})

	t.Run("Backlog", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		db = db.WithTriggerWindow(0)
		if diff := cmp.Diff(stripesync.Backlog{}, backlog(t, db)); diff != "" {
			t.Errorf("backlog of an empty store (-want +got):\n%s", diff)
		}

		// The oldest is by receipt, not by Stripe's created time: evt_b
		// was created first but received last.
		accept(t, db, stripeEvent("evt_a", time.Hour), true)
		firstEvent := clock.Now()
		clock.Advance(time.Minute)
		accept(t, db, stripeEvent("evt_c", 2*time.Hour), true)
		secondEvent := clock.Now()
		clock.Advance(time.Minute)
		accept(t, db, stripeEvent("evt_b", 0), true)
		acceptTriggers(t, db, 1, stripesync.Trigger{Object: stripesync.ObjectAccount, RecordID: "001A",
			ReceivedAt: start.Add(-time.Hour)})
		acceptTriggers(t, db, 1, notification("04l1", "001B", time.Time{}))
		secondTrigger := clock.Now()
		want := stripesync.Backlog{Events: 3, OldestEvent: stored(firstEvent), Triggers: 2, OldestTrigger: stored(start.Add(-time.Hour))}
		if diff := cmp.Diff(want, backlog(t, db)); diff != "" {
			t.Errorf("backlog (-want +got):\n%s", diff)
		}

		// Leased work is still backlog; processed and completed work is not.
		claimed := claimEvents(t, db, 10)
		if len(claimed) != 3 {
			t.Fatalf("ClaimEvents = %v, want all three", claimed)
		}
		markProcessed(t, db, "evt_a")
		triggers := claimTriggers(t, db, 10)
		if len(triggers) != 2 || triggers[0].RecordID != "001A" {
			t.Fatalf("ClaimTriggers = %+v, want 001A then 001B", triggers)
		}
		if err := db.CompleteTrigger(ctx, triggers[0]); err != nil {
			t.Fatal(err)
		}
		want = stripesync.Backlog{Events: 2, OldestEvent: stored(secondEvent), Triggers: 1, OldestTrigger: stored(secondTrigger)}
		if diff := cmp.Diff(want, backlog(t, db)); diff != "" {
			t.Errorf("backlog after processing evt_a and pushing 001A (-want +got):\n%s", diff)
		}

		// A dead event leaves the backlog for the dead letters.
		if err := db.FailEvents(ctx, []stripesync.EventFailure{{ID: "evt_b", Error: "bad", Dead: true}}); err != nil {
			t.Fatal(err)
		}
		want = stripesync.Backlog{Events: 1, OldestEvent: stored(secondEvent), DeadEvents: 1, Triggers: 1, OldestTrigger: stored(secondTrigger)}
		if diff := cmp.Diff(want, backlog(t, db)); diff != "" {
			t.Errorf("backlog after evt_b died (-want +got):\n%s", diff)
		}

		markProcessed(t, db, "evt_b", "evt_c")
		if err := db.CompleteTrigger(ctx, triggers[1]); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(stripesync.Backlog{}, backlog(t, db)); diff != "" {
			t.Errorf("backlog once everything is done (-want +got):\n%s", diff)
		}
	})
}
