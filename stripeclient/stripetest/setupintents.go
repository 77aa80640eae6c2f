package stripetest

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// SetupIntent statuses (the PaymentIntent ones that apply, without
// processing, which ACH setups skip in test mode).
const (
	siRequiresPaymentMethod = "requires_payment_method"
	siRequiresConfirmation  = "requires_confirmation"
	siRequiresAction        = "requires_action"
	siSucceeded             = "succeeded"
	siCanceled              = "canceled"
)

// setupRecord is a SetupIntent: it saves a method on a customer for later
// payments, without charging it.
type setupRecord struct {
	id             string
	account        string
	livemode       bool
	customer       string
	paymentMethod  string
	status         string
	usage          string // off_session (default) or on_session
	methodTypes    []string
	automatic      bool
	allowRedirects string
	verification   string
	metadata       map[string]string
	description    string
	lastError      *PaymentError
	failedMethod   *paymentMethod
	mandate        string
	micro          *microdeposits
	clientSecret   string
	session        string // the Checkout Session that made it
	cancelReason   string
	seq            int64
	created        time.Time
}

var siConfirmFields = map[string]param{
	"payment_method":         {},
	"payment_method_options": pmOptionsParam,
	"mandate_data":           mandateDataParam,
	"return_url":             {},
}

var siCreateFields = merge(siConfirmFields, map[string]param{
	"customer":             {},
	"confirm":              {kind: kBool},
	"usage":                {},
	"metadata":             {kind: kMap},
	"description":          {},
	"payment_method_types": {kind: kList},
	"automatic_payment_methods": {kind: kObject, children: map[string]param{
		"enabled": {kind: kBool}, "allow_redirects": {},
	}},
})

func setupIntentEndpoints() []endpoint {
	return []endpoint{
		{
			method: http.MethodPost, path: "/v1/setup_intents",
			params: withCommon(siCreateFields),
			notEmulated: []string{"attach_to_self", "flow_directions", "on_behalf_of", "payment_method_configuration",
				"payment_method_data", "single_use", "use_stripe_sdk"},
			check: checkCreateSetup,
			run:   (*Server).createSetup,
		},
		{
			method: http.MethodGet, path: "/v1/setup_intents/{id}",
			params: withCommon(map[string]param{"client_secret": {}}),
			check:  checkNoExpand,
			run:    (*Server).retrieveSetup,
		},
		{
			method: http.MethodPost, path: "/v1/setup_intents/{id}/confirm",
			params:      withCommon(siConfirmFields),
			notEmulated: []string{"payment_method_data", "use_stripe_sdk"},
			check:       checkConfirmSetup,
			run:         (*Server).confirmSetupCall,
		},
		{
			method: http.MethodPost, path: "/v1/setup_intents/{id}/cancel",
			params: withCommon(map[string]param{"cancellation_reason": {}}),
			check:  checkCancelSetup,
			run:    (*Server).cancelSetup,
		},
	}
}

func checkCreateSetup(f form) *apiError {
	switch u, _ := f.str("usage"); u {
	case "", "on_session", "off_session":
	default:
		return invalidParam("", "usage", "Invalid usage: must be one of on_session or off_session")
	}
	types, _ := f["payment_method_types"].([]string)
	for _, t := range types {
		if t != typeCardPM && t != typeBankPM {
			return invalidRequest(http.StatusBadRequest, "emulator_unsupported", "payment_method_types",
				"stripetest: payment method type %q is not emulated (card and us_bank_account are)", t)
		}
	}
	if apm, ok := f["automatic_payment_methods"].(form); ok && apm["enabled"] == "true" && len(types) > 0 {
		return invalidParam("", "automatic_payment_methods",
			"You may only specify one of these parameters: automatic_payment_methods, payment_method_types.")
	}
	if c, _ := f.str("confirm"); c != "true" {
		for _, name := range []string{"mandate_data", "return_url"} {
			if _, sent := f[name]; sent {
				return invalidParam("", name, "You can only use `%s` when `confirm` is set to true.", name)
			}
		}
	}
	if err := checkMetadata(f); err != nil {
		return err
	}
	return checkConfirmSetup(f)
}

