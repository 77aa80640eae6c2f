package salesforce_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm"
	"github.com/stripesync/stripesync/salesforce"
)

// outboundPath is the daemon's Outbound Message route with the path secret
// left for the admin to fill in (docs/SPEC.md §7: POST /salesforce/outbound/{secret}).
const outboundPath = "/salesforce/outbound/REPLACE_WITH_TRIGGER_SECRET"

func TestOutboundMessages(t *testing.T) {
	m := crm.DefaultMapping()
	a, inv := m.Account, m.Invoice
	// The fields the daemon reads from each object, so that the message
	// shows what changed; the daemon re-reads the record either way.
	read := map[string][]string{
		a.Object:   {a.Name, a.Phone, a.Email, a.Street, a.City, a.State, a.PostalCode, a.Country, a.Policy, a.StripeCustomerID},
		inv.Object: {inv.Number, inv.Account, inv.Amount, inv.DueDate, inv.Status, inv.AutoPay},
	}
	for object, fields := range read {
		t.Run(object, func(t *testing.T) {
			wf, err := salesforce.ReadWorkflow(object)
			if err != nil {
				t.Fatal(err)
			}
			om := wf.OutboundMessages[0]
			// Id identifies the record; SystemModstamp orders messages that
			// Salesforce redelivers out of order.
			for _, f := range append([]string{"Id", "SystemModstamp"}, fields...) {
				if !slices.Contains(om.Fields, f) {
					t.Errorf("outbound message %s does not send %s", om.FullName, f)
				}
			}
			for _, f := range om.Fields {
				if !fieldExists(object, f) {
					t.Errorf("outbound message %s sends %s, which is neither standard nor shipped", om.FullName, f)
				}
				if f == "CurrencyIsoCode" {
					t.Errorf("outbound message %s sends CurrencyIsoCode, which fails to deploy without multi-currency", om.FullName)
				}
			}
			if om.IncludeSessionID {
				t.Error("includeSessionId = true; the daemon uses its own OAuth and a session id must not travel")
			}
			if om.APIVersion != apiVersion {
				t.Errorf("apiVersion = %q, want %q", om.APIVersion, apiVersion)
			}
			if u, err := url.Parse(om.EndpointURL); err != nil || u.Scheme != "https" || u.Path != outboundPath {
				t.Errorf("endpointUrl = %q (%v), want https://<host>%s", om.EndpointURL, err, outboundPath)
			}
			if om.IntegrationUser == "" {
				t.Error("integrationUser is empty")
			}

			r := wf.Rules[0]
			if len(r.Actions) != 1 || r.Actions[0].Name != om.FullName || r.Actions[0].Type != "OutboundMessage" {
				t.Errorf("rule %s actions = %+v, want only OutboundMessage %s", r.FullName, r.Actions, om.FullName)
			}
			// Deployed inactive: it would fail every message until the
			// admin replaces the endpoint placeholder.
			if r.Active {
				t.Errorf("rule %s is deployed active", r.FullName)
			}
		})
	}
}

// TestRemoteSiteCoversTheEndpoint checks that the Remote Site the Apex
// callouts need allows the same host the outbound messages go to.
func TestRemoteSiteCoversTheEndpoint(t *testing.T) {
	var site struct {
		URL                     string `xml:"url"`
		IsActive                bool   `xml:"isActive"`
		DisableProtocolSecurity bool   `xml:"disableProtocolSecurity"`
	}
	readXML(t, filepath.Join(sourceDir, "remoteSiteSettings", "Stripesync.remoteSite-meta.xml"), &site)
	if !site.IsActive || site.DisableProtocolSecurity {
		t.Errorf("remote site active %t, protocol security disabled %t; want true, false", site.IsActive, site.DisableProtocolSecurity)
	}
	u, err := url.Parse(site.URL)
	if err != nil || u.Scheme != "https" || (u.Path != "" && u.Path != "/") {
		t.Fatalf("remote site url = %q (%v), want an https origin", site.URL, err)
	}
	for _, object := range []string{stripesync.ObjectAccount, stripesync.ObjectInvoice} {
		wf, err := salesforce.ReadWorkflow(object)
		if err != nil {
			t.Fatal(err)
		}
		for _, om := range wf.OutboundMessages {
			if e, err := url.Parse(om.EndpointURL); err != nil || e.Host != u.Host {
				t.Errorf("outbound message %s goes to %q, the remote site allows %s", om.FullName, om.EndpointURL, u.Host)
			}
		}
	}
}

