package sync

import (
	"context"
	"fmt"
	"time"

	"github.com/stripesync/stripesync"
)

const (
	eventBatch = 100
	eventLease = time.Minute
)

// ProcessEvents applies one batch of accepted Stripe events and returns how
// many it took. Events are hints: for each PaymentIntent they mention, the
// current state is read from Stripe and recorded, so duplicates, reordering
// and stale deliveries all end in the same ledger. Several events about one
// PaymentIntent in a batch cost one read. An event whose PaymentIntent
// could not be read stays unprocessed and is retried when its lease ends.
func (e *Engine) ProcessEvents(ctx context.Context) (int, error) {
	return e.processEvents(ctx, nil, time.Time{})
}

// processEvents is ProcessEvents that trusts fresh, the PaymentIntents the
// pull listed at readAt: an event about one of them created before readAt
// (Stripe's seconds, so strictly before the second of readAt) is already
// reflected and needs no second read. A later event, say a webhook of the
// ACH settling meanwhile, is read as usual.
func (e *Engine) processEvents(ctx context.Context, fresh map[string]bool, readAt time.Time) (int, error) {
	events, err := e.payments.ClaimEvents(ctx, eventBatch, eventLease)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	byIntent := map[string][]string{} // PaymentIntent id → event ids
	var order []string
	var done []string
	for _, ev := range events {
		switch {
		case fresh[ev.PaymentIntentID] && ev.Created.Before(readAt.Truncate(time.Second)):
			done = append(done, ev.ID)
		case ev.PaymentIntentID != "":
			if _, seen := byIntent[ev.PaymentIntentID]; !seen {
				order = append(order, ev.PaymentIntentID)
			}
			byIntent[ev.PaymentIntentID] = append(byIntent[ev.PaymentIntentID], ev.ID)
		case ev.Type == stripesync.EventCustomerDeleted && ev.CustomerID != "":
			if err := e.customerDeleted(ctx, ev.CustomerID); err != nil {
				e.logger.Warn("apply customer.deleted", "event_id", ev.ID, "stripe_id", ev.CustomerID, "error", err)
				continue
			}
			done = append(done, ev.ID)
		default:
			done = append(done, ev.ID) // nothing we act on
		}
	}
	recorded := false
	for _, id := range order {
		changed, err := e.applyPaymentIntent(ctx, id)
		if err != nil {
			e.logger.Warn("apply payment", "stripe_id", id, "error", err)
			continue
		}
		recorded = recorded || changed
		done = append(done, byIntent[id]...)
	}
	if recorded {
		poke(e.wake.crm)
		poke(e.wake.receipts)
	}
	if err := e.payments.MarkEventsProcessed(ctx, done); err != nil {
		return len(events), fmt.Errorf("mark events processed: %w", err)
	}
	return len(events), nil
}

// applyPaymentIntent reads a PaymentIntent from Stripe and records it.
func (e *Engine) applyPaymentIntent(ctx context.Context, id string) (bool, error) {
	p, err := e.billing.PaymentIntent(ctx, id)
	if stripesync.CodeOf(err) == stripesync.ENOTFOUND {
		// Not ours to see (another mode or account): nothing to record.
		e.logger.Info("payment intent not found; event ignored", "stripe_id", id)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return e.recordPayment(ctx, p)
}

// recordPayment fills in the CRM account a payment belongs to, when Stripe
// did not say, and records it.
func (e *Engine) recordPayment(ctx context.Context, p stripesync.Payment) (bool, error) {
	if p.AccountID == "" && p.CustomerID != "" {
		link, err := e.payments.AccountLinkByStripeID(ctx, p.CustomerID)
		switch {
		case err == nil:
			p.AccountID = link.CRMID
		case stripesync.CodeOf(err) != stripesync.ENOTFOUND:
			return false, err
		}
	}
	stored, changed, err := e.payments.RecordPayment(ctx, p)
	if err != nil {
		return false, fmt.Errorf("record payment %s: %w", p.ID, err)
	}
	if changed {
		e.logger.Info("payment recorded", "stripe_id", stored.ID, "status", stored.Status,
			"amount", stored.Amount.String(), "refunded", stored.Refunded, "invoice_id", stored.InvoiceID)
	}
	return changed, nil
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
