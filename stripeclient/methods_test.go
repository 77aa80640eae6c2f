package stripeclient

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
)

func TestSavedMethods(t *testing.T) {
	f := newFakeStripe(t)
	f.on(http.MethodGet, "/v1/customers/cus_PaYer0001", ok("customer_with_default.json"))
	f.on(http.MethodGet, "/v1/customers/cus_PaYer0001/payment_methods",
		ok("payment_methods_page1.json"), ok("payment_methods_page2.json"))
	c := f.client(Config{Account: "acct_1Connected"})

	got, err := c.SavedMethods(t.Context(), "cus_PaYer0001")
	if err != nil {
		t.Fatal(err)
	}
	want := []stripesync.SavedMethod{
		{ID: "pm_1OxCard0000000002", CustomerID: "cus_PaYer0001", Type: "card", Brand: "amex", Last4: "0005", ExpMonth: 3, ExpYear: 2031},
		{ID: "pm_1OxCard0000000001", CustomerID: "cus_PaYer0001", Type: "card", Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2028},
		{ID: "pm_1OxBank0000000001", CustomerID: "cus_PaYer0001", Type: "us_bank_account", Last4: "6789", BankName: "STRIPE TEST BANK", Default: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("methods (-want +got):\n%s", diff)
	}
	if l := got[2].Label(); l != "STRIPE TEST BANK •••• 6789" {
		t.Errorf("bank label = %q", l)
	}

	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want the customer and two pages", len(reqs))
	}
	first, second := reqs[1].Form, reqs[2].Form
	if first.Get("limit") != "100" || first.Has("starting_after") || first.Has("type") {
		t.Errorf("first page query %v, want limit=100, no cursor, every type", first)
	}
	if got := second.Get("starting_after"); got != "pm_1OxSepa0000000001" {
		t.Errorf("second page starting_after = %q, want the last item of the first page", got)
	}
	for _, r := range reqs {
		if r.Header.Get("Stripe-Account") != "acct_1Connected" {
			t.Errorf("%s %s without Stripe-Account", r.Method, r.Path)
		}
	}
}

func TestSavedMethodsOfAGoneCustomer(t *testing.T) {
	f := newFakeStripe(t)
	f.on(http.MethodGet, "/v1/customers/cus_PaYer0001", ok("customer_deleted.json"))
	f.on(http.MethodGet, "/v1/customers/cus_missing", reply{status: 404,
		body: `{"error":{"code":"resource_missing","param":"id","message":"No such customer: 'cus_missing'","type":"invalid_request_error"}}`})
	c := f.client(Config{})
	for _, id := range []string{"cus_PaYer0001", "cus_missing"} {
		if _, err := c.SavedMethods(t.Context(), id); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("SavedMethods(%s) = %v, want ENOTFOUND", id, err)
		}
	}
	if _, err := c.SavedMethods(t.Context(), ""); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("SavedMethods(\"\") = %v, want EINVALID", err)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2 (no list for a gone customer)", n)
	}
}

func TestDetachMethod(t *testing.T) {
	const path = "/v1/payment_methods/pm_1OxCard0000000001"
	f := newFakeStripe(t)
	c := f.client(Config{})

	f.on(http.MethodPost, path+"/detach", ok("payment_method_detached.json"))
	if err := c.DetachMethod(t.Context(), "pm_1OxCard0000000001"); err != nil {
		t.Fatal(err)
	}
	if k := f.requests()[0].Header.Get("Idempotency-Key"); k != "stripesync:detach-payment-method:pm_1OxCard0000000001" {
		t.Errorf("Idempotency-Key = %q", k)
	}

	// Detached already: Stripe refuses, the method has no customer.
	f.on(http.MethodPost, path+"/detach", reply{status: 400, file: "error_detach_not_attached.json"})
	f.on(http.MethodGet, path, ok("payment_method_detached.json"))
	if err := c.DetachMethod(t.Context(), "pm_1OxCard0000000001"); err != nil {
		t.Errorf("detach of a detached method: %v, want nil", err)
	}

	// A refusal while still attached stays an error.
	f.on(http.MethodGet, path, ok("payment_method_card.json"))
	if err := c.DetachMethod(t.Context(), "pm_1OxCard0000000001"); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("refused detach of an attached method: %v, want EINVALID", err)
	}
	if err := c.DetachMethod(t.Context(), ""); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("DetachMethod(\"\") = %v, want EINVALID", err)
	}
}

func TestSetDefaultMethod(t *testing.T) {
	f := newFakeStripe(t)
	f.on(http.MethodPost, "/v1/customers/cus_PaYer0001",
		reply{status: 503, body: `{"error":{"type":"api_error","message":"The server is temporarily unavailable."}}`},
		ok("customer_with_default.json"))
	c := f.client(Config{})
	if err := c.SetDefaultMethod(t.Context(), "cus_PaYer0001", "pm_1OxBank0000000001"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetDefaultMethod(t.Context(), "cus_PaYer0001", "pm_1OxBank0000000001"); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want a 503, its retry and the second call", len(reqs))
	}
	if diff := cmp.Diff(map[string]string{"invoice_settings[default_payment_method]": "pm_1OxBank0000000001"}, flat(reqs[0].Form)); diff != "" {
		t.Errorf("form (-want +got):\n%s", diff)
	}
	k0, k1, k2 := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key"), reqs[2].Header.Get("Idempotency-Key")
	if !strings.HasPrefix(k0, "stripesync:set-default-payment-method:cus_PaYer0001:") || k0 != k1 {
		t.Errorf("keys %q, %q: want one stripesync key for a call and its retry", k0, k1)
	}
	if k2 == k0 {
		t.Errorf("a second call reused key %q: Stripe would replay the first answer without applying it", k2)
	}
	for _, args := range [][2]string{{"", "pm_1"}, {"cus_1", ""}} {
		if err := c.SetDefaultMethod(t.Context(), args[0], args[1]); stripesync.CodeOf(err) != stripesync.EINVALID {
			t.Errorf("SetDefaultMethod(%q, %q) = %v, want EINVALID", args[0], args[1], err)
		}
	}
}

func TestBillingPortalURL(t *testing.T) {
	f := newFakeStripe(t)
	f.on(http.MethodPost, "/v1/billing_portal/sessions", ok("billing_portal_session.json"))
	c := f.client(Config{Account: "acct_1Connected"})
	got, err := c.BillingPortalURL(t.Context(), "cus_PaYer0001", "https://pay.example/portal/done")
	if err != nil {
		t.Fatal(err)
	}
	if got != "https://billing.stripe.com/p/session/test_YWNjdF8xTzRxUG9ydGFs" {
		t.Errorf("URL = %q", got)
	}
	r := f.requests()[0]
	if diff := cmp.Diff(map[string]string{"customer": "cus_PaYer0001", "return_url": "https://pay.example/portal/done"}, flat(r.Form)); diff != "" {
		t.Errorf("form (-want +got):\n%s", diff)
	}
	if r.Header.Get("Stripe-Account") != "acct_1Connected" || !strings.HasPrefix(r.Header.Get("Idempotency-Key"), "acct_1Connected:stripesync:create-billing-portal-session:cus_PaYer0001:") {
		t.Errorf("headers Stripe-Account %q, Idempotency-Key %q", r.Header.Get("Stripe-Account"), r.Header.Get("Idempotency-Key"))
	}
	if _, err := c.BillingPortalURL(t.Context(), "", ""); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("BillingPortalURL(\"\") = %v, want EINVALID", err)
	}
}
