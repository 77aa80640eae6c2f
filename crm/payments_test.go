package crm

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
)

// paymentRows reads every Payment__c by Stripe id through the emulator's
// Go API.
func paymentRows(t *testing.T, sf *crmtest.Server, ids []string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, id := range ids {
		rec, ok := sf.Get("Payment__c", id)
		if !ok {
			t.Fatalf("no Payment__c %s", id)
		}
		out[rec["Stripe_Payment_Id__c"].(string)] = rec
	}
	return out
}

func TestUpsertPayments(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	acct := e.sf.Insert("Account", map[string]any{"Name": "Acme"})
	inv := e.sf.Insert("Invoice__c", map[string]any{"Name": "INV-1", "Account__c": acct, "Amount__c": "100000", "CurrencyIsoCode": "USD"})
	paidAt := time.Date(2024, 5, 1, 12, 34, 56, 789e6, time.UTC)
	currencies := []string{"USD", "JPY", "KWD"}
	payments := make([]stripesync.Payment, 450)
	for i := range payments {
		p := stripesync.Payment{
			ID:     fmt.Sprintf("pi_%03d", i),
			Amount: stripesync.Money{Amount: int64(1000 + i), Currency: currencies[i%3]},
			Status: stripesync.PaymentProcessing, Method: stripesync.MethodACH, MethodDetail: "Bank •••• 6789",
			Channel: stripesync.ChannelPaymentLink,
		}
		if i%2 == 0 { // the odd ones are unmatched: no invoice, no account
			p.InvoiceID, p.AccountID = inv, acct
		}
		payments[i] = p
	}
	perRecord, err := e.c.UpsertPayments(t.Context(), payments)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range perRecord {
		if err != nil {
			t.Fatalf("payment %d: %v", i, err)
		}
	}
	if c := e.sf.Calls(); c.Collections != 3 || c.Upsert != 0 {
		t.Errorf("collection, single upsert calls = %d, %d, want 3, 0 for 450 payments", c.Collections, c.Upsert)
	}
	if n := e.sf.Count("Payment__c"); n != 450 {
		t.Fatalf("%d Payment__c records after the first upsert, want 450", n)
	}
	var recordIDs []string
	for r, err := range e.c.Query(t.Context(), "SELECT Id FROM Payment__c") {
		if err != nil {
			t.Fatal(err)
		}
		recordIDs = append(recordIDs, r.String("Id"))
	}
	first := paymentRows(t, e.sf, recordIDs)
	check := func(stripeID string, want map[string]any, rows map[string]map[string]any) {
		t.Helper()
		got := map[string]any{}
		for k := range want {
			got[k] = rows[stripeID][k]
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Payment__c %s (-want +got):\n%s", stripeID, diff)
		}
	}
	check("pi_000", map[string]any{"Invoice__c": inv, "Account__c": acct, "Amount__c": "10", "CurrencyIsoCode": "USD",
		"Status__c": "Processing", "Method__c": "ACH", "Payment_Method_Detail__c": "Bank •••• 6789", "Amount_Refunded__c": "0",
		"Paid_At__c": nil, "Receipt_Number__c": nil, "Failure_Reason__c": nil, "Channel__c": "Payment Link"}, first)
	check("pi_001", map[string]any{"Invoice__c": nil, "Account__c": nil, "Amount__c": "1001", "CurrencyIsoCode": "JPY"}, first)
	check("pi_002", map[string]any{"Invoice__c": inv, "Amount__c": "1.002", "CurrencyIsoCode": "KWD"}, first)

	// The same payments again, moved on: every one is updated in place
	// (created:false), none added.
	for i := range payments {
		p := &payments[i]
		p.Status, p.PaidAt, p.ReceiptNumber = stripesync.PaymentSucceeded, paidAt, fmt.Sprintf("R-%04d", i)
		p.Method, p.MethodDetail = stripesync.MethodCard, "Visa •••• 4242"
		p.InvoiceID, p.AccountID = "", "" // a lookup is never cleared by leaving it out
		switch i {
		case 0:
			p.Refunded = 500
		case 3:
			p.Refunded = p.Amount.Amount
		case 4:
			p.Status, p.PaidAt, p.ReceiptNumber = stripesync.PaymentFailed, time.Time{}, ""
			p.FailureReason = "card_declined: " + strings.Repeat("é", 300)
		}
	}
	perRecord, err = e.c.UpsertPayments(t.Context(), payments)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range perRecord {
		if err != nil {
			t.Fatalf("second upsert, payment %d: %v", i, err)
		}
	}
	if n := e.sf.Count("Payment__c"); n != 450 {
		t.Fatalf("%d Payment__c records after the second upsert, want the same 450", n)
	}
	second := paymentRows(t, e.sf, recordIDs) // same record ids: updated, not re-created
	check("pi_000", map[string]any{"Invoice__c": inv, "Account__c": acct, "Status__c": "Partially Refunded",
		"Amount_Refunded__c": "5", "Paid_At__c": paidAt, "Receipt_Number__c": "R-0000", "Method__c": "Card",
		"Payment_Method_Detail__c": "Visa •••• 4242"}, second)
	check("pi_003", map[string]any{"Status__c": "Refunded", "Amount_Refunded__c": "10.03", "Invoice__c": nil}, second)
	check("pi_004", map[string]any{"Status__c": "Failed", "Paid_At__c": nil, "Receipt_Number__c": nil,
		"Failure_Reason__c": "card_declined: " + strings.Repeat("é", 255-len("card_declined: "))}, second)
	if c := e.sf.Calls(); c.Collections != 6 {
		t.Errorf("collection calls = %d, want 6 after two upserts of 450", c.Collections)
	}
}