func checkConfirmSetup(f form) *apiError {
	if err := checkConfirmation(f); err != nil {
		return err
	}
	return checkNoExpand(f)
}

func checkCancelSetup(f form) *apiError {
	switch r, _ := f.str("cancellation_reason"); r {
	case "", "abandoned", "requested_by_customer", "duplicate":
	default:
		return invalidParam("", "cancellation_reason",
			"Invalid cancellation_reason: must be one of abandoned, requested_by_customer, or duplicate")
	}
	return checkNoExpand(f)
}

// newSetup creates a SetupIntent from create parameters that passed
// checkCreateSetup (without confirming it). The caller holds s.mu.
func (s *Server) newSetup(sc scope, o origin, f form) (*setupRecord, *apiError) {
	si := &setupRecord{
		id: newID("seti_"), account: sc.account, livemode: sc.livemode, status: siRequiresPaymentMethod,
		usage: cmpOr(str(f, "usage"), "off_session"), metadata: map[string]string{},
		verification: "automatic", seq: s.pay.next(), created: s.clock(),
	}
	si.clientSecret = si.id + "_secret_" + newID("")
	if cus := str(f, "customer"); cus != "" {
		if cr, ok := s.customers.get(sc, cus); !ok || cr.Deleted {
			return nil, invalidRequest(http.StatusBadRequest, "resource_missing", "customer", "No such customer: '%s'", cus)
		}
		si.customer = cus
	}
	si.description = str(f, "description")
	applyMetadata(si.metadata, f)
	if opts, ok := f["payment_method_options"].(form); ok {
		if bank, ok := opts["us_bank_account"].(form); ok {
			si.verification = cmpOr(str(bank, "verification_method"), "automatic")
		}
	}
	types, _ := f["payment_method_types"].([]string)
	apm, _ := f["automatic_payment_methods"].(form)
	switch {
	case len(types) > 0:
		si.methodTypes = slices.Clone(types)
	case apm != nil && apm["enabled"] == "false":
		si.methodTypes = []string{typeCardPM}
	default:
		si.automatic = true
		si.allowRedirects = cmpOr(str(apm, "allow_redirects"), "always")
		si.methodTypes = []string{typeCardPM, typeBankPM}
	}
	if id := str(f, "payment_method"); id != "" {
		pm, aerr := s.resolveMethod(sc, id)
		if aerr != nil {
			return nil, aerr
		}
		if aerr := si.accepts(pm); aerr != nil {
			return nil, aerr
		}
		si.paymentMethod = pm.id
		si.status = siRequiresConfirmation
	}
	s.pay.setups[si.id] = si
	s.emit(sc, o, "setup_intent.created", s.renderSetup(si), nil)
	return si, nil
}

func (si *setupRecord) accepts(pm *paymentMethod) *apiError {
	if !slices.Contains(si.methodTypes, pm.method.kind) {
		return invalidParam("", "payment_method",
			"The PaymentMethod provided (%s) is not allowed for this SetupIntent. Please attach a PaymentMethod of one of the following types: %s.",
			pm.method.kind, strings.Join(si.methodTypes, ", "))
	}
	if pm.customer != "" && pm.customer != si.customer {
		return invalidParam("", "payment_method",
			"The payment_method parameter supplied %s belongs to the Customer %s. Please include the Customer in the customer parameter on the SetupIntent.",
			pm.id, pm.customer)
	}
	return nil
}

// setupConfirmation is one confirmation of a SetupIntent.
type setupConfirmation struct {
	pm            *paymentMethod
	mandate       bool
	returnURL     string
	authenticated bool // 3D Secure completed on a page
	microdeposits bool // bank account entered by hand on a page
}