func readSource(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sourceDir, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestApexTriggerClass checks the callout against the daemon's route:
// POST /v1/triggers, signed with HMAC-SHA256 in X-Stripesync-Signature,
// at most 200 ids, endpoint and secret read from the custom setting.
func TestApexTriggerClass(t *testing.T) {
	src := readSource(t, "classes/StripesyncTrigger.cls")
	for _, want := range []string{
		"implements Queueable, Database.AllowsCallouts",
		"'X-Stripesync-Signature'",
		"Crypto.generateMac('hmacSHA256', Blob.valueOf(body), Blob.valueOf(secret))",
		"'sha256=' + EncodingUtil.convertToHex(mac)",
		"'/v1/triggers'",
		"MAX_IDS = 200;",
		"req.setMethod('POST')",
		"Stripesync_Settings__c.getOrgDefaults()",
		"settings.Endpoint__c",
		"settings.Secret__c",
		"System.isQueueable() || System.isFuture()",
		"Limits.getLimitQueueableJobs()",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("StripesyncTrigger.cls does not contain %q", want)
		}
	}
	// The endpoint and the secret come from Stripesync_Settings__c only.
	if loc := regexp.MustCompile(`https?://`).FindStringIndex(src); loc != nil {
		t.Errorf("StripesyncTrigger.cls hard-codes a URL at offset %d", loc[0])
	}
	for _, field := range []string{"Endpoint__c", "Secret__c"} {
		if !fieldExists("Stripesync_Settings__c", field) {
			t.Errorf("Stripesync_Settings__c.%s is used by the class but not shipped", field)
		}
	}
	var setting struct {
		CustomSettingsType string `xml:"customSettingsType"`
		Visibility         string `xml:"visibility"`
	}
	readXML(t, filepath.Join(sourceDir, "objects", "Stripesync_Settings__c", "Stripesync_Settings__c.object-meta.xml"), &setting)
	if setting.CustomSettingsType != "Hierarchy" || setting.Visibility != "Protected" {
		t.Errorf("Stripesync_Settings__c is %s/%s, want a Protected Hierarchy custom setting", setting.CustomSettingsType, setting.Visibility)
	}
}

// TestApexRecordTriggers checks that each trigger fires after saves,
// sends only the records its filter picks (see TestTriggerCriteria) and
// names its object the way the daemon's trigger route expects.
func TestApexRecordTriggers(t *testing.T) {
	m := crm.DefaultMapping()
	tests := []struct {
		file, sobject, object, filter string
	}{
		{"triggers/AccountStripesync.trigger", m.Account.Object, stripesync.ObjectAccount, "accountsToPush"},
		{"triggers/InvoiceStripesync.trigger", m.Invoice.Object, stripesync.ObjectInvoice, "invoicesToPull"},
	}
	for _, tt := range tests {
		src := readSource(t, tt.file)
		for _, want := range []string{
			"on " + tt.sobject + " (after insert, after update)",
			"StripesyncTrigger.enqueue('" + tt.object + "', StripesyncTrigger." + tt.filter + "(Trigger.new, Trigger.oldMap));",
		} {
			if !strings.Contains(src, want) {
				t.Errorf("%s does not contain %q", tt.file, want)
			}
		}
	}
}

// TestApexSignatureVector computes with crypto/hmac the signature the Apex
// test class expects from StripesyncTrigger.sign. When the Apex test
// passes in an org, Apex and Go agree on the signature, so the daemon
// accepts what the triggers send.
func TestApexSignatureVector(t *testing.T) {
	const (
		body   = `{"object":"Account","ids":["001000000000001AAA"]}`
		secret = "test-secret"
	)
	var parsed struct {
		Object string   `json:"object"`
		IDs    []string `json:"ids"`
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&parsed); err != nil || parsed.Object != stripesync.ObjectAccount || len(parsed.IDs) != 1 {
		t.Fatalf("vector body %s is not a trigger: %+v, %v", body, parsed, err)
	}

	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))

	src := readSource(t, "classes/StripesyncTriggerTest.cls")
	call := "StripesyncTrigger.sign('" + body + "', '" + secret + "')"
	if !strings.Contains(src, call) {
		t.Fatalf("StripesyncTriggerTest.cls does not call %s", call)
	}
	if !strings.Contains(src, "'"+want+"'") {
		t.Errorf("StripesyncTriggerTest.cls does not expect %s", want)
	}
	if !strings.Contains(src, "X-Stripesync-Signature") {
		t.Error("StripesyncTriggerTest.cls does not check the X-Stripesync-Signature header")
	}
}
