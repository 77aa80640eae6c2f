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
