package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/stripesync/stripesync"
)

// StatusConfig serves GET /v1/status, the operators' report in JSON.
type StatusConfig struct {
	// Read reads the report: store.DB.OpsStatus with the process's next
	// runs and API traffic added.
	Read    func(ctx context.Context) (stripesync.OpsStatus, error)
	Version string
	Started time.Time // when the process started
	Now     func() time.Time
}

type statusJSON struct {
	Version       string          `json:"version"`
	StartedAt     time.Time       `json:"started_at"`
	UptimeSeconds int64           `json:"uptime_seconds"`
	Runs          []runStatusJSON `json:"runs"`
	Queues        []queueJSON     `json:"queues"`
	Inbox         inboxJSON       `json:"inbox"`
	OpenFailures  int64           `json:"failures_open"`
	Jobs          []jobJSON       `json:"jobs"`
	DeadLetters   deadLettersJSON `json:"dead_letters"`
	Stripe        stripeJSON      `json:"stripe"`
	Salesforce    salesforceJSON  `json:"salesforce"`
	// Reconcile is the last reconcile run; null before the first.
	Reconcile *reconcileJSON `json:"reconcile"`
}

type jobJSON struct {
	Name    string         `json:"name"`
	Title   string         `json:"title"`
	LastRun *runStatusJSON `json:"last_run"`
	// NextRunAt is null for an event-driven job, which shows its queue.
	NextRunAt        *time.Time `json:"next_run_at"`
	EventDriven      bool       `json:"event_driven"`
	Waiting          int64      `json:"waiting,omitempty"`
	OldestAgeSeconds float64    `json:"oldest_age_seconds,omitempty"`
	Dead             int64      `json:"dead,omitempty"`
}

type deadLettersJSON struct {
	Count int64            `json:"count"`
	Shown []deadLetterJSON `json:"newest"` // at most stripesync.DeadLetterLimit
}

type deadLetterJSON struct {
	ID          int64     `json:"id"`
	Kind        string    `json:"kind"`
	Key         string    `json:"key,omitempty"`
	Attempts    int       `json:"attempts"`
	MaxAttempts int       `json:"max_attempts"`
	LastError   string    `json:"last_error"`
	EnqueuedAt  time.Time `json:"enqueued_at"`
}

type stripeJSON struct {
	WindowSeconds     float64 `json:"window_seconds"`
	Requests          int64   `json:"requests"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	RateLimited       int64   `json:"rate_limited"`
	RateLimitedTotal  int64   `json:"rate_limited_total"`
	PacingLimit       float64 `json:"pacing_limit_per_second"`
	PacingMax         float64 `json:"pacing_max_per_second"`
}

type salesforceJSON struct {
	APIUsed       int     `json:"api_used"`
	APIAllocation int     `json:"api_allocation"`
	APIFraction   float64 `json:"api_fraction"`
}

type reconcileJSON struct {
	Status     string     `json:"status"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Compared   int        `json:"compared"`
	Drift      int        `json:"drift"`
	Repaired   int        `json:"repaired"`
}

type runStatusJSON struct {
	Kind            string     `json:"kind"`
	Status          string     `json:"status"`
	StartedAt       time.Time  `json:"started_at"`
	FinishedAt      *time.Time `json:"finished_at,omitempty"`
	DurationSeconds float64    `json:"duration_seconds,omitempty"`
	Seen            int        `json:"seen"`
	Pushed          int        `json:"pushed"`
	Skipped         int        `json:"skipped"`
	Failed          int        `json:"failed"`
	Error           string     `json:"error,omitempty"`
}

type queueJSON struct {
	Kind             string  `json:"kind"`
	Waiting          int64   `json:"waiting"`
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
	Dead             int64   `json:"dead"`
}

type inboxJSON struct {
	Events                  int64   `json:"events"`
	OldestEventAgeSeconds   float64 `json:"oldest_event_age_seconds"`
	DeadEvents              int64   `json:"dead_events"`
	Triggers                int64   `json:"triggers"`
	OldestTriggerAgeSeconds float64 `json:"oldest_trigger_age_seconds"`
}

// age is how long ago t was, in seconds; 0 for the zero time.
func age(now, t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return now.Sub(t).Seconds()
}

