package web

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/links"
	syncer "github.com/stripesync/stripesync/sync"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Collection is what the pages ask of the engine; *sync.Collection
// implements it.
type Collection interface {
	PayView(ctx context.Context, invoiceID, holder string) (syncer.PayView, error)
	Pay(ctx context.Context, r syncer.PayRequest) (syncer.PayResult, error)
	CheckoutReturned(ctx context.Context, invoiceID, sessionID string) (syncer.CheckoutOutcome, error)
	CheckoutCanceled(ctx context.Context, nonce string) error
	Portal(ctx context.Context, accountID string) (syncer.PortalView, error)
	RemoveMethod(ctx context.Context, accountID, methodID string) error
	SetDefaultMethod(ctx context.Context, accountID, methodID string) error
	AddMethod(ctx context.Context, r syncer.AddMethodRequest) (string, error)
	MethodAdded(ctx context.Context, accountID string) error
	BillingPortal(ctx context.Context, accountID, returnURL string) (string, error)
}

// Config holds the pages' dependencies.
type Config struct {
	Collection Collection
	// VerifyPay and VerifyPortal check the tokens of /pay/ and /portal/
	// (sync.Engine.VerifyPaymentLink and VerifyPortalLink): ENOTFOUND for
	// a token that is not valid or was revoked, sync.ErrLinkExpired for
	// a genuine one past its expiry.
	VerifyPay    func(ctx context.Context, token string) (links.Link, error)
	VerifyPortal func(token string) (links.Link, error)
	// ParsePay is VerifyPay without the revocation
	// (sync.Engine.ParsePaymentLink): the pay page reads that with the
	// invoice (PayView.LinksRevokedAt) rather than in a read of its own.
	ParsePay func(token string) (links.Link, error)
	// Links makes the pay links the portal shows.
	Links *links.Signer
	// ReceiptURL returns the download link of a succeeded payment's
	// receipt.
	ReceiptURL func(paymentID string) string
	// FormKey seals the form nonces: at least 32 random bytes, the same
	// on every replica.
	FormKey  []byte
	Business stripesync.Business
	// PublicURL is the base of the links Stripe sends customers back to.
	PublicURL string
	// CheckoutOrigins are the origins forms may be redirected to (the
	// CSP form-action): Stripe Checkout and Billing Portal, or the
	// emulator's.
	CheckoutOrigins []string
	Logger          *slog.Logger
	Now             func() time.Time
}

// Handler serves the pages. It is safe for concurrent use.
type Handler struct {
	cfg    Config
	nonces nonces
	pages  map[string]*template.Template
	mux    *http.ServeMux
	csp    string
	secure bool
}

// maxForm bounds a form body (ReadForm).
const maxForm = 8 << 10

// New builds the handler. It fails if the templates do not parse (a bug,
// caught by any test).
func New(cfg Config) (*Handler, error) {
	if cfg.Collection == nil || cfg.VerifyPay == nil || cfg.ParsePay == nil || cfg.VerifyPortal == nil || cfg.Links == nil || cfg.ReceiptURL == nil {
		return nil, errors.New("web: Config needs Collection, VerifyPay, ParsePay, VerifyPortal, Links and ReceiptURL")
	}
	if len(cfg.FormKey) < links.MinKeySize {
		return nil, errors.New("web: Config.FormKey needs at least 32 bytes")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{
		cfg:    cfg,
		nonces: nonces{key: cfg.FormKey, now: cfg.Now},
		mux:    http.NewServeMux(),
		csp:    contentSecurityPolicy(cfg.CheckoutOrigins),
		secure: strings.HasPrefix(cfg.PublicURL, "https://"),
	}
	var err error
	if h.pages, err = parsePages(); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	h.mux.HandleFunc("GET /pay/{token}", h.payPage)
	h.mux.HandleFunc("POST /pay/{token}", h.paySubmit)
	h.mux.HandleFunc("GET /pay/{token}/return", h.checkoutReturn)
	h.mux.HandleFunc("GET /pay/{token}/cancel", h.checkoutCancel)
	h.mux.HandleFunc("GET /portal/{token}", h.portalPage)
	h.mux.HandleFunc("POST /portal/{token}/methods", h.portalMethod)
	h.mux.HandleFunc("POST /portal/{token}/add", h.portalAdd)
	h.mux.HandleFunc("GET /portal/{token}/added", h.portalAdded)
	h.mux.HandleFunc("POST /portal/{token}/stripe", h.portalStripe)
	h.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(StaticFS())))
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.render(w, r, http.StatusNotFound, "message", message{Title: "Page not found", Text: "There is no page at this address."})
	})
}

