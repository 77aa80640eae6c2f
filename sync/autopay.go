package sync

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stripesync/stripesync"
)

// AutoPayLedger is the ledger's side of auto-pay. Implemented by store.DB.
type AutoPayLedger interface {
	// AutoPayInvoices pages through the invoices due for auto-pay on day
	// dueBy (see store.DB.AutoPayInvoices).
	AutoPayInvoices(ctx context.Context, dueBy time.Time, after string, limit int) ([]stripesync.Invoice, error)
}

// AutoPayConfig turns auto-pay on.
type AutoPayConfig struct {
	Ledger AutoPayLedger
	// Retry is when a soft decline is tried again, counted from the
	// first attempt (STRIPESYNC_AUTOPAY_RETRY, 1d,3d,7d): after the last
	// the failure waits for a person.
	Retry []time.Duration
	// SendLinkOnFailure e-mails the customer a payment link when auto-pay
	// gives up (STRIPESYNC_AUTOPAY_SEND_LINK_ON_FAILURE).
	SendLinkOnFailure bool
	// Location is where "today" is (STRIPESYNC_TIMEZONE): an invoice is
	// due from its due date's start there.
	Location *time.Location
	// Workers is how many charges run at once; Stripe's pacing, not this,
	// sets the rate, so it only covers the round trips. Defaults to 16.
	Workers int
}

// DefaultAutoPayRetry is STRIPESYNC_AUTOPAY_RETRY's default.
var DefaultAutoPayRetry = []time.Duration{24 * time.Hour, 72 * time.Hour, 168 * time.Hour}

const (
	defaultAutoPayWorkers = 16
	autoPayPage           = 500
	// autoPayCursor names the run in the run log.
	autoPayCursor = "autopay"
)

// The auto-pay actions an AutoPayResult reports.
const (
	AutoPayCharged    = "charged"    // paid
	AutoPayProcessing = "processing" // a bank debit, paid on settlement
	AutoPayWould      = "would charge"
	AutoPayRetrying   = "declined, will retry"
	AutoPayFailed     = "failed" // in the inbox for a person
	AutoPaySkipped    = "skipped"
	AutoPayError      = "error" // not charged; the next run tries again
)

// AutoPayResult is what auto-pay did, or would do (dry run), with one
// invoice.
type AutoPayResult struct {
	InvoiceID string
	Number    string
	Amount    stripesync.Money
	Action    string // an AutoPay* constant
	Detail    string // why, in plain words
	PaymentID string
}

// AutoPayRun is one run's outcome: every invoice considered, in id order.
type AutoPayRun struct {
	Run     stripesync.SyncRun
	Results []AutoPayResult
}

// AutoPay charges every invoice due today to its customer's default method,
// off session, for what can be paid now: the job the scheduler runs once a
// day, and `stripesync autopay`. With dryRun nothing is charged or
// recorded; the results say what would be, and why other invoices are
// skipped.
//
// Each (invoice, due date) has one entry in the failure inbox once it
// fails, "autopay:<invoice>:<due date>", whose occurrences count the
// attempts: attempt n is charged under its own idempotency key, so a run
// repeated the same day, or on two replicas at once, charges once. A soft
// decline is retried on the Retry schedule; a hard one, a missing method,
// or authentication_required stops and waits for a person (with, if so
// configured, a payment link sent to the customer).
func (e *Engine) AutoPay(ctx context.Context, dryRun bool) (AutoPayRun, error) {
	if e.autopay == nil || e.collect == nil {
		return AutoPayRun{}, errors.New("sync: auto-pay needs Config.AutoPay and Config.Collection")
	}
	started := e.now()
	var out AutoPayRun
	if !dryRun {
		run, err := e.ledger.StartRun(ctx, autoPayCursor, started)
		if err != nil {
			return out, fmt.Errorf("start auto-pay: %w", err)
		}
		out.Run = run
	}
	results, err := e.autoPayAll(ctx, started, dryRun)
	out.Results = results
	if dryRun {
		return out, err
	}
	for _, r := range results {
		out.Run.Seen++
		switch r.Action {
		case AutoPayCharged, AutoPayProcessing:
			out.Run.Pushed++
		case AutoPayFailed, AutoPayError, AutoPayRetrying:
			out.Run.Failed++
		default:
			out.Run.Skipped++
		}
	}
	return out, e.finishRun(ctx, &out.Run, autoPayCursor, started, err)
}

