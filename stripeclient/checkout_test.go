package stripeclient

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
)

// payRequest is a payment-mode request for a whole USD invoice, card and
// bank account offered, the method saved.
func payRequest(expires time.Time) stripesync.CheckoutRequest {
	return stripesync.CheckoutRequest{
		Mode:        stripesync.CheckoutPayment,
		CustomerID:  "cus_PaYer0001",
		InvoiceID:   "a01000000000001AAA",
		Description: "Invoice INV-1001",
		Amount:      stripesync.Money{Amount: 12500, Currency: "USD"},
		Methods:     []string{stripesync.MethodTypeCard, stripesync.MethodTypeBank},
		SaveMethod:  true,
		Channel:     stripesync.ChannelPaymentLink,
		SuccessURL:  "https://pay.example/pay/tok_1/done?session_id={CHECKOUT_SESSION_ID}",
		CancelURL:   "https://pay.example/pay/tok_1",
		ExpiresAt:   expires,
	}
}

func TestCreateCheckoutSessionPayment(t *testing.T) {
	f := newFakeStripe(t)
	f.on(http.MethodPost, "/v1/checkout/sessions", ok("checkout_session_payment.json"))
	c := f.client(Config{Account: "acct_1Connected"})
	expires := time.Now().Add(time.Hour).Truncate(time.Second)

	got, err := c.CreateCheckoutSession(t.Context(), payRequest(expires), "stripesync:checkout:a01000000000001AAA:r1")
	if err != nil {
		t.Fatal(err)
	}
	want := stripesync.CheckoutSession{
		ID:            "cs_test_a1b2c3d4e5f6g7h8i9j0",
		URL:           "https://checkout.stripe.com/c/pay/cs_test_a1b2c3d4e5f6g7h8i9j0#fidkdWxOYHwnPyd1blpxYHZxWjA0",
		Mode:          stripesync.CheckoutPayment,
		Status:        stripesync.CheckoutOpen,
		PaymentStatus: "unpaid",
		CustomerID:    "cus_PaYer0001",
		InvoiceID:     "a01000000000001AAA",
		Amount:        stripesync.Money{Amount: 12500, Currency: "USD"},
		ExpiresAt:     time.Unix(1764637200, 0).UTC(),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}

	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if k := r.Header.Get("Idempotency-Key"); k != "acct_1Connected:stripesync:checkout:a01000000000001AAA:r1" {
		t.Errorf("Idempotency-Key = %q, want the caller's scoped to the account", k)
	}
	if a := r.Header.Get("Stripe-Account"); a != "acct_1Connected" {
		t.Errorf("Stripe-Account = %q, want acct_1Connected", a)
	}
	wantForm := map[string]string{
		"mode":                                          "payment",
		"customer":                                      "cus_PaYer0001",
		"client_reference_id":                           "a01000000000001AAA",
		"metadata[crm_invoice_id]":                      "a01000000000001AAA",
		"line_items[0][price_data][currency]":           "usd",
		"line_items[0][price_data][unit_amount]":        "12500",
		"line_items[0][price_data][product_data][name]": "Invoice INV-1001",
		"line_items[0][quantity]":                       "1",
		"payment_method_types[0]":                       "card",
		"payment_method_types[1]":                       "us_bank_account",
		"payment_method_options[us_bank_account][verification_method]": "automatic",
		"payment_intent_data[metadata][crm_invoice_id]":                "a01000000000001AAA",
		"payment_intent_data[metadata][channel]":                       "Payment Link",
		"payment_intent_data[setup_future_usage]":                      "off_session",
		"payment_intent_data[description]":                             "Invoice INV-1001",
		"success_url":                                                  "https://pay.example/pay/tok_1/done?session_id={CHECKOUT_SESSION_ID}",
		"cancel_url":                                                   "https://pay.example/pay/tok_1",
		"expires_at":                                                   strconv.FormatInt(expires.Unix(), 10),
	}
	if diff := cmp.Diff(wantForm, flat(r.Form)); diff != "" {
		t.Errorf("form (-want +got):\n%s", diff)
	}
}

