package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/stripesync/stripesync"
)

// statusRecorder remembers the status a handler sent, for the request log
// and to know whether a panicking handler already answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (rec *statusRecorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
	rec.ResponseWriter.WriteHeader(status)
}

func (rec *statusRecorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (flush,
// deadlines) through the recorder.
func (rec *statusRecorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// ServeHTTP dispatches r to its route, logs it at debug level, and turns a
// handler panic into a 500.
//
// The log names the matched route pattern, never the raw path: paths such
// as /salesforce/outbound/{secret} and /pay/{token} carry credentials.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		// Checked first because building the record's attributes costs
		// allocations on every request, even when the handler drops it.
		if !s.logger.Enabled(r.Context(), slog.LevelDebug) {
			return
		}
		// The mux set r.Pattern on this same request while routing.
		s.logger.DebugContext(r.Context(), "http request",
			"method", r.Method, "route", r.Pattern, "status", rec.status,
			"duration_ms", time.Since(start).Milliseconds())
	}()
	defer s.recoverPanic(rec, r)
	s.mux.ServeHTTP(rec, r)
}

// recoverPanic answers a panicking handler with a logged 500 and the usual
// JSON body, instead of net/http's dropped connection. http.ErrAbortHandler
// is passed on: it is a deliberate abort, not a bug.
func (s *Server) recoverPanic(rec *statusRecorder, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.logger.ErrorContext(r.Context(), "handler panicked",
		"method", r.Method, "route", r.Pattern, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if rec.status == 0 {
		// Logged with its stack above, so no logger here.
		WriteError(rec, r, nil, stripesync.Errorf(stripesync.EINTERNAL, "internal error"))
	}
}
