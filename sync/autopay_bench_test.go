package sync_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm"
	"github.com/stripesync/stripesync/crm/crmtest"
	"github.com/stripesync/stripesync/store/storetest"
	"github.com/stripesync/stripesync/stripeclient"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
	syncer "github.com/stripesync/stripesync/sync"
)

// BenchmarkAutoPayPacedByStripe runs auto-pay over 10,000 due invoices
// (1,000 with -short), each of its own customer with a default card the
// ledger already knows, against a Stripe emulator that allows 100
// requests a second, with the client paced at the same 100. One charge per
// invoice makes N/100 s the floor; the figures of merit are wall time over
// that floor, no invoice failed, no 429 seen, and the process's peak RSS
// (the emulator's memory included: it is in-process).
func BenchmarkAutoPayPacedByStripe(b *testing.B) {
	invoices := 10000
	if testing.Short() {
		invoices = 1000
	}
	const rate = 100.0
	floor := time.Duration(float64(invoices)/rate) * time.Second
	for range b.N {
		b.StopTimer()
		ctx := b.Context()
		st := stripetest.NewServer(b, stripetest.Options{RateLimit: rate})
		sf := crmtest.NewServer(b, crmtest.Options{ClientID: "cid", ClientSecret: "csecret"})
		db := storetest.OpenSQLite(b)
		now := time.Now()
		due := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
		batch := make([]stripesync.Invoice, 0, 500)
		for i := range invoices {
			account := fmt.Sprintf("001B%014d", i)
			cus := st.CreateCustomer(stripetest.Customer{Name: "Auto " + account, Metadata: map[string]string{stripesync.MetadataAccountID: account}})
			pm, err := st.AttachTestMethod(cus, "pm_card_visa", true)
			if err != nil {
				b.Fatal(err)
			}
			if err := db.SaveAccountLink(ctx, stripesync.AccountLink{CRMID: account, StripeID: cus, Policy: stripesync.PolicyCreate, State: stripesync.LinkBound, UpdatedAt: now}); err != nil {
				b.Fatal(err)
			}
			method := stripesync.SavedMethod{ID: pm, CustomerID: cus, Type: stripesync.MethodTypeCard, Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2034, Default: true}
			if err := db.SaveMethods(ctx, cus, []stripesync.SavedMethod{method}, now); err != nil {
				b.Fatal(err)
			}
			batch = append(batch, stripesync.Invoice{
				ID: fmt.Sprintf("a0B%015d", i), Number: fmt.Sprintf("INV-A%05d", i), AccountID: account,
				Total: stripesync.Money{Amount: 1000, Currency: "USD"}, AmountPaid: stripesync.Money{Currency: "USD"},
				DueDate: due, AutoPay: true, Status: stripesync.InvoiceOpen, ModStamp: now,
			})
			if len(batch) == cap(batch) || i == invoices-1 {
				if err := db.SaveInvoices(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		bill, err := stripeclient.New(stripeclient.Config{Key: "sk_test_bench", BaseURL: st.URL(), RatePerSecond: rate})
		if err != nil {
			b.Fatal(err)
		}
		c, err := crm.New(crm.Config{LoginURL: sf.URL(), ClientID: "cid", ClientSecret: "csecret"})
		if err != nil {
			b.Fatal(err)
		}
		coll, err := syncer.NewCollection(syncer.CollectionConfig{Collector: bill, Billing: bill, Ledger: db, Payments: db, Accounts: db})
		if err != nil {
			b.Fatal(err)
		}
		e, err := syncer.New(syncer.Config{
			CRM: c, Billing: bill, Ledger: db, Payments: db, Queue: db, Collection: coll,
			Failures: &syncer.FailureConfig{Inbox: db},
			AutoPay:  &syncer.AutoPayConfig{Ledger: db, Retry: syncer.DefaultAutoPayRetry},
		})
		if err != nil {
			b.Fatal(err)
		}
		st.ResetRequests()
		b.StartTimer()
		start := time.Now()
		run, err := e.AutoPay(ctx, false)
		wall := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if run.Run.Seen != invoices || run.Run.Pushed != invoices || run.Run.Failed != 0 {
			b.Fatalf("run %+v, want %d charged and none failed; the first: %+v", run.Run, invoices, run.Results[0])
		}
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(wall.Seconds()/floor.Seconds(), "x-floor")
		b.ReportMetric(float64(st.Stats().RateLimited), "429s")
		b.ReportMetric(float64(len(st.Requests())), "stripe-calls")
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-rss-MiB")
	}
}
