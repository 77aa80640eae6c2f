package stripeclient

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// TestPacingStaysUnderTheLimit is a correctness check, not a benchmark:
// a client paced at 50 req/s against a Stripe allowing exactly 50 req/s
// must never be refused, and so must take about 2 s for 100 calls.
func TestPacingStaysUnderTheLimit(t *testing.T) {
	srv := stripetest.NewServer(t, stripetest.Options{RateLimit: 50})
	id := srv.CreateCustomer(stripetest.Customer{})
	c, _ := newClient(t, srv, Config{RatePerSecond: 50})

	const calls = 100
	errs := make(chan error, calls)
	start := time.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range calls / 8 {
				_, err := c.Customer(t.Context(), id)
				errs <- err
			}
		})
	}
	for range calls % 8 {
		_, err := c.Customer(t.Context(), id)
		errs <- err
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if elapsed < 1900*time.Millisecond {
		t.Errorf("%d calls took %v, want at least 1.9s at 50/s", calls, elapsed)
	}
	if st := srv.Stats(); st.RateLimited != 0 || st.Total != calls {
		t.Errorf("stats %+v: want %d requests and no 429", st, calls)
	}
}

// TestRateLimitedCallsAreRetried runs the client (25 req/s, test mode's
// default) against a Stripe that allows only 10: it gets 429s, slows down,
// retries, and every call succeeds exactly once.
func TestRateLimitedCallsAreRetried(t *testing.T) {
	t.Parallel()
	srv := stripetest.NewServer(t, stripetest.Options{RateLimit: 10})
	c, _ := newClient(t, srv, Config{MaxRetries: 10})

	const n = 30
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 6)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			cust := acme
			cust.CRMAccountID = fmt.Sprintf("001RATE%d", i)
			_, errs[i] = c.CreateCustomer(t.Context(), cust, "k-"+cust.CRMAccountID)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("create %d: %v", i, err)
		}
	}
	if got := len(srv.Customers()); got != n {
		t.Errorf("%d customers, want %d", got, n)
	}
	st := srv.Stats()
	if st.RateLimited == 0 {
		t.Errorf("stats %+v: want some 429s to prove the retries", st)
	}
	// The client's own count, which the status page shows, is what the
	// server saw.
	tr := c.Traffic()
	if tr.Requests != int64(st.Total) || tr.RateLimited != int64(st.RateLimited) || tr.RateLimitedEver != int64(st.RateLimited) {
		t.Errorf("traffic %+v, want the server's %d requests and %d 429s", tr, st.Total, st.RateLimited)
	}
	if tr.PacingMax != defaultTestRate || tr.PacingLimit <= 0 || tr.PacingLimit > tr.PacingMax {
		t.Errorf("pacing %v of %v req/s, want at most test mode's %v", tr.PacingLimit, tr.PacingMax, defaultTestRate)
	}
}

// TestTrafficForgetsAfterAMinute counts requests of the last minute only,
// while the 429s since the start stay.
func TestTrafficForgetsAfterAMinute(t *testing.T) {
	var tr traffic
	now := time.Unix(1_800_000_000, 0)
	tr.add(now.Add(-90*time.Second), true)
	tr.add(now.Add(-30*time.Second), false)
	tr.add(now.Add(-time.Second), true)
	tr.add(now, false)
	req, limited, ever := tr.read(now)
	if req != 3 || limited != 1 || ever != 2 {
		t.Errorf("read %d requests, %d 429s, %d ever; want 3, 1, 2", req, limited, ever)
	}
	// A minute on, only what came since counts, in reused buckets.
	tr.add(now.Add(-30*time.Second+time.Minute), false)
	if req, _, _ := tr.read(now.Add(time.Minute)); req != 1 {
		t.Errorf("a minute on, %d requests counted, want 1", req)
	}
}
