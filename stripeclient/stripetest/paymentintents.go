package stripetest

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

// PaymentIntent is an emulated PaymentIntent as tests see it.
type PaymentIntent struct {
	ID       string
	Account  string // the connected account; "" is the key's own
	Livemode bool

	Amount         int64  // minor units
	AmountReceived int64  // set once it succeeded
	Currency       string // lower case, as the API spells it
	Customer       string
	// PaymentMethod is the pm_ id attached now; "" when none is (a failed
	// attempt detaches its method).
	PaymentMethod           string
	PaymentMethodTypes      []string
	AutomaticPaymentMethods bool

	// Status is Stripe's: requires_payment_method, requires_confirmation,
	// requires_action, processing, succeeded or canceled.
	Status             string
	CaptureMethod      string
	SetupFutureUsage   string
	Description        string
	ReceiptEmail       string
	Metadata           map[string]string
	LatestCharge       string
	LastPaymentError   *PaymentError
	CancellationReason string
	CanceledAt         time.Time
	Created            time.Time
}

// PaymentIntent statuses.
const (
	piRequiresPaymentMethod = "requires_payment_method"
	piRequiresConfirmation  = "requires_confirmation"
	piRequiresAction        = "requires_action"
	piRequiresCapture       = "requires_capture" // never reached: capture_method=manual is not emulated
	piProcessing            = "processing"
	piSucceeded             = "succeeded"
	piCanceled              = "canceled"
)

// PaymentError is a failed payment attempt: a card decline, or an ACH
// debit the bank returned. PaymentIntent.LastPaymentError holds the
// latest; Pay and CompleteCheckout return it as their error.
type PaymentError struct {
	PaymentIntent string
	Charge        string
	Type          string // card_error for cards, invalid_request_error for ACH returns
	Code          string // e.g. card_declined, expired_card, insufficient_funds
	DeclineCode   string // e.g. generic_decline, insufficient_funds; cards only
	Message       string
}

func (e *PaymentError) Error() string {
	return fmt.Sprintf("stripetest: payment %s failed: %s: %s", e.PaymentIntent, cmp.Or(e.DeclineCode, e.Code), e.Message)
}

func (p PaymentIntent) clone() PaymentIntent {
	p.Metadata = maps.Clone(p.Metadata)
	p.PaymentMethodTypes = slices.Clone(p.PaymentMethodTypes)
	if p.LastPaymentError != nil {
		e := *p.LastPaymentError
		p.LastPaymentError = &e
	}
	return p
}

type intentRecord struct {
	PaymentIntent
	seq            int64
	allowRedirects string // automatic_payment_methods[allow_redirects]
	verification   string // payment_method_options[us_bank_account][verification_method]
	clientSecret   string
	failedMethod   *paymentMethod // last_payment_error.payment_method
	session        string         // the Checkout Session that made it
	timer          *time.Timer    // pending ACH settlement
	micro          *microdeposits // pending verification of a bank account entered by hand
}

// mandateDataParam is mandate_data: the customer's acceptance of an ACH
// debit mandate.
var mandateDataParam = param{kind: kObject, children: map[string]param{
	"customer_acceptance": {kind: kObject, children: map[string]param{
		"type":        {},
		"accepted_at": {kind: kInt},
		"online":      {kind: kObject, children: map[string]param{"ip_address": {}, "user_agent": {}}},
		"offline":     {kind: kObject, children: map[string]param{}},
	}},
}}

var pmOptionsParam = param{kind: kObject, children: map[string]param{
	"card":            {kind: kObject, children: map[string]param{"moto": {kind: kBool}}},
	"us_bank_account": {kind: kObject, children: map[string]param{"verification_method": {}}},
}}

// confirmFields are the confirmation parameters, accepted by confirm and
// by create with confirm=true.
var confirmFields = map[string]param{
	"payment_method":         {},
	"off_session":            {kind: kBool},
	"setup_future_usage":     {},
	"receipt_email":          {},
	"payment_method_options": pmOptionsParam,
	"mandate_data":           mandateDataParam,
	"return_url":             {},
	// error_on_requires_action fails a confirmation that would need the
	// customer (3-D Secure) instead of leaving it in requires_action.
	"error_on_requires_action": {kind: kBool},
}

var createIntentFields = merge(confirmFields, map[string]param{
	"amount":               {kind: kInt},
	"currency":             {},
	"customer":             {},
	"confirm":              {kind: kBool},
	"metadata":             {kind: kMap},
	"description":          {},
	"payment_method_types": {kind: kList},
	"capture_method":       {},
	"automatic_payment_methods": {kind: kObject, children: map[string]param{
		"enabled": {kind: kBool}, "allow_redirects": {},
	}},
})

