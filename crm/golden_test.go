package crm

import (
	"testing"

	"github.com/stripesync/stripesync/internal/golden"
)

// TestGoldenOutboundAnswers pins the SOAP the daemon answers an Outbound
// Message with: the Ack, byte for byte as Salesforce's documentation gives
// it (testdata/outbound_ack.xml), and the two faults. make golden rewrites
// them; the Ack's diff must then still match docs/reference/salesforce.md
// §1.3.
func TestGoldenOutboundAnswers(t *testing.T) {
	golden.Check(t, "testdata/outbound_ack.xml", AckResponse())
	golden.Check(t, "testdata/outbound_fault_client.golden.xml", SOAPFault("Client", "the message names no organization <OrganizationId>"))
	golden.Check(t, "testdata/outbound_fault_server.golden.xml", SOAPFault("Server", "the notifications could not be stored; Salesforce will retry"))
}
