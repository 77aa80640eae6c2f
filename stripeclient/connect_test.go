package stripeclient

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// connectServer is an emulator with two connected accounts that can take
// charges and one whose onboarding is not finished.
func connectServer(t *testing.T) (srv *stripetest.Server, a, b, pending string) {
	t.Helper()
	srv = stripetest.NewServer(t, stripetest.Options{})
	var ids []string
	for _, ca := range []stripetest.ConnectedAccount{
		{ID: "acct_1ConnectA", ChargesEnabled: true, PayoutsEnabled: true, DetailsSubmitted: true},
		{ID: "acct_1ConnectB", ChargesEnabled: true, PayoutsEnabled: true, DetailsSubmitted: true},
		{ID: "acct_1ConnectPending"},
	} {
		id, err := srv.AddConnectedAccount(ca)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return srv, ids[0], ids[1], ids[2]
}

// TestConnectEveryCallPath runs every call the Client makes, reads and
// writes, on a connected account, and proves from the emulator's request
// log that each carried Stripe-Account and an Idempotency-Key scoped to
// the account, and that everything was made on that account only. The
// one exception is Account, the platform's question about its connected
// account.
func TestConnectEveryCallPath(t *testing.T) {
	srv, acctA, _, _ := connectServer(t)
	c, _ := newClient(t, srv, Config{Account: acctA})
	ctx := t.Context()
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	since := time.Now().Add(-time.Minute)

	// Customers: create, update, read, search.
	cus, err := c.CreateCustomer(ctx, acme, stripesync.IdempotencyKey("customer-create", acme.CRMAccountID, "1"))
	check("CreateCustomer", err)
	check("UpdateCustomer", c.UpdateCustomer(ctx, cus, acme, stripesync.IdempotencyKey("customer-update", acme.CRMAccountID, "2")))
	_, err = c.Customer(ctx, cus)
	check("Customer", err)
	found, err := c.FindCustomerByAccount(ctx, acme.CRMAccountID)
	check("FindCustomerByAccount", err)
	if found != cus {
		t.Errorf("FindCustomerByAccount = %q, want %q", found, cus)
	}

	// A card saved on the customer by an earlier payment, on the account.
	if _, err := srv.Pay(stripetest.PayParams{Account: acctA, Customer: cus, Amount: 1000, Currency: "usd", SetupFutureUsage: "off_session"}); err != nil {
		t.Fatal(err)
	}
	methods, err := c.SavedMethods(ctx, cus)
	check("SavedMethods", err)
	if len(methods) != 1 {
		t.Fatalf("saved methods %+v, want the card", methods)
	}
	card := methods[0].ID
	check("SetDefaultMethod", c.SetDefaultMethod(ctx, cus, card))

	// PaymentIntents: an off-session charge, its read, and a refund read
	// back through the PaymentIntent's charge.
	p, err := c.Charge(ctx, stripesync.ChargeRequest{
		CustomerID: cus, PaymentMethodID: card, InvoiceID: "a01000000000001AAA",
		Amount: stripesync.Money{Amount: 12500, Currency: "USD"}, Channel: stripesync.ChannelAutoPay,
		Description: "Invoice INV-1001", OffSession: true,
	}, stripesync.IdempotencyKey("default", "a01000000000001AAA", "1"))
	check("Charge", err)
	if err := srv.Refund(p.ID, 2500); err != nil {
		t.Fatal(err)
	}
	read, err := c.PaymentIntent(ctx, p.ID)
	check("PaymentIntent", err)
	if read.Refunded != 2500 {
		t.Errorf("refund read back as %d, want 2500", read.Refunded)
	}

	// Checkout in both modes, read and expired; the portal.
	checkout := stripesync.CheckoutRequest{
		Mode: stripesync.CheckoutPayment, CustomerID: cus, InvoiceID: "a01000000000001AAA",
		Description: "Invoice INV-1001", Amount: stripesync.Money{Amount: 5000, Currency: "USD"},
		Methods: []string{stripesync.MethodTypeCard, stripesync.MethodTypeBank}, SaveMethod: true,
		SuccessURL: "https://pay.example/done?session_id={CHECKOUT_SESSION_ID}", CancelURL: "https://pay.example/invoice",
		ExpiresAt: time.Now().Add(time.Hour),
	}
	cs, err := c.CreateCheckoutSession(ctx, checkout, stripesync.IdempotencyKey("checkout", "a01000000000001AAA", "n1"))
	check("CreateCheckoutSession(payment)", err)
	setup := checkout
	setup.Mode, setup.InvoiceID, setup.Description, setup.Amount, setup.SaveMethod = stripesync.CheckoutSetup, "", "", stripesync.Money{Currency: "USD"}, false
	_, err = c.CreateCheckoutSession(ctx, setup, stripesync.IdempotencyKey("setup", acme.CRMAccountID, "n2"))
	check("CreateCheckoutSession(setup)", err)
	_, err = c.CheckoutSession(ctx, cs.ID)
	check("CheckoutSession", err)
	_, err = c.ExpireCheckoutSession(ctx, cs.ID)
	check("ExpireCheckoutSession", err)
	_, err = c.BillingPortalURL(ctx, cus, "https://pay.example/portal/done")
	check("BillingPortalURL", err)

	// Staff's bank account: made, charged, verified; then detached.
	bank, err := c.CreateBankMethod(ctx, cus, phoneBank, stripesync.IdempotencyKey("staffpay", "a01", "alice", "k1"))
	check("CreateBankMethod", err)
	pending, err := c.Charge(ctx, phoneBankCharge(cus, bank.ID), stripesync.IdempotencyKey("staffpay", "a01", "alice", "k2"))
	check("Charge(bank)", err)
	_, err = c.VerifyMicrodeposits(ctx, pending.ID, stripesync.MicrodepositVerification{Amounts: []int64{32, 45}}, stripesync.IdempotencyKey("verify", pending.ID, "32,45"))
	check("VerifyMicrodeposits", err)
	check("DetachMethod", c.DetachMethod(ctx, bank.ID))

	// The pull's lists.
	var listed []string
	for p, err := range c.PaymentIntents(ctx, since) {
		check("PaymentIntents", err)
		listed = append(listed, p.ID)
	}
	events := 0
	for e, err := range c.Events(ctx, since) {
		check("Events", err)
		if e.Account != acctA {
			t.Errorf("event %s of account %q listed", e.ID, e.Account)
		}
		events++
	}
	if len(listed) != 3 || events == 0 {
		t.Errorf("the pull listed %d PaymentIntents (want 3) and %d events", len(listed), events)
	}

	// The start check.
	_, err = c.Account(ctx, acctA)
	check("Account", err)

	paths := map[string]bool{}
	for _, r := range srv.Requests() {
		route := r.Method + " " + routeOf(r.Path)
		paths[route] = true
		want := acctA
		if route == "GET /v1/accounts/{id}" {
			want = "" // the platform asks about its connected account
		}
		if r.Account != want {
			t.Errorf("%s %s sent Stripe-Account %q, want %q", r.Method, r.Path, r.Account, want)
		}
		if r.Method != http.MethodGet && !strings.HasPrefix(r.IdempotencyKey, acctA+":stripesync:") {
			t.Errorf("%s %s sent Idempotency-Key %q, not scoped to %s", r.Method, r.Path, r.IdempotencyKey, acctA)
		}
		if r.Status >= 400 {
			t.Errorf("%s %s answered %d", r.Method, r.Path, r.Status)
		}
	}
	// Every endpoint the Client calls was exercised, so a new call path
	// shows up here until it is added above.
	for _, want := range []string{
		"POST /v1/customers", "POST /v1/customers/{id}", "GET /v1/customers/{id}", "GET /v1/customers/search",
		"GET /v1/customers/{id}/payment_methods", "GET /v1/payment_methods/{id}", "POST /v1/payment_methods",
		"POST /v1/payment_methods/{id}/attach", "POST /v1/payment_methods/{id}/detach",
		"POST /v1/payment_intents", "GET /v1/payment_intents/{id}", "GET /v1/payment_intents",
		"POST /v1/payment_intents/{id}/verify_microdeposits", "GET /v1/events",
		"POST /v1/checkout/sessions", "GET /v1/checkout/sessions/{id}", "POST /v1/checkout/sessions/{id}/expire",
		"POST /v1/billing_portal/sessions", "GET /v1/accounts/{id}",
	} {
		if !paths[want] {
			t.Errorf("no %s request; seen %v", want, slices.Sorted(func(yield func(string) bool) {
				for p := range paths {
					if !yield(p) {
						return
					}
				}
			}))
		}
	}
	for _, cu := range srv.Customers() {
		if cu.Account != acctA {
			t.Errorf("customer %s made on %q", cu.ID, cu.Account)
		}
	}
	for _, pi := range srv.PaymentIntents() {
		if pi.Account != acctA {
			t.Errorf("PaymentIntent %s made on %q", pi.ID, pi.Account)
		}
	}
}

// routeOf replaces the ids in an API path with {id}.
func routeOf(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if i > 2 && p != "search" && strings.Contains(p, "_") && !slices.Contains([]string{"payment_methods", "verify_microdeposits"}, p) {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

// TestConnectIdempotencyKeys: the same logical write on two accounts sends
// two keys, each naming its account; without an account the key is the
// caller's; a key near Stripe's limit is hashed to fit.
func TestConnectIdempotencyKeys(t *testing.T) {
	srv, acctA, acctB, _ := connectServer(t)
	key := stripesync.IdempotencyKey("customer-create", acme.CRMAccountID, "1")
	for _, account := range []string{acctA, acctB, ""} {
		c, _ := newClient(t, srv, Config{Account: account})
		if _, err := c.CreateCustomer(t.Context(), acme, key); err != nil {
			t.Fatalf("create on %q: %v", account, err)
		}
	}
	long := strings.Repeat("k", maxIdempotencyKey)
	c, _ := newClient(t, srv, Config{Account: acctA})
	for range 2 {
		if _, err := c.CreateCustomer(t.Context(), acme, long); err != nil {
			t.Fatalf("create with a %d-character key: %v", len(long), err)
		}
	}
	var got []string
	for _, r := range srv.Requests() {
		got = append(got, r.IdempotencyKey)
	}
	want := []string{acctA + ":" + key, acctB + ":" + key, key, accountKey(acctA, long), accountKey(acctA, long)}
	if !slices.Equal(got, want) {
		t.Errorf("keys sent:\n%q\nwant:\n%q", got, want)
	}
	if k := accountKey(acctA, long); len(k) > maxIdempotencyKey || !strings.HasPrefix(k, acctA+":h:") {
		t.Errorf("accountKey of a 255-character key = %q (%d characters)", k, len(k))
	}
	if n := len(srv.Customers()); n != 4 {
		t.Errorf("%d customers, want one per account and one for the replayed long key", n)
	}
}

func TestAccount(t *testing.T) {
	srv, acctA, _, pending := connectServer(t)
	c, _ := newClient(t, srv, Config{Account: acctA, MaxRetries: -1})
	ctx := t.Context()
	got, err := c.Account(ctx, acctA)
	if err != nil || got != (ConnectedAccount{ID: acctA, ChargesEnabled: true, PayoutsEnabled: true, DetailsSubmitted: true}) {
		t.Errorf("Account(%s) = %+v, %v", acctA, got, err)
	}
	got, err = c.Account(ctx, pending)
	if err != nil || got.ChargesEnabled || got.DisabledReason != "requirements.past_due" {
		t.Errorf("Account(%s) = %+v, %v; want charges disabled, requirements past due", pending, got, err)
	}
	_, err = c.Account(ctx, "acct_1Unknown")
	if stripesync.CodeOf(err) != stripesync.ENOTFOUND || !strings.Contains(err.Error(), "does not have access to account 'acct_1Unknown'") {
		t.Errorf("Account(unknown) = %v (%s), want ENOTFOUND with Stripe's message", err, stripesync.CodeOf(err))
	}
	if _, err := c.Account(ctx, "cus_123"); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("Account(cus_123) = %v, want EINVALID before any request", err)
	}
	srv.SetFaults(stripetest.Faults{Rate503: 1})
	if _, err := c.Account(ctx, acctA); stripesync.CodeOf(err) != stripesync.EUNAVAILABLE {
		t.Errorf("Account during an outage = %v (%s), want EUNAVAILABLE", err, stripesync.CodeOf(err))
	}
	// The emulator takes any well-formed key; Stripe's 401 comes from a
	// fake.
	f := newFakeStripe(t)
	f.on(http.MethodGet, "/v1/accounts/"+acctA, reply{status: http.StatusUnauthorized,
		body: `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_********0000"}}`})
	if _, err := f.client(Config{Account: acctA, MaxRetries: -1}).Account(ctx, acctA); stripesync.CodeOf(err) != stripesync.EUNAUTHORIZED {
		t.Errorf("Account with a refused key = %v (%s), want EUNAUTHORIZED", err, stripesync.CodeOf(err))
	}
	for _, r := range srv.Requests() {
		if r.Account != "" {
			t.Errorf("%s %s sent Stripe-Account %q; the account is read as the platform", r.Method, r.Path, r.Account)
		}
	}
}
