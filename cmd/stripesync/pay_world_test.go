package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
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

const payWebhookSecret = "whsec_payWorldSecret0123456789"

// newPayWorld starts everything on SQLite, or on Postgres when postgres is
// set; extra is more of the daemon's environment, overriding the world's.
// Invoices are added with invoice and pulled with sync.
func newPayWorld(t testing.TB, postgres bool, extra ...string) *payWorld {
	t.Helper()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
	if postgres {
		dbURL = storetest.PostgresURL(t)
	}
	emu, env := emulatorEnv(t, dbURL, 0)
	mail := smtptest.NewServer(t, smtptest.Options{})
	addr := freeAddr(t)
	w := &payWorld{emu: emu, mail: mail, base: "http://" + addr}
	w.env = append(env,
		"STRIPESYNC_LISTEN="+addr, "STRIPESYNC_PUBLIC_URL="+w.base,
		"STRIPESYNC_SMTP_URL="+mail.URL(), "STRIPESYNC_MAIL_FROM=billing@acme.test",
		"STRIPESYNC_SIGNING_KEY=payworld-signing-key-0123456789abcdef",
		"STRIPESYNC_BUSINESS_NAME=Acme Supplies", "STRIPE_WEBHOOK_SECRET="+payWebhookSecret,
		"STRIPESYNC_LOG_LEVEL=info")
	w.env = append(w.env, extra...)
	w.account = emu.sf.Insert("Account", map[string]any{"Name": "Initech", "Billing_Email__c": "ap@initech.test"})
	w.run(t, "sync", "accounts")
	w.d = startDaemon(t, w.env)
	if err := emu.st.AddWebhookEndpoint(w.base+"/stripe/webhook", payWebhookSecret); err != nil {
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
