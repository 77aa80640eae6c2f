package stripetest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPaymentIntentHappyPath(t *testing.T) {
	now := time.Date(2024, 4, 9, 12, 0, 0, 0, time.UTC)
	s := NewServer(t, Options{Clock: func() time.Time { return now }})
	cus := s.CreateCustomer(Customer{Name: "Acme"})
	r := send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa",
		"customer", cus, "metadata[crm_invoice_id]", "a01INV", "description", "INV-1001"),
		"Idempotency-Key", "pay-1")
	pi := mustOK(t, r)
	id, _ := pi["id"].(string)
	chID, _ := pi["latest_charge"].(string)
	if !strings.HasPrefix(id, "pi_") || !strings.HasPrefix(chID, "ch_") {
		t.Fatalf("id %q latest_charge %q, want pi_ and ch_ ids", id, chID)
	}
	pmID, _ := pi["payment_method"].(string)
	if !strings.HasPrefix(pmID, "pm_") || pmID == "pm_card_visa" {
		t.Errorf("payment_method = %q, want a new pm_ id made from the magic one", pmID)
	}
	for name, want := range map[string]any{
		"object": "payment_intent", "status": "succeeded", "amount": float64(12500),
		"amount_received": float64(12500), "currency": "usd", "customer": cus,
		"created": float64(now.Unix()), "last_payment_error": nil, "next_action": nil,
		"automatic_payment_methods": nil, "capture_method": "automatic", "description": "INV-1001",
	} {
		if diff := cmp.Diff(want, pi[name]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if diff := cmp.Diff(map[string]any{"crm_invoice_id": "a01INV"}, pi["metadata"]); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	if secret, _ := pi["client_secret"].(string); !strings.HasPrefix(secret, id+"_secret_") {
		t.Errorf("client_secret = %q", secret)
	}

	// Events: created, then the charge, then the outcome, each naming the
	// request that caused it.
	events := s.Events()
	if diff := cmp.Diff([]string{"payment_intent.created", "charge.succeeded", "payment_intent.succeeded"}, eventTypes(s)); diff != "" {
		t.Fatalf("event types (-want +got):\n%s", diff)
	}
	for _, e := range events {
		m := decoded(t, e)
		if m["api_version"] != "2023-10-16" || m["object"] != "event" || m["livemode"] != false ||
			m["created"] != float64(now.Unix()) || field(m, "request", "id") != r.header.Get("Request-Id") ||
			field(m, "request", "idempotency_key") != "pay-1" {
			t.Errorf("event %s envelope: %v", e.Type, m)
		}
		if _, ok := m["account"]; ok {
			t.Errorf("event %s has account on the platform", e.Type)
		}
	}
	if got := object(t, events[0])["status"]; got != "requires_confirmation" {
		t.Errorf("payment_intent.created shows status %v, want the state at creation (requires_confirmation)", got)
	}
	if got := object(t, events[2])["status"]; got != "succeeded" {
		t.Errorf("payment_intent.succeeded shows status %v", got)
	}

	// Retrieve with the charge expanded; and the charge on its own.
	got := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents/"+id, url.Values{"expand[]": {"latest_charge"}}))
	ch, _ := got["latest_charge"].(map[string]any)
	wantCard := map[string]any{
		"brand": "visa", "last4": "4242", "exp_month": float64(12), "exp_year": float64(now.Year() + 2),
		"funding": "credit", "country": "US", "network": "visa", "moto": nil,
	}
	card, _ := field(ch, "payment_method_details", "card").(map[string]any)
	for k, want := range wantCard {
		if card[k] != want {
			t.Errorf("payment_method_details.card.%s = %v, want %v", k, card[k], want)
		}
	}
	for name, want := range map[string]any{
		"id": chID, "object": "charge", "status": "succeeded", "paid": true, "captured": true,
		"amount": float64(12500), "amount_captured": float64(12500), "amount_refunded": float64(0),
		"refunded": false, "disputed": false, "payment_intent": id, "customer": cus,
		"created": float64(now.Unix()), "failure_code": nil,
	} {
		if ch[name] != want {
			t.Errorf("charge.%s = %v, want %v", name, ch[name], want)
		}
	}
	if field(ch, "payment_method_details", "type") != "card" || field(ch, "metadata", "crm_invoice_id") != "a01INV" {
		t.Errorf("charge details %v metadata %v (the PaymentIntent's metadata is copied)", ch["payment_method_details"], ch["metadata"])
	}
	direct := mustOK(t, send(t, s, http.MethodGet, "/v1/charges/"+chID, nil))
	if diff := cmp.Diff(ch, direct); diff != "" {
		t.Errorf("GET /v1/charges/{id} differs from the expanded latest_charge (-expanded +direct):\n%s", diff)
	}
	if r := send(t, s, http.MethodGet, "/v1/charges/ch_missing", nil); r.status != 404 {
		t.Errorf("missing charge: %d", r.status)
	}
	if r := send(t, s, http.MethodGet, "/v1/payment_intents/"+id, url.Values{"expand[]": {"customer"}}); r.status != 400 || r.errField("code") != "emulator_unsupported" {
		t.Errorf("expand[]=customer: %d %v, want 400 emulator_unsupported", r.status, r.body)
	}
}

func TestPaymentIntentIdempotentReplay(t *testing.T) {
	s := NewServer(t, Options{})
	s.SetFaults(Faults{RateLostResponse: 1, WritesOnly: true})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL()+"/v1/payment_intents",
		strings.NewReader(cardPayment("pm_card_visa").Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Idempotency-Key", "pay-lost")
	if resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("got %d, want the answer lost", resp.StatusCode)
	}
	s.SetFaults(Faults{})
	r := send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa"), "Idempotency-Key", "pay-lost")
	pi := mustOK(t, r)
	if r.header.Get("Idempotent-Replayed") != "true" || len(s.PaymentIntents()) != 1 || len(s.Charges()) != 1 {
		t.Errorf("retry: replayed=%q, %d PaymentIntents, %d charges; want the saved answer and one payment",
			r.header.Get("Idempotent-Replayed"), len(s.PaymentIntents()), len(s.Charges()))
	}
	if pi["id"] != s.PaymentIntents()[0].ID {
		t.Errorf("replayed id %v, want %s", pi["id"], s.PaymentIntents()[0].ID)
	}
}

func TestCardDecline(t *testing.T) {
	tests := []struct {
		pm                      string
		code, declineCode, last string
		message                 string
	}{
		{"pm_card_visa_chargeDeclined", "card_declined", "generic_decline", "0002", "Your card was declined."},
		{"pm_card_chargeDeclined", "card_declined", "generic_decline", "0002", "Your card was declined."},
		{"pm_card_visa_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds", "9995", "Your card has insufficient funds."},
		{"pm_card_chargeDeclinedExpiredCard", "expired_card", "", "0069", "Your card has expired."},
		{"pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "", "0127", "Your card's security code is incorrect."},
	}
	for _, tt := range tests {
		t.Run(tt.pm, func(t *testing.T) {
			s := NewServer(t, Options{})
			r := send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment(tt.pm), "Idempotency-Key", "k1")
			if r.status != http.StatusPaymentRequired {
				t.Fatalf("status = %d, want 402; body %v", r.status, r.body)
			}
			e, _ := r.body["error"].(map[string]any)
			for name, want := range map[string]any{
				"type": "card_error", "code": tt.code, "message": tt.message,
				"doc_url": "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(tt.code, "_", "-"),
			} {
				if e[name] != want {
					t.Errorf("error.%s = %v, want %v", name, e[name], want)
				}
			}
			if got, _ := e["decline_code"].(string); got != tt.declineCode {
				t.Errorf("error.decline_code = %q, want %q", got, tt.declineCode)
			}
			chID, _ := e["charge"].(string)
			pi, _ := e["payment_intent"].(map[string]any)
			lpe, _ := pi["last_payment_error"].(map[string]any)
			if pi["status"] != "requires_payment_method" || pi["latest_charge"] != chID || pi["payment_method"] != nil ||
				lpe["code"] != tt.code || lpe["message"] != tt.message || lpe["charge"] != chID ||
				field(lpe, "payment_method", "card", "last4") != tt.last {
				t.Errorf("embedded payment_intent = %v", pi)
			}
			if field(e, "payment_method", "type") != "card" || field(e, "payment_method", "card", "last4") != tt.last {
				t.Errorf("error.payment_method = %v", e["payment_method"])
			}
			if u, _ := e["request_log_url"].(string); !strings.HasSuffix(u, r.header.Get("Request-Id")) {
				t.Errorf("request_log_url = %q", u)
			}

			// The PaymentIntent keeps the failure; the charge failed.
			id, _ := pi["id"].(string)
			got := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents/"+id, url.Values{"expand[]": {"latest_charge"}}))
			if field(got, "last_payment_error", "code") != tt.code || field(got, "latest_charge", "status") != "failed" ||
				field(got, "latest_charge", "failure_code") != tt.code || field(got, "latest_charge", "paid") != false {
				t.Errorf("after the decline: %v", got)
			}
			if diff := cmp.Diff([]string{"payment_intent.created", "charge.failed", "payment_intent.payment_failed"}, eventTypes(s)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}

			// The 402 ran, so it is saved under the key: a retry replays it.
			again := send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment(tt.pm), "Idempotency-Key", "k1")
			if again.status != 402 || again.header.Get("Idempotent-Replayed") != "true" || len(s.Charges()) != 1 {
				t.Errorf("retry: %d replayed=%q with %d charges, want the saved 402", again.status,
					again.header.Get("Idempotent-Replayed"), len(s.Charges()))
			}
		})
	}
}

