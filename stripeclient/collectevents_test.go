package stripeclient_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient"
)

// fixtureEvent parses testdata/events/name as a webhook would deliver it.
func fixtureEvent(t *testing.T, name string) stripesync.Event {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, string(raw))
}

func TestEventSession(t *testing.T) {
	usd := stripesync.Money{Amount: 12500, Currency: "USD"}
	expires := time.Unix(1764637200, 0).UTC()
	paid := func(status, paymentStatus, pi string) stripesync.CheckoutSession {
		return stripesync.CheckoutSession{
			ID: "cs_test_a1b2c3d4e5f6g7h8i9j0", Mode: stripesync.CheckoutPayment, Status: status,
			PaymentStatus: paymentStatus, CustomerID: "cus_PaYer0001", InvoiceID: "a01000000000001AAA",
			Amount: usd, PaymentIntentID: pi, ExpiresAt: expires,
		}
	}
	tests := []struct {
		file string
		want stripesync.CheckoutSession
	}{
		{"checkout_session_completed_ach.json", paid(stripesync.CheckoutComplete, "unpaid", "pi_3OxBank000000001")},
		{"checkout_session_async_payment_succeeded.json", paid(stripesync.CheckoutComplete, "paid", "pi_3OxBank000000001")},
		{"checkout_session_async_payment_failed.json", paid(stripesync.CheckoutComplete, "unpaid", "pi_3OxBank000000001")},
		{"checkout_session_expired.json", paid(stripesync.CheckoutExpired, "unpaid", "")},
		{"checkout_session_completed_setup.json", stripesync.CheckoutSession{
			ID: "cs_test_setup0000000000000001", Mode: stripesync.CheckoutSetup, Status: stripesync.CheckoutComplete,
			PaymentStatus: "no_payment_required", CustomerID: "cus_PaYer0001", SetupIntentID: "seti_1OxSetup0000000001",
			ExpiresAt: time.Unix(1764720000, 0).UTC(),
		}},
	}
	c := &stripeclient.Client{}
	for _, tt := range tests {
		got, ok := c.EventSession(fixtureEvent(t, tt.file))
		if diff := cmp.Diff(tt.want, got); !ok || diff != "" {
			t.Errorf("%s: ok=%v (-want +got):\n%s", tt.file, ok, diff)
		}
	}

	for name, e := range map[string]stripesync.Event{
		"a PaymentIntent event": fixtureEvent(t, "payment_intent_processing.json"),
		"a method event":        fixtureEvent(t, "payment_method_attached.json"),
		"a cut-down session": parse(t, `{"id":"evt_1","object":"event","type":"checkout.session.completed",
			"data":{"object":{"id":"cs_test_1","object":"checkout.session"}}}`),
		"another object under a session type": parse(t, `{"id":"evt_2","object":"event","type":"checkout.session.expired",
			"data":{"object":{"id":"pi_1","object":"payment_intent","status":"canceled"}}}`),
		"a payload that does not decode": {ID: "evt_3", Type: "checkout.session.completed", Payload: []byte(`{"data":{"object":[]}}`)},
	} {
		if got, ok := stripeclient.EventSession(e); ok {
			t.Errorf("%s: decoded as %+v, want ok=false", name, got)
		}
	}
}

func TestEventMethodCustomer(t *testing.T) {
	for _, file := range []string{
		"payment_method_attached.json",
		"payment_method_updated.json",
		"payment_method_automatically_updated.json",
		"payment_method_detached.json",
		"customer_updated_default.json",
	} {
		got, ok := stripeclient.EventMethodCustomer(fixtureEvent(t, file))
		if !ok || got != "cus_PaYer0001" {
			t.Errorf("%s: %q, %v; want cus_PaYer0001", file, got, ok)
		}
	}
	for name, e := range map[string]stripesync.Event{
		"a customer update that left the default alone": fixtureEvent(t, "customer_updated_email.json"),
		"an update of a method on no customer":          fixtureEvent(t, "payment_method_updated_unattached.json"),
		"a session event":                               fixtureEvent(t, "checkout_session_completed_ach.json"),
		"a PaymentIntent event":                         fixtureEvent(t, "payment_intent_processing.json"),
		"a detach without previous_attributes": parse(t, `{"id":"evt_1","object":"event","type":"payment_method.detached",
			"data":{"object":{"id":"pm_1","object":"payment_method","customer":null}}}`),
	} {
		if got, ok := stripeclient.EventMethodCustomer(e); ok {
			t.Errorf("%s: %q, want ok=false", name, got)
		}
	}
	// A customer.updated cut down to the object (no previous_attributes)
	// may have changed the default: it is reported.
	e := parse(t, `{"id":"evt_2","object":"event","type":"customer.updated","data":{"object":{"id":"cus_X","object":"customer"}}}`)
	if got, ok := stripeclient.EventMethodCustomer(e); !ok || got != "cus_X" {
		t.Errorf("customer.updated without previous_attributes: %q, %v; want cus_X", got, ok)
	}
}