func TestCreateCheckoutSessionCardOnlyNotSaved(t *testing.T) {
	f := newFakeStripe(t)
	f.on(http.MethodPost, "/v1/checkout/sessions", ok("checkout_session_payment.json"))
	c := f.client(Config{})
	r := payRequest(time.Now().Add(24 * time.Hour))
	r.Methods, r.SaveMethod, r.Channel, r.CancelURL = []string{stripesync.MethodTypeCard}, false, "", ""
	r.Amount = stripesync.Money{Amount: 500, Currency: "JPY"}
	if _, err := c.CreateCheckoutSession(t.Context(), r, "k1"); err != nil {
		t.Fatal(err)
	}
	form := f.requests()[0].Form
	for _, absent := range []string{
		"payment_method_types[1]", "payment_method_options[us_bank_account][verification_method]",
		"payment_intent_data[setup_future_usage]", "payment_intent_data[metadata][channel]", "cancel_url",
	} {
		if form.Has(absent) {
			t.Errorf("%s = %q, want it left out", absent, form.Get(absent))
		}
	}
	if got := form.Get("line_items[0][price_data][currency]") + " " + form.Get("line_items[0][price_data][unit_amount]"); got != "jpy 500" {
		t.Errorf("price = %q, want jpy 500 (zero-decimal, minor units)", got)
	}
	if a := f.requests()[0].Header.Get("Stripe-Account"); a != "" {
		t.Errorf("Stripe-Account = %q without a connected account", a)
	}
}

