package stripetest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCustomerEvents(t *testing.T) {
	s := NewServer(t, Options{})
	r := send(t, s, http.MethodPost, "/v1/customers", url.Values{"name": {"Acme"}, "metadata[crm_account_id]": {"001A"}}, "Idempotency-Key", "c1")
	id := mustOK(t, r)["id"].(string)
	mustOK(t, send(t, s, http.MethodPost, "/v1/customers/"+id, url.Values{"name": {"Acme Corp"}, "metadata[note]": {"new"}}))
	mustOK(t, send(t, s, http.MethodPost, "/v1/customers/"+id, url.Values{"name": {"Acme Corp"}})) // no change, no event
	mustOK(t, send(t, s, http.MethodDelete, "/v1/customers/"+id, nil))
	seeded := s.CreateCustomer(Customer{Name: "Seeded"})
	s.DeleteCustomer(seeded)

	events := s.Events()
	if diff := cmp.Diff([]string{"customer.created", "customer.updated", "customer.deleted", "customer.deleted"}, eventTypes(s)); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	if field(decoded(t, events[0]), "request", "idempotency_key") != "c1" || object(t, events[0])["name"] != "Acme" {
		t.Errorf("customer.created: %v", decoded(t, events[0]))
	}
	wantPrev := map[string]any{"name": "Acme", "metadata": map[string]any{"note": nil}}
	if diff := cmp.Diff(wantPrev, field(decoded(t, events[1]), "data", "previous_attributes")); diff != "" {
		t.Errorf("customer.updated previous_attributes (-want +got):\n%s", diff)
	}
	if obj := object(t, events[2]); obj["id"] != id || obj["name"] != "Acme Corp" || obj["object"] != "customer" {
		t.Errorf("customer.deleted carries the customer as it was: %v", obj)
	}
	if object(t, events[3])["id"] != seeded || field(decoded(t, events[3]), "request", "id") != nil {
		t.Errorf("DeleteCustomer's event: %v", decoded(t, events[3]))
	}
}

func TestEventsList(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	s := NewServer(t, Options{Clock: func() time.Time { return clock }})
	for i := range 3 {
		clock = clock.Add(time.Minute)
		mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa", "metadata[i]", fmt.Sprint(i))))
	}
	clock = clock.Add(time.Minute)
	send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_chargeDeclined"))
	mustOK(t, send(t, s, http.MethodPost, "/v1/payment_intents", cardPayment("pm_card_visa"), "Stripe-Account", "acct_1Conn"))
	all := s.Events()
	var platform []string // newest first
	for _, e := range slices.Backward(all) {
		if e.Account == "" {
			platform = append(platform, e.ID)
		}
	}
	typesOf := func(list map[string]any) []string {
		var out []string
		for _, d := range list["data"].([]any) {
			out = append(out, d.(map[string]any)["type"].(string))
		}
		return out
	}

	got := mustOK(t, send(t, s, http.MethodGet, "/v1/events", url.Values{"limit": {"100"}}))
	if diff := cmp.Diff(platform, ids(got)); diff != "" || got["url"] != "/v1/events" {
		t.Errorf("all, newest first, this account (-want +got):\n%s", diff)
	}
	got = mustOK(t, send(t, s, http.MethodGet, "/v1/events", url.Values{"type": {"payment_intent.*"}, "limit": {"100"}}))
	for _, typ := range typesOf(got) {
		if !strings.HasPrefix(typ, "payment_intent.") {
			t.Errorf("type=payment_intent.* returned %s", typ)
		}
	}
	if n := len(ids(got)); n != 8 {
		t.Errorf("type=payment_intent.*: %d events, want 8", n)
	}
	got = mustOK(t, send(t, s, http.MethodGet, "/v1/events", url.Values{
		"types[]": {"payment_intent.succeeded", "payment_intent.payment_failed"},
	}))
	if diff := cmp.Diff([]string{"payment_intent.payment_failed", "payment_intent.succeeded", "payment_intent.succeeded", "payment_intent.succeeded"}, typesOf(got)); diff != "" {
		t.Errorf("types[] (-want +got):\n%s", diff)
	}
	got = mustOK(t, send(t, s, http.MethodGet, "/v1/events", url.Values{"created[gte]": {"1700000180"}, "type": {"charge.*"}}))
	if diff := cmp.Diff([]string{"charge.failed", "charge.succeeded"}, typesOf(got)); diff != "" {
		t.Errorf("created[gte] and type (-want +got):\n%s", diff)
	}

	// Paging both ways.
	page1 := mustOK(t, send(t, s, http.MethodGet, "/v1/events", url.Values{"limit": {"5"}}))
	page2 := mustOK(t, send(t, s, http.MethodGet, "/v1/events", url.Values{"limit": {"5"}, "starting_after": {platform[4]}}))
	if diff := cmp.Diff(platform[:5], ids(page1)); diff != "" || page1["has_more"] != true {
		t.Errorf("page 1 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(platform[5:10], ids(page2)); diff != "" {
		t.Errorf("page 2 (-want +got):\n%s", diff)
	}
	back := mustOK(t, send(t, s, http.MethodGet, "/v1/events", url.Values{"limit": {"3"}, "ending_before": {platform[5]}}))
	if diff := cmp.Diff(platform[2:5], ids(back)); diff != "" || back["has_more"] != true {
		t.Errorf("ending_before has_more=%v (-want +got):\n%s", back["has_more"], diff)
	}

	one := mustOK(t, send(t, s, http.MethodGet, "/v1/events/"+platform[0], nil))
	if one["id"] != platform[0] || one["object"] != "event" {
		t.Errorf("retrieve: %v", one)
	}
	if r := send(t, s, http.MethodGet, "/v1/events/"+all[len(all)-1].ID, nil); r.status != 404 {
		t.Errorf("another account's event from the platform: %d", r.status)
	}

	tooMany := url.Values{}
	for i := range 21 {
		tooMany.Add("types[]", fmt.Sprintf("type.%d", i))
	}
	for _, bad := range []url.Values{
		tooMany,
		{"type": {"charge.*"}, "types[]": {"charge.failed"}},
		{"limit": {"0"}},
		{"expand[]": {"data.object"}},
	} {
		if r := send(t, s, http.MethodGet, "/v1/events", bad); r.status != 400 {
			t.Errorf("GET /v1/events?%s: %d, want 400", bad.Encode(), r.status)
		}
	}

	// Thirty days later the events are gone from the API.
	clock = clock.Add(31 * 24 * time.Hour)
	if got := mustOK(t, send(t, s, http.MethodGet, "/v1/events", nil)); len(ids(got)) != 0 {
		t.Errorf("%d events older than 30 days listed", len(ids(got)))
	}
	if r := send(t, s, http.MethodGet, "/v1/events/"+platform[0], nil); r.status != 404 {
		t.Errorf("retrieve of a 31-day-old event: %d, want 404", r.status)
	}
}
