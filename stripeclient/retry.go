package stripeclient

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripesync/stripesync"
)

// Backoff between retries: exponential from retryBase, capped at retryCap,
// with jitter (each delay is drawn from its upper half) so that clients
// that failed together do not retry together.
const (
	retryBase = 500 * time.Millisecond
	retryCap  = 8 * time.Second
)

func backoff(retry int) time.Duration {
	d := retryBase << retry
	if d <= 0 || d > retryCap {
		d = retryCap
	}
	return d/2 + rand.N(d/2+1)
}

// call runs one Stripe operation under our retry policy. do must send the
// same params struct on every attempt, so the Idempotency-Key and the body
// stay the same and Stripe can replay a write that already ran.
func (c *Client) call(ctx context.Context, op string, do func(ctx context.Context) error) error {
	for retry := 0; ; retry++ {
		a := &attempt{}
		err := do(withAttempt(ctx, a))
		if err == nil {
			return nil
		}
		why, again := shouldRetry(ctx, err, a)
		if !again || retry >= c.maxRetries || stripesync.SingleAttempt(ctx) {
			e := classify(op, err, a)
			c.log.Debug("stripe request failed", "op", op, "code", string(e.Code),
				"status", a.status, "request_id", a.requestID, "attempts", retry+1)
			return e
		}
		delay := backoff(retry)
		c.log.Info("stripe request retrying", "op", op, "reason", why, "status", a.status,
			"request_id", a.requestID, "retry", retry+1, "delay_ms", delay.Milliseconds())
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			e := classify(op, err, a)
			e.Err = errors.Join(e.Err, ctx.Err())
			return e
		}
	}
}

// shouldRetry decides whether a failed attempt may be repeated unchanged,
// and says why.
func shouldRetry(ctx context.Context, err error, a *attempt) (string, bool) {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "", false
	}
	switch a.shouldRetry {
	case "false":
		return "", false
	case "true":
		return "Stripe-Should-Retry", true
	}
	switch {
	case a.netErr != nil || a.bodyErr != nil:
		return "no response", true
	case a.status == http.StatusConflict:
		return "idempotency key in use", true
	case a.status == http.StatusTooManyRequests:
		return "rate limited", true
	case a.status == http.StatusInternalServerError && a.method == http.MethodPost:
		// Stripe saved this 500 under the idempotency key: a retry would
		// replay it. The outcome is unknown; the caller must look it up.
		return "", false
	case a.status >= 500:
		return "server error", true
	}
	return "", false
}

// classify turns a failed call into a domain error. The message is
// Stripe's own message or a description of what happened; neither carries
// the API key (Stripe masks keys in its messages).
func classify(op string, err error, a *attempt) *stripesync.Error {
	var se *stripe.Error
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return stripesync.WrapError(stripesync.EUNAVAILABLE, err,
			"stripe: %s: gave up before Stripe answered; the outcome is unknown", op)
	case errors.As(err, &se):
		return stripesync.WrapError(codeFor(se.HTTPStatusCode, se.Type, se.Code), err,
			"stripe: %s: %s", op, se.Msg)
	case a.netErr != nil || a.bodyErr != nil:
		return stripesync.WrapError(stripesync.EUNAVAILABLE, err,
			"stripe: %s: no answer from Stripe; the outcome is unknown", op)
	case a.status >= 400:
		return stripesync.WrapError(codeFor(a.status, "", ""), err,
			"stripe: %s: HTTP %d without a Stripe error body", op, a.status)
	}
	return stripesync.WrapError(stripesync.EINTERNAL, err, "stripe: %s: unexpected failure", op)
}

// codeFor maps a Stripe answer to a domain error code. Only Stripe's
// resource_missing says an object does not exist; a 404 without it (a
// gateway, a backend without the endpoint, an unrecognized URL) says
// nothing about the object, and reading it as "not found" would fail
// accounts for good over an outage.
func codeFor(status int, typ stripe.ErrorType, code stripe.ErrorCode) stripesync.ErrorCode {
	switch {
	case code == stripe.ErrorCodeResourceMissing:
		return stripesync.ENOTFOUND
	case status == http.StatusNotFound:
		return stripesync.EUNAVAILABLE
	case status == http.StatusConflict:
		// Another request with the same key is still running: its outcome
		// is unknown, so this is worth retrying later, not a conflict.
		return stripesync.EUNAVAILABLE
	case typ == stripe.ErrorTypeIdempotency:
		return stripesync.ECONFLICT
	case status == http.StatusTooManyRequests:
		return stripesync.ERATELIMITED
	case status >= 500:
		return stripesync.EUNAVAILABLE
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return stripesync.EUNAUTHORIZED
	}
	return stripesync.EINVALID
}
