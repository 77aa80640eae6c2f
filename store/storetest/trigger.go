package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
)

// notification is an Outbound Message notification about an account.
func notification(id, account string, modstamp time.Time) stripesync.Trigger {
	return stripesync.Trigger{NotificationID: id, Object: stripesync.ObjectAccount, RecordID: account, ModStamp: modstamp}
}

func acceptTriggers(t *testing.T, db *store.DB, want int, ts ...stripesync.Trigger) {
	t.Helper()
	n, err := db.AcceptTriggers(t.Context(), ts)
	if err != nil || n != want {
		t.Errorf("AcceptTriggers(%d triggers) = %d, %v; want %d, nil", len(ts), n, err, want)
	}
}

func claimTriggers(t *testing.T, db *store.DB, n int) []store.ClaimedTrigger {
	t.Helper()
	claimed, err := db.ClaimTriggers(t.Context(), n, lease)
	if err != nil {
		t.Fatalf("ClaimTriggers: %v", err)
	}
	return claimed
}

func testTriggers(t *testing.T, setup setupFunc) {
	t.Run("DedupeAndCoalesce", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		db = db.WithTriggerWindow(time.Second)
		message := []stripesync.Trigger{
			notification("04l1", "001A", start),
			notification("04l2", "001A", start.Add(2*time.Second)),
			notification("04l3", "001A", start.Add(time.Second)),
			{NotificationID: "04l4", Object: stripesync.ObjectInvoice, RecordID: "a0B1"},
			notification("04l1", "001A", start), // repeated within the message
		}
		acceptTriggers(t, db, 4, message...)
		acceptTriggers(t, db, 0, message...) // Salesforce redelivers
		if got := claimTriggers(t, db, 10); len(got) != 0 {
			t.Errorf("ClaimTriggers within the window = %+v, want nothing", got)
		}
		clock.Advance(500 * time.Millisecond)
		// A JSON trigger (no notification id) is never a repeat.
		json := stripesync.Trigger{Object: stripesync.ObjectAccount, RecordID: "001A"}
		acceptTriggers(t, db, 2, json, json)
		acceptTriggers(t, db, 1, notification("04l5", "001B", time.Time{}))
		clock.Advance(500 * time.Millisecond)
		got := claimTriggers(t, db, 10)
		want := []store.ClaimedTrigger{
			{Trigger: stripesync.Trigger{NotificationID: "04l3", Object: stripesync.ObjectAccount, RecordID: "001A",
				ModStamp: stored(start.Add(2 * time.Second)), ReceivedAt: stored(start)}, Attempts: 1},
			{Trigger: stripesync.Trigger{NotificationID: "04l4", Object: stripesync.ObjectInvoice, RecordID: "a0B1",
				ReceivedAt: stored(start)}, Attempts: 1},
		}
		if diff := cmp.Diff(want, got, cmpIgnoreSeq); diff != "" {
			t.Errorf("ClaimTriggers after the window (-want +got):\n%s", diff)
		}
		if len(got) == 2 && (got[0].Seq == 0 || got[0].Seq == got[1].Seq) {
			t.Errorf("claimed sequence numbers %d and %d, want distinct and non-zero", got[0].Seq, got[1].Seq)
		}
		wantUTC(t, "trigger", got[0].ModStamp, got[0].ReceivedAt)
		clock.Advance(500 * time.Millisecond)
		if got := claimTriggers(t, db, 10); len(got) != 1 || got[0].RecordID != "001B" {
			t.Errorf("ClaimTriggers after 001B's window = %+v, want 001B", got)
		}
		for _, c := range got {
			if err := db.CompleteTrigger(ctx, c); err != nil {
				t.Errorf("CompleteTrigger(%s): %v", c.RecordID, err)
			}
		}
	})

	t.Run("CompleteKeepsANewerTrigger", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		db = db.WithTriggerWindow(0)
		acceptTriggers(t, db, 1, notification("04l1", "001A", start))
		first := claimTriggers(t, db, 10)
		if len(first) != 1 {
			t.Fatalf("ClaimTriggers = %+v, want 001A", first)
		}
		// While the worker pushes, the record changes again.
		acceptTriggers(t, db, 1, notification("04l2", "001A", start.Add(time.Minute)))
		if got := claimTriggers(t, db, 10); len(got) != 0 {
			t.Errorf("ClaimTriggers while 001A is leased = %+v, want nothing", got)
		}
		if err := db.CompleteTrigger(ctx, first[0]); err != nil {
			t.Fatalf("CompleteTrigger: %v", err)
		}
		again := claimTriggers(t, db, 10)
		if len(again) != 1 || again[0].Seq <= first[0].Seq || !again[0].ModStamp.Equal(stored(start.Add(time.Minute))) {
			t.Fatalf("ClaimTriggers after completing an older claim = %+v, want 001A again with a greater seq than %d", again, first[0].Seq)
		}
		if err := db.CompleteTrigger(ctx, again[0]); err != nil {
			t.Fatalf("CompleteTrigger: %v", err)
		}
		if got := claimTriggers(t, db, 10); len(got) != 0 {
			t.Errorf("ClaimTriggers after completing the latest = %+v, want nothing", got)
		}
		// Completing again, or a record never pending, does nothing.
		if err := db.CompleteTrigger(ctx, again[0]); err != nil {
			t.Errorf("CompleteTrigger of a completed record: %v", err)
		}
	})

	t.Run("ConcurrentNewerTriggersArePushed", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		db = db.WithTriggerWindow(0)
		const changes = 40
		last := start.Add(changes * time.Second)
		var (
			wg       sync.WaitGroup
			accepted = make(chan struct{})
			pushed   time.Time // the greatest ModStamp a worker claimed
		)
		wg.Go(func() {
			defer close(accepted)
			for i := 1; i <= changes; i++ {
				acceptTriggers(t, db, 1, notification(fmt.Sprint("04l", i), "001A", start.Add(time.Duration(i)*time.Second)))
			}
		})
		wg.Go(func() {
			done := false
			for {
				claimed, err := db.ClaimTriggers(ctx, 1, lease)
				if err != nil {
					t.Errorf("ClaimTriggers: %v", err)
					return
				}
				if len(claimed) == 0 {
					if done {
						return
					}
					select {
					case <-accepted:
						done = true // one more pass picks up the last trigger
					default:
					}
					continue
				}
				if claimed[0].ModStamp.After(pushed) {
					pushed = claimed[0].ModStamp
				}
				if err := db.CompleteTrigger(ctx, claimed[0]); err != nil {
					t.Errorf("CompleteTrigger: %v", err)
					return
				}
			}
		})
		wg.Wait()
		if !pushed.Equal(stored(last)) {
			t.Errorf("the worker last pushed the state of %v, want the last change's %v", pushed, stored(last))
		}
	})

	t.Run("FailAndLeaseExpiry", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		db = db.WithTriggerWindow(0)
		acceptTriggers(t, db, 1, stripesync.Trigger{Object: stripesync.ObjectInvoice, RecordID: "a0B1"})
		first := claimTriggers(t, db, 10)
		if len(first) != 1 {
			t.Fatalf("ClaimTriggers = %+v, want a0B1", first)
		}
		if err := db.FailTrigger(ctx, first[0], clock.Now().Add(time.Minute), fmt.Errorf("CRM unavailable")); err != nil {
			t.Fatalf("FailTrigger: %v", err)
		}
		if got := claimTriggers(t, db, 10); len(got) != 0 {
			t.Errorf("ClaimTriggers before retryAt = %+v, want nothing", got)
		}
		clock.Advance(time.Minute)
		second := claimTriggers(t, db, 10)
		if len(second) != 1 || second[0].Attempts != 2 || second[0].LastError != "CRM unavailable" {
			t.Fatalf("ClaimTriggers at retryAt = %+v, want a0B1 on attempt 2 with the last error", second)
		}
		clock.Advance(lease)
		third := claimTriggers(t, db, 10)
		if len(third) != 1 || third[0].Attempts != 3 || third[0].Seq != first[0].Seq {
			t.Errorf("ClaimTriggers after the lease ended = %+v, want a0B1 on attempt 3, same seq", third)
		}
		if err := db.CompleteTrigger(ctx, second[0]); err != nil { // the first worker finishes late
			t.Fatal(err)
		}
		if got := claimTriggers(t, db, 10); len(got) != 0 {
			t.Errorf("ClaimTriggers after completion = %+v, want nothing", got)
		}
		if err := db.FailTrigger(ctx, third[0], time.Time{}, nil); err != nil {
			t.Errorf("FailTrigger of a record no longer pending: %v", err)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		_, err := db.AcceptTriggers(ctx, []stripesync.Trigger{notification("04l1", "001A", start), {NotificationID: "04l2", Object: "Account"}})
		wantCode(t, "AcceptTriggers with a trigger without record", err, stripesync.EINVALID)
		// Nothing was stored: the valid notification is new.
		acceptTriggers(t, db, 1, notification("04l1", "001A", start))
		acceptTriggers(t, db, 0)
		_, err = db.ClaimTriggers(ctx, 1, 0)
		wantCode(t, "ClaimTriggers with no lease", err, stripesync.EINVALID)
	})
}

var cmpIgnoreSeq = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Seq" }, cmp.Ignore())
