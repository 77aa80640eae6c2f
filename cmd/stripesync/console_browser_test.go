package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	gosync "sync"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/internal/browsertest"
)

// requestLog is a reverse proxy in front of the daemon that keeps every
// request the browser sends it, bodies included: what the daemon receives.
type requestLog struct {
	URL string
	mu  gosync.Mutex
	buf strings.Builder
}

func newRequestLog(t *testing.T, target string) *requestLog {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	l := &requestLog{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		l.mu.Lock()
		l.buf.WriteString(r.Method + " " + r.URL.String() + "\n" + string(body) + "\n")
		l.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	l.URL = srv.URL
	return l
}

func (l *requestLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestStaffConsoleInChromium takes a 50.00 invoice's payments in the staff
// console, in a real browser, as staff would on the phone: a declined
// card shows the decline and holds nothing; 20.00 by a new card through
// the Stripe.js stand-in; 30.00 from bank details, verified with the
// micro-deposits after one wrong try. The settlement makes the invoice
// Paid, two receipts are mailed, and the audit trail on the page shows
// both payments. A form posted without its CSRF token is refused, and no
// card number ever reaches the daemon or its log.
func TestStaffConsoleInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the serve binary and Chromium")
	}
	w := newStaffWorld(t, false, "INV-3001", "50.00")
	proxy := newRequestLog(t, w.base)
	b := newBrowser(t)
	invoicePage := proxy.URL + "/staff/invoices/" + w.invoice

	// The Take Payment button's address asks for the token first, then
	// comes back to the invoice.
	browsertest.Open(t, b.ctx, invoicePage)
	b.waitText(t, "Sign in to the staff console")
	browsertest.Screenshot(t, b.ctx, "sign-in")
	browsertest.AssertAccessible(t, b.ctx)
	b.do(t, "sign in with a wrong token",
		chromedp.SendKeys(chromedp.CSS("#token"), "sst_not-a-token"),
		chromedp.Click(chromedp.CSS("#sign-in")),
	)
	b.waitText(t, "That token is not valid")
	b.do(t, "sign in",
		chromedp.SendKeys(chromedp.CSS("#token"), w.tokens["alice"]),
		chromedp.Click(chromedp.CSS("#sign-in")),
	)
	page := b.waitText(t, "Invoice INV-3001")
	for _, want := range []string{"Initech", "Signed in as alice", "Can be taken now", "50.00 USD", "Visa •••• 4242"} {
		if !strings.Contains(page, want) {
			t.Errorf("the invoice page does not show %q:\n%s", want, page)
		}
	}
	checkSessionCookie(t, b)

	// A declined card: the decline in plain words, nothing held.
	b.payByNewCard(t, "20.00", "4000 0000 0000 0002")
	b.waitText(t, "Your card was declined")
	browsertest.Screenshot(t, b.ctx, "card-declined")
	if got := value(t, b, "read what can be taken", chromedp.Text(chromedp.CSS("#payable"))); got != "50.00 USD" {
		t.Errorf("after the decline %s can be taken, want 50.00 USD: the decline left a reservation", got)
	}

	// The decline is in the failure inbox, on the console's failures
	// page, once its webhook is in; dismissed there, it leaves the list.
	waitFor(t, "the decline on the failures page", func() bool {
		browsertest.Open(t, b.ctx, proxy.URL+"/staff/failures")
		return strings.Contains(b.text(t), "generic_decline")
	})
	browsertest.Screenshot(t, b.ctx, "failures")
	browsertest.AssertAccessible(t, b.ctx)
	if page := b.text(t); !strings.Contains(page, "staff, 20.00 USD") || !strings.Contains(page, stripesync.NextStepFor("generic_decline")) {
		t.Errorf("the failures page shows:\n%s", page)
	}
	b.do(t, "dismiss the decline", chromedp.Click(chromedp.CSS(`#failures form[action$="/dismiss"] button`)))
	b.waitText(t, "was dismissed")
	if page := b.text(t); !strings.Contains(page, "No open failures") {
		t.Errorf("after the dismissal the open list shows:\n%s", page)
	}
	browsertest.Open(t, b.ctx, invoicePage)
	b.payByNewCard(t, "20.00", "4242 4242 4242 4242")
	b.waitText(t, "The payment of 20.00 USD by Visa •••• 4242 went through")
	browsertest.Screenshot(t, b.ctx, "card-paid")

	b.payByBank(t, "30.00")
	b.waitText(t, "waits for the bank account to be verified")
	browsertest.Screenshot(t, b.ctx, "bank-awaiting-verification")
	browsertest.AssertAccessible(t, b.ctx)

	b.verify(t, "12", "34")
	b.waitText(t, "9 attempts left")
	browsertest.Screenshot(t, b.ctx, "verification-wrong")
	b.verify(t, "32", "45")
	b.waitText(t, "The bank account is verified")

	var bank string
	for _, pi := range w.intentsOf(w.invoice) {
		if pi.Amount == 3000 {
			bank = pi.ID
		}
	}
	if err := w.emu.st.SettleACH(bank); err != nil {
		t.Fatalf("settle the bank payment %q: %v", bank, err)
	}
	waitFor(t, "the invoice Paid in the CRM", func() bool { return w.crmInvoice(t, w.invoice)["Status__c"] == "Paid" })
	waitFor(t, "two receipts mailed", func() bool { return w.receiptsMailed() == 2 })

	browsertest.Open(t, b.ctx, invoicePage)
	b.waitText(t, "Invoice INV-3001")
	browsertest.Screenshot(t, b.ctx, "paid")
	if got := value(t, b, "read the status", chromedp.Text(chromedp.CSS("#status"))); got != "Paid" {
		t.Errorf("the console shows the invoice %s, want Paid", got)
	}
	// A receipt e-mailed again, from its row. Which payment's receipt is
	// numbered first depends on which receipt job ran first, so the number
	// the audit trail must name is read from the row.
	first := value(t, b, "read the first receipt's number", chromedp.Evaluate[string](`document.querySelector('table.payments a[href*="/receipts/"]').firstChild.textContent`))
	b.do(t, "re-send the first receipt", chromedp.Click(chromedp.CSS(`table.payments form.inline button`)))
	b.waitText(t, "The receipt was e-mailed again to ap@initech.test")
	waitFor(t, "the receipt mailed again", func() bool { return w.receiptsMailed() == 3 })
	receipts := value(t, b, "count the receipt links", chromedp.Evaluate[int](`document.querySelectorAll('table.payments a[href*="/receipts/"]').length`))
	if receipts != 2 {
		t.Errorf("the console links %d receipts, want 2", receipts)
	}
	audit := value(t, b, "read the audit trail", chromedp.Text(chromedp.CSS("#audit")))
	for _, want := range []string{
		"payment: 20.00 with pm_", // the decline and the payment
		"Your card was declined",
		"payment: 30.00 from bank account ••••6789 (individual, Jenny Rosen)",
		"verification: amounts 12, 34",
		"verification: amounts 32, 45",
		"receipt re-sent: " + first + " to ap@initech.test",
	} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit trail does not show %q:\n%s", want, audit)
		}
	}
	if n := strings.Count(audit, "alice"); n != 6 {
		t.Errorf("the audit trail shows alice %d times, want 6 (decline, card, bank, two verifications, receipt):\n%s", n, audit)
	}

	// A post without the session's CSRF token does nothing.
	cookie := sessionCookieOf(t, b)
	for _, form := range []url.Values{
		{"kind": {"saved"}, "amount": {"1.00"}, "payment_method": {w.card}, "key": {strings.Repeat("A", 43)}},
		{"kind": {"saved"}, "amount": {"1.00"}, "payment_method": {w.card}, "key": {strings.Repeat("A", 43)}, "csrf": {"forged"}},
	} {
		writes := w.paymentWrites()
		if status := postForm(t, w.base+"/staff/invoices/"+w.invoice+"/payments", form, cookie); status != http.StatusForbidden {
			t.Errorf("a post with csrf=%q: %d, want 403", form.Get("csrf"), status)
		}
		if n := w.paymentWrites(); n != writes {
			t.Errorf("the forged post wrote %d payment requests to Stripe", n-writes)
		}
	}

	// A search by the account's name lists both its invoices.
	second := w.payWorld.invoice(t, "INV-3002", "10.00", "USD")
	w.run(t, "sync", "accounts")
	b.do(t, "search by account name",
		chromedp.Click(chromedp.CSS(`nav a[href="/staff/invoices"]`)),
		chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SetValue(chromedp.CSS("#q"), "initech"),
		chromedp.Click(chromedp.CSS("#search")),
	)
	page = b.waitText(t, "2 invoices found")
	browsertest.Screenshot(t, b.ctx, "search")
	browsertest.AssertAccessible(t, b.ctx)
	if !strings.Contains(page, "INV-3001") || !strings.Contains(page, "INV-3002") {
		t.Errorf("the search lists:\n%s", page)
	}
	b.do(t, "open INV-3002", chromedp.Click(chromedp.CSS(`a[href="/staff/invoices/`+second+`"]`)))
	b.waitText(t, "Invoice INV-3002")

	// The saved-method form sent twice (a double click, a resubmitted
	// page) pays once.
	form := url.Values{"kind": {"saved"}, "amount": {"4.00"}, "payment_method": {w.card},
		"csrf": {value(t, b, "read the CSRF token", chromedp.Value(chromedp.CSS(`#saved-form input[name=csrf]`)))},
		"key":  {value(t, b, "read the form's key", chromedp.Value(chromedp.CSS(`#saved-form input[name=key]`)))}}
	for range 2 {
		if status := postForm(t, w.base+"/staff/invoices/"+second+"/payments", form, cookie); status != http.StatusSeeOther {
			t.Errorf("the saved-method form: %d, want 303 to the invoice", status)
		}
	}
	if pis := w.intentsOf(second); len(pis) != 1 || pis[0].Amount != 400 {
		t.Errorf("the form sent twice made PaymentIntents %+v, want one of 4.00", pis)
	}

	// Without JavaScript the card form says why it cannot be used; the
	// bank form works.
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	browsertest.Open(t, b.ctx, proxy.URL+"/staff/invoices?q=inv-3002")
	page = b.waitText(t, "Invoice INV-3002")
	browsertest.Screenshot(t, b.ctx, "no-javascript")
	if !strings.Contains(page, "Taking a new card needs JavaScript") || !strings.Contains(page, "From a US bank account") {
		t.Errorf("without JavaScript the page shows:\n%s", page)
	}
	b.do(t, "send the payment link", chromedp.Click(chromedp.CSS("#send-link")))
	b.waitText(t, "A new payment link is on its way to ap@initech.test")
	if got := value(t, b, "read the audit trail", chromedp.Text(chromedp.CSS("#audit"))); !strings.Contains(got, "payment link sent: e-mailed to ap@initech.test") {
		t.Errorf("the link sent is not in the audit trail:\n%s", got)
	}
	b.payByBank(t, "6.00")
	b.waitText(t, "The payment of 6.00 USD waits for the bank account to be verified")

	seen := proxy.String() + w.d.log.From(0)
	for _, digits := range []string{"4242424242424242", "4242 4242", "4000000000000002", "4000 0000"} {
		if strings.Contains(seen, digits) {
			t.Errorf("card digits %q reached the daemon or its log", digits)
		}
	}
	if !strings.Contains(proxy.String(), "account_number="+testAccount) {
		t.Errorf("the request log did not record the bank form's post, so it proves nothing:\n%s", proxy.String())
	}
}

