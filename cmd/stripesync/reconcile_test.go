package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
	syncer "github.com/stripesync/stripesync/sync"
)

// TestReconcileCommand runs the binary against the emulators: exit 0 and
// an empty drift list on a clean world, exit 1 and one drift item once the
// CRM's Amount_Paid__c is wrong, --repair fixing it (exit 0), then a clean
// run again; a bad --since is exit 2.
func TestReconcileCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary several times")
	}
	emu, env := emulatorEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "ledger.db"), 0)
	acct := emu.sf.Insert("Account", map[string]any{"Name": "Initech", "Billing_Email__c": "ap@initech.test"})
	inv := emu.sf.Insert("Invoice__c", map[string]any{"Name": "INV-9001", "Account__c": acct, "Amount__c": "42.00", "CurrencyIsoCode": "USD", "Status__c": "Open"})
	stripesyncCmd := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), binary, args...)
		cmd.Env = env
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			code = exit.ExitCode()
		case err != nil:
			t.Fatalf("stripesync %v: %v", args, err)
		}
		return out.String(), errOut.String(), code
	}
	must := func(args ...string) {
		t.Helper()
		if out, errOut, code := stripesyncCmd(args...); code != 0 {
			t.Fatalf("stripesync %v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	must("sync", "accounts")
	custs := emu.st.CustomersWithMetadata(stripesync.MetadataAccountID, acct)
	if len(custs) != 1 {
		t.Fatalf("%d customers for the account", len(custs))
	}
	if _, err := emu.st.Pay(stripetest.PayParams{Customer: custs[0].ID, Amount: 2000, Currency: "usd",
		Metadata: map[string]string{stripesync.MetadataInvoiceID: inv}}); err != nil {
		t.Fatal(err)
	}
	must("sync", "payments")

	reconcileJSON := func(args ...string) (reconcileJSON, int) {
		t.Helper()
		out, errOut, code := stripesyncCmd(append([]string{"reconcile", "--json"}, args...)...)
		var doc reconcileJSON
		dec := json.NewDecoder(strings.NewReader(out))
		if err := dec.Decode(&doc); err != nil || dec.More() {
			t.Fatalf("reconcile --json printed no single JSON document (%v):\n%s\nstderr:\n%s", err, out, errOut)
		}
		return doc, code
	}
	doc, code := reconcileJSON()
	if code != 0 || doc.DriftTotal != 0 || len(doc.Drift) != 0 || doc.Compared["payments"] != 1 || doc.Status != stripesync.RunSucceeded {
		t.Fatalf("clean world: exit %d, %+v", code, doc)
	}
	if len(doc.Counts) != len(syncer.DriftKinds) {
		t.Errorf("drift_counts has %d kinds, want every kind: %v", len(doc.Counts), doc.Counts)
	}

	emu.sf.Update("Invoice__c", inv, map[string]any{"Amount_Paid__c": "1.00"})
	doc, code = reconcileJSON()
	if code != 1 || doc.DriftTotal != 1 || doc.Counts["crm_invoice_rollup"] != 1 || doc.Drift[0].ID != inv || doc.Unrepaired != 1 {
		t.Fatalf("wrong Amount_Paid__c: exit %d, %+v", code, doc)
	}

	out, errOut, code := stripesyncCmd("reconcile", "--repair")
	if code != 0 || !regexp.MustCompile(`(?m)^crm_invoice_rollup +1$`).MatchString(out) || !strings.Contains(out, "repaired 1, left 0") ||
		!strings.Contains(out, "payments 1, payment records 1,") {
		t.Fatalf("reconcile --repair: exit %d\n%s%s", code, out, errOut)
	}
	if rec, _ := emu.sf.Get("Invoice__c", inv); rec["Amount_Paid__c"] == "1.00" {
		t.Errorf("Amount_Paid__c still 1.00 after --repair")
	}
	if doc, code = reconcileJSON(); code != 0 || doc.DriftTotal != 0 {
		t.Errorf("after --repair: exit %d, %+v", code, doc)
	}
	if _, _, code := stripesyncCmd("reconcile", "--since", "last tuesday"); code != 2 {
		t.Errorf("a bad --since: exit %d, want 2", code)
	}
}

// TestScheduledReconcileSetsTheDriftGauge runs the scheduled job in
// process: it reports without repairing, and stripesync_reconcile_drift
// shows the drift by kind.
func TestScheduledReconcileSetsTheDriftGauge(t *testing.T) {
	emu, _ := emulatorEnv(t, "", 0)
	env := emu.env()
	env["STRIPESYNC_DATABASE_URL"] = "sqlite:" + filepath.Join(t.TempDir(), "ledger.db")
	acct := emu.sf.Insert("Account", map[string]any{"Name": "Initech"})
	emu.st.CreateCustomer(stripetest.Customer{Name: "Initech", Metadata: map[string]string{stripesync.MetadataAccountID: acct}})
	cfg, err := loadConfig(flag.NewFlagSet("serve", flag.ContinueOnError), nil, mapEnv(env), Needs{Stripe: true, Salesforce: true})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ReconcileEvery != 168*time.Hour {
		t.Errorf("STRIPESYNC_RECONCILE_EVERY defaults to %s, want 168h", cfg.ReconcileEvery)
	}
	a, err := openApp(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.scheduledReconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	drift := map[string]float64{}
	families, err := a.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "stripesync_reconcile_drift" {
			for _, m := range f.GetMetric() {
				drift[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
			}
		}
	}
	if len(drift) != len(syncer.DriftKinds) || drift["customer_unlinked"] != 1 || drift["payment_missing"] != 0 {
		t.Errorf("stripesync_reconcile_drift by kind: %v, want every kind, customer_unlinked 1", drift)
	}
	if links, _ := a.db.AccountLinks(t.Context(), []string{acct}); len(links) != 0 {
		t.Errorf("the scheduled reconcile repaired: %+v", links)
	}
}
