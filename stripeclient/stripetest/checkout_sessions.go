package stripetest

import (
	"cmp"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

// Checkout Sessions (API 2023-10-16) in mode payment and setup: create,
// retrieve, list and expire. The customer pays on the hosted page at the
// session's url (checkout_page.go); both it and the CompleteCheckout hook
// finish a session through checkout_complete.go.

type sessionRecord struct {
	id       string
	account  string
	livemode bool
	mode     string // payment or setup
	customer string
	items    []lineItem
	amount   int64  // amount_total; 0 in setup mode
	currency string // lower case; "" in setup mode without currency
	metadata map[string]string
	// payment_intent_data and setup_intent_data: what the intent gets.
	piMetadata       map[string]string
	piDescription    string
	setupFutureUsage string
	siMetadata       map[string]string
	siDescription    string
	verification     string   // payment_method_options[us_bank_account][verification_method]
	permissions      []string // …[financial_connections][permissions]
	clientRef        string
	successURL       string
	cancelURL        string
	methodTypes      []string
	pi, si           string
	paymentStatus    string // unpaid, paid, no_payment_required
	status           string // open, complete, expired
	email, name      string // customer_details, once the customer paid
	seq              int64
	created          time.Time
	expiresAt        time.Time
}

type lineItem struct {
	name     string
	unit     int64
	quantity int64
}

// Checkout Session statuses.
const (
	csOpen     = "open"
	csComplete = "complete"
	csExpired  = "expired"
)

// sessionLifetime is how long a Checkout Session stays open by default,
// and the longest expires_at may ask for; minSessionLifetime the shortest.
const (
	sessionLifetime    = 24 * time.Hour
	minSessionLifetime = 30 * time.Minute
	// expirySlack forgives the time between a client computing expires_at
	// and the emulator reading it.
	expirySlack = time.Minute
)

var lineItemParam = param{kind: kItems, children: map[string]param{
	"price_data": {kind: kObject, children: map[string]param{
		"currency":    {},
		"unit_amount": {kind: kInt},
		"product_data": {kind: kObject, children: map[string]param{
			"name": {}, "description": {},
		}},
	}},
	"quantity": {kind: kInt},
	"price":    {},
}}

var sessionCreateFields = map[string]param{
	"mode":                 {},
	"customer":             {},
	"line_items":           lineItemParam,
	"payment_method_types": {kind: kList},
	"payment_method_options": {kind: kObject, children: map[string]param{
		"us_bank_account": {kind: kObject, children: map[string]param{
			"verification_method": {},
			"financial_connections": {kind: kObject, children: map[string]param{
				"permissions": {kind: kList},
			}},
		}},
	}},
	"payment_intent_data": {kind: kObject, children: map[string]param{
		"metadata": {kind: kMap}, "setup_future_usage": {}, "description": {},
	}},
	"setup_intent_data": {kind: kObject, children: map[string]param{
		"metadata": {kind: kMap}, "description": {},
	}},
	"currency":            {},
	"metadata":            {kind: kMap},
	"success_url":         {},
	"cancel_url":          {},
	"expires_at":          {kind: kInt},
	"client_reference_id": {},
	"ui_mode":             {},
}

func checkoutSessionEndpoints(clock func() time.Time) []endpoint {
	return []endpoint{
		{
			method: http.MethodPost, path: "/v1/checkout/sessions",
			params: withCommon(sessionCreateFields),
			notEmulated: []string{"after_expiration", "allow_promotion_codes", "automatic_tax",
				"billing_address_collection", "consent_collection", "custom_fields", "custom_text",
				"customer_creation", "customer_email", "customer_update", "discounts", "invoice_creation",
				"locale", "payment_method_collection", "payment_method_configuration", "phone_number_collection",
				"redirect_on_completion", "return_url", "shipping_address_collection", "shipping_options",
				"submit_type", "subscription_data", "tax_id_collection"},
			check: func(f form) *apiError { return checkCreateSession(f, clock()) },
			run:   (*Server).createSession,
		},
		{
			method: http.MethodGet, path: "/v1/checkout/sessions/{id}",
			params: withCommon(nil),
			check:  checkNoExpand,
			run:    (*Server).retrieveSession,
		},
		{
			method: http.MethodPost, path: "/v1/checkout/sessions/{id}/expire",
			params: withCommon(nil),
			check:  checkNoExpand,
			run:    (*Server).expireSessionCall,
		},
		{
			method: http.MethodGet, path: "/v1/checkout/sessions",
			params: withCommon(merge(listParams, map[string]param{
				"payment_intent": {}, "customer": {}, "created": {kind: kRange},
			})),
			check: checkListMethods,
			run:   (*Server).listSessions,
		},
	}
}

func validURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// checkCreateSession validates a create at time now.
func checkCreateSession(f form, now time.Time) *apiError {
	mode := str(f, "mode")
	switch mode {
	case "":
		return missingParam("mode")
	case "payment", "setup":
	case "subscription":
		return invalidRequest(http.StatusBadRequest, "emulator_unsupported", "mode", "stripetest: mode=subscription is not emulated")
	default:
		return invalidParam("", "mode", "Invalid mode: must be one of payment, setup, or subscription")
	}
	if ui := str(f, "ui_mode"); ui != "" && ui != "hosted" {
		return invalidRequest(http.StatusBadRequest, "emulator_unsupported", "ui_mode", "stripetest: ui_mode=%s is not emulated", ui)
	}
	success := str(f, "success_url")
	if success == "" {
		return missingParam("success_url")
	}
	for _, name := range []string{"success_url", "cancel_url"} {
		if u := str(f, name); u != "" && !validURL(u) {
			return invalidParam("url_invalid", name, "Not a valid URL")
		}
	}
	if len(str(f, "client_reference_id")) > 200 {
		return invalidParam("", "client_reference_id", "Invalid string: client_reference_id must be at most 200 characters")
	}
	if err := checkSessionExpiry(f, now); err != nil {
		return err
	}
	currency, aerr := checkLineItems(f, mode)
	if aerr != nil {
		return aerr
	}
	if aerr := checkSessionIntentData(f, mode); aerr != nil {
		return aerr
	}
	types, _ := f["payment_method_types"].([]string)
	for _, t := range types {
		if t != typeCardPM && t != typeBankPM {
			return invalidRequest(http.StatusBadRequest, "emulator_unsupported", "payment_method_types",
				"stripetest: payment method type %q is not emulated (card and us_bank_account are)", t)
		}
	}
	if slices.Contains(types, typeBankPM) && currency != "" && currency != "usd" {
		return invalidParam("", "payment_method_types",
			"The currency provided (%s) is invalid for one or more payment method types on this Checkout Session. The payment method type us_bank_account only supports the following currencies: usd.", currency)
	}
	if opts, ok := f["payment_method_options"].(form); ok {
		bank, _ := opts["us_bank_account"].(form)
		switch v := str(bank, "verification_method"); v {
		case "", "automatic", "instant", "microdeposits":
		default:
			return invalidParam("", "payment_method_options[us_bank_account][verification_method]",
				"Invalid verification_method: must be one of automatic, instant, or microdeposits")
		}
		fc, _ := bank["financial_connections"].(form)
		perms, _ := fc["permissions"].([]string)
		for _, p := range perms {
			if !slices.Contains([]string{"payment_method", "balances", "ownership", "transactions"}, p) {
				return invalidParam("", "payment_method_options[us_bank_account][financial_connections][permissions]",
					"Invalid permissions: must be one of payment_method, balances, ownership, or transactions")
			}
		}
	}
	return checkMetadata(f)
}

func checkSessionExpiry(f form, now time.Time) *apiError {
	if v, ok := f.str("expires_at"); !ok || v == "" {
		return nil
	}
	at := time.Unix(f.int("expires_at", 0), 0)
	if at.Before(now.Add(minSessionLifetime - expirySlack)) {
		return invalidParam("", "expires_at",
			"The `expires_at` timestamp must be at least 30 minutes after the Checkout Session is created.")
	}
	if at.After(now.Add(sessionLifetime)) {
		return invalidParam("", "expires_at",
			"The `expires_at` timestamp must be less than 24 hours after the Checkout Session is created.")
	}
	return nil
}

// checkLineItems validates line_items (payment mode only) and returns the
// session's currency.
func checkLineItems(f form, mode string) (string, *apiError) {
	items, _ := f["line_items"].([]form)
	currency := strings.ToLower(str(f, "currency"))
	if mode == "setup" {
		if _, sent := f["line_items"]; sent {
			return "", invalidParam("", "line_items", "You can not pass `line_items` in `setup` mode.")
		}
		return currency, nil
	}
	if len(items) == 0 {
		return "", missingParam("line_items")
	}
	var total int64
	for i, it := range items {
		name := func(field string) string { return "line_items[" + strconv.Itoa(i) + "]" + field }
		if str(it, "price") != "" {
			return "", invalidRequest(http.StatusBadRequest, "emulator_unsupported", name("[price]"),
				"stripetest: line items with a Price id are not emulated; use price_data")
		}
		pd, _ := it["price_data"].(form)
		if pd == nil {
			return "", missingParam(name("[price_data]"))
		}
		cur := strings.ToLower(str(pd, "currency"))
		if cur == "" {
			return "", missingParam(name("[price_data][currency]"))
		}
		if _, err := stripesync.NormalizeCurrency(cur); err != nil {
			return "", invalidParam("", name("[price_data][currency]"), "Invalid currency: %s.", cur)
		}
		if currency != "" && cur != currency {
			return "", invalidParam("", name("[price_data][currency]"),
				"All line items must have the same currency; %s is not %s.", cur, currency)
		}
		currency = cur
		if str(pd, "unit_amount") == "" {
			return "", missingParam(name("[price_data][unit_amount]"))
		}
		pdn, _ := pd["product_data"].(form)
		if str(pdn, "name") == "" {
			return "", missingParam(name("[price_data][product_data][name]"))
		}
		if str(it, "quantity") == "" {
			return "", missingParam(name("[quantity]"))
		}
		unit, qty := pd.int("unit_amount", 0), it.int("quantity", 0)
		if unit < 0 || qty < 1 {
			return "", invalidParam("", name("[quantity]"), "This value must be greater than or equal to 1.")
		}
		total += unit * qty
	}
	code := strings.ToUpper(currency)
	if min, ok := stripesync.MinimumCharge(code); ok && total < min.Amount {
		return "", invalidParam("amount_too_small", "line_items",
			"The Checkout Session's total amount due must add up to at least %s %s", formatAmount(min.Amount, currency), currency)
	}
	if total > maxAmount {
		return "", invalidParam("amount_too_large", "line_items", "Amount must be no more than %s", formatAmount(maxAmount, currency))
	}
	return currency, nil
}

func checkSessionIntentData(f form, mode string) *apiError {
	pid, pidSent := f["payment_intent_data"].(form)
	sid, sidSent := f["setup_intent_data"].(form)
	if mode == "setup" && pidSent {
		return invalidParam("", "payment_intent_data", "You can not pass `payment_intent_data` in `setup` mode.")
	}
	if mode == "payment" && sidSent {
		return invalidParam("", "setup_intent_data", "You can not pass `setup_intent_data` in `payment` mode.")
	}
	switch u := str(pid, "setup_future_usage"); u {
	case "", "on_session", "off_session":
	default:
		return invalidParam("", "payment_intent_data[setup_future_usage]",
			"Invalid setup_future_usage: must be one of on_session or off_session")
	}
	for name, data := range map[string]form{"payment_intent_data": pid, "setup_intent_data": sid} {
		if err := checkMetadata(data); err != nil {
			err.Param = name + "[" + err.Param + "]"
			return err
		}
	}
	return nil
}

// newSession records a session from create parameters that passed
// checkCreateSession. The caller holds s.mu.
func (s *Server) newSession(sc scope, f form) (*sessionRecord, *apiError) {
	now := s.clock()
	sess := &sessionRecord{
		id: newCheckoutID(sc.livemode), account: sc.account, livemode: sc.livemode, mode: str(f, "mode"),
		currency: strings.ToLower(str(f, "currency")), metadata: map[string]string{},
		piMetadata: map[string]string{}, siMetadata: map[string]string{},
		clientRef: str(f, "client_reference_id"), successURL: str(f, "success_url"), cancelURL: str(f, "cancel_url"),
		status: csOpen, paymentStatus: "unpaid", seq: s.pay.next(), created: now, expiresAt: now.Add(sessionLifetime),
	}
	if cus := str(f, "customer"); cus != "" {
		if cr, ok := s.customers.get(sc, cus); !ok || cr.Deleted {
			return nil, invalidRequest(http.StatusBadRequest, "resource_missing", "customer", "No such customer: '%s'", cus)
		}
		sess.customer = cus
	}
	if v := str(f, "expires_at"); v != "" {
		sess.expiresAt = time.Unix(f.int("expires_at", 0), 0)
	}
	applyMetadata(sess.metadata, f)
	items, _ := f["line_items"].([]form)
	for _, it := range items {
		pd, _ := it["price_data"].(form)
		pdn, _ := pd["product_data"].(form)
		li := lineItem{name: str(pdn, "name"), unit: pd.int("unit_amount", 0), quantity: it.int("quantity", 1)}
		sess.items = append(sess.items, li)
		sess.amount += li.unit * li.quantity
		sess.currency = strings.ToLower(str(pd, "currency"))
	}
	if sess.mode == "setup" {
		sess.paymentStatus = "no_payment_required"
	}
	if pid, ok := f["payment_intent_data"].(form); ok {
		applyMetadata(sess.piMetadata, pid)
		sess.piDescription = str(pid, "description")
		sess.setupFutureUsage = str(pid, "setup_future_usage")
	}
	if sid, ok := f["setup_intent_data"].(form); ok {
		applyMetadata(sess.siMetadata, sid)
		sess.siDescription = str(sid, "description")
	}
	sess.verification = "automatic"
	if opts, ok := f["payment_method_options"].(form); ok {
		bank, _ := opts["us_bank_account"].(form)
		sess.verification = cmpOr(str(bank, "verification_method"), "automatic")
		fc, _ := bank["financial_connections"].(form)
		sess.permissions, _ = fc["permissions"].([]string)
	}
	if types, _ := f["payment_method_types"].([]string); len(types) > 0 {
		sess.methodTypes = slices.Clone(types)
	} else {
		// Without payment_method_types Checkout offers the methods enabled
		// in the Dashboard; the emulator's Dashboard has cards on.
		sess.methodTypes = []string{typeCardPM}
	}
	s.pay.sessions[sess.id] = sess
	return sess, nil
}

func newCheckoutID(livemode bool) string {
	if livemode {
		return newID("cs_live_")
	}
	return newID("cs_test_")
}

func (s *Server) createSession(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, aerr := s.newSession(c.scope, c.params)
	if aerr != nil {
		return nil, aerr
	}
	return s.renderSession(sess), nil
}

// session returns a session the scope may see, expired first if its time
// has passed. The caller holds s.mu.
func (s *Server) session(sc scope, id string) (*sessionRecord, *apiError) {
	sess, ok := s.pay.sessions[id]
	if !ok || !sc.sees(sess.account, sess.livemode) {
		return nil, noSuch("checkout.session", id)
	}
	s.expireIfDue(sess)
	return sess, nil
}

func (s *Server) retrieveSession(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, aerr := s.session(c.scope, c.path["id"])
	if aerr != nil {
		return nil, aerr
	}
	return s.renderSession(sess), nil
}

func (s *Server) expireSessionCall(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, aerr := s.session(c.scope, c.path["id"])
	if aerr != nil {
		return nil, aerr
	}
	if sess.status != csOpen {
		return nil, invalidParam("", "",
			"Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of %s.", sess.status)
	}
	s.expireSession(c.origin(), sess)
	return s.renderSession(sess), nil
}

func (s *Server) listSessions(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, filterPI := c.params.str("payment_intent")
	cus, filterCus := c.params.str("customer")
	created, filterCreated := c.params["created"]
	var items []*sessionRecord
	for _, sess := range s.pay.sessions {
		if !c.scope.sees(sess.account, sess.livemode) {
			continue
		}
		s.expireIfDue(sess)
		switch {
		case filterPI && pi != "" && sess.pi != pi,
			filterCus && cus != "" && sess.customer != cus,
			filterCreated && !inRange(created, sess.created.Unix()):
			continue
		}
		items = append(items, sess)
	}
	slices.SortFunc(items, func(a, b *sessionRecord) int { return cmp.Compare(b.seq, a.seq) })
	page, more, aerr := paginate(items, func(r *sessionRecord) string { return r.id }, c.params, "checkout.session")
	if aerr != nil {
		return nil, aerr
	}
	out := &listObject{Object: "list", URL: "/v1/checkout/sessions", HasMore: more, Data: []any{}}
	for _, sess := range page {
		out.Data = append(out.Data, s.renderSession(sess))
	}
	return out, nil
}

// expireIfDue expires an open session whose expires_at has passed. The
// caller holds s.mu.
func (s *Server) expireIfDue(sess *sessionRecord) {
	if sess.status == csOpen && !s.clock().Before(sess.expiresAt) {
		s.expireSession(origin{}, sess)
	}
}

// expireSession ends an open session: its url goes away, a PaymentIntent
// left from a failed attempt is canceled (unverified), and
// checkout.session.expired is emitted. The caller holds s.mu.
func (s *Server) expireSession(o origin, sess *sessionRecord) {
	sess.status = csExpired
	sc := scope{account: sess.account, livemode: sess.livemode}
	if r, ok := s.pay.intents[sess.pi]; ok && slices.Contains([]string{piRequiresPaymentMethod, piRequiresAction, piRequiresConfirmation}, r.Status) {
		r.Status = piCanceled
		r.CanceledAt = s.clock()
		r.CancellationReason = "abandoned"
		s.emit(sc, o, "payment_intent.canceled", s.renderIntent(r, nil), nil)
	}
	s.emit(sc, o, "checkout.session.expired", s.renderSession(sess), nil)
}

// ExpireCheckoutSessions expires every open Checkout Session whose
// expires_at has passed by Options.Clock, as Stripe does in the
// background, and returns their ids. Sessions also expire by themselves
// when they are next read (API or page); either way checkout.session.expired
// is emitted once.
func (s *Server) ExpireCheckoutSessions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, sess := range s.pay.sessions {
		if sess.status == csOpen && !s.clock().Before(sess.expiresAt) {
			s.expireSession(origin{}, sess)
			out = append(out, sess.id)
		}
	}
	slices.Sort(out)
	return out
}

