package stripetest

import (
	"testing"
)

// TestAttachTestMethod: a method attached without a request is the
// customer's, listed, chargeable off session as the default, and made no
// event.
func TestAttachTestMethod(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{Name: "Seeded"})
	pm, err := s.AttachTestMethod(cus, "pm_card_visa", true)
	if err != nil {
		t.Fatal(err)
	}
	list := mustOK(t, send(t, s, "GET", "/v1/customers/"+cus+"/payment_methods", nil))
	if got := ids(list); len(got) != 1 || got[0] != pm {
		t.Errorf("the customer's methods %v, want [%s]", got, pm)
	}
	c := mustOK(t, send(t, s, "GET", "/v1/customers/"+cus, nil))
	if field(c, "invoice_settings", "default_payment_method") != pm {
		t.Errorf("default method %v, want %s", field(c, "invoice_settings", "default_payment_method"), pm)
	}
	if evs := eventTypes(s); len(evs) != 0 {
		t.Errorf("seeding emitted %v", evs)
	}
	paid := mustOK(t, send(t, s, "POST", "/v1/payment_intents", cardPayment(pm, "customer", cus, "off_session", "true")))
	if paid["status"] != "succeeded" {
		t.Errorf("an off-session charge of the seeded method: %v", paid["status"])
	}
	for _, bad := range [][2]string{{cus, "pm_nope"}, {"cus_nobody", "pm_card_visa"}, {cus, "pm_card_visa_chargeDeclined"}} {
		if _, err := s.AttachTestMethod(bad[0], bad[1], false); err == nil {
			t.Errorf("AttachTestMethod(%s, %s) succeeded", bad[0], bad[1])
		}
	}
}
