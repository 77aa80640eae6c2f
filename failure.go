package stripesync

import (
	"context"
	"strings"
	"time"
)

// FailureSource is where a payment failure came from.
type FailureSource string

// The failure inbox's sources.
const (
	FailurePayPage      FailureSource = "pay page"
	FailureStaff        FailureSource = "staff"
	FailureAutoPay      FailureSource = "auto-pay"
	FailureACHReturn    FailureSource = "ACH return"
	FailureVerification FailureSource = "verification"
	// FailureCustomer is a Stripe customer that is missing or deleted,
	// or an Existing mapping that does not verify.
	FailureCustomer FailureSource = "customer"
	// FailureWriteBack is a CRM write-back given up on (a dead letter).
	FailureWriteBack FailureSource = "write-back"
)

// FailureStatus is where a failure stands.
type FailureStatus string

// The failure statuses: open until someone acts or the system does;
// retrying while auto-pay has a retry scheduled; resolved when the invoice
// was paid after all (or a retry went through); dismissed by staff.
const (
	FailureOpen      FailureStatus = "open"
	FailureRetrying  FailureStatus = "retrying"
	FailureResolved  FailureStatus = "resolved"
	FailureDismissed FailureStatus = "dismissed"
)

// Failure is one entry of the failure inbox: a payment (or the customer or
// write-back a payment needs) that did not go through, with what to do
// next in plain words.
type Failure struct {
	ID int64
	// Key identifies what failed, so that the same failure seen again
	// (a webhook redelivered, an auto-pay retry declined once more)
	// updates its entry instead of adding one: "payment:pi_…",
	// "autopay:<invoice>:<due date>", "customer:<account>", "job:<id>".
	Key       string
	Source    FailureSource
	InvoiceID string
	AccountID string
	PaymentID string // pi_…, when a payment failed
	Amount    Money  // zero when no amount is involved
	// Code is Stripe's decline or failure code ("insufficient_funds",
	// "authentication_required", "R01"…), Message its message.
	Code     string
	Message  string
	NextStep string // what a person should do, in plain words (NextStepFor)
	Status   FailureStatus
	// Occurrences counts the times it was seen; RetryAt is when auto-pay
	// tries again (zero for no retry).
	Occurrences int
	RetryAt     time.Time
	Created     time.Time
	Updated     time.Time
}

// FailureChange is one line of a failure's history.
type FailureChange struct {
	At     time.Time
	Status FailureStatus
	// Staff is who changed it; "" for the daemon.
	Staff string
	Note  string
}

// FailureFilter selects failures to list.
type FailureFilter struct {
	Status    FailureStatus // "" for every status
	InvoiceID string        // "" for every invoice
	Limit     int           // at most this many, newest first; 0 means 100
}

// Failures is the failure inbox. Implemented by store.DB, whose
// RecordPayment also records the payments that fail (PaymentFailure) and
// resolves an invoice's open entries when a payment makes it Paid, in the
// payment's transaction.
type Failures interface {
	// RecordFailure adds f (f.Created is when it happened), or updates
	// the entry with f's key: its details, one more occurrence, and the
	// status f gives (a resolved or dismissed entry seen again opens
	// again). A change of status is written to the history. A new entry,
	// or one that opens again, is due in the ops digest; jobs (the
	// digest's) are enqueued in the same transaction.
	RecordFailure(ctx context.Context, f Failure, jobs ...Job) (Failure, error)
	// Failure returns the entry with id and its history, oldest first;
	// ENOTFOUND when there is none.
	Failure(ctx context.Context, id int64) (Failure, []FailureChange, error)
	// FailureByKey returns the entry with key; ENOTFOUND when there is
	// none.
	FailureByKey(ctx context.Context, key string) (Failure, error)
	// ListFailures returns entries, newest first.
	ListFailures(ctx context.Context, f FailureFilter) ([]Failure, error)
	// SetFailureStatus moves the entry with id to status, with who and
	// why in its history; ENOTFOUND when there is none.
	SetFailureStatus(ctx context.Context, id int64, status FailureStatus, staff, note string, now time.Time) (Failure, error)
	// DueFailures returns up to limit entries the ops digest has not
	// reported yet, oldest first; MarkNotified records that it has.
	DueFailures(ctx context.Context, limit int) ([]Failure, error)
	MarkNotified(ctx context.Context, ids []int64, now time.Time) error
}

// A decline is soft when the same method may go through later (funds
// arrive, the issuer's system is back) and hard when only the customer can
// fix it: another method, or their bank.
var softDeclines = map[string]bool{
	"insufficient_funds": true, "processing_error": true, "try_again_later": true,
	"issuer_not_available": true, "approve_with_id": true, "reenter_transaction": true,
	"card_velocity_exceeded": true, "withdrawal_count_limit_exceeded": true,
	"generic_decline": true, "do_not_honor": true, "rate_limit": true,
	// ACH returns for a lack of funds (R01, and R09 uncollected funds).
	"R01": true, "R09": true,
}

// SoftDecline reports whether a payment declined with code may be retried
// with the same method later. Anything not known to be soft is hard, so
// that an unknown code never retries a card the issuer refused for good.
func SoftDecline(code string) bool { return softDeclines[code] }