func (s *Server) createSetup(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	si, aerr := s.newSetup(c.scope, c.origin(), c.params)
	if aerr != nil {
		return nil, aerr
	}
	if c.params["confirm"] == "true" {
		cf := setupConfirmation{returnURL: str(c.params, "return_url")}
		_, cf.mandate = c.params["mandate_data"].(form)
		if aerr := s.confirmSetup(c.origin(), si, cf); aerr != nil {
			return nil, aerr
		}
	}
	return s.renderSetup(si), nil
}

func (s *Server) setup(sc scope, id string) (*setupRecord, *apiError) {
	si, ok := s.pay.setups[id]
	if !ok || !sc.sees(si.account, si.livemode) {
		return nil, noSuch("setup_intent", id)
	}
	return si, nil
}

func (s *Server) retrieveSetup(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	si, aerr := s.setup(c.scope, c.path["id"])
	if aerr != nil {
		return nil, aerr
	}
	return s.renderSetup(si), nil
}

func (s *Server) confirmSetupCall(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	si, aerr := s.setup(c.scope, c.path["id"])
	if aerr != nil {
		return nil, aerr
	}
	cf := setupConfirmation{returnURL: str(c.params, "return_url")}
	_, cf.mandate = c.params["mandate_data"].(form)
	if id := str(c.params, "payment_method"); id != "" {
		if cf.pm, aerr = s.resolveMethod(c.scope, id); aerr != nil {
			return nil, aerr
		}
	}
	if aerr := s.confirmSetup(c.origin(), si, cf); aerr != nil {
		return nil, aerr
	}
	return s.renderSetup(si), nil
}

// confirmSetup checks and runs one confirmation of si. The caller holds
// s.mu.
func (s *Server) confirmSetup(o origin, si *setupRecord, cf setupConfirmation) *apiError {
	if si.status != siRequiresPaymentMethod && si.status != siRequiresConfirmation {
		return invalidParam("setup_intent_unexpected_state", "",
			"You cannot confirm this SetupIntent because it has a status of %s. Only a SetupIntent with one of the following statuses may be confirmed: requires_payment_method, requires_confirmation.",
			si.status)
	}
	if cf.pm == nil && si.paymentMethod != "" {
		cf.pm = s.pay.methods[si.paymentMethod]
	}
	if cf.pm == nil {
		return invalidParam("setup_intent_unexpected_state", "payment_method",
			"You cannot confirm this SetupIntent because it's missing a payment method. Update the SetupIntent with a payment method and then confirm it again.")
	}
	if aerr := si.accepts(cf.pm); aerr != nil {
		return aerr
	}
	if si.automatic && si.allowRedirects != "never" && cf.returnURL == "" {
		return invalidRequest(http.StatusBadRequest, "", "", msgReturnURLRequired)
	}
	if cf.pm.method.kind == typeBankPM && !cf.mandate && !cf.pm.mandated {
		return invalidParam("", "mandate_data",
			"A mandate is required to set up this us_bank_account PaymentMethod: pass mandate_data[customer_acceptance].")
	}
	s.setupAttempt(o, si, cf)
	if si.status == siRequiresPaymentMethod && si.lastError != nil && si.lastError.Type == typeCard {
		e := si.lastError
		return &apiError{
			status: http.StatusPaymentRequired, Type: typeCard, Code: e.Code, DeclineCode: e.DeclineCode,
			Message: e.Message, DocURL: docURL(e.Code), SetupIntent: s.renderSetup(si),
			PaymentMethod: s.renderMethod(si.failedMethod),
		}
	}
	return nil
}

