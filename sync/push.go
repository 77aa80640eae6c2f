package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stripesync/stripesync"
)

// accountsCursor names the watermark of the account push in the ledger.
const accountsCursor = "accounts"

// PushOptions tunes one account push.
type PushOptions struct {
	// Full ignores the cursor and reads every account. Unchanged accounts
	// still cost no Stripe call.
	Full bool
	// Progress, when set, is called after each batch with the run so far.
	Progress func(stripesync.SyncRun)
}

// PushAccounts runs one account push and returns its run log entry. The
// returned error is set only when the run could not be recorded at all;
// a run that stopped early (for instance because the CRM's API allocation
// is spent) is returned with Status RunFailed and its Error filled in.
func (e *Engine) PushAccounts(ctx context.Context, opts PushOptions) (stripesync.SyncRun, error) {
	started := e.now()
	run, err := e.ledger.StartRun(ctx, accountsCursor, started)
	if err != nil {
		return run, fmt.Errorf("start account push: %w", err)
	}
	since, err := e.ledger.Cursor(ctx, accountsCursor)
	if err != nil {
		return run, e.finishRun(ctx, &run, accountsCursor, started, fmt.Errorf("read cursor: %w", err))
	}
	if opts.Full {
		since = time.Time{}
	}
	run.CursorFrom, run.CursorTo = since, since
	log := e.logger.With("run_id", run.ID, "job", accountsCursor)
	log.Info("account push started", "since", since, "full", opts.Full)

	w := watermark{at: since}
	var stop error
	batch := make([]stripesync.Account, 0, e.batch)
	flush := func() {
		if len(batch) == 0 || stop != nil {
			return
		}
		stop = e.pushBatch(ctx, &run, &w, batch)
		batch = batch[:0]
		if opts.Progress != nil {
			opts.Progress(run)
		}
	}
	for acct, err := range e.crm.Accounts(ctx, since) {
		if err != nil {
			stop = fmt.Errorf("read accounts from the CRM: %w", err)
			break
		}
		batch = append(batch, acct)
		if len(batch) == e.batch {
			flush()
			if stop != nil {
				break
			}
		}
	}
	flush()
	return run, e.finishRun(ctx, &run, accountsCursor, started, stop)
}

// finishRun records the end of a run of job. cause is why the run stopped
// early, if it did; it goes into the run log rather than being returned,
// so that callers see one consistent record.
func (e *Engine) finishRun(ctx context.Context, run *stripesync.SyncRun, job string, started time.Time, cause error) error {
	run.FinishedAt = e.now()
	switch {
	case cause != nil:
		run.Status = stripesync.RunFailed
		run.Error = cause.Error()
	case run.Failed > 0:
		run.Status = stripesync.RunPartial
		run.Error = fmt.Sprintf("%d %s failed; see the ledger and the CRM's sync error fields", run.Failed, job)
	default:
		run.Status = stripesync.RunSucceeded
	}
	// The run log must be written even when ctx was cancelled (SIGTERM), so
	// that the operator sees how far the run got.
	err := e.ledger.FinishRun(context.WithoutCancel(ctx), *run)
	if e.observer != nil {
		e.observer.RunFinished(job, string(run.Status), run.FinishedAt.Sub(started))
	}
	level := e.logger.Info
	if run.Status != stripesync.RunSucceeded {
		level = e.logger.Warn
	}
	level("run finished", "job", job, "run_id", run.ID, "status", run.Status,
		"seen", run.Seen, "pushed", run.Pushed, "skipped", run.Skipped, "failed", run.Failed,
		"cursor", run.CursorTo, "duration_ms", run.FinishedAt.Sub(started).Milliseconds(), "error", run.Error)
	if err != nil {
		return fmt.Errorf("record %s run: %w", job, err)
	}
	return nil
}

// watermark tracks how far the cursor may move: up to the last account of
// the unbroken prefix of handled accounts, and no further.
type watermark struct {
	at      time.Time
	blocked bool // an unhandled account was seen; the cursor stays put for the rest of the run
}

func (w *watermark) observe(a stripesync.Account, handled bool) {
	if w.blocked {
		return
	}
	if !handled {
		w.blocked = true
		return
	}
	if a.ModStamp.After(w.at) {
		w.at = a.ModStamp
	}
}

