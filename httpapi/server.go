package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Config holds the Server's dependencies.
type Config struct {
	// Logger receives request logs (debug level) and internal errors.
	// Nil discards them.
	Logger *slog.Logger

	// Ready reports whether the daemon can serve traffic, for GET /readyz
	// (typically the ledger's Heartbeat). It is called with a short
	// timeout, at most once a second however often the probes come, and
	// its error's message (a *stripesync.Error's only) is the reason the
	// probe shows. Nil means always ready.
	Ready func(ctx context.Context) error

	// Metrics serves GET /metrics (metrics.Handler). Nil leaves the route
	// out.
	Metrics http.Handler
	// Webhook serves POST /stripe/webhook; nil leaves the route out.
	Webhook *WebhookConfig
	// Triggers serves POST /salesforce/outbound/{secret} and POST
	// /v1/triggers; nil leaves both out.
	Triggers *TriggerConfig
	// ReceiptPDF serves GET /receipts/{token}.pdf: it returns the PDF of
	// the receipt the signed token names (EINVALID or ENOTFOUND for a bad
	// token). Nil leaves the route out.
	ReceiptPDF func(ctx context.Context, token string) ([]byte, error)

	// Staff checks a staff bearer token and returns the staff member's
	// name (staff.File.Authenticate). Nil turns every staff route off:
	// they answer 404 as unknown paths do.
	Staff func(token string) (name string, ok bool)
	// Links serves the staff routes of payment and portal links; nil, or
	// a nil Staff, leaves them out.
	Links *LinkConfig
	// Payments serves the staff's phone payments; nil, or a nil Staff,
	// leaves the route out.
	Payments *PaymentConfig
	// Pages serves the customers' pages under /pay/, /portal/ and
	// /static/ (web.Handler); nil leaves them out.
	Pages http.Handler
	// Failures serves the failure inbox's staff routes; nil, or a nil
	// Staff, leaves them out.
	Failures *FailureConfig
	// Status serves GET /v1/status to staff; nil, or a nil Staff, leaves
	// it out.
	Status *StatusConfig
	// Console serves the staff console under /staff/ (console.Handler),
	// which signs staff in itself; nil leaves it out.
	Console http.Handler
}

// LinkConfig serves POST and DELETE /v1/invoices/{id}/payment-link and
// POST /v1/accounts/{id}/portal-link. Errors are *stripesync.Error values
// (ENOTFOUND for an unknown invoice or account, ECONFLICT for an invoice
// that cannot be paid, EINVALID for a bad request).
type LinkConfig struct {
	// Issue issues a payment link for an invoice and, when asked, queues
	// the mail (sync.Engine.IssuePaymentLink).
	Issue func(ctx context.Context, r LinkRequest) (IssuedLink, error)
	// Revoke makes every link of the invoice issued so far stop working
	// and clears it from the CRM.
	Revoke func(ctx context.Context, invoiceID string) error
	// Portal issues a portal link for a CRM account.
	Portal func(ctx context.Context, accountID string) (IssuedLink, error)
}

// LinkRequest asks for a payment link.
type LinkRequest struct {
	InvoiceID string
	// Email queues the mail, under RequestID: one request, one message.
	Email     bool
	RequestID string
	// Staff is who asks, for the invoice's audit trail.
	Staff string
}

// IssuedLink is a link just made.
type IssuedLink struct {
	URL       string
	ExpiresAt time.Time
	Emailed   bool   // payment links: the mail was queued
	EmailedTo string // to this address
}

// Server is the daemon's HTTP handler. It is safe for concurrent use.
type Server struct {
	logger *slog.Logger
	ready  func(ctx context.Context) error
	// lastReady holds the last readiness result; a checker takes it out
	// while it checks, so that concurrent probes share one check.
	lastReady chan readyResult
	metrics   http.Handler
	webhook   *WebhookConfig
	triggers  *TriggerConfig
	receipt   func(ctx context.Context, token string) ([]byte, error)
	staff     func(token string) (string, bool)
	pages     http.Handler
	console   http.Handler
	links     *LinkConfig
	payments  *PaymentConfig
	failures  *FailureConfig
	status    *StatusConfig
	mux       *http.ServeMux

	// otherAccounts are the accounts whose ignored webhook events were
	// logged.
	otherAccounts accountLog
}

// NewServer builds the handler with every route registered.
func NewServer(cfg Config) *Server {
	s := &Server{
		logger:    cfg.Logger,
		ready:     cfg.Ready,
		lastReady: make(chan readyResult, 1),
		metrics:   cfg.Metrics,
		webhook:   cfg.Webhook,
		triggers:  cfg.Triggers,
		receipt:   cfg.ReceiptPDF,
		staff:     cfg.Staff,
		pages:     cfg.Pages,
		console:   cfg.Console,
		links:     cfg.Links,
		payments:  cfg.Payments,
		failures:  cfg.Failures,
		status:    cfg.Status,
		mux:       http.NewServeMux(),
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.lastReady <- readyResult{}
	s.routes()
	return s
}
