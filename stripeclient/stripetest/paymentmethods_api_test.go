package stripetest

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPaymentMethodAttachDetach(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{})
	other := s.CreateCustomer(Customer{})
	card := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods/pm_card_visa/attach", url.Values{"customer": {cus}}))
	bank := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods/pm_usBankAccount_success/attach", url.Values{"customer": {cus}}))
	cardID, bankID := card["id"].(string), bank["id"].(string)
	if card["customer"] != cus || field(card, "card", "brand") != "visa" || field(card, "card", "last4") != "4242" ||
		field(card, "card", "exp_month") == nil || field(card, "card", "exp_year") == nil {
		t.Errorf("attached card: %v", card)
	}
	for k, want := range map[string]any{"bank_name": "STRIPE TEST BANK", "last4": "6789", "routing_number": "110000000", "account_type": "checking"} {
		if got := field(bank, "us_bank_account", k); got != want {
			t.Errorf("us_bank_account.%s = %v, want %v", k, got, want)
		}
	}

	// Lists: newest first, by type, and the customer-scoped path.
	all := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_methods", url.Values{"customer": {cus}}))
	if diff := cmp.Diff([]string{bankID, cardID}, ids(all)); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	cards := mustOK(t, send(t, s, http.MethodGet, "/v1/customers/"+cus+"/payment_methods", url.Values{"type": {"card"}}))
	if diff := cmp.Diff([]string{cardID}, ids(cards)); diff != "" {
		t.Errorf("cards (-want +got):\n%s", diff)
	}
	if r := send(t, s, http.MethodGet, "/v1/customers/cus_missing/payment_methods", nil); r.status != http.StatusNotFound {
		t.Errorf("methods of an unknown customer: %d", r.status)
	}

	// Refusals: a decline card can't be attached; nor a method of another customer.
	if r := send(t, s, http.MethodPost, "/v1/payment_methods/pm_card_visa_chargeDeclined/attach", url.Values{"customer": {cus}}); r.status != http.StatusPaymentRequired || r.errField("decline_code") != "generic_decline" {
		t.Errorf("attaching a decline card: %d %v", r.status, r.body)
	}
	if r := send(t, s, http.MethodPost, "/v1/payment_methods/pm_card_chargeCustomerFail/attach", url.Values{"customer": {cus}}); r.status != http.StatusOK {
		t.Errorf("4000000000000341 attaches: %d %v", r.status, r.body)
	}
	if r := send(t, s, http.MethodPost, "/v1/payment_methods/"+cardID+"/attach", url.Values{"customer": {other}}); r.status != http.StatusBadRequest {
		t.Errorf("attaching to a second customer: %d", r.status)
	}
	if r := send(t, s, http.MethodPost, "/v1/payment_methods/"+cardID+"/attach", nil); r.errField("code") != "parameter_missing" {
		t.Errorf("attach without customer: %v", r.body)
	}

	// Default method: only one attached to the customer.
	if r := send(t, s, http.MethodPost, "/v1/customers/"+other, url.Values{"invoice_settings[default_payment_method]": {cardID}}); r.status != http.StatusBadRequest || r.errField("param") != "invoice_settings[default_payment_method]" {
		t.Errorf("another customer's method as default: %d %v", r.status, r.body)
	}
	if r := send(t, s, http.MethodPost, "/v1/customers/"+cus, url.Values{"invoice_settings[default_payment_method]": {"pm_missing"}}); r.errField("code") != "resource_missing" {
		t.Errorf("unknown method as default: %v", r.body)
	}
	c := mustOK(t, send(t, s, http.MethodPost, "/v1/customers/"+cus, url.Values{"invoice_settings[default_payment_method]": {cardID}}))
	if field(c, "invoice_settings", "default_payment_method") != cardID {
		t.Errorf("customer: %v", c["invoice_settings"])
	}
	events := s.Events()
	if last := events[len(events)-1]; last.Type != "customer.updated" ||
		field(decoded(t, last), "data", "previous_attributes", "invoice_settings", "default_payment_method") != nil {
		t.Errorf("last event %s %s", last.Type, last.Payload)
	}

	// Detach: customer null, previous_attributes name the old customer, the default goes.
	d := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods/"+cardID+"/detach", nil))
	if d["customer"] != nil {
		t.Errorf("detached: %v", d)
	}
	var detached map[string]any
	for _, e := range s.Events() {
		if e.Type == "payment_method.detached" {
			detached = decoded(t, e)
		}
	}
	if field(detached, "data", "object", "customer") != nil || field(detached, "data", "previous_attributes", "customer") != cus {
		t.Errorf("payment_method.detached: %v", detached["data"])
	}
	if got := mustOK(t, send(t, s, http.MethodGet, "/v1/customers/"+cus, nil)); field(got, "invoice_settings", "default_payment_method") != nil {
		t.Errorf("the detached default stays: %v", got["invoice_settings"])
	}
	if r := send(t, s, http.MethodPost, "/v1/payment_methods/"+cardID+"/detach", nil); r.status != http.StatusBadRequest {
		t.Errorf("detaching twice: %d", r.status)
	}
	if r := send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment(cardID, "customer", cus)); r.status != http.StatusBadRequest {
		t.Errorf("paying with a detached method: %d", r.status)
	}
	if n := countType(s, "payment_method.attached"); n != 3 {
		t.Errorf("payment_method.attached %d times, want 3", n)
	}
}

func TestPaymentWithSavedMethod(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{})
	other := s.CreateCustomer(Customer{})
	card := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods/pm_card_visa/attach", url.Values{"customer": {cus}}))["id"].(string)
	failing := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods/pm_card_chargeCustomerFail/attach", url.Values{"customer": {cus}}))["id"].(string)
	bank := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_methods/pm_usBankAccount_success/attach", url.Values{"customer": {cus}}))["id"].(string)

	if pi := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment(card, "customer", cus, "off_session", "true"))); pi["status"] != "succeeded" {
		t.Errorf("saved card: %v", pi["status"])
	}
	if r := send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment(failing, "customer", cus)); r.status != http.StatusPaymentRequired {
		t.Errorf("saved 0341 card: %d", r.status)
	}
	if r := send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment(card, "customer", other)); r.status != http.StatusBadRequest || r.errField("param") != "payment_method" {
		t.Errorf("another customer's card: %d %v", r.status, r.body)
	}
	if r := send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment(card)); r.status != http.StatusBadRequest {
		t.Errorf("a saved card without its customer: %d", r.status)
	}
	noMandate := achPayment(bank, "customer", cus)
	for k := range noMandate {
		if len(k) > 12 && k[:12] == "mandate_data" {
			noMandate.Del(k)
		}
	}
	if r := send(t, s, http.MethodPost, "/v1/payment_intents", noMandate); r.status != http.StatusBadRequest || r.errField("param") != "mandate_data" {
		t.Errorf("saved bank account without a mandate: %d %v", r.status, r.body)
	}
	if pi := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", achPayment(bank, "customer", cus))); pi["status"] != "processing" {
		t.Errorf("saved bank account with mandate_data: %v", pi["status"])
	}
}
