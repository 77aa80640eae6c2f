package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stripesync/stripesync"
)

// Metrics holds the daemon's collectors. A nil *Metrics is valid and records
// nothing, so commands that serve no metrics can pass nil around.
type Metrics struct {
	apiCalls    *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	pushed      prometheus.Counter
	skipped     prometheus.Counter
	failed      prometheus.Counter
	runs        *prometheus.CounterVec
	runDuration *prometheus.HistogramVec
	events      *prometheus.CounterVec
	pruned      *prometheus.CounterVec
	// paymentFailures counts the failure inbox's entries.
	paymentFailures *prometheus.CounterVec
	// eventsIgnored counts the webhook events acknowledged but not
	// applied.
	eventsIgnored *prometheus.CounterVec
	reconcile     reconcileGauges
}

// runBuckets span a no-op run (well under a second) to a full push of a
// large CRM (an hour), in seconds.
var runBuckets = []float64{0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600}

// New creates the metrics and registers them, with the Go runtime and process
// collectors, on reg. It panics if reg already holds any of them: that is a
// wiring bug, and a fresh registry per process avoids it.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stripesync_api_calls_total",
			Help: "Calls made to upstream APIs, by service and outcome.",
		}, []string{"service", "outcome"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stripesync_api_rate_limited_total",
			Help: "Upstream API calls answered with a rate limit, by service.",
		}, []string{"service"}),
		pushed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stripesync_accounts_pushed_total",
			Help: "CRM accounts whose push cost Stripe writes (created, updated or bound).",
		}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stripesync_accounts_skipped_total",
			Help: "CRM accounts that needed no Stripe call (unchanged, ignored or unbound).",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stripesync_accounts_failed_total",
			Help: "CRM accounts whose push failed.",
		}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stripesync_sync_runs_total",
			Help: "Finished sync runs, by job and final status.",
		}, []string{"job", "status"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stripesync_sync_run_duration_seconds",
			Help:    "Wall time of finished sync runs, by job and final status.",
			Buckets: runBuckets,
		}, []string{"job", "status"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stripesync_events_total",
			Help: "Stripe events settled, by outcome: processed (applied, or nothing to apply), retried (an attempt failed), dead (moved to the dead letters).",
		}, []string{"outcome"}),
		paymentFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stripesync_payment_failures_total",
			Help: "Entries of the failure inbox, counted once each when the ops digest reports them, by source (pay page, staff, auto-pay, ACH return, verification, customer, write-back) and Stripe code.",
		}, []string{"source", "code"}),
		eventsIgnored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stripesync_events_ignored_total",
			Help: "Stripe webhook events acknowledged but neither stored nor applied, by reason (other_account: an event of another Stripe account than STRIPE_ACCOUNT, the platform's included).",
		}, []string{"reason"}),
		pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stripesync_inbox_pruned_total",
			Help: "Rows the daily prune deleted from an inbox (events: processed Stripe events; triggers: settled CRM notification ids).",
		}, []string{"inbox"}),
	}
	// Both inboxes show from the start, so that a rate over the counter
	// has a series before the first prune.
	m.pruned.WithLabelValues("events")
	m.pruned.WithLabelValues("triggers")
	for _, outcome := range []string{"processed", "retried", "dead"} {
		m.events.WithLabelValues(outcome)
	}
	m.eventsIgnored.WithLabelValues(IgnoredOtherAccount)
	reg.MustRegister(
		m.apiCalls, m.rateLimited, m.pushed, m.skipped, m.failed, m.runs, m.runDuration, m.events, m.pruned, m.paymentFailures, m.eventsIgnored,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.reconcile = newReconcileGauges(reg)
	return m
}

// OnCall returns the observer an adapter calls once per upstream request to
// service ("stripe", "salesforce"). outcome is the adapter's classification
// ("ok", "rate_limited", "error", …); "rate_limited" is also counted on its
// own so that alerts need not know the other outcomes. status is the HTTP
// status (0 when no response arrived); it is not a label, because outcome
// already classifies it and a label per status would multiply the series.
func (m *Metrics) OnCall(service string) func(outcome string, status int) {
	if m == nil {
		return func(string, int) {}
	}
	limited := m.rateLimited.WithLabelValues(service)
	return func(outcome string, _ int) {
		m.apiCalls.WithLabelValues(service, outcome).Inc()
		if outcome == "rate_limited" {
			limited.Inc()
		}
	}
}

// AccountsHandled adds one run's (or one batch's) account counts.
func (m *Metrics) AccountsHandled(pushed, skipped, failed int) {
	if m == nil {
		return
	}
	m.pushed.Add(float64(pushed))
	m.skipped.Add(float64(skipped))
	m.failed.Add(float64(failed))
}

// RunFinished records a finished run of job ("accounts", "payments", …) with
// its final status (a stripesync.RunStatus) and wall time.
func (m *Metrics) RunFinished(job string, status string, d time.Duration) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(job, status).Inc()
	m.runDuration.WithLabelValues(job, status).Observe(d.Seconds())
}

// EventsSettled counts Stripe events by how their attempt ended.
func (m *Metrics) EventsSettled(processed, retried, dead int) {
	if m == nil {
		return
	}
	m.events.WithLabelValues("processed").Add(float64(processed))
	m.events.WithLabelValues("retried").Add(float64(retried))
	m.events.WithLabelValues("dead").Add(float64(dead))
}

// IgnoredOtherAccount is the reason of an event of another Stripe account
// than the one the daemon acts for.
const IgnoredOtherAccount = "other_account"

// EventIgnored counts one webhook event acknowledged but not applied, for
// reason (IgnoredOtherAccount).
func (m *Metrics) EventIgnored(reason string) {
	if m == nil {
		return
	}
	m.eventsIgnored.WithLabelValues(reason).Inc()
}

// FailureCounted counts one failure of the inbox by source and code.
func (m *Metrics) FailureCounted(source stripesync.FailureSource, code string) {
	if m == nil {
		return
	}
	m.paymentFailures.WithLabelValues(string(source), code).Inc()
}

// Pruned adds the rows one prune run deleted from inbox ("events",
// "triggers").
func (m *Metrics) Pruned(inbox string, n int64) {
	if m == nil {
		return
	}
	m.pruned.WithLabelValues(inbox).Add(float64(n))
}

// Handler serves the metrics gathered from g in the Prometheus exposition
// format. A collector that fails is reported in the response rather than
// failing the scrape, so one broken collector does not blind the operator.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