func TestUpsertPaymentsItemErrors(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	acct := e.sf.Insert("Account", map[string]any{"Name": "Acme"})
	inv := e.sf.Insert("Invoice__c", map[string]any{"Name": "INV-1"})
	gone := e.sf.Insert("Invoice__c", map[string]any{"Name": "INV-2"})
	e.sf.Delete("Invoice__c", gone)
	e.sf.Insert("Payment__c", map[string]any{"Stripe_Payment_Id__c": "pi_twice"})
	e.sf.Insert("Payment__c", map[string]any{"Stripe_Payment_Id__c": "pi_twice"})
	pay := func(id, invoice string) stripesync.Payment {
		return stripesync.Payment{ID: id, InvoiceID: invoice, Amount: usd(1000), Status: stripesync.PaymentSucceeded}
	}
	payments := []stripesync.Payment{
		pay("pi_ok", inv),
		pay("pi_deleted_invoice", gone),
		pay("pi_wrong_object", acct),
		pay("pi_unknown_invoice", "a0XRO0000000zzzAAA"),
		pay("pi_malformed_invoice", "INV-1"),
		pay("pi_twice", inv),
		pay("", inv),
		pay("pi_ok_15", inv[:15]),
	}
	perRecord, err := e.c.UpsertPayments(t.Context(), payments)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		code    stripesync.ErrorCode
		sfCode  string // "" when refused before the call
		wantNil bool
	}{
		{wantNil: true},
		{stripesync.ENOTFOUND, "ENTITY_IS_DELETED", false},
		{stripesync.EINVALID, "FIELD_INTEGRITY_EXCEPTION", false},
		{stripesync.EINVALID, "INVALID_CROSS_REFERENCE_KEY", false},
		{stripesync.EINVALID, "MALFORMED_ID", false},
		{stripesync.ECONFLICT, "DUPLICATE_EXTERNAL_ID", false},
		{stripesync.EINVALID, "", false},
		{wantNil: true},
	}
	for i, tt := range tests {
		err := perRecord[i]
		if tt.wantNil {
			if err != nil {
				t.Errorf("payment %d (%s): %v", i, payments[i].ID, err)
			}
			continue
		}
		wantCode(t, err, tt.code)
		if tt.sfCode != "" {
			if ae := apiErrorOf(t, err); ae.Code != tt.sfCode || ae.Fields == nil {
				t.Errorf("payment %d (%s): APIError %+v, want %s naming the field", i, payments[i].ID, ae, tt.sfCode)
			}
		}
	}
	// Only the valid payments were written; the 15-character lookup is
	// stored in its 18-character form.
	if n := e.sf.Count("Payment__c"); n != 4 {
		t.Errorf("%d Payment__c records, want 4 (2 seeded + 2 written)", n)
	}
	for r, err := range e.c.Query(t.Context(), "SELECT Invoice__c FROM Payment__c WHERE Stripe_Payment_Id__c = 'pi_ok_15'") {
		if err != nil || r.String("Invoice__c") != inv {
			t.Errorf("pi_ok_15: Invoice__c = %q, %v, want %s", r.String("Invoice__c"), err, inv)
		}
	}
}
