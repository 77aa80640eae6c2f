package stripetest

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// Request is one entry of the request log.
type Request struct {
	Method         string
	Path           string
	IdempotencyKey string
	Account        string // Stripe-Account header
	RequestID      string // the Request-Id the emulator answered with
	Status         int    // status sent (or, when Dropped, that would have been sent)
	Replayed       bool   // answered from the idempotency layer
	Dropped        bool   // the connection was closed instead of answering
	// logged: already in the request log (a dropped request is logged
	// before its connection closes, so a client that sees the drop can
	// count on it).
	logged bool
	Params url.Values
	Time   time.Time
}

// isWrite reports whether the request could change state.
func (r Request) isWrite() bool { return r.Method != http.MethodGet && r.Method != http.MethodHead }

// Stats counts requests since the start or the last ResetRequests.
type Stats struct {
	Total        int
	Reads        int
	Writes       int // POST and DELETE
	RateLimited  int // 429s from the rate limiter
	Replayed     int // answered from the idempotency layer
	Dropped      int // connections closed without an answer
	ClientErrors int // other 4xx
	ServerErrors int // 5xx, injected or not
}

// maxLog bounds the request log of a long emulator run; Stats keep counting
// past it.
const maxLog = 100_000

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == maxLog {
		s.requests = slices.Delete(s.requests, 0, maxLog/10)
	}
	s.requests = append(s.requests, r)
	st := &s.stats
	st.Total++
	if r.isWrite() {
		st.Writes++
	} else {
		st.Reads++
	}
	switch {
	case r.Replayed:
		st.Replayed++
	case r.Status == http.StatusTooManyRequests:
		st.RateLimited++
	case r.Status >= 500:
		st.ServerErrors++
	case r.Status >= 400:
		st.ClientErrors++
	}
	if r.Dropped {
		st.Dropped++
	}
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Params = cloneValues(r.Params)
		out[i] = r
	}
	return out
}

// ResetRequests clears the request log and the counters.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
	s.stats = Stats{}
}

// Stats returns the request counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := maps.Clone(v)
	for k, vs := range out {
		out[k] = slices.Clone(vs)
	}
	return out
}
