package stripesync

import "time"

// Backlog is the work waiting in the inboxes: Stripe events stored but not
// yet applied, and CRM records with a trigger not yet pushed. A backlog that
// grows, or whose oldest item ages, means the workers are stuck or outpaced
// while webhooks and Outbound Messages are still being acknowledged.
type Backlog struct {
	Events int64 // unprocessed Stripe events, not counting dead ones
	// DeadEvents are the events that failed every attempt and wait in the
	// dead letters for a person.
	DeadEvents int64
	// OldestEvent is when the oldest unprocessed event was received (zero
	// when there is none). Received, not Created: an event the pull finds
	// days after Stripe created it has not waited that long here.
	OldestEvent time.Time
	// Jobs are the queued CRM write-backs, mails and digests not yet
	// done: due, running or being retried (dead ones, and ones planned
	// for later and never tried, not counted).
	Jobs     int64
	Triggers int64 // records with a pending trigger
	// OldestTrigger is when the oldest pending trigger was received (zero
	// when there is none).
	OldestTrigger time.Time
}