// sessionJSON is the Checkout Session object (API 2023-10-16).
type sessionJSON struct {
	ID                   string               `json:"id"`
	Object               string               `json:"object"`
	AmountSubtotal       *int64               `json:"amount_subtotal"`
	AmountTotal          *int64               `json:"amount_total"`
	CancelURL            *string              `json:"cancel_url"`
	ClientReferenceID    *string              `json:"client_reference_id"`
	Created              int64                `json:"created"`
	Currency             *string              `json:"currency"`
	Customer             *string              `json:"customer"`
	CustomerCreation     *string              `json:"customer_creation"`
	CustomerDetails      *customerDetailsJSON `json:"customer_details"`
	ExpiresAt            int64                `json:"expires_at"`
	Livemode             bool                 `json:"livemode"`
	Metadata             map[string]string    `json:"metadata"`
	Mode                 string               `json:"mode"`
	PaymentIntent        *string              `json:"payment_intent"`
	PaymentMethodOptions *sessionPMOJSON      `json:"payment_method_options"`
	PaymentMethodTypes   []string             `json:"payment_method_types"`
	PaymentStatus        string               `json:"payment_status"`
	SetupIntent          *string              `json:"setup_intent"`
	Status               string               `json:"status"`
	SuccessURL           *string              `json:"success_url"`
	UIMode               string               `json:"ui_mode"`
	URL                  *string              `json:"url"`
}

