package crm

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

// Namespaces of an Outbound Message (docs/reference/salesforce.md §1.2) that
// the code compares; the struct tags below spell out the SOAP envelope and
// XML Schema instance ones. Elements are matched on namespace and local
// name, never on prefix.
const (
	nsOutbound = "http://soap.sforce.com/2005/09/outbound"
	nsSObject  = "urn:sobject.enterprise.soap.sforce.com"
)

// MaxOutboundNotifications is the most notifications one Outbound Message
// may carry (the WSDL's maxOccurs).
const MaxOutboundNotifications = 100

// OutboundMessage is a decoded Salesforce Outbound Message: the SOAP
// notifications envelope Salesforce POSTs when a workflow rule or flow
// fires (docs/reference/salesforce.md §1).
type OutboundMessage struct {
	// OrganizationID is the sending org's 18-character id; the listener
	// compares it with the configured org (the message carries no
	// signature).
	OrganizationID string
	ActionID       string // the Outbound Message action, 04k…
	SessionID      string // "" when not sent (xsi:nil), which is how we configure it
	EnterpriseURL  string
	PartnerURL     string
	Notifications  []Notification // 1 to MaxOutboundNotifications
}

// Notification is one changed record of an Outbound Message.
type Notification struct {
	// ID is the notification id (04l…). A retried or repeated delivery
	// carries the same ID, so it is the key to skip repeats by.
	ID string
	// Object is the sObject's API name, from xsi:type ("sf:Account" →
	// "Account").
	Object string
	// RecordID is the record's sf:Id.
	RecordID string
	// ModStamp is sf:SystemModstamp, else sf:LastModifiedDate, zero when
	// the action sends neither. Order changes by it, never by arrival:
	// Salesforce delivers out of order.
	ModStamp time.Time
	// Fields holds every field the action sent, keyed by API name, the
	// record as it was when the message was sent. A field that is absent
	// and one sent with xsi:nil both mean "no value", never "unchanged".
	Fields map[string]Field
}

// Field is the value of one sent field, in its XSD lexical form
// ("2018-05-04T11:35:40.000Z", "true", "419.0").
type Field struct {
	Value string
	Nil   bool // sent as xsi:nil="true"
}

// Value returns the field's value and whether it has one: false when the
// field was not sent or was nil. Names match case-insensitively, as API
// names do.
func (n Notification) Value(field string) (string, bool) {
	f, ok := n.Fields[field]
	if !ok {
		for k, v := range n.Fields {
			if strings.EqualFold(k, field) {
				f, ok = v, true
				break
			}
		}
	}
	if !ok || f.Nil {
		return "", false
	}
	return f.Value, true
}

// errDirective stops decoding at the first <!DOCTYPE …> or other
// directive, before anything in it is interpreted.
var errDirective = errors.New("DOCTYPE not allowed")

