package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm"
	"github.com/stripesync/stripesync/crm/crmtest"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/store/storetest"
)

const (
	triggerSecret = "trigger-secret-6f1c2a9e8b7d4c30"
	orgID         = "00DRO0000000001AAA"
)

// inbox is the trigger inbox of a real store, with a record of the calls
// the handlers made to it and of the wake-ups.
type inbox struct {
	db *store.DB

	mu    sync.Mutex
	calls []int // the number of triggers in each AcceptTriggers call
	woken int
}

func (in *inbox) accept(ctx context.Context, ts []stripesync.Trigger) (int, error) {
	in.mu.Lock()
	in.calls = append(in.calls, len(ts))
	in.mu.Unlock()
	return in.db.AcceptTriggers(ctx, ts)
}

func (in *inbox) wake() {
	in.mu.Lock()
	in.woken++
	in.mu.Unlock()
}

func (in *inbox) record() (calls []int, woken int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.calls), in.woken
}

// claimAll leases everything pending in the inbox's store.
func (in *inbox) claimAll(t *testing.T) []stripesync.ClaimedTrigger {
	t.Helper()
	got, err := in.db.ClaimTriggers(t.Context(), 1000, time.Minute)
	if err != nil {
		t.Fatalf("ClaimTriggers: %v", err)
	}
	return got
}

// triggerServer serves the trigger routes over a real store whose
// triggers are claimable at once. configure, if not nil, adjusts the
// configuration first.
func triggerServer(t testing.TB, db *store.DB, configure func(*httpapi.TriggerConfig)) (*httptest.Server, *inbox) {
	t.Helper()
	in := &inbox{db: db.WithTriggerWindow(0)}
	cfg := &httpapi.TriggerConfig{
		Secret:   triggerSecret,
		OrgID:    orgID,
		Objects:  map[string]bool{stripesync.ObjectAccount: true, stripesync.ObjectInvoice: true},
		Outbound: crm.OutboundCodec{},
		Accept:   in.accept,
		Accepted: in.wake,
	}
	if configure != nil {
		configure(cfg)
	}
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Config{Triggers: cfg}))
	t.Cleanup(srv.Close)
	return srv, in
}

// note is one notification of a test envelope.
type note struct {
	id, object, record string
	modstamp           time.Time
}

// notes returns n notifications about distinct records of object, with
// ids numbered from first.
func notes(object string, first, n int) []note {
	prefix := map[string]string{stripesync.ObjectAccount: "001", stripesync.ObjectInvoice: "a0B"}[object]
	if prefix == "" {
		prefix = "a0Z"
	}
	at := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	out := make([]note, n)
	for i := range out {
		out[i] = note{
			id:       fmt.Sprintf("04l%015d", first+i),
			object:   object,
			record:   fmt.Sprintf("%s%015d", prefix, first+i),
			modstamp: at.Add(time.Duration(first+i) * time.Second),
		}
	}
	return out
}

// envelope renders an Outbound Message in the shape Salesforce sends
// (docs/reference/salesforce.md §1.6).
func envelope(org string, ns []note) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>%s</OrganizationId>
   <ActionId>04kRO0000000001AAA</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/62.0/00DRO0000000001</EnterpriseUrl>
   <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00DRO0000000001</PartnerUrl>
`, org)
	for _, n := range ns {
		fmt.Fprintf(&b, `   <Notification>
    <Id>%s</Id>
    <sObject xsi:type="sf:%s" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>%s</sf:Id>
     <sf:Name>Acme Corporation</sf:Name>
     <sf:Phone>+1 415 555 0100</sf:Phone>
     <sf:Billing_Email__c>billing@acme.example</sf:Billing_Email__c>
     <sf:BillingCity>San Francisco</sf:BillingCity>
     <sf:CurrencyIsoCode>USD</sf:CurrencyIsoCode>
     <sf:IsDeleted>false</sf:IsDeleted>
     <sf:SystemModstamp>%s</sf:SystemModstamp>
    </sObject>
   </Notification>
