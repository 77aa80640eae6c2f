package stripeclient

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

func TestCreateCustomer(t *testing.T) {
	srv := stripetest.NewServer(t, stripetest.Options{})
	c, _ := newClient(t, srv, Config{})
	id, err := c.CreateCustomer(t.Context(), acme, "stripesync:customer-create:001000000000001AAA:0")
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Customers()
	if len(got) != 1 || got[0].ID != id {
		t.Fatalf("emulator has %+v, want one customer %s", got, id)
	}
	want := stripetest.Customer{
		Name: "Acme Corp", Email: "billing@acme.example", Phone: "+1 555 0100",
		Address: stripetest.Address{
			Line1: "1 Main St", City: "Springfield", State: "IL", PostalCode: "62701", Country: "US",
		},
		Metadata: map[string]string{"crm_account_id": "001000000000001AAA"},
	}
	if diff := cmp.Diff(want, got[0], ignoreStripeOwned); diff != "" {
		t.Errorf("customer in Stripe (-want +got):\n%s", diff)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].IdempotencyKey != "stripesync:customer-create:001000000000001AAA:0" {
		t.Errorf("requests = %+v, want one POST with our idempotency key", reqs)
	}
	for name := range reqs[0].Params {
		if reqs[0].Params.Get(name) == "" {
			t.Errorf("create sent empty parameter %s; empty fields are left out", name)
		}
	}
}

// ignoreStripeOwned drops the fields Stripe fills in.
var ignoreStripeOwned = cmp.FilterPath(func(p cmp.Path) bool {
	switch p.Last().String() {
	case ".ID", ".Created", ".InvoicePrefix", ".NextInvoiceSequence", ".TaxExempt":
		return true
	}
	return false
}, cmp.Ignore())

func TestCreateCustomerReplaysTheSameKey(t *testing.T) {
	srv := stripetest.NewServer(t, stripetest.Options{})
	c, _ := newClient(t, srv, Config{})
	first, err := c.CreateCustomer(t.Context(), acme, "k-1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.CreateCustomer(t.Context(), acme, "k-1")
	if err != nil {
		t.Fatal(err)
	}
	if first != second || len(srv.Customers()) != 1 || srv.Stats().Replayed != 1 {
		t.Errorf("ids %s, %s with %d customers and %d replays; want one customer, replayed",
			first, second, len(srv.Customers()), srv.Stats().Replayed)
	}

	changed := acme
	changed.Name = "Acme Renamed"
	_, err = c.CreateCustomer(t.Context(), changed, "k-1")
	if code := stripesync.CodeOf(err); code != stripesync.ECONFLICT {
		t.Errorf("same key, other params: %v (code %s), want ECONFLICT", err, code)
	}
	if !strings.Contains(stripesync.MessageOf(err), "Keys for idempotent requests can only be used with the same parameters") {
		t.Errorf("message = %q, want Stripe's", stripesync.MessageOf(err))
	}
}

func TestWritesRequireAnIdempotencyKey(t *testing.T) {
	srv := stripetest.NewServer(t, stripetest.Options{})
	c, _ := newClient(t, srv, Config{})
	if _, err := c.CreateCustomer(t.Context(), acme, ""); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("CreateCustomer without a key: %v, want EINVALID", err)
	}
	if err := c.UpdateCustomer(t.Context(), "cus_1", acme, " "); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("UpdateCustomer without a key: %v, want EINVALID", err)
	}
	if _, err := c.CreateCustomer(t.Context(), acme, strings.Repeat("k", 256)); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("CreateCustomer with a 256-character key: %v, want EINVALID", err)
	}
	if n := srv.Stats().Total; n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

func TestUpdateCustomer(t *testing.T) {
	srv := stripetest.NewServer(t, stripetest.Options{})
	id := srv.CreateCustomer(stripetest.Customer{
		Name: "Old", Phone: "+1 555 0199", Description: "set by a person",
		Address:  stripetest.Address{Line1: "9 Elm", City: "Shelbyville"},
		Metadata: map[string]string{"crm_account_id": "001A", "note": "kept"},
	})
	c, _ := newClient(t, srv, Config{})
	update := stripesync.Customer{Name: "New", Email: "ap@new.example", Address: stripesync.Address{City: "Capital City"}, CRMAccountID: "001A"}
	if err := c.UpdateCustomer(t.Context(), id, update, "u-1"); err != nil {
		t.Fatal(err)
	}
	got := srv.Customers()[0]
	want := stripetest.Customer{
		Name: "New", Email: "ap@new.example", Description: "set by a person",
		Address:  stripetest.Address{City: "Capital City"},
		Metadata: map[string]string{"crm_account_id": "001A", "note": "kept"},
	}
	if diff := cmp.Diff(want, got, ignoreStripeOwned); diff != "" {
		t.Errorf("after update, daemon fields overwritten (empty clears), others kept (-want +got):\n%s", diff)
	}
}

