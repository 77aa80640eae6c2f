package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stripesync/stripesync"
)

// backlogTimeout bounds the store query of one scrape: a database too busy
// to count its inboxes within it makes the backlog series fail that scrape
// instead of holding the scrape until Prometheus gives up on all of them.
const backlogTimeout = 2 * time.Second

// backlogCollector reports the inboxes' backlog, read from the store at
// each scrape, so that the numbers are the database's, shared by every
// replica, rather than one process's view.
type backlogCollector struct {
	read func(context.Context) (stripesync.Backlog, error)
	now  func() time.Time

	events, eventsOldest, dead, jobs, triggers, triggersOldest *prometheus.Desc
}

// NewBacklogCollector returns a collector of the inbox backlog gauges,
// which calls read (store.DB.InboxBacklog) at every scrape with a
// two-second timeout; now tells the age of the oldest items (nil means
// time.Now). When read fails, the gauges are missing from that scrape and
// the failure is reported through the registry's Gather. Register it
// beside New's metrics on the same registry.
func NewBacklogCollector(read func(context.Context) (stripesync.Backlog, error), now func() time.Time) prometheus.Collector {
	if now == nil {
		now = time.Now
	}
	return &backlogCollector{
		read: read,
		now:  now,
		events: prometheus.NewDesc("stripesync_event_backlog",
			"Stripe events stored but not yet processed.", nil, nil),
		eventsOldest: prometheus.NewDesc("stripesync_event_backlog_oldest_seconds",
			"Age of the oldest unprocessed Stripe event since it was received; 0 when there is none.", nil, nil),
		dead: prometheus.NewDesc("stripesync_event_dead_letters",
			"Stripe events that failed every attempt and are kept in the dead letters.", nil, nil),
		jobs: prometheus.NewDesc("stripesync_job_backlog",
			"Queued CRM write-backs and receipts not yet done (dead letters not counted).", nil, nil),
		triggers: prometheus.NewDesc("stripesync_trigger_backlog",
			"CRM records with a trigger not yet pushed.", nil, nil),
		triggersOldest: prometheus.NewDesc("stripesync_trigger_backlog_oldest_seconds",
			"Age of the oldest pending CRM trigger since it was received; 0 when there is none.", nil, nil),
	}
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.events
	ch <- c.eventsOldest
	ch <- c.dead
	ch <- c.jobs
	ch <- c.triggers
	ch <- c.triggersOldest
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
	defer cancel()
	b, err := c.read(ctx)
	if err != nil {
		for _, d := range []*prometheus.Desc{c.events, c.eventsOldest, c.dead, c.jobs, c.triggers, c.triggersOldest} {
			ch <- prometheus.NewInvalidMetric(d, err)
		}
		return
	}
	now := c.now()
	ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(b.Events))
	ch <- prometheus.MustNewConstMetric(c.eventsOldest, prometheus.GaugeValue, age(now, b.OldestEvent))
	ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(b.DeadEvents))
	ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(b.Jobs))
	ch <- prometheus.MustNewConstMetric(c.triggers, prometheus.GaugeValue, float64(b.Triggers))
	ch <- prometheus.MustNewConstMetric(c.triggersOldest, prometheus.GaugeValue, age(now, b.OldestTrigger))
}

// age is how long before now t was, in seconds: 0 for the zero time (an
// empty inbox) and for a t ahead of now, which another replica's clock may
// have written.
func age(now, t time.Time) float64 {
	if t.IsZero() || t.After(now) {
		return 0
	}
	return now.Sub(t).Seconds()
}
