package sync

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/stripesync/stripesync"
)

// ReceiptSender delivers a receipt to its customer (renders the PDF and
// mails it). cmd/stripesync builds one from package receipts.
//
// SendReceipt calls accepted the moment the mail server has accepted the
// message, before it ends the conversation, and then returns nil: the
// engine records the send there, so that only a crash inside the SMTP
// conversation can forget a delivered receipt.
type ReceiptSender interface {
	SendReceipt(ctx context.Context, r stripesync.Receipt, accepted func()) error
	// SendRefundNotice tells the customer about a refund, calling
	// accepted as SendReceipt does.
	SendRefundNotice(ctx context.Context, n stripesync.RefundNotice, accepted func()) error
}

const (
	// receiptBatch is 1 because mails go out one after another: a job
	// claimed while another is in its SMTP conversation would lose an
	// attempt to a crash it had no part in, and a crash loop would send
	// receipts never tried to the dead letters. Only the receipt being
	// mailed pays for a crash, which keeps one that crashes the process
	// bounded by its attempts.
	receiptBatch = 1
	receiptLease = 2 * time.Minute
)

// Receipt assembles the receipt of a succeeded payment from the ledger
// alone: the customer's name and billing e-mail are the account's as the
// last push read them (PaymentLedger.AccountContact), so a download works
// through a CRM outage and costs no API call, and the mailed receipt and
// a download render the same bytes. The balance shown is the one the
// ledger recorded right after this payment, not today's, so a receipt
// reads the same whenever it is sent.
func (e *Engine) Receipt(ctx context.Context, paymentID string) (stripesync.Receipt, error) {
	r, _, err := e.receipt(ctx, paymentID)
	return r, err
}

// receipt is Receipt, and the account whose contact the ledger lacks ("" when
// it has it, or the payment names no account): no push has read it yet,
// which the receipt job waits for rather than drop the mail.
func (e *Engine) receipt(ctx context.Context, paymentID string) (r stripesync.Receipt, unread string, err error) {
	if e.payments == nil {
		return stripesync.Receipt{}, "", errors.New("sync: receipts need Config.Payments")
	}
	p, err := e.payments.Payment(ctx, paymentID)
	if err != nil {
		return stripesync.Receipt{}, "", err
	}
	if p.ReceiptNumber == "" {
		return stripesync.Receipt{}, "", stripesync.Errorf(stripesync.ENOTFOUND, "payment %s has no receipt: it has not succeeded", paymentID)
	}
	r = stripesync.Receipt{
		Number:    p.ReceiptNumber,
		PaymentID: p.ID,
		Business:  e.business,
		Amount:    p.Amount,
		Method:    p.MethodDetail,
		PaidAt:    p.PaidAt,
	}
	around, err := e.paymentContext(ctx, p)
	if err != nil {
		return r, "", err
	}
	if inv := around.invoice; inv.ID != "" {
		r.InvoiceNumber = inv.Number
		if r.BalanceLeft, err = e.balanceAfter(ctx, inv, p); err != nil {
			return r, "", err
		}
	}
	if r.BalanceLeft.Currency == "" {
		r.BalanceLeft = stripesync.Money{Currency: p.Amount.Currency}
	}
	r.CustomerName, r.CustomerEmail = around.contact.Name, around.contact.Email
	return r, around.unread, nil
}

// paymentContext is what the ledger knows around a payment that its mail
// (receipt or refund notice) shows.
type paymentContext struct {
	invoice stripesync.Invoice // zero when the payment names none the ledger knows
	rollup  stripesync.Rollup
	contact stripesync.Account // the name and billing e-mail of its account
	// unread is the account whose contact the ledger lacks ("" when it
	// has it, or the payment names no account): no push has read it yet,
	// which a mail job waits for rather than drop the mail.
	unread string
}

