package metrics_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/metrics"
	"github.com/stripesync/stripesync/store/storetest"
)

// TestStatusFromTheStore scrapes the status gauges of a real store: a
// finished payments run and a partial reconcile run, a receipt job dead
// after its one attempt beside a waiting write-back enqueued 2 minutes
// before the scrape, one open failure, and the process's next run, pacing
// and Salesforce usage.
func TestStatusFromTheStore(t *testing.T) {
	ctx := t.Context()
	clock := storetest.NewClock(time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC))
	db := storetest.OpenSQLite(t).WithClock(clock.Now)
	for _, r := range []struct {
		kind   string
		status stripesync.RunStatus
	}{{"payments", stripesync.RunSucceeded}, {stripesync.RunKindReconcile, stripesync.RunPartial}} {
		run, err := db.StartRun(ctx, r.kind, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		run.Status, run.FinishedAt, run.Failed = r.status, clock.Now().Add(90*time.Second), 2
		if err := db.FinishRun(ctx, run); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Enqueue(ctx, stripesync.Job{Kind: stripesync.JobCRMInvoice, Key: "a0B1"}); err != nil {
		t.Fatal(err)
	}
	storetest.DeadLetter(t, db, stripesync.JobSendReceipt, "pi_1", "mail down")
	if _, err := db.RecordFailure(ctx, stripesync.Failure{Key: "payment:pi_2", Source: stripesync.FailureStaff, Created: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	started := clock.Now()
	clock.Advance(2 * time.Minute)
	next := clock.Now().Add(13 * time.Minute)
	read := func(ctx context.Context) (stripesync.OpsStatus, error) {
		st, err := db.OpsStatus(ctx)
		st.NextRuns = map[string]time.Time{"payments": next}
		st.Stripe = stripesync.StripeTraffic{PacingLimit: 12.5, PacingMax: 25}
		st.Salesforce = stripesync.APIUsage{Used: 8500, Allocation: 10000}
		return st, err
	}
	reg := prometheus.NewRegistry()
	metrics.New(reg)
	reg.MustRegister(metrics.NewStatusCollector(read, "v1.2.3", clock.Now))
	body := scrape(t, reg)
	for _, line := range []string{
		`stripesync_build_info{version="v1.2.3"} 1`,
		`stripesync_job_last_run_timestamp_seconds{job="payments"} ` + unixText(started),
		`stripesync_job_last_run_duration_seconds{job="payments"} 90`,
		`stripesync_job_last_run_success{job="payments"} 1`,
		`stripesync_job_last_run_success{job="reconcile"} 0`,
		`stripesync_job_next_run_timestamp_seconds{job="payments"} ` + unixText(next),
		`stripesync_queue_jobs{kind="crm.invoice"} 1`,
		`stripesync_queue_oldest_job_age_seconds{kind="crm.invoice"} 120`,
		`stripesync_queue_jobs{kind="receipt.send"} 0`,
		`stripesync_dead_letters{kind="receipt.send"} 1`,
		`stripesync_dead_letters{kind="crm.invoice"} 0`,
		`stripesync_failures_open 1`,
		`stripesync_stripe_pacing_limit_requests_per_second 12.5`,
		`stripesync_stripe_pacing_max_requests_per_second 25`,
		`stripesync_salesforce_api_usage_calls 8500`,
		`stripesync_salesforce_api_allocation_calls 10000`,
	} {
		if !strings.Contains(body, "\n"+line+"\n") {
			t.Errorf("scrape lacks %q:\n%s", line, body)
		}
	}
	// Event-driven jobs have queues, not runs.
	if strings.Contains(body, `job="receipts"`) {
		t.Errorf("the receipts job has run gauges:\n%s", body)
	}
}

// unixText is t in Unix seconds as the exposition format writes it.
func unixText(t time.Time) string {
	return strconv.FormatFloat(float64(t.Unix()), 'g', -1, 64)
}

// TestStatusReadFails keeps the build info and fails the other gauges of
// that scrape when the report cannot be read within the two seconds.
func TestStatusReadFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	var deadline time.Duration
	reg.MustRegister(metrics.NewStatusCollector(func(ctx context.Context) (stripesync.OpsStatus, error) {
		d, _ := ctx.Deadline()
		deadline = time.Until(d)
		return stripesync.OpsStatus{}, errors.New("database is locked")
	}, "v1", nil))
	families, err := reg.Gather()
	if err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Errorf("gather error %v, want the read's", err)
	}
	if len(families) != 1 || families[0].GetName() != "stripesync_build_info" {
		t.Errorf("gathered %v, want the build info only", families)
	}
	if deadline <= time.Second || deadline > 2*time.Second {
		t.Errorf("the read had %v, want two seconds", deadline)
	}
}
