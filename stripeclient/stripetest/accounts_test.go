package stripetest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestConnectedAccountRetrieve(t *testing.T) {
	now := time.Date(2024, 4, 9, 12, 0, 0, 0, time.UTC)
	s := NewServer(t, Options{Clock: func() time.Time { return now }})
	ready, err := s.AddConnectedAccount(ConnectedAccount{
		ChargesEnabled: true, PayoutsEnabled: true, DetailsSubmitted: true,
		BusinessName: "Acme Books", Email: "owner@acme.example",
	})
	if err != nil {
		t.Fatal(err)
	}
	onboarding, err := s.AddConnectedAccount(ConnectedAccount{ID: "acct_1Onboarding", Country: "CA", DefaultCurrency: "cad"})
	if err != nil || onboarding != "acct_1Onboarding" {
		t.Fatalf("AddConnectedAccount with an id = %q, %v", onboarding, err)
	}
	if !strings.HasPrefix(ready, "acct_") {
		t.Errorf("id %q", ready)
	}

	a := mustOK(t, send(t, s, http.MethodGet, "/v1/accounts/"+ready, nil))
	for name, want := range map[string]any{
		"id": ready, "object": "account", "type": "standard", "charges_enabled": true, "payouts_enabled": true,
		"details_submitted": true, "country": "US", "default_currency": "usd", "email": "owner@acme.example",
		"created": float64(now.Unix()),
	} {
		if a[name] != want {
			t.Errorf("account.%s = %v, want %v", name, a[name], want)
		}
	}
	if field(a, "business_profile", "name") != "Acme Books" || field(a, "capabilities", "card_payments") != "active" ||
		field(a, "requirements", "disabled_reason") != nil {
		t.Errorf("account %v", a)
	}
	b := mustOK(t, send(t, s, http.MethodGet, "/v1/accounts/"+onboarding, nil))
	if b["charges_enabled"] != false || b["payouts_enabled"] != false || b["details_submitted"] != false ||
		b["country"] != "CA" || b["default_currency"] != "cad" || field(b, "capabilities", "card_payments") != "inactive" ||
		field(b, "requirements", "disabled_reason") != "requirements.past_due" {
		t.Errorf("account still onboarding: %v", b)
	}

	// An account the platform has no access to is a 403, not a 404.
	r := send(t, s, http.MethodGet, "/v1/accounts/acct_1Stranger", nil)
	if r.status != http.StatusForbidden || r.errField("type") != "invalid_request_error" ||
		r.errField("message") != "The provided key 'sk_test_****p7dc' does not have access to account 'acct_1Stranger' (or that account does not exist). Application access may have been revoked." {
		t.Errorf("unknown account: %d %v", r.status, r.body)
	}
	// A connected account sees itself, and no other.
	if got := mustOK(t, send(t, s, http.MethodGet, "/v1/accounts/"+ready, nil, "Stripe-Account", ready)); got["id"] != ready {
		t.Errorf("the account as itself: %v", got)
	}
	if r := send(t, s, http.MethodGet, "/v1/accounts/"+onboarding, nil, "Stripe-Account", ready); r.status != http.StatusForbidden {
		t.Errorf("another account as a connected one: %d %v", r.status, r.body)
	}
	// GET /v1/account is the account the request acts for.
	if got := mustOK(t, send(t, s, http.MethodGet, "/v1/account", nil, "Stripe-Account", ready)); got["id"] != ready {
		t.Errorf("GET /v1/account with Stripe-Account: %v", got)
	}
	platform := mustOK(t, send(t, s, http.MethodGet, "/v1/account", nil))
	if platform["id"] != platformAccountID || platform["charges_enabled"] != true {
		t.Errorf("GET /v1/account: %v", platform)
	}
	if got := mustOK(t, send(t, s, http.MethodGet, "/v1/accounts/"+platformAccountID, nil)); got["id"] != platformAccountID {
		t.Errorf("the platform by id: %v", got)
	}

	if _, err := s.AddConnectedAccount(ConnectedAccount{ID: ready}); err == nil {
		t.Error("the same account twice was accepted")
	}
	if _, err := s.AddConnectedAccount(ConnectedAccount{ID: "cus_123"}); err == nil {
		t.Error("a malformed account id was accepted")
	}
}