`, n.id, n.object, n.record, n.modstamp.Format("2006-01-02T15:04:05.000Z"))
	}
	b.WriteString("  </notifications>\n </soapenv:Body>\n</soapenv:Envelope>\n")
	return b.Bytes()
}

// answer is a raw HTTP answer.
type answer struct {
	status int
	ctype  string
	body   string
}

func postBody(t *testing.T, client *http.Client, url string, body []byte, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: string(raw)}
}

// postOutbound posts an Outbound Message as Salesforce does, to the
// listener with the given path secret.
func postOutbound(t *testing.T, srv *httptest.Server, secret string, body []byte) answer {
	t.Helper()
	// A short timeout: no request may make the listener work for long
	// (an XML bomb must be refused, not expanded).
	client := &http.Client{Timeout: 10 * time.Second}
	return postBody(t, client, srv.URL+"/salesforce/outbound/"+secret, body,
		map[string]string{"Content-Type": "text/xml; charset=utf-8", "SOAPAction": `""`})
}

// triggerKeys reduces claimed triggers to what a message determines.
func triggerKeys(cs []stripesync.ClaimedTrigger) []stripesync.Trigger {
	out := make([]stripesync.Trigger, len(cs))
	for i, c := range cs {
		out[i] = c.Trigger
		out[i].ReceivedAt = time.Time{}
	}
	slices.SortFunc(out, func(a, b stripesync.Trigger) int { return strings.Compare(a.RecordID, b.RecordID) })
	return out
}

func wantTriggers(ns []note) []stripesync.Trigger {
	out := make([]stripesync.Trigger, len(ns))
	for i, n := range ns {
		out[i] = stripesync.Trigger{NotificationID: n.id, Object: n.object, RecordID: n.record, ModStamp: n.modstamp}
	}
	slices.SortFunc(out, func(a, b stripesync.Trigger) int { return strings.Compare(a.RecordID, b.RecordID) })
	return out
}

func TestOutboundMessageIsStoredInOneCallThenAcknowledged(t *testing.T) {
	srv, in := triggerServer(t, storetest.OpenSQLite(t), nil)
	ns := notes(stripesync.ObjectAccount, 1, crm.MaxOutboundNotifications)
	body := envelope(orgID, ns)
	before := time.Now()

	got := postOutbound(t, srv, triggerSecret, body)
	if got.status != http.StatusOK || got.ctype != "text/xml; charset=utf-8" || got.body != string(crm.AckResponse()) {
		t.Fatalf("first delivery: %d %q\n%s\nwant 200 text/xml; charset=utf-8 with the exact ack", got.status, got.ctype, got.body)
	}
	// Salesforce redelivers: nothing new is stored, but the message is
	// acknowledged again, or it would be retried for 24 hours.
	got = postOutbound(t, srv, triggerSecret, body)
	if got.status != http.StatusOK || got.body != string(crm.AckResponse()) {
		t.Fatalf("repeated delivery: %d\n%s\nwant 200 with the ack", got.status, got.body)
	}

	calls, woken := in.record()
	if diff := cmp.Diff([]int{100, 100}, calls); diff != "" {
		t.Errorf("AcceptTriggers calls, by size (-want +got):\n%s", diff)
	}
	if woken != 1 {
		t.Errorf("worker woken %d times, want 1 (only the first delivery stored something new)", woken)
	}
	claimed := in.claimAll(t)
	if diff := cmp.Diff(wantTriggers(ns), triggerKeys(claimed)); diff != "" {
		t.Errorf("stored triggers (-want +got):\n%s", diff)
	}
	for _, c := range claimed {
		if c.ReceivedAt.Before(before.Add(-time.Second)) || c.ReceivedAt.After(time.Now()) {
			t.Errorf("trigger %s ReceivedAt = %v, want the time of the first delivery", c.NotificationID, c.ReceivedAt)
		}
	}
}

// TestOutboundMessageFromEmulatedSalesforce runs crmtest's Outbound
// Message sender against the listener: the sender only counts a message
// as delivered if the answer is what Salesforce requires.
func TestOutboundMessageFromEmulatedSalesforce(t *testing.T) {
	srv, in := triggerServer(t, storetest.OpenSQLite(t), nil)
	sf := crmtest.NewServer(t, crmtest.Options{OrgID: orgID})
	var accounts []string
	for i := range 3 {
		accounts = append(accounts, sf.Insert("Account", map[string]any{"Name": fmt.Sprintf("Acme %d", i)}))
	}
	invoice := sf.Insert("Invoice__c", map[string]any{"Name": "INV-1", "Account__c": accounts[0],
		"Amount__c": "419", "CurrencyIsoCode": "USD", "Due_Date__c": "2025-05-31"})
	url := srv.URL + "/salesforce/outbound/" + triggerSecret
	accountAction := sf.AddOutbound(crmtest.OutboundConfig{URL: url, Object: "Account", Fields: []string{"Name"},
		RetryBase: 10 * time.Millisecond})
	invoiceAction := sf.AddOutbound(crmtest.OutboundConfig{URL: url, Object: "Invoice__c", Fields: []string{"Name"},
		RetryBase: 10 * time.Millisecond})
	accountAction.Notify(accounts...)
	invoiceAction.Notify(invoice)
	for _, o := range []*crmtest.Outbound{accountAction, invoiceAction} {
		if err := o.WaitIdle(t.Context()); err != nil {
			t.Fatal(err)
		}
		if st := o.Stats(); st.Acked != 1 || st.Failed != 0 {
			t.Errorf("sender stats %+v, want one message acknowledged at the first attempt", st)
		}
	}

	var want []stripesync.Trigger
	for _, id := range append(slices.Clone(accounts), invoice) {
		object := stripesync.ObjectAccount
		if id == invoice {
			object = stripesync.ObjectInvoice
		}
		rec, _ := sf.Get(object, id)
		want = append(want, stripesync.Trigger{Object: object, RecordID: id, ModStamp: rec["SystemModstamp"].(time.Time).UTC()})
	}
	slices.SortFunc(want, func(a, b stripesync.Trigger) int { return strings.Compare(a.RecordID, b.RecordID) })
	got := triggerKeys(in.claimAll(t))
	for i := range got {
		if !strings.HasPrefix(got[i].NotificationID, "04l") {
			t.Errorf("trigger %d: NotificationID %q, want the notification's 04l… id", i, got[i].NotificationID)
		}
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(stripesync.Trigger{}, "NotificationID"), cmpopts.EquateApproxTime(time.Millisecond)); diff != "" {
		t.Errorf("stored triggers (-want +got):\n%s", diff)
	}
}

const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>&lol9;</OrganizationId>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>`

