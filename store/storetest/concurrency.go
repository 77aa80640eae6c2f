package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
)

// testConcurrency has 16 goroutines use every kind of call at once. On
// SQLite this is the proof that the pool setup never surfaces SQLITE_BUSY.
func testConcurrency(t *testing.T, setup setupFunc) {
	db, _ := setup(t)
	ctx := t.Context()
	const goroutines, rounds = 16, 10
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			kind := fmt.Sprintf("kind-%d", g%4)
			for r := range rounds {
				id := fmt.Sprintf("001-%02d-%02d", g, r)
				check := func(what string, err error) {
					if err != nil {
						t.Errorf("goroutine %d round %d: %s: %v", g, r, what, err)
					}
				}
				check("SaveAccountLink", db.SaveAccountLink(ctx, stripesync.AccountLink{
					CRMID: id, Policy: stripesync.PolicyCreate, State: stripesync.LinkBound, Version: int64(r)}))
				links, err := db.AccountLinks(ctx, []string{id})
				check("AccountLinks", err)
				if links[id].Version != int64(r) {
					t.Errorf("goroutine %d: link %s not read back", g, id)
				}
				_, err = db.CountAccountLinks(ctx)
				check("CountAccountLinks", err)
				check("SetCursor", db.SetCursor(ctx, kind, start.Add(time.Duration(r)*time.Second)))
				_, err = db.Cursor(ctx, kind)
				check("Cursor", err)
				_, err = db.Enqueue(ctx, stripesync.Job{Kind: kind, Key: id})
				check("Enqueue", err)
				jobs, err := db.Claim(ctx, kind, 2, lease)
				check("Claim", err)
				for _, j := range jobs {
					check("Complete", db.Complete(ctx, j.ID))
				}
				run, err := db.StartRun(ctx, kind, time.Time{})
				check("StartRun", err)
				run.Status = stripesync.RunSucceeded
				check("FinishRun", db.FinishRun(ctx, run))
				_, err = db.ClaimTick(ctx, kind, start.Add(time.Duration(r)*time.Minute))
				check("ClaimTick", err)
			}
		})
	}
	wg.Wait()
	counts, err := db.CountAccountLinks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := counts[stripesync.LinkBound]; n != goroutines*rounds {
		t.Errorf("%d bound links after the run, want %d", n, goroutines*rounds)
	}
}
