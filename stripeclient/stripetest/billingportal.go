package stripetest

import (
	"fmt"
	"net/http"
	"time"
)

// Billing portal sessions (POST /v1/billing_portal/sessions) and the page
// at their url, <base URL>/billing/p/session/{token}: it lists the
// customer's saved methods in #paymentMethods (one li[data-id=pm_…] each,
// the default one marked .default) and links back to return_url with
// #returnLink. The emulated portal manages nothing; sessions do not
// expire.

type portalSession struct {
	id        string
	token     string
	account   string
	livemode  bool
	customer  string
	returnURL string
	created   time.Time
}

func billingPortalEndpoints() []endpoint {
	return []endpoint{{
		method: http.MethodPost, path: "/v1/billing_portal/sessions",
		params:      withCommon(map[string]param{"customer": {}, "return_url": {}}),
		notEmulated: []string{"configuration", "flow_data", "locale", "on_behalf_of"},
		check:       checkPortalSession,
		run:         (*Server).createPortalSession,
	}}
}

func checkPortalSession(f form) *apiError {
	if str(f, "customer") == "" {
		return missingParam("customer")
	}
	if u := str(f, "return_url"); u != "" && !validURL(u) {
		return invalidParam("url_invalid", "return_url", "Not a valid URL")
	}
	return checkNoExpand(f)
}

// portalConfig is the id of the emulator's one portal configuration.
func (s *Server) portalConfig() string {
	if s.pay.portalConfig == "" {
		s.pay.portalConfig = newID("bpc_")
	}
	return s.pay.portalConfig
}

func (s *Server) createPortalSession(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cus := str(c.params, "customer")
	if cr, ok := s.customers.get(c.scope, cus); !ok || cr.Deleted {
		return nil, invalidRequest(http.StatusBadRequest, "resource_missing", "customer", "No such customer: '%s'", cus)
	}
	ps := &portalSession{
		id: newID("bps_"), token: newID("test_") + newID(""), account: c.scope.account, livemode: c.scope.livemode,
		customer: cus, returnURL: str(c.params, "return_url"), created: s.clock(),
	}
	s.pay.portals[ps.token] = ps
	return s.renderPortal(ps), nil
}

// portalJSON is the billing_portal.session object (API 2023-10-16).
type portalJSON struct {
	ID            string    `json:"id"`
	Object        string    `json:"object"`
	Configuration string    `json:"configuration"`
	Created       int64     `json:"created"`
	Customer      string    `json:"customer"`
	Flow          *struct{} `json:"flow"`
	Livemode      bool      `json:"livemode"`
	Locale        *string   `json:"locale"`
	OnBehalfOf    *string   `json:"on_behalf_of"`
	ReturnURL     *string   `json:"return_url"`
	URL           string    `json:"url"`
}

func (s *Server) renderPortal(ps *portalSession) portalJSON {
	return portalJSON{
		ID: ps.id, Object: "billing_portal.session", Configuration: s.portalConfig(), Created: ps.created.Unix(),
		Customer: ps.customer, Livemode: ps.livemode, ReturnURL: nullable(ps.returnURL),
		URL: s.pageURL("/billing/p/session/" + ps.token),
	}
}

type portalView struct {
	Business, Customer, ReturnURL string
	Methods                       []methodView
}

type methodView struct {
	ID, Label string
	Default   bool
}

// methodLabel is how a page names a saved method: "Visa •••• 4242,
// expires 12/2027" or "STRIPE TEST BANK •••• 6789".
func (s *Server) methodLabel(pm *paymentMethod) string {
	j := s.renderMethod(pm)
	if c := j.Card; c != nil {
		return brandName(c.Brand) + " •••• " + c.Last4 + ", expires " + fmt.Sprintf("%02d/%d", c.ExpMonth, c.ExpYear)
	}
	return j.USBankAccount.BankName + " •••• " + j.USBankAccount.Last4
}

func brandName(b string) string {
	switch b {
	case "visa":
		return "Visa"
	case "mastercard":
		return "Mastercard"
	case "amex":
		return "American Express"
	case "discover":
		return "Discover"
	}
	return b
}

func (s *Server) portalPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ps, ok := s.pay.portals[r.PathValue("id")]
	if !ok {
		s.mu.Unlock()
		s.renderNotice(w, http.StatusNotFound, notice{Title: "Something went wrong", Message: "This portal link is not valid."})
		return
	}
	v := portalView{Business: s.business, Customer: ps.customer, ReturnURL: ps.returnURL}
	cr, _ := s.customers.get(scope{account: ps.account, livemode: ps.livemode}, ps.customer)
	for _, pm := range s.customerMethods(scope{account: ps.account, livemode: ps.livemode}, ps.customer, "") {
		v.Methods = append(v.Methods, methodView{ID: pm.id, Label: s.methodLabel(pm), Default: cr != nil && cr.DefaultPaymentMethod == pm.id})
	}
	s.mu.Unlock()
	s.render(w, http.StatusOK, "portal", v)
}
