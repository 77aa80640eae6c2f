package crmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// OutboundConfig configures an emulated Outbound Message action: which
// records it sends where, and how unreliably (docs/reference/salesforce.md
// §1.4). Misuse (no URL, an unknown object or field, BatchMax above 100)
// panics, like the rest of the Go API.
type OutboundConfig struct {
	// URL is the listener's endpoint.
	URL string
	// Object is the sObject whose records are sent, e.g. "Account" or
	// "Invoice__c".
	Object string
	// Fields are the fields sent in each sObject. Id always comes first
	// and the rest follow in alphabetical order, as Salesforce sends them
	// (§1.2); SystemModstamp is always included, since a listener orders
	// changes by it. Null fields are left out.
	Fields []string
	// ActionID is the action's id (04k…). Default: a generated one.
	ActionID string
	// OnWrite queues a notification for every insert and update of
	// Object, through the REST API or the Go API, that meets Criteria,
	// like a workflow rule evaluated when a record is created and every
	// time it is edited (triggerType onAllChanges). Deletes do not fire.
	OnWrite bool
	// Criteria is the rule's formula, evaluated at every save with the
	// record's values before and after it (see formula.go for the
	// functions it may use), so a test can run the formula shipped in
	// salesforce/. "" fires on every save, like the formula true. A
	// formula that does not parse, or names a field Object lacks, panics.
	Criteria string
	// Duplicate sends every message this many extra times. Each copy is
	// delivered, and retried, on its own with the same notification ids,
	// as Salesforce's "usually once, but can repeat" delivery does.
	Duplicate int
	// Reorder shuffles the messages due in each round before sending
	// them: Salesforce's retries ignore queue order.
	Reorder bool
	// BatchMax is the most notifications per message, 1–100. Default 100.
	BatchMax int
	// RetryBase is the wait before the first retry of an unacknowledged
	// message; each further retry doubles it, up to RetryMax. Default 1 s
	// (tests use milliseconds).
	RetryBase time.Duration
	// RetryMax caps the wait between retries. Default 2 h, as in
	// Salesforce.
	RetryMax time.Duration
	// MaxAge drops a message not acknowledged this long after it was
	// queued. Default 24 h, as in Salesforce.
	MaxAge time.Duration
	// HTTPClient sends the messages; set it for an HTTPS listener with a
	// test certificate. Default: a client with a 60-second timeout.
	HTTPClient *http.Client
}

// OutboundStats counts what an Outbound has done so far.
type OutboundStats struct {
	Sent   int // messages POSTed: first attempts, retries and duplicates
	Acked  int // messages the listener acknowledged
	Failed int // attempts not acknowledged: error status, no <Ack>true</Ack>, SOAP fault, network error
	// Pending counts the notifications not acknowledged yet, each copy of
	// a duplicated message separately.
	Pending int
	// Dropped counts the notifications given up: the record was deleted
	// before the message was sent, or the message outlived MaxAge.
	Dropped int
}

// Outbound is an Outbound Message action with its own background sender.
// Notifications are queued (Notify, or OnWrite), batched into messages of
// at most BatchMax and POSTed until acknowledged, with exponential
// backoff; each attempt carries the record as it is at that moment, as
// Salesforce does. It is safe for concurrent use and stops with
// Server.Close.
type Outbound struct {
	s      *Server
	cfg    OutboundConfig
	table  *table
	fields []int // Id first, then alphabetical
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{} // buffered: a queued notification nudges the sender

	mu       sync.Mutex
	queued   []notice   // not in a message yet
	messages []*message // not acknowledged yet
	stats    OutboundStats
	stopped  bool
	changed  chan struct{} // closed and replaced at every change, for WaitIdle
}

// notice is one notification: its id (04l…) and the record it is about.
type notice struct{ id, recordID string }

// message is one delivery: a batch of notifications and its retry state.
// Only the sender goroutine changes it, under Outbound.mu.
type message struct {
	notices  []notice
	queuedAt time.Time
	due      time.Time
	attempts int
}

