package stripetest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func cardMethodForm(number string, extra ...string) url.Values {
	v := url.Values{
		"type":                  {"card"},
		"card[number]":          {number},
		"card[exp_month]":       {"12"},
		"card[exp_year]":        {"34"},
		"card[cvc]":             {"123"},
		"billing_details[name]": {"Jane Doe"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func bankMethodForm(account string, extra ...string) url.Values {
	v := url.Values{
		"type":                                 {"us_bank_account"},
		"us_bank_account[routing_number]":      {"110000000"},
		"us_bank_account[account_number]":      {account},
		"us_bank_account[account_holder_type]": {"company"},
		"billing_details[name]":                {"Acme Corp"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			v.Del(extra[i])
			continue
		}
		v.Set(extra[i], extra[i+1])
	}
	return v
}

// TestCreateCardMethods makes cards with the publishable key, as Stripe.js
// does, and charges them with the secret key: each behaves as the magic
// test PaymentMethod of its number.
func TestCreateCardMethods(t *testing.T) {
	s := NewServer(t, Options{})
	pk := []string{"Authorization", "Bearer " + s.PublishableKey()}
	tests := []struct {
		number, brand, last4 string
		declineCode          string // "" when the charge succeeds
	}{
		{"4242424242424242", "visa", "4242", ""},
		{"4242 4242 4242 4242", "visa", "4242", ""},
		{"5555555555554444", "mastercard", "4444", ""},
		{"4000000000000002", "visa", "0002", "generic_decline"},
		{"4000000000009995", "visa", "9995", "insufficient_funds"},
	}
	for _, tt := range tests {
		pm := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods", cardMethodForm(tt.number), pk...))
		if field(pm, "card", "brand") != tt.brand || field(pm, "card", "last4") != tt.last4 ||
			field(pm, "card", "exp_month") != 12.0 || field(pm, "card", "exp_year") != 2034.0 ||
			field(pm, "billing_details", "name") != "Jane Doe" || pm["customer"] != nil {
			t.Errorf("card %s: %v", tt.number, pm)
		}
		r := send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment(pm["id"].(string)))
		switch {
		case tt.declineCode == "" && r.status != http.StatusOK:
			t.Errorf("charging %s: %d %v, want 200", tt.number, r.status, r.body)
		case tt.declineCode == "" && field(r.body, "status") != "succeeded":
			t.Errorf("charging %s: status %v, want succeeded", tt.number, field(r.body, "status"))
		case tt.declineCode != "" && (r.status != http.StatusPaymentRequired || r.errField("decline_code") != tt.declineCode):
			t.Errorf("charging %s: %d %v, want 402 %s", tt.number, r.status, r.body, tt.declineCode)
		}
	}
}

func TestCreateCardMethodRefusals(t *testing.T) {
	s := NewServer(t, Options{})
	pk := []string{"Authorization", "Bearer " + s.PublishableKey()}
	tests := []struct {
		name         string
		form         url.Values
		status       int
		code, param  string
		messageIsFor string // a word of Stripe's message
	}{
		{"bad checksum", cardMethodForm("4242424242424241"), 402, "incorrect_number", "number", "Your card number is incorrect."},
		{"live card in test mode", cardMethodForm("4111111111111111"), 402, "card_declined", "", "non test card"},
		{"month 13", cardMethodForm("4242424242424242", "card[exp_month]", "13"), 402, "invalid_expiry_month", "exp_month", "expiration month"},
		{"expired", cardMethodForm("4242424242424242", "card[exp_year]", "2001"), 402, "invalid_expiry_year", "exp_year", "expiration year"},
		{"short CVC", cardMethodForm("4242424242424242", "card[cvc]", "12"), 402, "invalid_cvc", "cvc", "security code"},
		{"no number", url.Values{"type": {"card"}, "card[exp_month]": {"12"}, "card[exp_year]": {"34"}}, 400, "parameter_missing", "card[number]", "Missing required param"},
		{"no type", url.Values{"card[number]": {"4242424242424242"}}, 400, "parameter_missing", "type", "Missing required param"},
		{"unknown field", cardMethodForm("4242424242424242", "card[colour]", "red"), 400, "parameter_unknown", "card[colour]", "unknown parameter"},
		{"address not emulated", cardMethodForm("4242424242424242", "billing_details[address][postal_code]", "10001"), 400, "emulator_unsupported", "billing_details[address]", "not emulated"},
	}
	for _, tt := range tests {
		r := send(t, s, http.MethodPost, "/v1/payment_methods", tt.form, pk...)
		if r.status != tt.status || r.errField("code") != tt.code || r.errField("param") != tt.param ||
			!strings.Contains(r.errField("message"), tt.messageIsFor) {
			t.Errorf("%s: %d %v; want %d %s (param %q) saying %q", tt.name, r.status, r.body, tt.status, tt.code, tt.param, tt.messageIsFor)
		}
	}
	if r := send(t, s, http.MethodPost, "/v1/payment_methods", cardMethodForm("4111111111111111"), pk...); r.errField("decline_code") != "test_mode_live_card" {
		t.Errorf("live card: decline_code %q, want test_mode_live_card", r.errField("decline_code"))
	}
}

// TestPublishableKeyOnlyMakesCards: the publishable key opens POST
// /v1/payment_methods for cards and nothing else, with Stripe's refusal.
func TestPublishableKeyOnlyMakesCards(t *testing.T) {
	s := NewServer(t, Options{})
	pk := []string{"Authorization", "Bearer " + s.PublishableKey()}
	for _, tc := range []struct {
		method, path string
		form         url.Values
	}{
		{http.MethodPost, "/v1/payment_methods", bankMethodForm("000123456789")},
		{http.MethodGet, "/v1/payment_methods", nil},
		{http.MethodPost, "/v1/customers", nil},
		{http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa")},
	} {
		r := send(t, s, tc.method, tc.path, tc.form, pk...)
		if r.status != http.StatusUnauthorized || r.errField("code") != "secret_key_required" ||
			!strings.HasPrefix(r.errField("message"), "This API call cannot be made with a publishable API key.") {
			t.Errorf("%s %s with the publishable key: %d %v", tc.method, tc.path, r.status, r.body)
		}
	}
	if len(s.Customers()) != 0 || len(s.PaymentIntents()) != 0 {
		t.Error("a refused publishable-key call created something")
	}
}

// TestBankMethodNeedsMicrodeposits: a bank account made from its numbers
// waits for micro-deposits on its first debit, then settles as its test
// account says; once verified it is debited at once.
func TestBankMethodNeedsMicrodeposits(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{})
	tests := []struct {
		account, last4 string
		settles        string // the PaymentIntent's status after SettleACH
	}{
		{"000123456789", "6789", "succeeded"},
		{"000111111113", "1113", "requires_payment_method"},
	}
	for _, tt := range tests {
		pm := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods", bankMethodForm(tt.account)))
		for k, want := range map[string]any{"last4": tt.last4, "routing_number": "110000000", "account_holder_type": "company", "bank_name": "STRIPE TEST BANK"} {
			if got := field(pm, "us_bank_account", k); got != want {
				t.Errorf("%s: us_bank_account.%s = %v, want %v", tt.account, k, got, want)
			}
		}
		pmID := pm["id"].(string)
		mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods/"+pmID+"/attach", url.Values{"customer": {cus}}))

		pay := achPayment(pmID, "customer", cus, "payment_method_options[us_bank_account][verification_method]", "microdeposits")
		pi := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", pay))
		if pi["status"] != "requires_action" || field(pi, "next_action", "type") != "verify_with_microdeposits" {
			t.Fatalf("%s: first debit: %v, want requires_action verify_with_microdeposits", tt.account, pi)
		}
		piID := pi["id"].(string)
		v := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents/"+piID+"/verify_microdeposits",
			url.Values{"amounts[0]": {"32"}, "amounts[1]": {"45"}, "expand[0]": {"latest_charge"}}))
		if v["status"] != "processing" || field(v, "latest_charge", "status") != "pending" {
			t.Fatalf("%s: after verification: %v, want processing with a pending charge", tt.account, v)
		}
		if err := s.SettleACH(piID); err != nil {
			t.Fatal(err)
		}
		got := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents/"+piID, nil))
		if got["status"] != tt.settles {
			t.Errorf("%s: settled as %v, want %s", tt.account, got["status"], tt.settles)
		}

		again := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", pay))
		if again["status"] != "processing" {
			t.Errorf("%s: second debit of the verified account: %v, want processing", tt.account, again["status"])
		}
	}
}

