package main

// The collection half measured from outside (issue 8): the pay page as
// payers load it, and a Checkout payment's way to Invoice__c Paid. Both
// run the built serve binary through newPayWorld, on SQLite and on
// Postgres (a fresh schema of STRIPESYNC_TEST_DATABASE_URL, skipped
// without it). Sizes come from the environment; `make bench-pay` runs
// them.

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// payBenchEnv keeps the schedules out of a measurement and the log to
// what goes wrong.
var payBenchEnv = []string{
	"STRIPESYNC_ACCOUNT_SYNC_EVERY=24h", "STRIPESYNC_PAYMENT_SYNC_EVERY=24h", "STRIPESYNC_LOG_LEVEL=warn",
}

// checkout pays cents of invoice id through Checkout as the pay page's
// session would, saving the card when save is set.
func (w *payWorld) checkout(tb testing.TB, customer, id string, cents int64, save bool) {
	tb.Helper()
	p := stripetest.CheckoutParams{
		Customer: customer, Amount: cents, Currency: "usd",
		PaymentIntentMetadata: map[string]string{stripesync.MetadataInvoiceID: id},
	}
	if save {
		p.SetupFutureUsage = "off_session"
	}
	if _, _, err := w.emu.st.CompleteCheckout(p); err != nil {
		tb.Fatalf("checkout of invoice %s: %v", id, err)
	}
}

// savedVisaLabel is how the pay page lists the card Checkout saved.
const savedVisaLabel = "Visa •••• 4242"