func TestConfirmCancelAndStates(t *testing.T) {
	s := NewServer(t, Options{})
	pi := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", url.Values{
		"amount": {"5000"}, "currency": {"usd"}, "payment_method_types[0]": {"card"},
	}))
	id := pi["id"].(string)
	if pi["status"] != "requires_payment_method" || pi["latest_charge"] != nil {
		t.Fatalf("created without a method: %v", pi)
	}
	r := send(t, s, http.MethodPost, "/v1/payment_intents/"+id+"/confirm", nil)
	if r.status != 400 || r.errField("code") != "payment_intent_unexpected_state" {
		t.Errorf("confirm without a method: %d %v", r.status, r.body)
	}
	// A decline, then a retry on the same PaymentIntent with a good card.
	r = send(t, s, http.MethodPost, "/v1/payment_intents/"+id+"/confirm", url.Values{"payment_method": {"pm_card_chargeDeclined"}})
	if r.status != 402 {
		t.Fatalf("declined confirm: %d", r.status)
	}
	first := s.PaymentIntents()[0].LatestCharge
	done := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents/"+id+"/confirm", url.Values{"payment_method": {"pm_card_mastercard"}}))
	if done["status"] != "succeeded" || done["last_payment_error"] != nil || done["latest_charge"] == first {
		t.Errorf("second attempt: status %v last_payment_error %v latest_charge %v (first %s)",
			done["status"], done["last_payment_error"], done["latest_charge"], first)
	}
	if n := len(s.Charges()); n != 2 {
		t.Errorf("%d charges, want one per attempt", n)
	}
	r = send(t, s, http.MethodPost, "/v1/payment_intents/"+id+"/confirm", nil)
	if r.status != 400 || r.errField("code") != "payment_intent_unexpected_state" ||
		!strings.Contains(r.errField("message"), "status of succeeded") {
		t.Errorf("confirm a succeeded PaymentIntent: %d %v", r.status, r.body)
	}
	if r := send(t, s, http.MethodPost, "/v1/payment_intents/"+id+"/cancel", nil); r.status != 400 {
		t.Errorf("cancel a succeeded PaymentIntent: %d", r.status)
	}

	other := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", url.Values{
		"amount": {"5000"}, "currency": {"usd"}, "payment_method_types[]": {"card"},
	}))["id"].(string)
	c := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents/"+other+"/cancel", url.Values{"cancellation_reason": {"abandoned"}}))
	if c["status"] != "canceled" || c["cancellation_reason"] != "abandoned" || c["canceled_at"] == nil {
		t.Errorf("canceled: %v", c)
	}
	types := eventTypes(s)
	if types[len(types)-1] != "payment_intent.canceled" {
		t.Errorf("last event %s, want payment_intent.canceled", types[len(types)-1])
	}

	upd := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents/"+id, url.Values{
		"metadata[channel]": {"Phone"}, "description": {"paid by phone"},
	}))
	if field(upd, "metadata", "channel") != "Phone" || upd["description"] != "paid by phone" {
		t.Errorf("update: %v", upd)
	}
	if r := send(t, s, http.MethodPost, "/v1/payment_intents/"+id, url.Values{"amount": {"1"}}); r.errField("code") != "emulator_unsupported" {
		t.Errorf("update amount: %v", r.body)
	}
	if r := send(t, s, http.MethodGet, "/v1/payment_intents/pi_missing", nil); r.status != 404 || r.errField("message") != "No such payment_intent: 'pi_missing'" {
		t.Errorf("missing: %d %v", r.status, r.body)
	}
}

