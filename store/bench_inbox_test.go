package store_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/store/storetest"
)

// benchDialects are the databases the inbox benchmarks run on.
var benchDialects = []struct {
	name string
	open func(testing.TB) *store.DB
}{
	{store.DialectSQLite, storetest.OpenSQLite},
	{store.DialectPostgres, storetest.OpenPostgres},
}

// eventPayload is a payment_intent.succeeded event of about 1.5 KB, the
// size of a real one.
func eventPayload(id string) []byte {
	body := fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2023-10-16","created":1700000000,`+
		`"data":{"object":{"id":"pi_%s","object":"payment_intent","amount":125000,"amount_received":125000,`+
		`"currency":"usd","customer":"cus_PQRst12345","latest_charge":"ch_%s","status":"succeeded",`+
		`"payment_method":"pm_1OabcDEFghiJKLmnop","payment_method_types":["card","us_bank_account"],`+
		`"metadata":{"crm_invoice_id":"a0B5e00000AbCdEFGH","channel":"Payment Link"},"description":"`, id, id, id)
	pad := 1500 - len(body) - len(`"}},"livemode":false,"pending_webhooks":1,"type":"payment_intent.succeeded"}`)
	return []byte(body + strings.Repeat("x", max(pad, 0)) +
		`"}},"livemode":false,"pending_webhooks":1,"type":"payment_intent.succeeded"}`)
}

// latencies collects per-call durations from several goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.d = append(l.d, d...)
}

// report adds p50 and p99 (in milliseconds) and the rate of units per
// second over elapsed.
func (l *latencies) report(b *testing.B, units int, unit string, elapsed time.Duration) {
	slices.Sort(l.d)
	q := func(f float64) float64 { return float64(l.d[int(f*float64(len(l.d)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(float64(units)/elapsed.Seconds(), unit+"/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op") // the rate is the figure; time per round says nothing more
}

// BenchmarkAcceptEvent measures the Stripe event inbox with 1, 8 and 32
// concurrent senders, each sending events of about 1.5 KB one after
// another, as webhook handlers do. Each round accepts eventsPerRound new
// events; events/s is over all rounds, latency is per AcceptEvent call.
func BenchmarkAcceptEvent(b *testing.B) {
	const eventsPerRound = 4000
	for _, d := range benchDialects {
		for _, senders := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("%s/senders=%d", d.name, senders), func(b *testing.B) {
				db := d.open(b)
				ctx := b.Context()
				var (
					next    atomic.Int64
					lat     latencies
					elapsed time.Duration
				)
				for b.Loop() {
					last := next.Load() + eventsPerRound
					began := time.Now()
					var wg sync.WaitGroup
					for range senders {
						wg.Go(func() {
							own := make([]time.Duration, 0, eventsPerRound/senders+1)
							defer func() { lat.add(own) }()
							for i := next.Add(1); i <= last; i = next.Add(1) {
								id := fmt.Sprintf("evt_%012d", i)
								e := stripesync.Event{ID: id, Type: stripesync.EventPaymentIntentSucceeded,
									Created: time.Now(), APIVersion: "2023-10-16", ObjectID: "pi_" + id,
									PaymentIntentID: "pi_" + id, Payload: eventPayload(id)}
								t0 := time.Now()
								inserted, err := db.AcceptEvent(ctx, e)
								own = append(own, time.Since(t0))
								if err != nil || !inserted {
									b.Errorf("AcceptEvent(%s) = %v, %v", id, inserted, err)
									return
								}
							}
						})
					}
					wg.Wait()
					elapsed += time.Since(began)
					next.Store(last)
				}
				lat.report(b, int(next.Load()), "events", elapsed)
			})
		}
	}
}

// BenchmarkAcceptTriggers measures the trigger inbox with Outbound Messages
// of 100 notifications, one transaction per message, from 1 and 8
// concurrent senders. A quarter of each message's records were named by
// the previous message, so merges into pending rows are part of the load.
// notifications/s is over all rounds, latency is per message.
func BenchmarkAcceptTriggers(b *testing.B) {
	const perMessage, messagesPerRound = 100, 100
	for _, d := range benchDialects {
		for _, senders := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/senders=%d", d.name, senders), func(b *testing.B) {
				db := d.open(b)
				ctx := b.Context()
				var (
					next    atomic.Int64
					lat     latencies
					elapsed time.Duration
				)
				message := func(m int64) []stripesync.Trigger {
					ts := make([]stripesync.Trigger, perMessage)
					for i := range ts {
						record := m*perMessage*3/4 + int64(i)
						ts[i] = stripesync.Trigger{
							NotificationID: fmt.Sprintf("04l%015d", m*perMessage+int64(i)),
							Object:         stripesync.ObjectAccount,
							RecordID:       fmt.Sprintf("001%015d", record),
							ModStamp:       time.Now(),
						}
					}
					return ts
				}
				for b.Loop() {
					last := next.Load() + messagesPerRound
					began := time.Now()
					var wg sync.WaitGroup
					for range senders {
						wg.Go(func() {
							own := make([]time.Duration, 0, messagesPerRound/senders+1)
							defer func() { lat.add(own) }()
							for m := next.Add(1); m <= last; m = next.Add(1) {
								ts := message(m)
								t0 := time.Now()
								n, err := db.AcceptTriggers(ctx, ts)
								own = append(own, time.Since(t0))
								if err != nil || n != perMessage {
									b.Errorf("AcceptTriggers(message %d) = %d, %v", m, n, err)
									return
								}
							}
						})
					}
					wg.Wait()
					elapsed += time.Since(began)
					next.Store(last)
				}
				lat.report(b, int(next.Load())*perMessage, "notifications", elapsed)
			})
		}
	}
}