func TestCreateBankMethodRefusals(t *testing.T) {
	s := NewServer(t, Options{})
	tests := []struct {
		name        string
		form        url.Values
		code, param string
	}{
		{"no name", bankMethodForm("000123456789", "billing_details[name]", ""), "parameter_missing", "billing_details[name]"},
		{"no routing number", bankMethodForm("000123456789", "us_bank_account[routing_number]", ""), "parameter_missing", "us_bank_account[routing_number]"},
		{"bad routing checksum", bankMethodForm("000123456789", "us_bank_account[routing_number]", "110000001"), "", "us_bank_account[routing_number]"},
		{"short account", bankMethodForm("123"), "", "us_bank_account[account_number]"},
		{"holder type", bankMethodForm("000123456789", "us_bank_account[account_holder_type]", "trust"), "", "us_bank_account[account_holder_type]"},
		{"real bank", bankMethodForm("000123456789", "us_bank_account[routing_number]", "021000021"), "emulator_unsupported", "us_bank_account[routing_number]"},
		{"not a test account", bankMethodForm("987654321"), "emulator_unsupported", "us_bank_account[account_number]"},
		{"card details on a bank account", bankMethodForm("000123456789", "card[number]", "4242424242424242"), "", "card"},
	}
	for _, tt := range tests {
		r := send(t, s, http.MethodPost, "/v1/payment_methods", tt.form)
		if r.status != http.StatusBadRequest || r.errField("code") != tt.code || r.errField("param") != tt.param {
			t.Errorf("%s: %d %v; want 400 %q (param %s)", tt.name, r.status, r.body, tt.code, tt.param)
		}
		if acct := tt.form.Get("us_bank_account[account_number]"); len(acct) > 4 && strings.Contains(r.errField("message"), acct) {
			t.Errorf("%s: the message repeats the account number: %s", tt.name, r.errField("message"))
		}
	}
}

