package stripeclient

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
)

const (
	cardPath = "/v1/payment_methods/pm_1OxCard0000000001"
	bankPath = "/v1/payment_methods/pm_1OxBank0000000001"
)

func cardCharge() stripesync.ChargeRequest {
	return stripesync.ChargeRequest{
		CustomerID:      "cus_PaYer0001",
		PaymentMethodID: "pm_1OxCard0000000001",
		InvoiceID:       "a01000000000001AAA",
		Amount:          stripesync.Money{Amount: 12500, Currency: "USD"},
		Channel:         stripesync.ChannelPhone,
		Description:     "Invoice INV-1001",
		MOTO:            true,
	}
}

func bankCharge() stripesync.ChargeRequest {
	r := cardCharge()
	r.PaymentMethodID, r.Channel, r.MOTO = "pm_1OxBank0000000001", stripesync.ChannelPaymentLink, false
	r.Mandate = &stripesync.MandateAcceptance{
		AcceptedAt: time.Unix(1764633500, 0), IPAddress: "203.0.113.7",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	}
	return r
}

func TestChargeCardMOTO(t *testing.T) {
	f := newFakeStripe(t)
	f.on(http.MethodGet, cardPath, ok("payment_method_card.json"))
	f.on(http.MethodPost, "/v1/payment_intents", ok("payment_intent_succeeded.json"))
	c := f.client(Config{Account: "acct_1Connected"})

	r := cardCharge()
	r.Microdeposits = true // a bank account flag: ignored for a card
	got, err := c.Charge(t.Context(), r, "stripesync:charge:a01000000000001AAA:phone-7")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1764633601, 0).UTC()
	want := stripesync.Payment{
		ID: "pi_3OxCard000000001", InvoiceID: "a01000000000001AAA", CustomerID: "cus_PaYer0001",
		Amount: stripesync.Money{Amount: 12500, Currency: "USD"}, Status: stripesync.PaymentSucceeded,
		Method: stripesync.MethodCard, MethodDetail: "Visa •••• 4242", Channel: stripesync.ChannelPhone,
		Created: time.Unix(1764633600, 0).UTC(), PaidAt: at, ChargeID: "ch_3OxCard000000001", ChargeCreated: at,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("payment (-want +got):\n%s", diff)
	}

	reqs := f.requests()
	if len(reqs) != 2 || reqs[0].Method != http.MethodGet || reqs[1].Method != http.MethodPost {
		t.Fatalf("requests %+v, want the method read, then the create", reqs)
	}
	for _, r := range reqs {
		if a := r.Header.Get("Stripe-Account"); a != "acct_1Connected" {
			t.Errorf("%s %s: Stripe-Account = %q", r.Method, r.Path, a)
		}
	}
	if k := reqs[1].Header.Get("Idempotency-Key"); k != "acct_1Connected:stripesync:charge:a01000000000001AAA:phone-7" {
		t.Errorf("Idempotency-Key = %q, want the caller's scoped to the account", k)
	}
	wantForm := map[string]string{
		"amount":                             "12500",
		"currency":                           "usd",
		"customer":                           "cus_PaYer0001",
		"payment_method":                     "pm_1OxCard0000000001",
		"payment_method_types[0]":            "card",
		"confirm":                            "true",
		"error_on_requires_action":           "true",
		"description":                        "Invoice INV-1001",
		"metadata[crm_invoice_id]":           "a01000000000001AAA",
		"metadata[channel]":                  "Phone",
		"payment_method_options[card][moto]": "true",
		"expand[0]":                          "latest_charge",
	}
	if diff := cmp.Diff(wantForm, flat(reqs[1].Form)); diff != "" {
		t.Errorf("form (-want +got):\n%s", diff)
	}
}

func TestChargeBankWithMandate(t *testing.T) {
	f := newFakeStripe(t)
	f.on(http.MethodGet, bankPath, ok("payment_method_bank.json"))
	f.on(http.MethodPost, "/v1/payment_intents", ok("payment_intent_processing_ach.json"))
	c := f.client(Config{})
	r := bankCharge()
	r.MOTO = true // a card flag: ignored for a bank account

	got, err := c.Charge(t.Context(), r, "k-bank")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != stripesync.PaymentProcessing || got.Method != stripesync.MethodACH || got.MethodDetail != "Bank •••• 6789" {
		t.Errorf("payment = %+v, want Processing ACH Bank •••• 6789", got)
	}
	wantForm := map[string]string{
		"amount":                   "12500",
		"currency":                 "usd",
		"customer":                 "cus_PaYer0001",
		"payment_method":           "pm_1OxBank0000000001",
		"payment_method_types[0]":  "us_bank_account",
		"confirm":                  "true",
		"description":              "Invoice INV-1001",
		"metadata[crm_invoice_id]": "a01000000000001AAA",
		"metadata[channel]":        "Payment Link",
		"mandate_data[customer_acceptance][type]":               "online",
		"mandate_data[customer_acceptance][accepted_at]":        "1764633500",
		"mandate_data[customer_acceptance][online][ip_address]": "203.0.113.7",
		"mandate_data[customer_acceptance][online][user_agent]": r.Mandate.UserAgent,
		"expand[0]": "latest_charge",
	}
	if diff := cmp.Diff(wantForm, flat(f.requests()[1].Form)); diff != "" {
		t.Errorf("form (-want +got):\n%s", diff)
	}
}

