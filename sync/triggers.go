package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stripesync/stripesync"
)

const (
	triggerBatch = 100
	triggerLease = time.Minute
)

// NotifyTriggers tells the trigger worker that triggers were accepted:
// now, for records already pending, and when the coalescing window of the
// new ones has passed.
func (e *Engine) NotifyTriggers() {
	poke(e.wake.triggers)
	if e.window > 0 {
		time.AfterFunc(e.window, func() { poke(e.wake.triggers) })
	}
}

// ProcessTriggers pushes one batch of pending CRM triggers and returns how
// many it took. A trigger is only a hint: the record is read again from
// the CRM and pushed through the same code as the scheduled sync, so a
// duplicate, a reordered or a stale message pushes the record's current
// state, which costs no Stripe call when Stripe already has it. Triggers
// for one record were coalesced by the inbox; one that arrives while the
// record is being pushed keeps it pending for another round.
func (e *Engine) ProcessTriggers(ctx context.Context) (int, error) {
	claimed, err := e.triggers.ClaimTriggers(ctx, triggerBatch, triggerLease)
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	var accounts []stripesync.Account
	var accountTriggers []stripesync.ClaimedTrigger
	var errs []error
	for _, t := range claimed {
		var err error
		switch t.Object {
		case stripesync.ObjectAccount:
			var a stripesync.Account
			a, err = e.crm.Account(ctx, t.RecordID)
			if err == nil {
				accounts = append(accounts, a)
				accountTriggers = append(accountTriggers, t)
				continue
			}
		case stripesync.ObjectInvoice:
			err = e.invoiceTrigger(ctx, t.RecordID)
		default:
			err = stripesync.Errorf(stripesync.EINVALID, "triggers for %s are not handled", t.Object)
		}
		errs = append(errs, e.settleTrigger(ctx, t, err))
	}
	if len(accounts) > 0 {
		outcomes, stop := e.pushAll(ctx, accounts)
		for i, t := range accountTriggers {
			var err error
			switch {
			case outcomes == nil:
				err = stop
			case !outcomes[i].handled:
				err = outcomes[i].err
				if err == nil {
					err = errors.New("not handled")
				}
			}
			errs = append(errs, e.settleTrigger(ctx, t, err))
		}
		if stop != nil {
			errs = append(errs, stop)
		}
	}
	return len(claimed), errors.Join(errs...)
}

// invoiceTrigger copies one invoice from the CRM into the ledger.
func (e *Engine) invoiceTrigger(ctx context.Context, id string) error {
	if e.payments == nil {
		return errors.New("sync: invoice triggers need Config.Payments")
	}
	inv, err := e.crm.Invoice(ctx, id)
	if err != nil {
		return err
	}
	if err := e.payments.SaveInvoices(ctx, []stripesync.Invoice{inv}); err != nil {
		return err
	}
	poke(e.wake.crm)
	return nil
}

// settleTrigger completes a trigger whose record is settled (pushed, or
// failed for good, or gone from the CRM) and schedules a retry otherwise.
func (e *Engine) settleTrigger(ctx context.Context, t stripesync.ClaimedTrigger, cause error) error {
	if cause == nil || !stripesync.Retryable(cause) {
		if cause != nil {
			e.logger.Warn("trigger not pushed", "object", t.Object, "crm_id", t.RecordID, "error", cause)
		}
		return e.triggers.CompleteTrigger(context.WithoutCancel(ctx), t)
	}
	e.logger.Warn("trigger failed; will retry", "object", t.Object, "crm_id", t.RecordID, "attempt", t.Attempts, "error", cause)
	if err := e.triggers.FailTrigger(context.WithoutCancel(ctx), t, e.retryAt(t.Attempts), cause); err != nil {
		return fmt.Errorf("record trigger failure: %w", err)
	}
	return nil
}
