package crm

import (
	"context"
	"encoding/json"

	"github.com/stripesync/stripesync"
)

// failureReasonMax is the length Failure_Reason__c is cut to (Text(255)),
// for the same reason as syncErrorMax.
const failureReasonMax = 255

// UpsertPayments upserts Payment__c records keyed by Stripe_Payment_Id__c
// (the PaymentIntent id) through UpsertRecords: sObject Collections, 200
// per call, allOrNone false, so a payment seen again updates its record
// instead of adding one. Every field the daemon owns is sent, so a value
// that became empty is cleared (null), except the lookups: Invoice__c and
// Account__c are left out when the payment has none, so an unmatched
// payment is written without the invoice and a later upsert never unlinks
// one. Amount__c and Amount_Refunded__c are exact decimals in the
// payment's currency (JSON numbers built from the text, never a float);
// Status__c is Payment.CRMStatus (which shows refunds); Paid_At__c is null
// until the payment succeeded; Failure_Reason__c is Payment.CRMNote (the
// next step of a payment awaiting verification), cut to 255 characters.
//
// perRecord and err follow stripesync.CRM. Per-item rejections are mapped
// like any Salesforce error: a lookup to a deleted invoice or account is
// ENOTFOUND (ENTITY_IS_DELETED), one to a record of the wrong object or an
// unknown one is EINVALID, a Stripe id held by two records is ECONFLICT.
func (c *Client) UpsertPayments(ctx context.Context, payments []stripesync.Payment) (perRecord []error, err error) {
	m := c.cfg.Mapping.Payment
	records := make([]Record, len(payments))
	for i, p := range payments {
		cur := p.Amount.Currency
		r := Record{
			m.StripePaymentID: p.ID,
			m.Amount:          json.Number(p.Amount.Decimal()),
			m.Status:          p.CRMStatus(),
			m.Method:          textOrNull(p.Method),
			m.MethodDetail:    textOrNull(p.MethodDetail),
			m.AmountRefunded:  json.Number(stripesync.Money{Amount: p.Refunded, Currency: cur}.Decimal()),
			m.PaidAt:          nil,
			m.ReceiptNumber:   textOrNull(p.ReceiptNumber),
			m.FailureReason:   textOrNull(truncateRunes(p.CRMNote(), failureReasonMax)),
			m.Channel:         textOrNull(p.Channel),
		}
		if p.InvoiceID != "" {
			r[m.Invoice] = p.InvoiceID
		}
		if p.AccountID != "" {
			r[m.Account] = p.AccountID
		}
		if m.Currency != "" {
			r[m.Currency] = textOrNull(cur)
		}
		if !p.PaidAt.IsZero() {
			r[m.PaidAt] = p.PaidAt
		}
		records[i] = r
	}
	return c.UpsertRecords(ctx, m.Object, m.StripePaymentID, records)
}

// textOrNull sends "" as JSON null, which is how Salesforce clears a text
// or picklist field.
func textOrNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}