// postForm posts form with the session cookie, as a browser would, and
// returns the status, following no redirect.
func postForm(t *testing.T, target string, form url.Values, cookie *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", target, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(cookie)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// payByNewCard types a card into the console's Stripe.js form and submits
// it.
func (b *browser) payByNewCard(t *testing.T, amount, number string) {
	t.Helper()
	b.do(t, "pay by a new card",
		chromedp.WaitVisible(chromedp.CSS(`#card-element input[autocomplete=cc-number]`)),
		chromedp.SetValue(chromedp.CSS("#card-amount"), amount),
		chromedp.SendKeys(chromedp.CSS("#card-name"), "Jane Doe"),
		chromedp.SendKeys(chromedp.CSS(`#card-element input[autocomplete=cc-number]`), number),
		chromedp.SendKeys(chromedp.CSS(`#card-element input[autocomplete=cc-exp]`), "12/34"),
		chromedp.SendKeys(chromedp.CSS(`#card-element input[autocomplete=cc-csc]`), "123"),
		chromedp.Click(chromedp.CSS("#card-submit")),
	)
}

// payByBank takes amount from the test bank account, as the customer
// reads it out and agrees to the debit.
func (b *browser) payByBank(t *testing.T, amount string) {
	t.Helper()
	b.do(t, "pay from a bank account",
		chromedp.SetValue(chromedp.CSS("#bank-amount"), amount),
		chromedp.SendKeys(chromedp.CSS("#bank-routing"), testRouting),
		chromedp.SendKeys(chromedp.CSS("#bank-account"), testAccount),
		chromedp.SendKeys(chromedp.CSS("#bank-holder"), "Jenny Rosen"),
		chromedp.Click(chromedp.CSS("#bank-authorized")),
		chromedp.Click(chromedp.CSS("#bank-submit")),
	)
}

// verify enters two micro-deposits in the page's (only) verify form.
func (b *browser) verify(t *testing.T, a1, a2 string) {
	t.Helper()
	b.do(t, "enter the micro-deposits",
		chromedp.WaitVisible(chromedp.CSS(`form.verify input[name=amount1]`)),
		chromedp.SetValue(chromedp.CSS(`form.verify input[name=amount1]`), a1),
		chromedp.SetValue(chromedp.CSS(`form.verify input[name=amount2]`), a2),
		chromedp.Click(chromedp.CSS(`form.verify button[type=submit]`)),
	)
}

// sessionCookieOf returns the browser's console session cookie.
func sessionCookieOf(t *testing.T, b *browser) *http.Cookie {
	t.Helper()
	for _, c := range consoleCookies(t, b) {
		if c.Name == "stripesync_staff" {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatal("the browser holds no console session cookie")
	return nil
}

func consoleCookies(t *testing.T, b *browser) []*network.Cookie {
	t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	return res.Cookies
}

// checkSessionCookie checks the session cookie's attributes: script
// cannot read it, no other site's request carries it, and it goes only to
// the daemon's own pages (the console and the status page).
func checkSessionCookie(t *testing.T, b *browser) {
	t.Helper()
	for _, c := range consoleCookies(t, b) {
		if c.Name != "stripesync_staff" {
			continue
		}
		if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Path != "/" {
			t.Errorf("session cookie: HttpOnly %v, SameSite %q, Path %q; want HttpOnly, Strict, /", c.HTTPOnly, c.SameSite, c.Path)
		}
		return
	}
	t.Error("no session cookie after signing in")
}
