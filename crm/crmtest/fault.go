package crmtest

import "strings"

// FaultKind is a failure the emulator can produce on demand.
type FaultKind int

// The injectable faults.
const (
	// FaultHTML503 answers 503 with an HTML body and no Salesforce headers,
	// as the edge does during an outage.
	FaultHTML503 FaultKind = iota + 1
	// FaultUnableToLockRow answers 400 [{"errorCode":"UNABLE_TO_LOCK_ROW"}];
	// a Collections call instead gets 200 with that statusCode on every
	// item and nothing applied.
	FaultUnableToLockRow
	// FaultSessionExpired answers 401 INVALID_SESSION_ID and really revokes
	// the presented token, so only a new token works.
	FaultSessionExpired
	// FaultRequestLimit answers 403 REQUEST_LIMIT_EXCEEDED.
	FaultRequestLimit
	// FaultDropResponse applies the call and then closes the connection
	// without a response: the client cannot know the write happened.
	FaultDropResponse
)

func (k FaultKind) String() string {
	switch k {
	case FaultHTML503:
		return "html-503"
	case FaultUnableToLockRow:
		return "unable-to-lock-row"
	case FaultSessionExpired:
		return "session-expired"
	case FaultRequestLimit:
		return "request-limit"
	case FaultDropResponse:
		return "drop-response"
	}
	return "unknown"
}

// Fault describes when to inject a failure.
type Fault struct {
	Kind FaultKind
	// Times is how many calls get the fault; 0 means until ClearFaults.
	Times int
	// After lets this many matching calls through before the first fault.
	After int
	// Path selects calls whose URL path contains it. "" selects every data
	// call (under /services/data/vXX.X/); a non-empty Path may also select
	// the token endpoint.
	Path string
}

type faultState struct {
	Fault
	seen, fired int
}

// InjectFault adds a fault. Faults are checked in the order added; the
// first one due answers the call. Safe for concurrent use.
func (s *Server) InjectFault(f Fault) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.faults = append(s.faults, &faultState{Fault: f})
}

// ClearFaults removes all faults.
func (s *Server) ClearFaults() {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.faults = nil
}

// takeFault returns the fault due for a call to path, counting the call
// against every fault it matches.
func (s *Server) takeFault(path string, data bool) (FaultKind, bool) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	for _, f := range s.faults {
		if f.Path == "" && !data || !strings.Contains(path, f.Path) {
			continue
		}
		f.seen++
		if f.seen <= f.After || (f.Times > 0 && f.fired >= f.Times) {
			continue
		}
		f.fired++
		s.calls.faults.Add(1)
		return f.Kind, true
	}
	return 0, false
}
