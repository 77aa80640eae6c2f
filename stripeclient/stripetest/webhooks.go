package stripetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// WebhookOptions shape webhook delivery, so tests can reproduce what Stripe
// promises and what it does not: delivery at least once, in no particular
// order, retried until acknowledged.
type WebhookOptions struct {
	// Disabled records events without delivering them ("webhooks off"):
	// only the Events API, or RedeliverAll, can find them.
	Disabled bool
	// Duplicates delivers each event this many extra times.
	Duplicates int
	// Shuffle delivers in random order within a small window of pending
	// deliveries, instead of in the order events happened.
	Shuffle bool
	// RetryBackoff is the wait before the first retry of a delivery that
	// got no 2xx; it doubles with each attempt, up to the larger of 5 s and
	// RetryBackoff. 0 means 100 ms.
	RetryBackoff time.Duration
	// MaxAttempts bounds the attempts per delivery; 0 retries until a 2xx
	// or Close.
	MaxAttempts int
	// Concurrency is how many deliveries may be in flight at once. 0 means
	// 1, which keeps deliveries in event order (retries and Shuffle aside).
	Concurrency int
	// Timeout bounds each attempt; 0 means 10 s.
	Timeout time.Duration
}

// Defaults documented on WebhookOptions.
const (
	defaultRetryBackoff = 100 * time.Millisecond
	maxRetryBackoff     = 5 * time.Second
	defaultHookTimeout  = 10 * time.Second
	// shuffleWindow is how many pending deliveries Shuffle picks from, and
	// shuffleHold how long a delivery waits for others to join the window.
	shuffleWindow = 16
	shuffleHold   = 20 * time.Millisecond
)

// Delivery is one attempt to deliver an event to an endpoint.
type Delivery struct {
	EventID   string
	EventType string
	Endpoint  string // the endpoint URL
	Attempt   int    // 1 for the first attempt of this copy of the event
	Status    int    // the endpoint's HTTP status; 0 when none arrived
	Err       string // the transport error, when Status is 0
	Time      time.Time
}

// OK reports whether the endpoint acknowledged the event (any 2xx).
func (d Delivery) OK() bool { return d.Status >= 200 && d.Status < 300 }

type webhookEndpoint struct {
	url    string
	secret string
	// events are the enabled event types; nil means every type ("*").
	events map[string]bool
	// connect endpoints receive the events of connected accounts, the
	// others those of the platform.
	connect bool
}

// wants reports whether the endpoint receives ev: one of its types, from
// the platform or (for a Connect endpoint) from a connected account.
func (ep *webhookEndpoint) wants(ev Event) bool {
	return (ev.Account != "") == ep.connect && (ep.events == nil || ep.events[ev.Type])
}

// hookJob is one copy of one event on its way to one endpoint.
type hookJob struct {
	ep      *webhookEndpoint
	ev      Event
	attempt int       // attempts made so far
	queued  time.Time // when it joined the queue (real time, for Shuffle)
}

type ackKey struct {
	endpoint *webhookEndpoint
	eventID  string
}

// webhooks delivers events in the background. Its mutex is taken after
// the Server's, never before.
type webhooks struct {
	log    *slog.Logger
	clock  func() time.Time
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex
	wake        *sync.Cond
	opts        WebhookOptions
	rng         *rand.Rand
	endpoints   []*webhookEndpoint
	queue       []*hookJob
	inflight    int
	workers     int
	timers      map[*time.Timer]bool
	deliveries  []Delivery
	acked       map[ackKey]bool
	undelivered map[string]int // event id → endpoints that have not acknowledged it
	okCount     int
	changed     chan struct{} // closed and replaced on every change, for waiters
	closed      bool
}