// piExpansions are the expand[] paths emulated on a single PaymentIntent.
var piExpansions = []string{"latest_charge"}

func paymentIntentEndpoints() []endpoint {
	return []endpoint{
		{
			method: http.MethodPost, path: "/v1/payment_intents",
			params: withCommon(createIntentFields),
			notEmulated: []string{"application_fee_amount", "confirmation_method",
				"mandate", "on_behalf_of", "payment_method_configuration", "payment_method_data", "radar_options",
				"shipping", "statement_descriptor", "statement_descriptor_suffix", "transfer_data",
				"transfer_group", "use_stripe_sdk"},
			check: checkCreateIntent,
			run:   (*Server).createIntent,
		},
		{
			method: http.MethodGet, path: "/v1/payment_intents/{id}",
			params: withCommon(map[string]param{"client_secret": {}}),
			check:  checkIntentExpand,
			run:    (*Server).retrieveIntent,
		},
		{
			method: http.MethodPost, path: "/v1/payment_intents/{id}",
			params: withCommon(map[string]param{"metadata": {kind: kMap}, "description": {}, "receipt_email": {}}),
			notEmulated: []string{"amount", "application_fee_amount", "capture_method", "currency", "customer",
				"payment_method", "payment_method_configuration", "payment_method_data", "payment_method_options",
				"payment_method_types", "setup_future_usage", "shipping", "statement_descriptor",
				"statement_descriptor_suffix", "transfer_data", "transfer_group"},
			check: checkUpdateIntent,
			run:   (*Server).updateIntent,
		},
		{
			method: http.MethodPost, path: "/v1/payment_intents/{id}/confirm",
			params: withCommon(confirmFields),
			notEmulated: []string{"capture_method", "mandate", "payment_method_data",
				"payment_method_types", "radar_options", "shipping", "use_stripe_sdk"},
			check: checkConfirmIntent,
			run:   (*Server).confirmIntent,
		},
		{
			method: http.MethodPost, path: "/v1/payment_intents/{id}/cancel",
			params: withCommon(map[string]param{"cancellation_reason": {}}),
			check:  checkCancelIntent,
			run:    (*Server).cancelIntent,
		},
		{
			method: http.MethodGet, path: "/v1/payment_intents",
			params: withCommon(merge(listParams, map[string]param{
				"created":  {kind: kRange},
				"customer": {},
			})),
			check: checkListIntents,
			run:   (*Server).listIntents,
		},
	}
}

// The 2023-08-16 rule (automatic payment methods on by default) and the
// error Stripe gives when a confirmation breaks it.
const msgReturnURLRequired = "This PaymentIntent is configured to accept payment methods enabled in your Dashboard. Because some of these payment methods might redirect your customer off of your page, you must provide a `return_url`. If you don't want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents."

// maxAmount is Stripe's eight-digit limit on amounts.
const maxAmount = 99999999

func missingParam(name string) *apiError {
	return invalidParam("parameter_missing", name, "Missing required param: %s.", name)
}

// formatAmount writes an amount as Stripe's messages do: "$0.50" for USD,
// "0.50 eur" otherwise.
func formatAmount(amount int64, currency string) string {
	m := stripesync.Money{Amount: amount, Currency: strings.ToUpper(currency)}
	if currency == "usd" {
		return "$" + m.Decimal()
	}
	return m.Decimal() + " " + currency
}

