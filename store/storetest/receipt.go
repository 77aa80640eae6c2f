package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
)

func testReceipts(t *testing.T, setup setupFunc) {
	t.Run("AccountContacts", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		wantCode(t, "AccountContact of an unknown account", func() error { _, err := db.AccountContact(ctx, "001A"); return err }(), stripesync.ENOTFOUND)
		wantCode(t, "SaveAccountContacts without an id", db.SaveAccountContacts(ctx, []stripesync.Account{{Name: "x"}}), stripesync.EINVALID)
		at := start.Add(-time.Hour)
		if err := db.SaveAccountContacts(ctx, []stripesync.Account{
			{ID: "001A", Name: "Acme", Email: "old@acme.test", ModStamp: at},
			{ID: "001A", Name: "Acme Corp", Email: "billing@acme.test", ModStamp: at.Add(time.Minute)}, // twice in one batch
			{ID: "001B", Name: "Bolt", Phone: "not kept"},
		}); err != nil {
			t.Fatal(err)
		}
		// A slower reader's older copy must not undo the newer one.
		if err := db.SaveAccountContacts(ctx, []stripesync.Account{{ID: "001A", Name: "Stale", Email: "stale@acme.test", ModStamp: at}}); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]stripesync.Account{
			"001A": {ID: "001A", Name: "Acme Corp", Email: "billing@acme.test"},
			"001B": {ID: "001B", Name: "Bolt"},
		} {
			got, err := db.AccountContact(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("AccountContact(%s) (-want +got):\n%s", id, diff)
			}
		}
	})

	t.Run("ReceiptMail", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		begin := func(what string, want stripesync.ReceiptMail, wantOK bool) {
			t.Helper()
			got, ok, err := db.StartReceiptMail(ctx, "pi_1", lease)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if diff := cmp.Diff(want, got); diff != "" || ok != wantOK {
				t.Errorf("%s: StartReceiptMail = %+v, %v; want %+v, %v (-want +got):\n%s", what, got, ok, want, wantOK, diff)
			}
		}
		first := stored(clock.Now())
		begin("first send", stripesync.ReceiptMail{}, true)
		clock.Advance(lease - time.Second)
		begin("within the lease of a send under way", stripesync.ReceiptMail{SendingAt: first}, false)
		clock.Advance(time.Second)
		begin("a lease after a send that never finished", stripesync.ReceiptMail{SendingAt: first}, true)
		if err := db.FinishReceiptMail(ctx, "pi_1", false); err != nil {
			t.Fatal(err)
		}
		begin("right after a send that failed", stripesync.ReceiptMail{}, true)
		third := stored(clock.Now())
		if err := db.FinishReceiptMail(ctx, "pi_1", true); err != nil {
			t.Fatal(err)
		}
		sent := stripesync.ReceiptMail{SendingAt: third, SentAt: third}
		begin("after the send", sent, false)
		clock.Advance(10 * lease)
		begin("long after the send", sent, false)
		if err := db.FinishReceiptMail(ctx, "pi_1", false); err != nil {
			t.Fatal(err)
		}
		begin("after a late failure report", sent, false)
		if err := db.FinishReceiptMail(ctx, "pi_unknown", true); err != nil {
			t.Errorf("FinishReceiptMail of a receipt never started: %v", err)
		}
		_, _, err := db.StartReceiptMail(ctx, "", lease)
		wantCode(t, "StartReceiptMail without a payment", err, stripesync.EINVALID)
	})

	t.Run("DeferCountsNoAttempt", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		enqueue(t, db, stripesync.Job{Kind: "mail", Key: "a", MaxAttempts: 1})
		_, jobs := claim(t, db, "mail", 1)
		if len(jobs) != 1 {
			t.Fatalf("claimed %d jobs, want 1", len(jobs))
		}
		if err := db.Defer(ctx, jobs[0].ID, clock.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if keys, _ := claim(t, db, "mail", 1); len(keys) != 0 {
			t.Errorf("claimed %v before the deferral ended", keys)
		}
		clock.Advance(time.Minute)
		// MaxAttempts 1: the job is claimable only if the deferred claim
		// was not counted.
		if _, jobs := claim(t, db, "mail", 1); len(jobs) != 1 || jobs[0].Attempts != 1 {
			t.Errorf("claim after the deferral = %+v, want the job on its first attempt", jobs)
		}
		wantCode(t, "Defer of an unknown job", db.Defer(ctx, 999, clock.Now()), stripesync.ENOTFOUND)
	})
}
