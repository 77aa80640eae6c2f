package stripetest

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCompleteCheckoutCard(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{})
	sessID, piID, err := s.CompleteCheckout(CheckoutParams{
		Customer: cus, Amount: 12500, Currency: "USD",
		Metadata:              map[string]string{"session_only": "yes"},
		PaymentIntentMetadata: map[string]string{"crm_invoice_id": "a01INV", "channel": "Payment Link"},
		SetupFutureUsage:      "off_session",
		ClientReferenceID:     "INV-1001",
	})
	if err != nil {
		t.Fatal(err)
	}
	// Checkout saves the method (setup_future_usage) before it pays.
	if diff := cmp.Diff([]string{
		"payment_method.attached", "payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
		"checkout.session.completed",
	}, eventTypes(s)); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	events := s.Events()
	sess := object(t, events[4])
	for name, want := range map[string]any{
		"id": sessID, "object": "checkout.session", "payment_intent": piID, "payment_status": "paid",
		"status": "complete", "customer": cus, "amount_total": float64(12500), "currency": "usd",
		"mode": "payment", "client_reference_id": "INV-1001", "url": nil,
	} {
		if sess[name] != want {
			t.Errorf("session.%s = %v, want %v", name, sess[name], want)
		}
	}
	if diff := cmp.Diff(map[string]any{"session_only": "yes"}, sess["metadata"]); diff != "" {
		t.Errorf("session metadata (-want +got):\n%s", diff)
	}
	pi := s.PaymentIntents()[0]
	if diff := cmp.Diff(map[string]string{"crm_invoice_id": "a01INV", "channel": "Payment Link"}, pi.Metadata); diff != "" {
		t.Errorf("PaymentIntent metadata is payment_intent_data[metadata] only (-want +got):\n%s", diff)
	}
	if pi.ID != piID || pi.Status != "succeeded" || pi.Customer != cus || pi.SetupFutureUsage != "off_session" {
		t.Errorf("PaymentIntent %+v", pi)
	}
}

func TestCompleteCheckoutACH(t *testing.T) {
	s := NewServer(t, Options{})
	_, piID, err := s.CompleteCheckout(CheckoutParams{Amount: 50000, Currency: "usd", PaymentMethod: "pm_usBankAccount_success"})
	if err != nil {
		t.Fatal(err)
	}
	events := s.Events()
	if last := events[len(events)-1]; last.Type != "checkout.session.completed" || object(t, last)["payment_status"] != "unpaid" {
		t.Fatalf("last event %s payment_status %v, want completed and unpaid", last.Type, object(t, last)["payment_status"])
	}
	if err := s.SettleACH(piID); err != nil {
		t.Fatal(err)
	}
	events = s.Events()
	last := events[len(events)-1]
	if last.Type != "checkout.session.async_payment_succeeded" || object(t, last)["payment_status"] != "paid" ||
		object(t, last)["payment_intent"] != piID {
		t.Errorf("after settlement: %s %v", last.Type, object(t, last))
	}

	_, failing, err := s.CompleteCheckout(CheckoutParams{Amount: 50000, Currency: "usd", PaymentMethod: "pm_usBankAccount_noAccount"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SettleACH(failing); err != nil {
		t.Fatal(err)
	}
	events = s.Events()
	if last := events[len(events)-1]; last.Type != "checkout.session.async_payment_failed" || object(t, last)["payment_status"] != "unpaid" {
		t.Errorf("failed settlement: %s %v", last.Type, object(t, last))
	}
}

func TestCompleteCheckoutDeclined(t *testing.T) {
	s := NewServer(t, Options{})
	sessID, piID, err := s.CompleteCheckout(CheckoutParams{Amount: 5000, Currency: "usd", PaymentMethod: "pm_card_visa_chargeDeclinedInsufficientFunds"})
	var perr *PaymentError
	if !errors.As(err, &perr) || perr.DeclineCode != "insufficient_funds" || perr.PaymentIntent != piID || piID == "" || sessID == "" {
		t.Fatalf("CompleteCheckout = %q, %q, %v; want the failed PaymentIntent and a *PaymentError", sessID, piID, err)
	}
	for _, typ := range eventTypes(s) {
		if typ == "checkout.session.completed" {
			t.Error("checkout.session.completed after a decline: the customer has not paid")
		}
	}
	if _, _, err := s.CompleteCheckout(CheckoutParams{Amount: 10, Currency: "usd"}); err == nil {
		t.Error("an amount below Stripe's minimum was accepted")
	}
	if _, _, err := s.CompleteCheckout(CheckoutParams{Amount: 5000, Currency: "usd", Customer: "cus_missing"}); err == nil {
		t.Error("an unknown customer was accepted")
	}
}

func TestPay(t *testing.T) {
	s := NewServer(t, Options{})
	cus := s.CreateCustomer(Customer{})
	id, err := s.Pay(PayParams{Customer: cus, Amount: 2000, Currency: "usd", Metadata: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	pi := s.PaymentIntents()[0]
	if pi.ID != id || pi.Status != "succeeded" || pi.Metadata["k"] != "v" || pi.Customer != cus {
		t.Errorf("Pay made %+v", pi)
	}
	// 3D Secure is completed on the page.
	if _, err := s.Pay(PayParams{Amount: 2000, Currency: "usd", PaymentMethod: "pm_card_authenticationRequired"}); err != nil {
		t.Errorf("a card that asks for authentication: %v", err)
	}
	failed, err := s.Pay(PayParams{Amount: 2000, Currency: "usd", PaymentMethod: "pm_card_visa_chargeDeclined"})
	var perr *PaymentError
	if !errors.As(err, &perr) || perr.PaymentIntent != failed || perr.Code != "card_declined" || perr.Charge == "" {
		t.Errorf("declined Pay = %q, %v", failed, err)
	}
	ach, err := s.Pay(PayParams{Amount: 2000, Currency: "usd", PaymentMethod: "pm_usBankAccount_success", Account: "acct_1Conn"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.PaymentIntents() {
		if p.ID == ach && (p.Status != "processing" || p.Account != "acct_1Conn") {
			t.Errorf("ACH Pay: %+v", p)
		}
	}
	if _, err := s.Pay(PayParams{Amount: 2000, Currency: "eur", PaymentMethod: "pm_usBankAccount_success"}); err == nil {
		t.Error("ACH in EUR accepted")
	}
}