func newWebhooks(log *slog.Logger, clock func() time.Time, seed int64) *webhooks {
	ctx, cancel := context.WithCancel(context.Background())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	w := &webhooks{
		log:   log,
		clock: clock,
		client: &http.Client{
			Transport: tr,
			// Stripe does not follow redirects: a 3xx is a failed delivery.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		ctx:         ctx,
		cancel:      cancel,
		rng:         rand.New(rand.NewPCG(uint64(seed), 0x48004B)),
		timers:      map[*time.Timer]bool{},
		acked:       map[ackKey]bool{},
		undelivered: map[string]int{},
		changed:     make(chan struct{}),
	}
	w.wake = sync.NewCond(&w.mu)
	w.setOptions(WebhookOptions{})
	return w
}

// AddWebhookEndpoint subscribes url to the platform's events recorded from
// now on, of both modes, signed with secret (whsec_…). events are the
// endpoint's enabled_events, as in Stripe's Dashboard: the event types it
// receives (deliveries, redeliveries and pending_webhooks alike); none, or
// "*", means every type. Events of connected accounts go to Connect
// endpoints only (AddConnectWebhookEndpoint).
func (s *Server) AddWebhookEndpoint(rawURL, secret string, events ...string) error {
	return s.addWebhookEndpoint(false, rawURL, secret, events)
}

// AddConnectWebhookEndpoint subscribes url to the events of connected
// accounts, as a Stripe endpoint made with connect=true: each carries the
// account's id in account. It receives none of the platform's own events.
// secret and events are as for AddWebhookEndpoint.
func (s *Server) AddConnectWebhookEndpoint(rawURL, secret string, events ...string) error {
	return s.addWebhookEndpoint(true, rawURL, secret, events)
}

func (s *Server) addWebhookEndpoint(connect bool, rawURL, secret string, events []string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("stripetest: webhook endpoint %q is not an absolute http(s) URL", rawURL)
	}
	if !strings.HasPrefix(secret, "whsec_") || len(secret) == len("whsec_") {
		return errors.New("stripetest: a webhook secret looks like whsec_…")
	}
	ep := &webhookEndpoint{url: rawURL, secret: secret, connect: connect}
	if len(events) > 0 && !slices.Contains(events, "*") {
		ep.events = map[string]bool{}
		for _, typ := range events {
			ep.events[typ] = true
		}
	}
	w := s.hooks
	w.mu.Lock()
	defer w.mu.Unlock()
	w.endpoints = append(w.endpoints, ep)
	w.startWorkers()
	return nil
}

// SetWebhookOptions replaces the delivery options; they apply to events
// recorded afterwards (and, for retries and concurrency, at once).
func (s *Server) SetWebhookOptions(o WebhookOptions) { s.hooks.setOptions(o) }

func (w *webhooks) setOptions(o WebhookOptions) {
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = defaultRetryBackoff
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultHookTimeout
	}
	o.Duplicates = max(0, o.Duplicates)
	o.MaxAttempts = max(0, o.MaxAttempts)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.opts = o
	w.wake.Broadcast() // workers above the new concurrency exit
	w.startWorkers()
}

// pendingPerEvent is the pending_webhooks of ev when it is recorded.
func (w *webhooks) pendingPerEvent(ev Event) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.opts.Disabled {
		return 0
	}
	return w.subscribedLocked(ev)
}

// subscribedLocked counts the endpoints that receive ev.
func (w *webhooks) subscribedLocked(ev Event) int {
	n := 0
	for _, ep := range w.endpoints {
		if ep.wants(ev) {
			n++
		}
	}
	return n
}

// publish queues ev for every endpoint that receives it, once plus
// Duplicates, unless delivery is disabled.
func (w *webhooks) publish(ev Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if n := w.subscribedLocked(ev); n > 0 {
		w.undelivered[ev.ID] = n
	}
	if w.opts.Disabled {
		return
	}
	for _, ep := range w.endpoints {
		if !ep.wants(ev) {
			continue
		}
		for range 1 + w.opts.Duplicates {
			w.queue = append(w.queue, &hookJob{ep: ep, ev: ev, queued: time.Now()})
		}
	}
	w.changedLocked()
}

// RedeliverAll sends every recorded event, oldest first, once more to
// every endpoint that receives it, whatever the options say (like
// resending from Stripe's Dashboard).
func (s *Server) RedeliverAll() {
	events := s.Events()
	w := s.hooks
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	now := time.Now()
	for _, ev := range events {
		for _, ep := range w.endpoints {
			if !ep.wants(ev) {
				continue
			}
			w.queue = append(w.queue, &hookJob{ep: ep, ev: ev, queued: now})
		}
	}
	w.changedLocked()
}

// unacknowledged is how many endpoints have not acknowledged an event.
func (w *webhooks) unacknowledged(eventID string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.undelivered[eventID]
}

// Deliveries returns every delivery attempt so far, in the order they
// ended.
func (s *Server) Deliveries() []Delivery {
	w := s.hooks
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.deliveries)
}

// WaitDelivered waits until endpoints have acknowledged (2xx) at least n
// deliveries in all, duplicates and redeliveries included, or ctx ends.
func (s *Server) WaitDelivered(ctx context.Context, n int) error {
	return s.hooks.wait(ctx, func() bool { return s.hooks.okCount >= n })
}

// WaitIdle waits until no delivery is queued, in flight or waiting for a
// retry, or ctx ends.
func (s *Server) WaitIdle(ctx context.Context) error {
	return s.hooks.wait(ctx, func() bool {
		w := s.hooks
		return len(w.queue) == 0 && w.inflight == 0 && len(w.timers) == 0
	})
}