// Since 2023-08-16 a PaymentIntent without payment_method_types has
// automatic payment methods, and confirming it needs a return_url.
func TestAutomaticPaymentMethodsRule(t *testing.T) {
	s := NewServer(t, Options{})
	base := url.Values{"amount": {"5000"}, "currency": {"usd"}, "payment_method": {"pm_card_visa"}, "confirm": {"true"}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	r := send(t, s, http.MethodPost, "/v1/payment_intents", base)
	if r.status != 400 || r.errField("message") != msgReturnURLRequired {
		t.Errorf("no types, no return_url: %d %v", r.status, r.body)
	}
	if n := len(s.PaymentIntents()); n != 0 {
		t.Errorf("%d PaymentIntents made by the refused request", n)
	}
	for _, ok := range []url.Values{
		with("return_url", "https://example.com/back"),
		with("off_session", "true"),
		with("automatic_payment_methods[enabled]", "true", "automatic_payment_methods[allow_redirects]", "never"),
	} {
		pi := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", ok))
		if pi["status"] != "succeeded" || field(pi, "automatic_payment_methods", "enabled") != true {
			t.Errorf("%v: %v", ok, pi)
		}
	}
	r = send(t, s, http.MethodPost, "/v1/payment_intents", with("payment_method_types[]", "card", "automatic_payment_methods[enabled]", "true"))
	if r.status != 400 || !strings.Contains(r.errField("message"), "only specify one of these parameters") {
		t.Errorf("both: %d %v", r.status, r.body)
	}
}

func TestPaymentIntentValidation(t *testing.T) {
	s := NewServer(t, Options{DisableMOTO: true})
	cus := s.CreateCustomer(Customer{})
	gone := s.CreateCustomer(Customer{})
	s.DeleteCustomer(gone)
	tests := []struct {
		name      string
		params    url.Values
		wantCode  string
		wantParam string
	}{
		{"no amount", url.Values{"currency": {"usd"}}, "parameter_missing", "amount"},
		{"no currency", url.Values{"amount": {"100"}}, "parameter_missing", "currency"},
		{"below the minimum", url.Values{"amount": {"49"}, "currency": {"usd"}}, "amount_too_small", "amount"},
		{"above eight digits", url.Values{"amount": {"100000000"}, "currency": {"usd"}}, "amount_too_large", "amount"},
		{"unknown parameter", cardPayment("pm_card_visa", "colour", "red"), "parameter_unknown", "colour"},
		{"not emulated", cardPayment("pm_card_visa", "statement_descriptor", "X"), "emulator_unsupported", "statement_descriptor"},
		{"unknown customer", cardPayment("pm_card_visa", "customer", "cus_missing"), "resource_missing", "customer"},
		{"deleted customer", cardPayment("pm_card_visa", "customer", gone), "resource_missing", "customer"},
		{"unknown method", cardPayment("pm_1NotMade"), "resource_missing", "payment_method"},
		{"off_session without confirm", url.Values{"amount": {"100"}, "currency": {"usd"}, "off_session": {"true"}}, "", "off_session"},
		{"moto not enabled", cardPayment("pm_card_visa", "payment_method_options[card][moto]", "true"), "", "payment_method_options[card][moto]"},
		{"ACH outside USD", achPayment("pm_usBankAccount_success", "currency", "eur"), "", "currency"},
		{"ACH not allowed by types", cardPayment("pm_usBankAccount_success"), "", "payment_method"},
		{"bad setup_future_usage", cardPayment("pm_card_visa", "setup_future_usage", "sometimes"), "", "setup_future_usage"},
		{"bad mandate type", achPayment("pm_usBankAccount_success", "mandate_data[customer_acceptance][type]", "telepathy"), "", "mandate_data[customer_acceptance][type]"},
	}
	for _, tt := range tests {
		r := send(t, s, http.MethodPost, "/v1/payment_intents", tt.params)
		if r.status != 400 || r.errField("param") != tt.wantParam || r.errField("code") != tt.wantCode {
			t.Errorf("%s: %d %v, want 400 code %q on %s", tt.name, r.status, r.body, tt.wantCode, tt.wantParam)
		}
	}
	noMandate := achPayment("pm_usBankAccount_success", "customer", cus)
	for k := range noMandate {
		if strings.HasPrefix(k, "mandate_data") {
			noMandate.Del(k)
		}
	}
	if r := send(t, s, http.MethodPost, "/v1/payment_intents", noMandate); r.status != 400 || r.errField("param") != "mandate_data" {
		t.Errorf("ACH without a mandate: %d %v", r.status, r.body)
	}
	if n := len(s.PaymentIntents()); n != 0 {
		t.Errorf("%d PaymentIntents made by refused requests", n)
	}
}

func TestAuthenticationRequiredCard(t *testing.T) {
	s := NewServer(t, Options{})
	pi := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_authenticationRequired")))
	if pi["status"] != "requires_action" || field(pi, "next_action", "type") != "use_stripe_sdk" || pi["latest_charge"] != nil {
		t.Errorf("on session: %v", pi)
	}
	r := send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_authenticationRequired", "off_session", "true"))
	if r.status != 402 || r.errField("code") != "authentication_required" || r.errField("decline_code") != "authentication_required" {
		t.Errorf("off session: %d %v", r.status, r.body)
	}
	r = send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_authenticationRequired", "error_on_requires_action", "true"))
	if r.status != 402 || r.errField("code") != "authentication_required" || field(r.body, "error", "payment_intent", "status") != "requires_payment_method" {
		t.Errorf("error_on_requires_action: %d %v", r.status, r.body)
	}
	moto := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents",
		cardPayment("pm_card_authenticationRequired", "payment_method_options[card][moto]", "true")))
	if moto["status"] != "succeeded" {
		t.Errorf("MOTO is out of SCA scope: %v", moto)
	}
	ch := mustOK(t, send(t, s, http.MethodGet, "/v1/charges/"+moto["latest_charge"].(string), nil))
	if field(ch, "payment_method_details", "card", "moto") != true {
		t.Errorf("charge card details: %v", ch["payment_method_details"])
	}
	if diff := cmp.Diff([]string{
		"payment_intent.created", "payment_intent.requires_action",
		"payment_intent.created", "charge.failed", "payment_intent.payment_failed",
		"payment_intent.created", "charge.failed", "payment_intent.payment_failed",
		"payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
	}, eventTypes(s)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestSavedPaymentMethod(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{})
	other := s.CreateCustomer(Customer{})
	pi := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents",
		cardPayment("pm_card_visa", "customer", cus, "setup_future_usage", "off_session")))
	pm := pi["payment_method"].(string)
	again := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents",
		cardPayment(pm, "customer", cus, "off_session", "true")))
	if again["status"] != "succeeded" || again["payment_method"] != pm {
		t.Errorf("off-session payment with the saved method: %v", again)
	}
	r := send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment(pm, "customer", other))
	if r.status != 400 || !strings.Contains(r.errField("message"), "belongs to the Customer "+cus) {
		t.Errorf("someone else's method: %d %v", r.status, r.body)
	}
	other2 := send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment(pm), "Stripe-Account", "acct_1Other")
	if other2.status != 400 || other2.errField("code") != "resource_missing" {
		t.Errorf("method from another account: %d %v", other2.status, other2.body)
	}
}

