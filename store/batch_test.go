package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
)

// TestBatcherGroupsWaitingRequests holds the first commit open while more
// requests arrive: the next batch holds those already waiting, up to max,
// each caller gets its own result, and a lone request is committed
// without waiting.
func TestBatcherGroupsWaitingRequests(t *testing.T) {
	release := make(chan struct{})
	var (
		mu      sync.Mutex
		batches [][]int
	)
	b := newBatcher(3, func(_ context.Context, reqs []int) ([]int, error) {
		mu.Lock()
		batches = append(batches, append([]int(nil), reqs...))
		first := len(batches) == 1
		mu.Unlock()
		if first {
			<-release
		}
		res := make([]int, len(reqs))
		for i, r := range reqs {
			res[i] = r * 10
		}
		return res, nil
	})
	defer b.close()
	ctx := t.Context()

	var wg sync.WaitGroup
	results := make([]int, 5)
	call := func(i int) {
		res, err := b.do(ctx, i)
		if err != nil {
			t.Errorf("do(%d): %v", i, err)
		}
		results[i] = res
	}
	wg.Go(func() { call(0) })
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(batches) == 1 })
	// Three requests queue up behind the open commit, in order; a fourth
	// waits to be queued. The next batch is the three (at most max), the
	// fourth goes in the one after.
	for i := 1; i <= 3; i++ {
		wg.Go(func() { call(i) })
		waitFor(t, func() bool { return len(b.queue) == i })
	}
	wg.Go(func() { call(4) })
	close(release)
	wg.Wait()
	if diff := cmp.Diff([][]int{{0}, {1, 2, 3}, {4}}, batches); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{0, 10, 20, 30, 40}, results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}

	// A lone request is committed at once: no batching delay.
	begin := time.Now()
	if res, err := b.do(ctx, 9); err != nil || res != 90 {
		t.Errorf("do(9) = %d, %v; want 90, nil", res, err)
	}
	if d := time.Since(begin); d > time.Second {
		t.Errorf("a lone request took %v", d)
	}
}

// TestBatcherErrorsAndClose: a commit error fails every caller of the
// batch, a caller whose context ends stops waiting, and after close
// requests fail with EUNAVAILABLE.
func TestBatcherErrorsAndClose(t *testing.T) {
	boom := errors.New("disk full")
	release := make(chan struct{})
	committed := make(chan []string, 10)
	b := newBatcher(8, func(_ context.Context, reqs []string) ([]bool, error) {
		committed <- append([]string(nil), reqs...)
		if reqs[0] == "slow" {
			<-release
		}
		if reqs[0] == "fail" {
			return nil, boom
		}
		return make([]bool, len(reqs)), nil
	})
	if _, err := b.do(t.Context(), "fail"); !errors.Is(err, boom) {
		t.Errorf("do in a failing batch = %v, want %v", err, boom)
	}
	<-committed

	// The caller gives up; its request is still committed.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := b.do(ctx, "slow")
		done <- err
	}()
	<-committed
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("do after its context ended = %v, want context.Canceled", err)
	}
	queued := make(chan error)
	go func() {
		_, err := b.do(t.Context(), "queued")
		queued <- err
	}()
	waitFor(t, func() bool { return len(b.queue) == 1 })
	closed := make(chan struct{})
	go func() { b.close(); close(closed) }()
	close(release)
	<-closed
	// close committed what was queued before it returned.
	if err := <-queued; err != nil {
		t.Errorf("a request queued before close = %v, want committed", err)
	}
	if got := <-committed; len(got) != 1 || got[0] != "queued" {
		t.Errorf("last batch = %v, want [queued]", got)
	}
	_, err := b.do(t.Context(), "late")
	if stripesync.CodeOf(err) != stripesync.EUNAVAILABLE {
		t.Errorf("do after close = %v, want EUNAVAILABLE", err)
	}
	b.close() // twice is fine
}

// waitFor polls cond, which becomes true through other goroutines.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
