package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/web"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// DefaultStripeJSURL is where Stripe serves Stripe.js.
const DefaultStripeJSURL = "https://js.stripe.com/v3/"

// InvoicePattern is the route of an invoice's page, which the CRM's Take
// Payment button opens (STRIPESYNC_PUBLIC_URL/staff/invoices/{Id}).
const InvoicePattern = "GET /staff/invoices/{id}"

// Session lifetimes: a console left alone for half an hour asks for the
// token again, and no session outlives a working day.
const (
	IdleTimeout     = 30 * time.Minute
	AbsoluteTimeout = 12 * time.Hour
)

// Config holds the console's dependencies.
type Config struct {
	// Authenticate checks a staff token (staff.File.Authenticate) and
	// Known whether a name still has one (staff.File.Known), which every
	// request of a session asks, so that removing a staff member's line
	// signs them out.
	Authenticate func(token string) (name string, ok bool)
	Known        func(name string) bool
	Sessions     stripesync.StaffSessions
	// Payments are the staff API's invoice functions; the console calls
	// the same ones, so the guard and the audit are the same.
	Payments *httpapi.PaymentConfig
	// Search finds invoices (store.DB.SearchInvoices).
	Search func(ctx context.Context, query string, limit int) ([]stripesync.InvoiceMatch, error)
	// Verifications lists an invoice's bank payments that wait for their
	// micro-deposits (store.DB.PendingVerifications).
	Verifications func(ctx context.Context, invoiceID string) ([]stripesync.PendingVerification, error)
	// Failures are the failure inbox's functions (the staff API's); nil
	// leaves the console's failures page out.
	Failures *httpapi.FailureConfig
	// SendLink issues a new payment link and e-mails it to the
	// customer for staff member staff, returning where it went; nil
	// hides the action (links or mail are off).
	SendLink func(ctx context.Context, invoiceID, staff, requestID string) (email string, err error)
	// StripeJSURL is where the card form loads Stripe.js from
	// (DefaultStripeJSURL when ""); PublishableKey is the key it is
	// started with, "" turning the card form off. StripeAccount is the
	// connected account the daemon charges on, if any, so that a card is
	// made where it is charged.
	StripeJSURL    string
	PublishableKey string
	StripeAccount  string
	Business       stripesync.Business
	// Status turns the status page (GET /status) on; nil leaves it out.
	Status *StatusPageConfig
	// PublicURL decides the cookies' Secure flag (https).
	PublicURL string
	Logger    *slog.Logger
	Now       func() time.Time
}

// Handler serves /staff/. It is safe for concurrent use.
type Handler struct {
	cfg    Config
	pages  map[string]*template.Template
	mux    *http.ServeMux
	csp    string
	secure bool
}

// New builds the handler. It fails on a missing dependency, or on
// templates that do not parse (a bug any test catches).
func New(cfg Config) (*Handler, error) {
	if cfg.Authenticate == nil || cfg.Known == nil || cfg.Sessions == nil || cfg.Payments == nil ||
		cfg.Payments.View == nil || cfg.Payments.Take == nil || cfg.Payments.Verify == nil ||
		cfg.Payments.ResendReceipt == nil || cfg.Search == nil || cfg.Verifications == nil {
		return nil, errors.New("console: Config needs Authenticate, Known, Sessions, Payments (View, Take, Verify, ResendReceipt), Search and Verifications")
	}
	if cfg.StripeJSURL == "" {
		cfg.StripeJSURL = DefaultStripeJSURL
	}
	js, err := url.Parse(cfg.StripeJSURL)
	if err != nil || (js.Scheme != "https" && js.Scheme != "http") || js.Host == "" {
		return nil, errors.New("console: StripeJSURL must be an http(s) URL")
	}
	if cfg.Status != nil && (cfg.Status.Report == nil || cfg.Status.Report.Read == nil || cfg.Status.Revive == nil || cfg.Status.Drop == nil) {
		return nil, errors.New("console: Status needs Report (with Read), Revive and Drop")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{
		cfg:    cfg,
		mux:    http.NewServeMux(),
		csp:    contentSecurityPolicy(js.Scheme + "://" + js.Host),
		secure: strings.HasPrefix(cfg.PublicURL, "https://"),
	}
	if h.pages, err = parsePages(); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	h.mux.HandleFunc("GET /staff/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/staff/invoices", http.StatusSeeOther)
	})
	h.mux.HandleFunc("GET /staff/sign-in", h.signInPage)
	h.mux.HandleFunc("POST /staff/sign-in", h.signIn)
	h.mux.HandleFunc("POST /staff/sign-out", h.signedIn(h.signOut))
	h.mux.HandleFunc("GET /staff/invoices", h.signedIn(h.searchPage))
	h.mux.HandleFunc(InvoicePattern, h.signedIn(h.invoicePage))
	h.mux.HandleFunc("POST /staff/invoices/{id}/payments", h.signedIn(h.takePayment))
	h.mux.HandleFunc("POST /staff/invoices/{id}/payment-link", h.signedIn(h.sendLink))
	h.mux.HandleFunc("POST /staff/invoices/{id}/verify", h.signedIn(h.verify))
	h.mux.HandleFunc("POST /staff/invoices/{id}/receipts", h.signedIn(h.resendReceipt))
	if h.cfg.Failures != nil {
		h.mux.HandleFunc("GET /staff/failures", h.signedIn(h.failuresPage))
		h.mux.HandleFunc("POST /staff/failures/{id}/{action}", h.signedIn(h.failureAction))
	}
	if h.cfg.Status != nil {
		h.mux.HandleFunc("GET "+StatusPath, h.statusPage)
		h.mux.HandleFunc("POST "+StatusPath+"/dead-letters/{id}/{action}", h.signedIn(h.deadLetterAction))
	}
	h.mux.Handle("GET /staff/static/", http.StripPrefix("/staff/static/", staticFiles()))
	notFound := func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, http.StatusNotFound, "message", message{Title: "Page not found", Text: "There is no console page at this address."})
	}
	h.mux.HandleFunc("/staff/", notFound)
	h.mux.HandleFunc(StatusPath+"/", notFound)
}