// TestMicrodepositAttempts: ten wrong answers fail the verification and
// the PaymentIntent, each refusal saying how many attempts are left.
func TestMicrodepositAttempts(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{})
	pm := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods", bankMethodForm("000123456789")))
	pi := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", achPayment(pm["id"].(string), "customer", cus,
		"payment_method_options[us_bank_account][verification_method]", "microdeposits")))
	verify := "/v1/payment_intents/" + pi["id"].(string) + "/verify_microdeposits"
	for i := 1; i < 10; i++ {
		r := send(t, s, http.MethodPost, verify, url.Values{"amounts[]": {"1", fmt.Sprint(i)}})
		want := fmt.Sprintf("You have %d verification attempts remaining.", 10-i)
		if r.status != http.StatusBadRequest || r.errField("code") != "payment_method_microdeposit_verification_amounts_mismatch" ||
			!strings.HasSuffix(r.errField("message"), want) {
			t.Fatalf("attempt %d: %d %v, want a mismatch ending %q", i, r.status, r.body, want)
		}
	}
	r := send(t, s, http.MethodPost, verify, url.Values{"descriptor_code": {"SM99ZZ"}})
	if r.status != http.StatusBadRequest || r.errField("code") != "payment_method_microdeposit_verification_attempts_exceeded" {
		t.Fatalf("tenth attempt: %d %v", r.status, r.body)
	}
	embedded, _ := r.body["error"].(map[string]any)["payment_intent"].(map[string]any)
	if embedded["status"] != "requires_payment_method" {
		t.Errorf("the error carries the PaymentIntent as %v, want requires_payment_method", embedded["status"])
	}
	got := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents/"+pi["id"].(string), nil))
	if got["status"] != "requires_payment_method" || field(got, "last_payment_error", "code") != "payment_method_microdeposit_verification_attempts_exceeded" {
		t.Errorf("after ten failures: %v", got)
	}
	if r := send(t, s, http.MethodPost, verify, url.Values{"amounts[]": {"32", "45"}}); r.errField("code") != "payment_intent_unexpected_state" {
		t.Errorf("verifying a failed PaymentIntent: %v", r.body)
	}
}

