package stripetest

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// checkCardError checks a 402 against the shape of Stripe's card errors
// (stripe.md §3): the error, the PaymentIntent embedded in it (back in
// requires_payment_method with the same error as last_payment_error) and
// the PaymentMethod. It returns the embedded PaymentIntent.
func checkCardError(t *testing.T, r response, code, declineCode string) map[string]any {
	t.Helper()
	if r.status != http.StatusPaymentRequired {
		t.Fatalf("status = %d, want 402; body %v", r.status, r.body)
	}
	e, _ := r.body["error"].(map[string]any)
	if e["type"] != "card_error" || e["code"] != code || e["message"] == "" ||
		e["doc_url"] != "https://stripe.com/docs/error-codes/"+strings.ReplaceAll(code, "_", "-") {
		t.Errorf("error %v, want card_error %s", e, code)
	}
	if got, _ := e["decline_code"].(string); got != declineCode {
		t.Errorf("decline_code = %q, want %q", got, declineCode)
	}
	chID, _ := e["charge"].(string)
	pi, _ := e["payment_intent"].(map[string]any)
	lpe, _ := pi["last_payment_error"].(map[string]any)
	if pi["object"] != "payment_intent" || pi["status"] != "requires_payment_method" || pi["latest_charge"] != chID ||
		lpe["type"] != "card_error" || lpe["code"] != code || lpe["message"] != e["message"] || lpe["charge"] != chID {
		t.Errorf("embedded payment_intent %v", pi)
	}
	if got, _ := lpe["decline_code"].(string); got != declineCode {
		t.Errorf("last_payment_error.decline_code = %q, want %q", got, declineCode)
	}
	if field(e, "payment_method", "object") != "payment_method" || field(e, "payment_method", "type") != "card" {
		t.Errorf("error.payment_method %v", e["payment_method"])
	}
	return pi
}

func TestOffSessionDeclines(t *testing.T) {
	tests := []struct{ pm, code, declineCode string }{
		{"pm_card_visa_chargeDeclined", "card_declined", "generic_decline"},
		{"pm_card_visa_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"},
		{"pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"},
		{"pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card"},
		{"pm_card_visa_chargeDeclinedStolenCard", "card_declined", "stolen_card"},
		{"pm_card_visa_chargeDeclinedVelocityLimitExceeded", "card_declined", "card_velocity_exceeded"},
		{"pm_card_chargeDeclinedFraudulent", "card_declined", "fraudulent"},
		{"pm_card_chargeDeclinedExpiredCard", "expired_card", ""},
		{"pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", ""},
		{"pm_card_chargeDeclinedProcessingError", "processing_error", ""},
		{"pm_card_authenticationRequired", "authentication_required", "authentication_required"},
		{"pm_card_threeDSecure2Required", "authentication_required", "authentication_required"},
	}
	s := NewServer(t, Options{})
	for _, tt := range tests {
		t.Run(tt.pm, func(t *testing.T) {
			r := send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment(tt.pm, "off_session", "true"))
			pi := checkCardError(t, r, tt.code, tt.declineCode)
			ch := mustOK(t, send(t, s, http.MethodGet, "/v1/charges/"+r.errField("charge"), nil))
			if ch["status"] != "failed" || ch["failure_code"] != tt.code || ch["payment_intent"] != pi["id"] {
				t.Errorf("charge %v", ch)
			}
			if tt.declineCode == "fraudulent" && (field(ch, "outcome", "type") != "blocked" || field(ch, "outcome", "risk_level") != "highest") {
				t.Errorf("a Radar block: outcome %v", ch["outcome"])
			}
			if tt.declineCode != "fraudulent" && field(ch, "outcome", "type") != "issuer_declined" {
				t.Errorf("an issuer decline: outcome %v", ch["outcome"])
			}
		})
	}
	// The fraud test card by number, as Stripe.js or a hosted page sends it.
	pm := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods", url.Values{
		"type": {"card"}, "card[number]": {"4100000000000019"}, "card[exp_month]": {"12"}, "card[exp_year]": {"2040"},
	}))["id"].(string)
	checkCardError(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment(pm)), "card_declined", "fraudulent")
}

func TestDeclineNext(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{})
	pm := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods/pm_card_visa/attach", url.Values{"customer": {cus}}))["id"].(string)
	autoPay := cardPayment(pm, "customer", cus, "off_session", "true")
	if err := s.DeclineNext(pm, 2, "insufficient_funds"); err != nil {
		t.Fatal(err)
	}
	pi := checkCardError(t, send(t, s, http.MethodPost, "/v1/payment_intents", autoPay), "card_declined", "insufficient_funds")
	id := pi["id"].(string)
	// The retry confirms the same PaymentIntent with the same method.
	retry := url.Values{"payment_method": {pm}, "off_session": {"true"}}
	checkCardError(t, send(t, s, http.MethodPost, "/v1/payment_intents/"+id+"/confirm", retry), "card_declined", "insufficient_funds")
	paid := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents/"+id+"/confirm", retry))
	if paid["status"] != "succeeded" || paid["payment_method"] != pm {
		t.Errorf("third attempt: %v", paid)
	}
	if n := len(s.Charges()); n != 3 {
		t.Errorf("%d charges, want one per attempt (3)", n)
	}

	// A hard decline, on session too (Pay is a customer at a payment form).
	if err := s.DeclineNext(pm, 1, "lost_card"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Pay(PayParams{Amount: 5000, Currency: "usd", Customer: cus, PaymentMethod: pm})
	var pe *PaymentError
	if !errors.As(err, &pe) || pe.Code != "card_declined" || pe.DeclineCode != "lost_card" || pe.Type != "card_error" {
		t.Errorf("Pay after DeclineNext(lost_card): %v", err)
	}
	mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", autoPay))

	// Codes without a decline code, and clearing.
	if err := s.DeclineNext(pm, 1, "expired_card"); err != nil {
		t.Fatal(err)
	}
	checkCardError(t, send(t, s, http.MethodPost, "/v1/payment_intents", autoPay), "expired_card", "")
	if err := s.DeclineNext(pm, 5, "generic_decline"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeclineNext(pm, 0, "generic_decline"); err != nil {
		t.Fatal(err)
	}
	mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", autoPay))

	// A card that asks for 3D Secure asks first; those attempts do not
	// use up a decline.
	pm3ds := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods/pm_card_authenticationRequired/attach", url.Values{"customer": {cus}}))["id"].(string)
	if err := s.DeclineNext(pm3ds, 1, "generic_decline"); err != nil {
		t.Fatal(err)
	}
	checkCardError(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment(pm3ds, "customer", cus, "off_session", "true")),
		"authentication_required", "authentication_required")
	moto := cardPayment(pm3ds, "customer", cus, "payment_method_options[card][moto]", "true")
	checkCardError(t, send(t, s, http.MethodPost, "/v1/payment_intents", moto), "card_declined", "generic_decline")
	mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", moto))

	bank := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods/pm_usBankAccount_success/attach", url.Values{"customer": {cus}}))["id"].(string)
	for _, bad := range []struct{ pm, code string }{{pm, "call_issuer"}, {"pm_missing", "generic_decline"}, {bank, "generic_decline"}, {pm, "authentication_required"}} {
		if err := s.DeclineNext(bad.pm, 1, bad.code); err == nil {
			t.Errorf("DeclineNext(%s, 1, %s) was accepted", bad.pm, bad.code)
		}
	}
}