func TestCreateCheckoutSessionSetup(t *testing.T) {
	f := newFakeStripe(t)
	f.on(http.MethodPost, "/v1/checkout/sessions", ok("checkout_session_setup.json"))
	c := f.client(Config{})
	expires := time.Now().Add(2 * time.Hour)
	r := stripesync.CheckoutRequest{
		Mode:       stripesync.CheckoutSetup,
		CustomerID: "cus_PaYer0001",
		Amount:     stripesync.Money{Currency: "USD"},
		Methods:    []string{stripesync.MethodTypeCard, stripesync.MethodTypeBank},
		SuccessURL: "https://pay.example/portal?added=1",
		CancelURL:  "https://pay.example/portal",
		ExpiresAt:  expires,
	}
	got, err := c.CreateCheckoutSession(t.Context(), r, "stripesync:setup:cus_PaYer0001:n1")
	if err != nil {
		t.Fatal(err)
	}
	want := stripesync.CheckoutSession{
		ID: "cs_test_setup0000000000000001", URL: "https://checkout.stripe.com/c/pay/cs_test_setup0000000000000001#fidkdWxOYHwn",
		Mode: stripesync.CheckoutSetup, Status: stripesync.CheckoutOpen, PaymentStatus: "no_payment_required",
		CustomerID: "cus_PaYer0001", SetupIntentID: "seti_1OxSetup0000000001", ExpiresAt: time.Unix(1764720000, 0).UTC(),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
	wantForm := map[string]string{
		"mode":                    "setup",
		"customer":                "cus_PaYer0001",
		"currency":                "usd",
		"payment_method_types[0]": "card",
		"payment_method_types[1]": "us_bank_account",
		"payment_method_options[us_bank_account][verification_method]": "automatic",
		"success_url": "https://pay.example/portal?added=1",
		"cancel_url":  "https://pay.example/portal",
		"expires_at":  strconv.FormatInt(expires.Unix(), 10),
	}
	if diff := cmp.Diff(wantForm, flat(f.requests()[0].Form)); diff != "" {
		t.Errorf("form (-want +got):\n%s", diff)
	}
}

func TestCreateCheckoutSessionRefusesBadRequests(t *testing.T) {
	f := newFakeStripe(t)
	c := f.client(Config{})
	now := time.Now()
	good := payRequest(now.Add(time.Hour))
	tests := []struct {
		name   string
		change func(r *stripesync.CheckoutRequest)
		key    string
	}{
		{"no idempotency key", func(r *stripesync.CheckoutRequest) {}, ""},
		{"no customer", func(r *stripesync.CheckoutRequest) { r.CustomerID = "" }, "k"},
		{"no methods", func(r *stripesync.CheckoutRequest) { r.Methods = nil }, "k"},
		{"unknown method", func(r *stripesync.CheckoutRequest) { r.Methods = []string{"sepa_debit"} }, "k"},
		{"bank account in EUR", func(r *stripesync.CheckoutRequest) { r.Amount.Currency = "EUR" }, "k"},
		{"below the minimum", func(r *stripesync.CheckoutRequest) { r.Amount.Amount = 49 }, "k"},
		{"zero amount", func(r *stripesync.CheckoutRequest) { r.Amount.Amount = 0 }, "k"},
		{"no invoice", func(r *stripesync.CheckoutRequest) { r.InvoiceID = "" }, "k"},
		{"no description", func(r *stripesync.CheckoutRequest) { r.Description = " " }, "k"},
		{"no success URL", func(r *stripesync.CheckoutRequest) { r.SuccessURL = "" }, "k"},
		{"no expiry", func(r *stripesync.CheckoutRequest) { r.ExpiresAt = time.Time{} }, "k"},
		{"expiry in 20 minutes", func(r *stripesync.CheckoutRequest) { r.ExpiresAt = now.Add(20 * time.Minute) }, "k"},
		{"expiry in 25 hours", func(r *stripesync.CheckoutRequest) { r.ExpiresAt = now.Add(25 * time.Hour) }, "k"},
		{"expiry in the past", func(r *stripesync.CheckoutRequest) { r.ExpiresAt = now.Add(-time.Hour) }, "k"},
		{"unknown mode", func(r *stripesync.CheckoutRequest) { r.Mode = "subscription" }, "k"},
		{"setup of a bank account in EUR", func(r *stripesync.CheckoutRequest) {
			r.Mode, r.Amount = stripesync.CheckoutSetup, stripesync.Money{Currency: "EUR"}
		}, "k"},
	}
	for _, tt := range tests {
		r := good
		r.Methods = append([]string(nil), good.Methods...)
		tt.change(&r)
		_, err := c.CreateCheckoutSession(t.Context(), r, tt.key)
		if code := stripesync.CodeOf(err); code != stripesync.EINVALID {
			t.Errorf("%s: err = %v (%s), want EINVALID", tt.name, err, code)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests reached Stripe, want none", n)
	}
	// Exactly 30 minutes ahead, as a caller would compute it, passes.
	f.on(http.MethodPost, "/v1/checkout/sessions", ok("checkout_session_payment.json"))
	if _, err := c.CreateCheckoutSession(t.Context(), payRequest(time.Now().Add(30*time.Minute)), "k"); err != nil {
		t.Errorf("expiry 30 minutes ahead: %v", err)
	}
}

func TestCheckoutSessionRead(t *testing.T) {
	f := newFakeStripe(t)
	f.on(http.MethodGet, "/v1/checkout/sessions/cs_test_a1b2c3d4e5f6g7h8i9j0", ok("checkout_session_complete.json"))
	f.on(http.MethodGet, "/v1/checkout/sessions/cs_missing", reply{status: 404,
		body: `{"error":{"code":"resource_missing","param":"session","message":"No such checkout.session: 'cs_missing'","type":"invalid_request_error"}}`})
	c := f.client(Config{})
	got, err := c.CheckoutSession(t.Context(), "cs_test_a1b2c3d4e5f6g7h8i9j0")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != stripesync.CheckoutComplete || got.PaymentStatus != "paid" || got.PaymentIntentID != "pi_3OxPaid000000001" || got.URL != "" {
		t.Errorf("session = %+v, want complete, paid, pi_3OxPaid000000001, no URL", got)
	}
	if _, err := c.CheckoutSession(t.Context(), "cs_missing"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
		t.Errorf("missing session: %v, want ENOTFOUND", err)
	}
	if _, err := c.CheckoutSession(t.Context(), ""); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("empty id: %v, want EINVALID", err)
	}
}

func TestExpireCheckoutSession(t *testing.T) {
	const id = "cs_test_a1b2c3d4e5f6g7h8i9j0"
	f := newFakeStripe(t)
	c := f.client(Config{})

	// An open session is expired, under a key derived from its id.
	f.on(http.MethodPost, "/v1/checkout/sessions/"+id+"/expire", reply{status: 200, body: `{"id":"` + id + `","object":"checkout.session","mode":"payment","status":"expired","payment_status":"unpaid","url":null,"metadata":{"crm_invoice_id":"a01000000000001AAA"},"amount_total":12500,"currency":"usd","expires_at":1764637200}`})
	got, err := c.ExpireCheckoutSession(t.Context(), id)
	if err != nil || got.Status != stripesync.CheckoutExpired {
		t.Fatalf("expire = %+v, %v; want expired", got, err)
	}
	if k := f.requests()[0].Header.Get("Idempotency-Key"); k != "stripesync:expire-checkout-session:"+id {
		t.Errorf("Idempotency-Key = %q", k)
	}

	// A session paid meanwhile: Stripe refuses, and the session is
	// returned as it is.
	f.on(http.MethodPost, "/v1/checkout/sessions/"+id+"/expire", reply{status: 400, file: "error_checkout_not_open.json"})
	f.on(http.MethodGet, "/v1/checkout/sessions/"+id, ok("checkout_session_complete.json"))
	got, err = c.ExpireCheckoutSession(t.Context(), id)
	if err != nil || got.Status != stripesync.CheckoutComplete || got.PaymentIntentID != "pi_3OxPaid000000001" {
		t.Errorf("expire of a complete session = %+v, %v; want it complete, no error", got, err)
	}

	// A refusal for a session still open is the error.
	f.on(http.MethodGet, "/v1/checkout/sessions/"+id, ok("checkout_session_payment.json"))
	if _, err := c.ExpireCheckoutSession(t.Context(), id); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("refused expire of an open session: %v, want EINVALID", err)
	}
}
