package crmtest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stripesync/stripesync/crm"
)

// listener is a tiny Outbound Message endpoint: it parses every request
// with crm.ParseOutboundMessage and acknowledges it, unless respond says
// otherwise for the n-th request (0-based).
type listener struct {
	t       *testing.T
	url     string
	respond func(n int) (status int, body string)

	mu       sync.Mutex
	requests int
	bodies   [][]byte
	headers  []http.Header
	messages []crm.OutboundMessage // every message received, acked or not
}

func newListener(t *testing.T, respond func(n int) (int, string)) *listener {
	t.Helper()
	l := &listener{t: t, respond: respond}
	srv := httptest.NewServer(http.HandlerFunc(l.serve))
	t.Cleanup(srv.Close)
	l.url = srv.URL + "/sf/outbound/token"
	return l
}

func (l *listener) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost || r.URL.Path != "/sf/outbound/token" {
		l.t.Errorf("listener: %s %s: %v", r.Method, r.URL.Path, err)
	}
	msg, err := crm.ParseOutboundMessage(body)
	if err != nil {
		l.t.Errorf("listener: the emulator sent a message ParseOutboundMessage refuses: %v\n%s", err, body)
		w.WriteHeader(http.StatusInternalServerError)
		w.Write(crm.SOAPFault("Client", err.Error()))
		return
	}
	l.mu.Lock()
	n := l.requests
	l.requests++
	l.bodies = append(l.bodies, body)
	l.headers = append(l.headers, r.Header.Clone())
	l.messages = append(l.messages, msg)
	l.mu.Unlock()
	status, answer := http.StatusOK, string(crm.AckResponse())
	if l.respond != nil {
		status, answer = l.respond(n)
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, answer)
}

func (l *listener) received() []crm.OutboundMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.messages)
}

// notificationIDs lists the notification ids of msgs in arrival order.
func notificationIDs(msgs []crm.OutboundMessage) []string {
	var ids []string
	for _, m := range msgs {
		for _, n := range m.Notifications {
			ids = append(ids, n.ID)
		}
	}
	return ids
}

func waitIdle(t *testing.T, o *Outbound) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := o.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v (stats %+v)", err, o.Stats())
	}
}

func TestOutboundEnvelope(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 34, 56, 789e6, time.UTC)
	s := NewServer(t, Options{OrgID: "00DRO0000000001AAA", Clock: func() time.Time { return at }})
	acct := s.Insert("Account", map[string]any{"Name": "Acme & Sons <Ltd>"})
	id := s.Insert("Invoice__c", map[string]any{"Name": "INV-1", "Account__c": acct, "Amount__c": "419",
		"Amount_Paid__c": "12.5", "Due_Date__c": "2024-05-31", "CurrencyIsoCode": "USD"})
	l := newListener(t, nil)
	o := s.AddOutbound(OutboundConfig{URL: l.url, Object: "Invoice__c", ActionID: "04kRO0000000001AAA",
		Fields: []string{"status__c", "Name", "Amount__c", "Auto_Pay__c", "Due_Date__c", "Amount_Paid__c", "Account__c", "Id"}})
	o.Notify(id)
	waitIdle(t, o)

	want := `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>00DRO0000000001AAA</OrganizationId>
   <ActionId>04kRO0000000001AAA</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>` + s.URL() + `/services/Soap/c/62.0/00DRO0000000001</EnterpriseUrl>
   <PartnerUrl>` + s.URL() + `/services/Soap/u/62.0/00DRO0000000001</PartnerUrl>
   <Notification>
    <Id>` + newID("04l", 1) + `</Id>
    <sObject xsi:type="sf:Invoice__c" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>` + id + `</sf:Id>
     <sf:Account__c>` + acct + `</sf:Account__c>
     <sf:Amount__c>419.0</sf:Amount__c>
     <sf:Amount_Paid__c>12.5</sf:Amount_Paid__c>
     <sf:Auto_Pay__c>false</sf:Auto_Pay__c>
     <sf:Due_Date__c>2024-05-31</sf:Due_Date__c>
     <sf:Name>INV-1</sf:Name>
     <sf:SystemModstamp>2024-05-01T12:34:56.789Z</sf:SystemModstamp>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>
`
	if got := string(l.bodies[0]); got != want {
		t.Errorf("envelope:\n%s\nwant (Status__c is null, so left out):\n%s", got, want)
	}
	h := l.headers[0]
	if h.Get("Content-Type") != "text/xml; charset=utf-8" || h.Get("SOAPAction") != `""` {
		t.Errorf("headers Content-Type %q, SOAPAction %q", h.Get("Content-Type"), h.Get("SOAPAction"))
	}

	// Text is escaped, and the parser reads back what was sent.
	o2 := s.AddOutbound(OutboundConfig{URL: l.url, Object: "Account", Fields: []string{"Name", "Phone"}})
	o2.Notify(acct)
	waitIdle(t, o2)
	msg := l.received()[1]
	n := msg.Notifications[0]
	if msg.OrganizationID != "00DRO0000000001AAA" || !strings.HasPrefix(msg.ActionID, "04k") || msg.SessionID != "" ||
		n.Object != "Account" || n.RecordID != acct || !n.ModStamp.Equal(at) || !strings.HasPrefix(n.ID, "04l") {
		t.Errorf("parsed message = %+v", msg)
	}
	if name, _ := n.Value("Name"); name != "Acme & Sons <Ltd>" {
		t.Errorf("Name = %q", name)
	}
	if _, ok := n.Fields["Phone"]; ok {
		t.Error("null Phone was sent; nulls are left out")
	}
}

