package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

const (
	eventBatch = 100
	eventLease = time.Minute
	// defaultEventSettle is how long a new event waits before it is
	// claimed, so that the second half of a pair Stripe sends together
	// (charge.succeeded, payment_intent.succeeded) usually joins the first
	// in one batch; a half claimed alone waits in the read lane instead
	// (pairWait), which costs no read either, only more work.
	defaultEventSettle = 20 * time.Millisecond
	// writeBackSettle is the write-back worker's wait after a wake-up, so
	// that the records of one burst go in one Collections call.
	writeBackSettle = 10 * time.Millisecond
	// defaultEventAttempts bounds the attempts to apply one event; then it
	// goes to the dead letters. With retryAt's backoff (1 s doubling to 5
	// minutes, jittered) that is five to eight minutes of failures in a
	// row.
	defaultEventAttempts = 10
	// pairWait is how long half of a pair (a charge snapshot of a
	// PaymentIntent the ledger does not know yet, or an intent snapshot
	// whose charge it has not seen) waits for the other half before its
	// PaymentIntent is read. Stripe creates both events at once, so the
	// wait is counted from the event's creation (whole seconds).
	pairWait = 2 * time.Second
	// settleTimeout bounds the ledger writes that settle a batch. They run
	// on a context of their own, so that a batch cut short by its deadline
	// still records what it did.
	settleTimeout = 15 * time.Second
)

// ProcessEvents applies one batch of accepted Stripe events and returns how
// many it took. See processEvents.
func (e *Engine) ProcessEvents(ctx context.Context) (int, error) {
	return e.processEvents(ctx, eventPass{settle: e.eventSettle, pairWait: pairWait})
}

// eventPass tunes one processEvents call: the worker's, or the pull's.
type eventPass struct {
	// fresh is the set of PaymentIntents the pull listed at readAt: an
	// event about one of them created before readAt (Stripe's seconds,
	// so strictly before the second of readAt) is already reflected and
	// needs nothing.
	fresh  map[string]bool
	readAt time.Time
	// settle is how old an event must be to be claimed (see
	// Config.EventSettle).
	settle time.Duration
	// pairWait is how long half of a pair may wait for its other half
	// (0: no wait, as in the pull, whose events are all in the inbox).
	pairWait time.Duration
}

// processEvents claims a batch of events and settles each on its own.
//
// The events of one PaymentIntent are applied together from their own
// object snapshots when those say enough (see applySnapshots): that is the
// common case, and it costs no Stripe call, so events are applied about as
// fast as they are accepted. State precedence in the ledger makes
// duplicated, reordered and stale snapshots harmless. The PaymentIntents
// whose snapshots are not enough go to the read lane (reads.go), which
// reads them from Stripe concurrently, paced and behind a breaker, while
// this loop goes on: an unknown or slow object never holds up the others.
func (e *Engine) processEvents(ctx context.Context, pass eventPass) (int, error) {
	events, err := e.payments.ClaimEvents(ctx, eventBatch, eventLease, pass.settle)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	var (
		s      settlement
		groups = map[string][]stripesync.Event{} // PaymentIntent id → its events
		order  []string
		stale  staleCustomers
	)
	for _, ev := range events {
		customer, err := e.collectionEvent(ctx, ev)
		if err != nil {
			e.logger.Warn("apply collection event", "event_id", ev.ID, "type", ev.Type, "error", err)
			s.fail(e, []stripesync.Event{ev}, err)
			continue
		}
		if customer != "" {
			stale.add(customer, ev)
		}
		switch {
		case pass.fresh[ev.PaymentIntentID] && ev.Created.Before(pass.readAt.Truncate(time.Second)):
			s.done = append(s.done, ev.ID)
		case ev.PaymentIntentID != "" && actsOn(ev.Type):
			if _, seen := groups[ev.PaymentIntentID]; !seen {
				order = append(order, ev.PaymentIntentID)
			}
			groups[ev.PaymentIntentID] = append(groups[ev.PaymentIntentID], ev)
		case ev.Type == stripesync.EventCustomerDeleted && ev.CustomerID != "":
			if err := e.customerDeleted(ctx, ev.CustomerID); err != nil {
				e.logger.Warn("apply customer.deleted", "event_id", ev.ID, "stripe_id", ev.CustomerID, "error", err)
				s.fail(e, []stripesync.Event{ev}, err)
				continue
			}
			s.done = append(s.done, ev.ID)
		default:
			s.done = append(s.done, ev.ID) // nothing we act on
		}
	}
	var complete []snapshotPayment
	ledger := newBatchLedger(e.payments, order)
	for _, id := range order {
		if p, ok := e.applyEvents(ctx, id, groups[id], pass.pairWait, ledger, &s); ok {
			complete = append(complete, p)
		}
	}
	e.recordAll(ctx, complete, &s)
	e.staleMethods(ctx, stale, &s)
	return len(events), e.settle(ctx, &s)
}

// snapshotPayment is a payment built from its events' snapshots, waiting
// to be recorded with the others of its batch.
type snapshotPayment struct {
	payment stripesync.Payment
	events  []stripesync.Event
}

