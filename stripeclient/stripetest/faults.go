package stripetest

import (
	"net/http"
	"time"
)

// Faults are failures injected into requests that pass authentication and
// the rate limiter. Each rate is a probability in [0, 1], drawn per request
// from the RNG seeded by Options.Seed.
type Faults struct {
	// Rate500 answers a JSON 500 api_error without running the request. The
	// idempotency layer saves it, as Stripe's does, so a retry with the same
	// key gets the same 500: the outcome must be found by other means.
	Rate500 float64
	// RateLostResponse runs the request, saves its response under its
	// idempotency key, then closes the connection without answering: the
	// write happened but the client cannot know.
	RateLostResponse float64
	// Rate503 answers 503 without running or saving anything.
	Rate503 float64
	// RateTimeout holds the request, without running it, until the client
	// gives up (or the server closes), then drops the connection.
	RateTimeout float64
	// WritesOnly limits the faults to POST and DELETE requests.
	WritesOnly bool
}

// fault is the one failure chosen for a request.
type fault int

const (
	faultNone fault = iota
	fault500
	faultLost
	fault503
	faultTimeout
)

// SetFaults replaces the fault configuration; it applies to requests that
// arrive afterwards.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// SetLatency sets how long each request takes to run. The time is spent
// after the idempotency key is reserved, so concurrent requests with one key
// see each other in flight, as in Stripe.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// rollFault draws the fault for one request.
func (s *Server) rollFault(method string) fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	if f.WritesOnly && (method == http.MethodGet || method == http.MethodHead) {
		return faultNone
	}
	for _, c := range []struct {
		rate float64
		f    fault
	}{{f.Rate503, fault503}, {f.RateTimeout, faultTimeout}, {f.Rate500, fault500}, {f.RateLostResponse, faultLost}} {
		if c.rate > 0 && s.rng.Float64() < c.rate {
			return c.f
		}
	}
	return faultNone
}