// AddOutbound adds an Outbound Message action and starts its sender,
// which Close stops.
func (s *Server) AddOutbound(cfg OutboundConfig) *Outbound {
	if cfg.URL == "" {
		panic("crmtest: OutboundConfig.URL is required")
	}
	if cfg.BatchMax > 100 || cfg.BatchMax < 0 || cfg.Duplicate < 0 {
		panic(fmt.Sprintf("crmtest: OutboundConfig BatchMax %d (want 1–100) or Duplicate %d (want ≥ 0)", cfg.BatchMax, cfg.Duplicate))
	}
	if cfg.BatchMax == 0 {
		cfg.BatchMax = 100
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 2 * time.Hour
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: time.Minute}
	}
	if cfg.ActionID == "" {
		cfg.ActionID = newID("04k", s.actionSeq.Add(1))
	}
	o := &Outbound{s: s, cfg: cfg, done: make(chan struct{}), wake: make(chan struct{}, 1), changed: make(chan struct{})}
	o.ctx, o.cancel = context.WithCancel(context.Background())

	s.mu.Lock()
	t, ok := s.table(cfg.Object)
	if !ok {
		s.mu.Unlock()
		panic(fmt.Sprintf("crmtest: unknown sObject %q", cfg.Object))
	}
	fields, err := outboundFields(t.schema, cfg.Fields)
	if err != nil {
		s.mu.Unlock()
		panic(err.Error())
	}
	o.table, o.fields = t, fields
	if cfg.OnWrite {
		fires, err := compileCriteria(t.schema, cfg.Criteria)
		if err != nil {
			s.mu.Unlock()
			panic(err.Error())
		}
		t.onWrite = append(t.onWrite, func(old []any, r *record) {
			if fires(old, r) {
				o.enqueue(r.id())
			}
		})
	}
	s.mu.Unlock()

	s.obMu.Lock()
	defer s.obMu.Unlock()
	if s.closed {
		o.stopped = true
		close(o.done)
		return o
	}
	s.outbounds = append(s.outbounds, o)
	go o.run()
	return o
}

// outboundFields resolves names to field indexes: Id, then the rest (with
// SystemModstamp) in case-insensitive alphabetical order, without repeats.
func outboundFields(sc *schema, names []string) ([]int, error) {
	seen := map[int]bool{idxID: true}
	var rest []int
	for _, n := range append([]string{"SystemModstamp"}, names...) {
		i, ok := sc.lookup(n)
		if !ok {
			return nil, fmt.Errorf("crmtest: %s has no field %q", sc.name, n)
		}
		if !seen[i] {
			seen[i] = true
			rest = append(rest, i)
		}
	}
	slices.SortFunc(rest, func(a, b int) int {
		return strings.Compare(strings.ToLower(sc.fields[a].name), strings.ToLower(sc.fields[b].name))
	})
	return append([]int{idxID}, rest...), nil
}

// Notify queues one notification per id now. An id the object does not
// have is a test bug and panics; a record deleted before its message is
// sent is dropped (Stats.Dropped).
func (o *Outbound) Notify(ids ...string) {
	o.s.mu.RLock()
	for _, id := range ids {
		if _, ok := o.table.byID[id]; !ok {
			o.s.mu.RUnlock()
			panic(fmt.Sprintf("crmtest: no %s with id %q", o.table.schema.name, id))
		}
	}
	o.s.mu.RUnlock()
	o.enqueue(ids...)
}

