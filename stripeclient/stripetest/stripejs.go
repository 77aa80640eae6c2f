package stripetest

import (
	_ "embed"
	"net/http"
)

// The Stripe.js stand-in (stripejs.js) is served at GET /v3/, the path of
// Stripe's https://js.stripe.com/v3/, so a page built for Stripe.js loads it
// from the emulator instead: <script src="<emulator>/v3/">. It makes card
// PaymentMethods with the publishable key (Server.PublishableKey) by
// calling POST /v1/payment_methods across origins, which the API allows
// with CORS, as Stripe's does for publishable-key calls.

//go:embed stripejs.js
var stripeJS []byte

func (s *Server) serveStripeJS(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	// Any page may load it, as any page may load js.stripe.com.
	h.Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(stripeJS)
}

// corsHeaders are the request headers a browser may send to an endpoint
// that takes a publishable key.
const corsHeaders = "Authorization, Content-Type, Idempotency-Key, Stripe-Account, Stripe-Version"

// cors lets pages on other origins call the endpoints that take a
// publishable key (endpoint.publishable). It answers a preflight (OPTIONS)
// itself, before authentication, since browsers send no key with it, and
// reports true when it did.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Origin") == "" {
		return false
	}
	if ep, _ := s.route(http.MethodPost, r.URL.Path); ep == nil || !ep.publishable {
		return false
	}
	h := w.Header()
	// No cookies are involved (the key is in Authorization), so any
	// origin may call, as with Stripe's API.
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Request-Id")
	if r.Method != http.MethodOptions {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Max-Age", "300")
	w.WriteHeader(http.StatusNoContent)
	return true
}
