package httpapi

import (
	"context"
	"log/slog"
	"net/http"
)

// Config holds the Server's dependencies.
type Config struct {
	// Logger receives request logs (debug level) and internal errors.
	// Nil discards them.
	Logger *slog.Logger

	// Ready reports whether the daemon can serve traffic, for GET /readyz
	// (typically the database's Ping). It is called with a short timeout.
	// Nil means always ready.
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
}

// Server is the daemon's HTTP handler. It is safe for concurrent use.
type Server struct {
	logger   *slog.Logger
	ready    func(ctx context.Context) error
	metrics  http.Handler
	webhook  *WebhookConfig
	triggers *TriggerConfig
	receipt  func(ctx context.Context, token string) ([]byte, error)
	mux      *http.ServeMux
}

// NewServer builds the handler with every route registered.
func NewServer(cfg Config) *Server {
	s := &Server{
		logger:   cfg.Logger,
		ready:    cfg.Ready,
		metrics:  cfg.Metrics,
		webhook:  cfg.Webhook,
		triggers: cfg.Triggers,
		receipt:  cfg.ReceiptPDF,
		mux:      http.NewServeMux(),
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.routes()
	return s
}