// pushBatch pushes a batch of accounts, counts the outcomes, advances the
// watermark and saves the cursor. It returns an error only when the run
// must stop.
func (e *Engine) pushBatch(ctx context.Context, run *stripesync.SyncRun, w *watermark, batch []stripesync.Account) error {
	outcomes, stop := e.pushAll(ctx, batch)
	if outcomes == nil {
		return stop
	}

	var pushed, skipped, failed int
	for i, a := range batch {
		o := outcomes[i]
		run.Seen++
		switch {
		case o.err != nil:
			failed++
			e.logger.Warn("account push failed", "run_id", run.ID, "crm_id", a.ID,
				"handled", o.handled, "error", o.err)
		case o.pushed:
			pushed++
		default:
			skipped++
		}
		w.observe(a, o.handled)
	}
	run.Pushed += pushed
	run.Skipped += skipped
	run.Failed += failed
	if e.observer != nil {
		e.observer.AccountsHandled(pushed, skipped, failed)
	}

	if w.at.After(run.CursorTo) {
		if err := e.ledger.SetCursor(ctx, accountsCursor, w.at); err != nil {
			return errors.Join(stop, fmt.Errorf("save cursor: %w", err))
		}
		run.CursorTo = w.at
	}
	if stop == nil && ctx.Err() != nil {
		stop = ctx.Err()
	}
	return stop
}

// pushAll pushes accounts concurrently and writes the results back to the
// CRM: the one code path of the scheduled push and the real-time
// triggers. outcomes is nil when nothing could be done (the ledger could
// not be read); stop is set when the CRM refuses further work.
func (e *Engine) pushAll(ctx context.Context, batch []stripesync.Account) (outcomes []outcome, stop error) {
	ids := make([]string, len(batch))
	for i, a := range batch {
		ids[i] = a.ID
	}
	links, err := e.ledger.AccountLinks(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read account links: %w", err)
	}
	// Receipts are rendered from the ledger, never the CRM; this is where
	// the ledger learns the names and billing e-mails they show.
	if err := e.ledger.SaveAccountContacts(ctx, batch); err != nil {
		return nil, fmt.Errorf("save account contacts: %w", err)
	}
	outcomes = make([]outcome, len(batch))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.workers)
	for i, a := range batch {
		link, ok := links[a.ID]
		var lp *stripesync.AccountLink
		if ok {
			lp = &link
		}
		g.Go(func() error {
			outcomes[i] = e.pushAccount(gctx, a, lp)
			return nil
		})
	}
	_ = g.Wait() // workers report through outcomes, never through the group
	return outcomes, e.writeBack(ctx, batch, outcomes)
}

// writeBack sends the CRM updates of a batch in one WriteAccountSync call
// (which the adapter splits into Collections requests of at most 200). An
// account whose write-back failed is not handled: the next run reads it
// again and, finding Stripe already up to date, only repeats the write-back.
// It returns an error when the CRM refuses further work (API limit reached)
// or is unreachable, so the run stops.
func (e *Engine) writeBack(ctx context.Context, batch []stripesync.Account, outcomes []outcome) error {
	var updates []stripesync.AccountSyncUpdate
	var index []int
	for i := range batch {
		if u := outcomes[i].writeBack; u != nil {
			updates = append(updates, *u)
			index = append(index, i)
		}
	}
	if len(updates) == 0 {
		return nil
	}
	perRecord, err := e.crm.WriteAccountSync(ctx, updates)
	for j, i := range index {
		var recErr error
		if j < len(perRecord) {
			recErr = perRecord[j]
		} else if err != nil {
			recErr = err
		}
		if recErr != nil {
			// A record the CRM refuses for good (deleted meanwhile, a
			// validation rule) must not hold the cursor back forever; a
			// transient refusal is retried by the next run.
			outcomes[i].handled = outcomes[i].handled && !stripesync.Retryable(recErr)
			if outcomes[i].err == nil {
				outcomes[i].err = fmt.Errorf("write back to the CRM: %w", recErr)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("write back to the CRM: %w", err)
	}
	return nil
}
