package crmtest

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
	"time"
)

// xsdDateTime is the dateTime form of Outbound Messages (not the REST
// form): 2018-05-04T11:35:40.000Z.
const xsdDateTime = "2006-01-02T15:04:05.000Z"

// render writes m's notifications envelope, laid out as the captured
// message of docs/reference/salesforce.md §1.6, with each record as it is now.
// Notifications whose record is gone or deleted are left out: live are
// the ones sent, gone how many were dropped.
func (o *Outbound) render(m *message) (body []byte, live []notice, gone int) {
	base := o.s.URL()
	org15 := o.s.orgID[:min(15, len(o.s.orgID))]
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
`)
	element(&b, "   ", "OrganizationId", o.s.orgID)
	element(&b, "   ", "ActionId", o.cfg.ActionID)
	b.WriteString("   <SessionId xsi:nil=\"true\"/>\n")
	element(&b, "   ", "EnterpriseUrl", base+"/services/Soap/c/"+o.s.opts.APIVersion+"/"+org15)
	element(&b, "   ", "PartnerUrl", base+"/services/Soap/u/"+o.s.opts.APIVersion+"/"+org15)

	o.s.mu.RLock()
	sc := o.table.schema
	for _, n := range m.notices {
		r, ok := o.table.byID[n.recordID]
		if !ok || r.deleted() {
			gone++
			continue
		}
		live = append(live, n)
		b.WriteString("   <Notification>\n")
		element(&b, "    ", "Id", n.id)
		b.WriteString(`    <sObject xsi:type="sf:` + sc.name + `" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">` + "\n")
		for _, i := range o.fields {
			if v := r.vals[i]; v != nil {
				element(&b, "     ", "sf:"+sc.fields[i].name, xsdValue(sc.fields[i].typ, v))
			}
		}
		b.WriteString("    </sObject>\n   </Notification>\n")
	}
	o.s.mu.RUnlock()

	b.WriteString("  </notifications>\n </soapenv:Body>\n</soapenv:Envelope>\n")
	return b.Bytes(), live, gone
}

// element writes <name>text</name> on its own line, text XML-escaped.
func element(b *bytes.Buffer, indent, name, text string) {
	b.WriteString(indent + "<" + name + ">")
	xml.EscapeText(b, []byte(text))
	b.WriteString("</" + name + ">\n")
}

// xsdValue renders a stored value in its XSD lexical form: numbers always
// with a fraction ("419.0"), booleans true/false, dateTimes in UTC with
// milliseconds.
func xsdValue(t FieldType, v any) string {
	switch t {
	case FieldDecimal:
		if s := v.(string); !strings.Contains(s, ".") {
			return s + ".0"
		}
	case FieldBool:
		return strconv.FormatBool(v.(bool))
	case FieldDateTime:
		return v.(time.Time).UTC().Format(xsdDateTime)
	}
	return v.(string)
}

// acknowledged reports whether a listener's response is the
// notificationsResponse of §1.3 with Ack true (and no SOAP fault).
func acknowledged(body []byte) bool {
	var env struct {
		XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
		Body    struct {
			Fault    *struct{} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
			Response *struct {
				Ack string `xml:"http://soap.sforce.com/2005/09/outbound Ack"`
			} `xml:"http://soap.sforce.com/2005/09/outbound notificationsResponse"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if xml.Unmarshal(body, &env) != nil || env.Body.Fault != nil || env.Body.Response == nil {
		return false
	}
	ack := strings.TrimSpace(env.Body.Response.Ack)
	return ack == "true" || ack == "1"
}
