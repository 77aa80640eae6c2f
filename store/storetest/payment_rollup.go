package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
)

// testPaymentsRollupOpenPartialPaidAndBack walks one invoice from open to
// partly paid to paid and back through refunds, checking the rollup and the
// CRM and receipt jobs each step enqueues.
func testPaymentsRollupOpenPartialPaidAndBack(t *testing.T, setup setupFunc) {
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
}

// testPaymentsACHProcessingIsPendingNotPaid: a bank debit still processing
// is pending, not paid, until it settles days later.
func testPaymentsACHProcessingIsPendingNotPaid(t *testing.T, setup setupFunc) {
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
}

// testPaymentsOverpaymentIsCredit: paying more than the total leaves no
// balance and the excess as credit.
func testPaymentsOverpaymentIsCredit(t *testing.T, setup setupFunc) {
	db, _ := setup(t)
	saveInvoices(t, db, invoice(invoiceID, 5000))
	record(t, db, payment("pi_1", invoiceID, usd(3000), stripesync.PaymentSucceeded, 0), true)
	record(t, db, payment("pi_2", invoiceID, usd(4000), stripesync.PaymentSucceeded, time.Hour), true)
	want := stripesync.Rollup{Paid: usd(7000), Pending: usd(0), Balance: usd(0), Credit: usd(2000), Status: stripesync.InvoicePaid}
	if diff := cmp.Diff(want, rollup(t, db, invoiceID)); diff != "" {
		t.Errorf("overpaid rollup (-want +got):\n%s", diff)
	}
}

// testPaymentsCurrencyMismatchFlaggedNotSummed: a payment in another
// currency than the invoice's is listed as mismatched, never added to it.
func testPaymentsCurrencyMismatchFlaggedNotSummed(t *testing.T, setup setupFunc) {
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
}

// testPaymentsZeroDecimalCurrencyExact: yen are summed as whole units, with
// no rounding through a decimal.
func testPaymentsZeroDecimalCurrencyExact(t *testing.T, setup setupFunc) {
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
}

// testPaymentsConcurrentPaymentsOfOneInvoice records many payments of one
// invoice at once, each state in any order and delivered twice: the rollup
// must count every payment once, each with its own receipt number.
func testPaymentsConcurrentPaymentsOfOneInvoice(t *testing.T, setup setupFunc) {
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
}
