package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
)

// testStaff checks what the staff API keeps: the Idempotency-Key memory
// and the audit trail.
func testStaff(t *testing.T, setup setupFunc) {
	t.Run("RequestLifecycle", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		claim := func(what, fp string, wantClaimed bool) stripesync.StoredResponse {
			t.Helper()
			prev, claimed, err := db.ClaimRequest(ctx, "alice", "k1", fp, clock.Now(), time.Minute)
			if err != nil || claimed != wantClaimed {
				t.Fatalf("%s: ClaimRequest = %+v, %v, %v; want claimed %v", what, prev, claimed, err, wantClaimed)
			}
			return prev
		}
		claim("a new key", "fp1", true)
		if prev := claim("while the first is served", "fp1", false); prev.Complete || prev.Fingerprint != "fp1" {
			t.Errorf("in progress: %+v", prev)
		}
		if prev := claim("other parameters", "fp2", false); prev.Fingerprint != "fp1" {
			t.Errorf("other parameters: %+v, want fp1's", prev)
		}
		// Another staff member's key of the same name is theirs.
		if _, claimed, err := db.ClaimRequest(ctx, "bob", "k1", "fp2", clock.Now(), time.Minute); err != nil || !claimed {
			t.Errorf("bob's k1: claimed %v, %v", claimed, err)
		}
		if err := db.CompleteRequest(ctx, "alice", "k1", 201, []byte(`{"id":"pi_1"}`), clock.Now()); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Hour) // an answer never goes stale
		if prev := claim("a retry", "fp1", false); !prev.Complete || prev.Status != 201 || string(prev.Body) != `{"id":"pi_1"}` {
			t.Errorf("replay: %+v", prev)
		}
		// Release forgets only what is not answered.
		if err := db.ReleaseRequest(ctx, "alice", "k1"); err != nil {
			t.Fatal(err)
		}
		claim("after releasing an answered key", "fp1", false)
		if err := db.ReleaseRequest(ctx, "bob", "k1"); err != nil {
			t.Fatal(err)
		}
		if _, claimed, err := db.ClaimRequest(ctx, "bob", "k1", "fp3", clock.Now(), time.Minute); err != nil || !claimed {
			t.Errorf("bob's released k1: claimed %v, %v; want a fresh claim", claimed, err)
		}
		// Bob's claim is abandoned: after staleAfter a retry takes it over,
		// but only with the same parameters.
		clock.Advance(2 * time.Minute)
		if _, claimed, _ := db.ClaimRequest(ctx, "bob", "k1", "fp4", clock.Now(), time.Minute); claimed {
			t.Error("an abandoned claim was taken over with other parameters")
		}
		if _, claimed, err := db.ClaimRequest(ctx, "bob", "k1", "fp3", clock.Now(), time.Minute); err != nil || !claimed {
			t.Errorf("abandoned claim: claimed %v, %v; want taken over", claimed, err)
		}
		if n, err := db.PruneRequests(ctx, clock.Now().Add(-time.Minute)); err != nil || n != 1 {
			t.Errorf("PruneRequests = %d, %v; want alice's k1 (bob's was taken over since)", n, err)
		}
		claim("a pruned key", "fp9", true)
	})

	t.Run("OneClaimOfConcurrentRequests", func(t *testing.T) {
		db, clock := setup(t)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			claimed int
		)
		for range 8 {
			wg.Go(func() {
				_, ok, err := db.ClaimRequest(t.Context(), "alice", "same", "fp", clock.Now(), time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					claimed++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if claimed != 1 {
			t.Errorf("%d of 8 concurrent requests with one key were claimed, want 1", claimed)
		}
	})

	t.Run("AuditTrail", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		for i, a := range []stripesync.StaffAction{
			{Staff: "alice", Action: stripesync.StaffActionPayment, InvoiceID: "a0Y1", PaymentID: "pi_1", Outcome: "ok", Detail: "20.00 with pm_1"},
			{Staff: "bob", Action: stripesync.StaffActionPayment, InvoiceID: "a0Y2", Outcome: "Only 5.00 USD is left to pay on INV-2"},
			{Staff: "bob", Action: stripesync.StaffActionReceiptResent, InvoiceID: "a0Y1", PaymentID: "pi_1", Outcome: "ok"},
		} {
			a.At = clock.Now().Add(time.Duration(i) * time.Second)
			if err := db.RecordStaffAction(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.StaffActions(ctx, "a0Y1")
		if err != nil || len(got) != 2 || got[0].Staff != "alice" || got[1].Action != stripesync.StaffActionReceiptResent ||
			!got[1].At.Equal(start.Add(2*time.Second).Truncate(time.Microsecond)) || got[1].At.Location() != time.UTC {
			t.Errorf("StaffActions(a0Y1) = %+v, %v", got, err)
		}
		if err := db.RecordStaffAction(ctx, stripesync.StaffAction{Staff: "alice", InvoiceID: "a0Y1"}); stripesync.CodeOf(err) != stripesync.EINVALID {
			t.Errorf("an action without its action, outcome and time: %v, want EINVALID", err)
		}
	})

	t.Run("PendingVerification", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		if _, err := db.PendingVerification(ctx, "pm_bank"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Fatalf("PendingVerification of an account nobody entered: %v, want ENOTFOUND", err)
		}
		first := stripesync.PendingVerification{PaymentMethodID: "pm_bank", PaymentIntentID: "pi_1", InvoiceID: "a0Y1", Created: clock.Now()}
		if err := db.AwaitVerification(ctx, first); err != nil {
			t.Fatal(err)
		}
		// A second payment from the same account is the one verified now.
		second := stripesync.PendingVerification{PaymentMethodID: "pm_bank", PaymentIntentID: "pi_2", InvoiceID: "a0Y2", Created: clock.Now().Add(time.Hour)}
		if err := db.AwaitVerification(ctx, second); err != nil {
			t.Fatal(err)
		}
		got, err := db.PendingVerification(ctx, "pm_bank")
		if err != nil || got.PaymentIntentID != "pi_2" || got.InvoiceID != "a0Y2" || !got.Created.Equal(second.Created.Truncate(time.Microsecond)) {
			t.Errorf("PendingVerification(pm_bank) = %+v, %v; want the second payment", got, err)
		}
		if err := db.AwaitVerification(ctx, stripesync.PendingVerification{PaymentMethodID: "pm_x"}); stripesync.CodeOf(err) != stripesync.EINVALID {
			t.Errorf("a pending verification without its PaymentIntent: %v, want EINVALID", err)
		}
	})

	t.Run("PendingVerifications", func(t *testing.T) { testPendingVerifications(t, setup) })
	t.Run("SearchInvoices", func(t *testing.T) { testSearchInvoices(t, setup) })

	t.Run("ConsoleSessions", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		const idle, absolute = 30 * time.Minute, 12 * time.Hour
		start := clock.Now()
		s := stripesync.StaffSession{IDHash: "h1", Staff: "alice", CSRF: "c1", Created: start}
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateSession(ctx, s); err == nil {
			t.Error("a second session with the same id hash was stored")
		}
		// Seen every 20 minutes, it stays alive well past the idle limit...
		at := start
		for range 30 {
			at = at.Add(20 * time.Minute)
			if at.Sub(start) >= absolute {
				break
			}
			got, err := db.TouchSession(ctx, "h1", at, idle, absolute)
			if err != nil || got.Staff != "alice" || got.CSRF != "c1" {
				t.Fatalf("TouchSession at +%v = %+v, %v", at.Sub(start), got, err)
			}
		}
		// ... but not past the absolute one.
		if _, err := db.TouchSession(ctx, "h1", start.Add(absolute), idle, absolute); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("a session 12 hours old: %v, want ENOTFOUND", err)
		}
		// Idle for 30 minutes, it has ended.
		if err := db.CreateSession(ctx, stripesync.StaffSession{IDHash: "h2", Staff: "bob", CSRF: "c2", Created: start}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TouchSession(ctx, "h2", start.Add(idle), idle, absolute); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("a session idle for 30 minutes: %v, want ENOTFOUND", err)
		}
		// Signed out, it has ended.
		if err := db.CreateSession(ctx, stripesync.StaffSession{IDHash: "h3", Staff: "bob", CSRF: "c3", Created: start}); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteSession(ctx, "h3"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TouchSession(ctx, "h3", start.Add(time.Minute), idle, absolute); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("a signed-out session: %v, want ENOTFOUND", err)
		}
		if n, err := db.PruneSessions(ctx, start.Add(time.Minute)); err != nil || n != 1 {
			t.Errorf("PruneSessions = %d, %v; want bob's idle one (alice's was seen since)", n, err)
		}
		if err := db.CreateSession(ctx, stripesync.StaffSession{IDHash: "h4"}); stripesync.CodeOf(err) != stripesync.EINVALID {
			t.Errorf("a session without its staff member: %v, want EINVALID", err)
		}
	})
}
