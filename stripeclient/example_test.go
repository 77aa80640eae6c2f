package stripeclient_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// A Client pointed at the emulator creates a customer under a deterministic
// idempotency key, then finds it again by its CRM id.
func Example() {
	srv := stripetest.New(stripetest.Options{})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	c, err := stripeclient.New(stripeclient.Config{
		Key:     "sk_test_example",
		BaseURL: srv.URL(),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	acct := stripesync.Customer{Name: "Acme Corp", CRMAccountID: "001000000000001AAA"}
	id, err := c.CreateCustomer(ctx, acct, stripesync.IdempotencyKey("customer-create", acct.CRMAccountID, "0"))
	if err != nil {
		log.Fatal(err)
	}
	found, err := c.FindCustomerByAccount(ctx, acct.CRMAccountID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Mode(), found == id)
	// Output: test true
}

// A publishable key is refused before any request, and the error shows the
// key only masked.
func ExampleConfig_Validate() {
	err := stripeclient.Config{Key: "pk_live_51HxYzAbCdEfGhIjKlMn1234"}.Validate()
	fmt.Println(stripesync.CodeOf(err))
	fmt.Println(err)
	// Output:
	// invalid
	// Stripe API key pk_live_…1234 is a publishable key, which cannot call the API from a server: use a secret (sk_) or restricted (rk_) key
}

// A webhook endpoint checks Stripe-Signature before it trusts a delivery;
// here SignPayload signs as Stripe does.
func ExampleVerifyWebhook() {
	payload := []byte(`{"id":"evt_1","object":"event","type":"payment_intent.succeeded",` +
		`"data":{"object":{"id":"pi_1","object":"payment_intent"}}}`)
	now := time.Now()
	header := stripetest.SignPayload(payload, "whsec_example", now)

	e, err := stripeclient.VerifyWebhook(payload, header, []string{"whsec_example"}, 0, now)
	fmt.Println(e.Type, e.PaymentIntentID, err)

	_, err = stripeclient.VerifyWebhook(payload, header, []string{"whsec_other"}, 0, now)
	fmt.Println(stripesync.CodeOf(err), stripesync.MessageOf(err))
	// Output:
	// payment_intent.succeeded pi_1 <nil>
	// invalid stripe webhook: bad signature
}
