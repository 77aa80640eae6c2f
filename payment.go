package stripesync

import "time"

// PaymentStatus is where a payment stands, as the ledger and
// Payment__c.Status__c see it (refunds are shown by CRMStatus).
type PaymentStatus string

// The payment statuses. A PaymentIntent in requires_payment_method after a
// confirmation attempt is Failed; one that was never confirmed is Pending.
// A bank debit whose account must first be verified with micro-deposits
// (Stripe's requires_action with next_action verify_with_microdeposits)
// is AwaitingVerification until the customer confirms the two amounts.
const (
	PaymentPending              PaymentStatus = "Pending"
	PaymentAwaitingVerification PaymentStatus = "Awaiting Verification"
	PaymentProcessing           PaymentStatus = "Processing" // ACH in flight: never counted as paid
	PaymentSucceeded            PaymentStatus = "Succeeded"
	PaymentFailed               PaymentStatus = "Failed"
	PaymentCanceled             PaymentStatus = "Canceled"
)

// Payment channels (Payment__c.Channel__c), carried in the PaymentIntent's
// metadata[channel]; a payment made outside the daemon is "Stripe".
const (
	ChannelPaymentLink = "Payment Link"
	ChannelPhone       = "Phone"
	ChannelAutoPay     = "Auto-Pay"
	ChannelStripe      = "Stripe"
)

// Payment methods (Payment__c.Method__c).
const (
	MethodCard = "Card"
	MethodACH  = "ACH"
)

// Metadata keys the daemon puts on PaymentIntents.
const (
	MetadataInvoiceID = "crm_invoice_id"
	MetadataChannel   = "channel"
)

// Payment is one Stripe PaymentIntent as the ledger keeps it: exactly one
// row per PaymentIntent id, whatever the number or order of deliveries.
type Payment struct {
	ID         string // pi_…
	InvoiceID  string // metadata[crm_invoice_id]; may name an invoice the ledger does not know
	AccountID  string // the CRM account, from metadata or the customer's link
	CustomerID string // cus_…
	Amount     Money
	Refunded   int64 // minor units of Amount.Currency
	Status     PaymentStatus
	Method     string // MethodCard, MethodACH or ""
	// MethodDetail describes the instrument for people: "Visa •••• 4242",
	// "Bank •••• 6789".
	MethodDetail  string
	Channel       string
	FailureReason string // decline code and message of the last failure
	Disputed      bool
	Created       time.Time
	PaidAt        time.Time // when it succeeded (the charge's time); zero otherwise
	// ChargeID and ChargeCreated identify the attempt the state belongs to;
	// with the status rank and the refunded amount they order states, so a
	// stale delivery never overwrites newer state (see Supersedes).
	ChargeID      string
	ChargeCreated time.Time
	ReceiptNumber string // assigned by the ledger when it first succeeds
}

// rank orders the states of one charge attempt: a later state never
// goes back to an earlier one. A failed PaymentIntent can still be
// canceled, but a canceled one never fails again, and neither a succeeded
// nor a canceled one changes status, so those two share the top rank.
func (s PaymentStatus) rank() int {
	switch s {
	case PaymentPending:
		return 0
	case PaymentAwaitingVerification:
		return 1
	case PaymentProcessing:
		return 2
	case PaymentFailed:
		return 3
	case PaymentCanceled, PaymentSucceeded:
		return 4
	}
	return -1
}

// Supersedes reports whether p is at least as new as old, so that applying
// p cannot lose information: a newer charge attempt wins; within one
// attempt the status only moves forward (pending → awaiting verification
// → processing → failed/canceled/succeeded) and refunds and disputes only grow.
func (p Payment) Supersedes(old Payment) bool {
	if !p.ChargeCreated.Equal(old.ChargeCreated) {
		return p.ChargeCreated.After(old.ChargeCreated)
	}
	if p.ChargeID != old.ChargeID && old.ChargeID != "" && p.ChargeID != "" {
		return p.ChargeID > old.ChargeID // same second: any fixed order, applied consistently
	}
	if r, o := p.Status.rank(), old.Status.rank(); r != o {
		return r > o
	}
	if p.Refunded != old.Refunded {
		return p.Refunded > old.Refunded
	}
	return !old.Disputed || p.Disputed
}

// Settled is what the payment contributes to its invoice: the succeeded
// amount less refunds, zero otherwise.
func (p Payment) Settled() int64 {
	if p.Status != PaymentSucceeded {
		return 0
	}
	return p.Amount.Amount - p.Refunded
}

// What staff and the CRM are told to expect of a payment not done yet.
const (
	NextStepVerify = "Waiting for the customer to confirm the two micro-deposits Stripe sends to the bank account " +
		"(they arrive in 1–2 business days); then enter them in the staff console to start the debit."
	NextStepSettle = "The bank debit is under way: the invoice is paid when it settles, in up to 4 business days."
)

// CRMNote is the Payment__c.Failure_Reason__c value: why the payment
// failed, or, for one awaiting verification, what has to happen next.
func (p Payment) CRMNote() string {
	if p.FailureReason == "" && p.Status == PaymentAwaitingVerification {
		return NextStepVerify
	}
	return p.FailureReason
}

// CRMStatus is the Payment__c.Status__c value, which shows refunds.
func (p Payment) CRMStatus() string {
	if p.Status == PaymentSucceeded && p.Refunded > 0 {
		if p.Refunded >= p.Amount.Amount {
			return "Refunded"
		}
		return "Partially Refunded"
	}
	return string(p.Status)
}

// PaymentSnapshot is what one event's object says about a payment. A
// payment_intent.* event carries the PaymentIntent with its latest charge
// as a bare id; a charge.* event carries the charge, which knows its
// PaymentIntent only by id. Neither alone is a whole Payment: the engine
// joins an intent snapshot with the snapshot (or the ledger's record) of
// its latest charge, and a charge snapshot with the ledger's record of its
// PaymentIntent, and reads from Stripe only when that join is incomplete.
type PaymentSnapshot struct {
	// Payment holds the fields this object knows: the intent fields (ID,
	// InvoiceID, AccountID, CustomerID, Amount, Status, Channel,
	// FailureReason, Created) when Intent is set, and the charge fields
	// (ChargeID, ChargeCreated, Refunded, Disputed, Method, MethodDetail,
	// PaidAt) when Charge is set. ID is always the PaymentIntent's id.
	Payment Payment
	// Intent is set for a PaymentIntent object; LatestChargeID is then its
	// latest_charge ("" when it has made no attempt).
	Intent         bool
	LatestChargeID string
	// Charge is set for a charge object; ChargeStatus is then the status
	// the charge implies for its PaymentIntent.
	Charge       bool
	ChargeStatus PaymentStatus
}

// PaymentRecord is what recording one payment left in the ledger: the
// stored state and whether this call changed it.
type PaymentRecord struct {
	Stored  Payment
	Changed bool
}