func (w *webhooks) wait(ctx context.Context, done func() bool) error {
	for {
		w.mu.Lock()
		ok, ch := done(), w.changed
		w.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("stripetest: waiting for webhook deliveries: %w", ctx.Err())
		}
	}
}

// changedLocked wakes workers and waiters.
func (w *webhooks) changedLocked() {
	w.wake.Broadcast()
	close(w.changed)
	w.changed = make(chan struct{})
}

// startWorkers brings the delivery goroutines up to Concurrency once
// there is an endpoint to deliver to; an emulator without endpoints runs
// none.
func (w *webhooks) startWorkers() {
	for len(w.endpoints) > 0 && w.workers < w.opts.Concurrency && !w.closed {
		w.workers++
		w.wg.Go(w.work)
	}
}

func (w *webhooks) work() {
	for {
		job := w.next()
		if job == nil {
			return
		}
		w.deliver(job)
	}
}

// next takes the next job to deliver, or returns nil when the worker
// should stop (Close, or fewer workers wanted).
func (w *webhooks) next() *hookJob {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if w.closed || w.workers > w.opts.Concurrency {
			w.workers--
			return nil
		}
		if len(w.queue) == 0 {
			w.wake.Wait()
			continue
		}
		if wait := time.Until(w.queue[0].queued.Add(shuffleHold)); w.opts.Shuffle && wait > 0 {
			// Let the other events of the same change arrive, so there
			// is something to shuffle.
			w.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-w.ctx.Done():
				t.Stop()
			}
			w.mu.Lock()
			continue
		}
		i := 0
		if w.opts.Shuffle {
			i = w.rng.IntN(min(len(w.queue), shuffleWindow))
		}
		job := w.queue[i]
		w.queue = slices.Delete(w.queue, i, i+1)
		w.inflight++
		return job
	}
}

// deliver makes one attempt, records it, and schedules a retry when the
// endpoint did not acknowledge.
func (w *webhooks) deliver(job *hookJob) {
	w.mu.Lock()
	timeout := w.opts.Timeout
	w.mu.Unlock()

	job.attempt++
	status, errText := w.post(job, timeout)
	d := Delivery{
		EventID: job.ev.ID, EventType: job.ev.Type, Endpoint: job.ep.url,
		Attempt: job.attempt, Status: status, Err: errText, Time: w.clock(),
	}
	w.log.Debug("stripe webhook delivery", "event_id", d.EventID, "type", d.EventType,
		"endpoint", d.Endpoint, "attempt", d.Attempt, "status", d.Status, "error", d.Err)

	w.mu.Lock()
	defer w.mu.Unlock()
	w.inflight--
	if len(w.deliveries) == maxLog {
		w.deliveries = slices.Delete(w.deliveries, 0, maxLog/10)
	}
	w.deliveries = append(w.deliveries, d)
	switch {
	case d.OK():
		w.okCount++
		if k := (ackKey{job.ep, job.ev.ID}); !w.acked[k] {
			w.acked[k] = true
			if w.undelivered[job.ev.ID] > 0 {
				w.undelivered[job.ev.ID]--
			}
		}
	case w.closed || (w.opts.MaxAttempts > 0 && job.attempt >= w.opts.MaxAttempts):
		// Given up: the event stays undelivered for this endpoint.
	default:
		w.retryLocked(job)
	}
	w.changedLocked()
}

func (w *webhooks) retryLocked(job *hookJob) {
	delay := w.opts.RetryBackoff << (job.attempt - 1)
	if limit := max(maxRetryBackoff, w.opts.RetryBackoff); delay <= 0 || delay > limit {
		delay = limit
	}
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if !w.timers[t] {
			return // stopped by Close
		}
		delete(w.timers, t)
		job.queued = time.Now()
		w.queue = append(w.queue, job)
		w.changedLocked()
	})
	w.timers[t] = true
}

// post sends one signed delivery and returns the status, or the error when
// no response arrived.
func (w *webhooks) post(job *hookJob, timeout time.Duration) (int, string) {
	ctx, cancel := context.WithTimeout(w.ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, job.ep.url, bytes.NewReader(job.ev.Payload))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Stripe-Signature", SignPayload(job.ev.Payload, job.ep.secret, w.clock()))
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	// Read (a bounded part of) the answer so the connection is reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, ""
}

// close stops delivery: queued jobs and retries are dropped and in-flight
// requests cancelled; it returns when every worker has stopped.
func (w *webhooks) close() {
	w.mu.Lock()
	w.closed = true
	for t := range w.timers {
		t.Stop()
	}
	clear(w.timers)
	w.queue = nil
	w.changedLocked()
	w.mu.Unlock()
	w.cancel()
	w.wg.Wait()
	w.client.CloseIdleConnections()
}
