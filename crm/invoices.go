package crm

import (
	"context"
	"encoding/json"
	"iter"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

// Invoices streams the invoices whose SystemModstamp is at or after since,
// oldest first (SystemModstamp, then Id), deleted ones included, through
// queryAll, exactly as Accounts does for accounts (same watermark rules,
// same paging).
//
// Amounts are read exactly: Amount__c and Amount_Paid__c arrive as JSON
// numbers, are kept as text (never float64) and parsed with
// stripesync.ParseMoney in the invoice's CurrencyIsoCode (upper-cased); a
// null amount is zero. Two kinds of bad data are reported on the invoice
// instead of ending the stream, so that one bad record costs only itself:
//
//   - an unknown Status__c yields the invoice with Status "" (an empty
//     Status__c is Open);
//   - amounts that cannot be represented exactly (no or unknown currency,
//     more decimals than the currency has, not a number) yield the invoice
//     with Total and AmountPaid both the zero Money, Currency "".
//
// Callers must treat either as a failure of that invoice alone.
func (c *Client) Invoices(ctx context.Context, since time.Time) iter.Seq2[stripesync.Invoice, error] {
	return convertAll(c.QueryAll(ctx, c.invoicesSOQL(since)), c.invoiceFrom)
}

// Invoice reads one invoice as it is now, with the fields and conversion
// of Invoices. Like Account, it asks queryAll by Id: a deleted invoice is
// returned with Deleted set, a missing or purged one is ENOTFOUND.
func (c *Client) Invoice(ctx context.Context, id string) (stripesync.Invoice, error) {
	r, err := c.recordByID(ctx, c.cfg.Mapping.Invoice.Object, c.invoiceFields(), id)
	if err != nil {
		return stripesync.Invoice{}, err
	}
	return c.invoiceFrom(r)
}

// invoiceFields lists the invoice fields Invoices selects.
func (c *Client) invoiceFields() []string {
	m := c.cfg.Mapping.Invoice
	return selectList(append(m.Pulled(), mapped(m.AmountPaid, m.PaymentLink)...)...)
}

func (c *Client) invoicesSOQL(since time.Time) string {
	return changedSOQL(c.cfg.Mapping.Invoice.Object, c.invoiceFields(), since)
}

// invoiceFrom converts a queried invoice; see Invoices for how bad status
// and amount values are reported.
func (c *Client) invoiceFrom(r Record) (stripesync.Invoice, error) {
	m := c.cfg.Mapping.Invoice
	stamp, err := r.Time("SystemModstamp")
	if err != nil {
		return stripesync.Invoice{}, err
	}
	due, err := r.Date(m.DueDate)
	if err != nil {
		return stripesync.Invoice{}, err
	}
	inv := stripesync.Invoice{
		ID:        strings.TrimSpace(r.String("Id")),
		Number:    strings.TrimSpace(r.String(m.Number)),
		AccountID: strings.TrimSpace(r.String(m.Account)),
		DueDate:   due,
		AutoPay:   r.Bool(m.AutoPay),
		ModStamp:  stamp,
		Deleted:   r.Bool("IsDeleted"),
	}
	if m.PaymentLink != "" {
		inv.PaymentLink = strings.TrimSpace(r.String(m.PaymentLink))
	}
	if inv.ID == "" {
		return stripesync.Invoice{}, stripesync.Errorf(stripesync.EINVALID, "salesforce query %s: record without Id", m.Object)
	}
	if st, err := stripesync.ParseInvoiceStatus(r.String(m.Status)); err == nil {
		inv.Status = st
	}
	var currency string
	if m.Currency != "" {
		currency = strings.ToUpper(strings.TrimSpace(r.String(m.Currency)))
	}
	total, errTotal := moneyField(r, m.Amount, currency)
	paid, errPaid := moneyField(r, m.AmountPaid, currency)
	if errTotal == nil && errPaid == nil {
		inv.Total, inv.AmountPaid = total, paid
	}
	return inv, nil
}

// UpdateInvoices writes rollups to the invoices through UpdateRecords (200
// per call, allOrNone false): Amount_Paid__c and Balance_Due__c as exact
// decimals in the currency's precision, and Status__c unless the update's
// Status is "" (then the CRM's status is left as it is), and
// Payment_Link__c when the update's PaymentLink is not nil ("" clears it;
// with no payment_link mapped it is never sent). perRecord and err
// follow stripesync.CRM; a deleted invoice is ENOTFOUND.
func (c *Client) UpdateInvoices(ctx context.Context, updates []stripesync.InvoiceUpdate) (perRecord []error, err error) {
	m := c.cfg.Mapping.Invoice
	records := make([]Record, len(updates))
	for i, u := range updates {
		r := Record{
			"Id":         u.InvoiceID,
			m.AmountPaid: json.Number(u.AmountPaid.Decimal()),
			m.BalanceDue: json.Number(u.BalanceDue.Decimal()),
		}
		if u.Status != "" {
			r[m.Status] = string(u.Status)
		}
		if u.PaymentLink != nil && m.PaymentLink != "" {
			if *u.PaymentLink == "" {
				r[m.PaymentLink] = nil // a null clears a text field
			} else {
				r[m.PaymentLink] = *u.PaymentLink
			}
		}
		records[i] = r
	}
	return c.UpdateRecords(ctx, m.Object, records)
}
