package sync

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	gosync "sync"
	"time"

	"github.com/stripesync/stripesync"
)

const (
	// maxQueuedReads bounds the PaymentIntents waiting in the read lane;
	// the events of more are deferred (readDeferral) rather than held.
	maxQueuedReads = 10_000
	readDeferral   = 10 * time.Second
	// defaultReadTimeout bounds one read: each read has its own deadline,
	// so a slow Stripe slows a read, never cuts a batch of them. Reads
	// make a single attempt (stripesync.WithSingleAttempt): the lane's
	// breaker and the events' backoff are the retries.
	defaultReadTimeout = 20 * time.Second
	// The breaker's pause after Stripe proved unavailable: doubling from
	// breakerMin to breakerMax while it stays down.
	breakerMin = time.Second
	breakerMax = 30 * time.Second
	// probeWait is how often a reader looks again while another reader's
	// probe finds out whether Stripe is back: short beside breakerMin, so
	// the lane resumes soon after a probe succeeds.
	probeWait = 50 * time.Millisecond
)

// readLane holds the PaymentIntents whose events need a Stripe read, each
// once: the events that arrive for one while it waits join it, so several
// events about one object cost one read. Readers take from it
// concurrently; the client's pacing keeps them at Stripe's rate.
//
// It is also the waiting room of half pairs (see pairWait): such an entry
// becomes a read only at its notBefore, and the other half, when it
// arrives first, takes it back out (takeWaiting) to be applied with it.
// Half pairs and reads are kept in two queues, so that a half waiting
// never holds up a read behind it.
//
// Its events stay leased while they wait; if a lease ends first, the
// re-claimed events find their PaymentIntent already queued. Events that
// arrive while their PaymentIntent is being read wait for that read and
// are then applied against what it recorded, so they cost no second read.
type readLane struct {
	mu       gosync.Mutex
	pairs    []string // half pairs, by notBefore (the order they came in)
	ready    []string // reads, oldest first
	waiting  map[string]*laneEntry
	inflight map[string][]stripesync.Event // being read → events that arrived meanwhile
	wake     chan struct{}
	breaker  breaker
}

// laneEntry is one queued PaymentIntent.
type laneEntry struct {
	events    []stripesync.Event
	notBefore time.Time
}

func newReadLane(log *slog.Logger) *readLane {
	return &readLane{
		waiting:  map[string]*laneEntry{},
		inflight: map[string][]stripesync.Event{},
		wake:     make(chan struct{}, 1),
		breaker:  breaker{log: log},
	}
}

// add queues a read of PaymentIntent id for evs, from notBefore on, or
// joins evs to the read already queued or in flight. It reports false
// when the lane is full.
func (l *readLane) add(id string, evs []stripesync.Event, notBefore time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if later, ok := l.inflight[id]; ok {
		l.inflight[id] = joinEvents(later, evs)
		return true
	}
	if q, ok := l.waiting[id]; ok {
		q.events = joinEvents(q.events, evs)
		return true
	}
	if len(l.waiting) >= maxQueuedReads {
		return false
	}
	l.waiting[id] = &laneEntry{events: evs, notBefore: notBefore}
	if notBefore.After(time.Now()) {
		l.pairs = append(l.pairs, id)
	} else {
		l.ready = append(l.ready, id)
	}
	poke(l.wake)
	return true
}

// takeWaiting removes the queued (not in flight) entry of id and returns
// its events, if there is one.
func (l *readLane) takeWaiting(id string) ([]stripesync.Event, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q, ok := l.waiting[id]
	if !ok {
		return nil, false
	}
	delete(l.waiting, id) // its queue slot is skipped when reached
	return q.events, true
}

// take moves the oldest read that is due in flight. When none is due, next
// is when the first waiting half pair becomes one (zero when there is
// none).
func (l *readLane) take() (id string, evs []stripesync.Event, next time.Time, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for len(l.pairs) > 0 {
		q, live := l.waiting[l.pairs[0]]
		if live && q.notBefore.After(now) {
			next = q.notBefore
			break
		}
		if live {
			l.ready = append(l.ready, l.pairs[0])
		}
		l.pairs = l.pairs[1:]
	}
	for len(l.ready) > 0 {
		id = l.ready[0]
		l.ready = l.ready[1:]
		q, live := l.waiting[id]
		if !live || q.notBefore.After(now) {
			continue // taken back, or queued again as a half pair
		}
		delete(l.waiting, id)
		l.inflight[id] = nil
		if len(l.ready) > 0 {
			// More may be due: wake another idle reader for it. Only a
			// reader that found work passes the wake on, so the wakes
			// end when the work does.
			poke(l.wake)
		}
		return id, q.events, time.Time{}, true
	}
	return "", nil, next, false
}

// finish ends the read of id and returns the events that arrived for it
// meanwhile.
func (l *readLane) finish(id string) []stripesync.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	later := l.inflight[id]
	delete(l.inflight, id)
	return later
}

// joinEvents adds to evs those of more it does not hold yet.
func joinEvents(evs, more []stripesync.Event) []stripesync.Event {
	for _, ev := range more {
		if !slices.ContainsFunc(evs, func(x stripesync.Event) bool { return x.ID == ev.ID }) {
			evs = append(evs, ev)
		}
	}
	return evs
}