// paymentContext loads p's invoice and the contact of its account (p's
// own, or else the invoice's).
func (e *Engine) paymentContext(ctx context.Context, p stripesync.Payment) (paymentContext, error) {
	var pc paymentContext
	accountID := p.AccountID
	if p.InvoiceID != "" {
		inv, roll, err := e.payments.Invoice(ctx, p.InvoiceID)
		switch {
		case err == nil:
			pc.invoice, pc.rollup = inv, roll
			accountID = cmp.Or(accountID, inv.AccountID)
		case stripesync.CodeOf(err) != stripesync.ENOTFOUND:
			return pc, err
		}
	}
	if accountID != "" {
		acct, err := e.payments.AccountContact(ctx, accountID)
		switch {
		case stripesync.CodeOf(err) == stripesync.ENOTFOUND:
			pc.unread = accountID
		case err != nil:
			return pc, err
		}
		pc.contact = acct
	}
	return pc, nil
}

// balanceAfter is the balance p's receipt shows: the one the ledger
// recorded when it numbered the receipt, or, for a receipt numbered before
// the ledger recorded them, the same figure computed from the payments as
// they stand now (exact unless one of them changed since).
func (e *Engine) balanceAfter(ctx context.Context, inv stripesync.Invoice, p stripesync.Payment) (stripesync.Money, error) {
	if b, ok, err := e.payments.ReceiptBalance(ctx, p.ID); err != nil || ok {
		return b, err
	}
	all, err := e.payments.Payments(ctx, inv.ID)
	if err != nil {
		return stripesync.Money{}, err
	}
	return stripesync.BalanceAfter(inv, all, p), nil
}

// SendReceipts mails the next batch of receipts (receiptBatch). A receipt
// whose account has no billing e-mail is dropped with a warning (it stays
// downloadable); a failed send is retried through the queue.
//
// Each send is recorded in the ledger before the SMTP conversation starts
// and the moment the server accepts the message, before the conversation
// ends, so that a crash between the send and the job's completion does not
// mail the receipt again: a receipt recorded as sent only has its job
// completed, and one whose send started less than receiptLease ago (a
// worker may still be in it) is deferred until that lease is over, unless
// the next daemon proved the sender dead (store's ReclaimDead), which
// makes it due at once. Only a process that dies inside the SMTP
// conversation, or a connection that breaks after the message was
// transmitted and before the server's reply, can lead to a second copy; it
// carries the same Message-ID, so the mail system can drop it.
func (e *Engine) SendReceipts(ctx context.Context) (int, error) {
	jobs, err := e.queue.Claim(ctx, stripesync.JobSendReceipt, receiptBatch, receiptLease)
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	ids, byID, bad := groupJobs(jobs)
	e.failJobs(ctx, bad, errors.New("malformed job payload"))
	var errs []error
	for _, id := range ids {
		errs = append(errs, e.sendReceipt(ctx, id, byID[id]))
	}
	return len(jobs), errors.Join(errs...)
}

// sendReceipt mails the receipt of payment id and settles its jobs. It
// returns only the errors of completing or deferring them; a failed send
// is recorded on the jobs and retried.
func (e *Engine) sendReceipt(ctx context.Context, id string, jobs []stripesync.Job) error {
	r, unread, err := e.receipt(ctx, id)
	if err == nil && unread != "" {
		// Right after an upgrade to the ledger's contacts, until the first
		// push has read every account.
		err = stripesync.Errorf(stripesync.EUNAVAILABLE, "account %s has not been read by a push yet", unread)
	}
	if err == nil && r.CustomerEmail == "" {
		e.logger.Warn("receipt not mailed: the account has no billing e-mail", "stripe_id", id, "receipt", r.Number)
		return e.completeJobs(ctx, jobs)
	}
	if err != nil {
		e.logger.Warn("receipt not sent; will retry", "stripe_id", id, "error", err)
		e.failJobs(ctx, jobs, err)
		return nil
	}
	return e.mailOnce(ctx, id, "receipt", jobs, func(accepted func()) error {
		return e.receipts.SendReceipt(ctx, r, accepted)
	})
}