func TestChargeOffSession(t *testing.T) {
	f := newFakeStripe(t)
	f.on(http.MethodGet, bankPath, ok("payment_method_bank.json"))
	f.on(http.MethodPost, "/v1/payment_intents", ok("payment_intent_processing_ach.json"))
	c := f.client(Config{})
	r := bankCharge()
	r.Mandate, r.OffSession, r.Channel = nil, true, stripesync.ChannelAutoPay
	if _, err := c.Charge(t.Context(), r, "k-auto"); err != nil {
		t.Fatal(err)
	}
	form := f.requests()[1].Form
	if form.Get("off_session") != "true" || form.Get("metadata[channel]") != "Auto-Pay" {
		t.Errorf("off_session = %q, channel = %q; want true, Auto-Pay", form.Get("off_session"), form.Get("metadata[channel]"))
	}
	for k := range form {
		if strings.HasPrefix(k, "mandate_data") || strings.HasPrefix(k, "payment_method_options") {
			t.Errorf("%s sent without a mandate or card", k)
		}
	}
}

func TestChargeDeclines(t *testing.T) {
	tests := []struct {
		name   string
		method string // "card" or "bank"
		answer reply
		want   stripesync.Decline
	}{
		{"402 card declined", "card", reply{status: 402, file: "error_card_declined.json"}, stripesync.Decline{
			Code: "card_declined", DeclineCode: "insufficient_funds", Message: "Your card has insufficient funds.",
			PaymentIntentID: "pi_3OxDecl000000001",
		}},
		{"402 off-session authentication", "card", reply{status: 402, file: "error_authentication_required.json"}, stripesync.Decline{
			Code: "authentication_required", DeclineCode: "authentication_required",
			Message: "Your card was declined. This transaction requires authentication.", PaymentIntentID: "pi_3OxAuth000000001",
		}},
		{"left in requires_payment_method", "bank", ok("payment_intent_requires_payment_method.json"), stripesync.Decline{
			Code: "debit_not_authorized", Message: "The customer has notified their bank that this payment was unauthorized.",
			PaymentIntentID: "pi_3OxFailed0000001",
		}},
		{"micro-deposits to verify", "bank", ok("payment_intent_requires_action_microdeposits.json"), stripesync.Decline{
			Code: "requires_action", DeclineCode: "verify_with_microdeposits",
			Message:         "The bank account must be verified with micro-deposits before this payment can go through.",
			PaymentIntentID: "pi_3OxMicro00000001",
		}},
		{"3-D Secure asked", "card", reply{status: 200, body: `{"id":"pi_3Ox3ds0000000001","object":"payment_intent","amount":12500,"currency":"usd",
			"status":"requires_action","next_action":{"type":"use_stripe_sdk","use_stripe_sdk":{}},"client_secret":"pi_3Ox3ds0000000001_secret_x"}`},
			stripesync.Decline{
				Code: "authentication_required", DeclineCode: "authentication_required",
				Message: "The card issuer asks the customer to authenticate this payment.", PaymentIntentID: "pi_3Ox3ds0000000001",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeStripe(t)
			f.on(http.MethodGet, cardPath, ok("payment_method_card.json"))
			f.on(http.MethodGet, bankPath, ok("payment_method_bank.json"))
			f.on(http.MethodPost, "/v1/payment_intents", tt.answer)
			c := f.client(Config{})
			r := cardCharge()
			if tt.method == "bank" {
				r = bankCharge()
			}
			_, err := c.Charge(t.Context(), r, "k-decline")
			if code := stripesync.CodeOf(err); code != stripesync.EDECLINED {
				t.Fatalf("err = %v (%s), want EDECLINED", err, code)
			}
			var d *stripesync.Decline
			if !errors.As(err, &d) {
				t.Fatalf("err %v holds no *Decline", err)
			}
			if diff := cmp.Diff(tt.want, *d); diff != "" {
				t.Errorf("decline (-want +got):\n%s", diff)
			}
			if msg := stripesync.MessageOf(err); msg != tt.want.Message {
				t.Errorf("message = %q, want Stripe's %q", msg, tt.want.Message)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error text carries the client secret: %s", err)
			}
			if n := len(f.requests()); n != 2 {
				t.Errorf("%d requests, want 2: a decline is not retried", n)
			}
		})
	}
}

