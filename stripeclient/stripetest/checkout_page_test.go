package stripetest

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCheckoutPageCard(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{Email: "jane@example.com"})
	sess := newSession(t, s, "customer", cus,
		"payment_intent_data[metadata][crm_invoice_id]", "a01INV",
		"payment_intent_data[setup_future_usage]", "off_session",
		"metadata[session_only]", "yes")
	id := sess["id"].(string)
	if sess["payment_intent"] != nil || sess["status"] != "open" || !strings.HasPrefix(sess["url"].(string), s.URL()+"/checkout/pay/"+id) {
		t.Fatalf("new session: %v", sess)
	}

	form := browse(t, http.MethodGet, sess["url"].(string), nil)
	form.mustContain(t, `id="cardNumber"`, `for="cardNumber"`, `id="cardExpiry"`, `id="cardCvc"`, `id="billingName"`,
		`id="email"`, `value="jane@example.com"`, `name="method" value="card"`, `name="method" value="us_bank_account"`,
		`id="submit"`, `id="accountHolderName"`, `id="bankInstant"`, `id="bankManual"`, `id="routingNumber"`,
		`id="accountNumber"`, "$125.00", "Invoice INV-1001", `id="cancel" href="https://crm.example/invoice/INV-1001"`)

	got := browse(t, http.MethodPost, sess["url"].(string), cardForm("4242 4242 4242 4242"))
	if got.status != http.StatusSeeOther || got.location != "https://crm.example/paid?session_id="+id {
		t.Fatalf("pay: status %d location %q\n%s", got.status, got.location, got.body)
	}
	if diff := cmp.Diff([]string{
		"payment_method.attached", "payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
		"checkout.session.completed",
	}, eventTypes(s)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	done := mustOK(t, send(t, s, http.MethodGet, "/v1/checkout/sessions/"+id, nil))
	piID, _ := done["payment_intent"].(string)
	if done["status"] != "complete" || done["payment_status"] != "paid" || done["url"] != nil || piID == "" ||
		field(done, "customer_details", "email") != "jane@example.com" {
		t.Errorf("completed session: %v", done)
	}
	pi := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents/"+piID, nil))
	if diff := cmp.Diff(map[string]any{"crm_invoice_id": "a01INV"}, pi["metadata"]); diff != "" {
		t.Errorf("PaymentIntent metadata is payment_intent_data[metadata] only (-want +got):\n%s", diff)
	}
	pm := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_methods/"+pi["payment_method"].(string), nil))
	if pm["customer"] != cus || field(pm, "card", "last4") != "4242" || field(pm, "card", "exp_month") != float64(12) ||
		field(pm, "card", "exp_year") != float64(2034) || field(pm, "billing_details", "name") != "Jane Doe" {
		t.Errorf("saved method: %v", pm)
	}
	// The page of a complete session says so; paying again is not possible.
	browse(t, http.MethodGet, sess["url"].(string), nil).mustContain(t, "complete")
}

func TestCheckoutPageDeclineThenPay(t *testing.T) {
	s := NewServer(t, Options{})
	sess := newSession(t, s)
	u := sess["url"].(string)
	// In this order: the PaymentIntent keeps the last decline's reason,
	// which the check below reads (a map's order would make it flaky).
	for _, c := range []struct{ number, msg string }{
		{"4000000000000002", "Your card was declined."},
		{"4242424242424241", "Your card number is invalid."},
		{"4111111111111111", "non test card"},
		{"4000000000009995", "Your card has insufficient funds."},
	} {
		number, msg := c.number, c.msg
		got := browse(t, http.MethodPost, u, cardForm(number))
		if got.status != http.StatusOK {
			t.Fatalf("%s: status %d", number, got.status)
		}
		got.mustContain(t, `id="error"`, msg, `value="`+number+`"`)
	}
	bad := cardForm("4242424242424242")
	bad.Set("cardExpiry", "01 / 20")
	browse(t, http.MethodPost, u, bad).mustContain(t, "expiration date is in the past")

	// The declines made one PaymentIntent; the session is still open.
	pis := s.PaymentIntents()
	if len(pis) != 1 || pis[0].Status != "requires_payment_method" || pis[0].LastPaymentError.DeclineCode != "insufficient_funds" {
		t.Fatalf("after declines: %+v", pis)
	}
	open := mustOK(t, send(t, s, http.MethodGet, "/v1/checkout/sessions/"+sess["id"].(string), nil))
	if open["status"] != "open" || open["payment_intent"] != pis[0].ID {
		t.Errorf("session after declines: %v", open)
	}
	if got := browse(t, http.MethodPost, u, cardForm("4242424242424242")); got.status != http.StatusSeeOther {
		t.Fatalf("retry: %d %s", got.status, got.body)
	}
	if pis := s.PaymentIntents(); len(pis) != 1 || pis[0].Status != "succeeded" {
		t.Errorf("the retry pays the same PaymentIntent: %+v", pis)
	}
}