func checkCreateIntent(f form) *apiError {
	amount, ok := f.str("amount")
	if !ok || amount == "" {
		return missingParam("amount")
	}
	cur, ok := f.str("currency")
	if !ok || cur == "" {
		return missingParam("currency")
	}
	code, err := stripesync.NormalizeCurrency(cur)
	if err != nil {
		return invalidParam("", "currency", "Invalid currency: %s. Stripe currently supports these currencies: usd, eur, gbp, …", cur)
	}
	n := f.int("amount", 0)
	if n < 1 {
		return invalidParam("parameter_invalid_integer", "amount", "This value must be greater than or equal to 1.")
	}
	lower := strings.ToLower(code)
	if min, ok := stripesync.MinimumCharge(code); ok && n < min.Amount {
		return invalidParam("amount_too_small", "amount", "Amount must be at least %s %s", formatAmount(min.Amount, lower), lower)
	}
	if n > maxAmount {
		return invalidParam("amount_too_large", "amount", "Amount must be no more than %s", formatAmount(maxAmount, lower))
	}
	types, _ := f["payment_method_types"].([]string)
	for _, t := range types {
		if t != typeCardPM && t != typeBankPM {
			return invalidRequest(http.StatusBadRequest, "emulator_unsupported", "payment_method_types",
				"stripetest: payment method type %q is not emulated (card and us_bank_account are)", t)
		}
	}
	if apm, ok := f["automatic_payment_methods"].(form); ok {
		if e, _ := apm.str("enabled"); e == "" {
			return missingParam("automatic_payment_methods[enabled]")
		}
		if e, _ := apm.str("enabled"); e == "true" && len(types) > 0 {
			return invalidParam("", "automatic_payment_methods",
				"You may only specify one of these parameters: automatic_payment_methods, payment_method_types.")
		}
		switch r, _ := apm.str("allow_redirects"); r {
		case "", "always", "never":
		default:
			return invalidParam("", "automatic_payment_methods[allow_redirects]",
				"Invalid automatic_payment_methods[allow_redirects]: must be one of always or never")
		}
	}
	switch m, _ := f.str("capture_method"); m {
	case "", "automatic", "automatic_async":
	case "manual":
		return invalidRequest(http.StatusBadRequest, "emulator_unsupported", "capture_method",
			"stripetest: capture_method=manual is not emulated")
	default:
		return invalidParam("", "capture_method",
			"Invalid capture_method: must be one of automatic, automatic_async, or manual")
	}
	if c, _ := f.str("confirm"); c != "true" {
		for _, name := range []string{"off_session", "mandate_data", "return_url"} {
			if _, sent := f[name]; sent {
				return invalidParam("", name, "You can only use `%s` when `confirm` is set to true.", name)
			}
		}
	}
	if err := checkMetadata(f); err != nil {
		return err
	}
	if err := checkConfirmation(f); err != nil {
		return err
	}
	return checkIntentExpand(f)
}

// checkConfirmation validates the confirmation parameters.
func checkConfirmation(f form) *apiError {
	switch u, _ := f.str("setup_future_usage"); u {
	case "", "on_session", "off_session":
	default:
		return invalidParam("", "setup_future_usage", "Invalid setup_future_usage: must be one of on_session or off_session")
	}
	if e, _ := f.str("receipt_email"); e != "" && !validEmail(e) {
		return invalidParam("email_invalid", "receipt_email", "Invalid email address: %s", e)
	}
	if opts, ok := f["payment_method_options"].(form); ok {
		if bank, ok := opts["us_bank_account"].(form); ok {
			switch v, _ := bank.str("verification_method"); v {
			case "", "automatic", "instant", "microdeposits":
			default:
				return invalidParam("", "payment_method_options[us_bank_account][verification_method]",
					"Invalid verification_method: must be one of automatic, instant, or microdeposits")
			}
		}
	}
	if md, ok := f["mandate_data"].(form); ok {
		ca, _ := md["customer_acceptance"].(form)
		switch t, _ := ca.str("type"); t {
		case "online", "offline":
		case "":
			return missingParam("mandate_data[customer_acceptance][type]")
		default:
			return invalidParam("", "mandate_data[customer_acceptance][type]",
				"Invalid mandate_data[customer_acceptance][type]: must be one of online or offline")
		}
	}
	return nil
}

func checkIntentExpand(f form) *apiError {
	_, err := expansions(f, piExpansions...)
	return err
}

func checkConfirmIntent(f form) *apiError {
	if err := checkConfirmation(f); err != nil {
		return err
	}
	return checkIntentExpand(f)
}

func checkUpdateIntent(f form) *apiError {
	if e, _ := f.str("receipt_email"); e != "" && !validEmail(e) {
		return invalidParam("email_invalid", "receipt_email", "Invalid email address: %s", e)
	}
	if err := checkMetadata(f); err != nil {
		return err
	}
	return checkIntentExpand(f)
}

func checkCancelIntent(f form) *apiError {
	switch r, _ := f.str("cancellation_reason"); r {
	case "", "duplicate", "fraudulent", "requested_by_customer", "abandoned":
	default:
		return invalidParam("", "cancellation_reason",
			"Invalid cancellation_reason: must be one of duplicate, fraudulent, requested_by_customer, or abandoned")
	}
	return checkIntentExpand(f)
}

