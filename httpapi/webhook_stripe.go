package httpapi

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"

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
	// Account is the connected account (acct_…) the daemon acts for, ""
	// for the platform. A verified event of any other account (another
	// connected account's, the platform's own when Account is set, a
	// connected account's when it is not) is acknowledged with 200 but
	// neither stored nor applied: a Connect endpoint receives the events
	// of every connected account of the platform, and an endpoint shared
	// with the platform its events too. The first event of each such
	// account is logged (for up to maxLoggedAccounts accounts); every one
	// is passed to Ignored.
	Account string
	// Ignored is called for each event of another account with that
	// account ("" for the platform), to count it. May be nil.
	Ignored func(account string)
}

// maxLoggedAccounts bounds the accounts whose ignored events are logged:
// a platform with thousands of connected accounts would otherwise grow the
// set (and the log) without end. Past it, events are still counted.
const maxLoggedAccounts = 100

// accountLog remembers the other accounts whose events were logged. It is
// safe for concurrent use.
type accountLog struct {
	mu     sync.Mutex
	seen   map[string]bool
	closed bool // the set is full: no more accounts are logged
}

// first reports whether account was not logged before and there is room to
// remember it; full is true once, when the set fills up.
func (l *accountLog) first(account string) (first, full bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.seen[account] || l.closed:
		return false, false
	case len(l.seen) == maxLoggedAccounts:
		l.closed = true
		return false, true
	}
	if l.seen == nil {
		l.seen = map[string]bool{}
	}
	l.seen[account] = true
	return true, false
}

// ignoreOtherAccount acknowledges an event of another account than the
// configured one, if ev is one; it reports whether it did.
func (s *Server) ignoreOtherAccount(w http.ResponseWriter, ev stripesync.Event) bool {
	if ev.Account == s.webhook.Account {
		return false
	}
	if s.webhook.Ignored != nil {
		s.webhook.Ignored(ev.Account)
	}
	switch first, full := s.otherAccounts.first(ev.Account); {
	case first:
		s.logger.Warn("ignoring Stripe events of another account: they are acknowledged, never applied",
			"event_account", cmp.Or(ev.Account, "platform"), "stripe_account", cmp.Or(s.webhook.Account, "platform"),
			"event_id", ev.ID, "type", ev.Type)
	case full:
		s.logger.Warn("ignoring Stripe events of more accounts than are logged; they are still counted",
			"accounts_logged", maxLoggedAccounts)
	}
	writeJSONBytes(w, http.StatusOK, webhookIgnored)
	return true
}

// handleStripeWebhook answers Stripe. The order is the guarantee: verify,
// store durably, then 2xx; an event of another account (see
// WebhookConfig.Account) is verified, then acknowledged without being
// stored. A bad request (signature, age, size, JSON) gets
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
	if s.ignoreOtherAccount(w, ev) {
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
	webhookIgnored   = []byte(`{"ignored":"other_account","received":true}` + "\n")
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
