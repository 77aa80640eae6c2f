package salesforce_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm"
	"github.com/stripesync/stripesync/httpapi"
)

// The pieces of "Send Payment Link" (the quick action on Invoice__c, its
// Visualforce page, the Apex class that calls the daemon, the Named
// Credential it calls through) and the daemon's route they reach.
const (
	// paymentLinkRoute is the daemon's staff route (docs/SPEC.md §7), as a
	// net/http pattern.
	paymentLinkRoute  = "POST /v1/invoices/{id}/payment-link"
	paymentLinkClass  = "StripesyncPaymentLink"
	paymentLinkPage   = "StripesyncSendPaymentLink"
	paymentLinkAction = "Invoice__c.Send_Payment_Link"
	namedCredential   = "Stripesync"
	invoiceLayout     = "Invoice__c-Invoice Layout"
	// sampleInvoiceID is an Invoice__c id as the Apex would put it in the path.
	sampleInvoiceID = "a01000000000001AAA"
)

// apexString reads the value of the Apex constant name, declared as
// `name = '...';`.
func apexString(t *testing.T, src, name string) string {
	t.Helper()
	m := regexp.MustCompile(`\b` + name + `\s*=\s*'([^']*)';`).FindStringSubmatch(src)
	if m == nil {
		t.Fatalf("no Apex constant %s = '...';", name)
	}
	return m[1]
}

// TestPaymentLinkCallout checks that StripesyncPaymentLink calls the
// daemon's route through the Named Credential: the path it builds is one
// the daemon's pattern matches, with the invoice id where the daemon reads
// it, and the token comes from the credential, not the code.
func TestPaymentLinkCallout(t *testing.T) {
	src := readSource(t, "classes/"+paymentLinkClass+".cls")
	base := apexString(t, src, "NAMED_CREDENTIAL")
	if base != "callout:"+namedCredential {
		t.Errorf("NAMED_CREDENTIAL = %q, want callout:%s", base, namedCredential)
	}
	path := apexString(t, src, "PATH_PREFIX") + sampleInvoiceID + apexString(t, src, "PATH_SUFFIX")

	mux := http.NewServeMux()
	var gotID string
	mux.HandleFunc(paymentLinkRoute, func(w http.ResponseWriter, r *http.Request) {
		gotID = r.PathValue("id")
		w.WriteHeader(http.StatusCreated)
	})
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{"email":true}`)))
	if rec.Code != http.StatusCreated || gotID != sampleInvoiceID {
		t.Errorf("POST %s: status %d, id %q; want the route %s with id %s", path, rec.Code, gotID, paymentLinkRoute, sampleInvoiceID)
	}

	for _, want := range []string{
		"NAMED_CREDENTIAL + PATH_PREFIX + EncodingUtil.urlEncode(String.valueOf(invoiceId), 'UTF-8') + PATH_SUFFIX",
		"req.setMethod('POST')",
		"req.setHeader('Content-Type', 'application/json')",
		"JSON.serialize(new Map<String, Object>{ 'email' => true })",
		// The response fields and the error body of the daemon.
		"fields.get('url')", "fields.get('emailed')", "fields.get('expires_at')",
		"fields.get('error')", "detail.get('code')", "detail.get('message')",
		// Failures reach the user: on the page, and in a Flow's result.
		"ApexPages.Severity.ERROR, result.errorMessage",
		"@InvocableMethod(", "callout=true",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("%s.cls does not contain %q", paymentLinkClass, want)
		}
	}
	// The base URL and the staff token live in the Named Credential only.
	if loc := regexp.MustCompile(`https?://`).FindStringIndex(src); loc != nil {
		t.Errorf("%s.cls hard-codes a URL at offset %d", paymentLinkClass, loc[0])
	}
	for _, leak := range []string{"setHeader('Authorization'", "'Bearer ", "Stripesync_Settings__c"} {
		if strings.Contains(src, leak) {
			t.Errorf("%s.cls mentions %s; the Named Credential adds the token", paymentLinkClass, leak)
		}
	}
}

