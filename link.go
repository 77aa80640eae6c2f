package stripesync

import "time"

// LinkState is where an account link stands.
type LinkState string

// The link states.
const (
	// LinkPending: a customer create was recorded as intended (with its
	// idempotency key) and its outcome is not known yet. A crash leaves links
	// here; the next push looks for the customer by metadata before creating.
	LinkPending LinkState = "pending"
	LinkBound   LinkState = "bound"   // StripeID is the account's customer
	LinkFailed  LinkState = "failed"  // the last push failed; LastError says why
	LinkIgnored LinkState = "ignored" // policy Ignore
	LinkUnbound LinkState = "unbound" // the CRM account was deleted; the customer is left alone in Stripe
)

// AccountLink is the ledger's record of one CRM account and its Stripe
// customer.
type AccountLink struct {
	CRMID    string
	StripeID string // "" until bound
	Policy   Policy
	State    LinkState
	// Hash is the Customer.Hash of the fields last pushed successfully or,
	// after a permanent failure (LastError set), a fingerprint of the input
	// that failed, so that the same input is not tried again.
	Hash string
	// Version counts successful pushes; it is part of update idempotency keys
	// so that A→B→A edits within Stripe's 24 h key window are all applied.
	Version int64
	// WriteAttempt numbers Stripe writes whose outcome Stripe left unknown
	// (a 500 or a lost response after every retry). It is part of the next
	// write's idempotency key: Stripe keeps a failed response under its key,
	// so resending the same key could only replay that failure. A create is
	// re-keyed only after the customer was looked for by metadata and not
	// found.
	WriteAttempt int64
	LastError    string
	SyncedAt     time.Time // last successful push; zero if never
	UpdatedAt    time.Time
}
