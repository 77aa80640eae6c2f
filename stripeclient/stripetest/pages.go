package stripetest

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strings"

	"github.com/stripesync/stripesync"
)

// The hosted pages stand in for what Stripe serves to customers' browsers:
// Checkout (checkout_page.go), micro-deposit verification
// (microdeposit_page.go) and the billing portal (billingportal.go). They
// are server-rendered HTML that works without JavaScript, so a test can
// drive them with plain form posts or with a headless browser; each page's
// doc comment lists the element ids a browser test can rely on. Pages need
// no API key: like Stripe's, their URLs are the secret.

//go:embed *.html
var pageFiles embed.FS

var pageTemplates = template.Must(template.New("pages").ParseFS(pageFiles, "*.html"))

// pagePrefixes are the paths the pages and the Stripe.js stand-in
// (stripejs.go) live under; everything else is the API.
var pagePrefixes = []string{"/checkout/", "/microdeposit/", "/billing/", "/v3/"}

func isPagePath(path string) bool {
	for _, p := range pagePrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

func (s *Server) pageRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /checkout/pay/{id}", s.checkoutPage)
	mux.HandleFunc("POST /checkout/pay/{id}", s.checkoutSubmit)
	mux.HandleFunc("GET /checkout/pay/{id}/authenticate", s.authPage)
	mux.HandleFunc("POST /checkout/pay/{id}/authenticate", s.authSubmit)
	mux.HandleFunc("GET /microdeposit/{id}", s.microPage)
	mux.HandleFunc("POST /microdeposit/{id}", s.microSubmit)
	mux.HandleFunc("GET /billing/p/session/{id}", s.portalPage)
	mux.HandleFunc("GET /v3/{$}", s.serveStripeJS)
	return mux
}

// pageURL is the absolute URL of a hosted page. The caller holds s.mu.
func (s *Server) pageURL(path string) string {
	base := s.publicURL
	if base == "" {
		base = s.url
	}
	return base + path
}

// maxPageForm bounds a page's form body.
const maxPageForm = 64 << 10

// parsePageForm reads a page's posted form, or answers 400 and returns
// false.
func parsePageForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxPageForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "stripetest: bad form", http.StatusBadRequest)
		return false
	}
	return true
}

// render writes a page template with status.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("stripe emulator: render page", "template", name, "error", err)
		http.Error(w, "stripetest: page failed to render", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// notice is a page with a title and one message (not found, expired, done).
type notice struct {
	Business string
	Title    string
	Message  string
	LinkURL  string
	LinkText string
}

func (s *Server) renderNotice(w http.ResponseWriter, status int, n notice) {
	n.Business = s.business
	s.render(w, status, "notice", n)
}

// displayAmount shows an amount as the pages do: "$125.00", "€5.00",
// "¥500", "12.50 CHF".
func displayAmount(amount int64, currency string) string {
	code := strings.ToUpper(currency)
	m := stripesync.Money{Amount: amount, Currency: code}
	switch code {
	case "USD":
		return "$" + m.Decimal()
	case "EUR":
		return "€" + m.Decimal()
	case "GBP":
		return "£" + m.Decimal()
	case "JPY":
		return "¥" + m.Decimal()
	}
	return m.Decimal() + " " + code
}
