package console

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/store"
)

const aliceToken = "sst_alice-token"

// fixture is a console on a real SQLite ledger (its sessions), with the
// payment functions faked: what reaches them is recorded.
type fixture struct {
	srv   *httptest.Server
	db    *store.DB
	mu    gosync.Mutex
	now   time.Time
	known map[string]bool
	takes []httpapi.PaymentRequest
	// takeErr is what the next payment fails with (nil: it succeeds).
	takeErr error
}

func newFixture(t *testing.T, publicURL string) *fixture {
	t.Helper()
	db, err := store.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "ledger.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, now: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC), known: map[string]bool{"alice": true}}
	invoice := stripesync.InvoiceView{
		Invoice: stripesync.Invoice{ID: "a0B000000000001AAA", Number: "INV-1001", Total: stripesync.Money{Amount: 5000, Currency: "USD"}, Status: stripesync.InvoiceOpen},
		Rollup:  stripesync.Rollup{Balance: stripesync.Money{Amount: 5000, Currency: "USD"}, Paid: stripesync.Money{Currency: "USD"}, Pending: stripesync.Money{Currency: "USD"}, Status: stripesync.InvoiceOpen},
		Payable: stripesync.Money{Amount: 5000, Currency: "USD"},
	}
	h, err := New(Config{
		Authenticate: func(token string) (string, bool) { return "alice", token == aliceToken },
		Known: func(name string) bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.known[name]
		},
		Sessions: db,
		Payments: &httpapi.PaymentConfig{
			View: func(_ context.Context, id, _ string) (httpapi.InvoiceDetail, error) {
				if id != invoice.Invoice.ID {
					return httpapi.InvoiceDetail{}, stripesync.Errorf(stripesync.ENOTFOUND, "No invoice %s", id)
				}
				return httpapi.InvoiceDetail{View: invoice}, nil
			},
			Take: func(_ context.Context, r httpapi.PaymentRequest) (stripesync.Payment, string, error) {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.takes = append(f.takes, r)
				if f.takeErr != nil {
					return stripesync.Payment{}, "", f.takeErr
				}
				return stripesync.Payment{ID: "pi_1", Amount: stripesync.Money{Amount: 2000, Currency: "USD"}, Status: stripesync.PaymentSucceeded, MethodDetail: "Visa •••• 4242"}, r.PaymentMethodID, nil
			},
			Verify: func(context.Context, string, string, stripesync.MicrodepositVerification) (stripesync.Payment, error) {
				return stripesync.Payment{}, nil
			},
			ResendReceipt: func(context.Context, string, string) (string, error) { return "ap@initech.test", nil },
		},
		Search: func(context.Context, string, int) ([]stripesync.InvoiceMatch, error) { return nil, nil },
		Verifications: func(context.Context, string) ([]stripesync.PendingVerification, error) {
			return nil, nil
		},
		Status: &StatusPageConfig{
			Report: &httpapi.StatusConfig{Read: func(ctx context.Context) (stripesync.OpsStatus, error) {
				st, err := db.OpsStatus(ctx)
				st.Stripe = stripesync.StripeTraffic{Window: time.Minute, Requests: 90, RateLimited: 2, RateLimitedEver: 5, PacingLimit: 12.5, PacingMax: 25}
				st.Salesforce = stripesync.APIUsage{Used: 8500, Allocation: 10000}
				return st, err
			}, Version: "v9.9.9", Started: time.Date(2026, 12, 3, 7, 30, 0, 0, time.UTC)},
			Revive: db.ReviveJob, Drop: db.DropJob,
		},
		StripeJSURL: "http://127.0.0.1:12111/v3/", PublishableKey: "pk_test_console",
		PublicURL: publicURL,
		Logger:    slog.New(slog.NewTextHandler(t.Output(), nil)),
		Now: func() time.Time {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.now
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// answer is a response, read whole.
type answer struct {
	status int
	header http.Header
	body   string
}

// do sends a request with the cookies given and never follows a redirect.
func (f *fixture) do(t *testing.T, method, path string, form url.Values, cookies []*http.Cookie, header ...string) answer {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, f.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func cookieOf(t *testing.T, a answer, name string) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, a.header["Set-Cookie"])
	return nil
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, a answer) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("no CSRF field in the page:\n%s", a.body)
	}
	return m[1]
}

