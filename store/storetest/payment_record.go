package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
)

// testPaymentsRoundTrip records a payment and reads it back by id and in a
// batch: the currency upper-cased, the times UTC to the microsecond, the
// receipt number the ledger's own. Unknown ids and numbers are ENOTFOUND.
func testPaymentsRoundTrip(t *testing.T, setup setupFunc) {
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
}

// testPaymentsInvalid: a payment the ledger cannot hold is refused as
// EINVALID and leaves neither a row nor a job behind.
func testPaymentsInvalid(t *testing.T, setup setupFunc) {
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
}

// testPaymentsPrecedence replays one payment's states in and out of order:
// only a later state (settled, a larger refund, a dispute, a newer charge
// attempt) changes what is stored, so a late webhook cannot undo a newer one.
func testPaymentsPrecedence(t *testing.T, setup setupFunc) {
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
}

// testPaymentsFillsBlanksNeverErases: a later state without an invoice or
// account keeps the ones an earlier state gave.
func testPaymentsFillsBlanksNeverErases(t *testing.T, setup setupFunc) {
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
}

// testPaymentsAccountLinkByStripeID: a customer that two accounts were
// linked to resolves to the bound link, the account its payments belong to.
func testPaymentsAccountLinkByStripeID(t *testing.T, setup setupFunc) {
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
}
