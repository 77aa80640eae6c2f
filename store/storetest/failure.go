package storetest

import (
	"testing"
	"time"

	"github.com/stripesync/stripesync"
)

// testFailures checks the failure inbox: one entry per key however often
// it is seen, its history, the digest's due list, filters, and the
// resolution of an invoice's entries when it is paid.
func testFailures(t *testing.T, setup setupFunc) {
	db, _ := setup(t)
	ctx := t.Context()
	// Times come back in UTC, to the microsecond.
	at := func(d time.Duration) time.Time { return start.Add(d).UTC().Truncate(time.Microsecond) }
	decline := stripesync.Failure{
		Key: "autopay:a0B1:2026-03-14", Source: stripesync.FailureAutoPay, InvoiceID: "a0B1", AccountID: "001A",
		PaymentID: "pi_1", Amount: usd(5000), Code: "insufficient_funds", Message: "Your card has insufficient funds.",
		NextStep: stripesync.NextStepFor("insufficient_funds"), Status: stripesync.FailureRetrying,
		RetryAt: at(24 * time.Hour), Created: at(0),
	}
	digest := stripesync.Job{Kind: "failure_digest", Key: "minute-1"}
	first, err := db.RecordFailure(ctx, decline, digest)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == 0 || first.Occurrences != 1 || first.Status != stripesync.FailureRetrying || first.Amount != usd(5000) ||
		first.RetryAt != at(24*time.Hour) || first.Created != at(0) {
		t.Errorf("recorded %+v", first)
	}
	if jobs, err := db.Claim(ctx, "failure_digest", 10, time.Minute); err != nil || len(jobs) != 1 || jobs[0].Key != "minute-1" {
		t.Errorf("the digest job: %+v, %v; want the one enqueued with the failure", jobs, err)
	}

	// Seen again in the same state: one more occurrence, no new history.
	again := decline
	again.Created = at(time.Hour)
	if f, err := db.RecordFailure(ctx, again); err != nil || f.ID != first.ID || f.Occurrences != 2 || f.Updated != at(time.Hour) || f.Created != at(0) {
		t.Errorf("seen again: %+v, %v", f, err)
	}
	due, err := db.DueFailures(ctx, 10)
	if err != nil || len(due) != 1 || due[0].ID != first.ID {
		t.Fatalf("due in the digest: %+v, %v", due, err)
	}
	if err := db.MarkNotified(ctx, []int64{first.ID}, at(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if due, _ := db.DueFailures(ctx, 10); len(due) != 0 {
		t.Errorf("after the digest, still due: %+v", due)
	}
	// The retries ran out: it opens, and is due again.
	hard := decline
	hard.Status, hard.RetryAt, hard.Created = stripesync.FailureOpen, time.Time{}, at(3*time.Hour)
	opened, err := db.RecordFailure(ctx, hard)
	if err != nil || opened.Status != stripesync.FailureOpen || opened.Occurrences != 3 || !opened.RetryAt.IsZero() {
		t.Errorf("opened: %+v, %v", opened, err)
	}
	if due, _ := db.DueFailures(ctx, 10); len(due) != 1 {
		t.Errorf("an entry opened again is not due in the digest: %+v", due)
	}

	other := stripesync.Failure{Key: "payment:pi_9", Source: stripesync.FailurePayPage, InvoiceID: "a0B2", Code: "expired_card", Created: at(4 * time.Hour)}
	if _, err := db.RecordFailure(ctx, other); err != nil {
		t.Fatal(err)
	}
	list := func(f stripesync.FailureFilter) []string {
		t.Helper()
		got, err := db.ListFailures(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, g := range got {
			keys = append(keys, g.Key)
		}
		return keys
	}
	if got := list(stripesync.FailureFilter{Status: stripesync.FailureOpen}); len(got) != 2 || got[0] != "payment:pi_9" {
		t.Errorf("open failures, newest first: %q", got)
	}
	if got := list(stripesync.FailureFilter{InvoiceID: "a0B1"}); len(got) != 1 || got[0] != decline.Key {
		t.Errorf("the invoice's failures: %q", got)
	}
	if got := list(stripesync.FailureFilter{Limit: 1}); len(got) != 1 {
		t.Errorf("limit 1: %q", got)
	}

	dismissed, err := db.SetFailureStatus(ctx, opened.ID+1, stripesync.FailureDismissed, "alice", "the customer paid by cheque", at(5*time.Hour))
	if err != nil || dismissed.Status != stripesync.FailureDismissed {
		t.Fatalf("dismiss: %+v, %v", dismissed, err)
	}
	if _, err := db.SetFailureStatus(ctx, 999999, stripesync.FailureDismissed, "alice", "", at(5*time.Hour)); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
		t.Errorf("dismiss an unknown failure: %v, want ENOTFOUND", err)
	}
	// A payment recorded failed is in the inbox, with its code and next
	// step; paying the invoice then resolves its open entries (the
	// auto-pay one too), not another invoice's, and not a dismissed one.
	saveInvoices(t, db, invoice("a0B000000000001AAA", 5000))
	declined := payment("pi_10", "a0B000000000001AAA", usd(5000), stripesync.PaymentFailed, time.Minute)
	declined.FailureReason = "expired_card: Your card has expired."
	record(t, db, declined, true)
	if _, err := db.RecordFailure(ctx, stripesync.Failure{Key: "autopay:a0B000000000001AAA:2026-03-14", Source: stripesync.FailureAutoPay,
		InvoiceID: "a0B000000000001AAA", Status: stripesync.FailureRetrying, Created: at(6 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	entry, err := db.FailureByKey(ctx, "payment:pi_10")
	if err != nil || entry.Source != stripesync.FailurePayPage || entry.Code != "expired_card" || entry.Message != "Your card has expired." ||
		entry.NextStep != stripesync.NextStepFor("expired_card") || entry.Amount != usd(5000) || entry.Status != stripesync.FailureOpen {
		t.Errorf("the declined payment's entry: %+v, %v", entry, err)
	}
	// A bank payment that waited for its micro-deposits and failed failed
	// its verification.
	waiting := payment("pi_12", "a0B000000000001AAA", usd(2000), stripesync.PaymentAwaitingVerification, 3*time.Minute)
	waiting.Method, waiting.Channel = stripesync.MethodACH, stripesync.ChannelPhone
	record(t, db, waiting, true)
	waiting.Status, waiting.ChargeID, waiting.ChargeCreated = stripesync.PaymentFailed, "ch_pi_12b", start.Add(4*time.Minute)
	record(t, db, waiting, true)
	if f, err := db.FailureByKey(ctx, "payment:pi_12"); err != nil || f.Source != stripesync.FailureVerification || f.Code != "verification_failed" {
		t.Errorf("the failed verification's entry: %+v, %v", f, err)
	}
	if _, err := db.FailureByKey(ctx, "payment:pi_none"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
		t.Errorf("an unknown key: %v, want ENOTFOUND", err)
	}
	record(t, db, payment("pi_11", "a0B000000000001AAA", usd(5000), stripesync.PaymentSucceeded, 2*time.Minute), true)
	for _, key := range []string{"payment:pi_10", "autopay:a0B000000000001AAA:2026-03-14"} {
		if f, err := db.FailureByKey(ctx, key); err != nil || f.Status != stripesync.FailureResolved {
			t.Errorf("%s after the invoice was paid: %+v, %v", key, f, err)
		}
	}
	if got := list(stripesync.FailureFilter{Status: stripesync.FailureOpen}); len(got) != 1 || got[0] != decline.Key {
		t.Errorf("open after a0B000000000001AAA was paid: %q, want only the other invoice's", got)
	}
	if f, _ := db.FailureByKey(ctx, "payment:pi_9"); f.Status != stripesync.FailureDismissed {
		t.Errorf("the dismissed entry is %s", f.Status)
	}
	if due, _ := db.DueFailures(ctx, 10); len(due) == 0 {
		t.Error("the declined payment's entry is not due in the digest")
	}
	if jobs, err := db.Claim(ctx, stripesync.JobFailureDigest, 10, time.Minute); err != nil || len(jobs) != 0 {
		// Due 30 s after the failure, on the store's clock.
		t.Errorf("the digest job was due at once: %+v, %v", jobs, err)
	}

	f, history, err := db.Failure(ctx, first.ID)
	if err != nil || f.Status != stripesync.FailureOpen {
		t.Fatalf("read back: %+v, %v", f, err)
	}
	var statuses []stripesync.FailureStatus
	for _, h := range history {
		statuses = append(statuses, h.Status)
	}
	want := []stripesync.FailureStatus{stripesync.FailureRetrying, stripesync.FailureOpen}
	if len(statuses) != len(want) || statuses[0] != want[0] || statuses[1] != want[1] {
		t.Errorf("history %v, want %v", statuses, want)
	}
	if _, h, _ := db.Failure(ctx, dismissed.ID); len(h) != 2 || h[1].Staff != "alice" || h[1].Note != "the customer paid by cheque" {
		t.Errorf("the dismissal's history: %+v", h)
	}
	if _, _, err := db.Failure(ctx, 999999); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
		t.Errorf("an unknown failure: %v, want ENOTFOUND", err)
	}
	if _, err := db.RecordFailure(ctx, stripesync.Failure{Source: stripesync.FailureStaff, Created: at(0)}); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("a failure without a key: %v, want EINVALID", err)
	}
}
