package stripetest

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// NewServer starts an emulator on 127.0.0.1 with a free port and closes it
// when the test ends. Without opts.Logger, warnings and errors go to t.Log.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	w := &tbWriter{tb: t}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s := New(opts)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		w.stop()
	})
	return s
}

// tbWriter forwards log lines to t.Log until the test is over; the server's
// goroutines may outlive it, and t.Log after the end panics.
type tbWriter struct {
	mu   sync.Mutex
	tb   testing.TB
	done bool
}

func (w *tbWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *tbWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
}
