package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/internal/golden"
)

// TestGoldenErrorBodies pins the JSON every error answer carries, one per
// error code and for what no route takes: status line, content type and
// body. make golden rewrites testdata/error-bodies.golden.txt.
func TestGoldenErrorBodies(t *testing.T) {
	var out strings.Builder
	show := func(what string, rec *httptest.ResponseRecorder) {
		out.WriteString("== " + what + "\n")
		out.WriteString(rec.Result().Status + "\n")
		for _, h := range []string{"Content-Type", "Allow", "WWW-Authenticate"} {
			if v := rec.Header().Get(h); v != "" {
				out.WriteString(h + ": " + v + "\n")
			}
		}
		out.WriteString(rec.Body.String() + "\n")
	}
	req := httptest.NewRequest("GET", "/v1/invoices/a0X1", nil)
	for _, code := range []stripesync.ErrorCode{
		stripesync.EINVALID, stripesync.EUNAUTHORIZED, stripesync.ENOTFOUND, stripesync.ECONFLICT,
		stripesync.EDECLINED, stripesync.ERATELIMITED, stripesync.EUNAVAILABLE, stripesync.ELIMIT, stripesync.EINTERNAL,
	} {
		rec := httptest.NewRecorder()
		httpapi.WriteError(rec, req, nil, stripesync.Errorf(code, "what the caller may read about %s", code))
		show(string(code), rec)
	}
	srv := httpapi.NewServer(httpapi.Config{Staff: func(string) (string, bool) { return "", false }})
	for _, r := range []*http.Request{
		httptest.NewRequest("GET", "/nowhere", nil),
		httptest.NewRequest("DELETE", "/healthz", nil),
	} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		show(r.Method+" "+r.URL.Path, rec)
	}
	golden.Check(t, "testdata/error-bodies.golden.txt", []byte(out.String()))
}
