package sync_test

import (
	"fmt"
	"slices"
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

// BenchmarkPushPacedByStripe pushes 2,000 new accounts to a Stripe emulator
// that allows 100 requests per second and answers after 50 ms, with the
// client paced at the same 100 requests per second. One create per account
// makes 20 s the floor; the figure of merit is wall time over that floor,
// with no account failed and no 429 seen.
func BenchmarkPushPacedByStripe(b *testing.B) {
	const (
		accounts = 2000
		rate     = 100.0
		latency  = 50 * time.Millisecond
	)
	floor := time.Duration(float64(accounts)/rate) * time.Second
	for range b.N {
		b.StopTimer()
		sf := crmtest.NewServer(b, crmtest.Options{ClientID: "cid", ClientSecret: "csecret"})
		st := stripetest.NewServer(b, stripetest.Options{RateLimit: rate, Latency: latency})
		for i := range accounts {
			sf.Insert("Account", map[string]any{"Name": fmt.Sprintf("Bench %05d", i), "Billing_Email__c": fmt.Sprintf("b%05d@example.test", i)})
		}
		c, err := crm.New(crm.Config{LoginURL: sf.URL(), ClientID: "cid", ClientSecret: "csecret"})
		if err != nil {
			b.Fatal(err)
		}
		bill, err := stripeclient.New(stripeclient.Config{Key: "sk_live_bench", BaseURL: st.URL(), RatePerSecond: rate})
		if err != nil {
			b.Fatal(err)
		}
		e, err := syncer.New(syncer.Config{CRM: c, Billing: bill, Ledger: storetest.OpenSQLite(b)})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		run, err := e.PushAccounts(b.Context(), syncer.PushOptions{})
		wall := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if run.Pushed != accounts || run.Failed != 0 {
			b.Fatalf("run = %+v, want %d pushed and none failed", run, accounts)
		}
		if n := len(st.Customers()); n != accounts {
			b.Fatalf("Stripe has %d customers, want %d", n, accounts)
		}
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(wall.Seconds()/floor.Seconds(), "x-floor")
		b.ReportMetric(float64(st.Stats().RateLimited), "429s")
		b.ReportMetric(float64(len(st.Requests())), "stripe-calls")
	}
}

// BenchmarkPaymentToCRMPaid measures how long a payment takes to show as
// Paid on its CRM invoice: Stripe event → signed webhook → durable inbox →
// PaymentIntent re-read → ledger and rollup → Collections write-back, with
// every emulator answering at once (latency 0). Reported: p50 and p99.
func BenchmarkPaymentToCRMPaid(b *testing.B) {
	w := newPayWorld(b)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		inv := w.invoice(b, fmt.Sprintf("INV-B%05d", i), "20.00", "USD")
		b.StartTimer()
		start := time.Now()
		w.pay(b, inv, 2000, "usd", "pm_card_visa")
		for w.crmInvoice(b, inv).Status != "Paid" {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("invoice %d not Paid after 10 s", i)
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkOutboundToStripe measures how long an Account edit in the CRM
// takes to reach its Stripe customer: workflow rule → Outbound Message →
// listener (stored, acknowledged) → trigger worker → CRM re-read → push,
// with the Stripe emulator answering at once and after 100 ms.
func BenchmarkOutboundToStripe(b *testing.B) {
	for _, latency := range []time.Duration{0, 100 * time.Millisecond} {
		b.Run(fmt.Sprintf("stripe-latency=%s", latency), func(b *testing.B) {
			w := newTriggerWorld(b, 1, crmtest.OutboundConfig{OnWrite: true})
			w.st.SetLatency(latency)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				name := fmt.Sprintf("Edit %d", i)
				start := time.Now()
				w.sf.Update("Account", w.ids[0], map[string]any{"Name": name})
				for w.customerName(b, w.ids[0]) != name {
					if time.Since(start) > 10*time.Second {
						b.Fatalf("edit %d not in Stripe after 10 s", i)
					}
					time.Sleep(200 * time.Microsecond)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkApplyEvents applies the events of 1,000 card payments
// (charge.succeeded and payment_intent.succeeded each), already in the
// inbox, on each database: the event worker's fast lane alone, from claim
// to settle, with no Stripe read. Reported: events applied per second.
func BenchmarkApplyEvents(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			const payments = 1000
			var applied int
			var took time.Duration
			for range b.N {
				w := newWorld(b)
				if dialect == "postgres" {
					w.db = storetest.OpenPostgres(b)
					w.ledger = w.db
					w.rebuild(b)
				}
				account := w.seed(1, nil)[0]
				w.push(b)
				links, err := w.db.AccountLinks(b.Context(), []string{account})
				if err != nil {
					b.Fatal(err)
				}
				invoices := make([]string, payments)
				for i := range invoices {
					invoices[i] = w.sf.Insert("Invoice__c", map[string]any{"Name": fmt.Sprintf("INV-B%04d", i), "Account__c": account,
						"Amount__c": "10.00", "CurrencyIsoCode": "USD", "Status__c": "Open"})
				}
				if _, err := w.engine.PullInvoices(b.Context()); err != nil {
					b.Fatal(err)
				}
				for _, inv := range invoices {
					if _, err := w.st.Pay(stripetest.PayParams{Customer: links[account].StripeID, Amount: 1000, Currency: "usd",
						PaymentMethod: "pm_card_visa", Metadata: map[string]string{stripesync.MetadataInvoiceID: inv}}); err != nil {
						b.Fatal(err)
					}
				}
				for _, raw := range w.st.Events() {
					if raw.Type != stripesync.EventChargeSucceeded && raw.Type != stripesync.EventPaymentIntentSucceeded {
						continue
					}
					ev, err := stripeclient.ParseEvent(raw.Payload)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := w.db.AcceptEvent(b.Context(), ev); err != nil {
						b.Fatal(err)
					}
				}
				w.st.ResetRequests()
				time.Sleep(60 * time.Millisecond) // past the settle window
				b.StartTimer()
				start := time.Now()
				for {
					n, err := w.engine.ProcessEvents(b.Context())
					if err != nil {
						b.Fatal(err)
					}
					if n == 0 {
						break
					}
					applied += n
				}
				took += time.Since(start)
				b.StopTimer()
				if reads := len(w.st.Requests()); reads != 0 {
					b.Errorf("%d Stripe requests, want none", reads)
				}
				for _, inv := range invoices[:10] {
					if _, roll, err := w.db.Invoice(b.Context(), inv); err != nil || roll.Status != stripesync.InvoicePaid {
						b.Fatalf("invoice %s: %+v, %v; want Paid", inv, roll, err)
					}
				}
			}
			b.ReportMetric(float64(applied)/took.Seconds(), "events/s")
		})
	}
}