// ParseOutboundMessage decodes an Outbound Message body. Every failure is
// EINVALID, so the listener answers with a SOAP fault and no Ack:
//
//   - not a SOAP 1.1 envelope whose Body holds the notifications element,
//     matched by namespace (§1.2 / §1.6), or not well-formed XML, or
//     anything but comments after the envelope;
//   - any directive (<!DOCTYPE …>, <!ENTITY …>) anywhere, refused as it is
//     met, without expanding anything, and any entity reference other than
//     the five predefined ones: no billion laughs, no external entities;
//   - no notification, or more than MaxOutboundNotifications (refused at
//     the 101st, before decoding it);
//   - a notification without Id, sObject or sf:Id, with an Id or sf:Id
//     that is not a 15- or 18-character id, or an xsi:type that is not an
//     API name (these values go into queries downstream);
//   - a SystemModstamp or LastModifiedDate that is not an xsd:dateTime
//     with a time zone.
//
// Elements it does not know are ignored, and so are sObject children
// outside the sObject namespace. The caller bounds the body's size
// (http.MaxBytesReader); 100 notifications of a few dozen fields are well
// under 1 MB.
func ParseOutboundMessage(body []byte) (OutboundMessage, error) {
	raw := xml.NewDecoder(bytes.NewReader(body))
	dec := xml.NewTokenDecoder(directiveGuard{raw})
	var env struct {
		XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
		Body    struct {
			Notifications *notificationsXML `xml:"http://soap.sforce.com/2005/09/outbound notifications"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if err := dec.Decode(&env); err != nil {
		return OutboundMessage{}, invalidMessage(err)
	}
	if err := expectEnd(dec); err != nil {
		return OutboundMessage{}, err
	}
	n := env.Body.Notifications
	if n == nil {
		return OutboundMessage{}, stripesync.Errorf(stripesync.EINVALID,
			"outbound message: the SOAP Body holds no notifications element of namespace %s", nsOutbound)
	}
	if len(n.msg.Notifications) == 0 {
		return OutboundMessage{}, stripesync.Errorf(stripesync.EINVALID, "outbound message: no Notification")
	}
	return n.msg, nil
}

// invalidMessage turns a decoding error into EINVALID, keeping the
// message of an *stripesync.Error raised while decoding.
func invalidMessage(err error) error {
	var se *stripesync.Error
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, errDirective):
		return stripesync.Errorf(stripesync.EINVALID, "outbound message: DOCTYPE not allowed")
	}
	return stripesync.WrapError(stripesync.EINVALID, err, "outbound message: malformed XML")
}

// expectEnd reads what follows the envelope: only white space, comments
// and processing instructions may.
func expectEnd(dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return invalidMessage(err)
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return stripesync.Errorf(stripesync.EINVALID, "outbound message: text after the envelope")
			}
		default:
			return stripesync.Errorf(stripesync.EINVALID, "outbound message: content after the envelope")
		}
	}
}

// directiveGuard hands the raw tokens of an xml.Decoder (which reads
// strictly: an undefined entity reference is a syntax error) to another
// one, which does the namespace work, and fails at the first directive.
// encoding/xml never expands DTD entities anyway; refusing the directive
// itself also keeps a DTD from being read at all.
type directiveGuard struct{ d *xml.Decoder }

func (g directiveGuard) Token() (xml.Token, error) {
	tok, err := g.d.RawToken()
	if _, ok := tok.(xml.Directive); ok {
		return nil, errDirective
	}
	return tok, err
}

// notificationsXML decodes the notifications element by hand so that it
// can stop at the 101st Notification.
type notificationsXML struct{ msg OutboundMessage }

func (n *notificationsXML) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if err := n.child(d, t); err != nil {
				return err
			}
		}
	}
}

func (n *notificationsXML) child(d *xml.Decoder, t xml.StartElement) error {
	if t.Name.Space != nsOutbound {
		return d.Skip()
	}
	m := &n.msg
	switch t.Name.Local {
	case "OrganizationId":
		return decodeText(d, t, &m.OrganizationID)
	case "ActionId":
		return decodeText(d, t, &m.ActionID)
	case "SessionId":
		return decodeText(d, t, &m.SessionID)
	case "EnterpriseUrl":
		return decodeText(d, t, &m.EnterpriseURL)
	case "PartnerUrl":
		return decodeText(d, t, &m.PartnerURL)
	case "Notification":
		if len(m.Notifications) == MaxOutboundNotifications {
			return stripesync.Errorf(stripesync.EINVALID,
				"outbound message: more than %d notifications", MaxOutboundNotifications)
		}
		var x notificationXML
		if err := d.DecodeElement(&x, &t); err != nil {
			return err
		}
		nt, err := x.notification(len(m.Notifications))
		if err != nil {
			return err
		}
		m.Notifications = append(m.Notifications, nt)
		return nil
	}
	return d.Skip()
}

// decodeText reads a simple element's text, trimmed; xsi:nil reads as "".
func decodeText(d *xml.Decoder, t xml.StartElement, dst *string) error {
	var f fieldXML
	if err := d.DecodeElement(&f, &t); err != nil {
		return err
	}
	if f.isNil() {
		*dst = ""
	} else {
		*dst = strings.TrimSpace(f.Value)
	}
	return nil
}

type notificationXML struct {
	ID      string `xml:"http://soap.sforce.com/2005/09/outbound Id"`
	SObject *struct {
		Type   string     `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
		Fields []fieldXML `xml:",any"`
	} `xml:"http://soap.sforce.com/2005/09/outbound sObject"`
}

type fieldXML struct {
	XMLName xml.Name
	Nil     string `xml:"http://www.w3.org/2001/XMLSchema-instance nil,attr"`
	Value   string `xml:",chardata"`
}

func (f fieldXML) isNil() bool {
	v := strings.TrimSpace(f.Nil)
	return v == "true" || v == "1"
}

// notification validates and converts the i-th (0-based) notification.
func (x notificationXML) notification(i int) (Notification, error) {
	bad := func(format string, args ...any) (Notification, error) {
		return Notification{}, stripesync.Errorf(stripesync.EINVALID,
			"outbound message: notification %d: "+format, append([]any{i + 1}, args...)...)
	}
	n := Notification{ID: strings.TrimSpace(x.ID)}
	switch {
	case n.ID == "":
		return bad("no Id")
	case !validID(n.ID):
		return bad("Id %q is not a Salesforce id", n.ID)
	case x.SObject == nil:
		return bad("no sObject")
	}
	typ := strings.TrimSpace(x.SObject.Type)
	if _, local, ok := strings.Cut(typ, ":"); ok {
		typ = local
	}
	if !validName(typ) {
		return bad("sObject xsi:type %q is not an API name", x.SObject.Type)
	}
	n.Object = typ
	n.Fields = make(map[string]Field, len(x.SObject.Fields))
	for _, f := range x.SObject.Fields {
		if f.XMLName.Space != nsSObject {
			continue
		}
		if f.isNil() {
			n.Fields[f.XMLName.Local] = Field{Nil: true}
		} else {
			n.Fields[f.XMLName.Local] = Field{Value: f.Value}
		}
	}
	id, _ := n.Value("Id")
	n.RecordID = strings.TrimSpace(id)
	switch {
	case n.RecordID == "":
		return bad("sObject has no sf:Id")
	case !validID(n.RecordID):
		return bad("sf:Id %q is not a Salesforce id", n.RecordID)
	}
	for _, name := range []string{"SystemModstamp", "LastModifiedDate"} {
		v, ok := n.Value(name)
		if !ok {
			continue
		}
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(v))
		if err != nil {
			return bad("sf:%s %q is not an xsd:dateTime with a time zone", name, v)
		}
		n.ModStamp = t.UTC()
		break
	}
	return n, nil
}