func TestAccountsOpenUntilRegistered(t *testing.T) {
	s := NewServer(t, Options{})
	// No account registered: any well-formed one exists, fully enabled.
	mustOK(t, send(t, s, http.MethodGet, "/v1/customers", nil, "Stripe-Account", "acct_1Anyone"))
	if a := mustOK(t, send(t, s, http.MethodGet, "/v1/accounts/acct_1Anyone", nil)); a["charges_enabled"] != true {
		t.Errorf("an account of the open registry: %v", a)
	}
	if _, err := s.Pay(PayParams{Amount: 5000, Currency: "usd", Account: "acct_1Anyone"}); err != nil {
		t.Errorf("Pay on an account of the open registry: %v", err)
	}
	if _, err := s.AddConnectedAccount(ConnectedAccount{ID: "acct_1Known", ChargesEnabled: true}); err != nil {
		t.Fatal(err)
	}
	// From now on only registered accounts exist.
	if r := send(t, s, http.MethodGet, "/v1/customers", nil, "Stripe-Account", "acct_1Anyone"); r.status != http.StatusForbidden {
		t.Errorf("an unregistered account after the first registration: %d", r.status)
	}
	mustOK(t, send(t, s, http.MethodGet, "/v1/customers", nil, "Stripe-Account", "acct_1Known"))
}

func TestUnknownStripeAccountRefused(t *testing.T) {
	s := NewServer(t, Options{})
	if _, err := s.AddConnectedAccount(ConnectedAccount{ID: "acct_1Known", ChargesEnabled: true}); err != nil {
		t.Fatal(err)
	}
	cus := s.CreateCustomer(Customer{})
	requests := []struct {
		method, path string
		params       url.Values
	}{
		{http.MethodGet, "/v1/customers", nil},
		{http.MethodPost, "/v1/customers", url.Values{"name": {"Nobody"}}},
		{http.MethodGet, "/v1/customers/search", url.Values{"query": {"name:'Nobody'"}}},
		{http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa")},
		{http.MethodPost, "/v1/payment_methods/pm_card_visa/attach", url.Values{"customer": {cus}}},
		{http.MethodPost, "/v1/setup_intents", url.Values{"payment_method_types[]": {"card"}}},
		{http.MethodPost, "/v1/refunds", url.Values{"payment_intent": {"pi_123"}}},
		{http.MethodPost, "/v1/checkout/sessions", sessionForm()},
		{http.MethodPost, "/v1/billing_portal/sessions", url.Values{"customer": {cus}}},
		{http.MethodGet, "/v1/events", nil},
		{http.MethodGet, "/v1/charges/ch_123", nil},
		{http.MethodGet, "/v1/account", nil},
	}
	for _, acct := range []string{"acct_1Nobody", "bogus"} {
		for _, req := range requests {
			r := send(t, s, req.method, req.path, req.params, "Stripe-Account", acct, "Idempotency-Key", "k-"+req.path)
			if r.status != http.StatusForbidden || r.errField("type") != "invalid_request_error" || r.errField("code") != "account_invalid" ||
				r.errField("doc_url") != "https://stripe.com/docs/error-codes/account-invalid" ||
				!strings.Contains(r.errField("message"), "does not have access to account '"+acct+"' (or that account does not exist)") {
				t.Errorf("%s %s with Stripe-Account %s: %d %v", req.method, req.path, acct, r.status, r.body)
			}
		}
	}
	if len(s.Customers()) != 1 || len(s.PaymentIntents()) != 0 || len(s.Events()) != 0 {
		t.Errorf("a refused request changed something: %d customers, %d payment intents, %d events",
			len(s.Customers()), len(s.PaymentIntents()), len(s.Events()))
	}
	// Nothing was saved under the keys: once the account exists, the same
	// key runs the request.
	if _, err := s.AddConnectedAccount(ConnectedAccount{ID: "acct_1Nobody"}); err != nil {
		t.Fatal(err)
	}
	r := send(t, s, http.MethodPost, "/v1/customers", url.Values{"name": {"Nobody"}},
		"Stripe-Account", "acct_1Nobody", "Idempotency-Key", "k-/v1/customers")
	if r.status != http.StatusOK || r.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("after registering: %d replayed=%q", r.status, r.header.Get("Idempotent-Replayed"))
	}

	if _, err := s.Pay(PayParams{Amount: 5000, Currency: "usd", Account: "acct_1Stranger"}); err == nil {
		t.Error("Pay on an unknown account succeeded")
	}
	if _, _, err := s.CompleteCheckout(CheckoutParams{Amount: 5000, Currency: "usd", Account: "acct_1Stranger"}); err == nil {
		t.Error("CompleteCheckout on an unknown account succeeded")
	}
}