// runReads runs the lane's readers until ctx ends.
func (e *Engine) runReads(ctx context.Context) error {
	var wg gosync.WaitGroup
	for range e.workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				read, next := e.readNext(ctx)
				if read {
					continue
				}
				pause := idlePoll
				if !next.IsZero() {
					pause = min(pause, max(time.Until(next), time.Millisecond))
				}
				select {
				case <-ctx.Done():
				case <-e.reads.wake:
				case <-time.After(pause):
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// drainReads reads until the lane is empty, for a caller (the payment
// pull) that must see its reads done before it returns.
func (e *Engine) drainReads(ctx context.Context) {
	var wg gosync.WaitGroup
	for range e.workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if read, _ := e.readNext(ctx); !read {
					return
				}
			}
		})
	}
	wg.Wait()
}

// readNext waits for the breaker, reads the oldest due PaymentIntent,
// records it and settles its events. It reports false when nothing was
// due, with when the next half pair falls due (see readLane.take).
func (e *Engine) readNext(ctx context.Context) (read bool, next time.Time) {
	probe, ok := e.reads.breaker.wait(ctx)
	if !ok {
		return false, time.Time{}
	}
	id, evs, next, ok := e.reads.take()
	if !ok {
		if probe {
			e.reads.breaker.abandon()
		}
		return false, next
	}
	var s settlement
	err := e.readAndRecord(ctx, id, &s)
	switch {
	case err == nil:
		e.reads.breaker.succeeded()
		s.done = eventIDs(evs)
	case ctx.Err() != nil:
		// Shutting down: the read was cut, not failed. The events are
		// released for whoever runs next, without an attempt counted.
		s.deferUntil(e.now(), evs)
	case unavailable(err):
		// One warning per pause, from the breaker, not one per event.
		e.reads.breaker.failed(err)
		s.fail(e, evs, err)
	default:
		e.reads.breaker.succeeded() // Stripe answered
		e.logger.Warn("read payment", "stripe_id", id, "error", err)
		s.fail(e, evs, err)
	}
	if later := e.reads.finish(id); len(later) > 0 {
		if p, ok := e.applyEvents(ctx, id, later, 0, newBatchLedger(e.payments, []string{id}), &s); ok {
			e.recordAll(ctx, []snapshotPayment{p}, &s)
		}
	}
	if err := e.settle(ctx, &s); err != nil {
		e.logger.Error("settle events after a read", "stripe_id", id, "error", err)
	}
	return true, time.Time{}
}

// readAndRecord reads PaymentIntent id from Stripe, under its own
// deadline, and records it. One that Stripe does not know (another mode or
// account) has nothing to record.
func (e *Engine) readAndRecord(ctx context.Context, id string, s *settlement) error {
	rctx, cancel := context.WithTimeout(stripesync.WithSingleAttempt(ctx), e.readTimeout)
	defer cancel()
	p, err := e.billing.PaymentIntent(rctx, id)
	if stripesync.CodeOf(err) == stripesync.ENOTFOUND {
		e.logger.Debug("payment intent not found; its events are ignored", "stripe_id", id)
		return nil
	}
	if err != nil {
		return err
	}
	changed, err := e.recordPayment(ctx, p)
	s.recorded = changed
	return err
}

// unavailable reports whether err says Stripe could not be reached or
// asked us to slow down, as opposed to a problem with one object.
func unavailable(err error) bool {
	switch stripesync.CodeOf(err) {
	case stripesync.EUNAVAILABLE, stripesync.ERATELIMITED:
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// breaker pauses the reads while Stripe is unavailable. The first read to
// fail opens it for a pause that doubles while Stripe stays down; when the
// pause ends, one read probes, and only its success lets the others go.
// So a Stripe outage costs one attempt and one warning per pause, not one
// per queued event.
type breaker struct {
	log *slog.Logger

	mu      gosync.Mutex
	open    bool
	until   time.Time
	pause   time.Duration
	probing bool
}

// wait blocks while the breaker is open and reports whether the caller is
// the probe. ok is false when ctx ended.
func (b *breaker) wait(ctx context.Context) (probe, ok bool) {
	for {
		b.mu.Lock()
		if !b.open {
			b.mu.Unlock()
			return false, true
		}
		d := time.Until(b.until)
		if d <= 0 && !b.probing {
			b.probing = true
			b.mu.Unlock()
			return true, true
		}
		b.mu.Unlock()
		if d <= 0 {
			d = probeWait // a probe is in flight
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, false
		case <-t.C:
		}
	}
}

// succeeded closes the breaker.
func (b *breaker) succeeded() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open {
		b.log.Info("Stripe reachable again; event reads resume", "paused_ms", b.pause.Milliseconds())
	}
	b.open, b.probing, b.pause = false, false, 0
}

// failed opens the breaker, or, after a failed probe, pauses longer.
// Failures of reads that were already in flight when it opened change
// nothing.
func (b *breaker) failed(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open && !b.probing {
		return
	}
	b.pause = min(max(2*b.pause, breakerMin), breakerMax)
	b.open, b.probing, b.until = true, false, time.Now().Add(b.pause)
	b.log.Warn("Stripe unavailable; event reads paused", "pause_ms", b.pause.Milliseconds(), "error", err)
}

// abandon gives the probe up without a result (nothing was queued).
func (b *breaker) abandon() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}