// setupAttempt moves si as Stripe does for one confirmation: a decline
// card fails, a card that asks for 3D Secure or a bank account entered by
// hand waits in requires_action, anything else succeeds and is attached
// to the customer. The caller holds s.mu.
func (s *Server) setupAttempt(o origin, si *setupRecord, cf setupConfirmation) {
	sc := scope{account: si.account, livemode: si.livemode}
	pm := cf.pm
	tm := pm.method
	si.paymentMethod = pm.id
	si.lastError, si.failedMethod = nil, nil
	switch {
	case !tm.attachable():
		f := tm.fails
		si.status = siRequiresPaymentMethod
		si.paymentMethod = ""
		si.lastError = &PaymentError{Type: typeCard, Code: f.code, DeclineCode: f.declineCode, Message: f.message}
		si.failedMethod = pm
		s.emit(sc, o, "setup_intent.setup_failed", s.renderSetup(si), nil)
		return
	case tm.needsAuth && !cf.authenticated:
		si.status = siRequiresAction
		s.emit(sc, o, "setup_intent.requires_action", s.renderSetup(si), nil)
		return
	case needsMicrodeposits(pm, cf.microdeposits):
		si.status = siRequiresAction
		si.micro = s.startMicrodeposits(si.id)
		s.emit(sc, o, "setup_intent.requires_action", s.renderSetup(si), nil)
		return
	}
	s.succeedSetup(o, si, pm)
}

// succeedSetup ends si well: the method is saved (with a mandate for a
// bank account) and attached to the customer. The caller holds s.mu.
func (s *Server) succeedSetup(o origin, si *setupRecord, pm *paymentMethod) {
	sc := scope{account: si.account, livemode: si.livemode}
	si.status = siSucceeded
	if pm.method.kind == typeBankPM {
		pm.mandated = true
		si.mandate = newID("mandate_")
	}
	s.emit(sc, o, "setup_intent.succeeded", s.renderSetup(si), nil)
	if si.customer != "" && pm.customer == "" {
		s.attachMethod(o, pm, si.customer)
	}
}

// failSetup ends si's requires_action step as failed (3D Secure or
// micro-deposits). The caller holds s.mu.
func (s *Server) failSetup(o origin, si *setupRecord, f *failure) {
	pm := s.pay.methods[si.paymentMethod]
	si.status = siRequiresPaymentMethod
	si.paymentMethod = ""
	si.micro = nil
	si.lastError = &PaymentError{Type: typeInvalidRequest, Code: f.code, Message: f.message}
	si.failedMethod = pm
	s.emit(scope{account: si.account, livemode: si.livemode}, o, "setup_intent.setup_failed", s.renderSetup(si), nil)
}

func (s *Server) cancelSetup(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	si, aerr := s.setup(c.scope, c.path["id"])
	if aerr != nil {
		return nil, aerr
	}
	if si.status == siSucceeded || si.status == siCanceled {
		return nil, invalidParam("setup_intent_unexpected_state", "",
			"You cannot cancel this SetupIntent because it has a status of %s.", si.status)
	}
	si.status = siCanceled
	si.cancelReason = str(c.params, "cancellation_reason")
	if si.micro != nil {
		delete(s.pay.micro, si.micro.id)
		si.micro = nil
	}
	s.emit(c.scope, c.origin(), "setup_intent.canceled", s.renderSetup(si), nil)
	return s.renderSetup(si), nil
}

func (s *Server) verifySetupMicro(c *call) (any, *apiError) {
	v, _ := microFrom(c.params)
	s.mu.Lock()
	defer s.mu.Unlock()
	si, aerr := s.setup(c.scope, c.path["id"])
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.verifySetupLocked(c.origin(), si, v); aerr != nil {
		return nil, aerr
	}
	return s.renderSetup(si), nil
}

