package crm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/stripesync/stripesync/crm"
	"github.com/stripesync/stripesync/crm/crmtest"
)

// A client for an org reached with client credentials; here the org is the
// emulator. For JWT bearer, set Username and PrivateKey (ParsePrivateKey)
// instead of ClientSecret.
func Example() {
	sf := crmtest.New(crmtest.Options{ClientID: "app", ClientSecret: "secret"})
	if err := sf.Start("127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer sf.Close()
	sf.Insert("Account", map[string]any{"Name": "Acme", "CurrencyIsoCode": "usd", "Stripe_Mapping__c": "Create"})

	c, err := crm.New(crm.Config{
		LoginURL:     sf.URL(), // https://login.salesforce.com or a My Domain in production
		ClientID:     "app",
		ClientSecret: "secret",
		PageSize:     500,
	})
	if err != nil {
		panic(err)
	}
	for a, err := range c.Accounts(context.Background(), time.Time{}) {
		if err != nil {
			panic(err)
		}
		fmt.Println(a.Name, a.Currency, a.Policy)
	}
	used, limit := c.Usage()
	fmt.Printf("API usage %d/%d\n", used, limit)
	// Output:
	// Acme USD Create
	// API usage 1/100000
}
