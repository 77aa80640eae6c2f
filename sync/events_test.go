package sync_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
	syncer "github.com/stripesync/stripesync/sync"
)

// intentReads counts the emulator's GET /v1/payment_intents/{id}, by id.
func intentReads(st *stripetest.Server) map[string]int {
	reads := map[string]int{}
	for _, r := range st.Requests() {
		if id, ok := strings.CutPrefix(r.Path, "/v1/payment_intents/"); ok && r.Method == http.MethodGet && !strings.Contains(id, "/") {
			reads[id]++
		}
	}
	return reads
}

// post delivers a Stripe event body to the daemon's webhook endpoint, signed
// as Stripe signs it.
func (w *payWorld) post(t testing.TB, payload []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.web.URL+"/stripe/webhook", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Stripe-Signature", stripetest.SignPayload(payload, testWebhookSecret, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
}

// eventsOf returns the emulator's recorded events about PaymentIntent pi,
// oldest first.
func eventsOf(st *stripetest.Server, pi string) []stripetest.Event {
	var out []stripetest.Event
	for _, ev := range st.Events() {
		if bytes.Contains(ev.Payload, []byte(`"`+pi+`"`)) {
			out = append(out, ev)
		}
	}
	return out
}

// unknownIntentEvent is a payment_intent.succeeded of a PaymentIntent no
// Stripe knows (another mode or account), as a load generator sends it.
func unknownIntentEvent(i int) []byte {
	return fmt.Appendf(nil, `{"id":"evt_unknown_%06d","object":"event","api_version":"2023-10-16","created":%d,`+
		`"type":"payment_intent.succeeded","data":{"object":{"id":"pi_unknown_%06d","object":"payment_intent",`+
		`"amount":1000,"currency":"usd","status":"succeeded","latest_charge":"ch_unknown_%06d","metadata":{}}}}`,
		i, time.Now().Unix(), i, i)
}

func TestPaymentsAreAppliedFromTheirEventsWithoutStripeReads(t *testing.T) {
	w := newPayWorld(t)
	ids := scenario(t, w)
	w.settle(t)
	if reads := intentReads(w.st); len(reads) != 0 {
		t.Errorf("PaymentIntent reads = %v, want none: every event carried what the ledger needs", reads)
		for pi := range reads {
			for _, ev := range eventsOf(w.st, pi) {
				t.Logf("%s %s %s", pi, ev.Type, ev.Created.Format(time.StampMilli))
			}
		}
	}
	got := strings.Join(w.snapshot(t, ids), "\n")
	for _, want := range []string{
		"INV-A crm=Paid/100.00 USD/0.00 USD",
		"INV-B crm=Paid/50.00 USD/0.00 USD",
		"INV-C crm=Paid/80.00 USD/0.00 USD",
		"80.0 Succeeded ACH refunded=0.0 Bank •••• 6789",
		"1.0 Refunded Card refunded=1.0 Visa •••• 4242",
		"5.0 Failed Card refunded=0.0 Visa •••• 0002",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("outcome lacks %q:\n%s", want, got)
		}
	}
}

func TestStaleSnapshotsEndInTheNewestState(t *testing.T) {
	w := newPayWorld(t)
	w.st.SetWebhookOptions(stripetest.WebhookOptions{Disabled: true})
	inv := w.invoice(t, "INV-STALE", "80.00", "USD")
	refundedInv := w.invoice(t, "INV-STALE-R", "30.00", "USD")
	ach := w.pay(t, inv, 8000, "usd", "pm_usBankAccount_success")
	if err := w.st.SettleACH(ach); err != nil {
		t.Fatal(err)
	}
	card := w.pay(t, refundedInv, 3000, "usd", "pm_card_visa")
	if err := w.st.Refund(card, 1000); err != nil {
		t.Fatal(err)
	}
	// Newest first: payment_intent.succeeded before the older
	// payment_intent.processing and charge.pending, the refund before the
	// charge.succeeded it follows; each batch sees one event.
	for _, pi := range []string{ach, card} {
		evs := eventsOf(w.st, pi)
		slices.Reverse(evs)
		for _, ev := range evs {
			w.post(t, ev.Payload)
			w.settleEvents(t)
		}
	}
	w.settle(t)
	if got := w.crmInvoice(t, inv); got.Status != "Paid" {
		t.Errorf("ACH invoice after stale deliveries = %+v, want Paid", got)
	}
	if got := w.crmInvoice(t, refundedInv); got.Status != "Partially Paid" || got.Paid != usd(2000) {
		t.Errorf("refunded invoice after stale deliveries = %+v, want Partially Paid 20.00", got)
	}
	p, err := w.db.Payment(t.Context(), ach)
	if err != nil || p.Status != stripesync.PaymentSucceeded || p.MethodDetail != "Bank •••• 6789" {
		t.Errorf("ACH payment = %+v, %v; want Succeeded with its bank", p, err)
	}
	p, err = w.db.Payment(t.Context(), card)
	if err != nil || p.Refunded != 1000 || p.Status != stripesync.PaymentSucceeded {
		t.Errorf("card payment = %+v, %v; want Succeeded with 10.00 refunded", p, err)
	}
	// The newest event of each came first alone: a charge without its
	// PaymentIntent, one read each; everything after joined the ledger.
	for pi, n := range intentReads(w.st) {
		if n > 1 {
			t.Errorf("PaymentIntent %s read %d times, want at most once", pi, n)
		}
	}
}

