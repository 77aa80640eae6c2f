package stripesync

import (
	"context"
	"iter"
	"time"
)

// CRM is the system of record for accounts (Salesforce). Implemented by
// crm.Client; errors are *Error values (ENOTFOUND, ELIMIT when the daily API
// allocation is spent, EUNAVAILABLE for outages, EUNAUTHORIZED, EINVALID).
type CRM interface {
	// Accounts streams the accounts whose SystemModstamp is at or after
	// since, oldest first (SystemModstamp, then Id), deleted ones included
	// (Deleted set). Pages are fetched as the caller iterates; the whole
	// result is never held in memory. Iteration stops at the first error,
	// which is yielded with a zero Account.
	Accounts(ctx context.Context, since time.Time) iter.Seq2[Account, error]

	// WriteAccountSync writes push results back to the CRM in batches of at
	// most 200 records per call. perRecord is index-aligned with updates (nil
	// for a record that was written). err is set when a whole call failed;
	// the records of that call and of the calls not made get err too.
	WriteAccountSync(ctx context.Context, updates []AccountSyncUpdate) (perRecord []error, err error)

	// Account reads one account as it is now (ENOTFOUND if it does not
	// exist; a deleted one is returned with Deleted set).
	Account(ctx context.Context, id string) (Account, error)

	// Invoices streams the invoices whose SystemModstamp is at or after
	// since, oldest first, deleted ones included, like Accounts.
	Invoices(ctx context.Context, since time.Time) iter.Seq2[Invoice, error]
	// Invoice reads one invoice as it is now.
	Invoice(ctx context.Context, id string) (Invoice, error)

	// UpsertPayments upserts Payment__c records keyed by
	// Stripe_Payment_Id__c, at most 200 per call. A payment whose InvoiceID
	// is empty is written without the Invoice__c lookup (an unmatched
	// payment). Results are as for WriteAccountSync.
	UpsertPayments(ctx context.Context, payments []Payment) (perRecord []error, err error)
	// UpdateInvoices writes rollups to Invoice__c (Amount_Paid__c,
	// Balance_Due__c, Status__c), at most 200 per call.
	UpdateInvoices(ctx context.Context, updates []InvoiceUpdate) (perRecord []error, err error)
}

// Billing is the payment processor (Stripe). Implemented by
// stripeclient.Client. Every write takes the idempotency key to send; the
// implementation retries transport errors, 409s, 429s, 502-504 and 500s on
// reads with that same key (a 500 on a POST is not retried: Stripe stores it
// under the key, so a retry could only replay it). Errors are *Error values: ENOTFOUND for a missing customer,
// ECONFLICT for an idempotency-key mismatch, ERATELIMITED, EUNAVAILABLE when
// the outcome is unknown, EINVALID for rejected input.
type Billing interface {
	// CreateCustomer creates a customer and returns its cus_ id.
	CreateCustomer(ctx context.Context, c Customer, idempotencyKey string) (string, error)
	// UpdateCustomer overwrites the daemon-owned fields of customer id.
	UpdateCustomer(ctx context.Context, id string, c Customer, idempotencyKey string) error
	// Customer retrieves customer id; a deleted customer is returned with
	// Deleted set, a missing one is ENOTFOUND.
	Customer(ctx context.Context, id string) (CustomerState, error)
	// FindCustomerByAccount returns the id of a live customer whose
	// metadata[crm_account_id] is crmAccountID, or "" when there is none.
	FindCustomerByAccount(ctx context.Context, crmAccountID string) (string, error)

	// PaymentIntent reads a PaymentIntent's current state, with its latest
	// charge (method, refunds, dispute). The engine calls it when the
	// events it holds do not say enough (see PaymentSnapshot).
	PaymentIntent(ctx context.Context, id string) (Payment, error)
	// EventSnapshot decodes the PaymentIntent or charge an event carries.
	// ok is false when the event carries neither, or carries one the
	// engine cannot rely on (an API version whose shape differs, a
	// payload that does not decode): the engine then reads the object.
	EventSnapshot(e Event) (s PaymentSnapshot, ok bool)
	// PaymentIntents lists the PaymentIntents created at or after since,
	// oldest first, with their latest charges: the safety net that finds
	// payments whose events were never seen.
	PaymentIntents(ctx context.Context, since time.Time) iter.Seq2[Payment, error]
	// Events lists the events created at or after since, oldest first.
	Events(ctx context.Context, since time.Time) iter.Seq2[Event, error]
}

