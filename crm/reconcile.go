package crm

import (
	"context"
	"iter"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

// The reads of `stripesync reconcile`: the CRM's copy of what the daemon
// writes back, compared against the ledger. Each costs query pages only.

// PaymentRecords reads the Payment__c records of the given PaymentIntent
// ids in one query (callers pass one Stripe list page, at most 100 ids, so
// the SOQL stays far below Salesforce's length limit), keyed by
// Stripe_Payment_Id__c. Ids without a record are absent. A record whose
// amounts cannot be read exactly is an EINVALID error naming it.
func (c *Client) PaymentRecords(ctx context.Context, stripeIDs []string) (map[string]stripesync.CRMPayment, error) {
	out := make(map[string]stripesync.CRMPayment, len(stripeIDs))
	if len(stripeIDs) == 0 {
		return out, nil
	}
	m := c.cfg.Mapping.Payment
	quoted := make([]string, len(stripeIDs))
	for i, id := range stripeIDs {
		quoted[i] = "'" + soqlEscape(id) + "'"
	}
	soql := "SELECT " + strings.Join(append([]string{"Id"}, mapped(m.StripePaymentID, m.Amount, m.Currency, m.AmountRefunded, m.Status)...), ", ") +
		" FROM " + m.Object + " WHERE " + m.StripePaymentID + " IN (" + strings.Join(quoted, ", ") + ")"
	for r, err := range c.Query(ctx, soql) {
		if err != nil {
			return nil, err
		}
		var currency string
		if m.Currency != "" {
			currency = strings.ToUpper(strings.TrimSpace(r.String(m.Currency)))
		}
		id := strings.TrimSpace(r.String(m.StripePaymentID))
		amount, err := moneyField(r, m.Amount, currency)
		if err != nil {
			return nil, stripesync.WrapError(stripesync.EINVALID, err, "salesforce %s %s", m.Object, id)
		}
		refunded, err := moneyField(r, m.AmountRefunded, currency)
		if err != nil {
			return nil, stripesync.WrapError(stripesync.EINVALID, err, "salesforce %s %s", m.Object, id)
		}
		out[id] = stripesync.CRMPayment{StripeID: id, Amount: amount, Refunded: refunded.Amount, Status: strings.TrimSpace(r.String(m.Status))}
	}
	return out, nil
}

// PaymentStripeIDs streams the Stripe ids (Stripe_Payment_Id__c) of the
// live Payment__c records stamped at or after since (all when zero),
// through queryAll a page at a time; records without one are skipped.
func (c *Client) PaymentStripeIDs(ctx context.Context, since time.Time) iter.Seq2[string, error] {
	m := c.cfg.Mapping.Payment
	records := c.QueryAll(ctx, changedSOQL(m.Object, selectList(m.StripePaymentID), since))
	return func(yield func(string, error) bool) {
		for r, err := range records {
			if err != nil {
				yield("", err)
				return
			}
			id := strings.TrimSpace(r.String(m.StripePaymentID))
			if id == "" || r.Bool("IsDeleted") {
				continue
			}
			if !yield(id, nil) {
				return
			}
		}
	}
}

// InvoiceRollups streams the rollup fields of the invoices stamped at or
// after since (all when zero), deleted ones included, through queryAll, a
// page at a time. An invoice whose amounts or status cannot be read is
// yielded with Unreadable set rather than ending the stream.
func (c *Client) InvoiceRollups(ctx context.Context, since time.Time) iter.Seq2[stripesync.CRMInvoice, error] {
	m := c.cfg.Mapping.Invoice
	fields := selectList(m.Currency, m.AmountPaid, m.BalanceDue, m.Status)
	return convertAll(c.QueryAll(ctx, changedSOQL(m.Object, fields, since)), func(r Record) (stripesync.CRMInvoice, error) {
		inv := stripesync.CRMInvoice{ID: strings.TrimSpace(r.String("Id")), Deleted: r.Bool("IsDeleted")}
		var currency string
		if m.Currency != "" {
			currency = strings.ToUpper(strings.TrimSpace(r.String(m.Currency)))
		}
		paid, errPaid := moneyField(r, m.AmountPaid, currency)
		balance, errBalance := moneyField(r, m.BalanceDue, currency)
		status, errStatus := stripesync.ParseInvoiceStatus(r.String(m.Status))
		inv.AmountPaid, inv.BalanceDue, inv.Status = paid, balance, status
		inv.BalanceSet = r.String(m.BalanceDue) != ""
		inv.Unreadable = errPaid != nil || errBalance != nil || errStatus != nil
		return inv, nil
	})
}

// soqlEscape escapes a value for a single-quoted SOQL string literal.
func soqlEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}
