package stripeclient

import (
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// steppedClock is an emulator clock the test moves forward; the emulator
// reads it from its own goroutines.
type steppedClock struct{ unix atomic.Int64 }

func newSteppedClock(start time.Time) *steppedClock {
	c := &steppedClock{}
	c.unix.Store(start.Unix())
	return c
}

func (c *steppedClock) now() time.Time               { return time.Unix(c.unix.Load(), 0) }
func (c *steppedClock) step(d time.Duration)         { c.unix.Add(int64(d / time.Second)) }
func (c *steppedClock) at(d time.Duration) time.Time { return time.Unix(c.unix.Load(), 0).Add(d) }

func TestPaymentIntentMapping(t *testing.T) {
	t0 := time.Date(2024, 4, 9, 12, 0, 0, 0, time.UTC)
	clock := newSteppedClock(t0)
	srv := stripetest.NewServer(t, stripetest.Options{Clock: clock.now})
	c, _ := newClient(t, srv, Config{})
	cus := srv.CreateCustomer(stripetest.Customer{Name: "Acme"})
	ours := map[string]string{
		stripesync.MetadataInvoiceID: "a01000000000001AAA",
		stripesync.MetadataAccountID: "001000000000001AAA",
		stripesync.MetadataChannel:   stripesync.ChannelPhone,
	}
	pay := func(pm string, md map[string]string) string {
		t.Helper()
		clock.step(time.Minute)
		id, _ := srv.Pay(stripetest.PayParams{Customer: cus, Amount: 12500, Currency: "usd", PaymentMethod: pm, Metadata: md})
		if id == "" {
			t.Fatalf("Pay(%s) made no PaymentIntent", pm)
		}
		return id
	}
	chargeOf := func(id string) string {
		for _, p := range srv.PaymentIntents() {
			if p.ID == id {
				return p.LatestCharge
			}
		}
		t.Fatalf("no PaymentIntent %s", id)
		return ""
	}
	usd := stripesync.Money{Amount: 12500, Currency: "USD"}

	card := pay("pm_card_visa", ours)
	cardAt := clock.now().UTC()
	mastercard := pay("pm_card_mastercard", nil)
	amex := pay("pm_card_amex", nil)
	ach := pay("pm_usBankAccount_success", nil)
	achAt := clock.now().UTC()
	settled := pay("pm_usBankAccount_success", nil)
	settledAt := clock.now().UTC()
	if err := srv.SettleACH(settled); err != nil {
		t.Fatal(err)
	}
	declined := pay("pm_card_visa_chargeDeclinedInsufficientFunds", nil)
	declinedAt := clock.now().UTC()
	achFailed := pay("pm_usBankAccount_accountClosed", nil)
	if err := srv.SettleACH(achFailed); err != nil {
		t.Fatal(err)
	}
	refunded := pay("pm_card_visa", nil)
	disputed := pay("pm_card_visa", nil)
	if err := srv.Dispute(disputed); err != nil {
		t.Fatal(err)
	}
	refundReq := url.Values{"payment_intent": {refunded}, "amount": {"2500"}}
	if r := postForm(t, srv, "/v1/refunds", refundReq); r != 200 {
		t.Fatalf("refund: %d", r)
	}

	tests := []struct {
		name string
		id   string
		want stripesync.Payment
	}{
		{"card with our metadata", card, stripesync.Payment{
			ID: card, InvoiceID: "a01000000000001AAA", AccountID: "001000000000001AAA", CustomerID: cus,
			Amount: usd, Status: stripesync.PaymentSucceeded, Method: stripesync.MethodCard,
			MethodDetail: "Visa •••• 4242", Channel: stripesync.ChannelPhone, Created: cardAt, PaidAt: cardAt,
			ChargeID: chargeOf(card), ChargeCreated: cardAt,
		}},
		{"ACH processing", ach, stripesync.Payment{
			ID: ach, CustomerID: cus, Amount: usd, Status: stripesync.PaymentProcessing, Method: stripesync.MethodACH,
			MethodDetail: "Bank •••• 6789", Channel: stripesync.ChannelStripe, Created: achAt,
			ChargeID: chargeOf(ach), ChargeCreated: achAt,
		}},
		{"ACH settled", settled, stripesync.Payment{
			ID: settled, CustomerID: cus, Amount: usd, Status: stripesync.PaymentSucceeded, Method: stripesync.MethodACH,
			MethodDetail: "Bank •••• 6789", Channel: stripesync.ChannelStripe, Created: settledAt, PaidAt: settledAt,
			ChargeID: chargeOf(settled), ChargeCreated: settledAt,
		}},
		{"declined", declined, stripesync.Payment{
			ID: declined, CustomerID: cus, Amount: usd, Status: stripesync.PaymentFailed, Method: stripesync.MethodCard,
			MethodDetail: "Visa •••• 9995", Channel: stripesync.ChannelStripe,
			FailureReason: "insufficient_funds: Your card has insufficient funds.", Created: declinedAt,
			ChargeID: chargeOf(declined), ChargeCreated: declinedAt,
		}},
	}
	for _, tt := range tests {
		got, err := c.PaymentIntent(t.Context(), tt.id)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}

	for _, tt := range []struct{ id, detail string }{
		{mastercard, "Mastercard •••• 4444"}, {amex, "American Express •••• 8431"},
	} {
		if got, err := c.PaymentIntent(t.Context(), tt.id); err != nil || got.MethodDetail != tt.detail {
			t.Errorf("MethodDetail = %q, %v; want %q", got.MethodDetail, err, tt.detail)
		}
	}
	if got, _ := c.PaymentIntent(t.Context(), achFailed); got.Status != stripesync.PaymentFailed ||
		!strings.HasPrefix(got.FailureReason, "account_closed: ") {
		t.Errorf("returned ACH debit: %s %q", got.Status, got.FailureReason)
	}
	if got, _ := c.PaymentIntent(t.Context(), refunded); got.Refunded != 2500 || got.Status != stripesync.PaymentSucceeded || got.CRMStatus() != "Partially Refunded" {
		t.Errorf("refunded: Refunded %d Status %s", got.Refunded, got.Status)
	}
	if got, _ := c.PaymentIntent(t.Context(), disputed); !got.Disputed {
		t.Error("disputed payment not Disputed")
	}
	if _, err := c.PaymentIntent(t.Context(), "pi_missing"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
		t.Errorf("missing: %v, want ENOTFOUND", err)
	}
	if _, err := c.PaymentIntent(t.Context(), " "); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("empty id: %v, want EINVALID", err)
	}
	for _, r := range srv.Requests() {
		if r.Method == "GET" && strings.HasPrefix(r.Path, "/v1/payment_intents/") && r.Params.Get("expand[0]") != "latest_charge" {
			t.Errorf("GET %s without expand[]=latest_charge: %v", r.Path, r.Params)
		}
	}
}

