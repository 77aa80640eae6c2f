package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/stripesync/stripesync"
)

// DefaultWebhookMaxBody bounds a webhook body. Stripe's events are a few
// kilobytes; anything near this is not an event.
const DefaultWebhookMaxBody = 256 << 10

// WebhookConfig wires POST /stripe/webhook.
type WebhookConfig struct {
	// Verify checks the Stripe-Signature header against the raw body and
	// parses the event (stripeclient.VerifyWebhook with the endpoint
	// secrets and Stripe's 300 s tolerance). Its errors are shown to the
	// sender, so they must not carry secrets.
	Verify func(payload []byte, signature string) (stripesync.Event, error)
	// Accept stores the event durably, once per id (PaymentLedger.AcceptEvent).
	Accept func(ctx context.Context, e stripesync.Event) (inserted bool, err error)
	// Accepted is called after a new event was stored, to wake the worker
	// that applies events. May be nil.
	Accepted func()
	// MaxBody bounds the body; 0 means DefaultWebhookMaxBody.
	MaxBody int64
}

// handleStripeWebhook answers Stripe. The order is the guarantee: verify,
// store durably, then 2xx. A bad request (signature, age, size, JSON) gets
// 400 and writes nothing; a storage failure gets 503 so Stripe retries.
// Processing happens later, from the inbox.
func (s *Server) handleStripeWebhook(w http.ResponseWriter, r *http.Request) {
	limit := s.webhook.MaxBody
	if limit <= 0 {
		limit = DefaultWebhookMaxBody
	}
	body, err := readBody(w, r, limit)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			WriteError(w, r, s.logger, stripesync.Errorf(stripesync.EINVALID, "body exceeds %d bytes", limit))
			return
		}
		WriteError(w, r, s.logger, stripesync.Errorf(stripesync.EINVALID, "could not read the body"))
		return
	}
	ev, err := s.webhook.Verify(body, r.Header.Get("Stripe-Signature"))
	if err != nil {
		if stripesync.CodeOf(err) != stripesync.EINVALID {
			err = stripesync.WrapError(stripesync.EINVALID, err, "invalid webhook")
		}
		WriteError(w, r, s.logger, err)
		return
	}
	inserted, err := s.webhook.Accept(r.Context(), ev)
	if err != nil {
		s.logger.Error("store webhook event", "event_id", ev.ID, "error", err)
		WriteError(w, r, s.logger, stripesync.WrapError(stripesync.EUNAVAILABLE, err, "event not stored; retry"))
		return
	}
	if inserted && s.webhook.Accepted != nil {
		s.webhook.Accepted()
	}
	answer := webhookReceived
	if !inserted {
		answer = webhookDuplicate
	}
	writeJSONBytes(w, http.StatusOK, answer)
}

// The two answers of an accepted webhook, encoded once: they are the same
// for every event.
var (
	webhookReceived  = []byte(`{"duplicate":false,"received":true}` + "\n")
	webhookDuplicate = []byte(`{"duplicate":true,"received":true}` + "\n")
)

// readBody reads r's body up to limit bytes. A body that declares its
// length is read into one buffer of that size, rather than one grown by
// copying, and one that declares more than limit is refused before it is
// read.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	switch {
	case r.ContentLength > limit:
		return nil, &http.MaxBytesError{Limit: limit}
	case r.ContentLength < 0:
		return io.ReadAll(body)
	}
	buf := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(body, buf); err != nil {
		return nil, err
	}
	return buf, nil
}