// StaticFS holds the pages' static files (style.css), which the staff
// console's pages share.
func StaticFS() fs.FS {
	static, _ := fs.Sub(staticFS, "static") // cannot fail: "static" is embedded
	return static
}

// ServeHTTP sets the security headers every page carries, then routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	SetSecurityHeaders(w.Header(), h.csp, h.secure, strings.HasPrefix(r.URL.Path, "/static/"))
	h.mux.ServeHTTP(w, r)
}

// SetSecurityHeaders sets the headers every page of the daemon's carries,
// the staff console's too: the page's Content-Security-Policy, no
// sniffing, no framing, no Referer (tokens are in paths: never leak them
// to Stripe or anyone else), HSTS when served over https, and no caching
// of a page (they show invoice data) while static files may be kept for
// an hour.
func SetSecurityHeaders(hd http.Header, csp string, secure, static bool) {
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	if static {
		hd.Set("Cache-Control", "public, max-age=3600")
	} else {
		hd.Set("Cache-Control", "no-store")
	}
	if secure {
		hd.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// contentSecurityPolicy allows only this site and Stripe: no inline
// script or style, no framing, forms only to here and to Checkout.
func contentSecurityPolicy(checkout []string) string {
	stripe := "https://checkout.stripe.com https://billing.stripe.com"
	for _, o := range checkout {
		stripe += " " + o
	}
	return "default-src 'self'; script-src 'self' https://js.stripe.com; " +
		"frame-src https://js.stripe.com https://hooks.stripe.com; connect-src 'self' https://api.stripe.com; " +
		"img-src 'self' data:; style-src 'self'; base-uri 'none'; frame-ancestors 'none'; " +
		"form-action 'self' " + stripe
}

// visitorOf returns the browser's visitor id, setting a cookie for a new
// one.
func (h *Handler) visitorOf(w http.ResponseWriter, r *http.Request) string {
	return visitor(w, r, h.secure)
}

// ReadForm parses a bounded urlencoded form (at most 8 KiB: the largest
// legitimate one is well under a kilobyte); anything else is EINVALID in
// words fit for the page.
func ReadForm(w http.ResponseWriter, r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return stripesync.Errorf(stripesync.EINVALID, "The form could not be read; reload the page and try again")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return stripesync.Errorf(stripesync.EINVALID, "The form could not be read; reload the page and try again")
	}
	return nil
}

// customerMessage is the error's text if it is fit for a customer.
func customerMessage(err error) string {
	switch stripesync.CodeOf(err) {
	case stripesync.EINVALID, stripesync.ECONFLICT, stripesync.EDECLINED:
		return stripesync.MessageOf(err)
	case stripesync.ERATELIMITED, stripesync.EUNAVAILABLE:
		return "We could not reach our payment provider. Nothing was charged; please try again in a minute."
	}
	return "Something went wrong on our side. Nothing was charged; please try again later."
}

// fail renders the page of an error that leaves nothing to show.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := httpapi.Status(err)
	if code >= 500 {
		h.cfg.Logger.Error("page failed", "path", redactPath(r.URL.Path), "error", err)
	}
	if code == http.StatusNotFound {
		h.notFound(w, r)
		return
	}
	h.render(w, r, code, "message", message{Title: "Something went wrong", Text: customerMessage(err)})
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusNotFound, "message", message{
		Title: "This link is not valid",
		Text:  "The link may be mistyped, or it has been replaced by a newer one. Ask " + h.businessName() + " for a new link.",
	})
}

func (h *Handler) businessName() string {
	if h.cfg.Business.Name != "" {
		return h.cfg.Business.Name
	}
	return "us"
}

// redactPath keeps a path's shape without the token in it, for logs.
func redactPath(p string) string {
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
	if len(parts) >= 2 {
		parts[1] = "…"
	}
	return "/" + strings.Join(parts, "/")
}
