package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/receipts/smtptest"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

func TestStaffCommands(t *testing.T) {
	path := filepath.Join(t.TempDir(), "staff-tokens")
	env := mapEnv(map[string]string{"STRIPESYNC_STAFF_TOKENS_FILE": path})
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"staff", "add", "alice"}, env, &stdout, &stderr); code != 0 {
		t.Fatalf("staff add: exit %d\n%s", code, stderr.String())
	}
	token := strings.TrimSpace(stdout.String())
	if !strings.HasPrefix(token, "sst_") {
		t.Fatalf("staff add printed %q, want a sst_ token", token)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), token) || !strings.HasPrefix(string(raw), "alice ") {
		t.Errorf("the file must hold the name and hash, not the token:\n%s", raw)
	}
	stdout.Reset()
	if code := run(t.Context(), []string{"staff", "list"}, env, &stdout, &stderr); code != 0 || stdout.String() != "alice\n" {
		t.Errorf("staff list: exit %d, %q", code, stdout.String())
	}
	if code := run(t.Context(), []string{"staff", "add", "alice"}, env, &stdout, &stderr); code != 1 {
		t.Errorf("adding alice twice: exit %d, want 1", code)
	}
	if code := run(t.Context(), []string{"staff", "frob"}, env, &stdout, &stderr); code != 2 {
		t.Errorf("staff frob: exit %d, want 2", code)
	}
}

func TestLinkCommandWritesTheCRMAndTheLinkLeavesWhenPaid(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary several times")
	}
	dir := t.TempDir()
	emu, env := emulatorEnv(t, "sqlite:"+filepath.Join(dir, "ledger.db"), 0)
	mail := smtptest.NewServer(t, smtptest.Options{})
	env = append(env, "STRIPESYNC_SMTP_URL="+mail.URL(), "STRIPESYNC_MAIL_FROM=billing@seller.test",
		"STRIPESYNC_SIGNING_KEY=0123456789abcdef0123456789abcdef", "STRIPESYNC_PUBLIC_URL=https://pay.seller.test",
		"STRIPESYNC_BUSINESS_NAME=Seller Supplies Inc.", "STRIPESYNC_AUTO_PAYMENT_LINKS=false")
	acct := emu.sf.Insert("Account", map[string]any{"Name": "Initech", "Billing_Email__c": "ap@initech.test"})
	inv := emu.sf.Insert("Invoice__c", map[string]any{"Name": "INV-9101", "Account__c": acct, "Amount__c": "42.00", "CurrencyIsoCode": "USD", "Status__c": "Open", "Due_Date__c": "2026-09-30"})
	draft := emu.sf.Insert("Invoice__c", map[string]any{"Name": "INV-9102", "Account__c": acct, "Amount__c": "10.00", "CurrencyIsoCode": "USD", "Status__c": "Draft"})
	stripesyncCmd := func(wantOK bool, args ...string) (string, string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), binary, args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if (err == nil) != wantOK {
			t.Fatalf("stripesync %v: %v\n%s%s", args, err, stdout.String(), stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	crmLink := func(id string) string {
		rec, _ := emu.sf.Get("Invoice__c", id)
		s, _ := rec["Payment_Link__c"].(string)
		return s
	}
	stripesyncCmd(true, "sync", "accounts")
	if got := crmLink(inv); got != "" {
		t.Fatalf("with auto links off the pull wrote %q", got)
	}

	out, _ := stripesyncCmd(true, "link", "--invoice", inv, "--email")
	url := strings.TrimSpace(out)
	if !strings.HasPrefix(url, "https://pay.seller.test/pay/") {
		t.Fatalf("link printed %q, want the URL", out)
	}
	if got := crmLink(inv); got != url {
		t.Errorf("Payment_Link__c = %q, want %q", got, url)
	}
	msgs := mail.Messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, url) || !strings.Contains(msgs[0].Text, "INV-9101") || msgs[0].To[0] != "ap@initech.test" {
		t.Fatalf("mail after link --email: %+v", msgs)
	}
	if _, errOut := stripesyncCmd(false, "link", "--invoice", draft); !strings.Contains(errOut, "draft") {
		t.Errorf("link for a draft invoice: %s", errOut)
	}
	if got := crmLink(draft); got != "" {
		t.Errorf("the draft got the link %q", got)
	}

	custs := emu.st.CustomersWithMetadata(stripesync.MetadataAccountID, acct)
	if len(custs) != 1 {
		t.Fatalf("%d customers for the account", len(custs))
	}
	if _, err := emu.st.Pay(stripetest.PayParams{Customer: custs[0].ID, Amount: 4200, Currency: "usd",
		Metadata: map[string]string{stripesync.MetadataInvoiceID: inv}}); err != nil {
		t.Fatal(err)
	}
	stripesyncCmd(true, "sync", "payments")
	if rec, _ := emu.sf.Get("Invoice__c", inv); rec["Status__c"] != "Paid" || crmLink(inv) != "" {
		t.Errorf("after the payment the invoice is %v with link %q, want Paid without one", rec["Status__c"], crmLink(inv))
	}
	if _, errOut := stripesyncCmd(false, "link", "--invoice", inv); !strings.Contains(errOut, "no balance") {
		t.Errorf("link for a paid invoice: %s", errOut)
	}

	open := emu.sf.Insert("Invoice__c", map[string]any{"Name": "INV-9103", "Account__c": acct, "Amount__c": "8.00", "CurrencyIsoCode": "USD", "Status__c": "Open"})
	stripesyncCmd(true, "link", "--invoice", open)
	if crmLink(open) == "" {
		t.Fatal("no link written")
	}
	if out, _ := stripesyncCmd(true, "link", "--invoice", open, "--revoke"); !strings.Contains(out, "revoked") {
		t.Errorf("link --revoke printed %q", out)
	}
	if got := crmLink(open); got != "" {
		t.Errorf("Payment_Link__c = %q after --revoke", got)
	}
}