// BenchmarkClaimEvents measures one claim of 50 new events while 0 or
// 10,000 others stay leased (waiting in the engine's read lane, as they do
// for unknown PaymentIntents during a burst); each claimed batch is then
// marked processed, untimed. A claim should cost the same either way: it
// reads the new events' index range, not the leased ones.
func BenchmarkClaimEvents(b *testing.B) {
	const fresh = 50
	for _, d := range benchDialects {
		for _, leased := range []int{0, 10_000} {
			b.Run(fmt.Sprintf("%s/leased=%d", d.name, leased), func(b *testing.B) {
				db := d.open(b)
				ctx := b.Context()
				seq := 0
				acceptN := func(n int) {
					for range n {
						seq++
						id := fmt.Sprintf("evt_%012d", seq)
						e := stripesync.Event{ID: id, Type: stripesync.EventPaymentIntentSucceeded,
							Created: time.Unix(1_700_000_000+int64(seq), 0), ObjectID: "pi_" + id,
							PaymentIntentID: "pi_" + id, Payload: eventPayload(id)}
						if _, err := db.AcceptEvent(ctx, e); err != nil {
							b.Fatal(err)
						}
					}
				}
				acceptN(leased)
				for claimed := 0; claimed < leased; {
					evs, err := db.ClaimEvents(ctx, 1000, time.Hour, 0)
					if err != nil || len(evs) == 0 {
						b.Fatalf("lease the backlog: %d events, %v", len(evs), err)
					}
					claimed += len(evs)
				}
				for b.Loop() {
					b.StopTimer()
					acceptN(fresh)
					b.StartTimer()
					evs, err := db.ClaimEvents(ctx, 100, time.Hour, 0)
					b.StopTimer()
					if err != nil || len(evs) != fresh {
						b.Fatalf("ClaimEvents = %d events, %v; want %d", len(evs), err, fresh)
					}
					ids := make([]string, len(evs))
					for i, e := range evs {
						ids[i] = e.ID
					}
					if err := db.MarkEventsProcessed(ctx, ids); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			})
		}
	}
}
