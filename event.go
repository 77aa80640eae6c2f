package stripesync

import "time"

// Event is a Stripe event, from a webhook or the Events API, reduced to what
// routing it needs. The ledger stores the raw payload too, but the engine
// never trusts a payload's object state: events can be stale or reordered,
// so it re-reads the PaymentIntent from Stripe.
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
}

// Event types the engine acts on.
const (
	EventPaymentIntentSucceeded  = "payment_intent.succeeded"
	EventPaymentIntentProcessing = "payment_intent.processing"
	EventPaymentIntentFailed     = "payment_intent.payment_failed"
	EventPaymentIntentCanceled   = "payment_intent.canceled"
	EventChargeRefunded          = "charge.refunded"
	EventChargeDisputeCreated    = "charge.dispute.created"
	EventCheckoutCompleted       = "checkout.session.completed"
	EventCustomerDeleted         = "customer.deleted"
)