const externalEntity = `<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>&xxe;</OrganizationId></notifications></soapenv:Body>
</soapenv:Envelope>`

func TestOutboundMessageRefusesHostileInputAndWritesNothing(t *testing.T) {
	srv, in := triggerServer(t, storetest.OpenSQLite(t), nil)
	good := envelope(orgID, notes(stripesync.ObjectAccount, 1, 2))
	// A valid message, padded past the limit with a comment.
	oversized := append(slices.Clone(good), "<!-- "+strings.Repeat("x", httpapi.DefaultTriggerMaxBody)+" -->"...)
	mixed := envelope(orgID, append(notes(stripesync.ObjectAccount, 1, 1), notes("Opportunity", 2, 1)...))
	const (
		client  = "<faultcode>soapenv:Client</faultcode>"
		notSOAP = ""
	)
	cases := []struct {
		name       string
		secret     string
		body       []byte
		wantStatus int
		wantFault  string // "" for the plain JSON 404
		wantText   string // in the fault string
	}{
		{"wrong secret", "not-the-secret", good, 404, notSOAP, ""},
		{"secret with a suffix", triggerSecret + "x", good, 404, notSOAP, ""},
		{"secret prefix", triggerSecret[:len(triggerSecret)-1], good, 404, notSOAP, ""},
		{"no secret", "", good, 404, notSOAP, ""},
		{"another org", triggerSecret, envelope("00DRO0000000002AAA", notes(stripesync.ObjectAccount, 1, 2)), 403, client, "organization not accepted"},
		{"our org's 15-character id", triggerSecret, envelope(orgID[:15], notes(stripesync.ObjectAccount, 1, 2)), 403, client, "organization not accepted"},
		{"no org", triggerSecret, envelope("", notes(stripesync.ObjectAccount, 1, 2)), 403, client, "organization not accepted"},
		{"oversized", triggerSecret, oversized, 413, client, "size limit"},
		{"billion laughs", triggerSecret, []byte(billionLaughs), 400, client, "DOCTYPE not allowed"},
		{"external entity", triggerSecret, []byte(externalEntity), 400, client, "DOCTYPE not allowed"},
		{"unknown object", triggerSecret, envelope(orgID, notes("Contact", 1, 2)), 400, client, "sObject type not accepted"},
		{"one unknown object among known ones", triggerSecret, mixed, 400, client, "sObject type not accepted"},
		{"101 notifications", triggerSecret, envelope(orgID, notes(stripesync.ObjectAccount, 1, 101)), 400, client, "more than 100 notifications"},
		{"no notification", triggerSecret, envelope(orgID, nil), 400, client, "no Notification"},
		{"truncated XML", triggerSecret, good[:len(good)/2], 400, client, "malformed XML"},
		{"JSON", triggerSecret, []byte(`{"object":"Account","ids":["001000000000001"]}`), 400, client, "malformed XML"},
	}
	for _, c := range cases {
		got := postOutbound(t, srv, c.secret, c.body)
		if got.status != c.wantStatus {
			t.Errorf("%s: status %d, want %d\n%s", c.name, got.status, c.wantStatus, got.body)
		}
		if c.wantFault == notSOAP {
			if want := `{"error":{"code":"not_found","message":"no such route"}}` + "\n"; got.body != want {
				t.Errorf("%s: body %q, want the unknown route's %q", c.name, got.body, want)
			}
		} else {
			if got.ctype != "text/xml; charset=utf-8" || !strings.Contains(got.body, c.wantFault) || !strings.Contains(got.body, c.wantText) {
				t.Errorf("%s: %q\n%s\nwant a text/xml SOAP fault with %s and %q", c.name, got.ctype, got.body, c.wantFault, c.wantText)
			}
		}
		if strings.Contains(got.body, "<Ack>") {
			t.Errorf("%s: the answer acknowledges the message:\n%s", c.name, got.body)
		}
		if strings.Contains(got.body, triggerSecret) {
			t.Errorf("%s: the answer leaks the secret:\n%s", c.name, got.body)
		}
		if claimed := in.claimAll(t); len(claimed) != 0 {
			t.Errorf("%s: stored %d triggers, want none", c.name, len(claimed))
		}
	}
	if calls, woken := in.record(); len(calls) != 0 || woken != 0 {
		t.Errorf("hostile messages reached AcceptTriggers %d times and woke the worker %d times; want neither", len(calls), woken)
	}
}