func TestCustomer(t *testing.T) {
	srv := stripetest.NewServer(t, stripetest.Options{})
	live := srv.CreateCustomer(stripetest.Customer{Metadata: map[string]string{"crm_account_id": "001A"}})
	gone := srv.CreateCustomer(stripetest.Customer{Metadata: map[string]string{"crm_account_id": "001B"}})
	srv.DeleteCustomer(gone)
	c, _ := newClient(t, srv, Config{})

	got, err := c.Customer(t.Context(), live)
	if err != nil || got != (stripesync.CustomerState{ID: live, CRMAccountID: "001A"}) {
		t.Errorf("Customer(live) = %+v, %v", got, err)
	}
	got, err = c.Customer(t.Context(), gone)
	if err != nil || got != (stripesync.CustomerState{ID: gone, Deleted: true}) {
		t.Errorf("Customer(deleted) = %+v, %v; want Deleted", got, err)
	}
	_, err = c.Customer(t.Context(), "cus_missing")
	if code := stripesync.CodeOf(err); code != stripesync.ENOTFOUND {
		t.Errorf("Customer(missing) = %v (code %s), want ENOTFOUND", err, code)
	}
	if msg := stripesync.MessageOf(err); !strings.Contains(msg, "No such customer: 'cus_missing'") {
		t.Errorf("message = %q, want Stripe's", msg)
	}
	if err := c.UpdateCustomer(t.Context(), gone, acme, "u-gone"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
		t.Errorf("UpdateCustomer(deleted) = %v, want ENOTFOUND", err)
	}
	if _, err := c.Customer(t.Context(), ""); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("Customer(\"\") = %v, want EINVALID", err)
	}
	if srv.Stats().Total != 4 {
		t.Errorf("%d requests, want 4: not-found answers are not retried", srv.Stats().Total)
	}
}

func TestFindCustomerByAccount(t *testing.T) {
	srv := stripetest.NewServer(t, stripetest.Options{})
	older := srv.CreateCustomer(stripetest.Customer{Metadata: map[string]string{"crm_account_id": "001A"}, Created: time.Unix(1_700_000_000, 0)})
	srv.CreateCustomer(stripetest.Customer{Metadata: map[string]string{"crm_account_id": "001A"}, Created: time.Unix(1_700_000_100, 0)})
	lower := srv.CreateCustomer(stripetest.Customer{Metadata: map[string]string{"crm_account_id": "001a"}})
	deleted := srv.CreateCustomer(stripetest.Customer{Metadata: map[string]string{"crm_account_id": "001D"}})
	srv.DeleteCustomer(deleted)
	quoted := srv.CreateCustomer(stripetest.Customer{Metadata: map[string]string{"crm_account_id": `O'Brien\1`}})
	c, _ := newClient(t, srv, Config{})

	for _, tt := range []struct{ crmID, want string }{
		{"001A", older},       // two match exactly: the oldest wins
		{"001a", lower},       // search ignores case, Salesforce ids do not
		{"001D", ""},          // deleted customers do not count
		{"001Z", ""},          // no match
		{`O'Brien\1`, quoted}, // quotes and backslashes are escaped
	} {
		got, err := c.FindCustomerByAccount(t.Context(), tt.crmID)
		if err != nil || got != tt.want {
			t.Errorf("FindCustomerByAccount(%q) = %q, %v; want %q", tt.crmID, got, err, tt.want)
		}
	}
	if q := srv.Requests()[0].Params.Get("query"); q != "metadata['crm_account_id']:'001A'" {
		t.Errorf("query = %q", q)
	}
	if _, err := c.FindCustomerByAccount(t.Context(), ""); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("FindCustomerByAccount(\"\") = %v, want EINVALID", err)
	}
}

func TestConnectAccountOnEveryCall(t *testing.T) {
	srv := stripetest.NewServer(t, stripetest.Options{})
	c, _ := newClient(t, srv, Config{Account: "acct_1Connected"})
	ctx := t.Context()
	id, err := c.CreateCustomer(ctx, acme, "c-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateCustomer(ctx, id, acme, "c-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Customer(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FindCustomerByAccount(ctx, acme.CRMAccountID); err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.Requests() {
		if r.Account != "acct_1Connected" {
			t.Errorf("%s %s sent Stripe-Account %q", r.Method, r.Path, r.Account)
		}
	}
	if got := srv.Customers()[0].Account; got != "acct_1Connected" {
		t.Errorf("customer created on account %q, want the connected one", got)
	}
}