// runJSON is a run as the report shows it.
func runJSON(run stripesync.SyncRun) runStatusJSON {
	rj := runStatusJSON{Kind: run.Kind, Status: string(run.Status), StartedAt: run.StartedAt.UTC(), Seen: run.Seen,
		Pushed: run.Pushed, Skipped: run.Skipped, Failed: run.Failed, Error: run.Error}
	if !run.FinishedAt.IsZero() {
		f := run.FinishedAt.UTC()
		rj.FinishedAt, rj.DurationSeconds = &f, run.FinishedAt.Sub(run.StartedAt).Seconds()
	}
	return rj
}

// handleStatus serves GET /v1/status: version and uptime, the last run of
// each scheduled job, each job's next run or queue, the queue by kind with
// the newest dead letters, the inbox lag (the oldest unprocessed webhook),
// the open failures, Stripe's request rate, 429s and pacing, Salesforce's
// daily API usage and the last reconcile's drift.
func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.status.Read(r.Context())
	if err != nil {
		WriteError(w, r, s.logger, err)
		return
	}
	now := time.Now()
	if s.status.Now != nil {
		now = s.status.Now()
	}
	out := statusJSON{
		Version: s.status.Version, StartedAt: s.status.Started.UTC(), UptimeSeconds: int64(now.Sub(s.status.Started).Seconds()),
		Runs: []runStatusJSON{}, Queues: []queueJSON{}, OpenFailures: st.OpenFailures,
		Inbox: inboxJSON{
			Events: st.Backlog.Events, OldestEventAgeSeconds: age(now, st.Backlog.OldestEvent), DeadEvents: st.Backlog.DeadEvents,
			Triggers: st.Backlog.Triggers, OldestTriggerAgeSeconds: age(now, st.Backlog.OldestTrigger),
		},
	}
	for _, run := range st.Runs {
		out.Runs = append(out.Runs, runJSON(run))
	}
	for _, q := range st.Queues {
		out.Queues = append(out.Queues, queueJSON{Kind: q.Kind, Waiting: q.Waiting, OldestAgeSeconds: age(now, q.Oldest), Dead: q.Dead})
	}
	out.Jobs = []jobJSON{}
	for _, j := range st.Jobs() {
		jj := jobJSON{Name: j.Name, Title: j.Title, EventDriven: j.EventDriven, Waiting: j.Waiting, OldestAgeSeconds: age(now, j.Oldest), Dead: j.Dead}
		if j.Last != nil {
			r := runJSON(*j.Last)
			jj.LastRun = &r
		}
		if !j.Next.IsZero() {
			n := j.Next.UTC()
			jj.NextRunAt = &n
		}
		out.Jobs = append(out.Jobs, jj)
	}
	out.DeadLetters = deadLettersJSON{Count: st.DeadLetterCount(), Shown: []deadLetterJSON{}}
	for _, j := range st.DeadLetters {
		out.DeadLetters.Shown = append(out.DeadLetters.Shown, deadLetterJSON{ID: j.ID, Kind: j.Kind, Key: j.Key, Attempts: j.Attempts,
			MaxAttempts: j.MaxAttempts, LastError: j.LastError, EnqueuedAt: j.CreatedAt.UTC()})
	}
	out.Stripe = stripeJSON{WindowSeconds: st.Stripe.Window.Seconds(), Requests: st.Stripe.Requests, RequestsPerSecond: st.Stripe.RequestsPerSecond(),
		RateLimited: st.Stripe.RateLimited, RateLimitedTotal: st.Stripe.RateLimitedEver, PacingLimit: st.Stripe.PacingLimit, PacingMax: st.Stripe.PacingMax}
	out.Salesforce = salesforceJSON{APIUsed: st.Salesforce.Used, APIAllocation: st.Salesforce.Allocation, APIFraction: st.Salesforce.Fraction()}
	if r, ok := st.LastRun(stripesync.RunKindReconcile); ok {
		rj := runJSON(r)
		out.Reconcile = &reconcileJSON{Status: string(r.Status), FinishedAt: rj.FinishedAt, Compared: r.Seen, Drift: r.Failed, Repaired: r.Pushed}
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, out)
}
