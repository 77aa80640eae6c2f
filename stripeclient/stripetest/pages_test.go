package stripetest

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// page is a hosted page's answer.
type page struct {
	status   int
	body     string
	location string // the redirect target of a 3xx
}

// browse requests a hosted page as a browser without JavaScript would,
// without following redirects; values make it a form post.
func browse(t *testing.T, method, rawURL string, values url.Values) page {
	t.Helper()
	var body io.Reader
	if values != nil {
		body = strings.NewReader(values.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	if values != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, body: string(raw), location: resp.Header.Get("Location")}
}

// abs resolves a redirect location against the emulator.
func abs(s *Server, loc string) string {
	if strings.HasPrefix(loc, "/") {
		return s.URL() + loc
	}
	return loc
}

// mustContain fails unless the page's body has every part.
func (p page) mustContain(t *testing.T, parts ...string) {
	t.Helper()
	for _, part := range parts {
		if !strings.Contains(p.body, part) {
			t.Errorf("page (status %d) lacks %q:\n%s", p.status, part, p.body)
		}
	}
}

// cardForm is the checkout page's form filled in for a card.
func cardForm(number string) url.Values {
	return url.Values{
		"email": {"jane@example.com"}, "method": {"card"}, "cardNumber": {number},
		"cardExpiry": {"12 / 34"}, "cardCvc": {"123"}, "billingName": {"Jane Doe"},
	}
}

// bankForm is the checkout page's form filled in for a bank account:
// instant with account "", else entered by hand.
func bankForm(account string) url.Values {
	v := url.Values{"email": {"jane@example.com"}, "method": {"us_bank_account"}, "accountHolderName": {"Jane Doe"}}
	if account == "" {
		v.Set("bankEntry", "instant")
		return v
	}
	v.Set("bankEntry", "manual")
	v.Set("routingNumber", "110000000")
	v.Set("accountNumber", account)
	return v
}

// testClock is a settable clock for Options.Clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Date(2024, 4, 9, 12, 0, 0, 0, time.UTC)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newSession creates a Checkout Session over HTTP; extra are name/value
// pairs added to (or replacing) a USD payment of 125.00 for card and bank.
func newSession(t *testing.T, s *Server, extra ...string) map[string]any {
	t.Helper()
	return mustOK(t, send(t, s, http.MethodPost, "/v1/checkout/sessions", sessionForm(extra...)))
}

// sessionForm is the form newSession sends.
func sessionForm(extra ...string) url.Values {
	v := url.Values{
		"mode":                                   {"payment"},
		"success_url":                            {"https://crm.example/paid?session_id={CHECKOUT_SESSION_ID}"},
		"cancel_url":                             {"https://crm.example/invoice/INV-1001"},
		"line_items[0][price_data][currency]":    {"usd"},
		"line_items[0][price_data][unit_amount]": {"12500"},
		"line_items[0][price_data][product_data][name]": {"Invoice INV-1001"},
		"line_items[0][quantity]":                       {"1"},
		"payment_method_types[0]":                       {"card"},
		"payment_method_types[1]":                       {"us_bank_account"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			v.Del(extra[i])
			continue
		}
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// countType counts the recorded events of typ.
func countType(s *Server, typ string) int {
	n := 0
	for _, e := range eventTypes(s) {
		if e == typ {
			n++
		}
	}
	return n
}