// settleEvents waits until every event in the inbox is processed.
func (w *payWorld) settleEvents(t *testing.T) {
	t.Helper()
	eventually(t, "the inbox to drain", func() bool {
		b, err := w.db.InboxBacklog(t.Context())
		return err == nil && b.Events == 0
	})
}

// Events of PaymentIntents this account does not have (another mode or
// account) must not hold up real payments behind them. The reads of the
// unknown ones are held until the known payments reach the CRM: if a known
// payment waited behind an unknown read, it would never get there. The
// order is decided by counts, not by timing.
func TestUnknownPaymentIntentsDoNotDelayKnownOnes(t *testing.T) {
	held := &heldReads{release: make(chan struct{})}
	w := newPayWorld(t, func(c *syncer.Config) {
		held.Billing = c.Billing
		c.Billing = held
	})
	t.Cleanup(held.free)
	const unknown, known = 200, 20
	var wg gosync.WaitGroup
	for c := range 8 {
		wg.Go(func() {
			for i := c; i < unknown; i += 8 {
				w.post(t, unknownIntentEvent(i))
			}
		})
	}
	wg.Wait()
	eventually(t, "the unknown PaymentIntents' reads under way", func() bool { return held.waiting.Load() > 0 })
	invoices := make([]string, known)
	for i := range invoices {
		invoices[i] = w.invoice(t, fmt.Sprintf("INV-K%02d", i), "10.00", "USD")
	}
	for _, inv := range invoices {
		w.pay(t, inv, 1000, "usd", "pm_card_visa")
	}
	eventually(t, "the known payments Paid in the CRM while every unknown read is held", func() bool {
		for _, inv := range invoices {
			if w.crmInvoice(t, inv).Status != "Paid" {
				return false
			}
		}
		return true
	})
	backlog, err := w.db.InboxBacklog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d known payments Paid in the CRM with %d unknown reads held and %d events waiting", known, held.waiting.Load(), backlog.Events)
	if backlog.Events == 0 {
		t.Error("no unknown event waits: the reads were not held, so the test proved nothing")
	}
}

// heldReads is Stripe with the reads of unknown PaymentIntents
// (pi_unknown_…) held until free is called or the read's context ends.
type heldReads struct {
	stripesync.Billing
	release chan struct{}
	once    gosync.Once
	waiting atomic.Int64 // reads held now
}

func (h *heldReads) PaymentIntent(ctx context.Context, id string) (stripesync.Payment, error) {
	if strings.HasPrefix(id, "pi_unknown_") {
		h.waiting.Add(1)
		defer h.waiting.Add(-1)
		select {
		case <-h.release:
		case <-ctx.Done():
			return stripesync.Payment{}, ctx.Err()
		}
	}
	return h.Billing.PaymentIntent(ctx, id)
}

func (h *heldReads) free() { h.once.Do(func() { close(h.release) }) }

// failingReads is Stripe with the reads of some PaymentIntents refused
// for good, for the dead letters.
type failingReads struct {
	stripesync.Billing
	refuse map[string]bool
}

func (f failingReads) PaymentIntent(ctx context.Context, id string) (stripesync.Payment, error) {
	if f.refuse[id] {
		return stripesync.Payment{}, stripesync.Errorf(stripesync.EINVALID, "stripe: this PaymentIntent cannot be read")
	}
	return f.Billing.PaymentIntent(ctx, id)
}