func TestOutboundBatches(t *testing.T) {
	s := NewServer(t, Options{})
	l := newListener(t, nil)
	o := s.AddOutbound(OutboundConfig{URL: l.url, Object: "Account", Fields: []string{"Name"}})
	ids := make([]string, 250)
	for i := range ids {
		ids[i] = s.Insert("Account", map[string]any{"Name": "A"})
	}
	o.Notify(ids...)
	waitIdle(t, o)
	msgs := l.received()
	var sizes []int
	var records []string
	for _, m := range msgs {
		sizes = append(sizes, len(m.Notifications))
		for _, n := range m.Notifications {
			records = append(records, n.RecordID)
		}
	}
	if diff := cmp.Diff([]int{100, 100, 50}, sizes); diff != "" {
		t.Errorf("notifications per message (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ids, records); diff != "" {
		t.Errorf("records sent (-want +got):\n%s", diff)
	}
	notes := notificationIDs(msgs)
	if len(slices.Compact(slices.Sorted(slices.Values(notes)))) != 250 {
		t.Error("notification ids are not unique")
	}
	if st := o.Stats(); st != (OutboundStats{Sent: 3, Acked: 3}) {
		t.Errorf("Stats = %+v", st)
	}
}

// TestOutboundRetries proves that every kind of non-acknowledgement is
// retried with the same notification id, and that each attempt carries
// the record as it is when sent.
func TestOutboundRetries(t *testing.T) {
	s := NewServer(t, Options{})
	id := s.Insert("Account", map[string]any{"Name": "Before"})
	failures := []struct {
		status int
		body   string
	}{
		{http.StatusInternalServerError, "oops"},
		{http.StatusOK, ""},
		{http.StatusOK, strings.Replace(string(crm.AckResponse()), "true", "false", 1)},
		{http.StatusOK, `<Ack>true</Ack>`}, // not in a SOAP envelope
		{http.StatusInternalServerError, string(crm.SOAPFault("Server", "database down"))},
		{http.StatusOK, string(crm.SOAPFault("Server", "<Ack>true</Ack>"))},
		{http.StatusAccepted, string(crm.AckResponse())}, // Salesforce wants 200
	}
	l := newListener(t, func(n int) (int, string) {
		if n == 0 {
			s.Update("Account", id, map[string]any{"Name": "After"})
		}
		if n < len(failures) {
			return failures[n].status, failures[n].body
		}
		return http.StatusOK, string(crm.AckResponse())
	})
	o := s.AddOutbound(OutboundConfig{URL: l.url, Object: "Account", Fields: []string{"Name"}, RetryBase: time.Millisecond, RetryMax: 20 * time.Millisecond})
	o.Notify(id)
	waitIdle(t, o)

	msgs := l.received()
	if len(msgs) != len(failures)+1 {
		t.Fatalf("%d attempts, want %d", len(msgs), len(failures)+1)
	}
	for i, m := range msgs {
		n := m.Notifications[0]
		if n.ID != msgs[0].Notifications[0].ID {
			t.Errorf("attempt %d has notification id %s, want the first attempt's %s", i, n.ID, msgs[0].Notifications[0].ID)
		}
		name, _ := n.Value("Name")
		if want := map[bool]string{true: "Before", false: "After"}[i == 0]; name != want {
			t.Errorf("attempt %d sent Name %q, want %q", i, name, want)
		}
	}
	if st := o.Stats(); st != (OutboundStats{Sent: 8, Acked: 1, Failed: 7}) {
		t.Errorf("Stats = %+v", st)
	}
}

func TestOutboundDuplicateReorder(t *testing.T) {
	s := NewServer(t, Options{})
	l := newListener(t, nil)
	o := s.AddOutbound(OutboundConfig{URL: l.url, Object: "Account", BatchMax: 1, Duplicate: 2, Reorder: true})
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = s.Insert("Account", map[string]any{"Name": "A"})
	}
	o.Notify(ids...)
	waitIdle(t, o)
	msgs := l.received()
	seen := map[string]int{}
	var order []string // records in first-arrival order
	for _, m := range msgs {
		n := m.Notifications[0]
		if seen[n.ID] == 0 {
			order = append(order, n.RecordID)
		}
		seen[n.ID]++
	}
	if len(msgs) != 60 || len(seen) != 20 {
		t.Fatalf("%d messages with %d distinct notifications, want 60 and 20", len(msgs), len(seen))
	}
	for id, n := range seen {
		if n != 3 {
			t.Errorf("notification %s delivered %d times, want 3", id, n)
		}
	}
	if slices.Equal(order, ids) {
		t.Errorf("20 messages arrived in queue order despite Reorder")
	}
	if st := o.Stats(); st != (OutboundStats{Sent: 60, Acked: 60}) {
		t.Errorf("Stats = %+v", st)
	}
}

