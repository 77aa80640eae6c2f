package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
)

// testQueueDeadLetters checks what a person can do with dead letters:
// retry one (due again, attempts counted afresh), retry all of a kind, drop
// one; a live job is neither revived nor dropped.
func testQueueDeadLetters(t *testing.T, setup setupFunc) {
	db, _ := setup(t)
	ctx := t.Context()
	for _, j := range []stripesync.Job{{Kind: "a", Key: "1"}, {Kind: "a", Key: "2"}, {Kind: "b", Key: "3"}, {Kind: "b", Key: "live"}} {
		j.MaxAttempts = 1
		enqueue(t, db, j)
	}
	ids := map[string]int64{}
	for _, kind := range []string{"a", "b"} {
		_, jobs := claim(t, db, kind, 10)
		for _, j := range jobs {
			ids[j.Key] = j.ID
			if j.Key == "live" {
				continue
			}
			if err := db.Fail(ctx, j.ID, errors.New("the CRM refused"), time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.ReviveJob(ctx, ids["1"]); err != nil {
		t.Fatal(err)
	}
	if _, jobs := claim(t, db, "a", 10); len(jobs) != 1 || jobs[0].Key != "1" || jobs[0].Attempts != 1 {
		t.Errorf("after the retry, claimed %+v; want job 1 on its first attempt again", jobs)
	}
	if n, err := db.ReviveJobs(ctx, "b"); err != nil || n != 1 {
		t.Errorf("retry --all b: %d, %v; want the one dead b", n, err)
	}
	if err := db.DropJob(ctx, ids["2"]); err != nil {
		t.Fatal(err)
	}
	if dead, err := db.DeadJobs(ctx, "", 10); err != nil || len(dead) != 0 {
		t.Errorf("dead letters left: %+v, %v", dead, err)
	}
	for name, err := range map[string]error{
		"revive a live job": db.ReviveJob(ctx, ids["live"]),
		"drop a live job":   db.DropJob(ctx, ids["live"]),
		"drop a dropped":    db.DropJob(ctx, ids["2"]),
	} {
		if stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("%s: %v, want ENOTFOUND", name, err)
		}
	}
	if _, err := db.ReviveJobs(ctx, ""); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("retry --all without a kind: %v, want EINVALID", err)
	}
}
