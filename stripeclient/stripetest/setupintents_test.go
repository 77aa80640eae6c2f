package stripetest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSetupIntentCard(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{})
	si := mustOK(t, send(t, s, http.MethodPost, "/v1/setup_intents", url.Values{
		"customer": {cus}, "payment_method_types[]": {"card"}, "metadata[k]": {"v"},
	}))
	id := si["id"].(string)
	if !strings.HasPrefix(id, "seti_") || si["object"] != "setup_intent" || si["status"] != "requires_payment_method" ||
		si["usage"] != "off_session" || !strings.HasPrefix(si["client_secret"].(string), id+"_secret_") {
		t.Fatalf("created: %v", si)
	}
	declined := send(t, s, http.MethodPost, "/v1/setup_intents/"+id+"/confirm", url.Values{"payment_method": {"pm_card_visa_chargeDeclined"}})
	if declined.status != http.StatusPaymentRequired || field(declined.body, "error", "setup_intent", "status") != "requires_payment_method" {
		t.Errorf("decline: %d %v", declined.status, declined.body)
	}
	ok := mustOK(t, send(t, s, http.MethodPost, "/v1/setup_intents/"+id+"/confirm", url.Values{"payment_method": {"pm_card_visa"}}))
	if ok["status"] != "succeeded" || ok["last_setup_error"] != nil {
		t.Errorf("confirmed: %v", ok)
	}
	pm := mustOK(t, send(t, s, http.MethodGet, "/v1/payment_methods/"+ok["payment_method"].(string), nil))
	if pm["customer"] != cus {
		t.Errorf("method not attached: %v", pm)
	}
	if diff := cmp.Diff([]string{"setup_intent.created", "setup_intent.setup_failed", "setup_intent.succeeded", "payment_method.attached"}, eventTypes(s)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if r := send(t, s, http.MethodPost, "/v1/setup_intents/"+id+"/confirm", nil); r.status != http.StatusBadRequest {
		t.Errorf("confirming a succeeded SetupIntent: %d", r.status)
	}
	got := mustOK(t, send(t, s, http.MethodGet, "/v1/setup_intents/"+id, nil))
	if got["status"] != "succeeded" || field(got, "metadata", "k") != "v" {
		t.Errorf("retrieved: %v", got)
	}
}

func TestSetupIntentRules(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{})
	auth := mustOK(t, send(t, s, http.MethodPost, "/v1/setup_intents", url.Values{
		"customer": {cus}, "payment_method_types[]": {"card"}, "payment_method": {"pm_card_authenticationRequired"}, "confirm": {"true"},
	}))
	if auth["status"] != "requires_action" || field(auth, "next_action", "type") != "use_stripe_sdk" {
		t.Errorf("3D Secure card: %v", auth)
	}
	if r := send(t, s, http.MethodPost, "/v1/setup_intents", url.Values{"customer": {cus}, "payment_method": {"pm_card_visa"}, "confirm": {"true"}}); r.status != http.StatusBadRequest {
		t.Errorf("automatic payment methods without return_url: %d", r.status)
	}
	bank := url.Values{"customer": {cus}, "payment_method_types[]": {"us_bank_account"}, "payment_method": {"pm_usBankAccount_success"}, "confirm": {"true"}}
	if r := send(t, s, http.MethodPost, "/v1/setup_intents", bank); r.status != http.StatusBadRequest || r.errField("param") != "mandate_data" {
		t.Errorf("bank account without mandate: %d %v", r.status, r.body)
	}
	bank.Set("mandate_data[customer_acceptance][type]", "offline")
	ok := mustOK(t, send(t, s, http.MethodPost, "/v1/setup_intents", bank))
	if ok["status"] != "succeeded" || ok["mandate"] == nil {
		t.Fatalf("bank setup: %v", ok)
	}
	// A bank account saved with a mandate is debited without new mandate_data.
	pi := url.Values{"amount": {"5000"}, "currency": {"usd"}, "customer": {cus}, "payment_method": {ok["payment_method"].(string)},
		"payment_method_types[]": {"us_bank_account"}, "confirm": {"true"}, "off_session": {"true"}}
	if got := mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", pi)); got["status"] != "processing" {
		t.Errorf("debit of the saved account: %v", got["status"])
	}
	if r := send(t, s, http.MethodPost, "/v1/setup_intents/"+auth["id"].(string)+"/verify_microdeposits", url.Values{"amounts[]": {"32", "45"}}); r.status != http.StatusBadRequest {
		t.Errorf("verifying a SetupIntent without microdeposits: %d", r.status)
	}
	if r := send(t, s, http.MethodPost, "/v1/setup_intents/"+auth["id"].(string)+"/cancel", nil); r.status != http.StatusOK || r.body["status"] != "canceled" {
		t.Errorf("cancel: %d %v", r.status, r.body["status"])
	}
}

func TestSetupIntentMicrodeposits(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{})
	sess := mustOK(t, send(t, s, http.MethodPost, "/v1/checkout/sessions", url.Values{
		"mode": {"setup"}, "customer": {cus}, "success_url": {"https://crm.example/saved"}, "payment_method_types[]": {"us_bank_account"},
	}))
	if got := browse(t, http.MethodPost, sess["url"].(string), bankForm("000123456789")); got.status != http.StatusSeeOther {
		t.Fatalf("manual bank in setup mode: %d %s", got.status, got.body)
	}
	done := mustOK(t, send(t, s, http.MethodGet, "/v1/checkout/sessions/"+sess["id"].(string), nil))
	siID := done["setup_intent"].(string)
	si := mustOK(t, send(t, s, http.MethodGet, "/v1/setup_intents/"+siID, nil))
	if si["status"] != "requires_action" || field(si, "next_action", "type") != "verify_with_microdeposits" {
		t.Fatalf("SetupIntent: %v", si)
	}
	if r := send(t, s, http.MethodPost, "/v1/setup_intents/"+siID+"/verify_microdeposits", url.Values{"descriptor_code": {"SM99ZZ"}}); r.errField("code") != "payment_method_microdeposit_verification_descriptor_code_mismatch" {
		t.Errorf("wrong code: %v", r.body)
	}
	if r := send(t, s, http.MethodPost, "/v1/setup_intents/"+siID+"/verify_microdeposits", url.Values{"amounts[]": {"32"}}); r.status != http.StatusBadRequest {
		t.Errorf("one amount: %d", r.status)
	}
	ok := mustOK(t, send(t, s, http.MethodPost, "/v1/setup_intents/"+siID+"/verify_microdeposits", url.Values{"descriptor_code": {"SM11AA"}}))
	if ok["status"] != "succeeded" {
		t.Errorf("verified: %v", ok["status"])
	}
	if got := ids(mustOK(t, send(t, s, http.MethodGet, "/v1/customers/"+cus+"/payment_methods", nil))); len(got) != 1 {
		t.Errorf("customer's methods: %v", got)
	}
}