// applyEvents builds the payment that the events of PaymentIntent id
// describe, when their snapshots say enough (ok); otherwise, half of a
// pair younger than pairWait waits for its other half, and the rest go to
// the read lane (or, when it is full, are deferred, or, on an error,
// failed), noting that in s.
func (e *Engine) applyEvents(ctx context.Context, id string, evs []stripesync.Event, pairWait time.Duration, ledger *batchLedger, s *settlement) (snapshotPayment, bool) {
	if half, ok := e.reads.takeWaiting(id); ok {
		evs = joinEvents(half, evs) // the other half was waiting here
	}
	p, v, err := e.applySnapshots(ctx, id, evs, ledger)
	notBefore := e.now()
	switch {
	case err != nil:
		e.logger.Warn("apply payment events", "stripe_id", id, "error", err)
		s.fail(e, evs, err)
		return snapshotPayment{}, false
	case v == complete:
		return snapshotPayment{payment: p, events: evs}, true
	case v == halfOnly && notBefore.Sub(newest(evs)) < pairWait:
		// The other half (charge.succeeded for payment_intent.succeeded,
		// or the reverse) was sent at the same moment and is still on
		// its way, or sits just past this batch: it waits in the lane,
		// its events leased, for the other half to take it back out,
		// and is read only if that does not happen in time.
		notBefore = newest(evs).Add(pairWait)
	}
	if !e.reads.add(id, evs, notBefore) {
		s.deferUntil(e.now().Add(readDeferral), evs)
	}
	return snapshotPayment{}, false
}

// recordAll records the payments of a batch in one ledger transaction, so
// that a burst costs one commit per batch; if that fails, it records them
// one by one, so that one bad payment fails only its own events.
func (e *Engine) recordAll(ctx context.Context, ps []snapshotPayment, s *settlement) {
	if len(ps) == 0 {
		return
	}
	batch := make([]stripesync.Payment, 0, len(ps))
	var ok []snapshotPayment
	accounts := map[string]string{} // customer → CRM account, looked up once per batch
	for _, p := range ps {
		var err error
		switch acct, seen := accounts[p.payment.CustomerID]; {
		case p.payment.AccountID != "" || p.payment.CustomerID == "":
		case seen:
			p.payment.AccountID = acct
		default:
			if p.payment, err = e.withAccount(ctx, p.payment); err == nil {
				accounts[p.payment.CustomerID] = p.payment.AccountID
			}
		}
		if err != nil {
			e.logger.Warn("apply payment events", "stripe_id", p.payment.ID, "error", err)
			s.fail(e, p.events, err)
			continue
		}
		batch, ok = append(batch, p.payment), append(ok, p)
	}
	recs, err := e.payments.RecordPayments(ctx, batch)
	if err == nil {
		for i, rec := range recs {
			e.noteRecorded(rec)
			s.recorded = s.recorded || rec.Changed
			s.done = append(s.done, eventIDs(ok[i].events)...)
		}
		return
	}
	for _, p := range ok {
		changed, err := e.recordPayment(ctx, p.payment)
		if err != nil {
			e.logger.Warn("apply payment events", "stripe_id", p.payment.ID, "error", err)
			s.fail(e, p.events, err)
			continue
		}
		s.recorded = s.recorded || changed
		s.done = append(s.done, eventIDs(p.events)...)
	}
}

// settlement is what one batch (or one read) decided about its events.
type settlement struct {
	done     []string // applied, or nothing to apply
	failures []stripesync.EventFailure
	// deferred are not tried now (the read lane was full, or the process
	// is stopping), by the time they may be claimed again.
	deferred map[time.Time][]string
	recorded bool // the ledger changed
}

// deferUntil defers evs to at.
func (s *settlement) deferUntil(at time.Time, evs []stripesync.Event) {
	if s.deferred == nil {
		s.deferred = map[time.Time][]string{}
	}
	s.deferred[at] = append(s.deferred[at], eventIDs(evs)...)
}

// fail records a failed attempt for each of evs: retried with growing
// delays, dead after the engine's attempt cap. Unlike the workers that
// consult stripesync.Retryable, an event is retried whatever the code: it
// may be the only notice of a payment, and a conflict or a refusal by the
// ledger can be a race with another replica that the next attempt no
// longer meets; the cap bounds the cost.
func (s *settlement) fail(e *Engine, evs []stripesync.Event, cause error) {
	for _, ev := range evs {
		s.failures = append(s.failures, stripesync.EventFailure{
			ID:      ev.ID,
			Error:   cause.Error(),
			RetryAt: e.retryAt(ev.Attempts),
			Dead:    ev.Attempts+1 >= e.eventAttempts,
		})
	}
}

// redo moves those of evs that are done to the failures, for cause.
func (s *settlement) redo(e *Engine, evs []stripesync.Event, cause error) {
	var again []stripesync.Event
	for _, ev := range evs {
		if i := slices.Index(s.done, ev.ID); i >= 0 {
			s.done = slices.Delete(s.done, i, i+1)
			again = append(again, ev)
		}
	}
	s.fail(e, again, cause)
}

