package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
)

// DeadLetter makes a dead letter of kind with key: a job enqueued with one
// attempt, claimed and failed with cause, as a worker leaves it. It
// returns the job as claimed.
func DeadLetter(t testing.TB, db *store.DB, kind, key, cause string) stripesync.Job {
	t.Helper()
	ctx := t.Context()
	if ok, err := db.Enqueue(ctx, stripesync.Job{Kind: kind, Key: key, MaxAttempts: 1}); err != nil || !ok {
		t.Fatalf("Enqueue(%s/%s) = %v, %v; want true, nil", kind, key, ok, err)
	}
	jobs, err := db.Claim(ctx, kind, 1, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Claim(%s) = %v, %v; want the job", kind, jobs, err)
	}
	if err := db.Fail(ctx, jobs[0].ID, errors.New(cause), time.Time{}); err != nil {
		t.Fatalf("Fail(%d): %v", jobs[0].ID, err)
	}
	return jobs[0]
}