// connectObjects are one of each kind of object, all made on one
// connected account.
type connectObjects struct {
	customer, method, intent, charge, refund, setup, session, event string
}

func makeConnectObjects(t *testing.T, s *Server, acct string) connectObjects {
	t.Helper()
	on := func(method, path string, params url.Values) map[string]any {
		t.Helper()
		return mustOK(t, send(t, s, method, path, params, "Stripe-Account", acct))
	}
	var o connectObjects
	o.customer = on(http.MethodPost, "/v1/customers", url.Values{"name": {"Connected Customer"}})["id"].(string)
	o.method = on(http.MethodPost, "/v1/payment_methods/pm_card_visa/attach", url.Values{"customer": {o.customer}})["id"].(string)
	pi := on(http.MethodPost, "/v1/payment_intents", cardPayment(o.method, "customer", o.customer))
	o.intent, o.charge = pi["id"].(string), pi["latest_charge"].(string)
	o.refund = on(http.MethodPost, "/v1/refunds", url.Values{"payment_intent": {o.intent}, "amount": {"100"}})["id"].(string)
	o.setup = on(http.MethodPost, "/v1/setup_intents", url.Values{"customer": {o.customer}, "payment_method_types[]": {"card"}})["id"].(string)
	o.session = on(http.MethodPost, "/v1/checkout/sessions", sessionForm("customer", o.customer))["id"].(string)
	on(http.MethodPost, "/v1/billing_portal/sessions", url.Values{"customer": {o.customer}})
	events := on(http.MethodGet, "/v1/events", url.Values{"limit": {"100"}})
	o.event = ids(events)[0]
	for _, e := range events["data"].([]any) {
		if a := e.(map[string]any)["account"]; a != acct {
			t.Errorf("event %v of %s has account %v", e.(map[string]any)["type"], acct, a)
		}
	}
	return o
}

