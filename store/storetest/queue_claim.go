package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
)

// testQueueCompleteSeveral: Complete takes several ids at once; one that is
// already done is reported as ENOTFOUND, and the others are completed still.
func testQueueCompleteSeveral(t *testing.T, setup setupFunc) {
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
}

// testQueueRoundTrip: a claimed job comes back as it was enqueued, its
// defaults filled in, overdue first, and is gone once completed.
func testQueueRoundTrip(t *testing.T, setup setupFunc) {
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
}

// testQueueEnqueueDedupe: a kind and key are queued once while a job with
// them waits or runs; a job without a key is never a duplicate.
func testQueueEnqueueDedupe(t *testing.T, setup setupFunc) {
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
}

// testQueueClaimRespectsRunAtAndOrder: Claim takes only due jobs of its
// kind, the earliest RunAt first.
func testQueueClaimRespectsRunAtAndOrder(t *testing.T, setup setupFunc) {
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
}

// testQueueLeaseExpiryReclaims: a claimed job is hidden for its lease, then
// claimed again as its next attempt, as when its worker died.
func testQueueLeaseExpiryReclaims(t *testing.T, setup setupFunc) {
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
}

// testQueueInvalid: Enqueue and Claim refuse arguments they cannot act on
// as EINVALID.
func testQueueInvalid(t *testing.T, setup setupFunc) {
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
}

// testQueueConcurrentClaimers: workers claiming at once never get one job
// twice, and together get every job.
func testQueueConcurrentClaimers(t *testing.T, setup setupFunc) {
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
}
