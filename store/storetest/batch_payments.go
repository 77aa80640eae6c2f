package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
)

// testRecordPayments checks the batch form of RecordPayment: one
// transaction, the same outcome as one call per payment, all or nothing.
func testRecordPayments(t *testing.T, setup setupFunc) {
	t.Run("LikeOneCallEach", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		saveInvoices(t, db, invoice("a0Y000000000001AAA", 5000), invoice("a0Y000000000002AAA", 3000))
		wantJobs(t, db, "after the invoices", nil)
		record(t, db, payment("pi_old", "a0Y000000000002AAA", usd(3000), stripesync.PaymentSucceeded, 0), true)
		wantJobs(t, db, "after the first payment", map[string][]string{
			stripesync.JobCRMPayment: {"pi_old"}, stripesync.JobCRMInvoice: {"a0Y000000000002AAA"}, stripesync.JobSendReceipt: {"pi_old"},
		})
		stale := payment("pi_old", "a0Y000000000002AAA", usd(3000), stripesync.PaymentProcessing, 0)
		recs, err := db.RecordPayments(ctx, []stripesync.Payment{
			payment("pi_1", "a0Y000000000001AAA", usd(2000), stripesync.PaymentSucceeded, time.Second),
			payment("pi_2", "a0Y000000000001AAA", usd(3000), stripesync.PaymentSucceeded, 2*time.Second),
			stale,
		})
		if err != nil {
			t.Fatalf("RecordPayments: %v", err)
		}
		if !recs[0].Changed || !recs[1].Changed || recs[2].Changed || recs[2].Stored.Status != stripesync.PaymentSucceeded {
			t.Errorf("RecordPayments = %+v; want the two new ones changed and the stale one kept Succeeded", recs)
		}
		if recs[0].Stored.ReceiptNumber == "" || recs[0].Stored.ReceiptNumber == recs[1].Stored.ReceiptNumber {
			t.Errorf("receipt numbers %q and %q, want two distinct ones", recs[0].Stored.ReceiptNumber, recs[1].Stored.ReceiptNumber)
		}
		if r := rollup(t, db, "a0Y000000000001AAA"); r.Status != stripesync.InvoicePaid || r.Paid != usd(5000) {
			t.Errorf("rollup after the batch = %+v, want Paid 50.00", r)
		}
		wantJobs(t, db, "after the batch", map[string][]string{
			stripesync.JobCRMPayment: {"pi_1", "pi_2"}, stripesync.JobCRMInvoice: {"a0Y000000000001AAA"},
			stripesync.JobSendReceipt: {"pi_1", "pi_2"},
		})
	})

	t.Run("ReceiptBalanceIsTheMoments", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		const inv = "a0Y000000000003AAA"
		saveInvoices(t, db, invoice(inv, 10000))
		first := record(t, db, payment("pi_first", inv, usd(3000), stripesync.PaymentSucceeded, 0), true)
		// Two in one batch: each gets the balance after itself, in the
		// order their receipts are numbered.
		if _, err := db.RecordPayments(ctx, []stripesync.Payment{
			payment("pi_second", inv, usd(5000), stripesync.PaymentSucceeded, time.Second),
			payment("pi_third", inv, usd(1000), stripesync.PaymentSucceeded, 2*time.Second),
		}); err != nil {
			t.Fatal(err)
		}
		// A later refund of the first payment, and a payment recorded
		// before its invoice was known, change no recorded balance.
		refunded := payment("pi_first", inv, usd(3000), stripesync.PaymentSucceeded, 0)
		refunded.Refunded = 3000
		record(t, db, refunded, true)
		record(t, db, payment("pi_orphan", "a0Y000000000009AAA", usd(500), stripesync.PaymentSucceeded, 0), true)
		for id, want := range map[string]int64{"pi_first": 7000, "pi_second": 2000, "pi_third": 1000} {
			got, ok, err := db.ReceiptBalance(ctx, id)
			if err != nil || !ok || got != usd(want) {
				t.Errorf("ReceiptBalance(%s) = %v, %v, %v; want %v", id, got, ok, err, usd(want))
			}
		}
		if _, ok, err := db.ReceiptBalance(ctx, "pi_orphan"); ok || err != nil {
			t.Errorf("ReceiptBalance of a payment whose invoice was unknown: ok %v, %v; want none", ok, err)
		}
		if first.ReceiptNumber == "" {
			t.Error("the first payment has no receipt number")
		}
		if r := rollup(t, db, inv); r.Balance != usd(4000) {
			t.Errorf("the invoice's balance now = %v, want 40.00 (the refund counts in the rollup)", r.Balance)
		}
	})

	t.Run("AllOrNothing", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		bad := payment("pi_bad", "", usd(100), "Lost", 0)
		_, err := db.RecordPayments(ctx, []stripesync.Payment{
			payment("pi_good", "", usd(100), stripesync.PaymentSucceeded, 0), bad,
		})
		if stripesync.CodeOf(err) != stripesync.EINVALID || !strings.Contains(err.Error(), "pi_bad") {
			t.Fatalf("RecordPayments with an unknown status = %v, want EINVALID naming pi_bad", err)
		}
		if _, err := db.Payment(ctx, "pi_good"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("Payment(pi_good) after the refused batch = %v, want ENOTFOUND: nothing recorded", err)
		}
	})

	t.Run("OnePaymentTwiceInABatch", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		processing := payment("pi_1", "", usd(800), stripesync.PaymentProcessing, 0)
		succeeded := payment("pi_1", "", usd(800), stripesync.PaymentSucceeded, 0)
		recs, err := db.RecordPayments(ctx, []stripesync.Payment{succeeded, processing})
		if err != nil {
			t.Fatal(err)
		}
		if !recs[0].Changed || recs[1].Changed || recs[1].Stored.Status != stripesync.PaymentSucceeded {
			t.Errorf("RecordPayments(succeeded, processing) = %+v; want the later stale one to change nothing", recs)
		}
	})
}