// historyPage makes an open 100.00 USD invoice with two payments made
// through Checkout (20.00, saving the card, and 30.00), and returns its
// pay link once the page shows both payments and the saved card.
func (w *payWorld) historyPage(tb testing.TB) string {
	tb.Helper()
	inv := w.invoice(tb, "INV-P0001", "100.00", "USD")
	link := w.payLink(tb, inv)
	cus := w.customerOf(tb, w.account)
	w.checkout(tb, cus, inv, 2000, true)
	w.checkout(tb, cus, inv, 3000, false)
	var last string
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(link)
		if err != nil {
			tb.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = string(body)
		if resp.StatusCode == http.StatusOK && strings.Count(last, "<td>Paid</td>") == 2 && strings.Contains(last, savedVisaLabel) {
			return link
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the pay page never showed two payments and the saved card; it is %d:\n%s\ndaemon log:\n%s",
				resp.StatusCode, last, w.d.log.From(0))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// quantile returns the q quantile (0 < q ≤ 1) of sorted latencies.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*q))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pageLoad is one load of the pay page: each request's latency, sorted,
// and the wall time.
type pageLoad struct {
	latencies []time.Duration
	elapsed   time.Duration
	bytes     int
}

// loadPage has clients visitors, each with its own cookie and keep-alive
// connection, GET url one request after another until requests are done
// in all. Each visitor loads the page once before the clock starts, so
// its cookie is set. Every response must be a 200 showing the saved card.
func loadPage(tb testing.TB, url string, clients, requests int) pageLoad {
	tb.Helper()
	visitors := make([]*http.Client, clients)
	for i := range visitors {
		jar, _ := cookiejar.New(nil)
		visitors[i] = &http.Client{Jar: jar, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		if _, err := getPage(visitors[i], url); err != nil {
			tb.Fatal(err)
		}
	}
	defer func() {
		for _, c := range visitors {
			c.CloseIdleConnections()
		}
	}()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		load pageLoad
		errs []error
	)
	start := time.Now()
	for i, c := range visitors {
		n := requests / clients
		if i < requests%clients {
			n++
		}
		wg.Go(func() {
			lat := make([]time.Duration, 0, n)
			size := 0
			var err error
			for range n {
				t0 := time.Now()
				var body int
				if body, err = getPage(c, url); err != nil {
					break
				}
				lat = append(lat, time.Since(t0))
				size = body
			}
			mu.Lock()
			defer mu.Unlock()
			load.latencies = append(load.latencies, lat...)
			load.bytes = size
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	load.elapsed = time.Since(start)
	if len(errs) > 0 {
		tb.Fatalf("%d visitors failed, e.g.: %v", len(errs), errs[0])
	}
	slices.Sort(load.latencies)
	return load
}

// getPage loads the pay page and returns its size.
func getPage(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(savedVisaLabel)) {
		return 0, fmt.Errorf("GET pay page: %d, saved card shown: %t", resp.StatusCode, bytes.Contains(body, []byte(savedVisaLabel)))
	}
	return len(body), nil
}

// BenchmarkPayPage measures GET /pay/{token} over HTTP against serve: an
// open invoice with two payments made and a saved card, the saved-methods
// cache warm, STRIPESYNC_BENCH_PAGE_CLIENTS visitors (default 4) each
// with its cookie and connection, STRIPESYNC_BENCH_PAGE_REQUESTS requests
// in all (default 4,000). Reported: p50 and p99 latency (target p99 <
// 10 ms on the 2-core machine), requests/s, and the Stripe requests made
// during the run (must be 0: a warm page asks the ledger only).
//
// STRIPESYNC_BENCH_BASELINE names another build of stripesync (an older
// commit's) to compare with on the same machine at the same time: each
// iteration then serves the same ledger with the baseline's serve, then
// this tree's, each restarted and warmed, STRIPESYNC_BENCH_PAGE_ROUNDS
// times (default 1), alternating, and the log names which served.
// STRIPESYNC_BENCH_PROFILE names a directory that receives a CPU profile
// of this tree's serve over the first round's load
// (cpu-page-DIALECT.pprof).
func BenchmarkPayPage(b *testing.B) {
	clients := envInt(b, "STRIPESYNC_BENCH_PAGE_CLIENTS", 4)
	requests := envInt(b, "STRIPESYNC_BENCH_PAGE_REQUESTS", 4000)
	rounds := envInt(b, "STRIPESYNC_BENCH_PAGE_ROUNDS", 1)
	baseline, profile := os.Getenv(envBaseline), os.Getenv(envProfile)
	serves := []string{"head"}
	if baseline != "" {
		serves = []string{"baseline", "head"}
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			b.StopTimer()
			env := payBenchEnv
			pprofAddr := ""
			if profile != "" {
				pprofAddr = freeAddr(b)
				env = append(slices.Clone(env), "STRIPESYNC_PPROF_LISTEN="+pprofAddr)
			}
			w := newPayWorld(b, dialect == "postgres", env...)
			link := w.historyPage(b)
			for range b.N {
				for round := range rounds {
					for _, serve := range serves {
						if len(serves) > 1 {
							w.d.stop()
							w.d = launchDaemon(b, w.env, func(c *exec.Cmd) {
								if serve == "baseline" {
									c.Path, c.Args[0] = baseline, baseline
								}
							})
							w.d.waitFor(b, "/readyz", http.StatusOK, 30*time.Second)
						}
						loadPage(b, link, clients, 200) // warm the daemon's pools and caches
						profiled := make(chan error, 1)
						if profile != "" && serve == "head" && round == 0 {
							go func() {
								profiled <- fetchProfile("http://"+pprofAddr+"/debug/pprof/profile?seconds=2",
									filepath.Join(profile, "cpu-page-"+dialect+".pprof"))
							}()
						} else {
							profiled <- nil
						}
						w.emu.st.ResetRequests()
						logFrom := w.d.log.Len()
						b.StartTimer()
						load := loadPage(b, link, clients, requests)
						b.StopTimer()
						if err := <-profiled; err != nil {
							b.Errorf("CPU profile: %v", err)
						}
						reqs := w.emu.st.Requests()
						if len(reqs) > 0 {
							byPath, _ := stripeCalls(reqs)
							b.Errorf("%d Stripe requests while rendering a warm pay page, want 0:", len(reqs))
							logCalls(b, byPath)
						}
						if warns, errs, sample := w.d.logLevels(logFrom); warns+errs > 0 {
							b.Errorf("the daemon logged %d WARN and %d ERROR lines, e.g. %q", warns, errs, sample)
						}
						p50, p99 := quantile(load.latencies, 0.50), quantile(load.latencies, 0.99)
						rate := float64(len(load.latencies)) / load.elapsed.Seconds()
						b.Logf("%s %s: %d pay pages (%d bytes) by %d visitors: p50 %.2f ms, p99 %.2f ms (target < 10 ms), max %.2f ms, %.0f req/s, %d Stripe requests",
							dialect, serve, len(load.latencies), load.bytes, clients, ms(p50), ms(p99), ms(load.latencies[len(load.latencies)-1]), rate, len(reqs))
						if serve == "head" {
							b.ReportMetric(ms(p50), "p50-ms")
							b.ReportMetric(ms(p99), "p99-ms")
							b.ReportMetric(rate, "req/s")
							b.ReportMetric(float64(len(reqs)), "stripe-requests")
						}
					}
				}
			}
		})
	}
}

// BenchmarkCheckoutToCRMPaid measures a Checkout payment's way to the CRM:
// STRIPESYNC_BENCH_CHECKOUTS open invoices (default 50) the daemon knows,
// each paid in full through Checkout (the card saved, as the pay page
// asks) one after another, STRIPESYNC_BENCH_CHECKOUT_GAP apart (default
// 0: a burst), the emulator's webhooks delivered live to serve, 8 at a
// time (benchSenders). For each
// invoice: the time from the completion returning to the CRM emulator's
// write of Status__c = Paid, read from the record's SystemModstamp
// (millisecond resolution; the CRM is polled every 2 ms and nothing else
// writes the invoice meanwhile). Reported: p50, p99 (target < 1 s) and
// max.
func BenchmarkCheckoutToCRMPaid(b *testing.B) {
	n := envInt(b, "STRIPESYNC_BENCH_CHECKOUTS", 50)
	var gap time.Duration
	if os.Getenv("STRIPESYNC_BENCH_CHECKOUT_GAP") != "" {
		gap = envDuration(b, "STRIPESYNC_BENCH_CHECKOUT_GAP", 0)
	}
	const poll = 2 * time.Millisecond
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				w := newPayWorld(b, dialect == "postgres", payBenchEnv...)
				cus := w.customerOf(b, w.account)
				ids := make([]string, n)
				cents := make([]int64, n)
				for i := range ids {
					cents[i] = int64(1000 + (i*7919)%90000)
					amount := stripesync.Money{Amount: cents[i], Currency: "USD"}.Decimal()
					ids[i] = w.invoice(b, fmt.Sprintf("INV-C%05d", i), amount, "USD")
				}
				w.run(b, "sync", "accounts") // the ledger knows the invoices before they are paid
				w.emu.st.ResetRequests()
				// Stripe delivers to an endpoint concurrently; the
				// emulator's default of one at a time would measure its
				// own queue (five events a Checkout).
				w.emu.st.SetWebhookOptions(stripetest.WebhookOptions{Concurrency: benchSenders})
				logFrom := w.d.log.Len()

				b.StartTimer()
				done := make([]time.Time, n) // when each completion returned
				var mu sync.Mutex
				paid := make(chan []time.Duration, 1)
				go func() {
					latencies := make([]time.Duration, n)
					pending := make([]bool, n)
					for i := range pending {
						pending[i] = true
					}
					left, deadline := n, time.Now().Add(60*time.Second)
					for left > 0 && time.Now().Before(deadline) {
						for i := range ids {
							if !pending[i] {
								continue
							}
							mu.Lock()
							t0 := done[i]
							mu.Unlock()
							if t0.IsZero() {
								continue
							}
							rec, _ := w.emu.sf.Get("Invoice__c", ids[i])
							if rec["Status__c"] == "Paid" {
								at, _ := rec["SystemModstamp"].(time.Time)
								latencies[i], pending[i] = max(0, at.Sub(t0)), false
								left--
							}
						}
						time.Sleep(poll)
					}
					if left > 0 {
						latencies = nil
					}
					paid <- latencies
				}()
				for i := range ids {
					w.checkout(b, cus, ids[i], cents[i], true)
					mu.Lock()
					done[i] = time.Now()
					mu.Unlock()
					if gap > 0 {
						time.Sleep(gap)
					}
				}
				latencies := <-paid
				b.StopTimer()
				if latencies == nil {
					b.Fatalf("not every invoice Paid in the CRM within 60 s; daemon log:\n%.3000s", w.d.log.From(logFrom))
				}
				for i, id := range ids {
					rec := w.crmInvoice(b, id)
					got, err := stripesync.ParseMoney(fmt.Sprint(rec["Amount_Paid__c"]), "USD")
					if want := (stripesync.Money{Amount: cents[i], Currency: "USD"}); err != nil || got != want {
						b.Errorf("invoice %s: Amount_Paid__c %v, want %s", id, rec["Amount_Paid__c"], want.Decimal())
					}
				}
				if warns, errs, sample := w.d.logLevels(logFrom); warns+errs > 0 {
					b.Errorf("the daemon logged %d WARN and %d ERROR lines, e.g. %q", warns, errs, sample)
				}
				reqs := w.emu.st.Requests()
				byPath, _ := stripeCalls(reqs)
				slices.Sort(latencies)
				p50, p99, top := quantile(latencies, 0.50), quantile(latencies, 0.99), latencies[len(latencies)-1]
				b.Logf("%s: %d Checkout payments %s apart, completion → Invoice__c Paid: p50 %.1f ms, p99 %.1f ms (target < 1 s), max %.1f ms",
					dialect, n, gap, ms(p50), ms(p99), ms(top))
				logCalls(b, byPath)
				b.ReportMetric(float64(len(reqs))/float64(n), "stripe-requests/payment")
				b.ReportMetric(ms(p50), "p50-ms")
				b.ReportMetric(ms(p99), "p99-ms")
				b.ReportMetric(ms(top), "max-ms")
			}
		})
	}
}
