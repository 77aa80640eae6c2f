package stripetest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// CheckoutParams describe a customer paying through a Checkout Session
// (mode=payment) for one amount, for CompleteCheckout.
type CheckoutParams struct {
	Account  string // connected account; "" is the platform
	Livemode bool
	Customer string // optional cus_ id
	Amount   int64  // minor units
	Currency string // any case
	// PaymentMethod is the magic test id the customer pays with; ""
	// means pm_card_visa. An ACH one (pm_usBankAccount_…) leaves the
	// payment processing.
	PaymentMethod string
	// Metadata stays on the Session; PaymentIntentMetadata is
	// payment_intent_data[metadata], the only metadata the PaymentIntent
	// gets.
	Metadata              map[string]string
	PaymentIntentMetadata map[string]string
	// SetupFutureUsage is payment_intent_data[setup_future_usage]: it
	// saves the method on the customer.
	SetupFutureUsage  string
	ClientReferenceID string
	// ProductName is the line item's name; "" means "Payment".
	ProductName string
	// SuccessURL and CancelURL default to https://example.com/success and
	// none.
	SuccessURL, CancelURL string
}

// form is the create request the hook stands for.
func (p CheckoutParams) form() form {
	cur := strings.ToLower(p.Currency)
	f := form{
		"mode":        "payment",
		"success_url": cmpOr(p.SuccessURL, "https://example.com/success"),
		"line_items": []form{{
			"price_data": form{
				"currency":     cur,
				"unit_amount":  strconv.FormatInt(p.Amount, 10),
				"product_data": form{"name": cmpOr(p.ProductName, "Payment")},
			},
			"quantity": "1",
		}},
	}
	types := []string{typeCardPM}
	if cur == "usd" {
		types = append(types, typeBankPM)
	}
	f["payment_method_types"] = types
	setIf(f, "customer", p.Customer)
	setIf(f, "cancel_url", p.CancelURL)
	setIf(f, "client_reference_id", p.ClientReferenceID)
	if len(p.Metadata) > 0 {
		f["metadata"] = toForm(p.Metadata)
	}
	pid := form{}
	if len(p.PaymentIntentMetadata) > 0 {
		pid["metadata"] = toForm(p.PaymentIntentMetadata)
	}
	setIf(pid, "setup_future_usage", p.SetupFutureUsage)
	if len(pid) > 0 {
		f["payment_intent_data"] = pid
	}
	return f
}

func toForm(m map[string]string) form {
	f := form{}
	for k, v := range m {
		f[k] = v
	}
	return f
}

// CompleteCheckout simulates a customer paying through a new Checkout
// Session, by the same path as the hosted page: the PaymentIntent is
// created when the customer confirms (API 2022-08-01 and later), 3D Secure
// is completed at once, then checkout.session.completed is emitted with the
// session, whose payment_intent is the PaymentIntent and payment_status is
// paid for a card or unpaid for ACH, which settles later with
// checkout.session.async_payment_succeeded or …_failed. A declined card
// leaves the session open: the failed PaymentIntent's id is returned with
// a *PaymentError.
func (s *Server) CompleteCheckout(p CheckoutParams) (sessionID, piID string, err error) {
	f := p.form()
	s.mu.Lock()
	defer s.mu.Unlock()
	if aerr := checkCreateSession(f, s.clock()); aerr != nil {
		return "", "", fmt.Errorf("stripetest: checkout: %s (%s)", aerr.Message, aerr.Param)
	}
	if s.closed {
		return "", "", errors.New("stripetest: the emulator is closed")
	}
	if err := s.accountFor(p.Account); err != nil {
		return "", "", err
	}
	sess, aerr := s.newSession(scope{account: p.Account, livemode: p.Livemode}, f)
	if aerr != nil {
		return "", "", fmt.Errorf("stripetest: checkout: %s (%s)", aerr.Message, aerr.Param)
	}
	method := cmpOr(p.PaymentMethod, "pm_card_visa")
	if _, ok := testMethods[method]; !ok {
		return sess.id, "", fmt.Errorf("stripetest: checkout: %s is not a test payment method", method)
	}
	res, err := s.submitCheckout(sess, checkoutEntry{method: method, authenticated: true})
	if err != nil {
		return sess.id, sess.pi, err
	}
	if res.failure != nil {
		e := *res.failure
		return sess.id, sess.pi, &e
	}
	return sess.id, sess.pi, nil
}

// checkoutEntry is what the customer entered on the payment page.
type checkoutEntry struct {
	method            string // the magic test id of the card or bank account
	expMonth, expYear int64
	name, email       string
	// microdeposits: the bank account was entered by hand and must be
	// verified before it is debited (or saved).
	microdeposits bool
	// authenticated: 3D Secure is completed in the same step (the Go hook).
	authenticated bool
}

