package stripetest

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
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
	r.stopSettle()
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
