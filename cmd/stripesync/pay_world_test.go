package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/receipts/smtptest"
	"github.com/stripesync/stripesync/store/storetest"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// payWorld is the collection half end to end: the emulators, a real SMTP
// server, the built serve binary pointed at them with links, mail and
// webhooks on, and one CRM account pushed to Stripe.
type payWorld struct {
	emu     *emulators
	mail    *smtptest.Server
	env     []string
	d       *daemon
	account string
	base    string // the daemon's public URL
}

const (
	payWebhookSecret   = "whsec_payWorldSecret0123456789"
	payWorldSigningKey = "payworld-signing-key-0123456789abcdef"
)

// newPayWorld starts everything on SQLite, or on Postgres when postgres is
// set; extra is more of the daemon's environment, overriding the world's.
// Invoices are added with invoice and pulled with sync.
func newPayWorld(t testing.TB, postgres bool, extra ...string) *payWorld {
	t.Helper()
	return setUpPayWorld(t, postgres, payWorldSetup{}, extra...)
}

// payWorldSetup changes how a pay world is set up.
type payWorldSetup struct {
	// prepare, if set, runs on the emulators before the first command and
	// returns more of the daemon's environment.
	prepare func(t testing.TB, emu *emulators) []string
	// webhooks, if set, subscribes the daemon's webhook URL to the
	// Stripe emulator's events in its place of a platform endpoint.
	webhooks func(emu *emulators, url, secret string) error
}

// setUpPayWorld is newPayWorld as setup says.
func setUpPayWorld(t testing.TB, postgres bool, setup payWorldSetup, extra ...string) *payWorld {
	t.Helper()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
	if postgres {
		dbURL = storetest.PostgresURL(t)
	}
	emu, env := emulatorEnv(t, dbURL, 0)
	if setup.prepare != nil {
		env = append(env, setup.prepare(t, emu)...)
	}
	if setup.webhooks == nil {
		setup.webhooks = func(emu *emulators, url, secret string) error { return emu.st.AddWebhookEndpoint(url, secret) }
	}
	mail := smtptest.NewServer(t, smtptest.Options{})
	addr := freeAddr(t)
	w := &payWorld{emu: emu, mail: mail, base: "http://" + addr}
	w.env = append(env,
		"STRIPESYNC_LISTEN="+addr, "STRIPESYNC_PUBLIC_URL="+w.base,
		"STRIPESYNC_SMTP_URL="+mail.URL(), "STRIPESYNC_MAIL_FROM=billing@acme.test",
		"STRIPESYNC_SIGNING_KEY="+payWorldSigningKey,
		"STRIPESYNC_BUSINESS_NAME=Acme Supplies", "STRIPE_WEBHOOK_SECRET="+payWebhookSecret,
		"STRIPESYNC_LOG_FORMAT=json", "STRIPESYNC_LOG_LEVEL=debug")
	w.env = append(w.env, extra...)
	w.account = emu.sf.Insert("Account", map[string]any{"Name": "Initech", "Billing_Email__c": "ap@initech.test"})
	w.run(t, "sync", "accounts")
	w.d = startDaemon(t, w.env)
	// Every pay world's run log must be what a log pipeline can parse.
	t.Cleanup(func() { checkJSONLog(t, w.d.log.From(0)) })
	if err := setup.webhooks(emu, w.base+"/stripe/webhook", payWebhookSecret); err != nil {
		t.Fatal(err)
	}
	return w
}

// run runs one stripesync command against the world and returns stdout.
func (w *payWorld) run(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary, args...)
	cmd.Env = w.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("stripesync %v: %v\n%s%s", args, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// try runs one stripesync command that may fail and returns its stdout
// and stderr together, with the error of a non-zero exit.
func (w *payWorld) try(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binary, args...)
	cmd.Env = w.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// invoice adds an open invoice of the account to the CRM.
func (w *payWorld) invoice(t testing.TB, number, amount, currency string) string {
	t.Helper()
	return w.emu.sf.Insert("Invoice__c", map[string]any{
		"Name": number, "Account__c": w.account, "Amount__c": amount, "CurrencyIsoCode": currency,
		"Status__c": "Open", "Due_Date__c": "2026-12-31",
	})
}

// payLink pulls the CRM's invoices into the daemon's ledger and returns
// the payment link it wrote to the invoice.
func (w *payWorld) payLink(t testing.TB, invoiceID string) string {
	t.Helper()
	return strings.TrimSpace(w.run(t, "link", "--invoice", invoiceID))
}

// crmInvoice reads an invoice as the CRM holds it.
func (w *payWorld) crmInvoice(t testing.TB, id string) map[string]any {
	t.Helper()
	rec, ok := w.emu.sf.Get("Invoice__c", id)
	if !ok {
		t.Fatalf("no invoice %s in the CRM", id)
	}
	return rec
}

// waitFor polls cond until it holds or a generous deadline passes: the
// effect of a payment crosses a webhook, the worker and a CRM write.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// intentsOf returns the emulator's PaymentIntents for a CRM invoice.
func (w *payWorld) intentsOf(invoiceID string) []stripetest.PaymentIntent {
	var out []stripetest.PaymentIntent
	for _, pi := range w.emu.st.PaymentIntents() {
		if pi.Metadata[stripesync.MetadataInvoiceID] == invoiceID {
			out = append(out, pi)
		}
	}
	return out
}

// stripeGET reads an object from the Stripe emulator's API as JSON.
func (w *payWorld) stripeGET(t testing.TB, path string, into any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", w.emu.st.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+emuStripeKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatal(err)
	}
}

