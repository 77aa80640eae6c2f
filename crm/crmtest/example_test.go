package crmtest_test

import (
	"fmt"

	"github.com/stripesync/stripesync/crm/crmtest"
)

// An emulated org for a demo or a manual run: seed it, point a Salesforce
// client at URL(), and inject faults to watch the client cope. Tests use
// crmtest.NewServer(t, opts), which also closes the server at the end.
func Example() {
	sf := crmtest.New(crmtest.Options{ClientID: "demo-app", ClientSecret: "demo-secret", PageSize: 500})
	if err := sf.Start("127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer sf.Close()

	id := sf.Insert("Account", map[string]any{"Name": "Acme", "CurrencyIsoCode": "USD"})
	sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultHTML503, Times: 1}) // the next data call fails

	rec, _ := sf.Get("Account", id)
	fmt.Println(id[:3], len(id), rec["Name"], sf.Count("Account"))
	// Output: 001 18 Acme 1
}
