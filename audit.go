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

// StaffSession is a staff member signed in to the console. The browser
// holds the session id; the ledger keeps only its hash.
type StaffSession struct {
	IDHash   string // hex SHA-256 of the session id
	Staff    string
	CSRF     string // the token every console form must carry
	Created  time.Time
	LastSeen time.Time
}

// StaffSessions keeps the console's sessions. Implemented by store.DB.
type StaffSessions interface {
	// CreateSession stores a new session.
	CreateSession(ctx context.Context, s StaffSession) error
	// TouchSession returns the session with idHash and marks it seen at
	// now, unless it was last seen idle or more ago or created absolute
	// or more ago: then, or when there is none, it is ENOTFOUND.
	TouchSession(ctx context.Context, idHash string, now time.Time, idle, absolute time.Duration) (StaffSession, error)
	// DeleteSession ends a session (signing out); none is no error.
	DeleteSession(ctx context.Context, idHash string) error
}