// TestPaymentLinkApexTest checks that the Apex test class exists and
// covers the callout: a success and a 4xx from a mock of the daemon, each
// asserted, through the class's three entry points; and that the error
// bodies it mocks are the daemon's own, byte for byte, with the daemon's
// status for their code.
func TestPaymentLinkApexTest(t *testing.T) {
	src := readSource(t, "classes/"+paymentLinkClass+"Test.cls")
	for _, want := range []string{
		"@IsTest",
		"implements HttpCalloutMock",
		"Test.setMock(HttpCalloutMock.class, new Daemon(201, created(",
		"Test.setMock(HttpCalloutMock.class, new Daemon(400,",
		"'callout:" + namedCredential + "/v1/invoices/' + inv.Id + '/payment-link'",
		"System.assertEquals(true, sent.get('email')",
		paymentLinkClass + ".send(",
		paymentLinkClass + ".sendLinks(",
		".sendLink()",
		"Page." + paymentLinkPage,
		"ApexPages.Severity.ERROR, messages[0].getSeverity()",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("%sTest.cls does not contain %q", paymentLinkClass, want)
		}
	}
	for _, field := range []string{`"invoice_id"`, `"url"`, `"expires_at"`, `"emailed"`} {
		if !strings.Contains(src, field) {
			t.Errorf("%sTest.cls: the mocked 201 body lacks %s", paymentLinkClass, field)
		}
	}

	literal := regexp.MustCompile(`new Daemon\((\d{3}),\s*'(\{"error"[^']*\})'\)`)
	matches := literal.FindAllStringSubmatch(src, -1)
	if len(matches) == 0 {
		t.Fatalf("%sTest.cls mocks no complete error body", paymentLinkClass)
	}
	for _, m := range matches {
		status, _ := strconv.Atoi(m[1])
		var body struct {
			Error struct {
				Code    stripesync.ErrorCode `json:"code"`
				Message string               `json:"message"`
			} `json:"error"`
		}
		dec := json.NewDecoder(strings.NewReader(m[2]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			t.Errorf("mocked error body %s: %v", m[2], err)
			continue
		}
		rec := httptest.NewRecorder()
		httpapi.WriteError(rec, httptest.NewRequest(http.MethodPost, "/", nil), nil,
			&stripesync.Error{Code: body.Error.Code, Message: body.Error.Message})
		if rec.Code != status || strings.TrimSpace(rec.Body.String()) != m[2] {
			t.Errorf("the Apex test mocks HTTP %d %s; the daemon answers HTTP %d %s", status, m[2], rec.Code, strings.TrimSpace(rec.Body.String()))
		}
		if status < 400 || status > 499 {
			t.Errorf("mocked error status %d, want a 4xx", status)
		}
	}
}

// TestPaymentLinkCredential checks the Named Credential the class calls
// and its External Credential: the daemon's base URL (the placeholder the
// README tells the admin to replace), and an Authorization: Bearer header
// made from a parameter of a named principal, whose value is entered in
// Setup and never shipped.
func TestPaymentLinkCredential(t *testing.T) {
	var nc struct {
		Label                 string `xml:"label"`
		Type                  string `xml:"namedCredentialType"`
		CalloutStatus         string `xml:"calloutStatus"`
		MergeFieldsInBody     bool   `xml:"allowMergeFieldsInBody"`
		MergeFieldsInHeader   bool   `xml:"allowMergeFieldsInHeader"`
		GenerateAuthorization bool   `xml:"generateAuthorizationHeader"`
		Parameters            []struct {
			Name               string `xml:"parameterName"`
			Type               string `xml:"parameterType"`
			Value              string `xml:"parameterValue"`
			ExternalCredential string `xml:"externalCredential"`
		} `xml:"namedCredentialParameters"`
	}
	readXML(t, filepath.Join(sourceDir, "namedCredentials", namedCredential+".namedCredential-meta.xml"), &nc)
	if nc.Type != "SecuredEndpoint" || nc.CalloutStatus != "Enabled" || !nc.GenerateAuthorization {
		t.Errorf("named credential type %q, callout status %q, generate authorization %t; want SecuredEndpoint, Enabled, true",
			nc.Type, nc.CalloutStatus, nc.GenerateAuthorization)
	}
	if nc.MergeFieldsInBody || nc.MergeFieldsInHeader {
		t.Error("the named credential allows merge fields; the class needs none, and they could leak the token")
	}
	var baseURL, external string
	for _, p := range nc.Parameters {
		switch p.Type {
		case "Url":
			baseURL = p.Value
		case "Authentication":
			external = p.ExternalCredential
		}
	}
	if u, err := url.Parse(baseURL); err != nil || u.Scheme != "https" || (u.Path != "" && u.Path != "/") || !placeholder.MatchString(baseURL) {
		t.Errorf("named credential URL = %q (%v), want the https origin placeholder", baseURL, err)
	}
	if external != namedCredential {
		t.Fatalf("named credential authenticates with %q, want the External Credential %s", external, namedCredential)
	}

	ec := readExternalCredential(t)
	if ec.Protocol != "Custom" {
		t.Errorf("external credential protocol %q, want Custom", ec.Protocol)
	}
	principals := ec.parameters("NamedPrincipal")
	if len(principals) != 1 {
		t.Fatalf("external credential has named principals %+v, want one", principals)
	}
	headers := ec.parameters("AuthHeader")
	if len(headers) != 1 || headers[0].Name != "Authorization" {
		t.Fatalf("external credential headers %+v, want one Authorization", headers)
	}
	want := regexp.MustCompile(`^\{!'Bearer ' & \$Credential\.` + namedCredential + `\.[A-Za-z][A-Za-z0-9_]*\}$`)
	if !want.MatchString(headers[0].Value) {
		t.Errorf("Authorization header = %q, want {!'Bearer ' & $Credential.%s.<parameter>}", headers[0].Value, namedCredential)
	}
	if n := len(ec.parameters("AuthParameter")); n != 0 {
		t.Errorf("external credential ships %d authentication parameters; the token is entered in Setup", n)
	}
}

