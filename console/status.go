package console

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
)

// StatusPath is the operators' status page. It is outside /staff/ so that
// it has an address of its own (GET /v1/status is its JSON twin), and it
// shares the console's session and CSRF token.
const StatusPath = "/status"

// LagWarning is the age from which the page marks an inbox's oldest
// waiting item as lagging; the example alert fires on the same.
const LagWarning = 5 * time.Minute

// statusCSP is the status page's policy: this site only, no inline
// script or style, no framing, forms only to here.
const statusCSP = "default-src 'self'; script-src 'self'; img-src 'self'; style-src 'self'; base-uri 'none'; " +
	"frame-ancestors 'none'; form-action 'self'"

// StatusPageConfig turns the status page on.
type StatusPageConfig struct {
	// Report reads the status report (the one of GET /v1/status).
	Report *httpapi.StatusConfig
	// Revive puts a dead letter back in the queue (store.DB.ReviveJob);
	// Drop deletes one for good (store.DB.DropJob).
	Revive, Drop func(ctx context.Context, id int64) error
}

// statusData is the status page.
type statusData struct {
	Version, Started, Uptime string
	// CanAct is set for a console session: the dead letters' forms need
	// its CSRF token. A bearer token reads the page only.
	CanAct       bool
	Notice       string
	Jobs         []jobLine
	Queues       []queueLine
	Inbox        inboxLine
	OpenFailures int64
	Stripe       stripeLine
	Salesforce   salesforceLine
	Reconcile    *reconcileLine
	DeadCount    int64
	Dead         []deadLine
}

func (statusData) title() string { return "Status" }

type jobLine struct {
	Title, Last, Result, Duration, Next, Error string
	Failed                                     bool // the last run did not succeed
}

type queueLine struct {
	Kind          string
	Waiting, Dead int64
	Oldest        string
	Lagging       bool
}

type inboxLine struct {
	Events, DeadEvents, Triggers int64
	OldestEvent, OldestTrigger   string
	EventsLag, TriggersLag       bool
}

type stripeLine struct {
	Requests, RateLimited, RateLimitedEver int64
	Window, Rate, Pacing, PacingMax        string
	Slowed                                 bool // the pacer is below its limit after 429s
}

type salesforceLine struct {
	Known            bool
	Used, Allocation int
	Percent          string
	High             bool // over 80 % of the allocation
}

type reconcileLine struct {
	When, Status              string
	Compared, Drift, Repaired int
}

type deadLine struct {
	ID                    int64
	Kind, Key, LastError  string
	Attempts, MaxAttempts int
	Enqueued              string
}