func TestPaymentStatusWithoutAnAttempt(t *testing.T) {
	srv := stripetest.NewServer(t, stripetest.Options{})
	c, _ := newClient(t, srv, Config{})
	if r := postForm(t, srv, "/v1/payment_intents", url.Values{"amount": {"5000"}, "currency": {"jpy"}, "payment_method_types[]": {"card"}}); r != 200 {
		t.Fatalf("create: %d", r)
	}
	id := srv.PaymentIntents()[0].ID
	got, err := c.PaymentIntent(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != stripesync.PaymentPending || got.Amount != (stripesync.Money{Amount: 5000, Currency: "JPY"}) ||
		got.ChargeID != "" || got.Method != "" || !got.ChargeCreated.IsZero() {
		t.Errorf("unconfirmed: %+v", got)
	}
	if r := postForm(t, srv, "/v1/payment_intents/"+id+"/cancel", nil); r != 200 {
		t.Fatalf("cancel: %d", r)
	}
	if got, _ := c.PaymentIntent(t.Context(), id); got.Status != stripesync.PaymentCanceled {
		t.Errorf("canceled: %s", got.Status)
	}
}

func TestPaymentIntentsStreamOldestFirst(t *testing.T) {
	t0 := time.Date(2024, 4, 9, 12, 0, 0, 0, time.UTC)
	clock := newSteppedClock(t0)
	srv := stripetest.NewServer(t, stripetest.Options{Clock: clock.now})
	c, _ := newClient(t, srv, Config{RatePerSecond: 1000})
	var made []string
	for range 250 {
		clock.step(time.Second)
		id, err := srv.Pay(stripetest.PayParams{Amount: 5000, Currency: "usd"})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, id)
	}
	since := t0.Add(21 * time.Second) // the 21st payment on
	srv.ResetRequests()

	collect := func(during func(n int)) []string {
		t.Helper()
		var got []string
		for p, err := range c.PaymentIntents(t.Context(), since) {
			if err != nil {
				t.Fatal(err)
			}
			if p.ChargeID == "" || p.Status != stripesync.PaymentSucceeded {
				t.Fatalf("%s came without its expanded charge: %+v", p.ID, p)
			}
			got = append(got, p.ID)
			during(len(got))
		}
		return got
	}
	got := collect(func(int) {})
	if diff := cmp.Diff(made[20:], got); diff != "" {
		t.Errorf("PaymentIntents since the 21st, oldest first (-want +got):\n%s", diff)
	}
	reqs := srv.Requests()
	// 230 items: three pages forward, then back through the two newer
	// pages; the second leg ends once Stripe has nothing newer.
	if len(reqs) != 5 {
		t.Errorf("%d requests, want 5 (2k−1 for k=3 pages)", len(reqs))
	}
	for _, r := range reqs {
		if r.Params.Get("created[gte]") != "1712664021" || r.Params.Get("expand[0]") != "data.latest_charge" || r.Params.Get("limit") != "100" {
			t.Errorf("request %v", r.Params)
		}
	}

	// A payment made during the walk is found too, last.
	var late string
	got = collect(func(n int) {
		if n != 10 {
			return
		}
		clock.step(time.Second)
		var err error
		if late, err = srv.Pay(stripetest.PayParams{Amount: 5000, Currency: "usd"}); err != nil {
			t.Fatal(err)
		}
	})
	if diff := cmp.Diff(append(append([]string{}, made[20:]...), late), got); diff != "" {
		t.Errorf("with a payment made during the walk (-want +got):\n%s", diff)
	}

	// Stopping early stops fetching: only the first leg has run.
	srv.ResetRequests()
	n := 0
	for _, err := range c.PaymentIntents(t.Context(), since) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	if got := srv.Stats().Total; got != 3 {
		t.Errorf("%d requests after breaking at the third payment, want the three of the first leg", got)
	}

	// A short list costs one request.
	srv.ResetRequests()
	count := 0
	for _, err := range c.PaymentIntents(t.Context(), clock.at(-5*time.Second)) {
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if count != 6 || srv.Stats().Total != 1 {
		t.Errorf("%d payments in %d requests, want 6 in 1", count, srv.Stats().Total)
	}
}

func TestListErrorsEndTheStream(t *testing.T) {
	srv := stripetest.NewServer(t, stripetest.Options{})
	c, _ := newClient(t, srv, Config{MaxRetries: -1})
	srv.SetFaults(stripetest.Faults{Rate503: 1})
	for name, seq := range map[string]func() (int, error){
		"PaymentIntents": func() (int, error) {
			n := 0
			for _, err := range c.PaymentIntents(t.Context(), time.Time{}) {
				if err != nil {
					return n, err
				}
				n++
			}
			return n, nil
		},
		"Events": func() (int, error) {
			n := 0
			for _, err := range c.Events(t.Context(), time.Time{}) {
				if err != nil {
					return n, err
				}
				n++
			}
			return n, nil
		},
	} {
		n, err := seq()
		if n != 0 || stripesync.CodeOf(err) != stripesync.EUNAVAILABLE {
			t.Errorf("%s during an outage: %d items, %v; want EUNAVAILABLE", name, n, err)
		}
	}
}
