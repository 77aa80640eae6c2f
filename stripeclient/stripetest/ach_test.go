package stripetest

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestACHSettles(t *testing.T) {
	s := NewServer(t, Options{})
	pi := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", achPayment("pm_usBankAccount_success")))
	id := pi["id"].(string)
	if pi["status"] != "processing" {
		t.Fatalf("status = %v, want processing", pi["status"])
	}
	ch := mustOK(t, send(t, s, http.MethodGet, "/v1/charges/"+pi["latest_charge"].(string), nil))
	bank, _ := field(ch, "payment_method_details", "us_bank_account").(map[string]any)
	if ch["status"] != "pending" || ch["paid"] != false || bank["last4"] != "6789" ||
		bank["bank_name"] != "STRIPE TEST BANK" || bank["routing_number"] != "110000000" || bank["mandate"] == nil {
		t.Errorf("pending charge: status %v paid %v details %v", ch["status"], ch["paid"], bank)
	}
	if err := s.SettleACH(id); err != nil {
		t.Fatal(err)
	}
	got := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents/"+id, url.Values{"expand[]": {"latest_charge"}}))
	if got["status"] != "succeeded" || field(got, "latest_charge", "status") != "succeeded" || field(got, "latest_charge", "paid") != true {
		t.Errorf("settled: %v", got)
	}
	if diff := cmp.Diff([]string{
		"payment_intent.created", "charge.pending", "payment_intent.processing",
		"charge.succeeded", "payment_intent.succeeded",
	}, eventTypes(s)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	for _, e := range s.Events()[3:] {
		if field(decoded(t, e), "request", "id") != nil {
			t.Errorf("%s carries a request, but settlement is Stripe's own doing", e.Type)
		}
	}
	if err := s.SettleACH(id); err == nil {
		t.Error("settling twice succeeded")
	}
}

func TestACHFails(t *testing.T) {
	tests := []struct{ pm, code string }{
		{"pm_usBankAccount_insufficientFunds", "insufficient_funds"},
		{"pm_usBankAccount_accountClosed", "account_closed"},
		{"pm_usBankAccount_noAccount", "no_account"},
		{"pm_usBankAccount_debitNotAuthorized", "debit_not_authorized"},
	}
	for _, tt := range tests {
		t.Run(tt.pm, func(t *testing.T) {
			s := NewServer(t, Options{})
			id := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", achPayment(tt.pm)))["id"].(string)
			if err := s.SettleACH(id); err != nil {
				t.Fatal(err)
			}
			got := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents/"+id, url.Values{"expand[]": {"latest_charge"}}))
			if got["status"] != "requires_payment_method" || field(got, "last_payment_error", "code") != tt.code ||
				field(got, "last_payment_error", "message") == "" || field(got, "latest_charge", "status") != "failed" ||
				field(got, "latest_charge", "failure_code") != tt.code {
				t.Errorf("after the return: %v", got)
			}
			types := eventTypes(s)
			if diff := cmp.Diff([]string{"charge.failed", "payment_intent.payment_failed"}, types[len(types)-2:]); diff != "" {
				t.Errorf("last events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestACHThatNeverSettles(t *testing.T) {
	s := NewServer(t, Options{ACHSettleAfter: time.Millisecond})
	id := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", achPayment("pm_usBankAccount_processing")))["id"].(string)
	time.Sleep(20 * time.Millisecond)
	if err := s.SettleACH(id); err == nil {
		t.Error("SettleACH of pm_usBankAccount_processing succeeded")
	}
	if st := s.PaymentIntents()[0].Status; st != "processing" {
		t.Errorf("status %s, want processing forever", st)
	}
	c := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents/"+id+"/cancel", nil))
	if c["status"] != "canceled" {
		t.Errorf("cancel while processing: %v", c["status"])
	}
	if err := s.SettleACH("pi_missing"); err == nil {
		t.Error("SettleACH of an unknown PaymentIntent succeeded")
	}
}

func TestACHSettleAfter(t *testing.T) {
	s := NewServer(t, Options{ACHSettleAfter: 30 * time.Millisecond})
	id := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", achPayment("pm_usBankAccount_dispute")))["id"].(string)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for s.PaymentIntents()[0].Status != "succeeded" {
		select {
		case <-ctx.Done():
			t.Fatalf("%s still %s", id, s.PaymentIntents()[0].Status)
		case <-time.After(5 * time.Millisecond):
		}
	}
	types := eventTypes(s)
	if diff := cmp.Diff([]string{"payment_intent.succeeded", "charge.dispute.created"}, types[len(types)-2:]); diff != "" {
		t.Errorf("the dispute account is disputed once it settles (-want +got):\n%s", diff)
	}
	if !s.Charges()[0].Disputed {
		t.Error("charge not disputed")
	}
}

func TestReturnACH(t *testing.T) {
	s := NewServer(t, Options{})
	id := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", achPayment("pm_usBankAccount_success")))["id"].(string)
	if err := s.ReturnACH(id, "R01"); err != nil {
		t.Fatal(err)
	}
	got := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents/"+id, url.Values{"expand[]": {"latest_charge"}}))
	lpe, _ := got["last_payment_error"].(map[string]any)
	if got["status"] != "requires_payment_method" || got["payment_method"] != nil || lpe["code"] != "insufficient_funds" ||
		lpe["type"] != "invalid_request_error" || lpe["message"] == "" || lpe["charge"] != field(got, "latest_charge", "id") ||
		field(lpe, "payment_method", "type") != "us_bank_account" {
		t.Errorf("after the return: %v", got)
	}
	if field(got, "latest_charge", "status") != "failed" || field(got, "latest_charge", "failure_code") != "insufficient_funds" ||
		field(got, "latest_charge", "paid") != false {
		t.Errorf("returned charge: %v", got["latest_charge"])
	}
	events := s.Events()
	if diff := cmp.Diff([]string{"charge.failed", "payment_intent.payment_failed"}, eventTypes(s)[len(events)-2:]); diff != "" {
		t.Errorf("last events (-want +got):\n%s", diff)
	}
	for _, e := range events[len(events)-2:] {
		if field(decoded(t, e), "request", "id") != nil {
			t.Errorf("%s carries a request, but the bank returned the debit", e.Type)
		}
	}
	if err := s.ReturnACH(id, "R01"); err == nil {
		t.Error("returning a debit twice succeeded")
	}
	if err := s.SettleACH(id); err == nil {
		t.Error("settling a returned debit succeeded")
	}

	card := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa")))["id"].(string)
	if err := s.ReturnACH(card, "R01"); err == nil {
		t.Error("returning a card payment succeeded")
	}
	if err := s.ReturnACH("pi_missing", "R01"); err == nil {
		t.Error("returning an unknown PaymentIntent succeeded")
	}
	other := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", achPayment("pm_usBankAccount_success")))["id"].(string)
	if err := s.ReturnACH(other, "R99"); err == nil {
		t.Error("an unknown return code was accepted")
	}
	if st := s.PaymentIntents()[2].Status; st != "processing" {
		t.Errorf("a refused return changed the debit: %s", st)
	}
}

func TestReturnACHCodes(t *testing.T) {
	s := NewServer(t, Options{})
	for code, want := range map[string]string{
		"R01": "insufficient_funds", "R09": "insufficient_funds", "R02": "bank_account_closed",
		"R03": "bank_account_invalid_details", "R04": "bank_account_invalid_details", "R05": "debit_not_authorized",
		"R07": "debit_not_authorized", "R08": "debit_not_authorized", "R10": "debit_not_authorized",
		"R11": "debit_not_authorized", "R29": "debit_not_authorized", "R31": "debit_not_authorized",
		"R15": "recipient_deceased", "R16": "bank_account_frozen", "R20": "bank_account_restricted",
	} {
		// pm_usBankAccount_processing never settles by itself, but the bank
		// may still return it.
		id := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", achPayment("pm_usBankAccount_processing")))["id"].(string)
		if err := s.ReturnACH(id, code); err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		pi := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents/"+id, url.Values{"expand[]": {"latest_charge"}}))
		if field(pi, "last_payment_error", "code") != want || field(pi, "latest_charge", "failure_code") != want {
			t.Errorf("%s: last_payment_error %v, charge failure_code %v, want %s", code,
				field(pi, "last_payment_error", "code"), field(pi, "latest_charge", "failure_code"), want)
		}
	}
}

func TestReturnACHOfAnOffSessionDebit(t *testing.T) {
	s := NewServer(t, Options{ACHSettleAfter: 50 * time.Millisecond})
	cus := s.CreateCustomer(Customer{})
	first := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents",
		achPayment("pm_usBankAccount_success", "customer", cus, "setup_future_usage", "off_session")))
	if err := s.SettleACH(first["id"].(string)); err != nil {
		t.Fatal(err)
	}
	// The saved account is debited again off session, without a new
	// mandate, and the bank returns it as unauthorized before it settles.
	pm := first["payment_method"].(string)
	auto := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", url.Values{
		"amount": {"4000"}, "currency": {"usd"}, "customer": {cus}, "payment_method": {pm},
		"payment_method_types[]": {"us_bank_account"}, "confirm": {"true"}, "off_session": {"true"},
	}))
	id := auto["id"].(string)
	if auto["status"] != "processing" {
		t.Fatalf("off-session debit: %v", auto)
	}
	if err := s.ReturnACH(id, "R10"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // past ACHSettleAfter: the settlement was called off
	got := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents/"+id, nil))
	if got["status"] != "requires_payment_method" || field(got, "last_payment_error", "code") != "debit_not_authorized" {
		t.Errorf("after the return: %v", got)
	}
	if n := countType(s, "payment_intent.succeeded"); n != 1 {
		t.Errorf("%d payment_intent.succeeded, want the first debit's only", n)
	}
	if err := s.ReturnACH(first["id"].(string), "R10"); err == nil {
		t.Error("returning a succeeded debit succeeded (a late return is a dispute)")
	}
}

func TestReturnACHOfACheckoutPayment(t *testing.T) {
	s := NewServer(t, Options{})
	_, pi, err := s.CompleteCheckout(CheckoutParams{Amount: 12500, Currency: "usd", PaymentMethod: "pm_usBankAccount_success"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReturnACH(pi, "R02"); err != nil {
		t.Fatal(err)
	}
	if n := countType(s, "checkout.session.async_payment_failed"); n != 1 {
		t.Errorf("%d checkout.session.async_payment_failed, want 1; events %v", n, eventTypes(s))
	}
}