// verificationURL is the hosted micro-deposit page of a PaymentIntent
// waiting for verification.
func (w *payWorld) verificationURL(t testing.TB, piID string) string {
	t.Helper()
	var pi struct {
		Status     string `json:"status"`
		NextAction struct {
			Verify struct {
				URL string `json:"hosted_verification_url"`
			} `json:"verify_with_microdeposits"`
		} `json:"next_action"`
	}
	w.stripeGET(t, "/v1/payment_intents/"+piID, &pi)
	if pi.NextAction.Verify.URL == "" {
		t.Fatalf("PaymentIntent %s (%s) has no micro-deposit verification", piID, pi.Status)
	}
	return pi.NextAction.Verify.URL
}

// receiptsMailed counts the receipt messages received.
func (w *payWorld) receiptsMailed() int {
	n := 0
	for _, m := range w.mail.Messages() {
		if strings.Contains(m.Subject, "Receipt") || strings.Contains(m.Subject, "receipt") {
			n++
		}
	}
	return n
}

func (w *payWorld) String() string { return fmt.Sprintf("payWorld(%s)", w.base) }

// surfer is one browser over plain HTTP: its own cookie jar (the visitor
// cookie tells its reservations from another's), and redirects are not
// followed, so a test sees each 303 and where it points.
type surfer struct {
	c *http.Client
}