// autoPayAll pages through the due invoices, charging each page with the
// configured workers.
func (e *Engine) autoPayAll(ctx context.Context, now time.Time, dryRun bool) ([]AutoPayResult, error) {
	loc := e.autopay.Location
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // due dates are dates at midnight UTC
	workers := e.autopay.Workers
	if workers <= 0 {
		workers = defaultAutoPayWorkers
	}
	var results []AutoPayResult
	after := ""
	for {
		page, err := e.autopay.Ledger.AutoPayInvoices(ctx, today, after, autoPayPage)
		if err != nil {
			return results, err
		}
		if len(page) == 0 {
			return results, nil
		}
		done := make([]AutoPayResult, len(page))
		var wg sync.WaitGroup
		next := make(chan int)
		for range min(workers, len(page)) {
			wg.Go(func() {
				for i := range next {
					done[i] = e.autoPayOne(ctx, page[i], now, dryRun)
				}
			})
		}
		for i := range page {
			next <- i
		}
		close(next)
		wg.Wait()
		results = append(results, done...)
		if err := ctx.Err(); err != nil {
			return results, err
		}
		after = page[len(page)-1].ID
	}
}

// autoPayOne charges one due invoice (or says what it would do).
func (e *Engine) autoPayOne(ctx context.Context, inv stripesync.Invoice, now time.Time, dryRun bool) AutoPayResult {
	res := AutoPayResult{InvoiceID: inv.ID, Number: inv.Number}
	key := stripesync.AutoPayFailureKey(inv.ID, inv.DueDate)
	prev, err := e.failures.Inbox.FailureByKey(ctx, key)
	attempt := 0
	switch {
	case stripesync.CodeOf(err) == stripesync.ENOTFOUND:
	case err != nil:
		res.Action, res.Detail = AutoPayError, stripesync.MessageOf(err)
		return res
	case prev.Status == stripesync.FailureRetrying && now.Before(prev.RetryAt):
		res.Action, res.Detail = AutoPaySkipped, "declined before; the next try is on "+prev.RetryAt.UTC().Format(time.DateOnly)
		return res
	case prev.Status == stripesync.FailureRetrying:
		attempt = prev.Occurrences
	default:
		res.Action, res.Detail = AutoPaySkipped, "auto-pay stopped ("+string(prev.Status)+"): "+prev.NextStep
		return res
	}
	if dryRun {
		return e.autoPayPreview(ctx, inv, res)
	}
	p, err := e.collect.ChargeDefault(ctx, DefaultCharge{
		InvoiceID: inv.ID, Key: fmt.Sprintf("%s:%d", key, attempt), Channel: stripesync.ChannelAutoPay,
	})
	res.PaymentID, res.Amount = p.ID, p.Amount
	if err == nil {
		res.Action, res.Detail = AutoPayCharged, "paid by "+p.MethodDetail
		if p.Status != stripesync.PaymentSucceeded {
			res.Action, res.Detail = AutoPayProcessing, "the bank debit is on its way"
		}
		if attempt > 0 {
			e.settleAutoPay(ctx, prev, fmt.Sprintf("paid on attempt %d", attempt+1))
		}
		return res
	}
	return e.autoPayDeclined(ctx, inv, res, key, prev, attempt, err)
}

// autoPayPreview says what a run would do with inv.
func (e *Engine) autoPayPreview(ctx context.Context, inv stripesync.Invoice, res AutoPayResult) AutoPayResult {
	v, err := e.collect.PayView(ctx, inv.ID, "autopay:preview")
	switch {
	case err != nil:
		res.Action, res.Detail = AutoPayError, stripesync.MessageOf(err)
	case !v.Open || v.Payable.Amount <= 0:
		res.Action, res.Detail = AutoPaySkipped, "nothing to charge: its balance is covered by payments on their way"
	case v.CustomerID == "":
		res.Action, res.Detail = AutoPaySkipped, "the account is not in Stripe yet"
	default:
		res.Action, res.Amount, res.Detail = AutoPaySkipped, v.Payable, "the customer has no default payment method"
		for _, m := range v.Methods {
			if m.Default {
				res.Action, res.Detail = AutoPayWould, "by "+m.Label()
			}
		}
	}
	return res
}

