package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/metrics"
	"github.com/stripesync/stripesync/store/storetest"
)

// TestBacklogFromTheStore scrapes the backlog of a real store over HTTP:
// two unprocessed events (the oldest received 90 s before the scrape, one
// processed event not counted) and one pending trigger received 30 s before.
func TestBacklogFromTheStore(t *testing.T) {
	ctx := t.Context()
	clock := storetest.NewClock(time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC))
	db := storetest.OpenSQLite(t).WithClock(clock.Now)
	for _, id := range []string{"evt_done", "evt_1", "evt_2"} {
		e := stripesync.Event{ID: id, Type: stripesync.EventPaymentIntentSucceeded, Created: clock.Now()}
		if _, err := db.AcceptEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		clock.Advance(30 * time.Second)
	}
	if err := db.MarkEventsProcessed(ctx, []string{"evt_done"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AcceptTriggers(ctx, []stripesync.Trigger{{NotificationID: "04l1", Object: stripesync.ObjectAccount, RecordID: "001A"}}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30 * time.Second)

	reg := prometheus.NewRegistry()
	metrics.New(reg)
	reg.MustRegister(metrics.NewBacklogCollector(db.InboxBacklog, clock.Now))
	body := scrape(t, reg)
	for _, line := range []string{
		"stripesync_event_backlog 2",
		"stripesync_event_backlog_oldest_seconds 90",
		"stripesync_trigger_backlog 1",
		"stripesync_trigger_backlog_oldest_seconds 30",
		`stripesync_inbox_pruned_total{inbox="events"} 0`,
	} {
		if !strings.Contains(body, "\n"+line+"\n") {
			t.Errorf("scrape lacks %q:\n%s", line, body)
		}
	}
}

func TestBacklogEmpty(t *testing.T) {
	reg := prometheus.NewRegistry()
	var deadline time.Duration
	reg.MustRegister(metrics.NewBacklogCollector(func(ctx context.Context) (stripesync.Backlog, error) {
		if d, ok := ctx.Deadline(); ok {
			deadline = time.Until(d)
		}
		return stripesync.Backlog{}, nil
	}, nil))
	want := `
# HELP stripesync_event_backlog Stripe events stored but not yet processed.
# TYPE stripesync_event_backlog gauge
stripesync_event_backlog 0
# HELP stripesync_event_backlog_oldest_seconds Age of the oldest unprocessed Stripe event since it was received; 0 when there is none.
# TYPE stripesync_event_backlog_oldest_seconds gauge
stripesync_event_backlog_oldest_seconds 0
# HELP stripesync_event_dead_letters Stripe events that failed every attempt and are kept in the dead letters.
# TYPE stripesync_event_dead_letters gauge
stripesync_event_dead_letters 0
# HELP stripesync_job_backlog Queued CRM write-backs and receipts not yet done (dead letters not counted).
# TYPE stripesync_job_backlog gauge
stripesync_job_backlog 0
# HELP stripesync_trigger_backlog CRM records with a trigger not yet pushed.
# TYPE stripesync_trigger_backlog gauge
stripesync_trigger_backlog 0
# HELP stripesync_trigger_backlog_oldest_seconds Age of the oldest pending CRM trigger since it was received; 0 when there is none.
# TYPE stripesync_trigger_backlog_oldest_seconds gauge
stripesync_trigger_backlog_oldest_seconds 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if deadline <= 0 || deadline > 2*time.Second {
		t.Errorf("the read's context ends in %v, want a short timeout", deadline)
	}
}

// TestBacklogReadFails: a store that does not answer costs the backlog
// series, not the scrape.
func TestBacklogReadFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics.New(reg)
	reg.MustRegister(metrics.NewBacklogCollector(func(context.Context) (stripesync.Backlog, error) {
		return stripesync.Backlog{}, stripesync.Errorf(stripesync.EUNAVAILABLE, "database is down")
	}, nil))
	if _, err := reg.Gather(); err == nil || !strings.Contains(err.Error(), "database is down") {
		t.Errorf("Gather error = %v, want the read's failure", err)
	}
	body := scrape(t, reg)
	if strings.Contains(body, "stripesync_event_backlog") || !strings.Contains(body, "\ngo_goroutines ") {
		t.Errorf("scrape with a failing backlog read, want the other metrics only:\n%s", body)
	}
}

func TestPruned(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.Pruned("events", 120)
	m.Pruned("events", 0)
	m.Pruned("events", 5)
	m.Pruned("triggers", 7)
	want := `
# HELP stripesync_inbox_pruned_total Rows the daily prune deleted from an inbox (events: processed Stripe events; triggers: settled CRM notification ids).
# TYPE stripesync_inbox_pruned_total counter
stripesync_inbox_pruned_total{inbox="events"} 125
stripesync_inbox_pruned_total{inbox="triggers"} 7
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "stripesync_inbox_pruned_total"); err != nil {
		t.Error(err)
	}
}
