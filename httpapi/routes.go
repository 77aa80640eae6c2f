package httpapi

import (
	"net/http"
	"strings"

	"github.com/stripesync/stripesync"
)

// routes registers every route. Each comment says who calls the route.
func (s *Server) routes() {
	// operators, load balancers: liveness, answered without touching
	// dependencies so that a database outage does not get the process killed.
	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	// operators, load balancers: readiness, which does check dependencies.
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)
	// Prometheus.
	if s.metrics != nil {
		s.mux.Handle("GET /metrics", s.metrics)
	}
	// Stripe: signed webhook events, stored before they are acknowledged.
	if s.webhook != nil {
		s.mux.HandleFunc("POST /stripe/webhook", s.handleStripeWebhook)
	}
	// Salesforce: Outbound Messages (SOAP), authenticated by the path
	// secret and the org id, stored before they are acknowledged; and Apex
	// callouts, JSON signed with HMAC-SHA256, stored before the 202.
	if s.triggers != nil {
		s.mux.HandleFunc("POST /salesforce/outbound/{secret}", s.handleOutbound)
		s.mux.HandleFunc("POST /v1/triggers", s.handleTriggers)
	}
	// customers and staff: receipt downloads by signed token.
	if s.receipt != nil {
		s.mux.HandleFunc("GET /receipts/{file}", s.handleReceiptPDF)
	}
	// staff, with a bearer token: payment links (issue, e-mail, revoke)
	// and portal links. Off, like every staff route, without a token file.
	if s.staff != nil && s.links != nil {
		s.mux.HandleFunc("POST /v1/invoices/{id}/payment-link", s.staffOnly(s.handleIssuePaymentLink))
		s.mux.HandleFunc("DELETE /v1/invoices/{id}/payment-link", s.staffOnly(s.handleRevokePaymentLink))
		s.mux.HandleFunc("POST /v1/accounts/{id}/portal-link", s.staffOnly(s.handlePortalLink))
	}
	// staff, with a bearer token: an invoice with its payments, saved
	// methods and audit trail, a payment taken on the phone (under a
	// required Idempotency-Key), and a receipt mailed again.
	if s.staff != nil && s.payments != nil {
		s.mux.HandleFunc("GET /v1/invoices/{id}", s.staffOnly(s.handleInvoice))
		s.mux.HandleFunc("POST /v1/payments/{id}/resend-receipt", s.staffOnly(s.handleResendReceipt))
		s.mux.HandleFunc("POST /v1/invoices/{id}/payments", s.staffOnly(s.handlePayment))
		s.mux.HandleFunc("POST /v1/payment-methods/{id}/verify", s.staffOnly(s.handleVerify))
	}
	// staff, with a bearer token: the failure inbox, and what can be done
	// about an entry.
	if s.staff != nil && s.failures != nil {
		s.mux.HandleFunc("GET /v1/failures", s.staffOnly(s.handleFailures))
		s.mux.HandleFunc("GET /v1/failures/{id}", s.staffOnly(s.handleFailure))
		s.mux.HandleFunc("POST /v1/failures/{id}/{action}", s.staffOnly(s.handleFailureAction))
	}
	// staff and operators, with a bearer token: the status report.
	if s.staff != nil && s.status != nil {
		s.mux.HandleFunc("GET /v1/status", s.staffOnly(s.handleStatus))
	}
	// customers: the pay page of a payment link, the portal, and their
	// stylesheet; the pages set their own security headers.
	if s.pages != nil {
		s.mux.Handle("/pay/", s.pages)
		s.mux.Handle("/portal/", s.pages)
		s.mux.Handle("GET /static/", s.pages)
	}
	// staff, signed in with their token: the console's pages, which set
	// their own security headers and check their own sessions.
	if s.console != nil {
		s.mux.Handle("/staff/", s.console)
		// staff and operators, signed in or with a bearer token: the
		// status page (the console's, when it has one; 404 otherwise).
		s.mux.Handle("GET /status", s.console)
		s.mux.Handle("POST /status/", s.console)
	}
	// anyone: what no route takes gets the JSON error body every other
	// error has: 405 with Allow for a known path, 404 for the rest.
	s.mux.HandleFunc("/", s.unrouted)
}

// probeMethods are the methods a 405's Allow header may list.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// unrouted answers a request no route took. The catch-all that gives 404s
// their JSON body also hides the mux's own 405s, so the methods the path
// is served for are found by asking the mux again with each of them.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range probeMethods {
		if m == r.Method {
			continue
		}
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		WriteError(w, r, s.logger, stripesync.Errorf(stripesync.ENOTFOUND, "no such route"))
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	WriteJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{
		Code: "method_not_allowed", Message: r.Method + " is not allowed here; use " + strings.Join(allow, " or "),
	}})
}
