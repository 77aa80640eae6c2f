package web

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/links"
	syncer "github.com/stripesync/stripesync/sync"
)

// fakeCollection answers the pages' calls from fixed views, so that these
// tests exercise the HTTP layer alone: routing, tokens, nonces, forms,
// status codes and headers. The real engine behind the pages is tested
// end to end in cmd/stripesync.
type fakeCollection struct {
	view   syncer.PayView
	pays   []syncer.PayRequest
	err    error
	res    syncer.PayResult
	portal syncer.PortalView
}

func (f *fakeCollection) PayView(ctx context.Context, invoiceID, holder string) (syncer.PayView, error) {
	if invoiceID != f.view.Invoice.ID {
		return syncer.PayView{}, stripesync.Errorf(stripesync.ENOTFOUND, "no invoice")
	}
	return f.view, nil
}
func (f *fakeCollection) Pay(ctx context.Context, r syncer.PayRequest) (syncer.PayResult, error) {
	f.pays = append(f.pays, r)
	return f.res, f.err
}
func (f *fakeCollection) CheckoutReturned(ctx context.Context, invoiceID, sessionID string) (syncer.CheckoutOutcome, error) {
	return syncer.CheckoutOutcome{}, nil
}
func (f *fakeCollection) CheckoutCanceled(ctx context.Context, nonce string) error { return nil }
func (f *fakeCollection) Portal(ctx context.Context, accountID string) (syncer.PortalView, error) {
	return f.portal, nil
}
func (f *fakeCollection) RemoveMethod(ctx context.Context, accountID, methodID string) error {
	return nil
}
func (f *fakeCollection) SetDefaultMethod(ctx context.Context, accountID, methodID string) error {
	return nil
}
func (f *fakeCollection) AddMethod(ctx context.Context, r syncer.AddMethodRequest) (string, error) {
	return "https://checkout.stripe.com/c/pay/cs_test_1", nil
}
func (f *fakeCollection) MethodAdded(ctx context.Context, accountID string) error { return nil }
func (f *fakeCollection) BillingPortal(ctx context.Context, accountID, returnURL string) (string, error) {
	return "https://billing.stripe.com/p/session/test_1", nil
}

var testNow = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func usd(a int64) stripesync.Money { return stripesync.Money{Amount: a, Currency: "USD"} }

func openView() syncer.PayView {
	inv := stripesync.Invoice{ID: "a0INV000000000001", Number: "INV-1001", AccountID: "001ACC", Total: usd(5000),
		DueDate: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), Status: stripesync.InvoiceOpen}
	return syncer.PayView{
		InvoiceView: stripesync.InvoiceView{Invoice: inv, Rollup: stripesync.RollUp(inv, nil), Payable: usd(5000), Reserved: usd(0)},
		Open:        true, Minimum: usd(50), BankAllowed: true, CustomerID: "cus_1",
		Methods: []stripesync.SavedMethod{{ID: "pm_1", Type: "card", Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2028}},
	}
}

// verify checks a token as the engine does, without revocations.
func verify(s *links.Signer, token string, kind links.Kind) (links.Link, error) {
	l, err := s.Parse(token, kind)
	if err == nil && l.Expired(testNow) {
		err = syncer.ErrLinkExpired
	}
	return l, err
}

type site struct {
	now    *time.Time // the handler's clock; testNow unless a test moves it
	srv    *httptest.Server
	fake   *fakeCollection
	signer *links.Signer
	client *http.Client
}

