package sync

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stripesync/stripesync"
)

// wakeups lets one stage tell the next that work is waiting, so that a
// payment travels from webhook to CRM in milliseconds rather than a polling
// interval. Each channel holds at most one pending wake-up.
type wakeups struct {
	events, crm, receipts, refunds, triggers chan struct{}
}

func newWakeups() wakeups {
	return wakeups{
		events:   make(chan struct{}, 1),
		crm:      make(chan struct{}, 1),
		receipts: make(chan struct{}, 1),
		refunds:  make(chan struct{}, 1),
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
// mailer, the refund-notice mailer, the CRM trigger processor and the payment-link mailer. Each drains its queue, then sleeps
// until woken or idlePoll.
func (e *Engine) RunWorkers(ctx context.Context) error {
	if e.payments == nil {
		return errors.New("sync: payment workers need Config.Payments and Config.Queue")
	}
	g, ctx := errgroup.WithContext(ctx)
	batched := pace{full: eventBatch, settle: e.eventSettle}
	g.Go(func() error { return e.loop(ctx, "events", e.wake.events, batched, e.ProcessEvents) })
	g.Go(func() error { return e.runReads(ctx) })
	g.Go(func() error {
		return e.loop(ctx, "crm-writeback", e.wake.crm, pace{full: writeBackBatch, settle: writeBackSettle}, e.WriteBack)
	})
	if e.receipts != nil {
		g.Go(func() error { return e.loop(ctx, "receipts", e.wake.receipts, pace{}, e.SendReceipts) })
		g.Go(func() error { return e.loop(ctx, "refund-notices", e.wake.refunds, pace{}, e.SendRefundNotices) })
	}
	if e.triggers != nil {
		g.Go(func() error { return e.loop(ctx, "triggers", e.wake.triggers, pace{}, e.ProcessTriggers) })
	}
	if e.links != nil && e.links.Mailer != nil {
		g.Go(func() error { return e.loop(ctx, "link-mail", e.links.wake, pace{}, e.SendPaymentLinks) })
	}
	if e.failures != nil {
		// Digests are due FailureDigestDelay after a failure: the idle poll
		// finds them, no wake-up is needed.
		g.Go(func() error { return e.loop(ctx, "failure-digest", nil, pace{}, e.SendFailureDigest) })
	}
	return g.Wait()
}

// stepGrace bounds how long a step already under way may go on after
// shutdown began: a receipt half-sent or a write-back half-done is better
// finished than retried.
const stepGrace = 30 * time.Second

// pace shapes a worker's loop for throughput.
type pace struct {
	// full is the worker's batch size: a step that took fewer items has
	// drained its queue for now, so the loop waits for a wake-up rather
	// than going on with crumbs at one commit each, which under a burst
	// would cost as many commits as the webhooks themselves. 0 means any
	// work at all makes the loop go on.
	full int
	// settle is how long the loop waits after a wake-up before its next
	// step, so that work arriving together is taken together.
	settle time.Duration
}

// loop calls step until it reports no more work (see pace), then waits.
// Errors are logged and retried after a pause; they never stop the
// worker. A step runs to its end (within stepGrace) even when ctx ends
// meanwhile.
func (e *Engine) loop(ctx context.Context, name string, wake <-chan struct{}, p pace, step func(context.Context) (int, error)) error {
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
		if n > 0 && n >= p.full && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
			if p.settle > 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(p.settle):
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

// failJobs records a failed attempt for each job. A CRM write-back that
// used its last attempt goes to the dead letters and, for a person to act
// on, to the failure inbox.
func (e *Engine) failJobs(ctx context.Context, jobs []stripesync.Job, cause error) {
	for _, j := range jobs {
		if err := e.queue.Fail(context.WithoutCancel(ctx), j.ID, cause, e.retryAt(j.Attempts)); err != nil {
			e.logger.Error("record job failure", "job_id", j.ID, "kind", j.Kind, "error", err)
			continue
		}
		if j.Attempts >= j.MaxAttempts && (j.Kind == stripesync.JobCRMPayment || j.Kind == stripesync.JobCRMInvoice) {
			e.writeBackDead(ctx, j, cause)
		}
	}
}

// writeBackDead records a CRM write-back given up on in the failure inbox.
func (e *Engine) writeBackDead(ctx context.Context, j stripesync.Job, cause error) {
	var ref struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(j.Payload, &ref) // a malformed payload names nothing
	f := stripesync.Failure{
		Key: "job:" + strconv.FormatInt(j.ID, 10), Source: stripesync.FailureWriteBack,
		Code: "write_back_failed", Message: stripesync.MessageOf(cause),
	}
	if j.Kind == stripesync.JobCRMPayment {
		f.PaymentID = ref.ID
	} else {
		f.InvoiceID = ref.ID
	}
	_, _ = e.RecordFailure(ctx, f)
}

// deferJobs makes jobs due again at until without counting the attempt.
func (e *Engine) deferJobs(ctx context.Context, jobs []stripesync.Job, until time.Time) error {
	var errs []error
	for _, j := range jobs {
		errs = append(errs, e.queue.Defer(context.WithoutCancel(ctx), j.ID, until))
	}
	return errors.Join(errs...)
}

func (e *Engine) completeJobs(ctx context.Context, jobs []stripesync.Job) error {
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	return e.queue.Complete(context.WithoutCancel(ctx), ids...)
}
