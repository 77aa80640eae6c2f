package stripetest

import (
	"cmp"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Customer is an emulated Stripe customer as tests see it.
type Customer struct {
	ID string
	// Account is the connected account (Stripe-Account) the customer lives
	// on; "" is the key's own account.
	Account  string
	Livemode bool

	Name        string
	Email       string
	Phone       string
	Description string
	Address     Address
	Metadata    map[string]string

	Balance             int64 // minor units
	InvoicePrefix       string
	NextInvoiceSequence int64
	PreferredLocales    []string
	TaxExempt           string // none, exempt or reverse
	// DefaultPaymentMethod is invoice_settings[default_payment_method]: a
	// pm_ id attached to the customer, or "".
	DefaultPaymentMethod string

	Deleted bool
	Created time.Time
}

// Address is a customer's postal address; empty fields are null in JSON.
type Address struct {
	Line1      string
	Line2      string
	City       string
	State      string
	PostalCode string
	Country    string
}

func (c Customer) clone() Customer {
	c.Metadata = maps.Clone(c.Metadata)
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	c.PreferredLocales = slices.Clone(c.PreferredLocales)
	return c
}

type customerRecord struct {
	Customer
	seq int64 // creation order; lists and search are newest first
}

// customerStore holds every customer of every scope; the Server's mutex
// guards it.
type customerStore struct {
	byID map[string]*customerRecord
	seq  int64
}

func (cs *customerStore) init() { cs.byID = map[string]*customerRecord{} }

func (cs *customerStore) put(c Customer) *customerRecord {
	if old, ok := cs.byID[c.ID]; ok {
		old.Customer = c
		return old
	}
	cs.seq++
	r := &customerRecord{Customer: c, seq: cs.seq}
	cs.byID[c.ID] = r
	return r
}

// get returns a customer, deleted or not, if sc may see it.
func (cs *customerStore) get(sc scope, id string) (*customerRecord, bool) {
	r, ok := cs.byID[id]
	if !ok || r.Account != sc.account || r.Livemode != sc.livemode {
		return nil, false
	}
	return r, true
}

// live returns the customers sc may list: not deleted, newest first.
func (cs *customerStore) live(sc scope) []*customerRecord {
	var out []*customerRecord
	for _, r := range cs.byID {
		if !r.Deleted && r.Account == sc.account && r.Livemode == sc.livemode {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *customerRecord) int { return cmp.Compare(b.seq, a.seq) })
	return out
}

func (cs *customerStore) all() []*customerRecord {
	out := slices.Collect(maps.Values(cs.byID))
	slices.SortFunc(out, func(a, b *customerRecord) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// customerFields are the create and update parameters the emulator
// implements (stripe-go v76 CustomerParams).
var customerFields = map[string]param{
	"address": {kind: kObject, children: map[string]param{
		"city": {}, "country": {}, "line1": {}, "line2": {}, "postal_code": {}, "state": {},
	}},
	"balance":               {kind: kInt},
	"description":           {},
	"email":                 {},
	"invoice_prefix":        {},
	"metadata":              {kind: kMap},
	"name":                  {},
	"next_invoice_sequence": {kind: kInt},
	"phone":                 {},
	"preferred_locales":     {kind: kList},
	"tax_exempt":            {},
}

var customerSearchFields = []string{"email", "metadata", "name", "phone"}

func customerEndpoints() []endpoint {
	return []endpoint{
		{
			method: http.MethodPost, path: "/v1/customers",
			params: withCommon(customerFields),
			notEmulated: []string{"cash_balance", "coupon", "invoice_settings", "payment_method",
				"promotion_code", "shipping", "source", "tax", "tax_id_data", "test_clock", "validate"},
			check: checkCustomer,
			run:   (*Server).createCustomer,
		},
		{
			method: http.MethodGet, path: "/v1/customers/{id}",
			params: withCommon(nil),
			run:    (*Server).retrieveCustomer,
		},
		{
			method: http.MethodPost, path: "/v1/customers/{id}",
			params: withCommon(merge(customerFields, map[string]param{
				"invoice_settings": {kind: kObject, children: map[string]param{"default_payment_method": {}}},
			})),
			notEmulated: []string{"cash_balance", "coupon", "default_source",
				"promotion_code", "shipping", "source", "tax", "validate"},
			check: checkCustomer,
			run:   (*Server).updateCustomer,
		},
		{
			method: http.MethodDelete, path: "/v1/customers/{id}",
			params: map[string]param{},
			run:    (*Server).deleteCustomer,
		},
		{
			method: http.MethodGet, path: "/v1/customers",
			params: withCommon(merge(listParams, map[string]param{
				"email":   {},
				"created": {kind: kRange},
			})),
			notEmulated: []string{"test_clock"},
			check:       checkList,
			run:         (*Server).listCustomers,
		},
		{
			method: http.MethodGet, path: "/v1/customers/search",
			params: withCommon(searchParams),
			check:  func(f form) *apiError { return checkSearch(f, "customers", customerSearchFields) },
			run:    (*Server).searchCustomers,
		},
	}
}

func merge(a, b map[string]param) map[string]param {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

var invoicePrefixRE = regexp.MustCompile(`^[A-Z0-9]{3,12}$`)

// Stripe's metadata limits.
const (
	maxMetadataKeys  = 50
	maxMetadataKey   = 40
	maxMetadataValue = 500
)

func checkCustomer(f form) *apiError {
	if e, _ := f.str("email"); e != "" && !validEmail(e) {
		return invalidParam("email_invalid", "email", "Invalid email address: %s", e)
	}
	if n, _ := f.str("name"); len(n) > 256 {
		return invalidParam("", "name", "Invalid string: %s...; must be at most 256 characters", n[:20])
	}
	if p, _ := f.str("invoice_prefix"); p != "" && !invoicePrefixRE.MatchString(p) {
		return invalidParam("", "invoice_prefix",
			"Invoice prefix must be between 3 and 12 characters long and contain only uppercase letters and numbers.")
	}
	switch t, _ := f.str("tax_exempt"); t {
	case "", "none", "exempt", "reverse":
	default:
		return invalidParam("", "tax_exempt", "Invalid tax_exempt: must be one of none, exempt, or reverse")
	}
	if v, ok := f.str("next_invoice_sequence"); ok && v != "" && f.int("next_invoice_sequence", 0) < 1 {
		return invalidParam("", "next_invoice_sequence", "This value must be greater than or equal to 1.")
	}
	return checkMetadata(f)
}

// validEmail is the loose check Stripe applies to email addresses.
func validEmail(e string) bool {
	local, domain, ok := strings.Cut(e, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(e, " \t\r\n") && len(e) <= 512
}

// checkMetadata enforces Stripe's metadata limits on f's metadata.
func checkMetadata(f form) *apiError {
	md, ok := f["metadata"].(form)
	if !ok {
		return nil
	}
	if len(md) > maxMetadataKeys {
		return tooManyKeys()
	}
	for k, v := range md {
		if len(k) > maxMetadataKey {
			return invalidParam("", "metadata["+k+"]",
				"Metadata keys can have a maximum length of %d characters.", maxMetadataKey)
		}
		if len(v.(string)) > maxMetadataValue {
			return invalidParam("", "metadata["+k+"]",
				"Metadata values can have a maximum length of %d characters.", maxMetadataValue)
		}
	}
	return nil
}

// applyMetadata merges f's metadata into dst as Stripe does: per key, an
// empty value removes the key, and metadata= (empty) removes all.
func applyMetadata(dst map[string]string, f form) {
	v, sent := f["metadata"]
	if !sent {
		return
	}
	md, ok := v.(form)
	if !ok {
		clear(dst)
		return
	}
	for k, fv := range md {
		if val := fv.(string); val == "" {
			delete(dst, k)
		} else {
			dst[k] = val
		}
	}
}

// applyCustomer writes the parameters in f onto c. An empty value unsets a
// field; metadata merges per key (an empty value removes the key, an empty
// metadata removes all); address is replaced as a whole.
func applyCustomer(c *Customer, f form) {
	for name, v := range f {
		s, _ := v.(string)
		switch name {
		case "name":
			c.Name = s
		case "email":
			c.Email = s
		case "phone":
			c.Phone = s
		case "description":
			c.Description = s
		case "balance":
			c.Balance = f.int(name, 0)
		case "invoice_prefix":
			if s != "" {
				c.InvoicePrefix = s
			}
		case "next_invoice_sequence":
			c.NextInvoiceSequence = f.int(name, 1)
		case "tax_exempt":
			c.TaxExempt = cmpOr(s, "none")
		case "preferred_locales":
			list, _ := v.([]string)
			c.PreferredLocales = slices.Clone(list)
		case "address":
			a, _ := v.(form)
			c.Address = Address{}
			for k, fv := range a {
				val := fv.(string)
				switch k {
				case "line1":
					c.Address.Line1 = val
				case "line2":
					c.Address.Line2 = val
				case "city":
					c.Address.City = val
				case "state":
					c.Address.State = val
				case "postal_code":
					c.Address.PostalCode = val
				case "country":
					c.Address.Country = val
				}
			}
		case "metadata":
			applyMetadata(c.Metadata, f)
		case "invoice_settings":
			is, _ := v.(form)
			if pm, ok := is.str("default_payment_method"); ok {
				c.DefaultPaymentMethod = pm
			}
		}
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func tooManyKeys() *apiError {
	return invalidParam("", "metadata", "You can have up to %d metadata keys.", maxMetadataKeys)
}

func (s *Server) createCustomer(c *call) (any, *apiError) {
	cust := Customer{
		Account:             c.scope.account,
		Livemode:            c.scope.livemode,
		Metadata:            map[string]string{},
		InvoicePrefix:       newInvoicePrefix(),
		NextInvoiceSequence: 1,
		TaxExempt:           "none",
	}
	applyCustomer(&cust, c.params)
	if len(cust.Metadata) > maxMetadataKeys {
		return nil, tooManyKeys()
	}
	cust.ID = newID("cus_")
	cust.Created = s.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	obj := renderCustomer(s.customers.put(cust))
	s.emit(c.scope, c.origin(), "customer.created", obj, nil)
	return obj, nil
}

func (s *Server) retrieveCustomer(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.customers.get(c.scope, c.path["id"])
	if !ok {
		return nil, noSuch("customer", c.path["id"])
	}
	return renderCustomer(r), nil
}

func (s *Server) updateCustomer(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.customers.get(c.scope, c.path["id"])
	if !ok || r.Deleted {
		return nil, noSuch("customer", c.path["id"])
	}
	next := r.Customer.clone()
	applyCustomer(&next, c.params)
	if len(next.Metadata) > maxMetadataKeys {
		return nil, tooManyKeys()
	}
	if id := next.DefaultPaymentMethod; id != "" && id != r.DefaultPaymentMethod {
		const param = "invoice_settings[default_payment_method]"
		pm, ok := s.pay.methods[id]
		if !ok || !c.scope.sees(pm.account, pm.livemode) {
			return nil, invalidRequest(http.StatusBadRequest, "resource_missing", param, "No such PaymentMethod: '%s'", id)
		}
		if pm.customer != r.ID {
			return nil, invalidParam("", param,
				"The customer does not have a payment method with the ID %s. The payment method must be attached to the customer.", id)
		}
	}
	before := renderCustomer(r)
	r.Customer = next
	after := renderCustomer(r)
	// Stripe emits customer.updated only when something changed.
	if prev := previousAttributes(before, after); len(prev) > 0 {
		s.emit(c.scope, c.origin(), "customer.updated", after, prev)
	}
	return after, nil
}

func (s *Server) deleteCustomer(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.customers.get(c.scope, c.path["id"])
	if !ok || r.Deleted {
		return nil, noSuch("customer", c.path["id"])
	}
	s.deleteLocked(r, c.origin())
	return renderCustomer(r), nil
}

// deleteLocked deletes a customer and emits customer.deleted, whose object
// is the customer as it was. The caller holds s.mu.
func (s *Server) deleteLocked(r *customerRecord, o origin) {
	last := renderCustomer(r)
	r.Deleted = true
	s.emit(scope{account: r.Account, livemode: r.Livemode}, o, "customer.deleted", last, nil)
}

func (s *Server) listCustomers(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	email, filterEmail := c.params.str("email")
	created, filterCreated := c.params["created"]
	var items []*customerRecord
	for _, r := range s.customers.live(c.scope) {
		if filterEmail && r.Email != email {
			continue
		}
		if filterCreated && !inRange(created, r.Created.Unix()) {
			continue
		}
		items = append(items, r)
	}
	page, more, aerr := paginate(items, func(r *customerRecord) string { return r.ID }, c.params, "customer")
	if aerr != nil {
		return nil, aerr
	}
	out := &listObject{Object: "list", URL: "/v1/customers", HasMore: more, Data: []any{}}
	for _, r := range page {
		out.Data = append(out.Data, renderCustomer(r))
	}
	return out, nil
}

func (s *Server) searchCustomers(c *call) (any, *apiError) {
	q, _ := c.params.str("query")
	clauses, aerr := parseQuery(q)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var matches []*customerRecord
	for _, r := range s.customers.live(c.scope) {
		if matchCustomer(&r.Customer, clauses) {
			matches = append(matches, r)
		}
	}
	return searchPage(matches, func(r *customerRecord) int64 { return r.seq }, c.params,
		"/v1/customers/search", func(r *customerRecord) any { return renderCustomer(r) }), nil
}

// matchCustomer applies search terms; like Stripe's field:value, matching
// is exact but not case-sensitive.
func matchCustomer(c *Customer, clauses []clause) bool {
	for _, cl := range clauses {
		var got string
		switch cl.field {
		case "email":
			got = c.Email
		case "name":
			got = c.Name
		case "phone":
			got = c.Phone
		case "metadata":
			v, ok := c.Metadata[cl.key]
			if !ok {
				return false
			}
			got = v
		}
		if !strings.EqualFold(got, cl.value) {
			return false
		}
	}
	return true
}

func newInvoicePrefix() string {
	const hex = "0123456789ABCDEF"
	id := newID("")
	b := make([]byte, 8)
	for i := range b {
		b[i] = hex[int(id[i])%len(hex)]
	}
	return string(b)
}

// Customers returns every customer of every scope, deleted ones included,
// oldest first.
func (s *Server) Customers() []Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Customer
	for _, r := range s.customers.all() {
		out = append(out, r.Customer.clone())
	}
	return out
}

// CustomersWithMetadata returns the customers (deleted ones included,
// oldest first) whose metadata[key] is exactly value.
func (s *Server) CustomersWithMetadata(key, value string) []Customer {
	var out []Customer
	for _, c := range s.Customers() {
		if v, ok := c.Metadata[key]; ok && v == value {
			out = append(out, c)
		}
	}
	return out
}

// CreateCustomer stores c directly, as if it had been created earlier (no
// event is emitted), and returns its id. Empty ID, Created, InvoicePrefix, NextInvoiceSequence and
// TaxExempt get Stripe's defaults; a customer with an existing ID replaces it.
func (s *Server) CreateCustomer(c Customer) string {
	c = c.clone()
	if c.ID == "" {
		c.ID = newID("cus_")
	}
	if c.Created.IsZero() {
		c.Created = s.clock()
	}
	if c.InvoicePrefix == "" {
		c.InvoicePrefix = newInvoicePrefix()
	}
	if c.NextInvoiceSequence == 0 {
		c.NextInvoiceSequence = 1
	}
	c.TaxExempt = cmpOr(c.TaxExempt, "none")
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.customers.put(c).ID
}

// DeleteCustomer deletes customer id as someone in Stripe's Dashboard
// would: like DELETE /v1/customers/{id}, with customer.deleted emitted
// (without a request). An unknown or already deleted id is ignored.
func (s *Server) DeleteCustomer(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.customers.byID[id]; ok && !r.Deleted {
		s.deleteLocked(r, origin{})
	}
}