func TestOutboundOnWrite(t *testing.T) {
	w := newWire(t, Options{})
	s := w.s
	l := newListener(t, nil)
	o := s.AddOutbound(OutboundConfig{URL: l.url, Object: "Invoice__c", Fields: []string{"Amount__c"}, OnWrite: true})
	id := s.Insert("Invoice__c", map[string]any{"Name": "INV-1", "Amount__c": "1"}) // Go-side insert
	s.Update("Invoice__c", id, map[string]any{"Amount__c": "2"})                    // Go-side update
	if status, _, body := w.call("PATCH", "/sobjects/Invoice__c/"+id, `{"Amount__c": 3}`); status != 204 {
		t.Fatalf("PATCH: %d %s", status, body)
	}
	if status, _, body := w.call("PATCH", "/composite/sobjects",
		`{"records":[{"attributes":{"type":"Invoice__c"},"id":"`+id+`","Amount__c":4}]}`); status != 200 {
		t.Fatalf("Collections update: %d %s", status, body)
	}
	if status, _, body := w.call("POST", "/sobjects/Invoice__c", `{"Name":"INV-2","Amount__c":5}`); status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	s.Insert("Account", map[string]any{"Name": "another object: no notification"})
	waitIdle(t, o)
	notes := 0
	for _, m := range l.received() {
		notes += len(m.Notifications)
	}
	if notes != 5 {
		t.Errorf("%d notifications for 5 writes", notes)
	}

	// Deleting does not fire, and a pending notification of a record
	// deleted before it was sent is dropped.
	stop := make(chan struct{})
	failing := newListener(t, func(int) (int, string) {
		<-stop
		return http.StatusServiceUnavailable, ""
	})
	o2 := s.AddOutbound(OutboundConfig{URL: failing.url, Object: "Invoice__c", RetryBase: time.Millisecond})
	o2.Notify(id)
	s.Delete("Invoice__c", id)
	close(stop)
	waitIdle(t, o2)
	if st := o2.Stats(); st.Dropped != 1 || st.Pending != 0 || st.Acked != 0 {
		t.Errorf("Stats after the record was deleted = %+v, want it dropped", st)
	}
	if got := o.Stats(); got.Sent != len(l.received()) || got.Pending != 0 {
		t.Errorf("delete fired OnWrite: stats %+v", got)
	}
}