func checkListIntents(f form) *apiError {
	if err := checkList(f); err != nil {
		return err
	}
	_, err := expansions(f, "data.latest_charge")
	return err
}

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

func (s *Server) createIntent(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, aerr := s.newIntent(c.scope, c.origin(), c.params, false)
	if aerr != nil {
		return nil, aerr
	}
	return s.renderIntent(r, s.expandFor(c.params)), nil
}

// newIntent creates a PaymentIntent from create parameters that passed
// checkCreateIntent and, with confirm=true, confirms it. authenticated
// marks a confirmation made on a page where the customer completed 3D
// Secure. It returns the record when it was created, with the 402 of a
// failed confirmation. The caller holds s.mu.
func (s *Server) newIntent(sc scope, o origin, f form, authenticated bool) (*intentRecord, *apiError) {
	cur, _ := f.str("currency")
	r := &intentRecord{
		PaymentIntent: PaymentIntent{
			ID:       newID("pi_"),
			Account:  sc.account,
			Livemode: sc.livemode,
			Amount:   f.int("amount", 0),
			Currency: strings.ToLower(cur),
			Metadata: map[string]string{},
			Status:   piRequiresPaymentMethod,
			Created:  s.clock(),
		},
		verification: "automatic",
	}
	r.clientSecret = r.ID + "_secret_" + newID("")
	if cus, _ := f.str("customer"); cus != "" {
		if cr, ok := s.customers.get(sc, cus); !ok || cr.Deleted {
			return nil, invalidRequest(http.StatusBadRequest, "resource_missing", "customer", "No such customer: '%s'", cus)
		}
		r.Customer = cus
	}
	r.Description, _ = f.str("description")
	r.ReceiptEmail, _ = f.str("receipt_email")
	r.SetupFutureUsage, _ = f.str("setup_future_usage")
	r.CaptureMethod = cmpOr(str(f, "capture_method"), "automatic")
	applyMetadata(r.Metadata, f)
	if opts, ok := f["payment_method_options"].(form); ok {
		if bank, ok := opts["us_bank_account"].(form); ok {
			r.verification = cmpOr(str(bank, "verification_method"), "automatic")
		}
	}
	types, _ := f["payment_method_types"].([]string)
	apm, _ := f["automatic_payment_methods"].(form)
	switch {
	case len(types) > 0:
		r.PaymentMethodTypes = slices.Clone(types)
	case apm != nil && apm["enabled"] == "false":
		// Neither: Stripe falls back to card.
		r.PaymentMethodTypes = []string{typeCardPM}
	default:
		// Since 2023-08-16 automatic payment methods are on by default.
		r.AutomaticPaymentMethods = true
		r.allowRedirects = cmpOr(str(apm, "allow_redirects"), "always")
		r.PaymentMethodTypes = []string{typeCardPM}
		if r.Currency == "usd" {
			r.PaymentMethodTypes = append(r.PaymentMethodTypes, typeBankPM)
		}
	}
	var pm *paymentMethod
	if id, _ := f.str("payment_method"); id != "" {
		var aerr *apiError
		if pm, aerr = s.resolveMethod(sc, id); aerr != nil {
			return nil, aerr
		}
		if aerr := r.accepts(pm); aerr != nil {
			return nil, aerr
		}
		r.PaymentMethod = pm.id
		r.Status = piRequiresConfirmation
	}
	confirm := f["confirm"] == "true"
	cf := confirmationFrom(f)
	cf.pm = pm
	cf.authenticated = authenticated
	if confirm {
		if aerr := s.checkConfirm(r, &cf); aerr != nil {
			return nil, aerr
		}
	}
	r.seq = s.pay.next()
	s.pay.intents[r.ID] = r
	s.emit(sc, o, "payment_intent.created", s.renderIntent(r, nil), nil)
	if confirm {
		return r, s.attempt(o, r, cf)
	}
	return r, nil
}

// str is a scalar parameter of f, "" when absent; f may be nil.
func str(f form, name string) string {
	v, _ := f[name].(string)
	return v
}

func (s *Server) expandFor(f form) map[string]bool {
	exp, _ := expansions(f, piExpansions...) // validated by the check
	return exp
}

// intent returns a PaymentIntent the scope may see.
func (s *Server) intent(sc scope, id string) (*intentRecord, *apiError) {
	r, ok := s.pay.intents[id]
	if !ok || !sc.sees(r.Account, r.Livemode) {
		return nil, noSuch("payment_intent", id)
	}
	return r, nil
}