// Ledger is the daemon's own database: account links, cursors and the run
// log. Implemented by store.DB on SQLite and Postgres.
type Ledger interface {
	// AccountLinks returns the links of the given CRM ids that exist.
	AccountLinks(ctx context.Context, crmIDs []string) (map[string]AccountLink, error)
	// SaveAccountLink inserts or replaces the link of l.CRMID.
	SaveAccountLink(ctx context.Context, l AccountLink) error
	// SaveAccountContacts keeps the Name and Email of accounts read from
	// the CRM, which receipts show, so that rendering a receipt needs no
	// CRM call. A read older than the stored one (by ModStamp) is skipped.
	SaveAccountContacts(ctx context.Context, accounts []Account) error

	// Cursor returns the named watermark, zero when none was saved.
	Cursor(ctx context.Context, name string) (time.Time, error)
	// SetCursor saves the named watermark.
	SetCursor(ctx context.Context, name string, at time.Time) error

	// StartRun records a new running SyncRun and returns it with its ID.
	StartRun(ctx context.Context, kind string, at time.Time) (SyncRun, error)
	// FinishRun stores the final state of run (matched by ID).
	FinishRun(ctx context.Context, run SyncRun) error
}

// Queue is the durable job queue. Implemented by store.DB; on Postgres jobs
// are claimed with FOR UPDATE SKIP LOCKED, so several processes can work
// one queue.
type Queue interface {
	// Enqueue stores a job. A job whose (Kind, Key) already exists is not
	// added again; inserted reports whether this call added it.
	Enqueue(ctx context.Context, j Job) (inserted bool, err error)
	// Claim leases up to n due jobs of kind for lease; they are not handed
	// out again until the lease ends or they are completed or failed.
	Claim(ctx context.Context, kind string, n int, lease time.Duration) ([]Job, error)
	// Complete removes finished jobs, all in one statement.
	Complete(ctx context.Context, ids ...int64) error
	// Fail records a failed attempt: the job runs again at retryAt, or moves
	// to the dead letters once it has used MaxAttempts.
	Fail(ctx context.Context, id int64, cause error, retryAt time.Time) error
	// Defer makes a claimed job due again at runAt without counting the
	// attempt: it was not tried.
	Defer(ctx context.Context, id int64, runAt time.Time) error
}

