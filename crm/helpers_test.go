package crm

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
)

const (
	testClientID     = "test-client"
	testClientSecret = "test-secret-value"
)

// logBuffer collects log output for assertions and echoes it to t.Log.
type logBuffer struct {
	t  testing.TB
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Log(strings.TrimSpace(string(p)))
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type env struct {
	sf   *crmtest.Server
	c    *Client
	logs *logBuffer
}

// newEnv starts an emulator and a client for it with fast retries.
// configure may adjust the client config before New.
func newEnv(t *testing.T, opts crmtest.Options, configure func(*Config)) *env {
	t.Helper()
	opts.ClientID, opts.ClientSecret = testClientID, testClientSecret
	sf := crmtest.NewServer(t, opts)
	logs := &logBuffer{t: t}
	cfg := Config{
		LoginURL:       sf.URL(),
		ClientID:       testClientID,
		ClientSecret:   testClientSecret,
		RetryBaseDelay: time.Millisecond,
		Logger:         slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if configure != nil {
		configure(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &env{sf: sf, c: c, logs: logs}
}

// manualClock is an emulator clock that tests move by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (m *manualClock) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

func (m *manualClock) Set(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = t
}

func seedAccounts(sf *crmtest.Server, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = sf.Insert("Account", map[string]any{"Name": "Account " + string(rune('A'+i%26))})
	}
	return ids
}

// wantCode fails unless err is a *stripesync.Error with code want.
func wantCode(t *testing.T, err error, want stripesync.ErrorCode) {
	t.Helper()
	var se *stripesync.Error
	if !errors.As(err, &se) || se.Code != want {
		t.Fatalf("error = %v (code %q), want code %q", err, stripesync.CodeOf(err), want)
	}
}

// apiErrorOf returns the *APIError in err's chain.
func apiErrorOf(t *testing.T, err error) *APIError {
	t.Helper()
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v does not wrap *APIError", err)
	}
	return ae
}