// staticFiles serves the console's own files and, under the same prefix,
// the stylesheet it shares with the customers' pages.
func staticFiles() http.Handler {
	own, _ := fs.Sub(staticFS, "static") // cannot fail: "static" is embedded
	ownFiles, shared := http.FileServerFS(own), http.FileServerFS(web.StaticFS())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := fs.Stat(own, r.URL.Path); err == nil {
			ownFiles.ServeHTTP(w, r)
			return
		}
		shared.ServeHTTP(w, r)
	})
}

// ServeHTTP sets the security headers every console page carries, then
// routes. The status page, which takes no card, allows this site only.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	csp := h.csp
	if r.URL.Path == StatusPath || strings.HasPrefix(r.URL.Path, StatusPath+"/") {
		csp = statusCSP
	}
	web.SetSecurityHeaders(w.Header(), csp, h.secure, strings.HasPrefix(r.URL.Path, "/staff/static/"))
	h.mux.ServeHTTP(w, r)
}

// contentSecurityPolicy allows scripts from this site and Stripe.js's
// origin only, no inline script or style, and forms only to here. Stripe's
// own Stripe.js talks to api.stripe.com and frames js.stripe.com and
// hooks.stripe.com; a stand-in (the emulator's) talks to and frames its
// own origin.
func contentSecurityPolicy(jsOrigin string) string {
	connect, frame := jsOrigin, jsOrigin
	if jsOrigin == "https://js.stripe.com" {
		connect, frame = "https://api.stripe.com", "https://js.stripe.com https://hooks.stripe.com"
	}
	return "default-src 'self'; script-src 'self' " + jsOrigin + "; connect-src 'self' " + connect +
		"; frame-src " + frame + "; img-src 'self' data:; style-src 'self'; base-uri 'none'; " +
		"frame-ancestors 'none'; form-action 'self'"
}

// staffMessage is the error's text in plain words for staff: the engine's
// own message when it is meant for people, a sentence saying what to do
// otherwise. Never a stack or an upstream's JSON.
func staffMessage(err error) string {
	switch stripesync.CodeOf(err) {
	case stripesync.EINVALID, stripesync.ECONFLICT, stripesync.EDECLINED, stripesync.ENOTFOUND:
		return stripesync.MessageOf(err)
	case stripesync.ERATELIMITED, stripesync.EUNAVAILABLE:
		return "Stripe or the CRM could not be reached. Nothing was charged; try again in a minute."
	}
	return "Something went wrong on our side and it has been logged. Nothing was charged; try again, or use the staff API."
}

// fail renders the page of an error that leaves nothing else to show.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := httpapi.Status(err)
	if code >= 500 {
		h.cfg.Logger.Error("console page failed", "path", r.URL.Path, "error", err)
	}
	title := "Something went wrong"
	if code == http.StatusNotFound {
		title = "Not found"
	}
	h.render(w, r, code, "message", message{Title: title, Text: staffMessage(err), Back: "/staff/invoices", BackLabel: "Find an invoice"})
}
