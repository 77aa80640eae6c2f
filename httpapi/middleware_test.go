package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// syncBuffer is a log sink shared between the server's goroutines and the
// test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestServer returns a Server logging at debug level into logs, with
// extra test routes registered by add, behind a real HTTP listener.
func newTestServer(t *testing.T, add func(mux *http.ServeMux)) (*httptest.Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	s := NewServer(Config{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	add(s.mux)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, logs
}

func fetch(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	res, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

func TestRecoverPanics(t *testing.T) {
	srv, logs := newTestServer(t, func(mux *http.ServeMux) {
		mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("nil map write") })
	})
	status, body := fetch(t, srv, "/boom")
	if status != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", status)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	want := map[string]any{"error": map[string]any{"code": "internal", "message": "internal error"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	if !strings.Contains(logs.String(), `"msg":"handler panicked"`) || !strings.Contains(logs.String(), "nil map write") {
		t.Errorf("panic not logged: %s", logs)
	}
	// The server keeps serving.
	if status, _ := fetch(t, srv, "/healthz"); status != http.StatusOK {
		t.Errorf("after panic: GET /healthz status %d", status)
	}
}

func TestRecoverPanicAfterWrite(t *testing.T) {
	// A handler that already answered keeps its status; no second header
	// is written.
	srv, _ := newTestServer(t, func(mux *http.ServeMux) {
		mux.HandleFunc("GET /late", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			panic("after write")
		})
	})
	if status, _ := fetch(t, srv, "/late"); status != http.StatusAccepted {
		t.Errorf("status = %d, want 202", status)
	}
}

func TestRequestLogOmitsPathSecrets(t *testing.T) {
	const secret = "s3cr3t-path-token"
	srv, logs := newTestServer(t, func(mux *http.ServeMux) {
		mux.HandleFunc("GET /pay/{token}", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		})
	})
	if status, _ := fetch(t, srv, "/pay/"+secret); status != http.StatusNoContent {
		t.Fatalf("status = %d, want 204", status)
	}
	fetch(t, srv, "/unknown/"+secret)

	out := logs.String()
	if strings.Contains(out, secret) {
		t.Errorf("request log leaks the path secret:\n%s", out)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &first); err != nil {
		t.Fatalf("log line: %v\n%s", err, out)
	}
	want := map[string]any{"msg": "http request", "method": "GET", "route": "GET /pay/{token}", "status": float64(204)}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("log %s = %v, want %v", k, first[k], v)
		}
	}
	if _, ok := first["duration_ms"]; !ok {
		t.Error("log lacks duration_ms")
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"", "Bearer sst_abc", "bearer  x==", "Bearer =", "Basic abc", "Bearer a b", "Bearer \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		token, ok := bearerToken(h)
		if !ok {
			if token != "" {
				t.Fatalf("rejected %q but returned %q", h, token)
			}
			return
		}
		if token == "" || len(token) > maxBearer || strings.ContainsAny(token, " \t\r\n") || !strings.HasSuffix(h, token) {
			t.Fatalf("accepted %q as %q", h, token)
		}
		if again, ok := bearerToken("Bearer " + token); !ok || again != token {
			t.Fatalf("%q does not round-trip: %q %v", token, again, ok)
		}
	})
}