// ackResponse is the acknowledgement of docs/reference/salesforce.md §1.3.
const ackResponse = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Body>
    <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">
      <Ack>true</Ack>
    </notificationsResponse>
  </soapenv:Body>
</soapenv:Envelope>
`

// AckResponse is the body to answer an Outbound Message with (HTTP 200,
// Content-Type: text/xml; charset=utf-8) once every notification is
// stored durably. It acknowledges the whole message; Salesforce retries a
// message until it gets this. Each call returns a new slice.
func AckResponse() []byte { return []byte(ackResponse) }

// SOAPFault is a SOAP 1.1 Fault envelope to answer a message that was not
// accepted (sent with HTTP 500, as SOAP 1.1 requires). code is "Client"
// when the message itself is at fault, and "Server" (also used for any
// other value) when we failed, e.g. to store it; a "soapenv:" prefix is
// accepted. message is XML-escaped; it must not hold secrets. Salesforce
// retries either way: only an Ack ends its retries.
func SOAPFault(code, message string) []byte {
	code = strings.TrimPrefix(code, "soapenv:")
	if code != "Client" {
		code = "Server"
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
  <soapenv:Body>
    <soapenv:Fault>
      <faultcode>soapenv:`)
	b.WriteString(code)
	b.WriteString("</faultcode>\n      <faultstring>")
	xml.EscapeText(&b, []byte(message))
	b.WriteString(`</faultstring>
    </soapenv:Fault>
  </soapenv:Body>
</soapenv:Envelope>
`)
	return b.Bytes()
}
