package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
)

const staffToken = "sst_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"

// fakeLinks answers like the engine for a few invoices.
func fakeLinks(issued *[]string) *httpapi.LinkConfig {
	expires := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	return &httpapi.LinkConfig{
		Issue: func(_ context.Context, lr httpapi.LinkRequest) (httpapi.IssuedLink, error) {
			id, email, requestID := lr.InvoiceID, lr.Email, lr.RequestID
			switch id {
			case "open":
				*issued = append(*issued, id+"/"+requestID)
				return httpapi.IssuedLink{URL: "https://pay.test/pay/tok", ExpiresAt: expires, Emailed: email}, nil
			case "draft", "void", "paid":
				return httpapi.IssuedLink{}, stripesync.Errorf(stripesync.ECONFLICT, "invoice %s cannot be paid", id)
			}
			return httpapi.IssuedLink{}, stripesync.Errorf(stripesync.ENOTFOUND, "invoice %s does not exist", id)
		},
		Revoke: func(_ context.Context, id string) error {
			if id != "open" {
				return stripesync.Errorf(stripesync.ENOTFOUND, "invoice %s does not exist", id)
			}
			*issued = append(*issued, "revoked")
			return nil
		},
		Portal: func(_ context.Context, id string) (httpapi.IssuedLink, error) {
			if id != "acct" {
				return httpapi.IssuedLink{}, stripesync.Errorf(stripesync.ENOTFOUND, "account %s does not exist", id)
			}
			return httpapi.IssuedLink{URL: "https://pay.test/portal/tok", ExpiresAt: expires}, nil
		},
	}
}

func staffAuth(token string) (string, bool) {
	if token == staffToken {
		return "alice", true
	}
	return "", false
}

func call(t *testing.T, url, method, path, auth, body string, header ...string) response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: string(b)}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out.body); err != nil {
			t.Fatalf("%s %s: body %q is not JSON", method, path, b)
		}
	}
	return out
}

func TestStaffRoutesNeedABearerToken(t *testing.T) {
	var issued []string
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newServer(t, httpapi.Config{Logger: logger, Staff: staffAuth, Links: fakeLinks(&issued)})
	var bodies []string
	for _, auth := range []string{"", "Bearer", "Bearer ", "Basic YWxpY2U6cHc=", "Bearer wrong-token", "Bearer " + staffToken + "x", staffToken} {
		res := call(t, srv.URL, "POST", "/v1/invoices/open/payment-link", auth, "")
		if res.status != http.StatusUnauthorized || !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %q: %d, WWW-Authenticate %q; want 401 with a Bearer challenge", auth, res.status, res.header.Get("WWW-Authenticate"))
		}
		bodies = append(bodies, res.raw)
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("401 bodies differ:\n%s\n%s", bodies[0], b)
		}
	}
	if len(issued) != 0 {
		t.Errorf("an unauthenticated request issued %v", issued)
	}

	res := call(t, srv.URL, "POST", "/v1/invoices/open/payment-link", "bearer "+staffToken, `{"email":true}`, "Idempotency-Key", "req-1")
	if res.status != http.StatusCreated {
		t.Fatalf("issue: %d %s", res.status, res.raw)
	}
	want := map[string]any{"invoice_id": "open", "url": "https://pay.test/pay/tok", "expires_at": "2026-05-01T12:00:00Z", "emailed": true}
	for k, v := range want {
		if res.body[k] != v {
			t.Errorf("%s = %v, want %v (%s)", k, res.body[k], v, res.raw)
		}
	}
	if len(issued) != 1 || issued[0] != "open/req-1" {
		t.Errorf("issued %v, want open with the Idempotency-Key", issued)
	}
	if res := call(t, srv.URL, "POST", "/v1/invoices/open/payment-link", "Bearer "+staffToken, ""); res.status != http.StatusCreated || res.body["emailed"] != false {
		t.Errorf("issue without a body: %d %s", res.status, res.raw)
	}
	if strings.Contains(log.String(), staffToken) || !strings.Contains(log.String(), "staff=alice") {
		t.Errorf("the request log must name the staff member and never the token:\n%s", log.String())
	}

	for _, tc := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/v1/invoices/draft/payment-link", "", http.StatusConflict, "conflict"},
		{"POST", "/v1/invoices/void/payment-link", "", http.StatusConflict, "conflict"},
		{"POST", "/v1/invoices/paid/payment-link", "", http.StatusConflict, "conflict"},
		{"POST", "/v1/invoices/nope/payment-link", "", http.StatusNotFound, "not_found"},
		{"POST", "/v1/invoices/open/payment-link", `{"email":"yes"}`, http.StatusBadRequest, "invalid"},
		{"POST", "/v1/invoices/open/payment-link", `{"mail":true}`, http.StatusBadRequest, "invalid"},
		{"DELETE", "/v1/invoices/nope/payment-link", "", http.StatusNotFound, "not_found"},
		{"POST", "/v1/accounts/nope/portal-link", "", http.StatusNotFound, "not_found"},
	} {
		res := call(t, srv.URL, tc.method, tc.path, "Bearer "+staffToken, tc.body)
		detail, _ := res.body["error"].(map[string]any)
		if res.status != tc.status || detail["code"] != tc.code || detail["message"] == "" {
			t.Errorf("%s %s %s: %d %s; want %d with code %s", tc.method, tc.path, tc.body, res.status, res.raw, tc.status, tc.code)
		}
	}
	if res := call(t, srv.URL, "DELETE", "/v1/invoices/open/payment-link", "Bearer "+staffToken, ""); res.status != http.StatusNoContent {
		t.Errorf("revoke: %d %s", res.status, res.raw)
	}
	res = call(t, srv.URL, "POST", "/v1/accounts/acct/portal-link", "Bearer "+staffToken, "")
	if res.status != http.StatusOK || res.body["url"] != "https://pay.test/portal/tok" || res.body["expires_at"] != "2026-05-01T12:00:00Z" {
		t.Errorf("portal link: %d %s", res.status, res.raw)
	}
}

func TestStaffRoutesAreOffWithoutATokenFile(t *testing.T) {
	var issued []string
	srv := newServer(t, httpapi.Config{Links: fakeLinks(&issued)})
	for _, auth := range []string{"", "Bearer " + staffToken} {
		if res := call(t, srv.URL, "POST", "/v1/invoices/open/payment-link", auth, ""); res.status != http.StatusNotFound {
			t.Errorf("Authorization %q: %d, want 404", auth, res.status)
		}
	}
}
