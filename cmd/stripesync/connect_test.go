package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// Two connected accounts of the emulator's platform that can take
// charges, and one whose onboarding is not finished.
const (
	connectA       = "acct_1ConnectedA"
	connectB       = "acct_1ConnectedB"
	connectPending = "acct_1ConnectedPending"
)

// addConnectedAccounts registers connectA, connectB and connectPending.
func addConnectedAccounts(t testing.TB, st *stripetest.Server) {
	t.Helper()
	for _, a := range []stripetest.ConnectedAccount{
		{ID: connectA, ChargesEnabled: true, PayoutsEnabled: true, DetailsSubmitted: true, BusinessName: "Acme Supplies"},
		{ID: connectB, ChargesEnabled: true, PayoutsEnabled: true, DetailsSubmitted: true, BusinessName: "Someone Else"},
		{ID: connectPending},
	} {
		if _, err := st.AddConnectedAccount(a); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConnectDirectCharges is Connect end to end: the daemon acts for
// connected account A of a platform with two, behind a Connect endpoint
// (every connected account's events) and a platform endpoint. Customers
// and payments are made on A only; the events of B and of the platform
// are acknowledged, counted and logged once per account, never applied;
// the pull reads A only.
func TestConnectDirectCharges(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the serve binary")
	}
	w := setUpPayWorld(t, false, payWorldSetup{
		prepare: func(t testing.TB, emu *emulators) []string {
			addConnectedAccounts(t, emu.st)
			return []string{"STRIPE_ACCOUNT=" + connectA}
		},
		webhooks: func(emu *emulators, url, secret string) error {
			return errors.Join(emu.st.AddConnectWebhookEndpoint(url, secret), emu.st.AddWebhookEndpoint(url, secret))
		},
	})
	st := w.emu.st

	// The CRM account pushed by sync accounts is a customer of A only.
	cus := w.customerOf(t, w.account)
	for _, c := range st.Customers() {
		if c.Account != connectA {
			t.Errorf("customer %s made on account %q, want %s", c.ID, c.Account, connectA)
		}
	}

	// A payment on the pay page goes through Checkout on A and is
	// recorded from A's events.
	inv := w.invoice(t, "INV-5001", "100.00", "USD")
	if r := newSurfer(t).payByCard(t, w.payLink(t, inv), "40.00"); r.status != http.StatusOK || r.contentType != "application/pdf" {
		t.Fatalf("paying 40.00 by card ends at %s: %d %s", r.url, r.status, r.contentType)
	}
	waitFor(t, "40.00 paid in the CRM", func() bool { return amountPaid(t, w, inv) == 4000 })
	for _, pi := range st.PaymentIntents() {
		if pi.Account != connectA {
			t.Errorf("PaymentIntent %s made on account %q, want %s", pi.ID, pi.Account, connectA)
		}
	}

	// Payments of B and of the platform that name the same invoice:
	// their events reach the daemon and are acknowledged, not applied.
	// A's next payment is the barrier: once it shows, everything before
	// it was handled.
	meta := map[string]string{stripesync.MetadataInvoiceID: inv}
	cusB := st.CreateCustomer(stripetest.Customer{Account: connectB, Name: "Initech", Metadata: map[string]string{stripesync.MetadataAccountID: w.account}})
	for _, p := range []stripetest.PayParams{
		{Account: connectB, Customer: cusB, Amount: 1500, Currency: "usd", Metadata: meta},
		{Amount: 2500, Currency: "usd", Metadata: meta},
		{Account: connectB, Amount: 700, Currency: "usd", Metadata: meta},
	} {
		if _, err := st.Pay(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pay(stripetest.PayParams{Account: connectA, Customer: cus, Amount: 1000, Currency: "usd", Metadata: meta}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A's 10.00 in the CRM", func() bool { return amountPaid(t, w, inv) >= 5000 })
	if err := st.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := amountPaid(t, w, inv); got != 5000 {
		t.Errorf("the CRM shows %d cents paid, want 5000: other accounts' payments were applied", got)
	}
	accountOf := map[string]string{}
	for _, e := range st.Events() {
		accountOf[e.ID] = e.Account
	}
	others := 0
	for _, d := range st.Deliveries() {
		if !d.OK() {
			t.Errorf("delivery of %s (%s, account %q) answered %d %s", d.EventID, d.EventType, accountOf[d.EventID], d.Status, d.Err)
		}
		if accountOf[d.EventID] != connectA {
			others++
		}
	}
	if others == 0 {
		t.Fatal("no event of another account was delivered")
	}
	if got := scrapeMetric(t, w.base, `stripesync_events_ignored_total{reason="other_account"}`); got != fmt.Sprint(others) {
		t.Errorf("stripesync_events_ignored_total = %s, want the %d deliveries of other accounts' events", got, others)
	}
	logs := w.d.log.From(0)
	if n := strings.Count(logs, "ignoring Stripe events of another account"); n != 2 ||
		!regexp.MustCompile(`"event_account":"`+connectB+`"`).MatchString(logs) ||
		!strings.Contains(logs, `"event_account":"platform"`) {
		t.Errorf("%d log lines about other accounts' events, want one for %s and one for the platform", n, connectB)
	}

	// The pull, with the daemon stopped: it finds A's payment and
	// nothing of B's, reading A only.
	w.d.stop()
	if _, err := st.Pay(stripetest.PayParams{Account: connectA, Customer: cus, Amount: 500, Currency: "usd", Metadata: meta}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pay(stripetest.PayParams{Account: connectB, Customer: cusB, Amount: 900, Currency: "usd", Metadata: meta}); err != nil {
		t.Fatal(err)
	}
	seen := len(st.Requests())
	w.run(t, "sync", "payments", "--since", "1h")
	if got := amountPaid(t, w, inv); got != 5500 {
		t.Errorf("after the pull the CRM shows %d cents paid, want 5500", got)
	}
	pulled := map[string]bool{}
	for _, r := range st.Requests()[seen:] {
		pulled[r.Method+" "+r.Path] = true
	}
	if !pulled["GET /v1/payment_intents"] || !pulled["GET /v1/events"] {
		t.Errorf("the pull's requests %v lack the lists", pulled)
	}

	// Every API request of the daemon and its commands acted for A; only
	// the start check asked about A as the platform.
	for _, r := range st.Requests() {
		want := connectA
		if r.Path == "/v1/accounts/"+connectA {
			want = ""
		}
		if strings.HasPrefix(r.Path, "/v1/") && r.Account != want {
			t.Errorf("%s %s sent Stripe-Account %q, want %q", r.Method, r.Path, r.Account, want)
		}
		if r.Method == http.MethodPost && strings.HasPrefix(r.Path, "/v1/") && !strings.HasPrefix(r.IdempotencyKey, connectA+":") {
			t.Errorf("%s %s sent Idempotency-Key %q, not scoped to %s", r.Method, r.Path, r.IdempotencyKey, connectA)
		}
	}
}

// amountPaid is the invoice's Amount_Paid__c in the CRM, in cents.
func amountPaid(t testing.TB, w *payWorld, inv string) int64 {
	t.Helper()
	raw := w.crmInvoice(t, inv)["Amount_Paid__c"]
	if raw == nil {
		return 0
	}
	m, err := stripesync.ParseMoney(fmt.Sprint(raw), "USD")
	if err != nil {
		t.Fatal(err)
	}
	return m.Amount
}

// scrapeMetric returns the value of one series of the daemon's metrics.
func scrapeMetric(t testing.TB, base, series string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in the metrics:\n%.4000s", series, body)
	return ""
}

// TestStripeAccountStartCheck: a STRIPE_ACCOUNT the key cannot act for,
// or one that cannot take charges yet, stops serve and the other
// commands that use Stripe with exit status 2 and a plain message;
// commands that do not use Stripe do not check it.
func TestStripeAccountStartCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	emu, env := emulatorEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "ledger.db"), 0)
	addConnectedAccounts(t, emu.st)
	for _, tc := range []struct {
		account string
		args    []string
		want    string
	}{
		{"acct_1Unknown", []string{"serve"}, "configuration: STRIPE_ACCOUNT: acct_1Unknown is not an account this key can act for"},
		{connectPending, []string{"serve"}, "configuration: STRIPE_ACCOUNT: " + connectPending + " cannot take charges yet (its onboarding is not finished) (Stripe: requirements.past_due)"},
		{"acct_1Unknown", []string{"sync", "payments"}, "is not an account this key can act for"},
	} {
		cmd := exec.CommandContext(t.Context(), binary, tc.args...)
		cmd.Env = append(env, "STRIPE_ACCOUNT="+tc.account, "STRIPESYNC_LISTEN="+freeAddr(t))
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Errorf("%v with STRIPE_ACCOUNT=%s: %v, want exit status 2; output:\n%s", tc.args, tc.account, err, out)
		} else if !strings.Contains(string(out), tc.want) {
			t.Errorf("%v with STRIPE_ACCOUNT=%s says:\n%s\nwant %q", tc.args, tc.account, out, tc.want)
		}
	}
	cmd := exec.CommandContext(t.Context(), binary, "failures", "list")
	cmd.Env = append(env, "STRIPE_ACCOUNT=acct_1Unknown")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("failures list with an unknown STRIPE_ACCOUNT: %v\n%s", err, out)
	}
}