// nextSteps say, for Stripe's decline and failure codes, what staff do
// next, in our words after Stripe's decline-code guide
// (https://docs.stripe.com/declines/codes).
var nextSteps = map[string]string{
	"insufficient_funds":      "Ask the customer for another method, or retry after payday.",
	"R01":                     "The bank returned the debit for insufficient funds: ask the customer for another method, or retry after payday.",
	"authentication_required": "The bank wants the customer to confirm this payment: send the customer a payment link.",
	"expired_card":            "The card has expired: ask the customer for a new card, or send a payment link.",
	"incorrect_cvc":           "The security code was wrong: ask the customer to enter the card again, or send a payment link.",
	"incorrect_number":        "The card number was wrong: ask the customer to enter the card again, or send a payment link.",
	"processing_error":        "Stripe or the bank had a problem: retry in a little while.",
	"try_again_later":         "The bank asked to try again later: retry in a little while.",
	"issuer_not_available":    "The bank could not be reached: retry in a little while.",
	"lost_card":               "The card was reported lost: do not retry it; ask the customer for another method.",
	"stolen_card":             "The card was reported stolen: do not retry it; ask the customer for another method.",
	"fraudulent":              "The payment was blocked as likely fraud: do not retry; contact the customer another way before taking a payment.",
	"do_not_try_again":        "The bank refused this card for good: ask the customer for another method.",
	"card_not_supported":      "This card cannot pay this kind of purchase: ask the customer for another method.",
	"currency_not_supported":  "This card cannot pay in this currency: ask the customer for another method.",
	"card_velocity_exceeded":  "The card is over its limit: ask the customer to call their bank, or for another method.",
	"R02":                     "The bank account is closed: ask the customer for another method.",
	"bank_account_closed":     "The bank account is closed: ask the customer for another method.",
	"debit_not_authorized":    "The customer's bank says the debit was not authorised: talk to the customer before trying again.",
	"verification_failed":     "The bank account could not be verified: ask the customer for another method, or send a payment link.",
	"no_payment_method":       "The customer has no default payment method: send the customer a payment link.",
	"customer_missing":        "The Stripe customer of this account is missing or deleted: check the account's Stripe mapping, then run the account push.",
	"mapping_invalid":         "The Stripe customer named in the account's Stripe_Customer_Id__c belongs to another account: correct the id in the CRM.",
	"write_back_failed":       "The CRM did not accept the update: check the record in the CRM, then retry.",
}

// NextStepFor is what staff do after a failure with code, in plain words.
func NextStepFor(code string) string {
	if s, ok := nextSteps[code]; ok {
		return s
	}
	if SoftDecline(code) {
		return "The bank declined it for now: retry later, or ask the customer for another method."
	}
	return "Ask the customer to call their bank or use another method, or send them a payment link."
}

// FailureDigest is the ops e-mail that reports the failures recorded
// since the last one.
type FailureDigest struct {
	Failures []Failure
	// More is how many more are due than the message lists; they come in
	// the next one.
	More int
	// ConsoleURL is the base of the links to the staff console ("" for
	// none).
	ConsoleURL string
}

// FailureStripe is a payment made outside the daemon (in Stripe's
// Dashboard, say) that failed.
const FailureStripe FailureSource = "stripe"

// FailureDigestJob is the job that mails ops the failures recorded with
// it: one pending at a time (its Key is fixed), due FailureDigestDelay
// after the failure that enqueued it, so that a storm of failures is one
// message and any failure is mailed within a minute.
func FailureDigestJob(now time.Time) Job {
	return Job{Kind: JobFailureDigest, Key: "ops", RunAt: now.Add(FailureDigestDelay)}
}

// FailureDigestDelay is how long a failure waits for the others of its
// storm before the digest reports them.
const FailureDigestDelay = 30 * time.Second

// PaymentFailure is the failure inbox's entry for payment p, which has
// just become failed from status before; false when p did not fail, or
// when its failure is recorded elsewhere (an auto-pay card decline is
// recorded by the auto-pay run, which knows its retry schedule). A failed
// debit that was processing is an ACH return; one that waited for its
// micro-deposits failed its verification. Auto-pay's entries are keyed by
// invoice and due date (autoPayKey), so that a returned auto-pay debit
// stops the invoice's auto-pay until a person acts.
func PaymentFailure(p Payment, before PaymentStatus, dueDate time.Time, now time.Time) (Failure, bool) {
	if p.Status != PaymentFailed || before == PaymentFailed {
		return Failure{}, false
	}
	code, message, found := strings.Cut(p.FailureReason, ": ")
	if !found {
		code, message = "", p.FailureReason
	}
	f := Failure{
		Key: "payment:" + p.ID, InvoiceID: p.InvoiceID, AccountID: p.AccountID, PaymentID: p.ID,
		Amount: p.Amount, Code: code, Message: message, NextStep: NextStepFor(code), Status: FailureOpen, Created: now,
	}
	switch p.Channel {
	case ChannelPhone:
		f.Source = FailureStaff
	case ChannelPaymentLink:
		f.Source = FailurePayPage
	case ChannelAutoPay:
		if p.Method != MethodACH {
			return Failure{}, false
		}
		f.Source = FailureAutoPay
		if p.InvoiceID != "" && !dueDate.IsZero() {
			f.Key = AutoPayFailureKey(p.InvoiceID, dueDate)
		}
	default:
		f.Source = FailureStripe
	}
	switch before {
	case PaymentProcessing:
		if p.Method == MethodACH {
			f.Source = FailureACHReturn
		}
	case PaymentAwaitingVerification:
		f.Source = FailureVerification
		if f.Code == "" {
			f.Code, f.NextStep = "verification_failed", NextStepFor("verification_failed")
		}
	}
	return f, true
}

// AutoPayFailureKey names an invoice's auto-pay for one due date in the
// failure inbox, and in the idempotency keys of its attempts.
func AutoPayFailureKey(invoiceID string, dueDate time.Time) string {
	return "autopay:" + invoiceID + ":" + dueDate.UTC().Format(time.DateOnly)
}
