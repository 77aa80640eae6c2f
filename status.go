package stripesync

import (
	"slices"
	"time"
)

// QueueStatus is one kind of queued job as the status report shows it.
type QueueStatus struct {
	Kind    string
	Waiting int64     // not done and not dead: due, running or retrying
	Oldest  time.Time // the oldest waiting one's enqueue time; zero for none
	Dead    int64     // dead letters, for a person (stripesync jobs)
}

// DeadLetterLimit bounds the dead letters the status report lists; the
// queues' Dead counts say how many there are in all.
const DeadLetterLimit = 50

// RunKindReconcile is the run log's kind of a reconcile. Its SyncRun
// counts: Seen = objects compared (PaymentIntents, invoices, customers,
// links, accounts), Failed = drift items found, Pushed = drift items
// repaired. Its Status is RunSucceeded when the comparison ran to the end,
// with or without drift (drift is what the run reports, not a failure of
// the run), and RunFailed when it could not finish (Error says why).
const RunKindReconcile = "reconcile"

// OpsStatus is what operators need to see the daemon working without
// reading logs: the last run of each scheduled job, the queues with their
// dead letters, the inboxes' backlog and the open failures (from the
// store), and what only the running process knows: when each scheduled
// job runs next and the upstream APIs' traffic.
type OpsStatus struct {
	Runs         []SyncRun // the last run of each kind, by kind
	Queues       []QueueStatus
	Backlog      Backlog
	OpenFailures int64
	// DeadLetters are the newest dead letters, at most DeadLetterLimit.
	DeadLetters []Job

	// NextRuns is when each scheduled job runs next, by its schedule name
	// ("accounts", "payments", "autopay", …).
	NextRuns map[string]time.Time
	Stripe   StripeTraffic
	// Salesforce is the org's API usage as its last answer reported it.
	Salesforce APIUsage
}

// LastRun returns the last run of kind in the report.
func (s OpsStatus) LastRun(kind string) (SyncRun, bool) {
	for _, r := range s.Runs {
		if r.Kind == kind {
			return r, true
		}
	}
	return SyncRun{}, false
}

// DeadLetterCount is how many dead letters there are, over every kind.
func (s OpsStatus) DeadLetterCount() int64 {
	var n int64
	for _, q := range s.Queues {
		n += q.Dead
	}
	return n
}

// StripeTraffic is this process's requests to Stripe: how many in the
// last Window, the 429s among them and since the start, and the pacing
// limit, which a 429 lowers and answered requests raise back to Max.
type StripeTraffic struct {
	Window          time.Duration
	Requests        int64 // attempts sent in the last Window
	RateLimited     int64 // of those, answered 429
	RateLimitedEver int64 // 429s since the process started
	PacingLimit     float64
	PacingMax       float64 // requests per second
}

// RequestsPerSecond is the request rate over the window.
func (t StripeTraffic) RequestsPerSecond() float64 {
	if t.Window <= 0 {
		return 0
	}
	return float64(t.Requests) / t.Window.Seconds()
}

// APIUsage is a daily API allocation and how much of it is used; zero
// before the first answer that reports it.
type APIUsage struct {
	Used, Allocation int
}

// Fraction is Used over Allocation, 0 when the allocation is not known.
func (u APIUsage) Fraction() float64 {
	if u.Allocation <= 0 {
		return 0
	}
	return float64(u.Used) / float64(u.Allocation)
}

// JobStatus is one of the daemon's jobs as the status page lists it:
// the last run and next run of a scheduled job, or the queue of one
// driven by events (a trigger, a payment), which has no next run.
type JobStatus struct {
	Name  string // the schedule's or the queue's name: the metrics' job label
	Title string
	// Last is the job's last run in the run log; nil when it has never run
	// or keeps no run log (RunLogged unset).
	Last      *SyncRun
	RunLogged bool
	Next      time.Time // zero for an event-driven job or one not scheduled here
	// EventDriven jobs run when work arrives; Waiting, Oldest and Dead are
	// their queue's.
	EventDriven bool
	Waiting     int64
	Oldest      time.Time
	Dead        int64
}

// jobDef names a job and where the report keeps its parts.
type jobDef struct {
	name, title string
	runKind     string   // its kind in the run log, "" for none
	schedule    string   // its schedule's name, "" for an event-driven job
	queues      []string // the job kinds of an event-driven job
}

// jobDefs are the daemon's jobs in the order of the page. The hourly
// schedule "accounts" pushes accounts and then pulls invoices.
var jobDefs = []jobDef{
	{name: "accounts", title: "Account push", runKind: "accounts", schedule: "accounts"},
	{name: "invoices", title: "Invoice pull", runKind: "invoices", schedule: "accounts"},
	{name: "payments", title: "Payment pull", runKind: "payments", schedule: "payments"},
	{name: "triggers", title: "CRM triggers"},
	{name: "write-back", title: "CRM write-back", queues: []string{JobCRMPayment, JobCRMInvoice}},
	{name: "receipts", title: "Receipts", queues: []string{JobSendReceipt}},
	{name: "reconcile", title: "Reconcile", runKind: RunKindReconcile, schedule: "reconcile"},
	{name: "autopay", title: "Auto-pay", runKind: "autopay", schedule: "autopay"},
	{name: "prune", title: "Inbox prune", schedule: "prune"},
}

// Jobs lists the daemon's jobs with their last and next runs or their
// queues. A scheduled job that neither ran nor is scheduled in this
// process (reconcile with STRIPESYNC_RECONCILE_EVERY=0, auto-pay when off)
// is left out.
func (s OpsStatus) Jobs() []JobStatus {
	var out []JobStatus
	for _, d := range jobDefs {
		j := JobStatus{Name: d.name, Title: d.title, EventDriven: d.schedule == "", RunLogged: d.runKind != ""}
		if d.runKind != "" {
			if r, ok := s.LastRun(d.runKind); ok {
				j.Last = &r
			}
		}
		if j.EventDriven {
			if d.name == "triggers" {
				j.Waiting, j.Oldest = s.Backlog.Triggers, s.Backlog.OldestTrigger
			}
			for _, q := range s.Queues {
				if !slices.Contains(d.queues, q.Kind) {
					continue
				}
				j.Waiting += q.Waiting
				j.Dead += q.Dead
				if !q.Oldest.IsZero() && (j.Oldest.IsZero() || q.Oldest.Before(j.Oldest)) {
					j.Oldest = q.Oldest
				}
			}
			out = append(out, j)
			continue
		}
		next, scheduled := s.NextRuns[d.schedule]
		if !scheduled && j.Last == nil {
			continue
		}
		j.Next = next
		out = append(out, j)
	}
	return out
}