// enqueue queues notifications with fresh ids and nudges the sender. It
// may run under the server's lock (OnWrite), so it takes only o.mu.
func (o *Outbound) enqueue(recordIDs ...string) {
	o.mu.Lock()
	if o.stopped {
		o.mu.Unlock()
		return
	}
	for _, id := range recordIDs {
		o.queued = append(o.queued, notice{id: newID("04l", o.s.noticeSeq.Add(1)), recordID: id})
	}
	o.broadcast()
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Stats returns a snapshot of the counters.
func (o *Outbound) Stats() OutboundStats {
	o.mu.Lock()
	defer o.mu.Unlock()
	st := o.stats
	st.Pending = len(o.queued)
	for _, m := range o.messages {
		st.Pending += len(m.notices)
	}
	return st
}

// WaitIdle returns nil once every queued notification was acknowledged or
// dropped, ctx's error if it ends first, and an error if the server was
// closed with notifications pending.
func (o *Outbound) WaitIdle(ctx context.Context) error {
	for {
		o.mu.Lock()
		idle := len(o.queued) == 0 && len(o.messages) == 0
		stopped, changed := o.stopped, o.changed
		o.mu.Unlock()
		switch {
		case idle:
			return nil
		case stopped:
			return errors.New("crmtest: outbound sender stopped with notifications pending")
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// broadcast wakes WaitIdle callers; o.mu is held.
func (o *Outbound) broadcast() {
	close(o.changed)
	o.changed = make(chan struct{})
}

func (o *Outbound) stop() {
	o.cancel()
	<-o.done
	o.mu.Lock()
	o.stopped = true
	o.broadcast()
	o.mu.Unlock()
}

// run is the sender: each round it batches what was queued, sends the
// messages that are due, and sleeps until the next is due or a
// notification is queued.
func (o *Outbound) run() {
	defer close(o.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		due, wait := o.round(time.Now())
		for _, m := range due {
			if o.ctx.Err() != nil {
				return
			}
			o.deliver(m)
		}
		if len(due) > 0 {
			continue
		}
		if wait > 0 {
			timer.Reset(wait)
		}
		select {
		case <-o.ctx.Done():
			return
		case <-o.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// round turns the queue into messages (1+Duplicate copies of each batch),
// drops messages older than MaxAge, and returns the messages due now
// (shuffled with Reorder) and how long until the next one is.
func (o *Outbound) round(now time.Time) (due []*message, wait time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for start := 0; start < len(o.queued); start += o.cfg.BatchMax {
		batch := o.queued[start:min(start+o.cfg.BatchMax, len(o.queued))]
		for range 1 + o.cfg.Duplicate {
			o.messages = append(o.messages, &message{notices: slices.Clone(batch), queuedAt: now, due: now})
		}
	}
	o.queued = nil
	dropped := false
	o.messages = slices.DeleteFunc(o.messages, func(m *message) bool {
		if now.Sub(m.queuedAt) < o.cfg.MaxAge {
			return false
		}
		o.stats.Dropped += len(m.notices)
		dropped = true
		return true
	})
	if dropped {
		o.broadcast()
	}
	var next time.Time
	for _, m := range o.messages {
		switch {
		case !m.due.After(now):
			due = append(due, m)
		case next.IsZero() || m.due.Before(next):
			next = m.due
		}
	}
	if o.cfg.Reorder {
		rand.Shuffle(len(due), func(i, j int) { due[i], due[j] = due[j], due[i] })
	}
	if !next.IsZero() {
		wait = next.Sub(now)
	}
	return due, wait
}

// deliver makes one attempt at m and records the outcome.
func (o *Outbound) deliver(m *message) {
	body, live, gone := o.render(m)
	var ok bool
	var why string
	if len(live) > 0 {
		ok, why = o.post(body)
	}
	o.mu.Lock()
	m.notices = live
	o.stats.Dropped += gone
	switch {
	case len(live) == 0:
		o.remove(m)
	case ok:
		o.stats.Sent++
		o.stats.Acked++
		o.remove(m)
	default:
		o.stats.Sent++
		o.stats.Failed++
		m.attempts++
		m.due = time.Now().Add(o.backoff(m.attempts))
	}
	o.broadcast()
	o.mu.Unlock()
	o.s.logger.Debug("crmtest outbound message", "action_id", o.cfg.ActionID, "notifications", len(live),
		"dropped", gone, "acked", ok, "reason", why, "attempts", m.attempts)
}

// remove drops m from the unacknowledged messages; o.mu is held.
func (o *Outbound) remove(m *message) {
	o.messages = slices.DeleteFunc(o.messages, func(x *message) bool { return x == m })
}

// backoff is the wait after the n-th failed attempt: RetryBase doubled per
// earlier failure, capped at RetryMax.
func (o *Outbound) backoff(n int) time.Duration {
	if n > 40 {
		return o.cfg.RetryMax
	}
	return min(o.cfg.RetryBase<<(n-1), o.cfg.RetryMax)
}

// maxAckBody bounds the listener's response that is read.
const maxAckBody = 1 << 20

// post sends one message and reports whether it was acknowledged: HTTP 200
// and a notificationsResponse with <Ack>true</Ack>, as Salesforce
// requires; otherwise it says why not.
func (o *Outbound) post(body []byte) (bool, string) {
	req, err := http.NewRequestWithContext(o.ctx, http.MethodPost, o.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `""`)
	resp, err := o.cfg.HTTPClient.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAckBody))
	switch {
	case err != nil:
		return false, err.Error()
	case resp.StatusCode != http.StatusOK:
		return false, "HTTP " + resp.Status
	case !acknowledged(data):
		return false, "no <Ack>true</Ack> in the response"
	}
	return true, ""
}
