package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stripesync/stripesync"
)

const (
	paymentsCursor = "payments"
	invoicesCursor = "invoices"
	// pullOverlap is how far before its start a pull's successor looks
	// again. Stripe lists an event a little after it is created, so a
	// window that ends exactly at the last run would miss some; events are
	// de-duplicated by id and payments only move forward, so looking twice
	// costs reads, never double counting.
	pullOverlap  = 5 * time.Minute
	invoiceBatch = 500
)

// PullOptions tunes one payment pull.
type PullOptions struct {
	// Since overrides the cursor when not zero.
	Since time.Time
}

// PullPayments is the safety net under the webhooks: it lists the Stripe
// events since the cursor into the same inbox the webhook fills, records
// every PaymentIntent created since the cursor, and drains the inbox. Run
// every STRIPESYNC_PAYMENT_SYNC_EVERY, it recovers every payment made while
// webhooks were down.
func (e *Engine) PullPayments(ctx context.Context, opts PullOptions) (stripesync.SyncRun, error) {
	if e.payments == nil {
		return stripesync.SyncRun{}, errors.New("sync: the payment pull needs Config.Payments and Config.Queue")
	}
	started := e.now()
	run, err := e.ledger.StartRun(ctx, paymentsCursor, started)
	if err != nil {
		return run, fmt.Errorf("start payment pull: %w", err)
	}
	since := opts.Since
	if since.IsZero() {
		if since, err = e.ledger.Cursor(ctx, paymentsCursor); err != nil {
			return run, e.finishRun(ctx, &run, paymentsCursor, started, err)
		}
	}
	run.CursorFrom, run.CursorTo = since, since
	err = e.pullPayments(ctx, &run, since)
	if err == nil {
		next := started.Add(-pullOverlap)
		if next.After(since) {
			if err = e.ledger.SetCursor(ctx, paymentsCursor, next); err == nil {
				run.CursorTo = next
			}
		}
	}
	return run, e.finishRun(ctx, &run, paymentsCursor, started, err)
}

// pullPayments runs every list it can and reports each failure: either
// list alone recovers every payment, so one that fails (an outage, a key
// without the permission) must not keep the other from running.
func (e *Engine) pullPayments(ctx context.Context, run *stripesync.SyncRun, since time.Time) error {
	var errs []error
	for ev, err := range e.billing.Events(ctx, since) {
		if err != nil {
			errs = append(errs, fmt.Errorf("list Stripe events: %w", err))
			break
		}
		run.Seen++
		if _, err := e.payments.AcceptEvent(ctx, ev); err != nil {
			errs = append(errs, err)
			break
		}
	}
	// The list is read after the events, so it is at least as new as
	// them: the events of a listed PaymentIntent cost no second read.
	// Only a recorded PaymentIntent counts as listed, so that the events
	// of one that failed to record are still read.
	listed, listedAt := map[string]bool{}, e.now()
	for p, err := range e.billing.PaymentIntents(ctx, since) {
		if err != nil {
			errs = append(errs, fmt.Errorf("list PaymentIntents: %w", err))
			break
		}
		run.Seen++
		changed, err := e.recordPayment(ctx, p)
		if err != nil {
			errs = append(errs, err)
			break
		}
		listed[p.ID] = true
		if changed {
			run.Pushed++
		} else {
			run.Skipped++
		}
	}
	for {
		// No settle and no waiting for pairs: the listed events are all
		// in the inbox already.
		n, err := e.processEvents(ctx, eventPass{fresh: listed, readAt: listedAt})
		if err != nil {
			errs = append(errs, err)
			break
		}
		if n == 0 {
			break
		}
	}
	e.drainReads(ctx)
	poke(e.wake.crm)
	poke(e.wake.receipts)
	poke(e.wake.refunds)
	return errors.Join(errs...)
}

// PullInvoices copies the invoices changed since its cursor from the CRM
// into the ledger, which recomputes their rollups and queues the CRM
// write-back where the CRM is behind. With LinkConfig.AutoIssue it then
// issues a payment link for each invoice of the batch that has a balance
// due and no link in the CRM yet (never a second one for an invoice that
// has one: a pull does not churn tokens); the write-back puts the links in
// Payment_Link__c, in the same Collections calls as the rollups. The
// scheduler runs it after the account push.
func (e *Engine) PullInvoices(ctx context.Context) (stripesync.SyncRun, error) {
	if e.payments == nil {
		return stripesync.SyncRun{}, errors.New("sync: the invoice pull needs Config.Payments and Config.Queue")
	}
	started := e.now()
	run, err := e.ledger.StartRun(ctx, invoicesCursor, started)
	if err != nil {
		return run, fmt.Errorf("start invoice pull: %w", err)
	}
	since, err := e.ledger.Cursor(ctx, invoicesCursor)
	if err != nil {
		return run, e.finishRun(ctx, &run, invoicesCursor, started, err)
	}
	run.CursorFrom, run.CursorTo = since, since
	batch := make([]stripesync.Invoice, 0, invoiceBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := e.payments.SaveInvoices(ctx, batch); err != nil {
			return err
		}
		// Before the cursor moves: links that fail to be issued are
		// tried again by the next pull.
		if _, err := e.autoIssueLinks(ctx, batch); err != nil {
			return fmt.Errorf("issue payment links: %w", err)
		}
		// Saved in stream order, so the last one is the new watermark.
		last := batch[len(batch)-1].ModStamp
		if last.After(run.CursorTo) {
			if err := e.ledger.SetCursor(ctx, invoicesCursor, last); err != nil {
				return err
			}
			run.CursorTo = last
		}
		run.Pushed += len(batch)
		batch = batch[:0]
		return nil
	}
	var stop error
	for inv, err := range e.crm.Invoices(ctx, since) {
		if err != nil {
			stop = fmt.Errorf("read invoices from the CRM: %w", err)
			break
		}
		run.Seen++
		batch = append(batch, inv)
		if len(batch) == invoiceBatch {
			if stop = flush(); stop != nil {
				break
			}
		}
	}
	if stop == nil {
		stop = flush()
	}
	poke(e.wake.crm)
	return run, e.finishRun(ctx, &run, invoicesCursor, started, stop)
}
