package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/stripesync/stripesync"
)

// StatusConfig serves GET /v1/status, the operators' report in JSON.
type StatusConfig struct {
	// Read reads the report (store.DB.OpsStatus).
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

// handleStatus serves GET /v1/status: version and uptime, the last run of
// each scheduled job, the queue by kind with its dead letters, the inbox
// lag (the oldest unprocessed webhook) and the open failures.
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
		rj := runStatusJSON{Kind: run.Kind, Status: string(run.Status), StartedAt: run.StartedAt.UTC(), Seen: run.Seen,
			Pushed: run.Pushed, Skipped: run.Skipped, Failed: run.Failed, Error: run.Error}
		if !run.FinishedAt.IsZero() {
			f := run.FinishedAt.UTC()
			rj.FinishedAt, rj.DurationSeconds = &f, run.FinishedAt.Sub(run.StartedAt).Seconds()
		}
		out.Runs = append(out.Runs, rj)
	}
	for _, q := range st.Queues {
		out.Queues = append(out.Queues, queueJSON{Kind: q.Kind, Waiting: q.Waiting, OldestAgeSeconds: age(now, q.Oldest), Dead: q.Dead})
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, out)
}
