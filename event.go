package stripesync

import "time"

// Event is a Stripe event, from a webhook or the Events API, reduced to what
// routing it needs, with the raw payload. The payload's object is a
// snapshot of the moment the event happened: events can be stale or
// reordered, so the engine applies a snapshot only through the ledger's
// state precedence (Payment.Supersedes), and reads the object from Stripe
// when the snapshots it has are not enough (see PaymentSnapshot).
type Event struct {
	ID         string // evt_…; the de-duplication key
	Type       string // e.g. "payment_intent.succeeded"
	Created    time.Time
	APIVersion string
	Account    string // connected account, "" for the platform
	ObjectID   string // data.object.id
	// PaymentIntentID is the PaymentIntent the event concerns: the object
	// itself, or the payment_intent of a charge, dispute or Checkout
	// Session. Empty when the event is about something else.
	PaymentIntentID string
	// CustomerID is set for customer events.
	CustomerID string
	Payload    []byte // the raw JSON as received
	// Attempts counts the failed attempts to apply the event so far
	// (filled by the inbox when the event is claimed).
	Attempts int
}

// EventFailure is one failed attempt to apply an event: it is claimable
// again at RetryAt or, when Dead, moves to the dead letters, where it is
// kept with its error and never claimed again.
type EventFailure struct {
	ID      string
	Error   string
	RetryAt time.Time
	Dead    bool
}

// Event types the engine acts on.
const (
	EventPaymentIntentSucceeded  = "payment_intent.succeeded"
	EventChargeSucceeded         = "charge.succeeded"
	EventPaymentIntentProcessing = "payment_intent.processing"
	EventPaymentIntentFailed     = "payment_intent.payment_failed"
	EventPaymentIntentCanceled   = "payment_intent.canceled"
	EventChargeRefunded          = "charge.refunded"
	EventChargeDisputeCreated    = "charge.dispute.created"
	EventCheckoutCompleted       = "checkout.session.completed"
	EventCustomerDeleted         = "customer.deleted"
)
