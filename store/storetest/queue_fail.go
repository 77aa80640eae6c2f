package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
)

// testQueueFailRetriesThenDeadLetters: Fail schedules a retry, keeping the
// error, until MaxAttempts; then the job is a dead letter that holds its key
// until it is discarded.
func testQueueFailRetriesThenDeadLetters(t *testing.T, setup setupFunc) {
	db, clock := setup(t)
	ctx := t.Context()
	enqueue(t, db, stripesync.Job{Kind: "k", Key: "flaky", MaxAttempts: 3})
	var id int64
	for attempt := 1; attempt <= 3; attempt++ {
		_, jobs := claim(t, db, "k", 10)
		if len(jobs) != 1 || jobs[0].Attempts != attempt {
			t.Fatalf("Claim on attempt %d = %+v, want the job with Attempts %d", attempt, jobs, attempt)
		}
		id = jobs[0].ID
		if attempt > 1 && jobs[0].LastError != fmt.Sprintf("boom %d", attempt-1) {
			t.Errorf("LastError on attempt %d = %q, want the previous failure", attempt, jobs[0].LastError)
		}
		if err := db.Fail(ctx, id, fmt.Errorf("boom %d", attempt), clock.Now().Add(time.Minute)); err != nil {
			t.Fatalf("Fail: %v", err)
		}
		if keys, _ := claim(t, db, "k", 10); len(keys) != 0 {
			t.Errorf("Claim before retryAt (attempt %d) = %v, want nothing", attempt, keys)
		}
		clock.Advance(time.Minute)
	}
	clock.Advance(time.Hour)
	if keys, _ := claim(t, db, "k", 10); len(keys) != 0 {
		t.Errorf("Claim of a dead letter = %v, want nothing", keys)
	}
	dead, err := db.DeadJobs(ctx, "k", 10)
	if err != nil {
		t.Fatalf("DeadJobs: %v", err)
	}
	if len(dead) != 1 || dead[0].ID != id || !dead[0].Dead || dead[0].Attempts != 3 || dead[0].LastError != "boom 3" {
		t.Fatalf("DeadJobs = %+v, want job %d, dead after 3 attempts with LastError boom 3", dead, id)
	}
	wantCode(t, "Fail of a dead job", db.Fail(ctx, id, errors.New("again"), time.Time{}), stripesync.ENOTFOUND)
	// A dead letter keeps its key until it is discarded.
	if ok, _ := db.Enqueue(ctx, stripesync.Job{Kind: "k", Key: "flaky"}); ok {
		t.Errorf("Enqueue over a dead letter's key = true, want false")
	}
	if err := db.Complete(ctx, id); err != nil {
		t.Fatalf("Complete of a dead letter: %v", err)
	}
	if dead, _ := db.DeadJobs(ctx, "k", 10); len(dead) != 0 {
		t.Errorf("DeadJobs after discarding = %+v, want none", dead)
	}
}

// testQueueExpiredFinalLeaseDeadLetters: a worker that dies on the last
// attempt leaves a dead letter saying the lease ran out, not a job that is
// claimed forever.
func testQueueExpiredFinalLeaseDeadLetters(t *testing.T, setup setupFunc) {
	db, clock := setup(t)
	ctx := t.Context()
	enqueue(t, db, stripesync.Job{Kind: "k", Key: "crasher", MaxAttempts: 1})
	claim(t, db, "k", 1)
	clock.Advance(lease)
	if keys, _ := claim(t, db, "k", 10); len(keys) != 0 {
		t.Errorf("Claim after the final attempt's lease = %v, want nothing", keys)
	}
	dead, err := db.DeadJobs(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Key != "crasher" || !strings.Contains(dead[0].LastError, "lease") {
		t.Errorf("DeadJobs = %+v, want the crasher with a lease error", dead)
	}
}

// testQueueFailDefaultsAndLongErrors: Fail takes whatever a worker gives it
// (no retry time, a huge, invalid or nil error); unknown ids are ENOTFOUND.
func testQueueFailDefaultsAndLongErrors(t *testing.T, setup setupFunc) {
	db, clock := setup(t)
	ctx := t.Context()
	enqueue(t, db, stripesync.Job{Kind: "k", Key: "a"})
	_, jobs := claim(t, db, "k", 1)
	// A zero retryAt retries now; an oversized or invalid UTF-8 error is
	// clipped rather than refused.
	long := strings.Repeat("é", 5000)
	if err := db.Fail(ctx, jobs[0].ID, errors.New(long), time.Time{}); err != nil {
		t.Fatalf("Fail: %v", err)
	}
	_, again := claim(t, db, "k", 1)
	if len(again) != 1 || !again[0].RunAt.Equal(stored(clock.Now())) {
		t.Fatalf("Claim after Fail(retryAt zero) = %+v, want the job due now", again)
	}
	if n := len(again[0].LastError); n == 0 || n > 2000 || !strings.HasPrefix(again[0].LastError, "éé") {
		t.Errorf("LastError after a 10 kB error has %d bytes, want a non-empty prefix of at most 2000", n)
	}
	if err := db.Fail(ctx, again[0].ID, errors.New("bad \xff\x00 bytes"), time.Time{}); err != nil {
		t.Fatalf("Fail with invalid UTF-8: %v", err)
	}
	_, again = claim(t, db, "k", 1)
	if len(again) != 1 || again[0].LastError != "bad  bytes" {
		t.Fatalf("Claim after an invalid UTF-8 error = %+v, want LastError %q", again, "bad  bytes")
	}
	if err := db.Fail(ctx, again[0].ID, nil, time.Time{}); err != nil {
		t.Errorf("Fail with a nil cause: %v", err)
	}
	wantCode(t, "Fail of a missing job", db.Fail(ctx, 987654, errors.New("x"), time.Time{}), stripesync.ENOTFOUND)
	wantCode(t, "Complete of a missing job", db.Complete(ctx, 987654), stripesync.ENOTFOUND)
}

// testQueueDeadJobsOrderAndFilter: DeadJobs lists the newest first, of one
// kind when given one, up to a limit (0: all).
func testQueueDeadJobsOrderAndFilter(t *testing.T, setup setupFunc) {
	db, _ := setup(t)
	ctx := t.Context()
	for _, j := range []stripesync.Job{{Kind: "a", Key: "1"}, {Kind: "b", Key: "2"}, {Kind: "a", Key: "3"}, {Kind: "a", Key: "live"}} {
		j.MaxAttempts = 1
		enqueue(t, db, j)
	}
	for _, kind := range []string{"a", "b"} {
		_, jobs := claim(t, db, kind, 10)
		for _, j := range jobs {
			if j.Key == "live" {
				continue
			}
			if err := db.Fail(ctx, j.ID, errors.New("no"), time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		kind  string
		limit int
		want  []string
	}{
		{"", 10, []string{"3", "2", "1"}},
		{"a", 0, []string{"3", "1"}},
		{"a", 1, []string{"3"}},
		{"c", 10, nil},
	} {
		dead, err := db.DeadJobs(ctx, tc.kind, tc.limit)
		if err != nil {
			t.Fatalf("DeadJobs(%q, %d): %v", tc.kind, tc.limit, err)
		}
		var got []string
		for _, j := range dead {
			got = append(got, j.Key)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("DeadJobs(%q, %d) keys (-want +got):\n%s", tc.kind, tc.limit, diff)
		}
	}
}