func TestCheckoutPage3DSecure(t *testing.T) {
	for _, number := range []string{"4000002760003184", "4000000000003220"} {
		t.Run(number, func(t *testing.T) {
			s := NewServer(t, Options{})
			sess := newSession(t, s)
			got := browse(t, http.MethodPost, sess["url"].(string), cardForm(number))
			if got.status != http.StatusSeeOther || !strings.HasSuffix(got.location, "/authenticate") {
				t.Fatalf("3DS card: %d %q", got.status, got.location)
			}
			auth := browse(t, http.MethodGet, abs(s, got.location), nil)
			auth.mustContain(t, `id="authComplete"`, `id="authFail"`, "Complete authentication", "Fail authentication")

			failed := browse(t, http.MethodPost, abs(s, got.location), map[string][]string{"action": {"fail"}})
			failed.mustContain(t, "We are unable to authenticate your payment method.", `id="cardNumber"`)
			if pi := s.PaymentIntents()[0]; pi.Status != "requires_payment_method" || pi.LastPaymentError.Code != "payment_intent_authentication_failure" {
				t.Errorf("after a failed authentication: %+v", pi)
			}

			again := browse(t, http.MethodPost, sess["url"].(string), cardForm(number))
			done := browse(t, http.MethodPost, abs(s, again.location), map[string][]string{"action": {"complete"}})
			if done.status != http.StatusSeeOther || !strings.HasPrefix(done.location, "https://crm.example/paid") {
				t.Fatalf("completed authentication: %d %q", done.status, done.location)
			}
			if pi := s.PaymentIntents()[0]; pi.Status != "succeeded" {
				t.Errorf("after authentication: %s", pi.Status)
			}
		})
	}
}

func TestCheckoutPageBankInstant(t *testing.T) {
	s := NewServer(t, Options{})
	sess := newSession(t, s)
	got := browse(t, http.MethodPost, sess["url"].(string), bankForm(""))
	if got.status != http.StatusSeeOther {
		t.Fatalf("instant bank: %d %s", got.status, got.body)
	}
	done := mustOK(t, send(t, s, http.MethodGet, "/v1/checkout/sessions/"+sess["id"].(string), nil))
	if done["status"] != "complete" || done["payment_status"] != "unpaid" {
		t.Errorf("ACH session: %v", done)
	}
	pi := s.PaymentIntents()[0]
	if pi.Status != "processing" {
		t.Fatalf("ACH PaymentIntent %s", pi.Status)
	}
	if err := s.SettleACH(pi.ID); err != nil {
		t.Fatal(err)
	}
	types := eventTypes(s)
	if last := types[len(types)-1]; last != "checkout.session.async_payment_succeeded" {
		t.Errorf("last event %s", last)
	}
}

func TestCheckoutPageMicrodeposits(t *testing.T) {
	s := NewServer(t, Options{})
	sess := newSession(t, s)
	if got := browse(t, http.MethodPost, sess["url"].(string), bankForm("000222222227")); got.status != http.StatusSeeOther {
		t.Fatalf("manual bank: %d %s", got.status, got.body)
	}
	done := mustOK(t, send(t, s, http.MethodGet, "/v1/checkout/sessions/"+sess["id"].(string), nil))
	if done["status"] != "complete" || done["payment_status"] != "unpaid" {
		t.Errorf("session: %v", done)
	}
	pi := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_intents/"+done["payment_intent"].(string), nil))
	verifyURL, _ := field(pi, "next_action", "verify_with_microdeposits", "hosted_verification_url").(string)
	if pi["status"] != "requires_action" || field(pi, "next_action", "type") != "verify_with_microdeposits" ||
		!strings.HasPrefix(verifyURL, s.URL()+"/microdeposit/pacs_test_") {
		t.Fatalf("PaymentIntent: %v", pi)
	}
	browse(t, http.MethodGet, verifyURL, nil).mustContain(t, `id="amount1"`, `id="amount2"`, `id="descriptorCode"`, `id="verify"`, "2227")
	browse(t, http.MethodPost, verifyURL, map[string][]string{"amount1": {"12"}, "amount2": {"34"}}).
		mustContain(t, `id="error"`, "do not match", "9 verification attempts remaining")
	browse(t, http.MethodPost, verifyURL, map[string][]string{"amount1": {"32"}, "amount2": {"45"}}).mustContain(t, "verified")

	id := pi["id"].(string)
	if got := s.PaymentIntents()[0]; got.Status != "processing" {
		t.Fatalf("after verification: %s", got.Status)
	}
	if err := s.SettleACH(id); err != nil {
		t.Fatal(err)
	}
	types := eventTypes(s)
	if diff := cmp.Diff([]string{"charge.failed", "payment_intent.payment_failed", "checkout.session.async_payment_failed"}, types[len(types)-3:]); diff != "" {
		t.Errorf("the insufficient-funds account fails at settlement (-want +got):\n%s", diff)
	}
}