// TestCORSAndStripeJS: the card endpoint answers browsers on other
// origins; the rest of the API does not; the script is served at /v3/.
func TestCORSAndStripeJS(t *testing.T) {
	s := NewServer(t, Options{})
	do := func(method, path string, header ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, s.URL()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	pre := do(http.MethodOptions, "/v1/payment_methods", "Origin", "http://console.example",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type")
	if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
		pre.Header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Errorf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
	r := send(t, s, http.MethodPost, "/v1/payment_methods", cardMethodForm("4242424242424242"),
		"Authorization", "Bearer "+s.PublishableKey(), "Origin", "http://console.example")
	if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("cross-origin create: %d, Access-Control-Allow-Origin %q", r.status, r.header.Get("Access-Control-Allow-Origin"))
	}
	if other := do(http.MethodOptions, "/v1/customers", "Origin", "http://console.example"); other.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("/v1/customers allows cross-origin calls: %v", other.Header)
	}

	js := do(http.MethodGet, "/v3/")
	body, _ := io.ReadAll(js.Body)
	if js.StatusCode != http.StatusOK || !strings.HasPrefix(js.Header.Get("Content-Type"), "text/javascript") ||
		!strings.Contains(string(body), "window.Stripe = function") {
		t.Errorf("GET /v3/: %d %s, %d bytes", js.StatusCode, js.Header.Get("Content-Type"), len(body))
	}
}

// TestBankMethodSetupNeedsMicrodeposits: saving a bank account made from
// its numbers (a SetupIntent) also waits for micro-deposits, and once
// verified it is debited at once.
func TestBankMethodSetupNeedsMicrodeposits(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{})
	pm := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods", bankMethodForm("000123456789")))["id"].(string)
	si := mustOK(t, send(t, s, http.MethodPost, "/v1/setup_intents", url.Values{
		"customer": {cus}, "payment_method_types[]": {"us_bank_account"}, "payment_method": {pm}, "confirm": {"true"},
		"mandate_data[customer_acceptance][type]": {"offline"},
	}))
	if si["status"] != "requires_action" || field(si, "next_action", "type") != "verify_with_microdeposits" {
		t.Fatalf("SetupIntent: %v", si)
	}
	ok := mustOK(t, send(t, s, http.MethodPost, "/v1/setup_intents/"+si["id"].(string)+"/verify_microdeposits", url.Values{"descriptor_code": {"SM11AA"}}))
	if ok["status"] != "succeeded" {
		t.Fatalf("verified: %v", ok["status"])
	}
	debit := url.Values{"amount": {"5000"}, "currency": {"usd"}, "customer": {cus}, "payment_method": {pm},
		"payment_method_types[]": {"us_bank_account"}, "confirm": {"true"}, "off_session": {"true"}}
	if got := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", debit)); got["status"] != "processing" {
		t.Errorf("debit of the saved, verified account: %v", got["status"])
	}
}
