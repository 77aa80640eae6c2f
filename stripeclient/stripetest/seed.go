package stripetest

import "fmt"

// AttachTestMethod saves a new PaymentMethod made from one of Stripe's test
// ids (pm_card_visa, pm_usBankAccount_success…) on customer, as if it had
// been attached earlier: no request, so no rate limit, and no event. With
// asDefault it is also the customer's
// invoice_settings.default_payment_method. It is setup for tests and
// benchmarks that need many customers with methods (auto-pay over
// thousands of invoices) faster than the API would take them. It returns
// the new pm_ id.
func (s *Server) AttachTestMethod(customerID, test string, asDefault bool) (string, error) {
	tm, ok := testMethods[test]
	if !ok {
		return "", fmt.Errorf("stripetest: %s is not a test payment method", test)
	}
	if !tm.attachable() {
		return "", fmt.Errorf("stripetest: %s cannot be attached to a customer", test)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.customers.byID[customerID]
	if !ok || c.Deleted {
		return "", fmt.Errorf("stripetest: no customer %s", customerID)
	}
	pm := s.newMethod(scope{account: c.Account, livemode: c.Livemode}, tm)
	pm.customer = customerID
	if asDefault {
		c.DefaultPaymentMethod = pm.id
	}
	return pm.id, nil
}
