package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
	"github.com/stripesync/stripesync/receipts/pdftext"
	"github.com/stripesync/stripesync/receipts/smtptest"
	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/store/storetest"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// binary is the stripesync executable built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stripesync-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "stripesync")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build stripesync: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestBadConfigListsEveryProblemAndExits2(t *testing.T) {
	env := map[string]string{
		"STRIPE_SECRET_KEY":             "pk_test_1234567890abcdef",
		"STRIPESYNC_DATABASE_URL":       "mysql://root@localhost/db",
		"STRIPESYNC_ACCOUNT_SYNC_EVERY": "soon",
		"SALESFORCE_CLIENT_ID":          "cid",
		"SALESFORCE_CLIENT_SECRET":      "csecret-value",
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"sync", "accounts"}, mapEnv(env), &stdout, &stderr)
	if code != 2 {
		t.Fatalf("exit code %d, want 2; stderr:\n%s", code, stderr.String())
	}
	msg := stderr.String()
	for _, want := range []string{"STRIPE_SECRET_KEY", "publishable", "STRIPESYNC_DATABASE_URL", "STRIPESYNC_ACCOUNT_SYNC_EVERY", "soon"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message does not mention %q:\n%s", want, msg)
		}
	}
	for _, secret := range []string{"pk_test_1234567890abcdef", "csecret-value"} {
		if strings.Contains(msg, secret) {
			t.Errorf("message leaks the secret %q:\n%s", secret, msg)
		}
	}

	// The same through the real binary: one message, exit status 2.
	cmd := exec.CommandContext(t.Context(), binary, "serve")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("binary: %v, want exit status 2; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "STRIPESYNC_DATABASE_URL") || !strings.Contains(string(out), "STRIPE_SECRET_KEY") {
		t.Errorf("binary output does not list every problem:\n%s", out)
	}
}

func TestMigrateNeedsOnlyTheDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	var stdout, stderr bytes.Buffer
	env := map[string]string{"STRIPESYNC_DATABASE_URL": "sqlite:" + path, "STRIPESYNC_LOG_LEVEL": "error"}
	if code := run(t.Context(), []string{"migrate"}, mapEnv(env), &stdout, &stderr); code != 0 {
		t.Fatalf("migrate without Stripe or Salesforce settings: exit %d\n%s", code, stderr.String())
	}
	db, err := store.Open(t.Context(), "sqlite:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Runs(t.Context(), "accounts", 1); err != nil {
		t.Errorf("the migrated database has no run log: %v", err)
	}
}

func TestUnknownCommandExits2(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"frobnicate"}, mapEnv(nil), &stdout, &stderr); code != 2 {
		t.Errorf("exit code %d, want 2", code)
	}
	if code := run(t.Context(), []string{"version"}, mapEnv(nil), &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "stripesync") {
		t.Errorf("version: exit %d, output %q", code, stdout.String())
	}
}

// TestSubcommandFlags: every -h exits 0 with the command's usage, and a
// subcommand refuses a flag that belongs to another (exit 2) instead of
// accepting and ignoring it.
func TestSubcommandFlags(t *testing.T) {
	for _, args := range [][]string{{"serve", "-h"}, {"emulate", "-h"}, {"sync", "accounts", "-h"}, {"sync", "payments", "-h"}, {"migrate", "-h"}} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, mapEnv(nil), &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "Usage") {
			t.Errorf("%v: exit %d, want 0 with the usage; stderr:\n%s", args, code, stderr.String())
		}
	}
	for _, tc := range []struct{ args []string }{
		{[]string{"sync", "accounts", "--since", "72h"}},
		{[]string{"sync", "payments", "--full"}},
	} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), tc.args, mapEnv(nil), &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), "flag provided but not defined") {
			t.Errorf("%v: exit %d, want 2 for another subcommand's flag; stderr:\n%s", tc.args, code, stderr.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"sync", "accounts", "-h"}, mapEnv(nil), &stdout, &stderr); strings.Contains(stderr.String(), "-since") {
		t.Errorf("sync accounts -h (exit %d) lists -since:\n%s", code, stderr.String())
	}
}

func TestDemoOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "demo", "--once")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"HOME=" + cmd.Dir, "TMPDIR=" + cmd.Dir}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo --once: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		"First push", "pushed 47", // 50 sample accounts: 2 Ignore, 1 error
		"error: Stripe customer cus_DemoDoesNotExist does not exist",
		"Second push", "pushed 2", "unbound", "(the other 47 accounts did not change: no Stripe call)",
		"INV-1002", "Mastercard •••• 4444", "Partially Refunded", "Bank •••• 6789",
		"6 receipts and 1 refund notice e-mailed", "Real time: an account renamed in Salesforce", "Demo folder:",
		"Mailed \"Invoice INV-2001", "Paid 20.00 on the pay page through Checkout", "Paid 30.00 with the saved card",
		"INV-2001 is Paid in the CRM", "Pay page:  http://127.0.0.1:", "Portal:    http://127.0.0.1:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	// The second push lists the three accounts it touched, not all 50.
	_, second, _ := strings.Cut(text, "Second push")
	second, _, _ = strings.Cut(second, "Payments:")
	if rows := strings.Count(second, "  Create  ") + strings.Count(second, "  Ignore  ") + strings.Count(second, "  Existing  "); rows != 3 {
		t.Errorf("the second push lists %d accounts, want the 3 that changed:\n%s", rows, second)
	}
	_, after, _ := strings.Cut(text, "Demo folder: ")
	folder, _, _ := strings.Cut(after, "\n")
	pdfs, _ := filepath.Glob(filepath.Join(folder, "mail", "*.pdf"))
	emls, _ := filepath.Glob(filepath.Join(folder, "mail", "*.eml"))
	// Eight receipts, the refund notice, and the payment link's message.
	if len(pdfs) != 8 || len(emls) != 10 {
		t.Errorf("demo folder %q holds %d PDFs and %d messages, want 8 and 10", folder, len(pdfs), len(emls))
	}
	// The receipts link to the port this run listened on, the one its pay
	// page used, not to a placeholder such as 127.0.0.1:0.
	_, pay, _ := strings.Cut(text, "Pay page:  ")
	base, _, _ := strings.Cut(pay, "/pay/")
	for _, path := range emls {
		msg, err := smtptest.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if m := receiptLink.FindStringSubmatch(msg.Text); m != nil && !strings.HasPrefix(m[1], base+"/receipts/") {
			t.Errorf("%s links to %s, not to the demo's daemon at %s", filepath.Base(path), m[1], base)
		}
	}
	for i, amount := range []string{"20.00", "30.00"} {
		pdf, err := os.ReadFile(filepath.Join(folder, fmt.Sprintf("pay-page-receipt-%d.pdf", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := pdftext.Read(pdf)
		if err != nil || !strings.Contains(doc.Text(), amount) || !strings.Contains(doc.Text(), "INV-2001") {
			t.Errorf("pay page receipt %d: %v\n%s", i+1, err, doc.Text())
		}
	}
}

// emulatorEnv starts emulators in the test process and returns the
// environment that points a daemon process at them.
func emulatorEnv(t testing.TB, dbURL string, accounts int) (*emulators, []string) {
	t.Helper()
	emu, err := startEmulators("127.0.0.1:0", "127.0.0.1:0", 0, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	seedSample(emu, accounts)
	env := []string{"HOME=" + t.TempDir(), "STRIPESYNC_DATABASE_URL=" + dbURL, "STRIPESYNC_LOG_FORMAT=text"}
	for k, v := range emu.env() {
		env = append(env, k+"="+v)
	}
	return emu, env
}

func TestTwoServeProcessesRunEachTickOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two daemons for several seconds")
	}
	dbURL := storetest.PostgresURL(t)
	_, env := emulatorEnv(t, dbURL, 10)
	env = append(env, "STRIPESYNC_ACCOUNT_SYNC_EVERY=1s", "STRIPESYNC_LISTEN=127.0.0.1:0")

	var procs []*exec.Cmd
	var logs []*bytes.Buffer
	for range 2 {
		var log bytes.Buffer
		cmd := exec.Command(binary, "serve")
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
		logs = append(logs, &log)
	}
	time.Sleep(5500 * time.Millisecond)
	for i, p := range procs {
		if err := p.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(); err != nil {
			t.Errorf("serve %d exited with %v after SIGTERM; log:\n%s", i, err, logs[i])
		}
	}

	db, err := store.Open(t.Context(), dbURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runs, err := db.Runs(t.Context(), "accounts", 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	for _, r := range runs {
		seen[r.StartedAt.Unix()]++
	}
	for sec, n := range seen {
		if n > 1 {
			t.Errorf("tick at %d ran %d times, want once", sec, n)
		}
	}
	if len(runs) < 3 {
		t.Errorf("%d runs in 5.5 s of 1 s ticks, want at least 3; logs:\n%s\n---\n%s", len(runs), logs[0], logs[1])
	}
	// Every tick ran to the end (the sample's one bad account makes the
	// first run partial, not failed).
	for _, r := range runs {
		if r.Status == stripesync.RunFailed || r.Status == stripesync.RunRunning {
			t.Errorf("run %d: %s %s", r.ID, r.Status, r.Error)
		}
	}
}

func TestKilledMidPushLeavesNoDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a real process")
	}
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
	emu, env := emulatorEnv(t, dbURL, 0)
	for i := range 300 {
		emu.sf.Insert("Account", map[string]any{"Name": fmt.Sprintf("Kill %03d", i)})
	}
	// Slow Stripe down so the kill lands mid-run, between creates and
	// ledger commits.
	emu.st.SetLatency(20 * time.Millisecond)

	cmd := exec.Command(binary, "sync", "accounts")
	cmd.Env = env
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(emu.st.Customers()) < 60 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	created := len(emu.st.Customers())
	if created == 0 || created >= 300 {
		t.Fatalf("kill landed at %d customers; the test needs a mid-run kill", created)
	}

	emu.st.SetLatency(0)
	rerun := exec.Command(binary, "sync", "accounts")
	rerun.Env = env
	if out, err := rerun.CombinedOutput(); err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	if got := len(emu.st.Customers()); got != 300 {
		t.Errorf("after kill at %d and a rerun, Stripe has %d customers, want exactly 300", created, got)
	}
	for _, c := range emu.st.Customers() {
		if n := len(emu.st.CustomersWithMetadata(stripesync.MetadataAccountID, c.Metadata[stripesync.MetadataAccountID])); n != 1 {
			t.Fatalf("account %s has %d customers", c.Metadata[stripesync.MetadataAccountID], n)
		}
	}
}

func TestSyncAccountsExitsNonZeroWhenThePushIsPartial(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	emu, env := emulatorEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "ledger.db"), 0)
	env = append(env, "STRIPESYNC_STRIPE_RATE=1000000")
	for i := range 60 {
		f := map[string]any{"Name": fmt.Sprintf("Partial %02d", i)}
		if i%10 == 3 {
			// A customer id that does not exist: a permanent failure.
			f["Stripe_Mapping__c"] = "Existing"
			f["Stripe_Customer_Id__c"] = fmt.Sprintf("cus_Missing%02d", i)
		}
		emu.sf.Insert("Account", f)
	}
	acct := emu.sf.Insert("Account", map[string]any{"Name": "Invoiced"})
	emu.sf.Insert("Invoice__c", map[string]any{"Name": "INV-7001", "Account__c": acct, "Amount__c": "10.00", "CurrencyIsoCode": "USD", "Status__c": "Open"})

	cmd := exec.CommandContext(t.Context(), binary, "sync", "accounts")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("sync accounts with 6 of 61 accounts failing: %v, want exit status 1; output:\n%s", err, out)
	}
	text := string(out)
	// The invoice pull that follows the push still ran and is reported,
	// but the push's outcome decides the exit status with it.
	for _, want := range []string{"accounts run #1 partial", "failed 6", "6 accounts failed", "invoices run #2 succeeded", "seen 1, pushed 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if got := len(emu.st.Customers()); got != 55 {
		t.Errorf("Stripe has %d customers, want the 55 the push could create", got)
	}
}

func TestPaymentsAndReceiptCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary several times")
	}
	dir := t.TempDir()
	emu, env := emulatorEnv(t, "sqlite:"+filepath.Join(dir, "ledger.db"), 0)
	mail := smtptest.NewServer(t, smtptest.Options{})
	env = append(env, "STRIPESYNC_SMTP_URL="+mail.URL(), "STRIPESYNC_MAIL_FROM=billing@seller.test",
		"STRIPESYNC_SIGNING_KEY=0123456789abcdef0123456789abcdef", "STRIPESYNC_PUBLIC_URL=https://pay.seller.test",
		"STRIPESYNC_BUSINESS_NAME=Seller Supplies Inc.")
	acct := emu.sf.Insert("Account", map[string]any{"Name": "Initech", "Billing_Email__c": "ap@initech.test"})
	inv := emu.sf.Insert("Invoice__c", map[string]any{"Name": "INV-9001", "Account__c": acct, "Amount__c": "42.00", "CurrencyIsoCode": "USD", "Status__c": "Open"})
	stripesyncCmd := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), binary, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("stripesync %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	stripesyncCmd("sync", "accounts")
	custs := emu.st.CustomersWithMetadata(stripesync.MetadataAccountID, acct)
	if len(custs) != 1 {
		t.Fatalf("%d customers for the account", len(custs))
	}
	// Paid while no daemon was listening: only the pull can find it.
	pi, err := emu.st.Pay(stripetest.PayParams{Customer: custs[0].ID, Amount: 4200, Currency: "usd",
		Metadata: map[string]string{stripesync.MetadataInvoiceID: inv}})
	if err != nil {
		t.Fatal(err)
	}
	stripesyncCmd("sync", "payments")
	if rec, _ := emu.sf.Get("Invoice__c", inv); rec["Status__c"] != "Paid" {
		t.Errorf("after sync payments the invoice is %v, want Paid", rec["Status__c"])
	}
	if n := len(mail.Messages()); n != 1 {
		t.Fatalf("%d receipts mailed by sync payments, want 1", n)
	}

	pdfPath := filepath.Join(dir, "r.pdf")
	out := stripesyncCmd("receipt", "--payment", pi, "-o", pdfPath)
	pdf, err := os.ReadFile(pdfPath)
	if err != nil {
		t.Fatalf("%v (output %s)", err, out)
	}
	doc, err := pdftext.Read(pdf)
	if err != nil {
		t.Fatal(err)
	}
	if text := doc.Text(); !strings.Contains(text, "R-000001") || !strings.Contains(text, "42.00 USD") || !strings.Contains(text, "Seller Supplies Inc.") {
		t.Errorf("receipt -o wrote a PDF without its number, amount or seller:\n%s", text)
	}
	if out := stripesyncCmd("receipt", "--payment", pi); !strings.Contains(out, "https://pay.seller.test/receipts/") {
		t.Errorf("receipt without flags printed no download link:\n%s", out)
	}
	stripesyncCmd("receipt", "--payment", pi, "--resend")
	if n := len(mail.Messages()); n != 2 {
		t.Errorf("%d messages after --resend, want 2", n)
	}
}