func (s *Server) retrieveIntent(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, aerr := s.intent(c.scope, c.path["id"])
	if aerr != nil {
		return nil, aerr
	}
	return s.renderIntent(r, s.expandFor(c.params)), nil
}

func (s *Server) updateIntent(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, aerr := s.intent(c.scope, c.path["id"])
	if aerr != nil {
		return nil, aerr
	}
	md := maps.Clone(r.Metadata)
	applyMetadata(md, c.params)
	if len(md) > maxMetadataKeys {
		return nil, tooManyKeys()
	}
	r.Metadata = md
	if v, ok := c.params.str("description"); ok {
		r.Description = v
	}
	if v, ok := c.params.str("receipt_email"); ok {
		r.ReceiptEmail = v
	}
	return s.renderIntent(r, s.expandFor(c.params)), nil
}

// unexpectedState is Stripe's answer to an action the PaymentIntent's
// status does not allow.
func (s *Server) unexpectedState(r *intentRecord, action string, allowed ...string) *apiError {
	e := invalidParam("payment_intent_unexpected_state", "",
		"You cannot %s this PaymentIntent because it has a status of %s. Only a PaymentIntent with one of the following statuses may be %s: %s.",
		action, r.Status, pastTense(action), strings.Join(allowed, ", "))
	e.PaymentIntent = s.renderIntent(r, nil)
	return e
}

func pastTense(verb string) string {
	if strings.HasSuffix(verb, "e") {
		return verb + "d"
	}
	return verb + "ed"
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
	if tm.needsAuth && !cf.moto && !cf.authenticated {
		if !cf.offSession && !cf.errorOnAction {
			r.Status = piRequiresAction
			s.emit(sc, o, "payment_intent.requires_action", s.renderIntent(r, nil), nil)
			return nil
		}
		fails = &failure{code: "authentication_required", declineCode: "authentication_required", message: msgAuth}
	}
	if tm.kind == typeBankPM && cf.microdeposits {
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

func (s *Server) cancelIntent(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, aerr := s.intent(c.scope, c.path["id"])
	if aerr != nil {
		return nil, aerr
	}
	allowed := []string{piRequiresPaymentMethod, piRequiresCapture, piRequiresConfirmation, piRequiresAction, piProcessing}
	if !slices.Contains(allowed, r.Status) {
		return nil, s.unexpectedState(r, "cancel", allowed...)
	}
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	if ch, ok := s.pay.charges[r.LatestCharge]; ok && ch.Status == "pending" {
		ch.fail(&failure{code: "payment_intent_canceled", message: "The PaymentIntent was canceled before the debit settled."})
	}
	r.Status = piCanceled
	r.CanceledAt = s.clock()
	r.CancellationReason, _ = c.params.str("cancellation_reason")
	s.emit(c.scope, c.origin(), "payment_intent.canceled", s.renderIntent(r, nil), nil)
	return s.renderIntent(r, s.expandFor(c.params)), nil
}

func (s *Server) listIntents(c *call) (any, *apiError) {
	exp, _ := expansions(c.params, "data.latest_charge")
	s.mu.Lock()
	defer s.mu.Unlock()
	customer, filterCustomer := c.params.str("customer")
	created, filterCreated := c.params["created"]
	var items []*intentRecord
	for _, r := range s.pay.intents {
		switch {
		case !c.scope.sees(r.Account, r.Livemode),
			filterCustomer && customer != "" && r.Customer != customer,
			filterCreated && !inRange(created, r.Created.Unix()):
			continue
		}
		items = append(items, r)
	}
	slices.SortFunc(items, func(a, b *intentRecord) int { return cmp.Compare(b.seq, a.seq) })
	page, more, aerr := paginate(items, func(r *intentRecord) string { return r.ID }, c.params, "payment_intent")
	if aerr != nil {
		return nil, aerr
	}
	one := map[string]bool{"latest_charge": exp["data.latest_charge"]}
	out := &listObject{Object: "list", URL: "/v1/payment_intents", HasMore: more, Data: []any{}}
	for _, r := range page {
		out.Data = append(out.Data, s.renderIntent(r, one))
	}
	return out, nil
}

// PaymentIntents returns every PaymentIntent of every scope, oldest first.
func (s *Server) PaymentIntents() []PaymentIntent {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := slices.Collect(maps.Values(s.pay.intents))
	slices.SortFunc(recs, func(a, b *intentRecord) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]PaymentIntent, len(recs))
	for i, r := range recs {
		out[i] = r.clone()
	}
	return out
}
