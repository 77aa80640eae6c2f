package sync

import (
	"context"
	"time"

	"github.com/stripesync/stripesync"
)

// FailureConfig turns the failure inbox on.
type FailureConfig struct {
	Inbox stripesync.Failures
	// Notifier mails the ops digest to OpsEmail; nil, or no address,
	// sends none (the inbox still fills, and the counter still counts).
	Notifier FailureNotifier
	OpsEmail string
	// ConsoleURL is the base of the console links in the digest
	// (STRIPESYNC_PUBLIC_URL); "" leaves them out.
	ConsoleURL string
	// Counted is told of each failure the digest reports, once, for the
	// counter by source and code; nil counts nothing.
	Counted func(source stripesync.FailureSource, code string)
}

// FailureNotifier mails the ops digest. receipts.Sender implements it.
type FailureNotifier interface {
	SendFailureDigest(ctx context.Context, to string, d stripesync.FailureDigest) error
}

const (
	// digestMost is the most failures one message lists; it says how
	// many more there are.
	digestMost  = 200
	digestLease = 2 * time.Minute
)

// RecordFailure puts f in the failure inbox, with its next step, and has
// it mailed to ops in the next digest. A failure to record is logged and
// returned: the failure itself has happened either way.
func (e *Engine) RecordFailure(ctx context.Context, f stripesync.Failure) (stripesync.Failure, error) {
	if e.failures == nil {
		return f, nil
	}
	now := e.now()
	if f.Created.IsZero() {
		f.Created = now
	}
	if f.NextStep == "" {
		f.NextStep = stripesync.NextStepFor(f.Code)
	}
	stored, err := e.failures.Inbox.RecordFailure(context.WithoutCancel(ctx), f, stripesync.FailureDigestJob(now))
	if err != nil {
		e.logger.WarnContext(ctx, "record failure", "key", f.Key, "source", f.Source, "error", err)
		return f, err
	}
	e.logger.InfoContext(ctx, "failure recorded", "failure_id", stored.ID, "source", f.Source, "code", f.Code,
		"invoice_id", f.InvoiceID, "status", stored.Status)
	return stored, nil
}

// DismissFailure closes a failure for staff member staff: it leaves the
// open list and stays in the history.
func (e *Engine) DismissFailure(ctx context.Context, id int64, staff, note string) (stripesync.Failure, error) {
	if e.failures == nil {
		return stripesync.Failure{}, errFailuresOff
	}
	if note == "" {
		note = "dismissed"
	}
	return e.failures.Inbox.SetFailureStatus(ctx, id, stripesync.FailureDismissed, staff, note, e.now())
}

var errFailuresOff = stripesync.Errorf(stripesync.ENOTFOUND, "the failure inbox is off")

// SendFailureDigest mails ops the failures no digest has reported yet,
// once a digest job is due. It is a worker step: it reports how many jobs
// it handled.
func (e *Engine) SendFailureDigest(ctx context.Context) (int, error) {
	if e.failures == nil {
		return 0, nil
	}
	jobs, err := e.queue.Claim(ctx, stripesync.JobFailureDigest, 1, digestLease)
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	due, err := e.failures.Inbox.DueFailures(ctx, digestMost+1)
	if err != nil {
		e.failJobs(ctx, jobs, err)
		return len(jobs), err
	}
	if len(due) > 0 {
		if err := e.mailDigest(ctx, due); err != nil {
			e.logger.WarnContext(ctx, "failure digest not sent; will retry", "failures", len(due), "error", err)
			e.failJobs(ctx, jobs, err)
			return len(jobs), nil
		}
	}
	if err := e.completeJobs(ctx, jobs); err != nil {
		return len(jobs), err
	}
	return len(jobs), e.enqueueLateDigest(ctx)
}

// mailDigest mails (when mail is on) and marks the failures reported,
// counting each once.
func (e *Engine) mailDigest(ctx context.Context, due []stripesync.Failure) error {
	shown := due[:min(len(due), digestMost)]
	if e.failures.Notifier != nil && e.failures.OpsEmail != "" {
		more := 0
		if len(due) > digestMost {
			more = len(due) - digestMost // at least: the rest wait for the next digest
		}
		d := stripesync.FailureDigest{Failures: shown, More: more, ConsoleURL: e.failures.ConsoleURL}
		if err := e.failures.Notifier.SendFailureDigest(ctx, e.failures.OpsEmail, d); err != nil {
			return err
		}
		e.logger.InfoContext(ctx, "failure digest sent", "failures", len(shown), "to", e.failures.OpsEmail)
	}
	ids := make([]int64, len(shown))
	for i, f := range shown {
		ids[i] = f.ID
		if e.failures.Counted != nil {
			e.failures.Counted(f.Source, f.Code)
		}
	}
	return e.failures.Inbox.MarkNotified(context.WithoutCancel(ctx), ids, e.now())
}

// enqueueLateDigest enqueues the next digest when failures are still due:
// more than one message lists, or recorded while this one was being sent
// (they found its job still pending and enqueued none).
func (e *Engine) enqueueLateDigest(ctx context.Context) error {
	late, err := e.failures.Inbox.DueFailures(ctx, 1)
	if err != nil || len(late) == 0 {
		return err
	}
	_, err = e.queue.Enqueue(ctx, stripesync.FailureDigestJob(e.now()))
	return err
}

// RetryFailure tries again what a failure is about, for staff member
// staff, and returns the entry as it is after: a declined payment is
// charged again to the customer's default method (the one auto-pay
// charges, which the customer may have changed since); a CRM write-back
// is queued again. A failure already resolved or dismissed is ECONFLICT.
func (e *Engine) RetryFailure(ctx context.Context, id int64, staff string) (stripesync.Failure, error) {
	if e.failures == nil {
		return stripesync.Failure{}, errFailuresOff
	}
	f, _, err := e.failures.Inbox.Failure(ctx, id)
	if err != nil {
		return stripesync.Failure{}, err
	}
	if f.Status == stripesync.FailureResolved || f.Status == stripesync.FailureDismissed {
		return f, stripesync.Errorf(stripesync.ECONFLICT, "Failure %d is %s: there is nothing to retry", id, f.Status)
	}
	err = e.retryFailure(ctx, f, staff)
	now := e.now()
	status, note := stripesync.FailureResolved, "retried by "+staff+": done"
	if err != nil {
		status, note = stripesync.FailureOpen, "retried by "+staff+": "+stripesync.MessageOf(err)
	}
	after, serr := e.failures.Inbox.SetFailureStatus(ctx, id, status, staff, note, now)
	if serr != nil {
		return f, serr
	}
	return after, err
}