// settle writes a settlement to the inbox on a context of its own (see
// settleTimeout), wakes the stages after this one, and counts it.
func (e *Engine) settle(ctx context.Context, s *settlement) error {
	if s.recorded {
		poke(e.wake.crm)
		poke(e.wake.receipts)
		poke(e.wake.refunds)
	}
	// Deferred events of a process shutting down are free for the next
	// one at once.
	shuttingDown := ctx.Err() != nil
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	var errs []error
	if err := e.payments.MarkEventsProcessed(ctx, s.done); err != nil {
		errs = append(errs, fmt.Errorf("mark events processed: %w", err))
	}
	if err := e.payments.FailEvents(ctx, s.failures); err != nil {
		errs = append(errs, fmt.Errorf("record failed events: %w", err))
	}
	for at, ids := range s.deferred {
		if shuttingDown {
			at = e.now()
		}
		if err := e.payments.DeferEvents(ctx, ids, at); err != nil {
			errs = append(errs, fmt.Errorf("defer events: %w", err))
		}
	}
	dead := 0
	for _, f := range s.failures {
		if f.Dead {
			dead++
			e.logger.Error("Stripe event moved to the dead letters", "event_id", f.ID, "error", f.Error)
		}
	}
	if e.observer != nil {
		e.observer.EventsSettled(len(s.done), len(s.failures)-dead, dead)
	}
	if len(errs) > 0 {
		return fmt.Errorf("settle events: %w", errors.Join(errs...))
	}
	return nil
}

// actsOn reports whether the engine applies events of type typ that name
// a PaymentIntent: its own events, its charges' (refunds and disputes
// included) and Checkout's. Others about a PaymentIntent, such as
// refund.created, add nothing that charge.refunded does not say.
func actsOn(typ string) bool {
	return strings.HasPrefix(typ, "payment_intent.") || strings.HasPrefix(typ, "charge.") ||
		strings.HasPrefix(typ, "checkout.session.")
}

// newest is the creation time of the newest of evs.
func newest(evs []stripesync.Event) time.Time {
	var t time.Time
	for _, ev := range evs {
		if ev.Created.After(t) {
			t = ev.Created
		}
	}
	return t
}

func eventIDs(evs []stripesync.Event) []string {
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	return ids
}

// recordPayment fills in the CRM account a payment belongs to, when Stripe
// did not say, and records it.
func (e *Engine) recordPayment(ctx context.Context, p stripesync.Payment) (bool, error) {
	p, err := e.withAccount(ctx, p)
	if err != nil {
		return false, err
	}
	stored, changed, err := e.payments.RecordPayment(ctx, p)
	if err != nil {
		return false, fmt.Errorf("record payment %s: %w", p.ID, err)
	}
	e.noteRecorded(stripesync.PaymentRecord{Stored: stored, Changed: changed})
	return changed, nil
}

// withAccount fills in the CRM account of a payment from its customer's
// link, when Stripe did not say.
func (e *Engine) withAccount(ctx context.Context, p stripesync.Payment) (stripesync.Payment, error) {
	if p.AccountID != "" || p.CustomerID == "" {
		return p, nil
	}
	link, err := e.payments.AccountLinkByStripeID(ctx, p.CustomerID)
	switch {
	case err == nil:
		p.AccountID = link.CRMID
	case stripesync.CodeOf(err) != stripesync.ENOTFOUND:
		return p, err
	}
	return p, nil
}

// noteRecorded logs a change to the ledger.
func (e *Engine) noteRecorded(rec stripesync.PaymentRecord) {
	if rec.Changed {
		p := rec.Stored
		e.logger.Info("payment recorded", "stripe_id", p.ID, "status", p.Status,
			"amount", p.Amount.String(), "refunded", p.Refunded, "invoice_id", p.InvoiceID)
	}
}

// customerDeleted records that a customer was deleted in Stripe: the
// account's link keeps the id for the record but stops being bound, and
// the CRM is told why.
func (e *Engine) customerDeleted(ctx context.Context, customerID string) error {
	link, err := e.payments.AccountLinkByStripeID(ctx, customerID)
	if stripesync.CodeOf(err) == stripesync.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if link.State != stripesync.LinkBound {
		return nil
	}
	msg := fmt.Sprintf("Stripe customer %s was deleted in Stripe", customerID)
	// The CRM first: if recording the link fails after it, the event is
	// retried and both happen again; the other way round a retry would
	// find the link already unbound and never tell the CRM.
	perRecord, err := e.crm.WriteAccountSync(ctx, []stripesync.AccountSyncUpdate{{AccountID: link.CRMID, SyncError: msg}})
	if err == nil && len(perRecord) > 0 {
		err = perRecord[0]
	}
	if err != nil {
		return err
	}
	link.State = stripesync.LinkFailed
	link.LastError = msg
	link.UpdatedAt = e.now()
	return e.ledger.SaveAccountLink(ctx, link)
}
