package stripesync

import "time"

// RunStatus is how a sync run ended.
type RunStatus string

// The run statuses.
const (
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded" // every account handled
	RunPartial   RunStatus = "partial"   // finished, some accounts failed or were left for the next run
	RunFailed    RunStatus = "failed"    // stopped early (e.g. CRM API limit reached)
)

// SyncRun is one execution of a sync job, kept as the run log.
type SyncRun struct {
	ID         int64
	Kind       string // e.g. "accounts"
	StartedAt  time.Time
	FinishedAt time.Time // zero while running
	Status     RunStatus
	Seen       int // accounts read from the CRM
	Pushed     int // accounts that cost Stripe writes (created, updated, bound)
	Skipped    int // unchanged, ignored or unbound: no Stripe call
	Failed     int
	Error      string // why the run stopped or was partial
	// CursorFrom and CursorTo are the watermark before and after the run.
	CursorFrom time.Time
	CursorTo   time.Time
}