// signIn signs alice in and returns the session cookie and the CSRF token
// of her pages.
func (f *fixture) signIn(t *testing.T) (*http.Cookie, string) {
	t.Helper()
	form := f.do(t, "GET", "/staff/sign-in", nil, nil)
	pre := cookieOf(t, form, signInCookie)
	in := f.do(t, "POST", "/staff/sign-in", url.Values{"csrf": {csrfOf(t, form)}, "token": {aliceToken}, "next": {"/staff/invoices/a0B000000000001AAA"}}, []*http.Cookie{pre})
	if in.status != http.StatusSeeOther || in.header.Get("Location") != "/staff/invoices/a0B000000000001AAA" {
		t.Fatalf("sign-in: %d to %q, want 303 to the invoice\n%s", in.status, in.header.Get("Location"), in.body)
	}
	session := cookieOf(t, in, sessionCookie)
	page := f.do(t, "GET", "/staff/invoices/a0B000000000001AAA", nil, []*http.Cookie{session})
	if page.status != http.StatusOK || !strings.Contains(page.body, "Signed in as <strong>alice</strong>") {
		t.Fatalf("the invoice after sign-in: %d\n%s", page.status, page.body)
	}
	return session, csrfOf(t, page)
}

func TestSignIn(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:8080")
	// A page asks for the token first, and remembers where it was.
	first := f.do(t, "GET", "/staff/invoices/a0B000000000001AAA", nil, nil)
	if first.status != http.StatusSeeOther || first.header.Get("Location") != "/staff/sign-in?next=%2Fstaff%2Finvoices%2Fa0B000000000001AAA" {
		t.Fatalf("signed out: %d to %q", first.status, first.header.Get("Location"))
	}
	form := f.do(t, "GET", "/staff/sign-in", nil, nil)
	pre := cookieOf(t, form, signInCookie)
	if pre.SameSite != http.SameSiteStrictMode || !pre.HttpOnly || pre.Path != "/staff/" {
		t.Errorf("sign-in cookie %+v", pre)
	}
	if a := f.do(t, "POST", "/staff/sign-in", url.Values{"token": {aliceToken}}, []*http.Cookie{pre}); a.status != http.StatusForbidden {
		t.Errorf("sign-in without the form's CSRF token: %d, want 403", a.status)
	}
	wrong := f.do(t, "POST", "/staff/sign-in", url.Values{"csrf": {csrfOf(t, form)}, "token": {"sst_wrong"}}, []*http.Cookie{pre})
	if wrong.status != http.StatusUnauthorized || !strings.Contains(wrong.body, "That token is not valid") || strings.Contains(wrong.body, "sst_wrong") {
		t.Errorf("a wrong token: %d\n%s", wrong.status, wrong.body)
	}
	session, _ := f.signIn(t)
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" || session.Secure {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/ (the status page shares it), not Secure on http", session)
	}
	// The ledger keeps the id's hash only.
	if _, err := f.db.TouchSession(t.Context(), session.Value, f.now, IdleTimeout, AbsoluteTimeout); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
		t.Errorf("the raw session id finds a session: %v", err)
	}
}

func TestSecureCookiesOnHTTPS(t *testing.T) {
	f := newFixture(t, "https://pay.acme.test")
	a := f.do(t, "GET", "/staff/sign-in", nil, nil)
	if c := cookieOf(t, a, signInCookie); !c.Secure {
		t.Errorf("sign-in cookie on https is not Secure: %+v", c)
	}
	if a.header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS on https")
	}
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:8080")
	session, _ := f.signIn(t)
	page := "/staff/invoices/a0B000000000001AAA"
	// Used every 29 minutes it stays alive, for 12 hours at most.
	for elapsed := 29 * time.Minute; elapsed < AbsoluteTimeout; elapsed += 29 * time.Minute {
		f.advance(29 * time.Minute)
		if a := f.do(t, "GET", page, nil, []*http.Cookie{session}); a.status != http.StatusOK {
			t.Fatalf("after %v of use: %d, want the page", elapsed, a.status)
		}
	}
	f.advance(29 * time.Minute)
	if a := f.do(t, "GET", page, nil, []*http.Cookie{session}); a.status != http.StatusSeeOther {
		t.Errorf("past 12 hours: %d, want the sign-in redirect", a.status)
	}

	idle, _ := f.signIn(t)
	f.advance(IdleTimeout)
	if a := f.do(t, "GET", page, nil, []*http.Cookie{idle}); a.status != http.StatusSeeOther {
		t.Errorf("after 30 idle minutes: %d, want the sign-in redirect", a.status)
	}
}

func TestRemovedStaffIsSignedOut(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:8080")
	session, _ := f.signIn(t)
	f.mu.Lock()
	f.known["alice"] = false
	f.mu.Unlock()
	if a := f.do(t, "GET", "/staff/invoices", nil, []*http.Cookie{session}); a.status != http.StatusSeeOther {
		t.Errorf("removed from the token file: %d, want the sign-in redirect", a.status)
	}
	// The session is gone, not just refused: it stays ended if the name
	// comes back with a new token.
	f.mu.Lock()
	f.known["alice"] = true
	f.mu.Unlock()
	if a := f.do(t, "GET", "/staff/invoices", nil, []*http.Cookie{session}); a.status != http.StatusSeeOther {
		t.Errorf("the old session came back: %d", a.status)
	}
}