type externalCredential struct {
	Protocol   string `xml:"authenticationProtocol"`
	Parameters []struct {
		Name  string `xml:"parameterName"`
		Type  string `xml:"parameterType"`
		Value string `xml:"parameterValue"`
	} `xml:"externalCredentialParameters"`
}

func readExternalCredential(t *testing.T) externalCredential {
	t.Helper()
	var ec externalCredential
	readXML(t, filepath.Join(sourceDir, "externalCredentials", namedCredential+".externalCredential-meta.xml"), &ec)
	return ec
}

func (ec externalCredential) parameters(typ string) []struct{ Name, Type, Value string } {
	var out []struct{ Name, Type, Value string }
	for _, p := range ec.Parameters {
		if p.Type == typ {
			out = append(out, struct{ Name, Type, Value string }{p.Name, p.Type, p.Value})
		}
	}
	return out
}

// TestPaymentLinkPermissions checks that the staff permission set lets
// people use the action: the Apex class, the page, the credential's
// principal (named <External Credential>-<principal>) and read access to
// the User External Credential object every authenticated callout needs.
func TestPaymentLinkPermissions(t *testing.T) {
	var ps struct {
		permissionSet
		Classes []struct {
			Name    string `xml:"apexClass"`
			Enabled bool   `xml:"enabled"`
		} `xml:"classAccesses"`
		Pages []struct {
			Name    string `xml:"apexPage"`
			Enabled bool   `xml:"enabled"`
		} `xml:"pageAccesses"`
		Principals []struct {
			Name    string `xml:"externalCredentialPrincipal"`
			Enabled bool   `xml:"enabled"`
		} `xml:"externalCredentialPrincipalAccesses"`
	}
	// The embedded permissionSet's fields are read as if they were ps's own.
	readXML(t, filepath.Join(sourceDir, "permissionsets", "Stripesync_Staff.permissionset-meta.xml"), &ps)

	granted := func(name string, enabled bool) string { return name + "=" + strconv.FormatBool(enabled) }
	var classes, pages, principals []string
	for _, c := range ps.Classes {
		classes = append(classes, granted(c.Name, c.Enabled))
	}
	for _, p := range ps.Pages {
		pages = append(pages, granted(p.Name, p.Enabled))
	}
	for _, p := range ps.Principals {
		principals = append(principals, granted(p.Name, p.Enabled))
	}
	principal := namedCredential + "-" + readExternalCredential(t).parameters("NamedPrincipal")[0].Name
	for _, c := range []struct {
		what string
		got  []string
		want string
	}{
		{"class access", classes, granted(paymentLinkClass, true)},
		{"page access", pages, granted(paymentLinkPage, true)},
		{"external credential principal access", principals, granted(principal, true)},
	} {
		if !slices.Contains(c.got, c.want) {
			t.Errorf("Stripesync_Staff %s = %q, want %s", c.what, c.got, c.want)
		}
	}
	if o := ps.object("UserExternalCredential"); !o.Read || o.Edit || o.Create || o.Delete || o.ModifyAll {
		t.Errorf("Stripesync_Staff on UserExternalCredential: %+v, want read only", o)
	}
}

// layout is the part of a Layout file these tests read.
type layout struct {
	Sections []struct {
		Label   string `xml:"label"`
		Columns []struct {
			Items []struct {
				Behavior string `xml:"behavior"`
				Field    string `xml:"field"`
			} `xml:"layoutItems"`
		} `xml:"layoutColumns"`
	} `xml:"layoutSections"`
	PlatformActions []struct {
		Context string `xml:"actionListContext"`
		Items   []struct {
			Name string `xml:"actionName"`
			Type string `xml:"actionType"`
		} `xml:"platformActionListItems"`
	} `xml:"platformActionList"`
	QuickActions  []string `xml:"quickActionList>quickActionListItems>quickActionName"`
	CustomButtons []string `xml:"customButtons"`
	RelatedLists  []struct {
		Fields []string `xml:"fields"`
		Name   string   `xml:"relatedList"`
	} `xml:"relatedLists"`
}