func TestCheckoutPageMicrodepositsExceeded(t *testing.T) {
	s := NewServer(t, Options{})
	sess := newSession(t, s, "payment_method_options[us_bank_account][verification_method]", "microdeposits")
	p := browse(t, http.MethodGet, sess["url"].(string), nil)
	if strings.Contains(p.body, `id="bankInstant"`) {
		t.Error("verification_method=microdeposits offers instant verification")
	}
	browse(t, http.MethodPost, sess["url"].(string), bankForm("000123456789"))
	pi := s.PaymentIntents()[0]
	r := send(t, s, http.MethodPost, "/v1/payment_intents/"+pi.ID+"/verify_microdeposits", map[string][]string{"descriptor_code": {"SM33CC"}})
	if r.status != http.StatusBadRequest || r.errField("code") != "payment_method_microdeposit_verification_attempts_exceeded" {
		t.Errorf("SM33CC: %d %v", r.status, r.body)
	}
	if got := s.PaymentIntents()[0]; got.Status != "requires_payment_method" {
		t.Errorf("after attempts exceeded: %s", got.Status)
	}
}

func TestCheckoutPageSetupMode(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{})
	sess := mustOK(t, send(t, s, http.MethodPost, "/v1/checkout/sessions", map[string][]string{
		"mode": {"setup"}, "customer": {cus}, "currency": {"usd"}, "success_url": {"https://crm.example/saved"},
		"payment_method_types[]": {"card", "us_bank_account"}, "setup_intent_data[metadata][k]": {"v"},
	}))
	if sess["setup_intent"] != nil || sess["amount_total"] != nil || sess["payment_status"] != "no_payment_required" {
		t.Errorf("new setup session: %v", sess)
	}
	browse(t, http.MethodGet, sess["url"].(string), nil).mustContain(t, `id="submit">Save`)
	got := browse(t, http.MethodPost, sess["url"].(string), cardForm("4242424242424242"))
	if got.status != http.StatusSeeOther || got.location != "https://crm.example/saved" {
		t.Fatalf("save: %d %q %s", got.status, got.location, got.body)
	}
	if diff := cmp.Diff([]string{"setup_intent.created", "setup_intent.succeeded", "payment_method.attached", "checkout.session.completed"}, eventTypes(s)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	done := mustOK(t, send(t, s, http.MethodGet, "/v1/checkout/sessions/"+sess["id"].(string), nil))
	si := mustOK(t, send(t, s, http.MethodGet, "/v1/setup_intents/"+done["setup_intent"].(string), nil))
	if si["status"] != "succeeded" || si["customer"] != cus || field(si, "metadata", "k") != "v" {
		t.Errorf("SetupIntent: %v", si)
	}
	list := mustOK(t, send(t, s, http.MethodGet, "/v1/customers/"+cus+"/payment_methods", nil))
	if got := ids(list); len(got) != 1 || got[0] != si["payment_method"] {
		t.Errorf("customer's methods %v, want the SetupIntent's", got)
	}
}

func TestCheckoutPageExpired(t *testing.T) {
	clock := newTestClock()
	s := NewServer(t, Options{Clock: clock.Now})
	sess := newSession(t, s, "expires_at", itoa64(clock.Now().Add(time.Hour).Unix()))
	clock.Advance(2 * time.Hour)
	browse(t, http.MethodGet, sess["url"].(string), nil).mustContain(t, "expired")
	got := mustOK(t, send(t, s, http.MethodGet, "/v1/checkout/sessions/"+sess["id"].(string), nil))
	if got["status"] != "expired" || got["url"] != nil {
		t.Errorf("expired session: %v", got)
	}
	if n := countType(s, "checkout.session.expired"); n != 1 {
		t.Errorf("checkout.session.expired %d times, want once", n)
	}
}

func TestCheckoutPageConcurrent(t *testing.T) {
	s := NewServer(t, Options{})
	same := newSession(t, s)
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half pay a session of their own, half race for one session.
			u := same["url"].(string)
			if i%2 == 0 {
				u = newSession(t, s)["url"].(string)
			}
			statuses[i] = browse(t, http.MethodPost, u, cardForm("4242424242424242")).status
		}()
	}
	wg.Wait()
	if n := countType(s, "checkout.session.completed"); n != 5 {
		t.Errorf("checkout.session.completed %d times, want 5 (4 own sessions, the shared one once); statuses %v", n, statuses)
	}
	if n := countType(s, "payment_intent.succeeded"); n != 5 {
		t.Errorf("payment_intent.succeeded %d times, want 5", n)
	}
}
