package sync

import (
	"context"
	"errors"
	"time"

	"github.com/stripesync/stripesync"
)

// ReceiptSender delivers a receipt to its customer (renders the PDF and
// mails it). cmd/stripesync builds one from package receipts.
type ReceiptSender interface {
	SendReceipt(ctx context.Context, r stripesync.Receipt) error
}

const (
	receiptBatch = 20
	receiptLease = 2 * time.Minute
)

// Receipt assembles the receipt of a succeeded payment from the ledger and
// the CRM account. The balance shown is the one left right after this
// payment, not today's, so a receipt reads the same whenever it is sent.
func (e *Engine) Receipt(ctx context.Context, paymentID string) (stripesync.Receipt, error) {
	if e.payments == nil {
		return stripesync.Receipt{}, errors.New("sync: receipts need Config.Payments")
	}
	p, err := e.payments.Payment(ctx, paymentID)
	if err != nil {
		return stripesync.Receipt{}, err
	}
	if p.ReceiptNumber == "" {
		return stripesync.Receipt{}, stripesync.Errorf(stripesync.ENOTFOUND, "payment %s has no receipt: it has not succeeded", paymentID)
	}
	r := stripesync.Receipt{
		Number:    p.ReceiptNumber,
		PaymentID: p.ID,
		Business:  e.business,
		Amount:    p.Amount,
		Method:    p.MethodDetail,
		PaidAt:    p.PaidAt,
	}
	accountID := p.AccountID
	if p.InvoiceID != "" {
		inv, _, err := e.payments.Invoice(ctx, p.InvoiceID)
		switch {
		case err == nil:
			r.InvoiceNumber = inv.Number
			if accountID == "" {
				accountID = inv.AccountID
			}
			all, err := e.payments.Payments(ctx, inv.ID)
			if err != nil {
				return r, err
			}
			r.BalanceLeft = stripesync.RollUp(inv, paidBy(all, p)).Balance
		case stripesync.CodeOf(err) != stripesync.ENOTFOUND:
			return r, err
		}
	}
	if r.BalanceLeft.Currency == "" {
		r.BalanceLeft = stripesync.Money{Currency: p.Amount.Currency}
	}
	if accountID != "" {
		acct, err := e.crm.Account(ctx, accountID)
		if err != nil && stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			return r, err
		}
		r.CustomerName, r.CustomerEmail = acct.Name, acct.Email
	}
	return r, nil
}

// paidBy keeps the payments that had settled when p did: p itself and the
// succeeded payments with an earlier receipt number (numbers are assigned
// in the order payments succeed).
func paidBy(all []stripesync.Payment, p stripesync.Payment) []stripesync.Payment {
	var out []stripesync.Payment
	for _, q := range all {
		if q.ID == p.ID || (q.ReceiptNumber != "" && numberBefore(q.ReceiptNumber, p.ReceiptNumber)) {
			out = append(out, q)
		}
	}
	return out
}

// SendReceipts mails one batch of receipts. A receipt whose account has no
// billing e-mail is dropped with a warning (it stays downloadable); a
// failed send is retried through the queue.
func (e *Engine) SendReceipts(ctx context.Context) (int, error) {
	jobs, err := e.queue.Claim(ctx, stripesync.JobSendReceipt, receiptBatch, receiptLease)
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	ids, byID, bad := groupJobs(jobs)
	e.failJobs(ctx, bad, errors.New("malformed job payload"))
	var errs []error
	for _, id := range ids {
		r, err := e.Receipt(ctx, id)
		if err == nil && r.CustomerEmail == "" {
			e.logger.Warn("receipt not mailed: the account has no billing e-mail", "stripe_id", id, "receipt", r.Number)
			errs = append(errs, e.completeJobs(ctx, byID[id]))
			continue
		}
		if err == nil {
			err = e.receipts.SendReceipt(ctx, r)
		}
		if err != nil {
			e.logger.Warn("receipt not sent; will retry", "stripe_id", id, "error", err)
			e.failJobs(ctx, byID[id], err)
			continue
		}
		e.logger.Info("receipt sent", "stripe_id", id, "receipt", r.Number)
		errs = append(errs, e.completeJobs(ctx, byID[id]))
	}
	return len(jobs), errors.Join(errs...)
}

// numberBefore orders receipt numbers of one zero-padded sequence, which
// stays right when the sequence outgrows its padding.
func numberBefore(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