// verifySetupLocked verifies si's micro-deposits. The caller holds s.mu.
func (s *Server) verifySetupLocked(o origin, si *setupRecord, v microValues) *apiError {
	if si.status != siRequiresAction || si.micro == nil {
		return invalidParam("setup_intent_unexpected_state", "",
			"This SetupIntent's microdeposits cannot be verified because it has a status of %s and has no microdeposits to verify.", si.status)
	}
	ok, end, aerr := si.micro.verify(v)
	if aerr != nil {
		return aerr
	}
	m := si.micro
	si.micro = nil
	m.state = "verified"
	if !ok {
		m.state = "failed"
		s.failSetup(o, si, end)
		return invalidParam(end.code, "", "%s", end.message)
	}
	pm := s.pay.methods[si.paymentMethod]
	pm.unverified = false
	s.succeedSetup(o, si, pm)
	return nil
}

// setupIntentJSON is the SetupIntent object (API 2023-10-16).
type setupIntentJSON struct {
	ID                                string             `json:"id"`
	Object                            string             `json:"object"`
	Application                       *string            `json:"application"`
	AutomaticPaymentMethods           *apmJSON           `json:"automatic_payment_methods"`
	CancellationReason                *string            `json:"cancellation_reason"`
	ClientSecret                      string             `json:"client_secret"`
	Created                           int64              `json:"created"`
	Customer                          *string            `json:"customer"`
	Description                       *string            `json:"description"`
	FlowDirections                    *[]string          `json:"flow_directions"`
	LastSetupError                    *paymentErrorJSON  `json:"last_setup_error"`
	LatestAttempt                     *string            `json:"latest_attempt"`
	Livemode                          bool               `json:"livemode"`
	Mandate                           *string            `json:"mandate"`
	Metadata                          map[string]string  `json:"metadata"`
	NextAction                        *nextActionJSON    `json:"next_action"`
	OnBehalfOf                        *string            `json:"on_behalf_of"`
	PaymentMethod                     *string            `json:"payment_method"`
	PaymentMethodConfigurationDetails *struct{}          `json:"payment_method_configuration_details"`
	PaymentMethodOptions              siMethodOptionJSON `json:"payment_method_options"`
	PaymentMethodTypes                []string           `json:"payment_method_types"`
	SingleUseMandate                  *string            `json:"single_use_mandate"`
	Status                            string             `json:"status"`
	Usage                             string             `json:"usage"`
}

type siMethodOptionJSON struct {
	Card          *siCardOptionsJSON `json:"card,omitempty"`
	USBankAccount *pmOptionsBankJSON `json:"us_bank_account,omitempty"`
}

type siCardOptionsJSON struct {
	MandateOptions      *struct{} `json:"mandate_options"`
	Network             *string   `json:"network"`
	RequestThreeDSecure string    `json:"request_three_d_secure"`
}

func (s *Server) renderSetup(si *setupRecord) setupIntentJSON {
	out := setupIntentJSON{
		ID: si.id, Object: "setup_intent", ClientSecret: si.clientSecret, Created: si.created.Unix(),
		Customer: nullable(si.customer), Description: nullable(si.description), Livemode: si.livemode,
		Mandate: nullable(si.mandate), Metadata: maps.Clone(si.metadata), PaymentMethod: nullable(si.paymentMethod),
		PaymentMethodTypes: slices.Clone(si.methodTypes), Status: si.status, Usage: si.usage,
	}
	if si.automatic {
		out.AutomaticPaymentMethods = &apmJSON{AllowRedirects: si.allowRedirects, Enabled: true}
	}
	if si.status == siCanceled {
		out.CancellationReason = nullable(si.cancelReason)
	}
	out.LastSetupError = s.renderPaymentError(si.lastError, si.failedMethod)
	if si.status == siRequiresAction {
		out.NextAction = s.nextAction(si.micro)
	}
	for _, t := range si.methodTypes {
		switch t {
		case typeCardPM:
			out.PaymentMethodOptions.Card = &siCardOptionsJSON{RequestThreeDSecure: "automatic"}
		case typeBankPM:
			out.PaymentMethodOptions.USBankAccount = &pmOptionsBankJSON{VerificationMethod: si.verification}
		}
	}
	return out
}
