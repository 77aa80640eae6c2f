package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stripesync/stripesync"
)

// statusCollector reports what the status page shows and no other series
// already has, read at each scrape from the same report: the jobs' last
// and next runs, the queue by kind with its dead letters, the open
// failures, Stripe's pacing limit and Salesforce's API usage. The rest of
// the page is in series of their own: the inbox lag
// (stripesync_event_backlog_oldest_seconds), Stripe's requests and 429s
// (stripesync_api_calls_total, stripesync_api_rate_limited_total), the
// uptime (process_start_time_seconds).
type statusCollector struct {
	read    func(context.Context) (stripesync.OpsStatus, error)
	version string
	now     func() time.Time

	buildInfo, lastRun, lastDuration, lastSuccess, nextRun *prometheus.Desc
	queueJobs, queueOldest, deadLetters, failuresOpen      *prometheus.Desc
	pacing, pacingMax, sfUsed, sfAllocation                *prometheus.Desc
}

// NewStatusCollector returns the collector of the status page's gauges,
// which calls read (the status report's reader) at every scrape with a
// two-second timeout, as the backlog collector does; now tells the queue's
// ages (nil means time.Now). stripesync_build_info{version} is reported
// even when read fails.
func NewStatusCollector(read func(context.Context) (stripesync.OpsStatus, error), version string, now func() time.Time) prometheus.Collector {
	if now == nil {
		now = time.Now
	}
	job := []string{"job"}
	kind := []string{"kind"}
	return &statusCollector{
		read: read, version: version, now: now,
		buildInfo: prometheus.NewDesc("stripesync_build_info", "Always 1, labelled with the daemon's version.", []string{"version"}, nil),
		lastRun: prometheus.NewDesc("stripesync_job_last_run_timestamp_seconds",
			"When the job's last run started, in Unix seconds.", job, nil),
		lastDuration: prometheus.NewDesc("stripesync_job_last_run_duration_seconds",
			"How long the job's last finished run took.", job, nil),
		lastSuccess: prometheus.NewDesc("stripesync_job_last_run_success",
			"1 when the job's last finished run succeeded, 0 when it was partial or failed; missing while it runs.", job, nil),
		nextRun: prometheus.NewDesc("stripesync_job_next_run_timestamp_seconds",
			"When this process runs the scheduled job next, in Unix seconds.", job, nil),
		queueJobs: prometheus.NewDesc("stripesync_queue_jobs",
			"Queued jobs not done and not dead (due, running or waiting to retry), by kind.", kind, nil),
		queueOldest: prometheus.NewDesc("stripesync_queue_oldest_job_age_seconds",
			"Age of the oldest queued job not done and not dead since it was enqueued, by kind; 0 when there is none.", kind, nil),
		deadLetters: prometheus.NewDesc("stripesync_dead_letters",
			"Queued jobs that failed every attempt and wait for a person (stripesync jobs, the status page), by kind.", kind, nil),
		failuresOpen: prometheus.NewDesc("stripesync_failures_open",
			"Entries of the payment failure inbox that are open or being retried.", nil, nil),
		pacing: prometheus.NewDesc("stripesync_stripe_pacing_limit_requests_per_second",
			"The rate this process paces its Stripe requests to now; below the maximum after 429s.", nil, nil),
		pacingMax: prometheus.NewDesc("stripesync_stripe_pacing_max_requests_per_second",
			"The rate this process paces its Stripe requests to at most (STRIPESYNC_STRIPE_RATE).", nil, nil),
		sfUsed: prometheus.NewDesc("stripesync_salesforce_api_usage_calls",
			"Salesforce API calls used in the rolling 24 hours, from the last Sforce-Limit-Info this process saw.", nil, nil),
		sfAllocation: prometheus.NewDesc("stripesync_salesforce_api_allocation_calls",
			"The org's Salesforce API allocation for 24 hours, from the last Sforce-Limit-Info this process saw.", nil, nil),
	}
}

func (c *statusCollector) descs() []*prometheus.Desc {
	return []*prometheus.Desc{c.lastRun, c.lastDuration, c.lastSuccess, c.nextRun, c.queueJobs, c.queueOldest,
		c.deadLetters, c.failuresOpen, c.pacing, c.pacingMax, c.sfUsed, c.sfAllocation}
}

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.buildInfo
	for _, d := range c.descs() {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.buildInfo, prometheus.GaugeValue, 1, c.version)
	ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
	defer cancel()
	st, err := c.read(ctx)
	if err != nil {
		for _, d := range c.descs() {
			ch <- prometheus.NewInvalidMetric(d, err)
		}
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, j := range st.Jobs() {
		if j.EventDriven {
			continue // its queue is in stripesync_queue_jobs
		}
		if !j.Next.IsZero() {
			gauge(c.nextRun, unix(j.Next), j.Name)
		}
		r := j.Last
		if r == nil {
			continue
		}
		gauge(c.lastRun, unix(r.StartedAt), j.Name)
		if r.FinishedAt.IsZero() {
			continue
		}
		gauge(c.lastDuration, r.FinishedAt.Sub(r.StartedAt).Seconds(), j.Name)
		success := 0.0
		if r.Status == stripesync.RunSucceeded {
			success = 1
		}
		gauge(c.lastSuccess, success, j.Name)
	}
	now := c.now()
	for _, q := range st.Queues {
		gauge(c.queueJobs, float64(q.Waiting), q.Kind)
		gauge(c.queueOldest, age(now, q.Oldest), q.Kind)
		gauge(c.deadLetters, float64(q.Dead), q.Kind)
	}
	gauge(c.failuresOpen, float64(st.OpenFailures))
	gauge(c.pacing, st.Stripe.PacingLimit)
	gauge(c.pacingMax, st.Stripe.PacingMax)
	gauge(c.sfUsed, float64(st.Salesforce.Used))
	gauge(c.sfAllocation, float64(st.Salesforce.Allocation))
}

// unix is t in Unix seconds, with its fraction.
func unix(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}
