package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
)

const lease = time.Minute

// enqueue adds j and fails the test unless the store reports inserted.
func enqueue(t *testing.T, db *store.DB, j stripesync.Job) {
	t.Helper()
	ok, err := db.Enqueue(t.Context(), j)
	if err != nil || !ok {
		t.Fatalf("Enqueue(%s/%s) = %v, %v; want true, nil", j.Kind, j.Key, ok, err)
	}
}

// claim claims up to n jobs of kind and returns their keys in claim order.
func claim(t *testing.T, db *store.DB, kind string, n int) ([]string, []stripesync.Job) {
	t.Helper()
	jobs, err := db.Claim(t.Context(), kind, n, lease)
	if err != nil {
		t.Fatalf("Claim(%s, %d): %v", kind, n, err)
	}
	var keys []string
	for _, j := range jobs {
		keys = append(keys, j.Key)
	}
	return keys, jobs
}

func testQueue(t *testing.T, setup setupFunc) {
	t.Run("CompleteSeveral", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		for _, key := range []string{"a", "b", "c"} {
			enqueue(t, db, stripesync.Job{Kind: "crm-write", Key: key})
		}
		_, jobs := claim(t, db, "crm-write", 10)
		if len(jobs) != 3 {
			t.Fatalf("Claim returned %d jobs, want 3", len(jobs))
		}
		if err := db.Complete(ctx, jobs[0].ID, jobs[1].ID); err != nil {
			t.Fatalf("Complete of two: %v", err)
		}
		wantCode(t, "Complete of a done and a pending job", db.Complete(ctx, jobs[1].ID, jobs[2].ID), stripesync.ENOTFOUND)
		if err := db.Complete(ctx); err != nil {
			t.Errorf("Complete of none: %v", err)
		}
		clock.Advance(lease + time.Second)
		if keys, _ := claim(t, db, "crm-write", 10); len(keys) != 0 {
			t.Errorf("Claim after completing all three = %v, want nothing (the pending one went with the done one)", keys)
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		payload := []byte(`{"object":"Account","ids":["001A"],"note":"bytes kept as given"}`)
		enqueue(t, db, stripesync.Job{Kind: "crm-write", Key: "001A", Payload: payload})
		enqueue(t, db, stripesync.Job{Kind: "crm-write", Key: "001B", MaxAttempts: 3, RunAt: start.Add(-time.Second)})
		_, jobs := claim(t, db, "crm-write", 10)
		if len(jobs) != 2 {
			t.Fatalf("Claim returned %d jobs, want 2", len(jobs))
		}
		want := []stripesync.Job{
			{ID: jobs[0].ID, Kind: "crm-write", Key: "001B", Attempts: 1, MaxAttempts: 3,
				RunAt: stored(start.Add(-time.Second)), CreatedAt: stored(clock.Now())},
			{ID: jobs[1].ID, Kind: "crm-write", Key: "001A", Payload: payload, Attempts: 1,
				MaxAttempts: store.DefaultMaxAttempts, RunAt: stored(clock.Now()), CreatedAt: stored(clock.Now())},
		}
		if diff := cmp.Diff(want, jobs); diff != "" {
			t.Errorf("Claim (-want +got):\n%s", diff)
		}
		wantUTC(t, "job", jobs[0].RunAt, jobs[0].CreatedAt)
		for _, j := range jobs {
			if err := db.Complete(ctx, j.ID); err != nil {
				t.Errorf("Complete(%d): %v", j.ID, err)
			}
		}
		wantCode(t, "Complete of a completed job", db.Complete(ctx, jobs[0].ID), stripesync.ENOTFOUND)
		if keys, _ := claim(t, db, "crm-write", 10); len(keys) != 0 {
			t.Errorf("Claim after Complete = %v, want nothing", keys)
		}
	})

	t.Run("EnqueueDedupe", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		enqueue(t, db, stripesync.Job{Kind: "crm-write", Key: "001A", Payload: []byte(`"first"`)})
		ok, err := db.Enqueue(ctx, stripesync.Job{Kind: "crm-write", Key: "001A", Payload: []byte(`"second"`)})
		if err != nil || ok {
			t.Errorf("Enqueue of a duplicate (kind, key) = %v, %v; want false, nil", ok, err)
		}
		enqueue(t, db, stripesync.Job{Kind: "mail", Key: "001A"}) // same key, other kind
		enqueue(t, db, stripesync.Job{Kind: "crm-write"})         // no key: never a duplicate
		enqueue(t, db, stripesync.Job{Kind: "crm-write"})
		_, jobs := claim(t, db, "crm-write", 10)
		if len(jobs) != 3 || string(jobs[0].Payload) != `"first"` {
			t.Fatalf("Claim = %+v; want 3 jobs, the first with the first payload", jobs)
		}
		// While claimed the key still de-duplicates; once completed it is free.
		if ok, _ := db.Enqueue(ctx, stripesync.Job{Kind: "crm-write", Key: "001A"}); ok {
			t.Errorf("Enqueue while the job with that key runs = true, want false")
		}
		if err := db.Complete(ctx, jobs[0].ID); err != nil {
			t.Fatal(err)
		}
		enqueue(t, db, stripesync.Job{Kind: "crm-write", Key: "001A"})
	})

	t.Run("ClaimRespectsRunAtAndOrder", func(t *testing.T) {
		db, clock := setup(t)
		enqueue(t, db, stripesync.Job{Kind: "k", Key: "later", RunAt: start.Add(time.Hour)})
		enqueue(t, db, stripesync.Job{Kind: "k", Key: "now"})
		enqueue(t, db, stripesync.Job{Kind: "k", Key: "overdue", RunAt: start.Add(-time.Minute)})
		enqueue(t, db, stripesync.Job{Kind: "other", Key: "elsewhere"})
		// Each claimed job is completed, so that only RunAt decides.
		claimDone := func(n int) []string {
			t.Helper()
			keys, jobs := claim(t, db, "k", n)
			for _, j := range jobs {
				if err := db.Complete(t.Context(), j.ID); err != nil {
					t.Fatal(err)
				}
			}
			return keys
		}
		keys := claimDone(1)
		if diff := cmp.Diff([]string{"overdue"}, keys); diff != "" {
			t.Errorf("Claim(n=1) (-want +got):\n%s", diff)
		}
		keys = claimDone(10)
		if diff := cmp.Diff([]string{"now"}, keys); diff != "" {
			t.Errorf("Claim before RunAt of 'later' (-want +got):\n%s", diff)
		}
		clock.Advance(time.Hour)
		keys = claimDone(10)
		if diff := cmp.Diff([]string{"later"}, keys); diff != "" {
			t.Errorf("Claim at RunAt of 'later' (-want +got):\n%s", diff)
		}
	})

	t.Run("LeaseExpiryReclaims", func(t *testing.T) {
		db, clock := setup(t)
		enqueue(t, db, stripesync.Job{Kind: "k", Key: "a"})
		_, first := claim(t, db, "k", 10)
		if len(first) != 1 || first[0].Attempts != 1 {
			t.Fatalf("first Claim = %+v, want one job on attempt 1", first)
		}
		clock.Advance(lease - time.Second)
		if keys, _ := claim(t, db, "k", 10); len(keys) != 0 {
			t.Errorf("Claim during the lease = %v, want nothing", keys)
		}
		clock.Advance(time.Second)
		_, again := claim(t, db, "k", 10)
		if len(again) != 1 || again[0].ID != first[0].ID || again[0].Attempts != 2 {
			t.Errorf("Claim after the lease = %+v, want job %d on attempt 2", again, first[0].ID)
		}
	})

	t.Run("FailRetriesThenDeadLetters", func(t *testing.T) {
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
	})

	t.Run("ExpiredFinalLeaseDeadLetters", func(t *testing.T) {
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
	})

	t.Run("FailDefaultsAndLongErrors", func(t *testing.T) {
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
	})

	t.Run("DeadJobsOrderAndFilter", func(t *testing.T) {
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
	})

	t.Run("Invalid", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		_, err := db.Enqueue(ctx, stripesync.Job{Key: "x"})
		wantCode(t, "Enqueue with no kind", err, stripesync.EINVALID)
		_, err = db.Enqueue(ctx, stripesync.Job{Kind: "k", MaxAttempts: -1})
		wantCode(t, "Enqueue with negative MaxAttempts", err, stripesync.EINVALID)
		for _, tc := range []struct {
			kind  string
			n     int
			lease time.Duration
		}{{"", 1, lease}, {"k", 0, lease}, {"k", 1, 0}} {
			_, err := db.Claim(ctx, tc.kind, tc.n, tc.lease)
			wantCode(t, fmt.Sprintf("Claim(%q, %d, %s)", tc.kind, tc.n, tc.lease), err, stripesync.EINVALID)
		}
	})

	t.Run("ConcurrentClaimers", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		const jobs, workers = 120, 8
		for i := range jobs {
			enqueue(t, db, stripesync.Job{Kind: "k", Key: fmt.Sprint(i)})
		}
		var (
			mu      sync.Mutex
			claimed = map[int64]int{}
			wg      sync.WaitGroup
		)
		for range workers {
			wg.Go(func() {
				for {
					got, err := db.Claim(ctx, "k", 3, lease)
					if err != nil {
						t.Errorf("Claim: %v", err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, j := range got {
						claimed[j.ID]++
					}
					mu.Unlock()
					for _, j := range got {
						if err := db.Complete(ctx, j.ID); err != nil {
							t.Errorf("Complete(%d): %v", j.ID, err)
						}
					}
				}
			})
		}
		wg.Wait()
		if len(claimed) != jobs {
			t.Errorf("%d distinct jobs claimed, want %d", len(claimed), jobs)
		}
		for id, n := range claimed {
			if n != 1 {
				t.Errorf("job %d was claimed %d times", id, n)
			}
		}
	})
}