// statusPage is GET /status, for a console session or a staff bearer
// token (curl); without either it is 401 with a way to sign in.
func (h *Handler) statusPage(w http.ResponseWriter, r *http.Request) {
	d := statusData{}
	// A bearer token (curl) gets the page without the console's
	// navigation, whose sign-out form needs a session.
	var staffName, csrf string
	if _, ok := h.bearer(r); !ok {
		s, ok, err := h.currentSession(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="stripesync"`)
			h.render(w, r, http.StatusUnauthorized, "message", message{
				Title: "Sign in to see the status",
				Text:  "The status page is for staff and operators: sign in to the console with your staff token, or send it as Authorization: Bearer.",
				Back:  "/staff/sign-in?next=" + StatusPath, BackLabel: "Sign in",
			})
			return
		}
		staffName, csrf, d.CanAct = s.Staff, s.CSRF, true
		d.Notice = h.takeNotice(w, r, s.CSRF)
	}
	rep := h.cfg.Status.Report
	st, err := rep.Read(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.cfg.Now()
	d.fill(st, rep, now)
	h.execute(w, r, http.StatusOK, "status", page{Business: h.cfg.Business, Title: d.title(), Staff: staffName, CSRF: csrf,
		Failures: h.cfg.Failures != nil, StatusPage: true, Data: d})
}

// bearer checks a staff token sent as Authorization: Bearer.
func (h *Handler) bearer(r *http.Request) (string, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return "", false
	}
	return h.cfg.Authenticate(strings.TrimSpace(token))
}

// fill turns the report into the page's lines.
func (d *statusData) fill(st stripesync.OpsStatus, rep *httpapi.StatusConfig, now time.Time) {
	d.Version, d.Started, d.Uptime = rep.Version, stamp(rep.Started)+" UTC", span(now.Sub(rep.Started))
	for _, j := range st.Jobs() {
		l := jobLine{Title: j.Title, Last: "—", Result: "—"}
		if j.RunLogged {
			l.Last = "never"
		}
		if r := j.Last; r != nil {
			l.Last, l.Result, l.Error = stamp(r.StartedAt), string(r.Status), r.Error
			l.Failed = r.Status == stripesync.RunFailed || r.Status == stripesync.RunPartial
			if !r.FinishedAt.IsZero() {
				l.Duration = span(r.FinishedAt.Sub(r.StartedAt))
			}
		}
		switch {
		case j.EventDriven:
			l.Next = fmt.Sprintf("on events: %d waiting", j.Waiting)
			if !j.Oldest.IsZero() {
				l.Next += ", oldest " + ago(now, j.Oldest)
			}
			if j.Dead > 0 {
				l.Next += fmt.Sprintf(", %d dead", j.Dead)
			}
		case j.Next.IsZero():
			l.Next = "not scheduled here"
		default:
			l.Next = stamp(j.Next)
		}
		d.Jobs = append(d.Jobs, l)
	}
	for _, q := range st.Queues {
		d.Queues = append(d.Queues, queueLine{Kind: q.Kind, Waiting: q.Waiting, Dead: q.Dead, Oldest: ago(now, q.Oldest),
			Lagging: !q.Oldest.IsZero() && now.Sub(q.Oldest) >= LagWarning})
	}
	b := st.Backlog
	d.Inbox = inboxLine{Events: b.Events, DeadEvents: b.DeadEvents, Triggers: b.Triggers,
		OldestEvent: ago(now, b.OldestEvent), OldestTrigger: ago(now, b.OldestTrigger),
		EventsLag: !b.OldestEvent.IsZero() && now.Sub(b.OldestEvent) >= LagWarning, TriggersLag: !b.OldestTrigger.IsZero() && now.Sub(b.OldestTrigger) >= LagWarning}
	d.OpenFailures = st.OpenFailures
	t := st.Stripe
	d.Stripe = stripeLine{Requests: t.Requests, RateLimited: t.RateLimited, RateLimitedEver: t.RateLimitedEver, Window: span(t.Window),
		Rate: strconv.FormatFloat(t.RequestsPerSecond(), 'f', 2, 64), Pacing: strconv.FormatFloat(t.PacingLimit, 'f', 1, 64),
		PacingMax: strconv.FormatFloat(t.PacingMax, 'f', 1, 64), Slowed: t.PacingLimit < t.PacingMax}
	u := st.Salesforce
	d.Salesforce = salesforceLine{Known: u.Allocation > 0, Used: u.Used, Allocation: u.Allocation,
		Percent: strconv.FormatFloat(100*u.Fraction(), 'f', 1, 64), High: u.Fraction() > 0.8}
	if r, ok := st.LastRun(stripesync.RunKindReconcile); ok {
		d.Reconcile = &reconcileLine{When: stamp(r.StartedAt), Status: string(r.Status), Compared: r.Seen, Drift: r.Failed, Repaired: r.Pushed}
	}
	d.DeadCount = st.DeadLetterCount()
	for _, j := range st.DeadLetters {
		d.Dead = append(d.Dead, deadLine{ID: j.ID, Kind: j.Kind, Key: j.Key, LastError: j.LastError, Attempts: j.Attempts,
			MaxAttempts: j.MaxAttempts, Enqueued: stamp(j.CreatedAt)})
	}
}

// deadLetterAction is POST /status/dead-letters/{id}/retry and …/drop,
// from a console session with its CSRF token (signedIn refuses the rest
// with 403 before anything is done).
func (h *Handler) deadLetterAction(w http.ResponseWriter, r *http.Request, s session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, stripesync.Errorf(stripesync.ENOTFOUND, "There is no dead letter %q", r.PathValue("id")))
		return
	}
	var notice string
	switch r.PathValue("action") {
	case "retry":
		err = h.cfg.Status.Revive(r.Context(), id)
		notice = fmt.Sprintf("Job %d is back in the queue; the workers take it at once.", id)
	case "drop":
		err = h.cfg.Status.Drop(r.Context(), id)
		notice = fmt.Sprintf("Job %d was dropped for good.", id)
	default:
		h.fail(w, r, stripesync.Errorf(stripesync.ENOTFOUND, "There is no such action"))
		return
	}
	if err != nil {
		if httpapi.Status(err) >= 500 {
			h.cfg.Logger.Error("status page dead letter action", "job_id", id, "staff", s.Staff, "error", err)
		}
		notice = fmt.Sprintf("Job %d: %s", id, staffMessage(err))
	} else {
		h.cfg.Logger.Info("dead letter "+r.PathValue("action"), "job_id", id, "staff", s.Staff)
	}
	h.setNotice(w, s.CSRF, notice)
	http.Redirect(w, r, StatusPath, http.StatusSeeOther)
}

// stamp is a time as the page shows it: UTC to the second, which the page
// says once.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(time.DateTime)
}

// ago is how long before now t was, in words; "—" for none.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return span(now.Sub(t)) + " ago"
}

// span is a duration to the second, largest units first: "2h 5m", "45s".
func span(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour && d%time.Minute == 0:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}
