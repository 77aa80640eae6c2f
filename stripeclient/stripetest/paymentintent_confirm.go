package stripetest

// Confirming a PaymentIntent: what an attempt asks for, whether the
// method and the intent allow it, and how it succeeds or fails.

import (
	"net/http"
	"slices"
	"strings"
)

// confirmation is what one confirmation attempt asks for.
type confirmation struct {
	pm         *paymentMethod // nil: the method already attached
	offSession bool
	// errorOnAction is error_on_requires_action: a card that asks for
	// 3-D Secure fails the attempt as off-session ones do.
	errorOnAction bool
	moto          bool
	mandate       bool // mandate_data was given (or Stripe.js / Checkout collected it)
	returnURL     string
	// authenticated is set when the customer completed 3D Secure on the
	// page (Pay, CompleteCheckout), so cards that ask for it succeed.
	authenticated bool
	// microdeposits is set when the customer entered the bank account by
	// hand on a page: it must be verified before it can be debited.
	microdeposits    bool
	setupFutureUsage string // "" keeps the PaymentIntent's
	receiptEmail     string
}

func confirmationFrom(f form) confirmation {
	cf := confirmation{}
	cf.offSession = f["off_session"] == "true"
	cf.errorOnAction = f["error_on_requires_action"] == "true"
	cf.returnURL, _ = f.str("return_url")
	cf.setupFutureUsage, _ = f.str("setup_future_usage")
	cf.receiptEmail, _ = f.str("receipt_email")
	_, cf.mandate = f["mandate_data"].(form)
	if opts, ok := f["payment_method_options"].(form); ok {
		if card, ok := opts["card"].(form); ok {
			cf.moto = card["moto"] == "true"
		}
	}
	return cf
}

// accepts checks that r may be paid with pm.
func (r *intentRecord) accepts(pm *paymentMethod) *apiError {
	kind := pm.method.kind
	if !slices.Contains(r.PaymentMethodTypes, kind) {
		return invalidParam("", "payment_method",
			"The PaymentMethod provided (%s) is not allowed for this PaymentIntent. Please attach a PaymentMethod of one of the following types: %s. Alternatively update the allowed payment_method_types for this PaymentIntent to include \"%s\".",
			kind, strings.Join(r.PaymentMethodTypes, ", "), kind)
	}
	if kind == typeBankPM && r.Currency != "usd" {
		return invalidParam("", "currency",
			"The currency provided (%s) is invalid. Payments with us_bank_account support the following currencies: usd.", r.Currency)
	}
	if pm.customer != "" && pm.customer != r.Customer {
		return invalidParam("", "payment_method",
			"The payment_method parameter supplied %s belongs to the Customer %s. Please include the Customer in the customer parameter on the PaymentIntent.",
			pm.id, pm.customer)
	}
	return nil
}

// checkConfirm validates a confirmation of r before anything changes.
func (s *Server) checkConfirm(r *intentRecord, cf *confirmation) *apiError {
	if cf.pm == nil && r.PaymentMethod != "" {
		cf.pm = s.pay.methods[r.PaymentMethod]
	}
	if cf.pm == nil {
		e := invalidParam("payment_intent_unexpected_state", "payment_method",
			"You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.")
		e.PaymentIntent = s.renderIntent(r, nil)
		return e
	}
	if err := r.accepts(cf.pm); err != nil {
		return err
	}
	if r.AutomaticPaymentMethods && r.allowRedirects != "never" && !cf.offSession && cf.returnURL == "" {
		return invalidRequest(http.StatusBadRequest, "", "", msgReturnURLRequired)
	}
	if cf.moto && s.noMOTO {
		return invalidParam("", "payment_method_options[card][moto]",
			"This account is not enabled to process MOTO payments. Contact Stripe support to request access.")
	}
	if cf.pm.method.kind == typeBankPM && !cf.mandate && !cf.pm.mandated {
		return invalidParam("", "mandate_data",
			"A mandate is required to debit this us_bank_account PaymentMethod: pass mandate_data[customer_acceptance], or use a PaymentMethod set up for future use.")
	}
	return nil
}

func (s *Server) confirmIntent(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, aerr := s.intent(c.scope, c.path["id"])
	if aerr != nil {
		return nil, aerr
	}
	if r.Status != piRequiresPaymentMethod && r.Status != piRequiresConfirmation {
		return nil, s.unexpectedState(r, "confirm", piRequiresPaymentMethod, piRequiresConfirmation)
	}
	cf := confirmationFrom(c.params)
	if id, _ := c.params.str("payment_method"); id != "" {
		if cf.pm, aerr = s.resolveMethod(c.scope, id); aerr != nil {
			return nil, aerr
		}
	}
	if aerr := s.checkConfirm(r, &cf); aerr != nil {
		return nil, aerr
	}
	if aerr := s.attempt(c.origin(), r, cf); aerr != nil {
		return nil, aerr
	}
	return s.renderIntent(r, s.expandFor(c.params)), nil
}

