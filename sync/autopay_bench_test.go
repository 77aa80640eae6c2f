package sync_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm"
	"github.com/stripesync/stripesync/crm/crmtest"
	"github.com/stripesync/stripesync/store"
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
		f := newAutoPayFixture(b, invoices, rate, time.Now)
		st, e := f.st, f.engine
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

// autoPayFixture is n invoices due yesterday, each of its own customer
// with a default Visa that the ledger knows, and an engine with auto-pay
// on the default retry schedule, against a Stripe emulator allowing rate
// requests a second (the client paced the same), on the clock now.
type autoPayFixture struct {
	st       *stripetest.Server
	db       *store.DB
	engine   *syncer.Engine
	methods  []string // the customers' default cards, by invoice
	invoices []string
}

func newAutoPayFixture(tb testing.TB, n int, rate float64, now func() time.Time) *autoPayFixture {
	tb.Helper()
	ctx := tb.Context()
	f := &autoPayFixture{
		st: stripetest.NewServer(tb, stripetest.Options{RateLimit: rate}),
		db: storetest.OpenSQLite(tb).WithClock(now),
	}
	sf := crmtest.NewServer(tb, crmtest.Options{ClientID: "cid", ClientSecret: "csecret"})
	t0 := now()
	due := time.Date(t0.Year(), t0.Month(), t0.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	batch := make([]stripesync.Invoice, 0, 500)
	for i := range n {
		account := fmt.Sprintf("001B%014d", i)
		cus := f.st.CreateCustomer(stripetest.Customer{Name: "Auto " + account, Metadata: map[string]string{stripesync.MetadataAccountID: account}})
		pm, err := f.st.AttachTestMethod(cus, "pm_card_visa", true)
		if err != nil {
			tb.Fatal(err)
		}
		if err := f.db.SaveAccountLink(ctx, stripesync.AccountLink{CRMID: account, StripeID: cus, Policy: stripesync.PolicyCreate, State: stripesync.LinkBound, UpdatedAt: t0}); err != nil {
			tb.Fatal(err)
		}
		method := stripesync.SavedMethod{ID: pm, CustomerID: cus, Type: stripesync.MethodTypeCard, Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2034, Default: true}
		if err := f.db.SaveMethods(ctx, cus, []stripesync.SavedMethod{method}, t0); err != nil {
			tb.Fatal(err)
		}
		inv := stripesync.Invoice{
			ID: fmt.Sprintf("a0B%015d", i), Number: fmt.Sprintf("INV-A%05d", i), AccountID: account,
			Total: stripesync.Money{Amount: 1000, Currency: "USD"}, AmountPaid: stripesync.Money{Currency: "USD"},
			DueDate: due, AutoPay: true, Status: stripesync.InvoiceOpen, ModStamp: t0,
		}
		f.methods, f.invoices = append(f.methods, pm), append(f.invoices, inv.ID)
		if batch = append(batch, inv); len(batch) == cap(batch) || i == n-1 {
			if err := f.db.SaveInvoices(ctx, batch); err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	bill, err := stripeclient.New(stripeclient.Config{Key: "sk_test_bench", BaseURL: f.st.URL(), RatePerSecond: rate})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := crm.New(crm.Config{LoginURL: sf.URL(), ClientID: "cid", ClientSecret: "csecret"})
	if err != nil {
		tb.Fatal(err)
	}
	coll, err := syncer.NewCollection(syncer.CollectionConfig{Collector: bill, Billing: bill, Ledger: f.db, Payments: f.db, Accounts: f.db, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	f.engine, err = syncer.New(syncer.Config{
		CRM: c, Billing: bill, Ledger: f.db, Payments: f.db, Queue: f.db, Collection: coll, Now: now,
		Failures: &syncer.FailureConfig{Inbox: f.db},
		AutoPay:  &syncer.AutoPayConfig{Ledger: f.db, Retry: syncer.DefaultAutoPayRetry},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return f
}
