package crmtest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/stripesync/stripesync/crm"
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

// An Outbound Message action that fires on every write of an invoice,
// delivered to a listener that decodes each message with crm and
// acknowledges it.
func ExampleServer_AddOutbound() {
	sf := crmtest.New(crmtest.Options{})
	if err := sf.Start("127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer sf.Close()
	listener := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		msg, err := crm.ParseOutboundMessage(body)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			w.Write(crm.SOAPFault("Client", err.Error()))
			return
		}
		for _, n := range msg.Notifications {
			amount, _ := n.Value("Amount__c")
			fmt.Println(n.Object, amount)
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Write(crm.AckResponse())
	}))
	defer listener.Close()

	ob := sf.AddOutbound(crmtest.OutboundConfig{
		URL: listener.URL, Object: "Invoice__c", Fields: []string{"Amount__c"}, OnWrite: true,
	})
	sf.Insert("Invoice__c", map[string]any{"Name": "INV-1", "Amount__c": "419"})
	if err := ob.WaitIdle(context.Background()); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", ob.Stats())
	// Output:
	// Invoice__c 419.0
	// {Sent:1 Acked:1 Failed:0 Pending:0 Dropped:0}
}