// mailOnce sends one message through send and settles its jobs, with the
// ledger's record of the message under key (StartReceiptMail) keeping it
// to one copy: a message recorded as sent only has its jobs completed,
// and one whose send started less than receiptLease ago (a worker may
// still be in it) is deferred until that lease is over. send calls
// accepted the moment the server has accepted the message. It returns
// only the errors of completing or deferring the jobs; a failed send is
// recorded on them and retried.
func (e *Engine) mailOnce(ctx context.Context, key, what string, jobs []stripesync.Job, send func(accepted func()) error) error {
	mail, started, err := e.payments.StartReceiptMail(ctx, key, receiptLease)
	switch {
	case err != nil:
		e.logger.Warn(what+" not sent; will retry", "key", key, "error", err)
		e.failJobs(ctx, jobs, err)
		return nil
	case !mail.SentAt.IsZero():
		e.logger.Info(what+" already sent; job completed", "key", key, "sent_at", mail.SentAt)
		return e.completeJobs(ctx, jobs)
	case !started:
		until := mail.SendingAt.Add(receiptLease)
		e.logger.Warn(what+" send under way or interrupted; deferred", "key", key,
			"sending_at", mail.SendingAt, "until", until)
		return e.deferJobs(ctx, jobs, until)
	}
	// The send happened or not whatever ctx says now: record its outcome
	// even during shutdown.
	done := context.WithoutCancel(ctx)
	sent := false
	var recorded error
	err = send(func() {
		sent = true
		recorded = e.payments.FinishReceiptMail(done, key, true)
	})
	if !sent {
		if err == nil {
			err = errors.New("the sender returned without the server accepting the message")
		}
		e.logger.Warn(what+" not sent; will retry", "key", key, "error", err)
		if ferr := e.payments.FinishReceiptMail(done, key, false); ferr != nil {
			e.logger.Error("record failed "+what+" send", "key", key, "error", ferr)
		}
		e.failJobs(ctx, jobs, err)
		return nil
	}
	e.logger.Info(what+" sent", "key", key)
	return errors.Join(recorded, err, e.completeJobs(ctx, jobs))
}

// ResendReceipt mails a succeeded payment's receipt to the customer again,
// now, outside the queue, for staff member staff: they asked for it while
// the customer is on the phone, and a failure is theirs to see and retry.
// The attempt goes to the invoice's audit trail. It returns the receipt it
// sent.
func (e *Engine) ResendReceipt(ctx context.Context, paymentID, staff string) (stripesync.Receipt, error) {
	r, invoiceID, err := e.resendReceipt(ctx, paymentID)
	if invoiceID != "" {
		recordStaffAction(ctx, e.audit, e.logger, e.now(), stripesync.StaffAction{
			Staff: staff, Action: stripesync.StaffActionReceiptResent, InvoiceID: invoiceID,
			PaymentID: paymentID, Detail: r.Number + " to " + r.CustomerEmail,
		}, err)
	}
	return r, err
}

// resendReceipt is ResendReceipt without the trail; it also returns the
// payment's invoice ("" when it has none or is unknown).
func (e *Engine) resendReceipt(ctx context.Context, paymentID string) (stripesync.Receipt, string, error) {
	if e.receipts == nil {
		return stripesync.Receipt{}, "", stripesync.Errorf(stripesync.EUNAVAILABLE, "Receipts cannot be e-mailed: no mail server is configured (STRIPESYNC_SMTP_URL)")
	}
	p, err := e.payments.Payment(ctx, paymentID)
	if err != nil {
		return stripesync.Receipt{}, "", err
	}
	r, err := e.Receipt(ctx, paymentID)
	if err != nil {
		return r, p.InvoiceID, err
	}
	if r.CustomerEmail == "" {
		return r, p.InvoiceID, stripesync.Errorf(stripesync.EINVALID, "The customer has no billing e-mail address in the CRM; the receipt can be downloaded instead")
	}
	return r, p.InvoiceID, e.receipts.SendReceipt(ctx, r, nil)
}
