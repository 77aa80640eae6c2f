package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
)

// TestJobsCLI lists, retries and drops dead letters with the binary, on a
// ledger where two write-backs died.
func TestJobsCLI(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
	db, err := store.Open(t.Context(), dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"pi_1", "pi_2"} {
		if _, err := db.Enqueue(t.Context(), stripesync.Job{Kind: stripesync.JobCRMPayment, Key: key, Payload: []byte(`{"id":"` + key + `"}`), MaxAttempts: 1}); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := db.Claim(t.Context(), stripesync.JobCRMPayment, 10, time.Minute)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("claim: %v, %v", jobs, err)
	}
	for _, j := range jobs {
		if err := db.Fail(t.Context(), j.ID, errors.New("INVALID_FIELD: Amount__c"), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	jobsCmd := func(args ...string) (string, error) {
		cmd := exec.CommandContext(t.Context(), binary, append([]string{"jobs"}, args...)...)
		cmd.Env = []string{"HOME=" + t.TempDir(), "STRIPESYNC_DATABASE_URL=" + dbURL, "STRIPESYNC_LOG_FORMAT=text"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := jobsCmd("list")
	if err != nil || strings.Count(out, "crm.payment") != 2 || !strings.Contains(out, "INVALID_FIELD: Amount__c") {
		t.Fatalf("jobs list: %v\n%s", err, out)
	}
	first := strconv.FormatInt(jobs[0].ID, 10)
	if out, err := jobsCmd("retry", first); err != nil || !strings.Contains(out, "back in the queue") {
		t.Errorf("jobs retry: %v\n%s", err, out)
	}
	if out, err := jobsCmd("drop", strconv.FormatInt(jobs[1].ID, 10)); err != nil || !strings.Contains(out, "dropped") {
		t.Errorf("jobs drop: %v\n%s", err, out)
	}
	if out, _ := jobsCmd("list"); strings.Contains(out, "crm.payment") {
		t.Errorf("dead letters left:\n%s", out)
	}
	// A job that is not a dead letter is neither retried nor dropped.
	out, err = jobsCmd("drop", first)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out, "does not exist") {
		t.Errorf("dropping a live job: %v\n%s", err, out)
	}
	if out, err = jobsCmd("retry"); !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Errorf("jobs retry without an id: %v\n%s", err, out)
	}
}

// TestStatusOfServe reads GET /v1/status from the serve binary with a
// staff token: the account push the world ran is its last accounts run,
// the payment pull's next run is the next quarter hour from the daemon's
// scheduler, and the Stripe pacing limit is test mode's.
func TestStatusOfServe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the serve binary")
	}
	w := newStaffWorld(t, false, "INV-8001", "10.00")
	req, _ := http.NewRequestWithContext(t.Context(), "GET", w.base+"/v1/status", nil)
	req.Header.Set("Authorization", "Bearer "+w.tokens["alice"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Version string `json:"version"`
		Runs    []struct {
			Kind   string `json:"kind"`
			Status string `json:"status"`
		} `json:"runs"`
		Inbox map[string]float64 `json:"inbox"`
		Jobs  []struct {
			Name      string    `json:"name"`
			NextRunAt time.Time `json:"next_run_at"`
		} `json:"jobs"`
		Stripe map[string]float64 `json:"stripe"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != http.StatusOK || st.Version == "" || st.Inbox == nil {
		t.Fatalf("status: %d %+v %v", resp.StatusCode, st, err)
	}
	kinds := map[string]string{}
	for _, r := range st.Runs {
		kinds[r.Kind] = r.Status
	}
	if kinds["accounts"] != string(stripesync.RunSucceeded) {
		t.Errorf("runs %+v, want the accounts push succeeded", st.Runs)
	}
	next := map[string]time.Time{}
	for _, j := range st.Jobs {
		next[j.Name] = j.NextRunAt
	}
	if p := next["payments"]; p.Before(time.Now()) || p.After(time.Now().Add(15*time.Minute)) || p.Unix()%(15*60) != 0 {
		t.Errorf("the payment pull's next run %v, want the next quarter hour", p)
	}
	if st.Stripe["pacing_max_per_second"] != 25 || st.Stripe["pacing_limit_per_second"] != 25 {
		t.Errorf("stripe %v, want test mode's 25 req/s", st.Stripe)
	}
}
