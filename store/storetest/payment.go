package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
)

const invoiceID = "a0B000000000001AAA"

func usd(a int64) stripesync.Money { return stripesync.Money{Amount: a, Currency: "USD"} }

// invoice is an open USD invoice of total minor units as the CRM shows it
// before any payment.
func invoice(id string, total int64) stripesync.Invoice {
	return stripesync.Invoice{
		ID: id, Number: "INV-" + id[len(id)-4:], AccountID: "001000000000001AAA", Total: usd(total),
		DueDate: start.Add(30 * 24 * time.Hour), Status: stripesync.InvoiceOpen, AmountPaid: usd(0),
		ModStamp: start,
	}
}

// payment is a card payment of invoice inv created at start+offset.
func payment(id, inv string, amount stripesync.Money, status stripesync.PaymentStatus, offset time.Duration) stripesync.Payment {
	p := stripesync.Payment{
		ID: id, InvoiceID: inv, AccountID: "001000000000001AAA", CustomerID: "cus_1", Amount: amount,
		Status: status, Method: stripesync.MethodCard, MethodDetail: "Visa •••• 4242",
		Channel: stripesync.ChannelPaymentLink, Created: start.Add(offset),
		ChargeID: "ch_" + id, ChargeCreated: start.Add(offset + time.Second),
	}
	if status == stripesync.PaymentSucceeded {
		p.PaidAt = p.ChargeCreated
	}
	return p
}

// record records p and fails the test on an error or when changed is not
// wantChanged.
func record(t *testing.T, db *store.DB, p stripesync.Payment, wantChanged bool) stripesync.Payment {
	t.Helper()
	got, changed, err := db.RecordPayment(t.Context(), p)
	if err != nil {
		t.Fatalf("RecordPayment(%s %s): %v", p.ID, p.Status, err)
	}
	if changed != wantChanged {
		t.Errorf("RecordPayment(%s %s refunded %d) changed = %v, want %v", p.ID, p.Status, p.Refunded, changed, wantChanged)
	}
	return got
}

// saveInvoices saves invs and fails the test on an error.
func saveInvoices(t *testing.T, db *store.DB, invs ...stripesync.Invoice) {
	t.Helper()
	if err := db.SaveInvoices(t.Context(), invs); err != nil {
		t.Fatalf("SaveInvoices: %v", err)
	}
}

// rollup reads the stored rollup of invoice id.
func rollup(t *testing.T, db *store.DB, id string) stripesync.Rollup {
	t.Helper()
	_, r, err := db.Invoice(t.Context(), id)
	if err != nil {
		t.Fatalf("Invoice(%s): %v", id, err)
	}
	return r
}

// takeJobs claims every due job of kind, completes them, and returns the
// ids in their payloads and their keys, in claim order. Each call sees only
// the jobs enqueued since the previous one.
func takeJobs(t *testing.T, db *store.DB, kind string) (ids, keys []string) {
	t.Helper()
	jobs, err := db.Claim(t.Context(), kind, 1000, lease)
	if err != nil {
		t.Fatalf("Claim(%s): %v", kind, err)
	}
	for _, j := range jobs {
		var ref struct{ ID string }
		if err := json.Unmarshal(j.Payload, &ref); err != nil || ref.ID == "" {
			t.Errorf("%s job payload %q is not {\"id\":…}", kind, j.Payload)
		}
		ids, keys = append(ids, ref.ID), append(keys, j.Key)
		if err := db.Complete(t.Context(), j.ID); err != nil {
			t.Fatal(err)
		}
	}
	return ids, keys
}

// wantJobs fails the test unless the due jobs of each kind name exactly
// the ids given (in any order), and consumes them.
func wantJobs(t *testing.T, db *store.DB, what string, want map[string][]string) {
	t.Helper()
	for _, kind := range []string{stripesync.JobCRMPayment, stripesync.JobCRMInvoice, stripesync.JobSendReceipt} {
		got, _ := takeJobs(t, db, kind)
		slices.Sort(got)
		w := slices.Clone(want[kind])
		slices.Sort(w)
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("%s: %s jobs (-want +got):\n%s", what, kind, diff)
		}
	}
}

