package sync

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stripesync/stripesync"
)

// wakeups lets one stage tell the next that work is waiting, so that a
// payment travels from webhook to CRM in milliseconds rather than a polling
// interval. Each channel holds at most one pending wake-up.
type wakeups struct {
	events, crm, receipts, triggers chan struct{}
}

func newWakeups() wakeups {
	return wakeups{
		events:   make(chan struct{}, 1),
		crm:      make(chan struct{}, 1),
		receipts: make(chan struct{}, 1),
		triggers: make(chan struct{}, 1),
	}
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// NotifyEvents tells the event worker that new events were accepted. The
// webhook endpoint calls it after each durable insert.
func (e *Engine) NotifyEvents() { poke(e.wake.events) }

// idlePoll is how often an idle worker looks for work it was not woken
// for: jobs whose retry time came, or work enqueued by another process.
const idlePoll = time.Second

// RunWorkers runs the background workers until ctx ends: the Stripe event
// processor, the CRM write-back of payments and invoices, the receipt
// mailer and the CRM trigger processor. Each drains its queue, then sleeps
// until woken or idlePoll.
func (e *Engine) RunWorkers(ctx context.Context) error {
	if e.payments == nil {
		return errors.New("sync: payment workers need Config.Payments and Config.Queue")
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return e.loop(ctx, "events", e.wake.events, e.eventSettle, e.ProcessEvents) })
	g.Go(func() error { return e.runReads(ctx) })
	g.Go(func() error { return e.loop(ctx, "crm-writeback", e.wake.crm, 0, e.WriteBack) })
	if e.receipts != nil {
		g.Go(func() error { return e.loop(ctx, "receipts", e.wake.receipts, 0, e.SendReceipts) })
	}
	if e.triggers != nil {
		g.Go(func() error { return e.loop(ctx, "triggers", e.wake.triggers, 0, e.ProcessTriggers) })
	}
	return g.Wait()
}

// stepGrace bounds how long a step already under way may go on after
// shutdown began: a receipt half-sent or a write-back half-done is better
// finished than retried.
const stepGrace = 30 * time.Second

// loop calls step until it reports no work, then waits. Errors are logged
// and retried after a pause; they never stop the worker. A step runs to
// its end (within stepGrace) even when ctx ends meanwhile. After a wake-up
// it waits settle first, so that work arriving together is taken together.
func (e *Engine) loop(ctx context.Context, name string, wake <-chan struct{}, settle time.Duration, step func(context.Context) (int, error)) error {
	log := e.logger.With("worker", name)
	for {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stepGrace)
		n, err := step(sctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			log.Error("worker step failed", "error", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
			if settle > 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(settle):
				}
			}
		case <-time.After(idlePoll):
		}
	}
}

// retryAt spaces out the attempts of a failed job: 1 s, 2 s, 4 s … up to
// 5 minutes, with jitter so that a CRM outage does not end in a stampede.
func (e *Engine) retryAt(attempts int) time.Time {
	d := time.Second << min(attempts, 9)
	d = min(d, 5*time.Minute)
	d = d/2 + rand.N(d/2+1)
	return e.now().Add(d)
}

// failJobs records a failed attempt for each job.
func (e *Engine) failJobs(ctx context.Context, jobs []stripesync.Job, cause error) {
	for _, j := range jobs {
		if err := e.queue.Fail(context.WithoutCancel(ctx), j.ID, cause, e.retryAt(j.Attempts)); err != nil {
			e.logger.Error("record job failure", "job_id", j.ID, "kind", j.Kind, "error", err)
		}
	}
}

func (e *Engine) completeJobs(ctx context.Context, jobs []stripesync.Job) error {
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	return e.queue.Complete(context.WithoutCancel(ctx), ids...)
}
