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

// errClosed answers a request made after Close.
var errClosed = stripesync.Errorf(stripesync.EUNAVAILABLE, "store: the database is closed")

// batcher commits concurrent requests together (group commit). One
// committer goroutine takes the first waiting request, adds every other
// request already waiting, up to max, hands them to commit as one batch and
// answers each caller with its own result, or every caller with commit's
// error. There is no batching delay: a lone request is committed at once
// and a batch closes as soon as no request is waiting, so batches grow only
// when callers arrive faster than commits complete, and the cost of a
// commit (an fsync) is shared by everyone who waited for it.
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
	for first := range b.queue {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < b.max {
			select {
			case c, ok := <-b.queue:
				if !ok {
					break fill
				}
				batch = append(batch, c)
			default:
				break fill
			}
		}
		reqs = reqs[:0]
		for _, c := range batch {
			reqs = append(reqs, c.req)
		}
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		res, err := b.commit(ctx, reqs)
		cancel()
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