// TestInvoiceLayout checks the Invoice__c page layout: every shipped field
// once, what the daemon writes back (Payment_Link__c among it) read-only,
// the Send Payment Link action and the Take Payment button in Lightning
// and in Classic, and the
// payments related list.
func TestInvoiceLayout(t *testing.T) {
	var l layout
	readXML(t, filepath.Join(sourceDir, "layouts", invoiceLayout+".layout-meta.xml"), &l)
	inv := crm.DefaultMapping().Invoice

	behavior := map[string]string{}
	for _, s := range l.Sections {
		for _, c := range s.Columns {
			for _, it := range c.Items {
				if _, dup := behavior[it.Field]; dup {
					t.Errorf("layout shows %s twice", it.Field)
				}
				behavior[it.Field] = it.Behavior
				if !fieldExists(inv.Object, it.Field) && !slices.Contains([]string{"OwnerId", "CreatedById", "LastModifiedById"}, it.Field) {
					t.Errorf("layout shows %s, which is neither standard nor shipped", it.Field)
				}
			}
		}
	}
	for _, f := range shippedFields(t) {
		object, field, _ := strings.Cut(f, ".")
		if object == inv.Object && behavior[field] == "" {
			t.Errorf("layout does not show %s", f)
		}
	}
	want := map[string]string{
		"Name": "Required", inv.Account: "Edit", inv.Amount: "Edit", inv.DueDate: "Edit", inv.Status: "Edit", inv.AutoPay: "Edit",
		inv.AmountPaid: "Readonly", inv.BalanceDue: "Readonly", inv.PaymentLink: "Readonly",
	}
	for field, w := range want {
		if behavior[field] != w {
			t.Errorf("layout behavior of %s = %q, want %q", field, behavior[field], w)
		}
	}

	var lightning []string
	for _, pl := range l.PlatformActions {
		if pl.Context != "Record" {
			continue
		}
		for _, it := range pl.Items {
			lightning = append(lightning, it.Type+":"+it.Name)
		}
	}
	takePayment := "CustomButton:" + inv.Object + "." + takePaymentButton
	for _, w := range []string{"QuickAction:" + paymentLinkAction, takePayment, "StandardButton:Edit"} {
		if !slices.Contains(lightning, w) {
			t.Errorf("layout's Lightning record actions %q lack %s", lightning, w)
		}
	}
	if !slices.Contains(l.CustomButtons, takePaymentButton) {
		t.Errorf("layout's Classic buttons %q lack %s", l.CustomButtons, takePaymentButton)
	}
	if !slices.Contains(l.QuickActions, paymentLinkAction) {
		t.Errorf("layout's Classic quick actions %q lack %s", l.QuickActions, paymentLinkAction)
	}

	var lookup customField
	readXML(t, fieldPath(crm.DefaultMapping().Payment.Object, crm.DefaultMapping().Payment.Invoice), &lookup)
	var related []string
	for _, r := range l.RelatedLists {
		related = append(related, r.Name)
	}
	if diff := cmp.Diff([]string{lookup.RelationshipName + "__r"}, related); diff != "" {
		t.Errorf("related lists (-want +got):\n%s", diff)
	}
}

// TestPaymentLinkAction checks the quick action and the page it opens: a
// Visualforce page on Invoice__c whose extension is the class, which sends
// only when the user presses Send (never on load) and shows its messages.
func TestPaymentLinkAction(t *testing.T) {
	object, name, _ := strings.Cut(paymentLinkAction, ".")
	var qa struct {
		Label    string `xml:"label"`
		Type     string `xml:"type"`
		Page     string `xml:"page"`
		FeedItem bool   `xml:"optionsCreateFeedItem"`
	}
	readXML(t, filepath.Join(sourceDir, "quickActions", object+"."+name+".quickAction-meta.xml"), &qa)
	if qa.Type != "VisualforcePage" || qa.Page != paymentLinkPage || qa.Label != "Send Payment Link" || qa.FeedItem {
		t.Errorf("quick action %+v, want a VisualforcePage action %s labelled Send Payment Link, no feed item", qa, paymentLinkPage)
	}

	page := readSource(t, "pages/"+paymentLinkPage+".page")
	for _, want := range []string{
		`standardController="` + object + `"`,
		`extensions="` + paymentLinkClass + `"`,
		`action="{!sendLink}"`,
		`<apex:pageMessages`,
		`{!Invoice__c.Balance_Due__c}`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("%s.page does not contain %s", paymentLinkPage, want)
		}
	}
	if regexp.MustCompile(`<apex:page[^>]*\saction=`).MatchString(page) {
		t.Errorf("%s.page sends on load; a link must be sent only when the user confirms", paymentLinkPage)
	}
	src := readSource(t, "classes/"+paymentLinkClass+".cls")
	for _, want := range []string{"public PageReference sendLink()", "public " + paymentLinkClass + "(ApexPages.StandardController controller)"} {
		if !strings.Contains(src, want) {
			t.Errorf("%s.cls lacks %s, which the page calls", paymentLinkClass, want)
		}
	}
}
