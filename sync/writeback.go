package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stripesync/stripesync"
)

const (
	// writeBackBatch matches the sObject Collections limit: one CRM call
	// per batch.
	writeBackBatch = 200
	writeBackLease = 2 * time.Minute
)

// jobPayload is the payload of the CRM and receipt jobs.
type jobPayload struct {
	ID string `json:"id"`
}

// groupJobs maps each job to the object id in its payload, in first-seen
// order. Several jobs for one object collapse into one record: the worker
// writes the ledger's current state, which covers every change behind them.
func groupJobs(jobs []stripesync.Job) (ids []string, byID map[string][]stripesync.Job, bad []stripesync.Job) {
	byID = map[string][]stripesync.Job{}
	for _, j := range jobs {
		var p jobPayload
		if err := json.Unmarshal(j.Payload, &p); err != nil || p.ID == "" {
			bad = append(bad, j)
			continue
		}
		if _, ok := byID[p.ID]; !ok {
			ids = append(ids, p.ID)
		}
		byID[p.ID] = append(byID[p.ID], j)
	}
	return ids, byID, bad
}

// WriteBack runs one round of the CRM write-back: a batch of Payment__c
// upserts, then a batch of Invoice__c updates. Failed records are retried
// with backoff through the queue, so a CRM outage delays the write-back and
// loses nothing.
func (e *Engine) WriteBack(ctx context.Context) (int, error) {
	n1, err1 := e.writeBackPayments(ctx)
	n2, err2 := e.writeBackInvoices(ctx)
	return n1 + n2, errors.Join(err1, err2)
}

func (e *Engine) writeBackPayments(ctx context.Context) (int, error) {
	jobs, err := e.queue.Claim(ctx, stripesync.JobCRMPayment, writeBackBatch, writeBackLease)
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	ids, byID, bad := groupJobs(jobs)
	e.failJobs(ctx, bad, errors.New("malformed job payload"))
	var records []stripesync.Payment
	var recordJobs [][]stripesync.Job
	for _, id := range ids {
		p, err := e.paymentForCRM(ctx, id)
		if err != nil {
			e.failJobs(ctx, byID[id], err)
			continue
		}
		records = append(records, p)
		recordJobs = append(recordJobs, byID[id])
	}
	if len(records) == 0 {
		return len(jobs), nil
	}
	perRecord, callErr := e.crm.UpsertPayments(ctx, records)
	if callErr == nil {
		e.retryWithoutAccount(ctx, records, perRecord)
	}
	return len(jobs), e.settleJobs(ctx, recordJobs, perRecord, callErr)
}

// retryWithoutAccount resends, without the Account__c lookup, the records
// the CRM refused for good: most often the account was deleted or merged
// in the CRM after it paid. The payment is still worth recording; the CRM
// never loses a lookup it has, since empty lookups are not sent. perRecord
// is updated in place with the second answers.
func (e *Engine) retryWithoutAccount(ctx context.Context, records []stripesync.Payment, perRecord []error) {
	var again []stripesync.Payment
	var index []int
	for i, err := range perRecord {
		if err != nil && !stripesync.Retryable(err) && records[i].AccountID != "" {
			p := records[i]
			p.AccountID = ""
			again = append(again, p)
			index = append(index, i)
		}
	}
	if len(again) == 0 {
		return
	}
	second, err := e.crm.UpsertPayments(ctx, again)
	for j, i := range index {
		switch {
		case j < len(second):
			perRecord[i] = second[j]
		case err != nil:
			perRecord[i] = err
		}
	}
}

// paymentForCRM is the ledger's payment as Payment__c should show it: the
// invoice lookup only when the CRM has that invoice, the account from the
// invoice when Stripe did not name it.
func (e *Engine) paymentForCRM(ctx context.Context, id string) (stripesync.Payment, error) {
	p, err := e.payments.Payment(ctx, id)
	if err != nil {
		return p, err
	}
	if p.InvoiceID == "" {
		return p, nil
	}
	inv, _, err := e.payments.Invoice(ctx, p.InvoiceID)
	switch {
	case stripesync.CodeOf(err) == stripesync.ENOTFOUND || (err == nil && inv.Deleted):
		p.InvoiceID = "" // unmatched: written without the lookup, kept visible
	case err != nil:
		return p, err
	case p.AccountID == "":
		p.AccountID = inv.AccountID
	}
	return p, nil
}

func (e *Engine) writeBackInvoices(ctx context.Context) (int, error) {
	jobs, err := e.queue.Claim(ctx, stripesync.JobCRMInvoice, writeBackBatch, writeBackLease)
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	ids, byID, bad := groupJobs(jobs)
	e.failJobs(ctx, bad, errors.New("malformed job payload"))
	issued := map[string]stripesync.IssuedLink{}
	if e.links != nil {
		if issued, err = e.links.Ledger.IssuedLinks(ctx, ids); err != nil {
			e.failJobs(ctx, jobs, err)
			return len(jobs), err
		}
	}
	var updates []stripesync.InvoiceUpdate
	var updateJobs [][]stripesync.Job
	for _, id := range ids {
		inv, roll, err := e.payments.Invoice(ctx, id)
		if err != nil {
			e.failJobs(ctx, byID[id], err)
			continue
		}
		if inv.Deleted {
			if err := e.completeJobs(ctx, byID[id]); err != nil {
				return len(jobs), err
			}
			continue
		}
		u := stripesync.InvoiceUpdate{InvoiceID: id, AmountPaid: roll.Paid, BalanceDue: roll.Balance, Status: roll.Status}
		// The issued link, or none once the invoice is Paid or Void. A
		// link the daemon owns is sent whether or not the ledger's copy
		// of the CRM (as of the last pull) already shows it: the copy
		// may predate the daemon's own last write.
		if link, write := stripesync.LinkWrite(inv, roll, issued[id]); write || issued[id].Set() {
			u.PaymentLink = &link
		}
		updates = append(updates, u)
		updateJobs = append(updateJobs, byID[id])
	}
	if len(updates) == 0 {
		return len(jobs), nil
	}
	perRecord, callErr := e.crm.UpdateInvoices(ctx, updates)
	return len(jobs), e.settleJobs(ctx, updateJobs, perRecord, callErr)
}

// settleJobs completes the jobs of records the CRM accepted and fails the
// others, given the results of one Collections call.
func (e *Engine) settleJobs(ctx context.Context, jobs [][]stripesync.Job, perRecord []error, callErr error) error {
	var errs []error
	var written []stripesync.Job
	for i, js := range jobs {
		recErr := callErr
		if i < len(perRecord) {
			recErr = perRecord[i]
		}
		if recErr != nil {
			e.failJobs(ctx, js, recErr)
			continue
		}
		written = append(written, js...)
	}
	errs = append(errs, e.completeJobs(ctx, written))
	if callErr != nil {
		errs = append(errs, fmt.Errorf("CRM write-back: %w", callErr))
	}
	return errors.Join(errs...)
}