func TestConnectScopingOfEveryResource(t *testing.T) {
	s := NewServer(t, Options{})
	for _, id := range []string{"acct_1Alpha", "acct_1Beta"} {
		if _, err := s.AddConnectedAccount(ConnectedAccount{ID: id, ChargesEnabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	o := makeConnectObjects(t, s, "acct_1Alpha")
	// The platform and the other account have objects of their own, with
	// the same data.
	mustOK(t, send(t, s, http.MethodPost, "/v1/customers", url.Values{"name": {"Connected Customer"}}))
	mustOK(t, send(t, s, http.MethodPost, "/v1/customers", url.Values{"name": {"Connected Customer"}}, "Stripe-Account", "acct_1Beta"))

	missing := []struct{ method, path string }{
		{http.MethodGet, "/v1/customers/" + o.customer},
		{http.MethodPost, "/v1/customers/" + o.customer},
		{http.MethodDelete, "/v1/customers/" + o.customer},
		{http.MethodGet, "/v1/customers/" + o.customer + "/payment_methods"},
		{http.MethodGet, "/v1/payment_methods/" + o.method},
		{http.MethodPost, "/v1/payment_methods/" + o.method + "/detach"},
		{http.MethodGet, "/v1/payment_intents/" + o.intent},
		{http.MethodPost, "/v1/payment_intents/" + o.intent},
		{http.MethodPost, "/v1/payment_intents/" + o.intent + "/confirm"},
		{http.MethodPost, "/v1/payment_intents/" + o.intent + "/cancel"},
		{http.MethodGet, "/v1/charges/" + o.charge},
		{http.MethodGet, "/v1/refunds/" + o.refund},
		{http.MethodGet, "/v1/setup_intents/" + o.setup},
		{http.MethodPost, "/v1/setup_intents/" + o.setup + "/cancel"},
		{http.MethodGet, "/v1/checkout/sessions/" + o.session},
		{http.MethodPost, "/v1/checkout/sessions/" + o.session + "/expire"},
		{http.MethodGet, "/v1/events/" + o.event},
	}
	// Parameters that name another account's object: 400 resource_missing
	// with the parameter.
	badParams := []struct {
		path   string
		params url.Values
		param  string
	}{
		{"/v1/payment_intents", cardPayment("pm_card_visa", "customer", o.customer), "customer"},
		{"/v1/payment_intents", cardPayment(o.method), "payment_method"},
		{"/v1/refunds", url.Values{"payment_intent": {o.intent}}, "payment_intent"},
		{"/v1/refunds", url.Values{"charge": {o.charge}}, "charge"},
		{"/v1/setup_intents", url.Values{"customer": {o.customer}, "payment_method_types[]": {"card"}}, "customer"},
		{"/v1/checkout/sessions", sessionForm("customer", o.customer), "customer"},
		{"/v1/billing_portal/sessions", url.Values{"customer": {o.customer}}, "customer"},
		{"/v1/payment_methods/pm_card_visa/attach", url.Values{"customer": {o.customer}}, "customer"},
	}
	lists := []struct {
		path   string
		params url.Values
	}{
		{"/v1/customers", nil},
		{"/v1/customers/search", url.Values{"query": {"name:'Connected Customer'"}}},
		{"/v1/payment_intents", nil},
		{"/v1/payment_methods", url.Values{"customer": {o.customer}}},
		{"/v1/checkout/sessions", nil},
		{"/v1/events", url.Values{"limit": {"100"}}},
	}
	mine := []string{o.customer, o.method, o.intent, o.charge, o.refund, o.setup, o.session, o.event}
	for _, viewer := range []string{"", "acct_1Beta"} {
		name := cmpOr(viewer, "the platform")
		for _, m := range missing {
			r := send(t, s, m.method, m.path, nil, "Stripe-Account", viewer)
			if r.status != http.StatusNotFound || r.errField("code") != "resource_missing" || r.errField("param") != "id" {
				t.Errorf("%s %s from %s: %d %v, want 404 resource_missing", m.method, m.path, name, r.status, r.body)
			}
		}
		for _, b := range badParams {
			r := send(t, s, http.MethodPost, b.path, b.params, "Stripe-Account", viewer)
			if r.status != http.StatusBadRequest || r.errField("code") != "resource_missing" || r.errField("param") != b.param {
				t.Errorf("POST %s with another account's %s from %s: %d %v", b.path, b.param, name, r.status, r.body)
			}
		}
		for _, l := range lists {
			r := send(t, s, http.MethodGet, l.path, l.params, "Stripe-Account", viewer)
			if l.path == "/v1/payment_methods" {
				// The customer itself is missing there.
				if r.status != http.StatusBadRequest || r.errField("code") != "resource_missing" {
					t.Errorf("GET %s from %s: %d %v", l.path, name, r.status, r.body)
				}
				continue
			}
			got := ids(mustOK(t, r))
			for _, id := range got {
				if slices.Contains(mine, id) {
					t.Errorf("GET %s from %s lists %s of acct_1Alpha", l.path, name, id)
				}
			}
			if l.path == "/v1/customers" || l.path == "/v1/customers/search" {
				if len(got) != 1 {
					t.Errorf("GET %s from %s: %v, want its own customer only", l.path, name, got)
				}
			}
		}
	}
	// The account itself sees all of them.
	for _, m := range missing {
		if m.method != http.MethodGet {
			continue
		}
		if r := send(t, s, m.method, m.path, nil, "Stripe-Account", "acct_1Alpha"); r.status != http.StatusOK {
			t.Errorf("%s %s from acct_1Alpha: %d %v", m.method, m.path, r.status, r.body)
		}
	}
	platformEvents := ids(mustOK(t, send(t, s, http.MethodGet, "/v1/events", url.Values{"limit": {"100"}})))
	if len(platformEvents) != 1 {
		t.Errorf("platform events %v, want its customer.created only", platformEvents)
	}
}
