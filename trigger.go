package stripesync

import "time"

// Trigger is a hint from the CRM that a record changed: an Outbound Message
// notification or an id in a JSON trigger from Apex. The record is re-read
// from the CRM before anything is pushed, so a trigger carries no state
// beyond what orders and de-duplicates it.
type Trigger struct {
	// NotificationID is the Outbound Message notification Id (the
	// de-duplication key Salesforce asks listeners to use); empty for JSON
	// triggers.
	NotificationID string
	Object         string // "Account" or "Invoice__c"
	RecordID       string
	// ModStamp is the record's SystemModstamp when the message was built,
	// zero when the message did not carry it.
	ModStamp   time.Time
	ReceivedAt time.Time
}

// The objects a trigger may name.
const (
	ObjectAccount = "Account"
	ObjectInvoice = "Invoice__c"
)

// ClaimedTrigger is a pending trigger leased to a worker. Seq tells
// whether another trigger for the same record arrived after the claim, in
// which case completing it leaves the record pending for another push.
type ClaimedTrigger struct {
	Trigger
	Seq       int64
	Attempts  int
	LastError string
}

// OutboundMessage is a decoded Salesforce Outbound Message: who sent it and
// one Trigger per notification.
type OutboundMessage struct {
	// OrganizationID is the sending org's 18-character id, the only thing
	// in the message that says who sent it.
	OrganizationID string
	Triggers       []Trigger
}
