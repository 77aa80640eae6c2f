package stripeclient

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// fakeStripe is an httptest server answering each "METHOD /path" with
// scripted replies, in turn (the last one repeats), and recording every
// request. It is for request shapes and error bodies the emulator does
// not produce; unscripted routes answer a bare 404.
type fakeStripe struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	replies map[string][]reply
	served  map[string]int
	reqs    []recorded
}

// reply is one scripted answer: a status and a fixture from
// testdata/collect (or a literal body when file is "").
type reply struct {
	status int
	file   string
	body   string
}

// recorded is one request as the fake received it; Form holds the query
// of a GET and the form body of a POST.
type recorded struct {
	Method, Path string
	Header       http.Header
	Form         url.Values
}

func newFakeStripe(t *testing.T) *fakeStripe {
	t.Helper()
	f := &fakeStripe{t: t, replies: map[string][]reply{}, served: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// on scripts the replies to method path.
func (f *fakeStripe) on(method, path string, replies ...reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies[method+" "+path] = replies
}

func (f *fakeStripe) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	form := r.URL.Query()
	if r.Method == http.MethodPost {
		form, _ = url.ParseQuery(string(raw))
	}
	key := r.Method + " " + r.URL.Path
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: form})
	script := f.replies[key]
	n := f.served[key]
	f.served[key]++
	f.mu.Unlock()
	if len(script) == 0 {
		http.NotFound(w, r)
		return
	}
	rep := script[min(n, len(script)-1)]
	body := []byte(rep.body)
	if rep.file != "" {
		var err error
		if body, err = os.ReadFile(filepath.Join("testdata", "collect", rep.file)); err != nil {
			f.t.Errorf("fixture: %v", err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_fake")
	w.WriteHeader(rep.status)
	_, _ = w.Write(body)
}

// requests returns what the fake received so far.
func (f *fakeStripe) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// client returns a Client pointed at the fake; cfg's fields win except
// Key and BaseURL.
func (f *fakeStripe) client(cfg Config) *Client {
	f.t.Helper()
	cfg.Key, cfg.BaseURL = testKey, f.srv.URL
	c, err := New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func ok(file string) reply { return reply{status: http.StatusOK, file: file} }

// flat flattens a recorded form to one value per key, for cmp.Diff.
func flat(v url.Values) map[string]string {
	m := make(map[string]string, len(v))
	for k, vs := range v {
		m[k] = vs[0]
		if len(vs) > 1 {
			m[k] = "<repeated>"
		}
	}
	return m
}
