package stripetest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestBillingPortal(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{})
	pm := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods/pm_card_visa/attach", url.Values{"customer": {cus}}))["id"].(string)
	mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods/pm_usBankAccount_success/attach", url.Values{"customer": {cus}}))
	mustOK(t, send(t, s, http.MethodPost, "/v1/customers/"+cus, url.Values{"invoice_settings[default_payment_method]": {pm}}))

	ps := mustOK(t, send(t, s, http.MethodPost, "/v1/billing_portal/sessions", url.Values{"customer": {cus}, "return_url": {"https://crm.example/account"}}))
	if !strings.HasPrefix(ps["id"].(string), "bps_") || ps["object"] != "billing_portal.session" || ps["customer"] != cus ||
		ps["return_url"] != "https://crm.example/account" || !strings.HasPrefix(ps["configuration"].(string), "bpc_") ||
		ps["livemode"] != false || ps["flow"] != nil {
		t.Errorf("portal session: %v", ps)
	}
	u, _ := ps["url"].(string)
	if !strings.HasPrefix(u, s.URL()+"/billing/p/session/test_") {
		t.Fatalf("url %q", u)
	}
	p := browse(t, http.MethodGet, u, nil)
	p.mustContain(t, `id="paymentMethods"`, `data-id="`+pm+`" class="default"`, "Visa •••• 4242", "STRIPE TEST BANK •••• 6789",
		`id="returnLink" href="https://crm.example/account"`)

	if r := send(t, s, http.MethodPost, "/v1/billing_portal/sessions", url.Values{"customer": {"cus_missing"}}); r.status != http.StatusBadRequest || r.errField("code") != "resource_missing" {
		t.Errorf("unknown customer: %d %v", r.status, r.body)
	}
	if r := send(t, s, http.MethodPost, "/v1/billing_portal/sessions", nil); r.errField("code") != "parameter_missing" {
		t.Errorf("no customer: %v", r.body)
	}
	if r := browse(t, http.MethodGet, s.URL()+"/billing/p/session/test_missing", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown portal page: %d", r.status)
	}
}
