package sync

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/stripesync/stripesync"
)

// SendRefundNotices mails the next refund notice (JobSendRefundNotice),
// with the receipts' discipline: one at a time, recorded under the job's
// key before the SMTP conversation and the moment the server accepts the
// message (mailOnce), so that a crash does not announce a refund twice.
// A notice for an account with no billing e-mail is dropped with a warning.
func (e *Engine) SendRefundNotices(ctx context.Context) (int, error) {
	jobs, err := e.queue.Claim(ctx, stripesync.JobSendRefundNotice, receiptBatch, receiptLease)
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	var errs []error
	for _, j := range jobs {
		errs = append(errs, e.sendRefundNotice(ctx, j))
	}
	return len(jobs), errors.Join(errs...)
}

func (e *Engine) sendRefundNotice(ctx context.Context, j stripesync.Job) error {
	var ref jobPayload
	if err := json.Unmarshal(j.Payload, &ref); err != nil || ref.ID == "" || j.Key == "" {
		e.failJobs(ctx, []stripesync.Job{j}, errors.New("malformed job payload"))
		return nil
	}
	n, unread, err := e.refundNotice(ctx, ref.ID, j.Key)
	if err == nil && unread != "" {
		err = stripesync.Errorf(stripesync.EUNAVAILABLE, "account %s has not been read by a push yet", unread)
	}
	if err != nil {
		e.logger.Warn("refund notice not sent; will retry", "stripe_id", ref.ID, "error", err)
		e.failJobs(ctx, []stripesync.Job{j}, err)
		return nil
	}
	if n.CustomerEmail == "" {
		e.logger.Warn("refund notice not mailed: the account has no billing e-mail", "stripe_id", ref.ID)
		return e.completeJobs(ctx, []stripesync.Job{j})
	}
	return e.mailOnce(ctx, j.Key, "refund notice", []stripesync.Job{j}, func(accepted func()) error {
		return e.receipts.SendRefundNotice(ctx, n, accepted)
	})
}

// refundNotice assembles the notice of payment id's refunds from the
// ledger: the payment as it is now (its refunded total), its receipt, and
// the invoice's balance now; unread as for receipts (paymentContext).
func (e *Engine) refundNotice(ctx context.Context, id, key string) (stripesync.RefundNotice, string, error) {
	p, err := e.payments.Payment(ctx, id)
	if err != nil {
		return stripesync.RefundNotice{}, "", err
	}
	around, err := e.paymentContext(ctx, p)
	if err != nil {
		return stripesync.RefundNotice{}, "", err
	}
	n := stripesync.RefundNotice{
		Key: key, Business: e.business, PaymentID: p.ID, ReceiptNumber: p.ReceiptNumber, Method: p.MethodDetail,
		Paid: p.Amount, Refunded: stripesync.Money{Amount: p.Refunded, Currency: p.Amount.Currency},
		InvoiceNumber: around.invoice.Number, CustomerName: around.contact.Name, CustomerEmail: around.contact.Email,
	}
	if around.invoice.ID != "" {
		n.Balance = around.rollup.Balance
	}
	return n, around.unread, nil
}
