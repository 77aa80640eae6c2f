package stripetest

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRefunds(t *testing.T) {
	s := NewServer(t, Options{})
	pi := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa")))
	id, chID := pi["id"].(string), pi["latest_charge"].(string)

	re := mustOK(t, send(t, s, http.MethodPost, "/v1/refunds", url.Values{
		"payment_intent": {id}, "amount": {"2500"}, "reason": {"requested_by_customer"}, "metadata[why]": {"partial"},
	}, "Idempotency-Key", "refund-1"))
	for name, want := range map[string]any{
		"object": "refund", "amount": float64(2500), "charge": chID, "payment_intent": id,
		"status": "succeeded", "reason": "requested_by_customer", "currency": "usd",
	} {
		if re[name] != want {
			t.Errorf("refund.%s = %v, want %v", name, re[name], want)
		}
	}
	replay := send(t, s, http.MethodPost, "/v1/refunds", url.Values{
		"payment_intent": {id}, "amount": {"2500"}, "reason": {"requested_by_customer"}, "metadata[why]": {"partial"},
	}, "Idempotency-Key", "refund-1")
	if replay.header.Get("Idempotent-Replayed") != "true" || replay.body["id"] != re["id"] || len(s.Refunds()) != 1 {
		t.Errorf("retried refund: replayed=%q id %v with %d refunds, want the first answer",
			replay.header.Get("Idempotent-Replayed"), replay.body["id"], len(s.Refunds()))
	}
	ch := mustOK(t, send(t, s, http.MethodGet, "/v1/charges/"+chID, nil))
	if ch["amount_refunded"] != float64(2500) || ch["refunded"] != false {
		t.Errorf("after a partial refund: amount_refunded %v refunded %v", ch["amount_refunded"], ch["refunded"])
	}
	events := s.Events()
	last := events[len(events)-2:]
	if last[0].Type != "charge.refunded" || last[1].Type != "refund.created" {
		t.Fatalf("events %s, %s; want charge.refunded, refund.created", last[0].Type, last[1].Type)
	}
	prev := field(decoded(t, last[0]), "data", "previous_attributes")
	if diff := cmp.Diff(map[string]any{"amount_refunded": float64(0)}, prev); diff != "" {
		t.Errorf("charge.refunded previous_attributes (-want +got):\n%s", diff)
	}
	if field(decoded(t, last[0]), "data", "object", "amount_refunded") != float64(2500) {
		t.Error("charge.refunded does not carry the refunded charge")
	}

	r := send(t, s, http.MethodPost, "/v1/refunds", url.Values{"charge": {chID}, "amount": {"10001"}})
	if r.status != 400 || r.errField("param") != "amount" || r.errField("message") != "Refund amount ($100.01) is greater than unrefunded amount on charge ($100.00)" {
		t.Errorf("over-refund: %d %v", r.status, r.body)
	}
	full := mustOK(t, send(t, s, http.MethodPost, "/v1/refunds", url.Values{"charge": {chID}}))
	if full["amount"] != float64(10000) {
		t.Errorf("refund without amount = %v, want the remaining 10000", full["amount"])
	}
	ch = mustOK(t, send(t, s, http.MethodGet, "/v1/charges/"+chID, nil))
	if ch["amount_refunded"] != float64(12500) || ch["refunded"] != true {
		t.Errorf("after the full refund: amount_refunded %v refunded %v", ch["amount_refunded"], ch["refunded"])
	}
	r = send(t, s, http.MethodPost, "/v1/refunds", url.Values{"payment_intent": {id}})
	if r.status != 400 || r.errField("code") != "charge_already_refunded" {
		t.Errorf("refund of a refunded charge: %d %v", r.status, r.body)
	}
	if got := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents/"+id, nil))["status"]; got != "succeeded" {
		t.Errorf("PaymentIntent status %v after refunds, want succeeded (refunds show on the charge)", got)
	}
	if n := len(s.Refunds()); n != 2 {
		t.Errorf("%d refunds, want 2", n)
	}
}

