package storetest

import (
	"encoding/json"
	"slices"
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

// testPayments runs each part on its own store, so that a failure names the part
// and one part runs alone (-run 'TestSQLite/Payments/RoundTrip').
func testPayments(t *testing.T, setup setupFunc) {
	t.Run("RoundTrip", func(t *testing.T) { testPaymentsRoundTrip(t, setup) })
	t.Run("Invalid", func(t *testing.T) { testPaymentsInvalid(t, setup) })
	t.Run("Precedence", func(t *testing.T) { testPaymentsPrecedence(t, setup) })
	t.Run("FillsBlanksNeverErases", func(t *testing.T) { testPaymentsFillsBlanksNeverErases(t, setup) })
	t.Run("RollupOpenPartialPaidAndBack", func(t *testing.T) { testPaymentsRollupOpenPartialPaidAndBack(t, setup) })
	t.Run("ACHProcessingIsPendingNotPaid", func(t *testing.T) { testPaymentsACHProcessingIsPendingNotPaid(t, setup) })
	t.Run("OverpaymentIsCredit", func(t *testing.T) { testPaymentsOverpaymentIsCredit(t, setup) })
	t.Run("CurrencyMismatchFlaggedNotSummed", func(t *testing.T) { testPaymentsCurrencyMismatchFlaggedNotSummed(t, setup) })
	t.Run("ZeroDecimalCurrencyExact", func(t *testing.T) { testPaymentsZeroDecimalCurrencyExact(t, setup) })
	t.Run("PaymentBeforeItsInvoice", func(t *testing.T) { testPaymentsPaymentBeforeItsInvoice(t, setup) })
	t.Run("SaveInvoices", func(t *testing.T) { testPaymentsSaveInvoices(t, setup) })
	t.Run("ReceiptNumbersSequentialAndOnce", func(t *testing.T) { testPaymentsReceiptNumbersSequentialAndOnce(t, setup) })
	t.Run("ReceiptNumbersHaveNoGaps", func(t *testing.T) { testPaymentsReceiptNumbersHaveNoGaps(t, setup) })
	t.Run("ConcurrentPaymentsOfOneInvoice", func(t *testing.T) { testPaymentsConcurrentPaymentsOfOneInvoice(t, setup) })
	t.Run("AccountLinkByStripeID", func(t *testing.T) { testPaymentsAccountLinkByStripeID(t, setup) })
}

// receiptFor is the receipt job expected for id: one when sent is true.
func receiptFor(sent bool, id string) []string {
	if sent {
		return []string{id}
	}
	return nil
}
