package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// BenchmarkReconcile10k reconciles 10,000 payments (100 invoices of 100
// payments, 100 accounts) that the pull recorded, with the binary in a
// process of its own, so that the emulators' memory in this process does
// not count: its Stripe requests must be the list pages and nothing else
// (100 PaymentIntent pages, 1 customer page: no drift needs a read), and
// its peak RSS (VmHWM) is reported.
func BenchmarkReconcile10k(b *testing.B) {
	const (
		accounts = 100
		perAcct  = 100
		payments = accounts * perAcct
	)
	emu, err := startEmulators("127.0.0.1:0", "127.0.0.1:0", 0, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(emu.Close)
	env := unpacedBenchEnv(b, emu)
	accts := make([]string, accounts)
	invoices := make([]string, accounts)
	for i := range accounts {
		accts[i] = emu.sf.Insert("Account", map[string]any{"Name": fmt.Sprintf("Account %03d", i), "Billing_Email__c": fmt.Sprintf("ap%03d@example.test", i)})
		invoices[i] = emu.sf.Insert("Invoice__c", map[string]any{"Name": fmt.Sprintf("INV-%03d", i), "Account__c": accts[i],
			"Amount__c": "100.00", "CurrencyIsoCode": "USD", "Status__c": "Open", "Due_Date__c": "2026-12-31"})
	}
	runMeasured(b, env, "sync", "accounts")
	for i, acct := range accts {
		cus := emu.st.CustomersWithMetadata(stripesync.MetadataAccountID, acct)
		if len(cus) != 1 {
			b.Fatalf("%d customers for %s", len(cus), acct)
		}
		for range perAcct {
			if _, err := emu.st.Pay(stripetest.PayParams{Customer: cus[0].ID, Amount: 100, Currency: "usd",
				Metadata: map[string]string{stripesync.MetadataInvoiceID: invoices[i]}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	runMeasured(b, env, "sync", "payments")

	b.ResetTimer()
	for range b.N {
		emu.st.ResetRequests()
		sfBefore := emu.sf.Calls()
		selfBefore, childBefore := cpuTime(b, os.Getpid()), childrenCPU(b)
		wall, rss := runMeasured(b, env, "reconcile") // exit 0: no drift
		// This process is the emulators; its children, the binary.
		emulatorCPU, daemonCPU := cpuTime(b, os.Getpid())-selfBefore, childrenCPU(b)-childBefore
		byPath := map[string]int{}
		for _, r := range emu.st.Requests() {
			if r.Method != http.MethodGet {
				b.Fatalf("reconcile wrote to Stripe: %s %s", r.Method, r.Path)
			}
			byPath[r.Path]++
		}
		wantPages := (payments + 99) / 100
		if byPath["/v1/payment_intents"] != wantPages || byPath["/v1/customers"] != 1 || len(byPath) != 2 {
			b.Fatalf("Stripe requests by path %v, want %d PaymentIntent pages and 1 customer page", byPath, wantPages)
		}
		sf := emu.sf.Calls()
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(byPath["/v1/payment_intents"]+byPath["/v1/customers"]), "stripe-calls")
		b.ReportMetric(float64(sf.Query+sf.QueryAll+sf.QueryMore-sfBefore.Query-sfBefore.QueryAll-sfBefore.QueryMore), "sf-query-pages")
		b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
		b.ReportMetric(emulatorCPU.Seconds(), "emulator-cpu-s")
		b.ReportMetric(daemonCPU.Seconds(), "reconcile-cpu-s")
		if rss >= 100<<20 {
			b.Errorf("peak RSS %d MiB, want < 100", rss>>20)
		}
	}
}

// childrenCPU is the user and system CPU time of this process's children
// that have been waited for.
func childrenCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
