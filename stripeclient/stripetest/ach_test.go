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
