package stripesync

import (
	"strings"
	"time"
)

// InvoiceStatus is Invoice__c.Status__c.
type InvoiceStatus string

// The invoice statuses. The daemon moves an invoice between Open, Partially
// Paid and Paid as payments and refunds arrive; Draft and Void belong to the
// business and are never changed by the rollup.
const (
	InvoiceDraft         InvoiceStatus = "Draft"
	InvoiceOpen          InvoiceStatus = "Open"
	InvoicePartiallyPaid InvoiceStatus = "Partially Paid"
	InvoicePaid          InvoiceStatus = "Paid"
	InvoiceVoid          InvoiceStatus = "Void"
)

// ParseInvoiceStatus reads a Status__c value; empty means Open.
func ParseInvoiceStatus(s string) (InvoiceStatus, error) {
	for _, st := range []InvoiceStatus{InvoiceDraft, InvoiceOpen, InvoicePartiallyPaid, InvoicePaid, InvoiceVoid} {
		if strings.EqualFold(strings.TrimSpace(s), string(st)) {
			return st, nil
		}
	}
	if strings.TrimSpace(s) == "" {
		return InvoiceOpen, nil
	}
	return "", Errorf(EINVALID, "unknown invoice status %q", s)
}

// Invoice is a CRM invoice (Invoice__c) as the ledger keeps it.
type Invoice struct {
	ID        string
	Number    string // Name, e.g. "INV-1001"
	AccountID string // Account__c
	Total     Money  // Amount__c in CurrencyIsoCode
	DueDate   time.Time
	AutoPay   bool
	Status    InvoiceStatus // as the CRM holds it
	// AmountPaid is Amount_Paid__c as the CRM holds it, so the ledger can
	// tell whether its rollup still has to be written back.
	AmountPaid Money
	// PaymentLink is Payment_Link__c as the CRM holds it ("" for none),
	// so the ledger can tell whether the link it issued still has to be
	// written, or removed.
	PaymentLink string
	ModStamp    time.Time
	Deleted     bool
}

// InvoiceUpdate is the write-back of a rollup to Invoice__c.
type InvoiceUpdate struct {
	InvoiceID  string
	AmountPaid Money
	BalanceDue Money
	Status     InvoiceStatus
	// PaymentLink, when not nil, is written to Payment_Link__c; "" clears
	// the field. Nil leaves the CRM's link as it is.
	PaymentLink *string
}