func TestOutboundMessageWithoutOrgIDRefusesEveryMessage(t *testing.T) {
	srv, in := triggerServer(t, storetest.OpenSQLite(t), func(c *httpapi.TriggerConfig) { c.OrgID = "" })
	for _, org := range []string{orgID, ""} {
		got := postOutbound(t, srv, triggerSecret, envelope(org, notes(stripesync.ObjectAccount, 1, 1)))
		if got.status != http.StatusForbidden || !strings.Contains(got.body, "soapenv:Client") {
			t.Errorf("message from org %q with no org configured: %d\n%s\nwant 403 with a SOAP fault", org, got.status, got.body)
		}
	}
	if claimed := in.claimAll(t); len(claimed) != 0 {
		t.Errorf("stored %d triggers, want none", len(claimed))
	}
}

func TestOutboundMessageIsNotAcknowledgedWhenItCannotBeStored(t *testing.T) {
	db := storetest.OpenSQLite(t)
	srv, in := triggerServer(t, db, nil)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	got := postOutbound(t, srv, triggerSecret, envelope(orgID, notes(stripesync.ObjectAccount, 1, 3)))
	if got.status != http.StatusInternalServerError || got.ctype != "text/xml; charset=utf-8" ||
		!strings.Contains(got.body, "<faultcode>soapenv:Server</faultcode>") || strings.Contains(got.body, "<Ack>") {
		t.Errorf("with the database closed: %d %q\n%s\nwant 500 with a soapenv:Server fault and no ack, so Salesforce retries",
			got.status, got.ctype, got.body)
	}
	if calls, woken := in.record(); len(calls) != 1 || woken != 0 {
		t.Errorf("AcceptTriggers calls %v, woken %d; want one failed call and no wake-up", calls, woken)
	}
}

func TestTriggerRoutesNeedTheirConfig(t *testing.T) {
	srv := newServer(t, httpapi.Config{})
	for _, path := range []string{"/salesforce/outbound/" + triggerSecret, "/v1/triggers"} {
		got := postBody(t, srv.Client(), srv.URL+path, []byte("{}"), nil)
		if got.status != http.StatusNotFound {
			t.Errorf("POST %s without Triggers: %d, want 404", path, got.status)
		}
	}
}