type customerDetailsJSON struct {
	Email     *string `json:"email"`
	Name      *string `json:"name"`
	TaxExempt string  `json:"tax_exempt"`
}

type sessionPMOJSON struct {
	USBankAccount *sessionBankOptionsJSON `json:"us_bank_account,omitempty"`
}

type sessionBankOptionsJSON struct {
	FinancialConnections struct {
		Permissions []string `json:"permissions"`
	} `json:"financial_connections"`
	VerificationMethod string `json:"verification_method"`
}

func (s *Server) renderSession(sess *sessionRecord) sessionJSON {
	out := sessionJSON{
		ID: sess.id, Object: "checkout.session", CancelURL: nullable(sess.cancelURL),
		ClientReferenceID: nullable(sess.clientRef), Created: sess.created.Unix(), Currency: nullable(sess.currency),
		Customer: nullable(sess.customer), ExpiresAt: sess.expiresAt.Unix(), Livemode: sess.livemode,
		Metadata: maps.Clone(sess.metadata), Mode: sess.mode, PaymentIntent: nullable(sess.pi),
		PaymentMethodTypes: slices.Clone(sess.methodTypes), PaymentStatus: sess.paymentStatus,
		SetupIntent: nullable(sess.si), Status: sess.status, SuccessURL: nullable(sess.successURL), UIMode: "hosted",
		PaymentMethodOptions: &sessionPMOJSON{},
	}
	if sess.mode == "payment" {
		amount := sess.amount
		out.AmountSubtotal, out.AmountTotal = &amount, &amount
	}
	if sess.customer == "" {
		out.CustomerCreation = nullable("if_required")
	}
	if sess.status == csComplete {
		out.CustomerDetails = &customerDetailsJSON{Email: nullable(sess.email), Name: nullable(sess.name), TaxExempt: "none"}
	}
	if slices.Contains(sess.methodTypes, typeBankPM) {
		bank := &sessionBankOptionsJSON{VerificationMethod: sess.verification}
		bank.FinancialConnections.Permissions = slices.Clone(sess.permissions)
		if len(bank.FinancialConnections.Permissions) == 0 {
			bank.FinancialConnections.Permissions = []string{"payment_method"}
		}
		out.PaymentMethodOptions.USBankAccount = bank
	}
	if sess.status == csOpen {
		u := s.pageURL("/checkout/pay/" + sess.id)
		out.URL = &u
	}
	return out
}
