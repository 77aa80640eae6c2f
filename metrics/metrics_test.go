package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/metrics"
)

func TestOnCall(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	stripe := m.OnCall("stripe")
	stripe("ok", 200)
	stripe("ok", 200)
	stripe("rate_limited", 429)
	m.OnCall("salesforce")("error", 500)

	want := `
# HELP stripesync_api_calls_total Calls made to upstream APIs, by service and outcome.
# TYPE stripesync_api_calls_total counter
stripesync_api_calls_total{outcome="error",service="salesforce"} 1
stripesync_api_calls_total{outcome="ok",service="stripe"} 2
stripesync_api_calls_total{outcome="rate_limited",service="stripe"} 1
# HELP stripesync_api_rate_limited_total Upstream API calls answered with a rate limit, by service.
# TYPE stripesync_api_rate_limited_total counter
stripesync_api_rate_limited_total{service="salesforce"} 0
stripesync_api_rate_limited_total{service="stripe"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"stripesync_api_calls_total", "stripesync_api_rate_limited_total"); err != nil {
		t.Error(err)
	}
}

func TestAccountsHandled(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.AccountsHandled(3, 10, 1)
	m.AccountsHandled(2, 0, 0)

	want := `
# HELP stripesync_accounts_failed_total CRM accounts whose push failed.
# TYPE stripesync_accounts_failed_total counter
stripesync_accounts_failed_total 1
# HELP stripesync_accounts_pushed_total CRM accounts whose push cost Stripe writes (created, updated or bound).
# TYPE stripesync_accounts_pushed_total counter
stripesync_accounts_pushed_total 5
# HELP stripesync_accounts_skipped_total CRM accounts that needed no Stripe call (unchanged, ignored or unbound).
# TYPE stripesync_accounts_skipped_total counter
stripesync_accounts_skipped_total 10
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"stripesync_accounts_pushed_total", "stripesync_accounts_skipped_total", "stripesync_accounts_failed_total"); err != nil {
		t.Error(err)
	}
}

// TestEventIgnored: the series shows from the start at 0, so that an
// alert on its rate has data before the first ignored event.
func TestEventIgnored(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	want := func(n string) string {
		return `
# HELP stripesync_events_ignored_total Stripe webhook events acknowledged but neither stored nor applied, by reason (other_account: an event of another Stripe account than STRIPE_ACCOUNT, the platform's included).
# TYPE stripesync_events_ignored_total counter
stripesync_events_ignored_total{reason="other_account"} ` + n + "\n"
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want("0")), "stripesync_events_ignored_total"); err != nil {
		t.Error(err)
	}
	m.EventIgnored(metrics.IgnoredOtherAccount)
	m.EventIgnored(metrics.IgnoredOtherAccount)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want("2")), "stripesync_events_ignored_total"); err != nil {
		t.Error(err)
	}
}

func TestRunFinished(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.RunFinished("accounts", "succeeded", 2*time.Second)
	m.RunFinished("accounts", "succeeded", 40*time.Second)
	m.RunFinished("payments", "failed", 200*time.Millisecond)

	want := `
# HELP stripesync_sync_runs_total Finished sync runs, by job and final status.
# TYPE stripesync_sync_runs_total counter
stripesync_sync_runs_total{job="accounts",status="succeeded"} 2
stripesync_sync_runs_total{job="payments",status="failed"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "stripesync_sync_runs_total"); err != nil {
		t.Error(err)
	}
	// Two histogram series (accounts/succeeded, payments/failed); the
	// accounts runs land in the buckets around 2 s and 40 s.
	if got := testutil.CollectAndCount(reg, "stripesync_sync_run_duration_seconds"); got != 2 {
		t.Errorf("duration series = %d, want 2", got)
	}
	body := scrape(t, reg)
	for _, line := range []string{
		`stripesync_sync_run_duration_seconds_bucket{job="accounts",status="succeeded",le="1"} 0`,
		`stripesync_sync_run_duration_seconds_bucket{job="accounts",status="succeeded",le="5"} 1`,
		`stripesync_sync_run_duration_seconds_bucket{job="accounts",status="succeeded",le="60"} 2`,
		`stripesync_sync_run_duration_seconds_sum{job="accounts",status="succeeded"} 42`,
		`stripesync_sync_run_duration_seconds_count{job="payments",status="failed"} 1`,
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("scrape lacks %q", line)
		}
	}
}

func TestHandlerServesRuntimeMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics.New(reg)
	body := scrape(t, reg)
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		if !strings.Contains(body, "\n"+name+" ") {
			t.Errorf("scrape lacks %s", name)
		}
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *metrics.Metrics
	// Must not panic: commands without a metrics endpoint pass nil.
	m.OnCall("stripe")("ok", 200)
	m.AccountsHandled(1, 2, 3)
	m.RunFinished("accounts", "succeeded", time.Second)
	m.Pruned("events", 1)
	m.EventIgnored(metrics.IgnoredOtherAccount)
}

// scrape fetches the exposition text over real HTTP from Handler.
func scrape(t *testing.T, g prometheus.Gatherer) string {
	t.Helper()
	srv := httptest.NewServer(metrics.Handler(g))
	t.Cleanup(srv.Close)
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d: %s", res.StatusCode, b)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain exposition", ct)
	}
	return string(b)
}

func TestFailureCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.FailureCounted(stripesync.FailureAutoPay, "insufficient_funds")
	m.FailureCounted(stripesync.FailureAutoPay, "insufficient_funds")
	m.FailureCounted(stripesync.FailureACHReturn, "R01")
	want := `
# HELP stripesync_payment_failures_total Entries of the failure inbox, counted once each when the ops digest reports them, by source (pay page, staff, auto-pay, ACH return, verification, customer, write-back) and Stripe code.
# TYPE stripesync_payment_failures_total counter
stripesync_payment_failures_total{code="R01",source="ACH return"} 1
stripesync_payment_failures_total{code="insufficient_funds",source="auto-pay"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "stripesync_payment_failures_total"); err != nil {
		t.Error(err)
	}
}