// attempt runs one confirmation of r that checkConfirm accepted: it
// creates the charge and moves the PaymentIntent as Stripe's state machine
// does, emitting the events in Stripe's order. A card failure is returned
// as the 402 Stripe answers with.
func (s *Server) attempt(o origin, r *intentRecord, cf confirmation) *apiError {
	sc := scope{account: r.Account, livemode: r.Livemode}
	pm := cf.pm
	tm := pm.method
	r.PaymentMethod = pm.id
	r.SetupFutureUsage = cmpOr(cf.setupFutureUsage, r.SetupFutureUsage)
	r.ReceiptEmail = cmpOr(cf.receiptEmail, r.ReceiptEmail)
	r.LastPaymentError, r.failedMethod = nil, nil

	fails := tm.fails
	authFailed := false
	if tm.needsAuth && !cf.moto && !cf.authenticated {
		if !cf.offSession && !cf.errorOnAction {
			r.Status = piRequiresAction
			s.emit(sc, o, "payment_intent.requires_action", s.renderIntent(r, nil), nil)
			return nil
		}
		fails = &failure{code: "authentication_required", declineCode: "authentication_required", message: msgAuth}
		authFailed = true
	}
	if needsMicrodeposits(pm, cf.microdeposits) {
		if cf.mandate && r.SetupFutureUsage != "" {
			pm.mandated = true
		}
		r.Status = piRequiresAction
		r.micro = s.startMicrodeposits(r.ID)
		s.emit(sc, o, "payment_intent.requires_action", s.renderIntent(r, nil), nil)
		return nil
	}
	ch := s.newCharge(r, pm, cf.moto)
	r.LatestCharge = ch.ID
	if !authFailed {
		// A decline DeclineNext asked for, once the card is authenticated.
		if f := pm.takeDecline(); f != nil {
			fails = f
		}
	}
	switch {
	case tm.kind == typeBankPM:
		r.Status = piProcessing
		if cf.mandate && r.SetupFutureUsage != "" {
			pm.mandated = true
		}
		s.attach(o, r, pm)
		s.emit(sc, o, "charge.pending", s.renderCharge(ch), nil)
		s.emit(sc, o, "payment_intent.processing", s.renderIntent(r, nil), nil)
		s.scheduleSettle(r)
		return nil
	case fails != nil:
		ch.fail(fails)
		s.failIntent(r, pm, &PaymentError{
			Type: typeCard, Code: fails.code, DeclineCode: fails.declineCode, Message: fails.message,
		})
		s.emit(sc, o, "charge.failed", s.renderCharge(ch), nil)
		s.emit(sc, o, "payment_intent.payment_failed", s.renderIntent(r, nil), nil)
		e := &apiError{
			status: http.StatusPaymentRequired, Type: typeCard, Code: fails.code, DeclineCode: fails.declineCode,
			Message: fails.message, DocURL: docURL(fails.code), Charge: ch.ID,
			PaymentIntent: s.renderIntent(r, nil), PaymentMethod: s.renderMethod(pm),
		}
		if o.requestID != "" {
			e.RequestLogURL = "https://dashboard.stripe.com/test/logs/" + o.requestID
		}
		return e
	}
	ch.succeed()
	r.Status = piSucceeded
	r.AmountReceived = r.Amount
	s.attach(o, r, pm)
	s.emit(sc, o, "charge.succeeded", s.renderCharge(ch), nil)
	s.emit(sc, o, "payment_intent.succeeded", s.renderIntent(r, nil), nil)
	return nil
}

// Stripe's failure of a 3D Secure authentication the customer did not
// complete.
const (
	codeAuthFailure = "payment_intent_authentication_failure"
	msgAuthFailure  = "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again."
)

// failAuthentication ends r's 3D Secure challenge as failed: r goes back
// to requires_payment_method. The caller holds s.mu.
func (s *Server) failAuthentication(o origin, r *intentRecord) {
	pm := s.pay.methods[r.PaymentMethod]
	s.failIntent(r, pm, &PaymentError{Type: typeInvalidRequest, Code: codeAuthFailure, Message: msgAuthFailure})
	r.LastPaymentError.Charge = ""
	s.emit(scope{account: r.Account, livemode: r.Livemode}, o, "payment_intent.payment_failed", s.renderIntent(r, nil), nil)
}

// failIntent records a failed attempt: the PaymentIntent wants a new
// method and keeps the failure in last_payment_error.
func (s *Server) failIntent(r *intentRecord, pm *paymentMethod, e *PaymentError) {
	e.PaymentIntent, e.Charge = r.ID, r.LatestCharge
	r.Status = piRequiresPaymentMethod
	r.PaymentMethod = ""
	r.LastPaymentError = e
	r.failedMethod = pm
}

// attach saves the method on the customer when the payment asked for it
// (setup_future_usage), with payment_method.attached.
func (s *Server) attach(o origin, r *intentRecord, pm *paymentMethod) {
	if r.SetupFutureUsage != "" && r.Customer != "" && pm.customer == "" {
		s.attachMethod(o, pm, r.Customer)
	}
}