// checkoutResult is how one submission ended: complete, waiting for 3D
// Secure, or declined (the session stays open and the form is shown again
// with the failure's message).
type checkoutResult struct {
	needsAuth bool
	failure   *PaymentError
}

// submitCheckout runs the customer's confirmation of an open session, for
// the hosted page and for CompleteCheckout alike. The first confirmation
// creates the PaymentIntent (or SetupIntent); a retry after a decline
// confirms the same one with the new method, as Checkout does. The caller
// holds s.mu.
func (s *Server) submitCheckout(sess *sessionRecord, e checkoutEntry) (checkoutResult, error) {
	if sess.status != csOpen {
		return checkoutResult{}, fmt.Errorf("stripetest: checkout session %s is %s", sess.id, sess.status)
	}
	sc := scope{account: sess.account, livemode: sess.livemode}
	tm := testMethods[e.method]
	pm := s.newMethod(sc, tm)
	pm.name, pm.email, pm.expMonth, pm.expYear = e.name, e.email, e.expMonth, e.expYear
	saves := sess.mode == "setup" || sess.setupFutureUsage != ""
	if saves && sess.customer == "" {
		sess.customer = s.checkoutCustomer(sc, e)
	}
	sess.email, sess.name = e.email, e.name
	if sess.mode == "setup" {
		return s.submitSetup(sess, pm, e)
	}
	// Checkout saves the method on the customer before it pays with it.
	if saves && tm.attachable() {
		s.attachMethod(origin{}, pm, sess.customer)
	}
	r, ok := s.pay.intents[sess.pi]
	if ok && r.Status == piRequiresAction && r.micro == nil {
		// A new method instead of finishing 3D Secure abandons it.
		s.failAuthentication(origin{}, r)
	}
	if !ok {
		var aerr *apiError
		r, aerr = s.newIntent(sc, origin{}, s.sessionIntentForm(sess), false)
		if aerr != nil {
			return checkoutResult{}, fmt.Errorf("stripetest: checkout: %s (%s)", aerr.Message, aerr.Param)
		}
		r.session, sess.pi = sess.id, r.ID
	}
	cf := confirmation{pm: pm, mandate: true, authenticated: e.authenticated, microdeposits: e.microdeposits}
	if aerr := s.checkConfirm(r, &cf); aerr != nil {
		return checkoutResult{}, fmt.Errorf("stripetest: checkout: %s (%s)", aerr.Message, aerr.Param)
	}
	_ = s.attempt(origin{}, r, cf) // a decline is in r.LastPaymentError
	return s.afterPayment(sess, r), nil
}

// sessionIntentForm is the PaymentIntent a payment session makes.
func (s *Server) sessionIntentForm(sess *sessionRecord) form {
	f := form{
		"amount":               strconv.FormatInt(sess.amount, 10),
		"currency":             sess.currency,
		"payment_method_types": sess.methodTypes,
		"metadata":             toForm(sess.piMetadata),
		"payment_method_options": form{
			"us_bank_account": form{"verification_method": sess.verification},
		},
	}
	setIf(f, "customer", sess.customer)
	setIf(f, "description", sess.piDescription)
	setIf(f, "setup_future_usage", sess.setupFutureUsage)
	return f
}

// afterPayment reads where a confirmation left r.
func (s *Server) afterPayment(sess *sessionRecord, r *intentRecord) checkoutResult {
	switch {
	case r.Status == piRequiresPaymentMethod && r.LastPaymentError != nil:
		e := *r.LastPaymentError
		return checkoutResult{failure: &e}
	case r.Status == piRequiresAction && r.micro == nil:
		return checkoutResult{needsAuth: true}
	}
	status := "unpaid" // processing, or waiting for micro-deposits
	if r.Status == piSucceeded {
		status = "paid"
	}
	s.finishCheckout(sess, status)
	return checkoutResult{}
}

func (s *Server) submitSetup(sess *sessionRecord, pm *paymentMethod, e checkoutEntry) (checkoutResult, error) {
	si, ok := s.pay.setups[sess.si]
	if ok && si.status == siRequiresAction && si.micro == nil {
		s.failSetup(origin{}, si, &failure{code: "setup_intent_authentication_failure", message: msgAuthFailedPage})
	}
	if !ok {
		f := form{
			"customer":             sess.customer,
			"payment_method_types": sess.methodTypes,
			"metadata":             toForm(sess.siMetadata),
			"payment_method_options": form{
				"us_bank_account": form{"verification_method": sess.verification},
			},
		}
		setIf(f, "description", sess.siDescription)
		var aerr *apiError
		si, aerr = s.newSetup(scope{account: sess.account, livemode: sess.livemode}, origin{}, f)
		if aerr != nil {
			return checkoutResult{}, fmt.Errorf("stripetest: checkout: %s (%s)", aerr.Message, aerr.Param)
		}
		si.session, sess.si = sess.id, si.id
	}
	cf := setupConfirmation{pm: pm, mandate: true, authenticated: e.authenticated, microdeposits: e.microdeposits}
	if aerr := s.confirmSetup(origin{}, si, cf); aerr != nil && si.lastError == nil {
		return checkoutResult{}, fmt.Errorf("stripetest: checkout: %s (%s)", aerr.Message, aerr.Param)
	}
	return s.afterSetup(sess, si), nil
}

