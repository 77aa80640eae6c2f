package stripetest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAuth(t *testing.T) {
	s := NewServer(t, Options{})
	tests := []struct {
		name       string
		auth       string
		wantStatus int
		wantCode   string
		wantInMsg  string
	}{
		{name: "secret test key", auth: "Bearer sk_test_abc123", wantStatus: 200},
		{name: "secret live key", auth: "Bearer sk_live_abc123", wantStatus: 200},
		{name: "restricted key", auth: "Bearer rk_test_abc123", wantStatus: 200},
		{name: "basic auth as curl -u sends it", auth: "Basic c2tfdGVzdF9hYmMxMjM6", wantStatus: 200},
		{name: "missing", auth: "", wantStatus: 401, wantInMsg: "You did not provide an API key"},
		{name: "publishable", auth: "Bearer pk_test_abc123", wantStatus: 401, wantCode: "secret_key_required"},
		{name: "garbage", auth: "Bearer not_a_key_at_all_12345678", wantStatus: 401, wantInMsg: "Invalid API Key provided: ****5678"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, s, http.MethodGet, "/v1/customers", nil, "Authorization", tt.auth)
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %v", r.status, tt.wantStatus, r.body)
			}
			if tt.wantStatus == 200 {
				return
			}
			if got := r.errField("type"); got != "invalid_request_error" {
				t.Errorf("error type = %q, want invalid_request_error", got)
			}
			if got := r.errField("code"); got != tt.wantCode {
				t.Errorf("error code = %q, want %q", got, tt.wantCode)
			}
			if msg := r.errField("message"); !strings.Contains(msg, tt.wantInMsg) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.wantInMsg)
			}
		})
	}
}

func TestInvalidKeyIsMasked(t *testing.T) {
	s := NewServer(t, Options{})
	key := "sk_tset_SECRETSECRETSECRET9876"
	r := send(t, s, http.MethodGet, "/v1/customers", nil, "Authorization", "Bearer "+key)
	msg := r.errField("message")
	if r.status != 401 || strings.Contains(msg, "SECRET") || !strings.HasSuffix(msg, "9876") {
		t.Errorf("status %d, message %q: want 401 showing only the last four characters", r.status, msg)
	}
}

func TestEveryResponseHasRequestID(t *testing.T) {
	s := NewServer(t, Options{})
	for _, r := range []response{
		send(t, s, http.MethodGet, "/v1/customers", nil),
		send(t, s, http.MethodGet, "/v1/customers", nil, "Authorization", ""),
		send(t, s, http.MethodGet, "/v1/nothing", nil),
	} {
		if id := r.header.Get("Request-Id"); !strings.HasPrefix(id, "req_") {
			t.Errorf("status %d: Request-Id = %q, want req_…", r.status, id)
		}
	}
}

func TestUnrecognizedURL(t *testing.T) {
	s := NewServer(t, Options{})
	r := send(t, s, http.MethodPost, "/v1/customers/cus_1/nothing", nil)
	want := "Unrecognized request URL (POST: /v1/customers/cus_1/nothing)"
	if r.status != 404 || !strings.HasPrefix(r.errField("message"), want) {
		t.Errorf("got %d %q, want 404 %q…", r.status, r.errField("message"), want)
	}
}

func TestUnknownParameter(t *testing.T) {
	s := NewServer(t, Options{})
	r := send(t, s, http.MethodPost, "/v1/customers", url.Values{"name": {"A"}, "foo": {"bar"}})
	if r.status != 400 {
		t.Fatalf("status = %d, want 400", r.status)
	}
	for field, want := range map[string]string{
		"type": "invalid_request_error", "code": "parameter_unknown", "param": "foo",
		"message": "Received unknown parameter: foo",
	} {
		if got := r.errField(field); got != want {
			t.Errorf("error.%s = %q, want %q", field, got, want)
		}
	}
	if n := len(s.Customers()); n != 0 {
		t.Errorf("%d customers created by a rejected request", n)
	}
}

func TestRateLimit(t *testing.T) {
	s := NewServer(t, Options{RateLimit: 5})
	var ok, limited int
	var last response
	for range 12 {
		r := send(t, s, http.MethodGet, "/v1/customers", nil)
		switch r.status {
		case 200:
			ok++
		case 429:
			limited++
			last = r
		}
	}
	// A burst of one second's budget passes; the rest is refused (the
	// test runs well within a second).
	if ok < 5 || ok > 7 || limited == 0 {
		t.Fatalf("ok=%d limited=%d, want about 5 ok then 429s", ok, limited)
	}
	if got := last.header.Get("Stripe-Rate-Limited-Reason"); got != "global-rate" {
		t.Errorf("Stripe-Rate-Limited-Reason = %q, want global-rate", got)
	}
	if last.errField("code") != "rate_limit" || last.errField("type") != "invalid_request_error" ||
		!strings.HasPrefix(last.errField("message"), "Request rate limit exceeded.") {
		t.Errorf("429 body = %v", last.body)
	}
	if got := s.Stats().RateLimited; got != limited {
		t.Errorf("Stats().RateLimited = %d, want %d", got, limited)
	}
}

func TestConnectAndModeScoping(t *testing.T) {
	s := NewServer(t, Options{})
	onAcct := mustOK(t, send(t, s, http.MethodPost, "/v1/customers", url.Values{"name": {"Connected"}},
		"Stripe-Account", "acct_1ABC"))["id"].(string)
	mine := mustOK(t, send(t, s, http.MethodPost, "/v1/customers", url.Values{"name": {"Platform"}}))["id"].(string)

	if r := send(t, s, http.MethodGet, "/v1/customers/"+onAcct, nil); r.status != 404 {
		t.Errorf("platform retrieve of a connected account's customer: %d, want 404", r.status)
	}
	if r := send(t, s, http.MethodGet, "/v1/customers/"+onAcct, nil, "Stripe-Account", "acct_1ABC"); r.status != 200 {
		t.Errorf("connected retrieve: %d, want 200", r.status)
	}
	if r := send(t, s, http.MethodGet, "/v1/customers/"+mine, nil, "Authorization", "Bearer sk_live_abc"); r.status != 404 {
		t.Errorf("live-mode retrieve of a test-mode customer: %d, want 404", r.status)
	}
	if r := send(t, s, http.MethodGet, "/v1/customers", nil, "Stripe-Account", "bogus"); r.status != 403 {
		t.Errorf("malformed Stripe-Account: %d, want 403", r.status)
	}
	got := s.Customers()
	if len(got) != 2 || got[0].Account != "acct_1ABC" || got[1].Account != "" {
		t.Errorf("Customers() = %+v, want the connected one then the platform one", got)
	}
}