// PaymentLedger is the ledger's side of payments: invoices copied from the
// CRM, one row per Stripe payment, the rollups, and the inbox of Stripe
// events. Implemented by store.DB. Every method that changes a rollup
// enqueues the CRM write-back (and receipt) jobs in the same transaction.
type PaymentLedger interface {
	// SaveInvoices upserts invoices read from the CRM and recomputes their
	// rollups. It enqueues a JobCRMInvoice for each invoice whose rollup
	// differs from what the CRM shows, and a JobCRMPayment for payments
	// that were waiting for a now-known invoice.
	SaveInvoices(ctx context.Context, invoices []Invoice) error
	// RecordPayment stores p if it supersedes the stored state of the same
	// PaymentIntent (Payment.Supersedes) and returns what is stored and
	// whether it changed. When it changed, in the same transaction: the
	// invoice's rollup is recomputed, a JobCRMPayment (and, for a known
	// invoice, a JobCRMInvoice) is enqueued, and a payment that succeeded
	// for the first time gets the next receipt number and a JobSendReceipt.
	RecordPayment(ctx context.Context, p Payment) (stored Payment, changed bool, err error)
	// RecordPayments is RecordPayment for several payments in one
	// transaction, index-aligned; all or nothing.
	RecordPayments(ctx context.Context, ps []Payment) ([]PaymentRecord, error)
	// Payment returns one payment (ENOTFOUND if unknown).
	Payment(ctx context.Context, id string) (Payment, error)
	// PaymentsByID returns the known payments among ids, by id, in one
	// read (the unknown ones are absent).
	PaymentsByID(ctx context.Context, ids []string) (map[string]Payment, error)
	// Payments returns an invoice's payments, oldest first.
	Payments(ctx context.Context, invoiceID string) ([]Payment, error)
	// Invoice returns an invoice and its rollup (ENOTFOUND if unknown).
	Invoice(ctx context.Context, id string) (Invoice, Rollup, error)
	// AccountContact returns the ID, Name and Email of an account as the
	// last push read them (ENOTFOUND if no push has read it).
	AccountContact(ctx context.Context, id string) (Account, error)
	// ReceiptBalance returns the invoice balance recorded when the
	// payment's receipt was numbered (BalanceAfter); ok is false when none
	// was (a receipt numbered before the ledger recorded them, or a
	// payment whose invoice the ledger did not know yet).
	ReceiptBalance(ctx context.Context, paymentID string) (balance Money, ok bool, err error)
	// StartReceiptMail records that the receipt of payment paymentID is
	// about to be mailed, unless it was mailed already or a send started
	// less than lease ago; ok reports whether it recorded, and mail is
	// the state before.
	StartReceiptMail(ctx context.Context, paymentID string, lease time.Duration) (mail ReceiptMail, ok bool, err error)
	// FinishReceiptMail records the end of the send StartReceiptMail
	// recorded: sent, or failed (the receipt may be mailed again).
	FinishReceiptMail(ctx context.Context, paymentID string, sent bool) error
	// AccountLinkByStripeID finds the link of a Stripe customer
	// (ENOTFOUND if none).
	AccountLinkByStripeID(ctx context.Context, customerID string) (AccountLink, error)

	// AcceptEvent stores a verified Stripe event durably, once per event
	// id (inserted is false for a repeat). Concurrent calls are committed
	// together (group commit), so a webhook burst costs few fsyncs.
	AcceptEvent(ctx context.Context, e Event) (inserted bool, err error)
	// ClaimEvents leases up to n unprocessed events received at least
	// settle ago, oldest first, the events of one PaymentIntent together.
	ClaimEvents(ctx context.Context, n int, lease, settle time.Duration) ([]Event, error)
	// MarkEventsProcessed records that the events were applied.
	MarkEventsProcessed(ctx context.Context, ids []string) error
	// FailEvents records failed attempts (see EventFailure).
	FailEvents(ctx context.Context, failures []EventFailure) error
	// DeferEvents makes claimed events claimable again at until without
	// counting an attempt: they were not tried.
	DeferEvents(ctx context.Context, ids []string, until time.Time) error
}

// TriggerInbox holds the CRM's change hints until they are pushed.
// Implemented by store.DB.
type TriggerInbox interface {
	// AcceptTriggers stores the triggers of one message in one
	// transaction, skipping notification ids seen before and coalescing
	// triggers of one record; it returns how many were new.
	AcceptTriggers(ctx context.Context, ts []Trigger) (accepted int, err error)
	// ClaimTriggers leases up to n pending triggers, oldest first.
	ClaimTriggers(ctx context.Context, n int, lease time.Duration) ([]ClaimedTrigger, error)
	// CompleteTrigger settles a claimed trigger unless a newer one for the
	// same record arrived meanwhile.
	CompleteTrigger(ctx context.Context, t ClaimedTrigger) error
	// FailTrigger makes a claimed trigger due again at retryAt.
	FailTrigger(ctx context.Context, t ClaimedTrigger, retryAt time.Time, cause error) error
}
