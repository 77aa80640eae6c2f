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

func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.logger.WarnContext(r.Context(), "not ready", "error", err)
			// Only a domain error's message is safe to show; a raw driver
			// error may quote a connection string.
			msg := "not ready"
			if errors.As(err, new(*stripesync.Error)) {
				msg += ": " + stripesync.MessageOf(err)
			}
			WriteError(w, r, s.logger, stripesync.WrapError(stripesync.EUNAVAILABLE, err, "%s", msg))
			return
		}
	}
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