func TestRefundRefused(t *testing.T) {
	s := NewServer(t, Options{})
	r := send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_chargeDeclined"))
	failed, _ := field(r.body, "error", "payment_intent", "id").(string)
	processing := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", achPayment("pm_usBankAccount_success")))["id"].(string)
	tests := []struct {
		name      string
		params    url.Values
		wantParam string
	}{
		{"nothing to refund", url.Values{"amount": {"100"}}, "payment_intent"},
		{"failed payment", url.Values{"payment_intent": {failed}}, "payment_intent"},
		{"ACH still processing", url.Values{"payment_intent": {processing}}, "payment_intent"},
		{"unknown PaymentIntent", url.Values{"payment_intent": {"pi_missing"}}, "payment_intent"},
		{"unknown charge", url.Values{"charge": {"ch_missing"}}, "charge"},
		{"zero amount", url.Values{"payment_intent": {processing}, "amount": {"0"}}, "amount"},
		{"bad reason", url.Values{"payment_intent": {processing}, "reason": {"whim"}}, "reason"},
	}
	for _, tt := range tests {
		r := send(t, s, http.MethodPost, "/v1/refunds", tt.params)
		if r.status != 400 || r.errField("param") != tt.wantParam {
			t.Errorf("%s: %d %v, want 400 on %s", tt.name, r.status, r.body, tt.wantParam)
		}
	}
	if n := len(s.Refunds()); n != 0 {
		t.Errorf("%d refunds made by refused requests", n)
	}
}

func TestDispute(t *testing.T) {
	s := NewServer(t, Options{})
	pi := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa"), "Stripe-Account", "acct_1Conn"))
	id, chID := pi["id"].(string), pi["latest_charge"].(string)
	if err := s.Dispute(id); err != nil {
		t.Fatal(err)
	}
	events := s.Events()
	e := events[len(events)-1]
	d := object(t, e)
	if e.Type != "charge.dispute.created" || d["object"] != "dispute" || d["charge"] != chID || d["payment_intent"] != id ||
		d["amount"] != float64(12500) || d["status"] != "needs_response" || e.Account != "acct_1Conn" ||
		decoded(t, e)["account"] != "acct_1Conn" {
		t.Errorf("dispute event %s on %q: %v", e.Type, e.Account, d)
	}
	ch := mustOK(t, send(t, s, http.MethodGet, "/v1/charges/"+chID, nil, "Stripe-Account", "acct_1Conn"))
	if ch["disputed"] != true {
		t.Error("charge not disputed")
	}
	if err := s.Dispute(id); err == nil {
		t.Error("disputing twice succeeded")
	}
	r := send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_chargeDeclined"))
	if err := s.Dispute(field(r.body, "error", "payment_intent", "id").(string)); err == nil {
		t.Error("disputing a failed payment succeeded")
	}
}

func TestRefundFromGo(t *testing.T) {
	s := NewServer(t, Options{})
	pi, err := s.Pay(PayParams{Amount: 5000, Currency: "usd"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Refund(pi, 1000); err != nil {
		t.Fatal(err)
	}
	if err := s.Refund(pi, 0); err != nil { // the rest
		t.Fatal(err)
	}
	var amounts []int64
	for _, r := range s.Refunds() {
		amounts = append(amounts, r.Amount)
	}
	if len(amounts) != 2 || amounts[0] != 1000 || amounts[1] != 4000 {
		t.Errorf("refund amounts %v, want [1000 4000]", amounts)
	}
	refunded := 0
	for _, e := range s.Events() {
		if e.Type == "charge.refunded" {
			refunded++
		}
	}
	if refunded != 2 {
		t.Errorf("%d charge.refunded events, want 2", refunded)
	}
	if err := s.Refund(pi, 1); err == nil {
		t.Error("refunding a fully refunded payment succeeded")
	}
	if err := s.Refund("pi_missing", 1); err == nil {
		t.Error("refunding an unknown PaymentIntent succeeded")
	}
}