func (s *Server) afterSetup(sess *sessionRecord, si *setupRecord) checkoutResult {
	switch {
	case si.status == siRequiresPaymentMethod && si.lastError != nil:
		e := *si.lastError
		return checkoutResult{failure: &e}
	case si.status == siRequiresAction && si.micro == nil:
		return checkoutResult{needsAuth: true}
	}
	s.finishCheckout(sess, "no_payment_required")
	return checkoutResult{}
}

// checkoutCustomer creates the customer Checkout makes when it must save a
// method and the session has none (customer_creation if_required).
func (s *Server) checkoutCustomer(sc scope, e checkoutEntry) string {
	c := Customer{
		ID: newID("cus_"), Account: sc.account, Livemode: sc.livemode, Name: e.name, Email: e.email,
		Metadata: map[string]string{}, InvoicePrefix: newInvoicePrefix(), NextInvoiceSequence: 1,
		TaxExempt: "none", Created: s.clock(),
	}
	r := s.customers.put(c)
	s.emit(sc, origin{}, "customer.created", renderCustomer(r), nil)
	return r.ID
}

// finishCheckout completes a session with checkout.session.completed.
func (s *Server) finishCheckout(sess *sessionRecord, paymentStatus string) {
	sess.status = csComplete
	sess.paymentStatus = paymentStatus
	s.emit(scope{account: sess.account, livemode: sess.livemode}, origin{}, "checkout.session.completed", s.renderSession(sess), nil)
}

// Messages the page shows when 3D Secure fails.
const msgAuthFailedPage = "We are unable to authenticate your payment method. Please choose a different payment method and try again."

// authenticateCheckout ends the 3D Secure challenge of a session's pending
// confirmation: completed, the payment (or setup) goes on; failed, the
// session stays open with the failure. The caller holds s.mu.
func (s *Server) authenticateCheckout(sess *sessionRecord, complete bool) (checkoutResult, error) {
	if sess.status != csOpen {
		return checkoutResult{}, fmt.Errorf("stripetest: checkout session %s is %s", sess.id, sess.status)
	}
	if si, ok := s.pay.setups[sess.si]; ok && si.status == siRequiresAction && si.micro == nil {
		if !complete {
			s.failSetup(origin{}, si, &failure{code: "setup_intent_authentication_failure", message: msgAuthFailedPage})
			return s.afterSetup(sess, si), nil
		}
		s.succeedSetup(origin{}, si, s.pay.methods[si.paymentMethod])
		return s.afterSetup(sess, si), nil
	}
	r, ok := s.pay.intents[sess.pi]
	if !ok || r.Status != piRequiresAction || r.micro != nil {
		return checkoutResult{}, fmt.Errorf("stripetest: checkout session %s has no authentication pending", sess.id)
	}
	if !complete {
		s.failAuthentication(origin{}, r)
		res := s.afterPayment(sess, r)
		res.failure.Message = msgAuthFailedPage
		return res, nil
	}
	pm := s.pay.methods[r.PaymentMethod]
	_ = s.attempt(origin{}, r, confirmation{pm: pm, mandate: true, authenticated: true})
	return s.afterPayment(sess, r), nil
}

// pendingAuth reports whether the session waits for 3D Secure. The caller
// holds s.mu.
func (s *Server) pendingAuth(sess *sessionRecord) bool {
	if si, ok := s.pay.setups[sess.si]; ok {
		return si.status == siRequiresAction && si.micro == nil
	}
	r, ok := s.pay.intents[sess.pi]
	return ok && r.Status == piRequiresAction && r.micro == nil
}

// asyncCheckoutResult tells a Checkout integration how a delayed (ACH)
// payment ended. The caller holds s.mu.
func (s *Server) asyncCheckoutResult(r *intentRecord, ok bool) {
	sess, found := s.pay.sessions[r.session]
	if !found {
		return
	}
	typ := "checkout.session.async_payment_failed"
	if ok {
		sess.paymentStatus = "paid"
		typ = "checkout.session.async_payment_succeeded"
	}
	s.emit(scope{account: sess.account, livemode: sess.livemode}, origin{}, typ, s.renderSession(sess), nil)
}

// successRedirect is where a completed session sends the customer.
func (sess *sessionRecord) successRedirect() string {
	return strings.ReplaceAll(sess.successURL, "{CHECKOUT_SESSION_ID}", sess.id)
}