// settledCounts is an Observer of event outcomes.
type settledCounts struct {
	processed, retried, dead atomic.Int64
}

func (*settledCounts) AccountsHandled(int, int, int)             {}
func (*settledCounts) RunFinished(string, string, time.Duration) {}
func (c *settledCounts) EventsSettled(processed, retried, dead int) {
	c.processed.Add(int64(processed))
	c.retried.Add(int64(retried))
	c.dead.Add(int64(dead))
}

// logCounter counts log records at Warn and above.
type logCounter struct {
	slog.Handler
	n *atomic.Int64
}

func (h logCounter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.n.Add(1)
	}
	return nil
}
func (logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h logCounter) WithAttrs([]slog.Attr) slog.Handler     { return h }
func (h logCounter) WithGroup(string) slog.Handler          { return h }

func TestStripeOutageBacksOffThenRecovers(t *testing.T) {
	var warnings atomic.Int64
	counts := &settledCounts{}
	refused := "pi_never_readable"
	w := newPayWorld(t, func(c *syncer.Config) {
		c.Billing = failingReads{Billing: c.Billing, refuse: map[string]bool{refused: true}}
		c.Logger = slog.New(logCounter{Handler: slog.DiscardHandler, n: &warnings})
		c.Observer = counts
		c.EventAttempts = 3
	})
	w.st.SetWebhookOptions(stripetest.WebhookOptions{Disabled: true})
	const n = 40
	invoices := make([]string, n)
	var intentEvents [][]byte
	for i := range invoices {
		invoices[i] = w.invoice(t, fmt.Sprintf("INV-O%02d", i), "10.00", "USD")
		pi := w.pay(t, invoices[i], 1000, "usd", "pm_card_visa")
		for _, ev := range eventsOf(w.st, pi) {
			if ev.Type == stripesync.EventPaymentIntentSucceeded {
				intentEvents = append(intentEvents, ev.Payload) // alone, it needs a read
			}
		}
	}
	w.st.ResetRequests()
	warnings.Store(0)
	w.st.SetFaults(stripetest.Faults{Rate503: 1})
	for _, ev := range intentEvents {
		w.post(t, ev)
	}
	const outage = 8 * time.Second
	time.Sleep(outage)
	attempts, warned := len(w.st.Requests()), warnings.Load()
	t.Logf("during a %s outage with %d events waiting: %d Stripe requests, %d warnings", outage, n, attempts, warned)
	if attempts > 30 || warned > 10 {
		t.Errorf("outage cost %d requests and %d warnings, want a few: one probe per pause", attempts, warned)
	}
	w.st.SetFaults(stripetest.Faults{})
	w.st.ResetRequests()
	back := time.Now()
	w.post(t, bytes.ReplaceAll(unknownIntentEvent(1), []byte("pi_unknown_000001"), []byte(refused)))
	eventually(t, "every invoice Paid after Stripe returned", func() bool {
		for _, inv := range invoices {
			if w.crmInvoice(t, inv).Status != "Paid" {
				return false
			}
		}
		return true
	})
	t.Logf("all %d Paid %s after Stripe returned", n, time.Since(back).Round(time.Millisecond))
	for pi, k := range intentReads(w.st) {
		if k > 1 && pi != refused {
			t.Errorf("PaymentIntent %s read %d times after the outage, want at most once", pi, k)
		}
	}
	eventually(t, "the unreadable event in the dead letters", func() bool { return counts.dead.Load() == 1 })
	evs, err := w.db.ClaimEvents(t.Context(), 10, time.Minute, 0)
	if err != nil || len(evs) != 0 {
		t.Errorf("ClaimEvents after the dead letter = %v, %v; want nothing claimable", evs, err)
	}
}

// canceledIntentEvent is a payment_intent.canceled of a PaymentIntent that
// never made an attempt: its snapshot alone is a whole payment.
func canceledIntentEvent(id, currency string) []byte {
	return fmt.Appendf(nil, `{"id":"evt_%s","object":"event","api_version":"2023-10-16","created":%d,`+
		`"type":"payment_intent.canceled","data":{"object":{"id":"%s","object":"payment_intent",`+
		`"amount":700,"currency":%q,"status":"canceled","latest_charge":null,"created":%d,"metadata":{}}}}`,
		id, time.Now().Unix(), id, currency, time.Now().Unix())
}

