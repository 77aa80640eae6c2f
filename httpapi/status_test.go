package httpapi_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/store/storetest"
)

// TestStatusRoute reads the status report of a real SQLite ledger over
// HTTP: the last runs, a queue with a dead letter, the open failures;
// without a token it is 401.
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
	if _, err := db.Enqueue(ctx, stripesync.Job{Kind: stripesync.JobSendReceipt, Key: "pi_1", MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}
	jobs, err := db.Claim(ctx, stripesync.JobSendReceipt, 1, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatal(jobs, err)
	}
	if err := db.Fail(ctx, jobs[0].ID, errors.New("mail down"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordFailure(ctx, stripesync.Failure{Key: "payment:pi_2", Source: stripesync.FailurePayPage, Created: now}); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, httpapi.Config{Staff: staffAuth, Status: &httpapi.StatusConfig{
		Read: db.OpsStatus, Version: "v1.2.3", Started: now.Add(-time.Hour), Now: func() time.Time { return now },
	}})
	if res := call(t, srv.URL, "GET", "/v1/status", "", ""); res.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", res.status)
	}
	res := call(t, srv.URL, "GET", "/v1/status", "Bearer "+staffToken, "")
	if res.status != http.StatusOK || res.body["version"] != "v1.2.3" || res.body["uptime_seconds"] != float64(3600) || res.body["failures_open"] != float64(1) {
		t.Fatalf("status: %d %s", res.status, res.raw)
	}
	runs := res.body["runs"].([]any)
	if len(runs) != 1 || runs[0].(map[string]any)["kind"] != "payments" || runs[0].(map[string]any)["duration_seconds"] != float64(10) ||
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
}