func newSite(t *testing.T) *site {
	t.Helper()
	signer, err := links.NewSigner([]byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeCollection{view: openView()}
	now := testNow
	h, err := New(Config{
		Collection: fake, Links: signer,
		VerifyPay: func(ctx context.Context, token string) (links.Link, error) {
			return verify(signer, token, links.Pay)
		},
		ParsePay:     func(token string) (links.Link, error) { return verify(signer, token, links.Pay) },
		VerifyPortal: func(token string) (links.Link, error) { return verify(signer, token, links.Portal) },
		ReceiptURL:   func(id string) string { return "/receipts/" + id + ".pdf" },
		FormKey:      []byte(strings.Repeat("f", 32)), Business: stripesync.Business{Name: "Acme Supplies"},
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &site{now: &now, srv: srv, fake: fake, signer: signer, client: client}
}

func (s *site) payURL(t *testing.T, expires time.Time) string {
	tok, err := s.signer.Token(links.Link{Kind: links.Pay, Subject: s.fake.view.Invoice.ID, Issued: testNow.Add(-time.Hour), Expires: expires})
	if err != nil {
		t.Fatal(err)
	}
	return s.srv.URL + "/pay/" + tok
}

func (s *site) get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := s.client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (s *site) post(t *testing.T, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := s.client.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// nonceIn finds the form nonce of a rendered page.
func nonceIn(t *testing.T, page string) string {
	t.Helper()
	_, after, ok := strings.Cut(page, `name="nonce" value="`)
	if !ok {
		t.Fatal("no nonce in the page")
	}
	n, _, _ := strings.Cut(after, `"`)
	return n
}

func TestPayPageShowsTheInvoiceAndAForm(t *testing.T) {
	s := newSite(t)
	resp, body := s.get(t, s.payURL(t, testNow.Add(time.Hour)))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{"INV-1001", "50.00 USD", "Acme Supplies", "Visa •••• 4242, expires 12/28", "A new card", "A new US bank account", `value="50.00"`, "at least 0.50 USD"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	h := resp.Header
	for k, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "form-action 'self' https://checkout.stripe.com"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if !strings.Contains(resp.Header.Get("Set-Cookie"), visitorCookie) || !strings.Contains(resp.Header.Get("Set-Cookie"), "HttpOnly") {
		t.Errorf("no HttpOnly visitor cookie: %q", resp.Header.Get("Set-Cookie"))
	}
}

func TestBadLinksGet404AndWriteNothing(t *testing.T) {
	s := newSite(t)
	good := s.payURL(t, testNow.Add(time.Hour))
	tampered := good[:len(good)-2] + "AA"
	other, _ := links.NewSigner([]byte(strings.Repeat("o", 32)))
	forged, _ := other.Token(links.Link{Kind: links.Pay, Subject: s.fake.view.Invoice.ID, Issued: testNow, Expires: testNow.Add(time.Hour)})
	portal, _ := s.signer.Token(links.Link{Kind: links.Portal, Subject: s.fake.view.Invoice.ID, Issued: testNow, Expires: testNow.Add(time.Hour)})
	for name, u := range map[string]string{
		"tampered":    tampered,
		"other key":   s.srv.URL + "/pay/" + forged,
		"portal kind": s.srv.URL + "/pay/" + portal,
		"garbage":     s.srv.URL + "/pay/%00%ff",
	} {
		resp, body := s.get(t, u)
		if resp.StatusCode != 404 || !strings.Contains(body, "not valid") || strings.Contains(body, "<form") {
			t.Errorf("%s: status %d, body %.200s", name, resp.StatusCode, body)
		}
		resp, _ = s.post(t, u, url.Values{"amount": {"20.00"}, "method": {"card"}})
		if resp.StatusCode != 404 {
			t.Errorf("%s POST: status %d", name, resp.StatusCode)
		}
	}
	resp, body := s.get(t, s.payURL(t, testNow.Add(-time.Second)))
	if resp.StatusCode != 404 || !strings.Contains(body, "expired") || strings.Contains(body, "<form") {
		t.Errorf("expired: status %d, body %.300s", resp.StatusCode, body)
	}
	if len(s.fake.pays) != 0 {
		t.Errorf("%d payments started by bad links", len(s.fake.pays))
	}
}

// The pay page checks its link's revocation against the time read with
// the invoice (PayView.LinksRevokedAt): a revocation after the link was
// issued makes it not found, on GET and POST, one before it changes
// nothing, and an expired link shows it expired either way.
func TestPayPageRevokedLink(t *testing.T) {
	s := newSite(t)
	u := s.payURL(t, testNow.Add(time.Hour)) // issued an hour ago
	s.fake.view.LinksRevokedAt = testNow.Add(-30 * time.Minute)
	resp, body := s.get(t, u)
	if resp.StatusCode != 404 || !strings.Contains(body, "not valid") || strings.Contains(body, "<form") {
		t.Errorf("revoked: status %d, body %.300s", resp.StatusCode, body)
	}
	resp, _ = s.post(t, u, url.Values{"amount": {"20.00"}, "method": {"card"}})
	if resp.StatusCode != 404 || len(s.fake.pays) != 0 {
		t.Errorf("revoked POST: status %d, %d payments started; want 404, none", resp.StatusCode, len(s.fake.pays))
	}
	resp, body = s.get(t, s.payURL(t, testNow.Add(-time.Second)))
	if resp.StatusCode != 404 || !strings.Contains(body, "expired") {
		t.Errorf("revoked and expired: status %d, body %.300s; want the expired page", resp.StatusCode, body)
	}
	s.fake.view.LinksRevokedAt = testNow.Add(-2 * time.Hour) // before the link
	if resp, body := s.get(t, u); resp.StatusCode != 200 || !strings.Contains(body, "<form") {
		t.Errorf("revoked before issue: status %d, body %.300s; want the form", resp.StatusCode, body)
	}
}

func TestPaySubmitRedirectsToCheckout(t *testing.T) {
	s := newSite(t)
	u := s.payURL(t, testNow.Add(time.Hour))
	_, page := s.get(t, u)
	s.fake.res = syncer.PayResult{CheckoutURL: "https://checkout.stripe.com/c/pay/cs_test_1"}
	resp, _ := s.post(t, u, url.Values{"nonce": {nonceIn(t, page)}, "amount": {"20.00"}, "method": {"card"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != s.fake.res.CheckoutURL {
		t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	got := s.fake.pays[0]
	if got.Amount != usd(2000) || got.NewMethod != "card" || got.MethodID != "" || !strings.Contains(got.SuccessURL, "{CHECKOUT_SESSION_ID}") {
		t.Errorf("pay request %+v", got)
	}
}

func TestPaySubmitRefusals(t *testing.T) {
	s := newSite(t)
	u := s.payURL(t, testNow.Add(time.Hour))
	_, page := s.get(t, u)
	nonce := nonceIn(t, page)
	cases := []struct {
		name   string
		form   url.Values
		status int
		text   string
	}{
		{"no nonce", url.Values{"amount": {"20.00"}, "method": {"card"}}, 400, "expired"},
		{"forged nonce", url.Values{"nonce": {strings.Repeat("A", len(nonce))}, "amount": {"20.00"}, "method": {"card"}}, 400, "expired"},
		{"bad amount", url.Values{"nonce": {nonce}, "amount": {"20,0"}, "method": {"card"}}, 400, "Enter the amount"},
		{"no method", url.Values{"nonce": {nonce}, "amount": {"20.00"}, "method": {"paypal"}}, 400, "Choose how to pay"},
	}
	for _, c := range cases {
		resp, body := s.post(t, u, c.form)
		if resp.StatusCode != c.status || !strings.Contains(body, c.text) {
			t.Errorf("%s: status %d, want %d with %q", c.name, resp.StatusCode, c.status, c.text)
		}
	}
	// Oversized and malformed bodies.
	big := url.Values{"nonce": {nonce}, "amount": {strings.Repeat("1", maxForm)}, "method": {"card"}}
	if resp, _ := s.post(t, u, big); resp.StatusCode != 400 {
		t.Errorf("oversized form: status %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", u, strings.NewReader(`{"amount":"20"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := s.client.Do(req); err != nil || resp.StatusCode != 400 {
		t.Errorf("JSON body: %v %v", resp.StatusCode, err)
	}
	if len(s.fake.pays) != 0 {
		t.Errorf("%d payments started by refused forms", len(s.fake.pays))
	}
	// The engine's refusal is shown on the form with its status.
	s.fake.err = stripesync.Errorf(stripesync.EINVALID, "The amount must be at least 0.50 USD")
	resp, body := s.post(t, u, url.Values{"nonce": {nonce}, "amount": {"0.49"}, "method": {"card"}})
	if resp.StatusCode != 400 || !strings.Contains(body, "The amount must be at least 0.50 USD") || !strings.Contains(body, `value="0.49"`) {
		t.Errorf("engine refusal: status %d body %.300s", resp.StatusCode, body)
	}
}

func TestPaidInvoiceShowsNoForm(t *testing.T) {
	s := newSite(t)
	v := openView()
	v.Open = false
	v.Rollup.Status = stripesync.InvoicePaid
	v.Rollup.Balance = usd(0)
	v.Payments = []stripesync.Payment{{ID: "pi_1", Amount: usd(5000), Status: stripesync.PaymentSucceeded, MethodDetail: "Visa •••• 4242", ReceiptNumber: "R-000001", PaidAt: testNow}}
	s.fake.view = v
	resp, body := s.get(t, s.payURL(t, testNow.Add(time.Hour)))
	if resp.StatusCode != 200 || !strings.Contains(body, "This invoice is paid") || strings.Contains(body, "<form") || !strings.Contains(body, "/receipts/pi_1.pdf") {
		t.Errorf("status %d body %.500s", resp.StatusCode, body)
	}
}

// A saved bank account's mandate is stamped with the form's issue time, so
// that a repeat of the submit a little later sends Stripe the very same
// charge under the same idempotency key.
func TestSavedBankMandateIsStampedWithTheForm(t *testing.T) {
	s := newSite(t)
	s.fake.view.Methods = []stripesync.SavedMethod{{ID: "pm_bank", Type: stripesync.MethodTypeBank, BankName: "STRIPE TEST BANK", Last4: "6789"}}
	u := s.payURL(t, testNow.Add(3*time.Hour))
	_, page := s.get(t, u)
	form := url.Values{"nonce": {nonceIn(t, page)}, "amount": {"20.00"}, "method": {"saved:pm_bank"}}
	s.fake.res = syncer.PayResult{Payment: stripesync.Payment{ID: "pi_1", InvoiceID: s.fake.view.Invoice.ID, Amount: usd(2000), Status: stripesync.PaymentProcessing}}
	s.post(t, u, form)
	*s.now = testNow.Add(90 * time.Second)
	s.post(t, u, form)
	if len(s.fake.pays) != 2 {
		t.Fatalf("%d pay requests, want 2", len(s.fake.pays))
	}
	first, second := s.fake.pays[0].Mandate, s.fake.pays[1].Mandate
	if first == nil || second == nil || !first.AcceptedAt.Equal(testNow) || *first != *second {
		t.Errorf("mandates %+v and %+v, want both accepted at %v", first, second, testNow)
	}
}

// The page after a bank payment says what happens next: a debit waiting
// for micro-deposits asks the payer to confirm them; one processing says
// it is on its way.
func TestPendingPageWording(t *testing.T) {
	for _, c := range []struct {
		status      stripesync.PaymentStatus
		want, avoid string
	}{
		{stripesync.PaymentAwaitingVerification, "confirm the micro-deposits", "is processing"},
		{stripesync.PaymentProcessing, "is processing", "micro-deposits"},
	} {
		t.Run(string(c.status), func(t *testing.T) {
			s := newSite(t)
			s.fake.view.Methods = []stripesync.SavedMethod{{ID: "pm_bank", Type: stripesync.MethodTypeBank, BankName: "STRIPE TEST BANK", Last4: "6789"}}
			u := s.payURL(t, testNow.Add(time.Hour))
			_, page := s.get(t, u)
			s.fake.res = syncer.PayResult{Payment: stripesync.Payment{ID: "pi_1", InvoiceID: s.fake.view.Invoice.ID, Amount: usd(2000), Status: c.status}}
			resp, body := s.post(t, u, url.Values{"nonce": {nonceIn(t, page)}, "amount": {"20.00"}, "method": {"saved:pm_bank"}})
			if resp.StatusCode != 200 || !strings.Contains(body, c.want) || strings.Contains(body, c.avoid) || !strings.Contains(body, "20.00 USD") {
				t.Errorf("status %d, want 200 with %q and without %q:\n%s", resp.StatusCode, c.want, c.avoid, body)
			}
		})
	}
}

func TestVoidAndDraftInvoicesShowNoForm(t *testing.T) {
	for status, want := range map[stripesync.InvoiceStatus]string{
		stripesync.InvoiceVoid:  "This invoice was cancelled",
		stripesync.InvoiceDraft: "This invoice is not ready to be paid",
	} {
		s := newSite(t)
		v := openView()
		v.Open = false
		v.Invoice.Status, v.Rollup.Status = status, status
		s.fake.view = v
		resp, body := s.get(t, s.payURL(t, testNow.Add(time.Hour)))
		if resp.StatusCode != 200 || !strings.Contains(body, want) || strings.Contains(body, "<form") {
			t.Errorf("%s invoice: status %d, body %.400s", status, resp.StatusCode, body)
		}
		if resp, _ := s.post(t, s.payURL(t, testNow.Add(time.Hour)), url.Values{"amount": {"10.00"}, "method": {"card"}}); resp.StatusCode != 200 || len(s.fake.pays) != 0 {
			t.Errorf("%s invoice: a POST got %d and started %d payments", status, resp.StatusCode, len(s.fake.pays))
		}
	}
}