func newSurfer(t testing.TB) *surfer {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &surfer{c: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is one answer: its status, the Location of a redirect, the body.
type page struct {
	url         string
	status      int
	location    string
	contentType string
	body        string
}

func (s *surfer) get(t testing.TB, u string) page {
	t.Helper()
	return s.do(t, http.MethodGet, u, "", "")
}

// post submits a urlencoded form.
func (s *surfer) post(t testing.TB, u string, form url.Values) page {
	t.Helper()
	return s.do(t, http.MethodPost, u, "application/x-www-form-urlencoded", form.Encode())
}

func (s *surfer) do(t testing.TB, method, u, contentType, body string) page {
	t.Helper()
	p, err := s.try(t.Context(), method, u, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// try is do for a goroutine: it returns the error instead of failing.
func (s *surfer) try(ctx context.Context, method, u, contentType, body string) (page, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return page{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.c.Do(req)
	if err != nil {
		return page{}, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return page{}, fmt.Errorf("%s %s: %w", method, u, err)
	}
	p := page{url: u, status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: string(b)}
	if loc, err := resp.Location(); err == nil {
		p.location = loc.String()
	}
	return p, nil
}

// follow GETs where p redirects to, until an answer is not a redirect.
func (s *surfer) follow(t testing.TB, p page) page {
	t.Helper()
	for i := 0; p.status == http.StatusSeeOther || p.status == http.StatusFound; i++ {
		if i == 10 {
			t.Fatalf("more than 10 redirects from %s", p.url)
		}
		p = s.get(t, p.location)
	}
	return p
}

// want fails the test unless p has status and every one of texts.
func (p page) want(t testing.TB, status int, texts ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", p.url, p.status, status, p.body)
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Errorf("%s: the page lacks %q:\n%s", p.url, s, p.body)
		}
	}
}

// savedMethod finds a saved method's radio button; nonceField (the
// demo's) the form nonce.
var savedMethod = regexp.MustCompile(`name="method" id="method-\d+" value="(saved:pm_[^"]+)"`)

// nonce is the form nonce of a pay or portal page.
func (p page) nonce(t testing.TB) string {
	t.Helper()
	m := nonceField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("%s (%d) has no form nonce:\n%s", p.url, p.status, p.body)
	}
	return m[1]
}

// payForm is the pay page's form: its nonce, amount and method choice.
func payForm(nonce, amount, method string) url.Values {
	return url.Values{"nonce": {nonce}, "amount": {amount}, "method": {method}}
}

// submitPay opens the pay page of link in s and submits amount with method.
func (s *surfer) submitPay(t testing.TB, link, amount, method string) page {
	t.Helper()
	form := s.get(t, link)
	form.want(t, http.StatusOK)
	return s.post(t, link, payForm(form.nonce(t), amount, method))
}

// checkoutSession is the Checkout Session a pay page redirected to, read
// from the emulator's API.
type checkoutSession struct {
	ID        string `json:"id"`
	Mode      string `json:"mode"`
	Status    string `json:"status"`
	URL       string `json:"url"`
	CancelURL string `json:"cancel_url"`
	Amount    int64  `json:"amount_total"`
	Intent    string `json:"payment_intent"`
}

// session reads the Checkout Session whose hosted page is checkoutURL.
func (w *payWorld) session(t testing.TB, checkoutURL string) checkoutSession {
	t.Helper()
	prefix := w.emu.st.URL() + "/checkout/pay/"
	id, ok := strings.CutPrefix(checkoutURL, prefix)
	if !ok || !strings.HasPrefix(id, "cs_") {
		t.Fatalf("%q is not a hosted Checkout page of the emulator (%s…)", checkoutURL, prefix)
	}
	var cs checkoutSession
	w.stripeGET(t, "/v1/checkout/sessions/"+id, &cs)
	return cs
}

// cardCheckout is the hosted Checkout page's form paying with a test card.
func cardCheckout(number string) url.Values {
	return url.Values{
		"email": {"ap@initech.test"}, "method": {"card"}, "cardNumber": {number},
		"cardExpiry": {"12 / 30"}, "cardCvc": {"123"}, "billingName": {"Jane Doe"},
	}
}

// bankCheckout is the hosted Checkout page's form paying with a new US
// bank account: entry "instant" links the test institution's account at
// once, "manual" types in the test account, which goes to micro-deposits.
func bankCheckout(entry string) url.Values {
	f := url.Values{
		"email": {"ap@initech.test"}, "method": {"us_bank_account"}, "accountHolderName": {"Jane Doe"},
		"bankEntry": {entry},
	}
	if entry == "manual" {
		f.Set("routingNumber", "110000000")
		f.Set("accountNumber", "000123456789")
	}
	return f
}

// payByCard pays amount of link's invoice with a new test card through
// the hosted Checkout page, as a browser without JavaScript would, and
// returns the daemon's answer to the return from Checkout followed to
// its end (the receipt).
func (s *surfer) payByCard(t testing.TB, link, amount string) page {
	t.Helper()
	to := s.submitPay(t, link, amount, "card")
	to.want(t, http.StatusSeeOther)
	back := s.post(t, to.location, cardCheckout("4242424242424242"))
	back.want(t, http.StatusSeeOther)
	return s.follow(t, back)
}

// paymentWrites counts the requests that could have moved money or
// opened a way to: writes to Checkout Sessions and PaymentIntents.
func (w *payWorld) paymentWrites() int {
	n := 0
	for _, r := range w.emu.st.Requests() {
		if r.Method != http.MethodGet && (strings.HasPrefix(r.Path, "/v1/checkout/sessions") || strings.HasPrefix(r.Path, "/v1/payment_intents")) {
			n++
		}
	}
	return n
}

// wantNothingReserved checks, as a new visitor sees the pay page, that the
// whole balance can be paid: nobody holds a reservation of it.
func (w *payWorld) wantNothingReserved(t testing.TB, link, balance string) {
	t.Helper()
	p := newSurfer(t).get(t, link)
	p.want(t, http.StatusOK, `value="`+balance+`"`)
	if strings.Contains(p.body, "being paid by someone else") {
		t.Errorf("%s shows a reservation:\n%s", link, p.body)
	}
}

// portalLink returns a customer portal link of a CRM account.
func (w *payWorld) portalLink(t testing.TB, accountID string) string {
	t.Helper()
	return strings.TrimSpace(w.run(t, "link", "--portal", accountID))
}

// customerOf is the Stripe customer the daemon pushed a CRM account to.
func (w *payWorld) customerOf(t testing.TB, accountID string) string {
	t.Helper()
	cs := w.emu.st.CustomersWithMetadata(stripesync.MetadataAccountID, accountID)
	if len(cs) != 1 {
		t.Fatalf("%d Stripe customers for account %s, want 1", len(cs), accountID)
	}
	return cs[0].ID
}
