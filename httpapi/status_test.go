package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/store/storetest"
)

// TestStatusRoute reads the status report of a real SQLite ledger over
// HTTP: the last runs, a queue with a dead letter listed with its error,
// the open failures, the jobs with their next runs or queues, the last
// reconcile's drift and the process's API traffic; without a token it is
// 401.
func TestStatusRoute(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := t.Context()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	run, err := db.StartRun(ctx, "payments", now.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	run.Status, run.FinishedAt, run.Seen = stripesync.RunSucceeded, now.Add(-50*time.Second), 12
	if err := db.FinishRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	rec, err := db.StartRun(ctx, stripesync.RunKindReconcile, now.Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rec.Status, rec.FinishedAt, rec.Seen, rec.Failed, rec.Pushed = stripesync.RunPartial, now.Add(-time.Hour), 40, 2, 1
	if err := db.FinishRun(ctx, rec); err != nil {
		t.Fatal(err)
	}
	dead := storetest.DeadLetter(t, db, stripesync.JobSendReceipt, "pi_1", "mail down")
	if _, err := db.RecordFailure(ctx, stripesync.Failure{Key: "payment:pi_2", Source: stripesync.FailurePayPage, Created: now}); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, httpapi.Config{Staff: staffAuth, Status: &httpapi.StatusConfig{
		Read: func(ctx context.Context) (stripesync.OpsStatus, error) {
			st, err := db.OpsStatus(ctx)
			st.NextRuns = map[string]time.Time{"payments": now.Add(4 * time.Minute), "accounts": now.Add(time.Hour)}
			st.Stripe = stripesync.StripeTraffic{Window: time.Minute, Requests: 120, RateLimited: 3, RateLimitedEver: 7, PacingLimit: 12.5, PacingMax: 25}
			st.Salesforce = stripesync.APIUsage{Used: 8500, Allocation: 10000}
			return st, err
		},
		Version: "v1.2.3", Started: now.Add(-time.Hour), Now: func() time.Time { return now },
	}})
	if res := call(t, srv.URL, "GET", "/v1/status", "", ""); res.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", res.status)
	}
	res := call(t, srv.URL, "GET", "/v1/status", "Bearer "+staffToken, "")
	if res.status != http.StatusOK || res.body["version"] != "v1.2.3" || res.body["uptime_seconds"] != float64(3600) || res.body["failures_open"] != float64(1) {
		t.Fatalf("status: %d %s", res.status, res.raw)
	}
	runs := res.body["runs"].([]any)
	if len(runs) != 2 || runs[0].(map[string]any)["kind"] != "payments" || runs[0].(map[string]any)["duration_seconds"] != float64(10) ||
		runs[0].(map[string]any)["seen"] != float64(12) {
		t.Errorf("runs %v", runs)
	}
	queues := res.body["queues"].([]any)
	if len(queues) != 1 || queues[0].(map[string]any)["kind"] != stripesync.JobSendReceipt || queues[0].(map[string]any)["dead"] != float64(1) ||
		queues[0].(map[string]any)["waiting"] != float64(0) {
		t.Errorf("queues %v", queues)
	}
	if inbox := res.body["inbox"].(map[string]any); inbox["events"] != float64(0) || inbox["dead_events"] != float64(0) {
		t.Errorf("inbox %v", inbox)
	}
	dl := res.body["dead_letters"].(map[string]any)
	newest := dl["newest"].([]any)
	if dl["count"] != float64(1) || len(newest) != 1 || newest[0].(map[string]any)["last_error"] != "mail down" ||
		newest[0].(map[string]any)["attempts"] != float64(1) || newest[0].(map[string]any)["id"] != float64(dead.ID) {
		t.Errorf("dead letters %v", dl)
	}
	byName := map[string]map[string]any{}
	for _, j := range res.body["jobs"].([]any) {
		byName[j.(map[string]any)["name"].(string)] = j.(map[string]any)
	}
	if p := byName["payments"]; p["next_run_at"] != "2026-12-03T09:04:00Z" || p["last_run"].(map[string]any)["seen"] != float64(12) {
		t.Errorf("payments job %v", p)
	}
	if r := byName["receipts"]; r["event_driven"] != true || r["next_run_at"] != nil || r["dead"] != float64(1) {
		t.Errorf("receipts job %v, want event-driven with its dead letter and no next run", r)
	}
	if _, ok := byName["autopay"]; ok {
		t.Errorf("auto-pay listed though it neither ran nor is scheduled: %v", byName["autopay"])
	}
	if r := res.body["reconcile"].(map[string]any); r["drift"] != float64(2) || r["compared"] != float64(40) || r["repaired"] != float64(1) {
		t.Errorf("reconcile %v", r)
	}
	if s := res.body["stripe"].(map[string]any); s["requests_per_second"] != float64(2) || s["rate_limited"] != float64(3) ||
		s["rate_limited_total"] != float64(7) || s["pacing_limit_per_second"] != 12.5 {
		t.Errorf("stripe %v", s)
	}
	if sf := res.body["salesforce"].(map[string]any); sf["api_used"] != float64(8500) || sf["api_fraction"] != 0.85 {
		t.Errorf("salesforce %v", sf)
	}
}
