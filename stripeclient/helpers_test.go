package stripeclient

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

const testKey = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"

// newClient returns a Client pointed at srv. Fields set in cfg win; the
// key, base URL and a logger that captures everything (see logs) are
// filled in.
func newClient(t *testing.T, srv *stripetest.Server, cfg Config) (*Client, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	if cfg.Key == "" {
		cfg.Key = testKey
	}
	cfg.BaseURL = srv.URL()
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("client log:\n%s", logs.String())
		}
	})
	return c, logs
}

// logBuffer collects log output from concurrent calls.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// acme is a customer with every daemon-owned field set.
var acme = stripesync.Customer{
	Name:  "Acme Corp",
	Email: "billing@acme.example",
	Phone: "+1 555 0100",
	Address: stripesync.Address{
		Line1: "1 Main St", City: "Springfield", State: "IL", PostalCode: "62701", Country: "US",
	},
	CRMAccountID: "001000000000001AAA",
}

// postForm sends a form POST to the emulator, as a person or another
// system would, and returns the status.
func postForm(t *testing.T, srv *stripetest.Server, path string, params url.Values) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+path, strings.NewReader(params.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