// fakeAccounts answers the start check's read.
type fakeAccounts struct {
	account stripeclient.ConnectedAccount
	err     error
}

func (f fakeAccounts) Account(context.Context, string) (stripeclient.ConnectedAccount, error) {
	return f.account, f.err
}

// TestCheckStripeAccountAnswers: what each answer of the read makes of
// the start: a refused key is a configuration error too; an outage, a
// rate limit or a stop is not, and the command goes on.
func TestCheckStripeAccountAnswers(t *testing.T) {
	ready := stripeclient.ConnectedAccount{ID: connectA, ChargesEnabled: true}
	stopped, stop := context.WithCancel(t.Context())
	stop()
	for _, tc := range []struct {
		name      string
		ctx       context.Context
		read      fakeAccounts
		problem   string // "" when the command goes on
		logWanted string
	}{
		{"ready", t.Context(), fakeAccounts{account: ready}, "", "acting for a connected account"},
		{"not found", t.Context(), fakeAccounts{err: stripesync.Errorf(stripesync.ENOTFOUND, "stripe: no such account")},
			"STRIPE_ACCOUNT: " + connectA + " is not an account this key can act for", ""},
		{"refused key", t.Context(), fakeAccounts{err: stripesync.Errorf(stripesync.EUNAUTHORIZED, "stripe: Invalid API Key provided")},
			"STRIPE_SECRET_KEY: Stripe refused the key while checking STRIPE_ACCOUNT " + connectA, ""},
		{"charges disabled", t.Context(), fakeAccounts{account: stripeclient.ConnectedAccount{ID: connectA}},
			"STRIPE_ACCOUNT: " + connectA + " cannot take charges yet (its onboarding is not finished)", ""},
		{"outage", t.Context(), fakeAccounts{err: stripesync.Errorf(stripesync.EUNAVAILABLE, "stripe: no answer from Stripe")},
			"", "cannot check STRIPE_ACCOUNT now; going on without the check"},
		{"rate limited", t.Context(), fakeAccounts{err: stripesync.Errorf(stripesync.ERATELIMITED, "stripe: rate limited")},
			"", "cannot check STRIPE_ACCOUNT now"},
		{"stopped", stopped, fakeAccounts{err: stripesync.WrapError(stripesync.EUNAVAILABLE, context.Canceled, "stripe: gave up")}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			err := checkStripeAccount(tc.ctx, tc.read, connectA, slog.New(slog.NewTextHandler(&logs, nil)))
			var cfgErr *ConfigError
			switch {
			case tc.problem == "" && err != nil:
				t.Errorf("err = %v, want the command to go on", err)
			case tc.problem != "" && (!errors.As(err, &cfgErr) || !strings.Contains(err.Error(), tc.problem)):
				t.Errorf("err = %v, want a *ConfigError saying %q", err, tc.problem)
			}
			if !strings.Contains(logs.String(), tc.logWanted) {
				t.Errorf("log %q lacks %q", logs.String(), tc.logWanted)
			}
		})
	}
}