func TestSignOut(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:8080")
	session, csrf := f.signIn(t)
	if a := f.do(t, "POST", "/staff/sign-out", url.Values{}, []*http.Cookie{session}); a.status != http.StatusForbidden {
		t.Errorf("sign-out without CSRF: %d, want 403", a.status)
	}
	out := f.do(t, "POST", "/staff/sign-out", url.Values{"csrf": {csrf}}, []*http.Cookie{session})
	if out.status != http.StatusSeeOther || cookieOf(t, out, sessionCookie).MaxAge >= 0 {
		t.Errorf("sign-out: %d %v", out.status, out.header["Set-Cookie"])
	}
	if a := f.do(t, "GET", "/staff/invoices", nil, []*http.Cookie{session}); a.status != http.StatusSeeOther {
		t.Errorf("after sign-out the session still works: %d", a.status)
	}
}

func TestPaymentFormNeedsCSRF(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:8080")
	session, csrf := f.signIn(t)
	key := randomToken()
	form := url.Values{"kind": {"saved"}, "key": {key}, "amount": {"20.00"}, "payment_method": {"pm_saved"}}
	for _, bad := range []string{"", "forged", csrf + "x"} {
		post := url.Values{}
		for k, v := range form {
			post[k] = v
		}
		if bad != "" {
			post.Set("csrf", bad)
		}
		if a := f.do(t, "POST", "/staff/invoices/a0B000000000001AAA/payments", post, []*http.Cookie{session}); a.status != http.StatusForbidden {
			t.Errorf("csrf %q: %d, want 403", bad, a.status)
		}
	}
	if len(f.takes) != 0 {
		t.Fatalf("forged posts took payments: %+v", f.takes)
	}
	form.Set("csrf", csrf)
	a := f.do(t, "POST", "/staff/invoices/a0B000000000001AAA/payments", form, []*http.Cookie{session})
	if a.status != http.StatusSeeOther {
		t.Fatalf("the real post: %d\n%s", a.status, a.body)
	}
	want := httpapi.PaymentRequest{InvoiceID: "a0B000000000001AAA", Staff: "alice", RequestKey: "console-" + key, Amount: "20.00", PaymentMethodID: "pm_saved"}
	if len(f.takes) != 1 || f.takes[0] != want {
		t.Errorf("payments taken %+v, want %+v", f.takes, want)
	}
	// The notice comes once, on the page the redirect leads to.
	notice := cookieOf(t, a, noticeCookie)
	next := f.do(t, "GET", a.header.Get("Location"), nil, []*http.Cookie{session, notice})
	if !strings.Contains(next.body, "The payment of 20.00 USD by Visa •••• 4242 went through") {
		t.Errorf("no notice after the payment:\n%s", next.body)
	}
	// Planted by anyone without the session's CSRF token, it is not
	// shown.
	fake := &http.Cookie{Name: noticeCookie, Value: "SGFja2Vk." + noticeMAC("", "SGFja2Vk")}
	if page := f.do(t, "GET", a.header.Get("Location"), nil, []*http.Cookie{session, fake}); strings.Contains(page.body, "Hacked") {
		t.Error("a planted notice was shown")
	}
}

func TestErrorsInPlainWords(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:8080")
	session, csrf := f.signIn(t)
	pay := func(kind string, extra url.Values) answer {
		form := url.Values{"csrf": {csrf}, "kind": {kind}, "key": {randomToken()}, "amount": {"20.00"}}
		for k, v := range extra {
			form[k] = v
		}
		return f.do(t, "POST", "/staff/invoices/a0B000000000001AAA/payments", form, []*http.Cookie{session})
	}
	f.takeErr = stripesync.Errorf(stripesync.EDECLINED, "Your card was declined.")
	if a := pay("card", url.Values{"payment_method": {"pm_new"}}); a.status != http.StatusPaymentRequired || !strings.Contains(a.body, `id="card-error">Your card was declined.`) {
		t.Errorf("a decline: %d\n%s", a.status, a.body)
	}
	f.takeErr = errors.New(`stripe: {"error":{"type":"api_error"}} at charge.go:42`)
	a := pay("saved", url.Values{"payment_method": {"pm_saved"}})
	if a.status != http.StatusInternalServerError || !strings.Contains(a.body, "Something went wrong on our side") || strings.Contains(a.body, "api_error") {
		t.Errorf("an internal error: %d\n%s", a.status, a.body)
	}
	f.takeErr = nil
	takes := len(f.takes)
	bank := pay("bank", url.Values{"routing_number": {"110000000"}, "account_number": {"000123456789"}, "holder_name": {"Jenny Rosen"}, "holder_type": {"individual"}})
	if bank.status != http.StatusBadRequest || !strings.Contains(bank.body, "tick the box once they agree") || strings.Contains(bank.body, "000123456789") {
		t.Errorf("a bank payment without the authorisation: %d\n%s", bank.status, bank.body)
	}
	if card := pay("card", nil); card.status != http.StatusBadRequest || !strings.Contains(card.body, "did not reach Stripe") {
		t.Errorf("a card form posted without its pm_ (no JavaScript): %d", card.status)
	}
	if len(f.takes) != takes {
		t.Errorf("refused forms took %d payments", len(f.takes)-takes)
	}
	if a := f.do(t, "GET", "/staff/invoices/nope", nil, []*http.Cookie{session}); a.status != http.StatusNotFound || !strings.Contains(a.body, "No invoice nope") {
		t.Errorf("an unknown invoice: %d\n%s", a.status, a.body)
	}
}