func TestListPaymentIntents(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	s := NewServer(t, Options{Clock: func() time.Time { return clock }})
	cus := s.CreateCustomer(Customer{})
	var made []string // oldest first
	for i := range 5 {
		clock = clock.Add(time.Minute)
		extra := []string{}
		if i%2 == 0 {
			extra = []string{"customer", cus}
		}
		made = append(made, mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa", extra...)))["id"].(string))
	}
	mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa"), "Stripe-Account", "acct_1Other"))

	all := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents", nil))
	if diff := cmp.Diff([]string{made[4], made[3], made[2], made[1], made[0]}, ids(all)); diff != "" {
		t.Errorf("list, newest first, this account only (-want +got):\n%s", diff)
	}
	since := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents", url.Values{
		"created[gte]": {"1700000180"}, "limit": {"2"}, "expand[]": {"data.latest_charge"},
	}))
	if diff := cmp.Diff([]string{made[4], made[3]}, ids(since)); diff != "" || since["has_more"] != true {
		t.Errorf("created[gte] page has_more=%v (-want +got):\n%s", since["has_more"], diff)
	}
	if first := since["data"].([]any)[0].(map[string]any); field(first, "latest_charge", "object") != "charge" {
		t.Errorf("data.latest_charge not expanded: %v", first["latest_charge"])
	}
	back := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents", url.Values{
		"created[gte]": {"1700000180"}, "ending_before": {made[2]},
	}))
	if diff := cmp.Diff([]string{made[4], made[3]}, ids(back)); diff != "" || back["has_more"] != false {
		t.Errorf("ending_before has_more=%v (-want +got):\n%s", back["has_more"], diff)
	}
	byCustomer := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents", url.Values{"customer": {cus}}))
	if diff := cmp.Diff([]string{made[4], made[2], made[0]}, ids(byCustomer)); diff != "" {
		t.Errorf("customer filter (-want +got):\n%s", diff)
	}
	if r := send(t, s, http.MethodGet, "/v1/payment_intents", url.Values{"expand[]": {"latest_charge"}}); r.status != 400 {
		t.Errorf("expand[]=latest_charge on a list (should be data.latest_charge): %d", r.status)
	}
}
