package stripeclient

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

func TestEventsStreamOldestFirst(t *testing.T) {
	t0 := time.Date(2024, 4, 9, 12, 0, 0, 0, time.UTC)
	clock := newSteppedClock(t0)
	srv := stripetest.NewServer(t, stripetest.Options{Clock: clock.now})
	c, _ := newClient(t, srv, Config{RatePerSecond: 1000})
	for i := range 130 {
		clock.step(time.Second)
		pm := "pm_card_visa"
		if i%10 == 0 {
			pm = "pm_card_chargeDeclined"
		}
		_, _ = srv.Pay(stripetest.PayParams{Amount: 5000, Currency: "usd", PaymentMethod: pm})
	}
	clock.step(time.Second)
	srv.DeleteCustomer(srv.CreateCustomer(stripetest.Customer{}))
	since := t0.Add(5 * time.Second)

	var want []stripetest.Event // what the engine asks for, oldest first
	for _, e := range srv.Events() {
		if slices.Contains(eventTypes, e.Type) && !e.Created.Before(since) {
			want = append(want, e)
		}
	}
	srv.ResetRequests()
	var got []stripesync.Event
	for e, err := range c.Events(t.Context(), since) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	if len(got) != len(want) || len(want) != 127 {
		t.Fatalf("%d events, want %d (126 payment outcomes and a customer.deleted)", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.ID != w.ID || g.Type != w.Type || string(g.Payload) != string(w.Payload) || !g.Created.Equal(w.Created) ||
			g.APIVersion != "2023-10-16" {
			t.Errorf("event %d = %s %s, want %s %s with its payload", i, g.ID, g.Type, w.ID, w.Type)
		}
		if g.Type == stripesync.EventCustomerDeleted && g.CustomerID == "" {
			t.Errorf("customer.deleted without CustomerID")
		}
		if g.Type != stripesync.EventCustomerDeleted && (g.PaymentIntentID == "" || g.PaymentIntentID != g.ObjectID) {
			t.Errorf("%s: PaymentIntentID %q ObjectID %q", g.Type, g.PaymentIntentID, g.ObjectID)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Errorf("%d requests for two pages, want 3", len(reqs))
	}
	var types []string
	for i := range len(eventTypes) {
		types = append(types, reqs[0].Params.Get("types["+strconv.Itoa(i)+"]"))
	}
	if diff := cmp.Diff(eventTypes, types); diff != "" || reqs[0].Params.Get("created[gte]") != "1712664005" {
		t.Errorf("request %v (-want types +got):\n%s", reqs[0].Params, diff)
	}
}

func TestEventsOfTheConnectedAccount(t *testing.T) {
	srv := stripetest.NewServer(t, stripetest.Options{})
	c, _ := newClient(t, srv, Config{Account: "acct_1Connected"})
	if _, err := srv.Pay(stripetest.PayParams{Amount: 5000, Currency: "usd"}); err != nil {
		t.Fatal(err)
	}
	connected, err := srv.Pay(stripetest.PayParams{Amount: 5000, Currency: "usd", Account: "acct_1Connected"})
	if err != nil {
		t.Fatal(err)
	}
	var got []stripesync.Event
	for e, err := range c.Events(t.Context(), time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	if len(got) != 1 || got[0].PaymentIntentID != connected || got[0].Account != "acct_1Connected" {
		t.Errorf("events %+v, want the connected account's payment_intent.succeeded only", got)
	}
}
