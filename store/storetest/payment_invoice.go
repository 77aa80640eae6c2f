package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
)

// testPaymentsPaymentBeforeItsInvoice: a payment of an invoice not read yet
// is kept as unmatched, and pushed again with its invoice once it arrives.
func testPaymentsPaymentBeforeItsInvoice(t *testing.T, setup setupFunc) {
	db, _ := setup(t)
	ctx := t.Context()
	saveInvoices(t, db, invoice("a0B000000000002AAA", 100)) // another invoice, known
	record(t, db, payment("pi_early", invoiceID, usd(2500), stripesync.PaymentSucceeded, 0), true)
	record(t, db, payment("pi_none", "", usd(700), stripesync.PaymentSucceeded, time.Hour), true)
	wantJobs(t, db, "a payment of an unknown invoice", map[string][]string{
		stripesync.JobCRMPayment:  {"pi_early", "pi_none"},
		stripesync.JobSendReceipt: {"pi_early", "pi_none"},
	})
	unmatched, err := db.UnmatchedPayments(ctx, 0)
	if err != nil {
		t.Fatalf("UnmatchedPayments: %v", err)
	}
	if len(unmatched) != 2 || unmatched[0].ID != "pi_early" || unmatched[1].ID != "pi_none" {
		t.Errorf("UnmatchedPayments = %+v, want pi_early and pi_none", unmatched)
	}
	if one, err := db.UnmatchedPayments(ctx, 1); err != nil || len(one) != 1 {
		t.Errorf("UnmatchedPayments(limit 1) = %d payments, %v; want 1", len(one), err)
	}

	saveInvoices(t, db, invoice(invoiceID, 10000))
	wantJobs(t, db, "the invoice arrives", map[string][]string{
		stripesync.JobCRMPayment: {"pi_early"}, // now with its Invoice__c lookup
		stripesync.JobCRMInvoice: {invoiceID},  // the CRM shows 0 paid, the ledger 25.00
	})
	unmatched, err = db.UnmatchedPayments(ctx, 0)
	if err != nil || len(unmatched) != 1 || unmatched[0].ID != "pi_none" {
		t.Errorf("UnmatchedPayments after the invoice arrived = %+v, %v; want only pi_none", unmatched, err)
	}
	want := stripesync.Rollup{Paid: usd(2500), Pending: usd(0), Balance: usd(7500), Credit: usd(0), Status: stripesync.InvoicePartiallyPaid}
	if diff := cmp.Diff(want, rollup(t, db, invoiceID)); diff != "" {
		t.Errorf("rollup after the invoice arrived (-want +got):\n%s", diff)
	}

	// The CRM catches up (the write-back happened): nothing to do.
	synced := invoice(invoiceID, 10000)
	synced.AmountPaid, synced.Status, synced.ModStamp = usd(2500), stripesync.InvoicePartiallyPaid, start.Add(time.Minute)
	saveInvoices(t, db, synced)
	wantJobs(t, db, "the CRM shows the rollup", nil)
}

// testPaymentsSaveInvoices: invoices round-trip, a stale read is skipped,
// Void keeps its status, a deleted invoice is never written back, and a
// batch with one invalid invoice is refused whole.
func testPaymentsSaveInvoices(t *testing.T, setup setupFunc) {
	db, _ := setup(t)
	ctx := t.Context()
	in := invoice(invoiceID, 12345)
	in.AutoPay, in.Total.Currency, in.AmountPaid = true, "usd", stripesync.Money{}
	in.Status = ""
	saveInvoices(t, db, in)
	got, r, err := db.Invoice(ctx, invoiceID)
	if err != nil {
		t.Fatalf("Invoice: %v", err)
	}
	want := in
	want.Total.Currency, want.AmountPaid, want.Status = "USD", usd(0), stripesync.InvoiceOpen
	want.DueDate, want.ModStamp = stored(in.DueDate), stored(in.ModStamp)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Invoice after SaveInvoices (-want +got):\n%s", diff)
	}
	wantUTC(t, "invoice", got.DueDate, got.ModStamp)
	if r.Status != stripesync.InvoiceOpen || r.Balance != usd(12345) {
		t.Errorf("rollup of an unpaid invoice = %+v, want Open with the whole balance", r)
	}

	// A stale read (older ModStamp) is skipped; a newer one applies.
	stale := in
	stale.Total, stale.ModStamp = usd(1), start.Add(-time.Hour)
	newer := in
	newer.Total, newer.ModStamp = usd(20000), start.Add(time.Hour)
	saveInvoices(t, db, newer, stale)
	if got, _, _ := db.Invoice(ctx, invoiceID); got.Total != usd(20000) {
		t.Errorf("Total after a newer and a stale save = %v, want 200.00 USD", got.Total)
	}

	// Draft and Void keep their status; a deleted invoice is kept,
	// marked, and never written back.
	record(t, db, payment("pi_1", invoiceID, usd(500), stripesync.PaymentSucceeded, 0), true)
	wantJobs(t, db, "a payment of a known invoice", map[string][]string{
		stripesync.JobCRMPayment: {"pi_1"}, stripesync.JobCRMInvoice: {invoiceID}, stripesync.JobSendReceipt: {"pi_1"},
	})
	void := newer
	void.Status, void.ModStamp = stripesync.InvoiceVoid, start.Add(2*time.Hour)
	saveInvoices(t, db, void)
	if r := rollup(t, db, invoiceID); r.Status != stripesync.InvoiceVoid || r.Paid != usd(500) {
		t.Errorf("rollup of a void invoice = %+v, want Void with 5.00 paid", r)
	}
	wantJobs(t, db, "a void invoice whose CRM amount paid is behind", map[string][]string{stripesync.JobCRMInvoice: {invoiceID}})
	deleted := void
	deleted.Deleted, deleted.ModStamp = true, start.Add(3*time.Hour)
	saveInvoices(t, db, deleted)
	if got, _, err := db.Invoice(ctx, invoiceID); err != nil || !got.Deleted {
		t.Errorf("Invoice after deletion = %+v, %v; want it marked deleted", got, err)
	}
	record(t, db, payment("pi_2", invoiceID, usd(700), stripesync.PaymentSucceeded, time.Hour), true)
	wantJobs(t, db, "a deleted invoice", map[string][]string{
		stripesync.JobCRMPayment: {"pi_2"}, stripesync.JobSendReceipt: {"pi_2"},
	})

	_, _, err = db.Invoice(ctx, "a0B404")
	wantCode(t, "Invoice of an unknown id", err, stripesync.ENOTFOUND)
	for name, inv := range map[string]stripesync.Invoice{
		"no id":             {Total: usd(1)},
		"no currency":       {ID: "a0B1", Total: stripesync.Money{Amount: 1}},
		"an unknown status": {ID: "a0B1", Total: usd(1), Status: "Lost"},
		"paid in another currency": {ID: "a0B1", Total: usd(1),
			AmountPaid: stripesync.Money{Amount: 1, Currency: "EUR"}},
	} {
		err := db.SaveInvoices(ctx, []stripesync.Invoice{invoice("a0B000000000009AAA", 1), inv})
		wantCode(t, "SaveInvoices with "+name, err, stripesync.EINVALID)
	}
	if _, _, err := db.Invoice(ctx, "a0B000000000009AAA"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
		t.Errorf("a valid invoice saved together with an invalid one was stored: %v", err)
	}
}