// settleAutoPay marks an invoice's auto-pay failure resolved once a retry
// went through.
func (e *Engine) settleAutoPay(ctx context.Context, f stripesync.Failure, note string) {
	if _, err := e.failures.Inbox.SetFailureStatus(ctx, f.ID, stripesync.FailureResolved, "", note, e.now()); err != nil {
		e.logger.WarnContext(ctx, "resolve auto-pay failure", "failure_id", f.ID, "error", err)
	}
}

// autoPayDeclined records a charge that did not go through: a soft decline
// with retries left is scheduled again; anything else waits for a person.
// An invoice with nothing to charge, or an outage, records nothing.
func (e *Engine) autoPayDeclined(ctx context.Context, inv stripesync.Invoice, res AutoPayResult, key string, prev stripesync.Failure, attempt int, err error) AutoPayResult {
	res.Detail = stripesync.MessageOf(err)
	var d *stripesync.Decline
	switch {
	case stripesync.CodeOf(err) == stripesync.ECONFLICT && !errors.Is(err, errNotPushed):
		res.Action = AutoPaySkipped
		return res
	case errors.As(err, &d):
	case errors.Is(err, errNotPushed):
		d = &stripesync.Decline{Code: "customer_missing", Message: "The account is not in Stripe yet."}
	default:
		res.Action = AutoPayError
		e.logger.WarnContext(ctx, "auto-pay charge failed; the next run tries again", "invoice_id", inv.ID, "error", err)
		return res
	}
	code := d.DeclineCode
	if code == "" || code == "authentication_required" {
		code = d.Code
	}
	f := stripesync.Failure{
		Key: key, Source: stripesync.FailureAutoPay, InvoiceID: inv.ID, AccountID: inv.AccountID,
		PaymentID: d.PaymentIntentID, Amount: res.Amount, Code: code, Message: d.Message, Status: stripesync.FailureOpen,
	}
	if f.Amount.Currency == "" {
		f.Amount = stripesync.Money{Currency: inv.Total.Currency}
	}
	first := e.now()
	if attempt > 0 {
		first = prev.Created
	}
	if stripesync.SoftDecline(code) && attempt < len(e.autopay.Retry) {
		f.Status, f.RetryAt = stripesync.FailureRetrying, first.Add(e.autopay.Retry[attempt])
		res.Action = AutoPayRetrying
		res.Detail += "; tried again on " + f.RetryAt.UTC().Format(time.DateOnly)
	} else {
		res.Action = AutoPayFailed
		f.NextStep = stripesync.NextStepFor(code)
		if e.autopay.SendLinkOnFailure {
			f.NextStep = e.autoPayLink(ctx, inv, f.NextStep)
		}
	}
	if _, err := e.RecordFailure(ctx, f); err != nil {
		res.Action, res.Detail = AutoPayError, "declined, but the failure could not be recorded: "+stripesync.MessageOf(err)
	}
	return res
}

// autoPayLink e-mails the customer a payment link after auto-pay gave up,
// and says so in the next step.
func (e *Engine) autoPayLink(ctx context.Context, inv stripesync.Invoice, next string) string {
	l, err := e.IssuePaymentLink(ctx, LinkRequest{InvoiceID: inv.ID, Email: true, RequestID: stripesync.AutoPayFailureKey(inv.ID, inv.DueDate) + ":link"})
	if err != nil {
		e.logger.WarnContext(ctx, "auto-pay: payment link not sent", "invoice_id", inv.ID, "error", err)
		return next + " (A payment link could not be sent: " + stripesync.MessageOf(err) + ")"
	}
	return "A payment link was e-mailed to " + l.EmailedTo + "; if the customer does not pay, call them."
}