func testPayments(t *testing.T, setup setupFunc) {
	t.Run("RoundTrip", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		in := payment("pi_1", invoiceID, stripesync.Money{Amount: 4200, Currency: "usd"}, stripesync.PaymentSucceeded, time.Hour)
		in.Refunded, in.Disputed, in.FailureReason = 200, true, "ünïcode kept"
		in.ReceiptNumber = "R-999999" // ignored: the ledger numbers receipts
		got := record(t, db, in, true)
		want := in
		want.Amount.Currency = "USD"
		want.Created, want.PaidAt, want.ChargeCreated = stored(in.Created), stored(in.PaidAt), stored(in.ChargeCreated)
		want.ReceiptNumber = "R-000001"
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("RecordPayment returned (-want +got):\n%s", diff)
		}
		read, err := db.Payment(ctx, "pi_1")
		if err != nil {
			t.Fatalf("Payment: %v", err)
		}
		if diff := cmp.Diff(want, read); diff != "" {
			t.Errorf("Payment after RecordPayment (-want +got):\n%s", diff)
		}
		wantUTC(t, "payment", read.Created, read.PaidAt, read.ChargeCreated)
		_, err = db.Payment(ctx, "pi_404")
		wantCode(t, "Payment of an unknown id", err, stripesync.ENOTFOUND)
		_, err = db.PaymentByReceiptNumber(ctx, "R-000404")
		wantCode(t, "PaymentByReceiptNumber of an unknown number", err, stripesync.ENOTFOUND)
		byID, err := db.PaymentsByID(ctx, []string{"pi_404", "pi_1"})
		if err != nil {
			t.Fatalf("PaymentsByID: %v", err)
		}
		if diff := cmp.Diff(map[string]stripesync.Payment{"pi_1": want}, byID); diff != "" {
			t.Errorf("PaymentsByID(pi_404, pi_1) (-want +got):\n%s", diff)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		good := payment("pi_1", invoiceID, usd(100), stripesync.PaymentPending, 0)
		for name, mutate := range map[string]func(*stripesync.Payment){
			"no id":           func(p *stripesync.Payment) { p.ID = "" },
			"bad currency":    func(p *stripesync.Payment) { p.Amount.Currency = "dollars" },
			"unknown status":  func(p *stripesync.Payment) { p.Status = "Exploded" },
			"negative refund": func(p *stripesync.Payment) { p.Refunded = -1 },
			"no created time": func(p *stripesync.Payment) { p.Created = time.Time{} },
		} {
			p := good
			mutate(&p)
			_, _, err := db.RecordPayment(ctx, p)
			wantCode(t, "RecordPayment with "+name, err, stripesync.EINVALID)
		}
		if _, err := db.Payment(ctx, "pi_1"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("Payment after rejected recordings = %v, want ENOTFOUND", err)
		}
		_, err := db.Payments(ctx, "")
		wantCode(t, "Payments of no invoice", err, stripesync.EINVALID)
		wantJobs(t, db, "after rejected recordings", nil)
	})

	t.Run("Precedence", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		card := payment("pi_card", "", usd(5000), stripesync.PaymentProcessing, 0)
		succeeded := card
		succeeded.Status, succeeded.PaidAt = stripesync.PaymentSucceeded, card.ChargeCreated
		refunded := succeeded
		refunded.Refunded = 1500
		lessRefunded := succeeded
		lessRefunded.Refunded = 500
		disputed := refunded
		disputed.Disputed = true

		failed := payment("pi_retry", "", usd(5000), stripesync.PaymentFailed, 0)
		failed.FailureReason = "card_declined: Your card was declined."
		retried := failed
		retried.Status, retried.FailureReason = stripesync.PaymentSucceeded, ""
		retried.ChargeID, retried.ChargeCreated = "ch_second", failed.ChargeCreated.Add(time.Minute)
		retried.PaidAt = retried.ChargeCreated

		for _, tc := range []struct {
			name        string
			in          stripesync.Payment
			wantChanged bool
			want        stripesync.Payment // what is stored afterwards
		}{
			{"first state", card, true, card},
			{"succeeded", succeeded, true, succeeded},
			{"stale processing after succeeded is ignored", card, false, succeeded},
			{"the same state again changes nothing", succeeded, false, succeeded},
			{"refund growth is applied", refunded, true, refunded},
			{"a smaller refund is stale", lessRefunded, false, refunded},
			{"a dispute is applied", disputed, true, disputed},
			{"losing the dispute flag is stale", refunded, false, disputed},
			{"failed attempt", failed, true, failed},
			{"a new charge attempt after a failure is applied", retried, true, retried},
			{"the old attempt's failure is stale", failed, false, retried},
		} {
			got, changed, err := db.RecordPayment(ctx, tc.in)
			if err != nil {
				t.Fatalf("%s: RecordPayment: %v", tc.name, err)
			}
			if changed != tc.wantChanged {
				t.Errorf("%s: changed = %v, want %v", tc.name, changed, tc.wantChanged)
			}
			read, err := db.Payment(ctx, tc.in.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.Created, want.PaidAt, want.ChargeCreated = stored(want.Created), stored(want.PaidAt), stored(want.ChargeCreated)
			want.ReceiptNumber = read.ReceiptNumber // checked in Receipts
			if diff := cmp.Diff(want, read); diff != "" {
				t.Errorf("%s: stored (-want +got):\n%s", tc.name, diff)
			}
			if diff := cmp.Diff(read, got); diff != "" {
				t.Errorf("%s: RecordPayment returned other than stored (-stored +returned):\n%s", tc.name, diff)
			}
		}
	})

	t.Run("FillsBlanksNeverErases", func(t *testing.T) {
		db, _ := setup(t)
		first := payment("pi_1", invoiceID, usd(5000), stripesync.PaymentProcessing, 0)
		record(t, db, first, true)
		later := first
		later.Status, later.InvoiceID, later.AccountID = stripesync.PaymentSucceeded, "", ""
		got := record(t, db, later, true)
		if got.InvoiceID != invoiceID || got.AccountID != first.AccountID {
			t.Errorf("after a state without invoice and account: InvoiceID, AccountID = %q, %q; want %q, %q",
				got.InvoiceID, got.AccountID, invoiceID, first.AccountID)
		}
		// A blank-only difference is no change at all.
		record(t, db, later, false)
	})

	t.Run("RollupOpenPartialPaidAndBack", func(t *testing.T) {
		db, _ := setup(t)
		saveInvoices(t, db, invoice(invoiceID, 10000))
		steps := []struct {
			name string
			p    stripesync.Payment
			want stripesync.Rollup
		}{
			{"no settled payment", payment("pi_1", invoiceID, usd(3000), stripesync.PaymentPending, 0),
				stripesync.Rollup{Paid: usd(0), Pending: usd(0), Balance: usd(10000), Credit: usd(0), Status: stripesync.InvoiceOpen}},
			{"a first part", payment("pi_1", invoiceID, usd(3000), stripesync.PaymentSucceeded, 0),
				stripesync.Rollup{Paid: usd(3000), Pending: usd(0), Balance: usd(7000), Credit: usd(0), Status: stripesync.InvoicePartiallyPaid}},
			{"the rest", payment("pi_2", invoiceID, usd(7000), stripesync.PaymentSucceeded, time.Hour),
				stripesync.Rollup{Paid: usd(10000), Pending: usd(0), Balance: usd(0), Credit: usd(0), Status: stripesync.InvoicePaid}},
		}
		refund := steps[2].p
		refund.Refunded = 2500
		steps = append(steps, struct {
			name string
			p    stripesync.Payment
			want stripesync.Rollup
		}{"a refund reopens it", refund,
			stripesync.Rollup{Paid: usd(7500), Pending: usd(0), Balance: usd(2500), Credit: usd(0), Status: stripesync.InvoicePartiallyPaid}})
		full := steps[0].p
		full.Status, full.Refunded = stripesync.PaymentSucceeded, 3000
		steps = append(steps, struct {
			name string
			p    stripesync.Payment
			want stripesync.Rollup
		}{"a full refund of the first", full,
			stripesync.Rollup{Paid: usd(4500), Pending: usd(0), Balance: usd(5500), Credit: usd(0), Status: stripesync.InvoicePartiallyPaid}})
		wantJobs(t, db, "after saving an open invoice the CRM shows as open", nil)
		for _, s := range steps {
			record(t, db, s.p, true)
			if diff := cmp.Diff(s.want, rollup(t, db, invoiceID)); diff != "" {
				t.Errorf("%s: rollup (-want +got):\n%s", s.name, diff)
			}
			wantJobs(t, db, s.name, map[string][]string{
				stripesync.JobCRMPayment: {s.p.ID}, stripesync.JobCRMInvoice: {invoiceID},
				stripesync.JobSendReceipt: receiptFor(s.name == "a first part" || s.name == "the rest", s.p.ID),
			})
		}
		payments, err := db.Payments(t.Context(), invoiceID)
		if err != nil {
			t.Fatal(err)
		}
		if len(payments) != 2 || payments[0].ID != "pi_1" || payments[1].ID != "pi_2" {
			t.Errorf("Payments = %+v, want pi_1 then pi_2", payments)
		}
		if got, err := db.Payments(t.Context(), "a0B404"); err != nil || len(got) != 0 {
			t.Errorf("Payments of an unknown invoice = %v, %v; want none", got, err)
		}
	})

	t.Run("ACHProcessingIsPendingNotPaid", func(t *testing.T) {
		db, _ := setup(t)
		saveInvoices(t, db, invoice(invoiceID, 10000))
		ach := payment("pi_ach", invoiceID, usd(10000), stripesync.PaymentProcessing, 0)
		ach.Method, ach.MethodDetail = stripesync.MethodACH, "Bank •••• 6789"
		record(t, db, ach, true)
		want := stripesync.Rollup{Paid: usd(0), Pending: usd(10000), Balance: usd(10000), Credit: usd(0), Status: stripesync.InvoiceOpen}
		if diff := cmp.Diff(want, rollup(t, db, invoiceID)); diff != "" {
			t.Errorf("rollup with ACH processing (-want +got):\n%s", diff)
		}
		ach.Status, ach.PaidAt = stripesync.PaymentSucceeded, start.Add(72*time.Hour)
		record(t, db, ach, true)
		want = stripesync.Rollup{Paid: usd(10000), Pending: usd(0), Balance: usd(0), Credit: usd(0), Status: stripesync.InvoicePaid}
		if diff := cmp.Diff(want, rollup(t, db, invoiceID)); diff != "" {
			t.Errorf("rollup with ACH settled (-want +got):\n%s", diff)
		}
	})

	t.Run("OverpaymentIsCredit", func(t *testing.T) {
		db, _ := setup(t)
		saveInvoices(t, db, invoice(invoiceID, 5000))
		record(t, db, payment("pi_1", invoiceID, usd(3000), stripesync.PaymentSucceeded, 0), true)
		record(t, db, payment("pi_2", invoiceID, usd(4000), stripesync.PaymentSucceeded, time.Hour), true)
		want := stripesync.Rollup{Paid: usd(7000), Pending: usd(0), Balance: usd(0), Credit: usd(2000), Status: stripesync.InvoicePaid}
		if diff := cmp.Diff(want, rollup(t, db, invoiceID)); diff != "" {
			t.Errorf("overpaid rollup (-want +got):\n%s", diff)
		}
	})

	t.Run("CurrencyMismatchFlaggedNotSummed", func(t *testing.T) {
		db, _ := setup(t)
		saveInvoices(t, db, invoice(invoiceID, 5000))
		record(t, db, payment("pi_usd", invoiceID, usd(1000), stripesync.PaymentSucceeded, 0), true)
		record(t, db, payment("pi_eur", invoiceID, stripesync.Money{Amount: 4000, Currency: "EUR"}, stripesync.PaymentSucceeded, time.Hour), true)
		record(t, db, payment("pi_gbp", invoiceID, stripesync.Money{Amount: 900, Currency: "GBP"}, stripesync.PaymentSucceeded, 2*time.Hour), true)
		want := stripesync.Rollup{Paid: usd(1000), Pending: usd(0), Balance: usd(4000), Credit: usd(0),
			Status: stripesync.InvoicePartiallyPaid, Mismatched: []string{"pi_eur", "pi_gbp"}}
		if diff := cmp.Diff(want, rollup(t, db, invoiceID)); diff != "" {
			t.Errorf("rollup with foreign-currency payments (-want +got):\n%s", diff)
		}
	})

	t.Run("ZeroDecimalCurrencyExact", func(t *testing.T) {
		db, _ := setup(t)
		jpy := func(a int64) stripesync.Money { return stripesync.Money{Amount: a, Currency: "JPY"} }
		inv := invoice(invoiceID, 0)
		inv.Total, inv.AmountPaid = jpy(123457), jpy(0)
		saveInvoices(t, db, inv)
		record(t, db, payment("pi_1", invoiceID, jpy(100000), stripesync.PaymentSucceeded, 0), true)
		record(t, db, payment("pi_2", invoiceID, jpy(23456), stripesync.PaymentSucceeded, time.Hour), true)
		want := stripesync.Rollup{Paid: jpy(123456), Pending: jpy(0), Balance: jpy(1), Credit: jpy(0), Status: stripesync.InvoicePartiallyPaid}
		if diff := cmp.Diff(want, rollup(t, db, invoiceID)); diff != "" {
			t.Errorf("JPY rollup (-want +got):\n%s", diff)
		}
	})

	t.Run("PaymentBeforeItsInvoice", func(t *testing.T) {
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
	})

	t.Run("SaveInvoices", func(t *testing.T) {
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
	})

	t.Run("ReceiptNumbersSequentialAndOnce", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		a := payment("pi_a", invoiceID, usd(1000), stripesync.PaymentProcessing, 0)
		if got := record(t, db, a, true); got.ReceiptNumber != "" {
			t.Errorf("a processing payment got receipt %q", got.ReceiptNumber)
		}
		a.Status = stripesync.PaymentSucceeded
		if got := record(t, db, a, true); got.ReceiptNumber != "R-000001" {
			t.Errorf("first success: receipt %q, want R-000001", got.ReceiptNumber)
		}
		record(t, db, a, false) // the same success again
		a.Refunded = 1000
		if got := record(t, db, a, true); got.ReceiptNumber != "R-000001" {
			t.Errorf("after a refund: receipt %q, want R-000001 kept", got.ReceiptNumber)
		}
		b := payment("pi_b", invoiceID, usd(1000), stripesync.PaymentSucceeded, time.Hour)
		if got := record(t, db, b, true); got.ReceiptNumber != "R-000002" {
			t.Errorf("second payment's success: receipt %q, want R-000002", got.ReceiptNumber)
		}
		_, keys := takeJobs(t, db, stripesync.JobSendReceipt)
		if diff := cmp.Diff([]string{"pi_a", "pi_b"}, keys); diff != "" {
			t.Errorf("receipt jobs' keys (-want +got):\n%s", diff)
		}
		// A later success of a new attempt keeps the first number, and
		// the receipt is not sent again.
		failed := b
		failed.Status, failed.ChargeID, failed.ChargeCreated = stripesync.PaymentFailed, "ch_b2", b.ChargeCreated.Add(time.Hour)
		record(t, db, failed, true)
		again := failed
		again.Status, again.ChargeID, again.ChargeCreated = stripesync.PaymentSucceeded, "ch_b3", failed.ChargeCreated.Add(time.Hour)
		if got := record(t, db, again, true); got.ReceiptNumber != "R-000002" {
			t.Errorf("success after a failed retry: receipt %q, want R-000002 kept", got.ReceiptNumber)
		}
		if _, keys := takeJobs(t, db, stripesync.JobSendReceipt); len(keys) != 0 {
			t.Errorf("receipt jobs after re-success = %v, want none", keys)
		}
		got, err := db.PaymentByReceiptNumber(ctx, "R-000002")
		if err != nil || got.ID != "pi_b" {
			t.Errorf("PaymentByReceiptNumber(R-000002) = %s, %v; want pi_b", got.ID, err)
		}
	})

	t.Run("ReceiptNumbersHaveNoGaps", func(t *testing.T) {
		// Concurrent first successes, and on Postgres some whose
		// transaction fails after its number was drawn (a NUL byte,
		// which Postgres text refuses, in the method detail): the
		// numbers that reach the ledger are 1…n with none missing.
		db, _ := setup(t)
		ctx := t.Context()
		const payments, workers = 40, 8
		forceRollback := db.Dialect() == store.DialectPostgres
		var wg sync.WaitGroup
		var next atomic.Int64
		var failed atomic.Int64
		for range workers {
			wg.Go(func() {
				for i := next.Add(1); i <= payments; i = next.Add(1) {
					p := payment(fmt.Sprintf("pi_gap_%02d", i), invoiceID, usd(100), stripesync.PaymentSucceeded, time.Duration(i)*time.Second)
					doomed := forceRollback && i%5 == 0
					if doomed {
						p.MethodDetail = "Visa \x00 4242"
					}
					_, _, err := db.RecordPayment(ctx, p)
					switch {
					case doomed && err == nil:
						t.Errorf("payment %d with a NUL byte was recorded; the test needs it refused", i)
					case doomed:
						failed.Add(1)
					case err != nil:
						t.Errorf("RecordPayment %d: %v", i, err)
					}
				}
			})
		}
		wg.Wait()
		var numbers []string
		for i := 1; i <= payments; i++ {
			p, err := db.Payment(ctx, fmt.Sprintf("pi_gap_%02d", i))
			if stripesync.CodeOf(err) == stripesync.ENOTFOUND {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			numbers = append(numbers, p.ReceiptNumber)
		}
		slices.Sort(numbers)
		want := make([]string, payments-int(failed.Load()))
		for i := range want {
			want[i] = fmt.Sprintf("R-%06d", i+1)
		}
		if diff := cmp.Diff(want, numbers); diff != "" {
			t.Errorf("receipt numbers after %d concurrent successes, %d rolled back (-want +got):\n%s", payments, failed.Load(), diff)
		}
		if forceRollback && failed.Load() == 0 {
			t.Error("no transaction was rolled back; the gaps were not tested")
		}
	})

	t.Run("ConcurrentPaymentsOfOneInvoice", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		const payments, workers = 20, 8
		saveInvoices(t, db, invoice(invoiceID, 1_000_000))
		work := make(chan stripesync.Payment)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for p := range work {
					if _, _, err := db.RecordPayment(ctx, p); err != nil {
						t.Errorf("RecordPayment(%s %s): %v", p.ID, p.Status, err)
					}
				}
			})
		}
		var wantPaid int64
		for i := range payments {
			p := payment(fmt.Sprintf("pi_%02d", i), invoiceID, usd(int64(1000+i)), stripesync.PaymentProcessing, time.Duration(i)*time.Minute)
			work <- p
			p.Status = stripesync.PaymentSucceeded
			work <- p
			work <- p // a duplicate delivery
			wantPaid += p.Amount.Amount
		}
		close(work)
		wg.Wait()
		// Each payment's states may have been applied in any order, but
		// the succeeded state wins, and the rollup counts every payment.
		want := stripesync.Rollup{Paid: usd(wantPaid), Pending: usd(0), Balance: usd(1_000_000 - wantPaid), Credit: usd(0),
			Status: stripesync.InvoicePartiallyPaid}
		if diff := cmp.Diff(want, rollup(t, db, invoiceID)); diff != "" {
			t.Errorf("rollup after concurrent payments (-want +got):\n%s", diff)
		}
		_, keys := takeJobs(t, db, stripesync.JobSendReceipt)
		if len(keys) != payments {
			t.Errorf("%d receipt jobs, want %d", len(keys), payments)
		}
		numbers := map[string]bool{}
		for i := range payments {
			p, err := db.Payment(ctx, fmt.Sprintf("pi_%02d", i))
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != stripesync.PaymentSucceeded || p.ReceiptNumber == "" || numbers[p.ReceiptNumber] {
				t.Errorf("payment %s: status %s, receipt %q; want succeeded with its own receipt number", p.ID, p.Status, p.ReceiptNumber)
			}
			numbers[p.ReceiptNumber] = true
		}
	})

	t.Run("AccountLinkByStripeID", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		old := stripesync.AccountLink{CRMID: "001OLD", StripeID: "cus_1", Policy: stripesync.PolicyCreate, State: stripesync.LinkUnbound}
		bound := stripesync.AccountLink{CRMID: "001NEW", StripeID: "cus_1", Policy: stripesync.PolicyExisting, State: stripesync.LinkBound}
		if err := db.SaveAccountLink(ctx, bound); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		if err := db.SaveAccountLink(ctx, old); err != nil {
			t.Fatal(err)
		}
		got, err := db.AccountLinkByStripeID(ctx, "cus_1")
		if err != nil || got.CRMID != "001NEW" {
			t.Errorf("AccountLinkByStripeID(cus_1) = %q, %v; want the bound link 001NEW", got.CRMID, err)
		}
		_, err = db.AccountLinkByStripeID(ctx, "cus_404")
		wantCode(t, "AccountLinkByStripeID of an unknown customer", err, stripesync.ENOTFOUND)
		_, err = db.AccountLinkByStripeID(ctx, "")
		wantCode(t, "AccountLinkByStripeID with no id", err, stripesync.EINVALID)
	})
}

// receiptFor is the receipt job expected for id: one when sent is true.
func receiptFor(sent bool, id string) []string {
	if sent {
		return []string{id}
	}
	return nil
}
