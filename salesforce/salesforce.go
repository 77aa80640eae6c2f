// Package salesforce holds the metadata an admin deploys to the org (the
// Salesforce DX project under force-app, see README.md) and reads its
// workflow rules for Go: the emulator's Outbound Messages in the demo and
// the tests evaluate the very criteria shipped here, so that what they
// prove about echoes holds for the org.
package salesforce

import (
	"embed"
	"encoding/xml"
	"fmt"
)

//go:embed force-app/main/default/workflows/*.workflow-meta.xml
var workflows embed.FS

// Workflow is the part of a Workflow metadata file the daemon's side
// depends on.
type Workflow struct {
	OutboundMessages []OutboundMessage `xml:"outboundMessages"`
	Rules            []Rule            `xml:"rules"`
}

// OutboundMessage is an Outbound Message action.
type OutboundMessage struct {
	FullName         string   `xml:"fullName"`
	APIVersion       string   `xml:"apiVersion"`
	EndpointURL      string   `xml:"endpointUrl"`
	Fields           []string `xml:"fields"`
	IncludeSessionID bool     `xml:"includeSessionId"`
	IntegrationUser  string   `xml:"integrationUser"`
}

// Rule is a workflow rule: when it fires (Formula, evaluated per
// TriggerType) and which actions it runs.
type Rule struct {
	FullName string `xml:"fullName"`
	Actions  []struct {
		Name string `xml:"name"`
		Type string `xml:"type"`
	} `xml:"actions"`
	Active      bool   `xml:"active"`
	Formula     string `xml:"formula"`
	TriggerType string `xml:"triggerType"`
}

// ReadWorkflow parses the shipped workflow of object ("Account",
// "Invoice__c").
func ReadWorkflow(object string) (Workflow, error) {
	data, err := workflows.ReadFile("force-app/main/default/workflows/" + object + ".workflow-meta.xml")
	if err != nil {
		return Workflow{}, fmt.Errorf("salesforce: no workflow for %s: %w", object, err)
	}
	var wf Workflow
	if err := xml.Unmarshal(data, &wf); err != nil {
		return Workflow{}, fmt.Errorf("salesforce: workflow of %s: %w", object, err)
	}
	if len(wf.OutboundMessages) != 1 || len(wf.Rules) != 1 {
		return Workflow{}, fmt.Errorf("salesforce: workflow of %s has %d outbound messages and %d rules, want one each",
			object, len(wf.OutboundMessages), len(wf.Rules))
	}
	return wf, nil
}
