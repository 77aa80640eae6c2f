package crm

import "github.com/stripesync/stripesync"

// OutboundCodec is the SOAP side of the Outbound Message listener: it
// decodes messages into triggers and writes the acknowledgement and faults
// Salesforce expects. httpapi takes it as its OutboundCodec.
type OutboundCodec struct{}

// Parse decodes a notifications envelope (see ParseOutboundMessage) into
// one trigger per notification.
func (OutboundCodec) Parse(body []byte) (stripesync.OutboundMessage, error) {
	m, err := ParseOutboundMessage(body)
	if err != nil {
		return stripesync.OutboundMessage{}, err
	}
	out := stripesync.OutboundMessage{OrganizationID: m.OrganizationID, Triggers: make([]stripesync.Trigger, len(m.Notifications))}
	for i, n := range m.Notifications {
		out.Triggers[i] = stripesync.Trigger{NotificationID: n.ID, Object: n.Object, RecordID: n.RecordID, ModStamp: n.ModStamp}
	}
	return out, nil
}

// Ack is the notificationsResponse that tells Salesforce to stop retrying.
func (OutboundCodec) Ack() []byte { return AckResponse() }

// Fault is a SOAP fault: the sender's fault when client is true (it must
// not resend unchanged), the server's otherwise (Salesforce retries).
func (OutboundCodec) Fault(client bool, message string) []byte {
	code := "Server"
	if client {
		code = "Client"
	}
	return SOAPFault(code, message)
}