func TestChargeErrors(t *testing.T) {
	tests := []struct {
		name   string
		answer reply
		want   stripesync.ErrorCode
	}{
		{"unknown customer", reply{status: 400, file: "error_customer_missing.json"}, stripesync.ENOTFOUND},
		{"key reused with other parameters", reply{status: 400, file: "error_idempotency.json"}, stripesync.ECONFLICT},
		{"amount too small", reply{status: 400, body: `{"error":{"type":"invalid_request_error","code":"amount_too_small","param":"amount","message":"Amount must be at least $0.50 usd","doc_url":"https://stripe.com/docs/error-codes/amount-too-small"}}`}, stripesync.EINVALID},
		{"500 saved under the key", reply{status: 500, body: `{"error":{"type":"api_error","message":"An unknown error occurred"}}`}, stripesync.EUNAVAILABLE},
	}
	for _, tt := range tests {
		f := newFakeStripe(t)
		f.on(http.MethodGet, cardPath, ok("payment_method_card.json"))
		f.on(http.MethodPost, "/v1/payment_intents", tt.answer)
		c := f.client(Config{})
		_, err := c.Charge(t.Context(), cardCharge(), "k")
		if code := stripesync.CodeOf(err); code != tt.want {
			t.Errorf("%s: err = %v (%s), want %s", tt.name, err, code, tt.want)
		}
	}
}

func TestChargeRefusesBadRequests(t *testing.T) {
	f := newFakeStripe(t)
	f.on(http.MethodGet, "/v1/payment_methods/pm_1OxSepa0000000001", ok("payment_method_sepa.json"))
	f.on(http.MethodGet, bankPath, ok("payment_method_bank.json"))
	f.on(http.MethodGet, "/v1/payment_methods/pm_gone", reply{status: 404,
		body: `{"error":{"code":"resource_missing","param":"payment_method","message":"No such PaymentMethod: 'pm_gone'","type":"invalid_request_error"}}`})
	c := f.client(Config{})
	tests := []struct {
		name   string
		change func(r *stripesync.ChargeRequest)
		key    string
		want   stripesync.ErrorCode
	}{
		{"no idempotency key", func(r *stripesync.ChargeRequest) {}, "", stripesync.EINVALID},
		{"no customer", func(r *stripesync.ChargeRequest) { r.CustomerID = "" }, "k", stripesync.EINVALID},
		{"no method", func(r *stripesync.ChargeRequest) { r.PaymentMethodID = "" }, "k", stripesync.EINVALID},
		{"no invoice", func(r *stripesync.ChargeRequest) { r.InvoiceID = "" }, "k", stripesync.EINVALID},
		{"below the minimum", func(r *stripesync.ChargeRequest) { r.Amount.Amount = 10 }, "k", stripesync.EINVALID},
		{"three decimals not ending in 0", func(r *stripesync.ChargeRequest) { r.Amount = stripesync.Money{Amount: 12345, Currency: "KWD"} }, "k", stripesync.EINVALID},
		{"bank account in EUR", func(r *stripesync.ChargeRequest) {
			*r = bankCharge()
			r.Amount.Currency = "EUR"
		}, "k", stripesync.EINVALID},
		{"SEPA debit", func(r *stripesync.ChargeRequest) { r.PaymentMethodID = "pm_1OxSepa0000000001" }, "k", stripesync.EINVALID},
		{"missing method", func(r *stripesync.ChargeRequest) { r.PaymentMethodID = "pm_gone" }, "k", stripesync.ENOTFOUND},
	}
	for _, tt := range tests {
		r := cardCharge()
		tt.change(&r)
		if _, err := c.Charge(t.Context(), r, tt.key); stripesync.CodeOf(err) != tt.want {
			t.Errorf("%s: err = %v, want %s", tt.name, err, tt.want)
		}
	}
	for _, r := range f.requests() {
		if r.Method != http.MethodGet {
			t.Errorf("%s %s sent for a refused charge", r.Method, r.Path)
		}
	}
}

// A bank debit waiting for its micro-deposits reads as awaiting
// verification, not as a payment nobody confirmed.
func TestPaymentAwaitingMicrodeposits(t *testing.T) {
	f := newFakeStripe(t)
	f.on(http.MethodGet, "/v1/payment_intents/pi_3OxMicro00000001", ok("payment_intent_requires_action_microdeposits.json"))
	p, err := f.client(Config{}).PaymentIntent(t.Context(), "pi_3OxMicro00000001")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != stripesync.PaymentAwaitingVerification {
		t.Errorf("status %q, want %q", p.Status, stripesync.PaymentAwaitingVerification)
	}
}