// TestOutboundCriteria runs a rule's formula over saves: only those that
// meet it send a notification, each function and blank-versus-null as
// Salesforce evaluates them.
func TestOutboundCriteria(t *testing.T) {
	w := newWire(t, Options{})
	s := w.s
	l := newListener(t, nil)
	o := s.AddOutbound(OutboundConfig{URL: l.url, Object: "Invoice__c", OnWrite: true, Criteria: `or(ISNEW(),
		ISCHANGED(Amount__c), ISCHANGED(Due_Date__c),
		AND(ISCHANGED(Status__c), OR(ISPICKVAL(Status__c, "Void"), ISPICKVAL(PRIORVALUE(Status__c), "Void"))),
		AND(ISCHANGED(Name), NOT(ISPICKVAL(Status__c, "Paid"))))`})
	notes := func() int {
		waitIdle(t, o)
		n := 0
		for _, m := range l.received() {
			n += len(m.Notifications)
		}
		return n
	}
	id := s.Insert("Invoice__c", map[string]any{"Name": "INV-1", "Amount__c": "1", "Status__c": "Open"})
	if n := notes(); n != 1 {
		t.Fatalf("%d notifications for the insert, want 1 (ISNEW)", n)
	}
	steps := []struct {
		name   string
		fields map[string]any
		fires  bool
	}{
		{"amount changed", map[string]any{"Amount__c": "2"}, true},
		{"same amount again", map[string]any{"Amount__c": "2.00"}, false},
		{"unwatched field", map[string]any{"Amount_Paid__c": "1", "Balance_Due__c": "1"}, false},
		{"due date set", map[string]any{"Due_Date__c": "2024-06-01"}, true},
		{"status between watched values", map[string]any{"Status__c": "Partially Paid"}, false},
		{"status to Void", map[string]any{"Status__c": "Void"}, true},
		{"status from Void", map[string]any{"Status__c": "Paid"}, true},
		{"renamed while Paid", map[string]any{"Name": "INV-1b"}, false},
		{"renamed while Open", map[string]any{"Status__c": "Open", "Name": "inv-1b"}, true}, // case counts
	}
	want := 1
	for _, st := range steps {
		s.Update("Invoice__c", id, st.fields)
		if st.fires {
			want++
		}
		if got := notes(); got != want {
			t.Errorf("%s: %d notifications so far, want %d", st.name, got, want)
			want = got
		}
	}
	// A REST update goes through the same criteria.
	if status, _, body := w.call("PATCH", "/sobjects/Invoice__c/"+id, `{"Amount_Paid__c": 2}`); status != 204 {
		t.Fatalf("PATCH: %d %s", status, body)
	}
	if status, _, body := w.call("PATCH", "/sobjects/Invoice__c/"+id, `{"Amount__c": 3}`); status != 204 {
		t.Fatalf("PATCH: %d %s", status, body)
	}
	if got := notes(); got != want+1 {
		t.Errorf("REST updates: %d notifications, want %d", got, want+1)
	}

	for _, bad := range []string{
		"ISCHANGED(No_Such_Field__c)", "ISCHANGED(Name", "OR(ISNEW(), )", `ISPICKVAL(Status__c)`,
		`ISPICKVAL(Status__c, Open)`, "PRIORVALUE(Name)", "TRUE FALSE", "ISBLANK(Name)",
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AddOutbound with Criteria %q did not panic", bad)
				}
			}()
			s.AddOutbound(OutboundConfig{URL: l.url, Object: "Invoice__c", OnWrite: true, Criteria: bad})
		}()
	}
}

func TestOutboundMaxAgeAndClose(t *testing.T) {
	s := New(Options{})
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := newListener(t, func(int) (int, string) { return http.StatusInternalServerError, "" })
	id := s.Insert("Account", map[string]any{"Name": "A"})
	aged := s.AddOutbound(OutboundConfig{URL: l.url, Object: "Account", RetryBase: time.Millisecond, MaxAge: 30 * time.Millisecond})
	aged.Notify(id)
	waitIdle(t, aged)
	if st := aged.Stats(); st.Dropped != 1 || st.Failed == 0 || st.Acked != 0 {
		t.Errorf("Stats after MaxAge = %+v, want the message dropped after failing", st)
	}

	pending := s.AddOutbound(OutboundConfig{URL: l.url, Object: "Account", RetryBase: time.Hour})
	pending.Notify(id)
	for deadline := time.Now().Add(10 * time.Second); pending.Stats().Failed == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first attempt never failed")
		}
	}
	s.Close()
	if err := pending.WaitIdle(t.Context()); err == nil {
		t.Error("WaitIdle after Close with a message pending = nil, want an error")
	}
	if st := pending.Stats(); st.Pending != 1 {
		t.Errorf("Stats after Close = %+v, want 1 pending", st)
	}
	late := s.AddOutbound(OutboundConfig{URL: l.url, Object: "Account"})
	late.Notify(id)
	if err := late.WaitIdle(t.Context()); err != nil || late.Stats().Sent != 0 {
		t.Errorf("an Outbound added after Close: WaitIdle %v, stats %+v; want nothing sent", err, late.Stats())
	}
}
