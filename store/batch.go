package store

import (
	"context"
	"sync"
	"time"

	"github.com/stripesync/stripesync"
)

// batchTimeout bounds one group commit. The batch belongs to many callers,
// so no caller's context governs it.
const batchTimeout = 30 * time.Second

// maxLinger bounds how long a batch waits for requests expected to arrive;
// see batcher.
const maxLinger = 2 * time.Millisecond

// errClosed answers a request made after Close.
var errClosed = stripesync.Errorf(stripesync.EUNAVAILABLE, "store: the database is closed")

// batcher commits concurrent requests together (group commit). One
// committer goroutine takes the first waiting request, adds every other
// request already waiting, up to max, hands them to commit as one batch and
// answers each caller with its own result, or every caller with commit's
// error. The cost of a commit (an fsync) is shared by everyone in it.
//
// A lone request is committed at once. A batch smaller than the requests
// that were in flight at the last commit (its callers, who often send again
// as soon as they are answered, plus those already waiting) lingers for the
// missing ones, but never longer than the last commit took, nor maxLinger:
// without it, a few senders that each wait for their answer split into two
// cohorts that alternate, each waiting for the other's commit, at twice the
// commits per event. When fewer requests come back, one batch lingers and
// the expectation falls to what arrived.
type batcher[Req, Res any] struct {
	max int
	// commit stores reqs durably in one transaction and returns one result
	// per request, index-aligned. It must not keep reqs.
	commit func(ctx context.Context, reqs []Req) ([]Res, error)

	// mu is held shared while sending to queue and exclusively to close
	// it, so no request is sent to a closed queue.
	mu     sync.RWMutex
	closed bool
	queue  chan *call[Req, Res]
	done   chan struct{} // closed when the committer has exited
}

type call[Req, Res any] struct {
	req  Req
	res  Res
	err  error
	done chan struct{}
}

func newBatcher[Req, Res any](max int, commit func(context.Context, []Req) ([]Res, error)) *batcher[Req, Res] {
	b := &batcher[Req, Res]{
		max:    max,
		commit: commit,
		// A buffer of one batch lets callers queue up while the
		// committer is busy, without a handoff per request.
		queue: make(chan *call[Req, Res], max),
		done:  make(chan struct{}),
	}
	go b.run()
	return b
}

// do submits req and waits until its batch is committed. When ctx ends
// first, do returns at once with ctx's error, but a request already queued
// stays in its batch and may still be committed: the caller must treat the
// outcome as unknown, as it would a lost response.
func (b *batcher[Req, Res]) do(ctx context.Context, req Req) (Res, error) {
	c := &call[Req, Res]{req: req, done: make(chan struct{})}
	var zero Res
	if err := b.submit(ctx, c); err != nil {
		return zero, err
	}
	select {
	case <-c.done:
		return c.res, c.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

func (b *batcher[Req, Res]) submit(ctx context.Context, c *call[Req, Res]) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return errClosed
	}
	select {
	case b.queue <- c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *batcher[Req, Res]) run() {
	defer close(b.done)
	batch := make([]*call[Req, Res], 0, b.max)
	reqs := make([]Req, 0, b.max)
	linger := time.NewTimer(maxLinger)
	linger.Stop()
	expect, lastCommit := 1, time.Duration(0)
	for first := range b.queue {
		batch = append(batch[:0], first)
		batch = b.fill(batch, nil)
		if want := min(expect, b.max); len(batch) < want && lastCommit > 0 {
			linger.Reset(min(lastCommit, maxLinger))
			for len(batch) < want {
				n := len(batch)
				if batch = b.fill(batch, linger.C); len(batch) == n {
					break // the linger ended, or the queue was closed
				}
			}
			linger.Stop()
		}
		reqs = reqs[:0]
		for _, c := range batch {
			reqs = append(reqs, c.req)
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		res, err := b.commit(ctx, reqs)
		cancel()
		lastCommit = time.Since(start)
		// The callers answered now and those already waiting are the
		// requests in flight: callers that send again once answered (a
		// sender with a few connections) are back within a round trip.
		expect = len(batch) + len(b.queue)
		for i, c := range batch {
			if err != nil {
				c.err = err
			} else {
				c.res = res[i]
			}
			close(c.done)
		}
		clear(batch)
		clear(reqs)
	}
}

// fill adds the requests waiting in the queue to batch, up to max. With a
// nil until it takes only those already there; otherwise it waits for one
// more first, until until fires or the queue is closed.
func (b *batcher[Req, Res]) fill(batch []*call[Req, Res], until <-chan time.Time) []*call[Req, Res] {
	if until != nil {
		select {
		case c, ok := <-b.queue:
			if !ok {
				return batch
			}
			batch = append(batch, c)
		case <-until:
			return batch
		}
	}
	for len(batch) < b.max {
		select {
		case c, ok := <-b.queue:
			if !ok {
				return batch
			}
			batch = append(batch, c)
		default:
			return batch
		}
	}
	return batch
}

// close stops taking requests, commits every request already queued and
// waits for the committer to exit. Requests made afterwards fail with
// EUNAVAILABLE. It is safe to call more than once.
func (b *batcher[Req, Res]) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	<-b.done
}
