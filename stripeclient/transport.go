package stripeclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// transport wraps the HTTP transport that stripe-go uses. Sitting below the
// library, it sees every attempt: it paces them, adds Stripe-Account,
// scopes the Idempotency-Key to that account (accountKey), reports each
// attempt to OnCall, and records what the response said for the retry
// loop (which only gets stripe-go's error value back).
type transport struct {
	base    http.RoundTripper
	pace    *pacer
	traffic traffic
	account string
	onCall  func(outcome string, status int)
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	a := attemptFrom(ctx)
	if err := t.pace.wait(ctx); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	if t.account != "" && !platformCall(ctx) {
		req = req.Clone(ctx)
		req.Header.Set("Stripe-Account", t.account)
		if k := req.Header.Get("Idempotency-Key"); k != "" {
			req.Header.Set("Idempotency-Key", accountKey(t.account, k))
		}
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		t.traffic.add(time.Now(), false)
		t.report("network_error", 0)
		if a != nil {
			a.netErr = err
		}
		return nil, err
	}
	t.pace.observe(resp.StatusCode)
	t.traffic.add(time.Now(), resp.StatusCode == http.StatusTooManyRequests)
	t.report(outcome(resp.StatusCode), resp.StatusCode)
	if a != nil {
		a.method = req.Method
		a.status = resp.StatusCode
		a.shouldRetry = resp.Header.Get("Stripe-Should-Retry")
		a.requestID = resp.Header.Get("Request-Id")
		resp.Body = &watchedBody{ReadCloser: resp.Body, a: a}
	}
	return resp, nil
}

func (t *transport) report(outcome string, status int) {
	if t.onCall != nil {
		t.onCall(outcome, status)
	}
}

func outcome(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "rate_limited"
	case status >= 500:
		return "server_error"
	case status >= 400:
		return "client_error"
	}
	return "ok"
}

// accountKey is the Idempotency-Key of a request made for a connected
// account: the account's id, a colon, then the caller's key, hashed (as
// stripesync.IdempotencyKey does) when the whole would exceed Stripe's 255
// characters. It is deterministic, so retries and restarts send the same
// key as before.
//
// Stripe already keeps keys per account, so this changes nothing Stripe
// does; it makes the key say which account it was for. The daemon derives
// keys from its own ids (a CRM account id, an invoice id), and the same
// logical request made for two accounts (two daemons of one platform, or
// one daemon moved to another STRIPE_ACCOUNT) would otherwise carry the
// same key: told apart only by the header, in Stripe's logs, the platform's
// dashboard, an event's request.idempotency_key, or a proxy or emulator
// that does not scope keys by account.
func accountKey(account, key string) string {
	k := account + ":" + key
	if len(k) <= maxIdempotencyKey {
		return k
	}
	sum := sha256.Sum256([]byte(key))
	return account + ":h:" + hex.EncodeToString(sum[:])
}

// platformKey marks a request the platform makes about its connected
// accounts (Account), which the transport sends without Stripe-Account.
type platformKey struct{}

func asPlatform(ctx context.Context) context.Context {
	return context.WithValue(ctx, platformKey{}, true)
}

func platformCall(ctx context.Context) bool {
	on, _ := ctx.Value(platformKey{}).(bool)
	return on
}

// attempt is what the transport learned about one HTTP attempt. It travels
// in the request context; the retry loop reads it after stripe-go returns,
// which happens after the transport wrote it.
type attempt struct {
	method      string
	status      int    // 0 when no response arrived
	shouldRetry string // Stripe-Should-Retry
	requestID   string
	netErr      error // the request failed before a response arrived
	bodyErr     error // the response body broke off
}

type attemptKey struct{}

func withAttempt(ctx context.Context, a *attempt) context.Context {
	return context.WithValue(ctx, attemptKey{}, a)
}

func attemptFrom(ctx context.Context) *attempt {
	a, _ := ctx.Value(attemptKey{}).(*attempt)
	return a
}

// watchedBody records a response body that breaks off: the status line
// arrived but the answer did not, so the outcome is unknown.
type watchedBody struct {
	io.ReadCloser
	a *attempt
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.a.bodyErr = err
	}
	return n, err
}

// pacer is a token bucket with a burst of one, so requests never exceed the
// rate even momentarily (Stripe counts per second and a burst at a second's
// edge would spill over). On a 429 it halves its rate (at most once a
// second, down to an eighth), then creeps back up with each answered
// request: Stripe's budget may be shared with other integrations.
type pacer struct {
	lim  *rate.Limiter
	max  rate.Limit
	mu   sync.Mutex
	last time.Time // last slow-down
}

func newPacer(perSecond float64) *pacer {
	return &pacer{lim: rate.NewLimiter(rate.Limit(perSecond), 1), max: rate.Limit(perSecond)}
}

func (p *pacer) wait(ctx context.Context) error {
	if err := p.lim.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("stripe pacing: no request slot before the deadline: %w", context.DeadlineExceeded)
	}
	return nil
}

func (p *pacer) observe(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.lim.Limit()
	if status == http.StatusTooManyRequests {
		if time.Since(p.last) >= time.Second {
			p.last = time.Now()
			p.lim.SetLimit(max(p.max/8, cur/2))
		}
		return
	}
	if cur < p.max {
		p.lim.SetLimit(min(p.max, cur+p.max/50))
	}
}

// limit is the pacer's current rate and the rate it creeps back to.
func (p *pacer) limit() (current, max float64) {
	return float64(p.lim.Limit()), float64(p.max)
}

// trafficWindow is how far back the status page's request rate counts.
const trafficWindow = time.Minute

// traffic counts the attempts sent and the 429s among them, per second
// over the last trafficWindow (a ring of one-second buckets, so the count
// costs no allocation and forgets on its own), and the 429s since the
// start.
type traffic struct {
	mu          sync.Mutex
	second      [60]int64 // the Unix second each bucket counts
	requests    [60]int64
	limited     [60]int64
	limitedEver int64
}

func (t *traffic) add(now time.Time, limited bool) {
	sec := now.Unix()
	i := sec % int64(len(t.second))
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.second[i] != sec {
		t.second[i], t.requests[i], t.limited[i] = sec, 0, 0
	}
	t.requests[i]++
	if limited {
		t.limited[i]++
		t.limitedEver++
	}
}

// read sums the buckets of the last trafficWindow before now.
func (t *traffic) read(now time.Time) (requests, limited, limitedEver int64) {
	from := now.Unix() - int64(len(t.second))
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, sec := range t.second {
		if sec > from {
			requests += t.requests[i]
			limited += t.limited[i]
		}
	}
	return requests, limited, t.limitedEver
}
