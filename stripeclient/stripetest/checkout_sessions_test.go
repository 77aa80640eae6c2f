package stripetest

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCheckoutSessionCreate(t *testing.T) {
	clock := newTestClock()
	s := NewServer(t, Options{Clock: clock.Now})
	cus := s.CreateCustomer(Customer{})
	sess := newSession(t, s, "customer", cus, "client_reference_id", "INV-1001", "metadata[crm_invoice_id]", "INV-1001",
		"payment_method_options[us_bank_account][verification_method]", "instant",
		"payment_method_options[us_bank_account][financial_connections][permissions][0]", "payment_method")
	for name, want := range map[string]any{
		"object": "checkout.session", "mode": "payment", "status": "open", "payment_status": "unpaid",
		"payment_intent": nil, "setup_intent": nil, "customer": cus, "amount_total": float64(12500),
		"amount_subtotal": float64(12500), "currency": "usd", "ui_mode": "hosted", "client_reference_id": "INV-1001",
		"success_url": "https://crm.example/paid?session_id={CHECKOUT_SESSION_ID}",
		"cancel_url":  "https://crm.example/invoice/INV-1001",
		"expires_at":  float64(clock.Now().Add(24 * time.Hour).Unix()), "created": float64(clock.Now().Unix()),
	} {
		if diff := cmp.Diff(want, sess[name]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if field(sess, "payment_method_options", "us_bank_account", "verification_method") != "instant" {
		t.Errorf("payment_method_options: %v", sess["payment_method_options"])
	}
	if len(eventTypes(s)) != 0 {
		t.Errorf("creating a session emitted %v", eventTypes(s))
	}

	now := clock.Now()
	tests := []struct {
		name        string
		extra       []string
		param, code string
	}{
		{"no mode", []string{"mode", ""}, "mode", "parameter_missing"},
		{"no success_url", []string{"success_url", ""}, "success_url", "parameter_missing"},
		{"no line items", []string{"line_items[0][price_data][currency]", "", "line_items[0][price_data][unit_amount]", "",
			"line_items[0][price_data][product_data][name]", "", "line_items[0][quantity]", ""}, "line_items", "parameter_missing"},
		{"no quantity", []string{"line_items[0][quantity]", ""}, "line_items[0][quantity]", "parameter_missing"},
		{"too small", []string{"line_items[0][price_data][unit_amount]", "10"}, "line_items", "amount_too_small"},
		{"expires too soon", []string{"expires_at", itoa64(now.Add(10 * time.Minute).Unix())}, "expires_at", ""},
		{"expires too late", []string{"expires_at", itoa64(now.Add(25 * time.Hour).Unix())}, "expires_at", ""},
		{"ACH in EUR", []string{"line_items[0][price_data][currency]", "eur"}, "payment_method_types", ""},
		{"bad verification", []string{"payment_method_options[us_bank_account][verification_method]", "skip"},
			"payment_method_options[us_bank_account][verification_method]", ""},
		{"unknown customer", []string{"customer", "cus_missing"}, "customer", "resource_missing"},
		{"setup data in payment mode", []string{"setup_intent_data[metadata][k]", "v"}, "setup_intent_data", ""},
		{"unknown parameter", []string{"line_items[0][price_data][recurring]", "x"}, "line_items[0][price_data][recurring]", "parameter_unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := url.Values{
				"mode": {"payment"}, "success_url": {"https://crm.example/paid"},
				"line_items[0][price_data][currency]":           {"usd"},
				"line_items[0][price_data][unit_amount]":        {"12500"},
				"line_items[0][price_data][product_data][name]": {"Invoice"},
				"line_items[0][quantity]":                       {"1"},
				"payment_method_types[]":                        {"card", "us_bank_account"},
			}
			for i := 0; i+1 < len(tt.extra); i += 2 {
				if tt.extra[i+1] == "" {
					v.Del(tt.extra[i])
				} else {
					v.Set(tt.extra[i], tt.extra[i+1])
				}
			}
			r := send(t, s, http.MethodPost, "/v1/checkout/sessions", v)
			if r.status != http.StatusBadRequest || r.errField("param") != tt.param || r.errField("code") != tt.code {
				t.Errorf("status %d, error %v; want 400 param %q code %q", r.status, r.body["error"], tt.param, tt.code)
			}
		})
	}
	ok := newSession(t, s, "expires_at", itoa64(now.Add(30*time.Minute).Unix()))
	if ok["expires_at"] != float64(now.Add(30*time.Minute).Unix()) {
		t.Errorf("expires_at 30 minutes ahead: %v", ok["expires_at"])
	}
}

func TestCheckoutSessionExpireAndList(t *testing.T) {
	clock := newTestClock()
	s := NewServer(t, Options{Clock: clock.Now})
	cus := s.CreateCustomer(Customer{})
	a := newSession(t, s, "customer", cus)["id"].(string)
	b := newSession(t, s)["id"].(string)
	c := newSession(t, s, "expires_at", itoa64(clock.Now().Add(time.Hour).Unix()))["id"].(string)

	exp := mustOK(t, send(t, s, http.MethodPost, "/v1/checkout/sessions/"+b+"/expire", nil))
	if exp["status"] != "expired" || exp["url"] != nil {
		t.Errorf("expired: %v", exp)
	}
	if r := send(t, s, http.MethodPost, "/v1/checkout/sessions/"+b+"/expire", nil); r.status != http.StatusBadRequest {
		t.Errorf("expiring twice: %d", r.status)
	}
	if r := send(t, s, http.MethodGet, "/v1/checkout/sessions/cs_test_missing", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown session: %d", r.status)
	}

	clock.Advance(2 * time.Hour)
	if got := s.ExpireCheckoutSessions(); len(got) != 1 || got[0] != c {
		t.Errorf("ExpireCheckoutSessions = %v, want [%s]", got, c)
	}
	if got := s.ExpireCheckoutSessions(); len(got) != 0 {
		t.Errorf("second ExpireCheckoutSessions = %v", got)
	}
	if n := countType(s, "checkout.session.expired"); n != 2 {
		t.Errorf("checkout.session.expired %d times, want 2", n)
	}

	all := mustOK(t, send(t, s, http.MethodGet, "/v1/checkout/sessions", nil))
	if diff := cmp.Diff([]string{c, b, a}, ids(all)); diff != "" {
		t.Errorf("list, newest first (-want +got):\n%s", diff)
	}
	mine := mustOK(t, send(t, s, http.MethodGet, "/v1/checkout/sessions", url.Values{"customer": {cus}}))
	if diff := cmp.Diff([]string{a}, ids(mine)); diff != "" {
		t.Errorf("list by customer (-want +got):\n%s", diff)
	}
	_, pi, err := s.CompleteCheckout(CheckoutParams{Amount: 5000, Currency: "usd"})
	if err != nil {
		t.Fatal(err)
	}
	byPI := mustOK(t, send(t, s, http.MethodGet, "/v1/checkout/sessions", url.Values{"payment_intent": {pi}}))
	if got := ids(byPI); len(got) != 1 {
		t.Errorf("list by payment_intent: %v", got)
	}
}
