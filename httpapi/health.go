package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/stripesync/stripesync"
)

// readyTimeout bounds a readiness check, so that a hung database answers the
// probe with 503 before the prober's own timeout fires.
const readyTimeout = 3 * time.Second

// readyFor is how long a readiness result answers the probes that follow
// it. The check writes to the ledger; without this, every load balancer
// and kubelet polling /readyz would take the write lock once per poll.
const readyFor = time.Second

// readyBody is the JSON answer of GET /readyz. Reason is shown only when
// the daemon is not ready.
type readyBody struct {
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"`
}

func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := s.checkReady(r.Context()); err != nil {
		// Only a domain error's message is safe to show; a raw driver
		// error may quote a connection string.
		reason := "not ready"
		if errors.As(err, new(*stripesync.Error)) {
			reason = stripesync.MessageOf(err)
		}
		WriteJSON(w, http.StatusServiceUnavailable, readyBody{Reason: reason})
		return
	}
	WriteJSON(w, http.StatusOK, readyBody{Ready: true})
}

// readyResult is the last readiness check: when it ran and what it found.
type readyResult struct {
	at  time.Time
	err error
}

// checkReady runs the Ready check, or returns the result of one that ran
// less than readyFor ago. A failure is logged when it differs from the
// last check's. Probes arriving while a check runs wait for it
// rather than start their own. The check does not run under the request's
// context: a prober that hangs up must not leave its cancellation cached
// as the next probe's answer.
func (s *Server) checkReady(ctx context.Context) error {
	if s.ready == nil {
		return nil
	}
	var last readyResult
	select {
	case last = <-s.lastReady:
	case <-ctx.Done():
		return ctx.Err()
	}
	if last.at.IsZero() || time.Since(last.at) >= readyFor {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyTimeout)
		err := s.ready(cctx)
		cancel()
		// One line per change, not one a second through an outage.
		if err != nil && (last.err == nil || last.err.Error() != err.Error()) {
			s.logger.WarnContext(ctx, "not ready", "error", err)
		}
		last = readyResult{at: time.Now(), err: err}
	}
	s.lastReady <- last
	return last.err
}