func TestOneBadPaymentFailsOnlyItsOwnEvents(t *testing.T) {
	counts := &settledCounts{}
	w := newPayWorld(t, func(c *syncer.Config) {
		c.Observer = counts
		c.EventAttempts = 2
	})
	// Posted together, so that one batch holds both: the ledger refuses
	// the currency of one, and the batch's single transaction with it.
	var wg gosync.WaitGroup
	wg.Go(func() { w.post(t, canceledIntentEvent("pi_good", "usd")) })
	wg.Go(func() { w.post(t, canceledIntentEvent("pi_bad", "u$d")) })
	wg.Wait()
	eventually(t, "the good payment recorded", func() bool {
		p, err := w.db.Payment(t.Context(), "pi_good")
		return err == nil && p.Status == stripesync.PaymentCanceled
	})
	eventually(t, "the bad event in the dead letters", func() bool { return counts.dead.Load() == 1 })
	if _, err := w.db.Payment(t.Context(), "pi_bad"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
		t.Errorf("Payment(pi_bad) = %v, want ENOTFOUND", err)
	}
	if reads := intentReads(w.st); len(reads) != 0 {
		t.Errorf("PaymentIntent reads = %v, want none", reads)
	}
}

// hangingReads is Stripe that never answers the reads of some
// PaymentIntents: they end only with their context.
type hangingReads struct {
	stripesync.Billing
	hang  map[string]bool
	calls *atomic.Int64 // reads of the hanging ones
}

func (h hangingReads) PaymentIntent(ctx context.Context, id string) (stripesync.Payment, error) {
	if h.hang[id] {
		h.calls.Add(1)
		<-ctx.Done()
		return stripesync.Payment{}, stripesync.WrapError(stripesync.EUNAVAILABLE, ctx.Err(), "stripe: no answer")
	}
	return h.Billing.PaymentIntent(ctx, id)
}

func TestAHangingReadIsCutByItsOwnDeadline(t *testing.T) {
	const hung = "pi_unknown_000000"
	var hangs atomic.Int64
	w := newPayWorld(t, func(c *syncer.Config) {
		c.Billing = hangingReads{Billing: c.Billing, hang: map[string]bool{hung: true}, calls: &hangs}
		c.EventReadTimeout = 500 * time.Millisecond
	})
	w.post(t, unknownIntentEvent(0)) // thin: it needs a read, which hangs
	eventually(t, "the hanging read to start", func() bool { return hangs.Load() == 1 })
	for i := 1; i <= 20; i++ {
		w.post(t, unknownIntentEvent(i)) // read and found unknown meanwhile
	}
	eventually(t, "the 20 other events processed", func() bool {
		b, err := w.db.InboxBacklog(t.Context())
		return err == nil && b.Events == 1
	})
	// Cut at 500 ms, counted as an attempt, retried after its backoff.
	eventually(t, "the hanging read tried again", func() bool { return hangs.Load() >= 2 })
	reads := intentReads(w.st)
	if len(reads) != 20 || reads[hung] != 0 {
		t.Errorf("reads that reached Stripe = %v, want the 20 others once each", reads)
	}
}

// cpuUsed is the CPU time, user and system, this process has used.
func cpuUsed(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestIdleReadersUseNoCPU: once the read lane is empty, its readers sleep.
// They once passed their wake among themselves for ever (each woken reader
// woke the next, found nothing and slept, to be woken by the one after),
// so a single read left sixteen goroutines spinning on a core.
func TestIdleReadersUseNoCPU(t *testing.T) {
	w := newPayWorld(t)
	w.post(t, unknownIntentEvent(1))
	eventually(t, "the unknown PaymentIntent read", func() bool { return len(intentReads(w.st)) == 1 })
	eventually(t, "its event settled", func() bool {
		b, err := w.db.InboxBacklog(t.Context())
		return err == nil && b.Events == 0
	})
	const idle = time.Second
	before := cpuUsed(t)
	time.Sleep(idle)
	// An idle daemon polls its queues once a second, which costs
	// microseconds; the spin cost a core (a second of CPU per second).
	if used := cpuUsed(t) - before; used > idle/5 {
		t.Errorf("the idle process used %v of CPU in %v; want less than %v", used, idle, idle/5)
	}
}
