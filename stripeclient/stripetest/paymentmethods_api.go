package stripetest

import (
	"cmp"
	"net/http"
	"slices"
)

// PaymentMethod endpoints: create, retrieve, list (for a customer),
// attach and detach. PaymentMethods are made from Stripe's magic test ids
// (paymentmethods.go), from test card and account numbers
// (paymentmethods_create.go) or by the hosted pages.
func paymentMethodEndpoints() []endpoint {
	return []endpoint{
		createMethodEndpoint(),
		{
			method: http.MethodGet, path: "/v1/payment_methods",
			params: withCommon(merge(listParams, map[string]param{"customer": {}, "type": {}})),
			check:  checkListMethods,
			run:    (*Server).listMethods,
		},
		{
			method: http.MethodGet, path: "/v1/customers/{id}/payment_methods",
			params: withCommon(merge(listParams, map[string]param{"type": {}})),
			check:  checkListMethods,
			run:    (*Server).listCustomerMethods,
		},
		{
			method: http.MethodGet, path: "/v1/payment_methods/{id}",
			params: withCommon(nil),
			check:  checkNoExpand,
			run:    (*Server).retrieveMethod,
		},
		{
			method: http.MethodPost, path: "/v1/payment_methods/{id}/attach",
			params: withCommon(map[string]param{"customer": {}}),
			check:  checkAttach,
			run:    (*Server).attachMethodCall,
		},
		{
			method: http.MethodPost, path: "/v1/payment_methods/{id}/detach",
			params: withCommon(nil),
			check:  checkNoExpand,
			run:    (*Server).detachMethod,
		},
	}
}

func checkListMethods(f form) *apiError {
	if err := checkList(f); err != nil {
		return err
	}
	return checkNoExpand(f)
}

func checkAttach(f form) *apiError {
	if c, _ := f.str("customer"); c == "" {
		return missingParam("customer")
	}
	return checkNoExpand(f)
}

// attachMethod saves pm on customer and emits payment_method.attached. The
// caller holds s.mu.
func (s *Server) attachMethod(o origin, pm *paymentMethod, customer string) {
	pm.customer = customer
	s.emit(scope{account: pm.account, livemode: pm.livemode}, o, "payment_method.attached", s.renderMethod(pm), nil)
}

// method returns a PaymentMethod the scope may see.
func (s *Server) method(sc scope, id string) (*paymentMethod, *apiError) {
	pm, ok := s.pay.methods[id]
	if !ok || !sc.sees(pm.account, pm.livemode) {
		return nil, noSuch("PaymentMethod", id)
	}
	return pm, nil
}

func (s *Server) retrieveMethod(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pm, aerr := s.method(c.scope, c.path["id"])
	if aerr != nil {
		return nil, aerr
	}
	return s.renderMethod(pm), nil
}

func (s *Server) attachMethodCall(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cus, _ := c.params.str("customer")
	if cr, ok := s.customers.get(c.scope, cus); !ok || cr.Deleted {
		return nil, invalidRequest(http.StatusBadRequest, "resource_missing", "customer", "No such customer: '%s'", cus)
	}
	id := c.path["id"]
	var pm *paymentMethod
	if tm, ok := testMethods[id]; ok {
		pm = s.newMethod(c.scope, tm)
	} else {
		var aerr *apiError
		if pm, aerr = s.method(c.scope, id); aerr != nil {
			return nil, aerr
		}
	}
	switch {
	case pm.detached:
		return nil, invalidParam("", "", msgMethodSpent)
	case pm.customer == cus:
		return s.renderMethod(pm), nil
	case pm.customer != "":
		return nil, invalidParam("", "", "The payment method you provided has already been attached to a customer.")
	case !pm.method.attachable():
		f := pm.method.fails
		return nil, &apiError{
			status: http.StatusPaymentRequired, Type: typeCard, Code: f.code, DeclineCode: f.declineCode,
			Message: f.message, DocURL: docURL(f.code),
		}
	}
	s.attachMethod(c.origin(), pm, cus)
	return s.renderMethod(pm), nil
}

func (s *Server) detachMethod(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pm, aerr := s.method(c.scope, c.path["id"])
	if aerr != nil {
		return nil, aerr
	}
	if pm.customer == "" {
		return nil, invalidParam("", "",
			"The payment method you provided is not attached to a customer so detachment is impossible.")
	}
	old := pm.customer
	pm.customer = ""
	pm.detached = true
	if cr, ok := s.customers.get(c.scope, old); ok && cr.DefaultPaymentMethod == pm.id {
		before := renderCustomer(cr)
		cr.DefaultPaymentMethod = ""
		after := renderCustomer(cr)
		s.emit(c.scope, c.origin(), "customer.updated", after, previousAttributes(before, after))
	}
	obj := s.renderMethod(pm)
	s.emit(c.scope, c.origin(), "payment_method.detached", obj, map[string]any{"customer": old})
	return obj, nil
}

// customerMethods are the methods attached to customer, newest first; typ
// "" is every type.
func (s *Server) customerMethods(sc scope, customer, typ string) []*paymentMethod {
	var out []*paymentMethod
	for _, pm := range s.pay.methods {
		if sc.sees(pm.account, pm.livemode) && pm.customer == customer && (typ == "" || pm.method.kind == typ) {
			out = append(out, pm)
		}
	}
	slices.SortFunc(out, func(a, b *paymentMethod) int { return cmp.Compare(b.seq, a.seq) })
	return out
}

func (s *Server) methodList(c *call, url string, items []*paymentMethod) (any, *apiError) {
	page, more, aerr := paginate(items, func(pm *paymentMethod) string { return pm.id }, c.params, "payment_method")
	if aerr != nil {
		return nil, aerr
	}
	out := &listObject{Object: "list", URL: url, HasMore: more, Data: []any{}}
	for _, pm := range page {
		out.Data = append(out.Data, s.renderMethod(pm))
	}
	return out, nil
}

// listMethods lists the methods of a customer. Without customer it lists
// the methods attached to no customer (Stripe's list without customer is
// for Treasury flows; unverified).
func (s *Server) listMethods(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cus, _ := c.params.str("customer")
	if cus != "" {
		if _, ok := s.customers.get(c.scope, cus); !ok {
			return nil, invalidRequest(http.StatusBadRequest, "resource_missing", "customer", "No such customer: '%s'", cus)
		}
	}
	typ, _ := c.params.str("type")
	return s.methodList(c, "/v1/payment_methods", s.customerMethods(c.scope, cus, typ))
}

func (s *Server) listCustomerMethods(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cus := c.path["id"]
	if cr, ok := s.customers.get(c.scope, cus); !ok || cr.Deleted {
		return nil, noSuch("customer", cus)
	}
	typ, _ := c.params.str("type")
	return s.methodList(c, "/v1/customers/"+cus+"/payment_methods", s.customerMethods(c.scope, cus, typ))
}