func TestServeTurnsAnOutboundMessageIntoAStripeUpdate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon")
	}
	dir := t.TempDir()
	emu, env := emulatorEnv(t, "sqlite:"+filepath.Join(dir, "ledger.db"), 0)
	acct := emu.sf.Insert("Account", map[string]any{"Name": "Before"})
	listen := freeAddr(t)
	env = append(env, "STRIPESYNC_LISTEN="+listen, "STRIPESYNC_TRIGGER_SECRET=serve-trigger-secret-0123")
	cmd := exec.CommandContext(t.Context(), binary, "sync", "accounts")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sync accounts: %v\n%s", err, out)
	}

	var log bytes.Buffer
	serve := exec.Command(binary, "serve")
	serve.Env = env
	serve.Stdout, serve.Stderr = &log, &log
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		_ = serve.Wait()
	}()
	ob := emu.sf.AddOutbound(crmtest.OutboundConfig{
		URL: "http://" + listen + "/salesforce/outbound/serve-trigger-secret-0123", Object: stripesync.ObjectAccount,
		OnWrite: true, RetryBase: 20 * time.Millisecond,
	})
	emu.sf.Update("Account", acct, map[string]any{"Name": "After"})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c := emu.st.CustomersWithMetadata(stripesync.MetadataAccountID, acct)
		if len(c) == 1 && c[0].Name == "After" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the edit never reached Stripe; outbound %+v; daemon log:\n%s", ob.Stats(), log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The operator's view of the same: health, the metrics of the calls and
	// the inboxes (no webhook came; the trigger may still be completing).
	for path, wants := range map[string][]string{
		"/healthz": {`"ok"`},
		"/readyz":  {`"ready"`},
		"/metrics": {`stripesync_api_calls_total{outcome="ok",service="stripe"}`,
			"\nstripesync_event_backlog 0\n", "\nstripesync_event_backlog_oldest_seconds 0\n",
			"\nstripesync_trigger_backlog ", `stripesync_inbox_pruned_total{inbox="triggers"} 0`},
	} {
		resp, err := http.Get("http://" + listen + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range wants {
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
				t.Errorf("GET %s = %d, want 200 containing %q:\n%.4000s", path, resp.StatusCode, want, body)
			}
		}
	}
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
