package stripesync

import "time"

// Job is one unit of durable background work (a CRM write-back, a webhook to
// process, a receipt to mail). Jobs survive restarts; a claimed job that is
// not completed before its lease ends is claimed again.
type Job struct {
	ID          int64
	Kind        string
	Key         string // de-duplication key, unique per kind ("" means none)
	Payload     []byte // JSON
	Attempts    int
	MaxAttempts int
	RunAt       time.Time
	LastError   string
	Dead        bool // moved to the dead letters after MaxAttempts failures
	CreatedAt   time.Time
}