// TestOpenedFromTheCRM: a link from another site comes without the
// SameSite=Strict cookie, so the page reloads itself from here once
// instead of asking a signed-in user for the token again.
func TestOpenedFromTheCRM(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:8080")
	a := f.do(t, "GET", "/staff/invoices/a0B000000000001AAA", nil, nil, "Sec-Fetch-Site", "cross-site")
	if a.status != http.StatusOK || !strings.Contains(a.body, `<meta http-equiv="refresh" content="0; url=/staff/invoices/a0B000000000001AAA">`) {
		t.Errorf("opened from another site: %d\n%s", a.status, a.body)
	}
	if a := f.do(t, "GET", "/staff/invoices/a0B000000000001AAA", nil, nil, "Sec-Fetch-Site", "same-origin"); a.status != http.StatusSeeOther {
		t.Errorf("the reload without a session: %d, want the sign-in redirect", a.status)
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:8080")
	a := f.do(t, "GET", "/staff/sign-in", nil, nil)
	csp := a.header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self' http://127.0.0.1:12111;", "connect-src 'self' http://127.0.0.1:12111;", "form-action 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if a.header.Get("Cache-Control") != "no-store" || a.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v", a.header)
	}
	if got := contentSecurityPolicy("https://js.stripe.com"); !strings.Contains(got, "connect-src 'self' https://api.stripe.com;") || !strings.Contains(got, "frame-src https://js.stripe.com https://hooks.stripe.com;") {
		t.Errorf("CSP for Stripe's own Stripe.js: %s", got)
	}
	css := f.do(t, "GET", "/staff/static/style.css", nil, nil)
	js := f.do(t, "GET", "/staff/static/console.js", nil, nil)
	if css.status != 200 || js.status != 200 || !strings.Contains(js.body, "createPaymentMethod") {
		t.Errorf("static files: style.css %d, console.js %d", css.status, js.status)
	}
}

func TestLocalNext(t *testing.T) {
	for next, want := range map[string]string{
		"/staff/invoices/a0B1":   "/staff/invoices/a0B1",
		"/staff/invoices?q=INV":  "/staff/invoices?q=INV",
		"":                       "/staff/invoices",
		"https://evil.test/":     "/staff/invoices",
		"//evil.test/staff/":     "/staff/invoices",
		"/pay/x":                 "/staff/invoices",
		"/staff/\\evil.test":     "/staff/invoices",
		"/staff/x\r\nSet-Cookie": "/staff/invoices",
	} {
		if got := localNext(next); got != want {
			t.Errorf("localNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestReadDeposits(t *testing.T) {
	for _, tt := range []struct {
		a1, a2, code string
		want         stripesync.MicrodepositVerification
		err          string
	}{
		{a1: "32", a2: "45", want: stripesync.MicrodepositVerification{Amounts: []int64{32, 45}}},
		{a1: "0.32", a2: " 0.45 ", want: stripesync.MicrodepositVerification{Amounts: []int64{32, 45}}},
		{code: "sm11aa", want: stripesync.MicrodepositVerification{DescriptorCode: "SM11AA"}},
		{a1: "32", code: "SM11AA", err: "not both"},
		{a1: "32", err: "Enter both deposits"},
		{a1: "thirty", a2: "45", err: "Enter both deposits"},
	} {
		got, err := readDeposits(tt.a1, tt.a2, tt.code)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("readDeposits(%q, %q, %q) = %v, want an error with %q", tt.a1, tt.a2, tt.code, err, tt.err)
			}
			continue
		}
		if err != nil || len(got.Amounts) != len(tt.want.Amounts) || got.DescriptorCode != tt.want.DescriptorCode ||
			(len(got.Amounts) == 2 && (got.Amounts[0] != tt.want.Amounts[0] || got.Amounts[1] != tt.want.Amounts[1])) {
			t.Errorf("readDeposits(%q, %q, %q) = %+v, %v; want %+v", tt.a1, tt.a2, tt.code, got, err, tt.want)
		}
	}
}
