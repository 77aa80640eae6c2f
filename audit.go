package stripesync

import (
	"context"
	"time"
)

// Staff actions, as the audit trail names them.
const (
	StaffActionPayment       = "payment"
	StaffActionLinkSent      = "payment link sent"
	StaffActionReceiptResent = "receipt re-sent"
	StaffActionVerification  = "verification"
)

// StaffAction is one entry of the audit trail: who did what to which
// invoice, when, and how it ended.
type StaffAction struct {
	ID        int64
	At        time.Time
	Staff     string
	Action    string // a StaffAction* constant
	InvoiceID string
	PaymentID string // the PaymentIntent, when the action made or named one
	// Outcome is "ok", or the plain-words message staff were shown.
	Outcome string
	// Detail says what was asked: the amount and method of a payment.
	Detail string
}

// StaffAudit is the audit trail of staff actions. Implemented by store.DB.
type StaffAudit interface {
	// RecordStaffAction appends a to the trail.
	RecordStaffAction(ctx context.Context, a StaffAction) error
	// StaffActions returns an invoice's trail, oldest first.
	StaffActions(ctx context.Context, invoiceID string) ([]StaffAction, error)
}
