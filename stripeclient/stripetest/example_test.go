package stripetest_test

import (
	"fmt"
	"log"
	"net/http"
	"net/url"
	"strings"

	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// Seed a customer, then talk to the emulator as any Stripe client would.
func Example() {
	srv := stripetest.New(stripetest.Options{})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.CreateCustomer(stripetest.Customer{Name: "Acme", Metadata: map[string]string{"crm_account_id": "001A"}})

	q := url.Values{"query": {"metadata['crm_account_id']:'001A'"}}
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/v1/customers/search?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer sk_test_example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.HasPrefix(resp.Header.Get("Request-Id"), "req_"))

	// Faults for the next requests: every write's answer is lost after
	// the write ran.
	srv.SetFaults(stripetest.Faults{RateLostResponse: 1, WritesOnly: true})
	fmt.Println(len(srv.Customers()), srv.Stats().Total)
	// Output:
	// 200 true
	// 1 1
}

// A customer pays by ACH outside the daemon; the bank answers days later,
// which a test decides with SettleACH.
func ExampleServer_SettleACH() {
	srv := stripetest.New(stripetest.Options{})
	defer srv.Close()
	id, err := srv.Pay(stripetest.PayParams{Amount: 12500, Currency: "usd", PaymentMethod: "pm_usBankAccount_success"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(srv.PaymentIntents()[0].Status)
	if err := srv.SettleACH(id); err != nil {
		log.Fatal(err)
	}
	fmt.Println(srv.PaymentIntents()[0].Status)
	for _, e := range srv.Events() {
		fmt.Println(e.Type)
	}
	// Output:
	// processing
	// succeeded
	// payment_intent.created
	// charge.pending
	// payment_intent.processing
	// charge.succeeded
	// payment_intent.succeeded
}
