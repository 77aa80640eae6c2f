package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

// statusRecorder remembers the status a handler sent, for the request log
// and to know whether a panicking handler already answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
	staff  string // the authenticated staff member, for the request log
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
		attrs := []any{"method", r.Method, "route", r.Pattern, "status", rec.status,
			"duration_ms", time.Since(start).Milliseconds()}
		if rec.staff != "" {
			attrs = append(attrs, "staff", rec.staff)
		}
		s.logger.DebugContext(r.Context(), "http request", attrs...)
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

// errNoStaff is the answer to a missing, malformed or unknown staff token:
// one body for all, so a caller learns nothing about which tokens exist.
var errNoStaff = stripesync.Errorf(stripesync.EUNAUTHORIZED, "a valid staff token is required (Authorization: Bearer …)")

// staffOnly lets a request through to h only with a staff bearer token
// (RFC 6750), and puts the staff member's name, never the token, in the
// request log.
func (s *Server) staffOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r.Header.Get("Authorization"))
		var name string
		if ok {
			name, ok = s.staff(token)
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="stripesync"`)
			WriteError(w, r, s.logger, errNoStaff)
			return
		}
		if rec, isRec := w.(*statusRecorder); isRec {
			rec.staff = name
		}
		h(w, r.WithContext(context.WithValue(r.Context(), staffKey{}, name)))
	}
}

type staffKey struct{}

// staffOf returns the staff member staffOnly let r through for.
func staffOf(r *http.Request) string {
	name, _ := r.Context().Value(staffKey{}).(string)
	return name
}

// maxBearer bounds the token a header may carry; staff tokens are 47
// characters.
const maxBearer = 512

// bearerToken reads "Bearer <token>" (the scheme in any case, RFC 6750
// §2.1): the token is one b64token, at most maxBearer characters.
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || len(token) > maxBearer {
		return "", false
	}
	body := strings.TrimRight(token, "=")
	if body == "" {
		return "", false
	}
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return "", false
		}
	}
	return token, true
}
