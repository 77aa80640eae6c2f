package salesforce_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stripesync/stripesync/console"
)

// The "Take Payment" button on Invoice__c and the console page it opens.
const (
	takePaymentButton = "Take_Payment"
	// consoleInvoiceRoute is the staff console's invoice page (docs/SPEC.md
	// §7), as a net/http pattern.
	consoleInvoiceRoute = console.InvoicePattern
	// publicURLField holds STRIPESYNC_PUBLIC_URL in the org's settings.
	publicURLField = "Public_URL__c"
)

// webLink is the part of a WebLink file these tests read.
type webLink struct {
	FullName     string `xml:"fullName"`
	Availability string `xml:"availability"`
	DisplayType  string `xml:"displayType"`
	LinkType     string `xml:"linkType"`
	OpenType     string `xml:"openType"`
	EncodingKey  string `xml:"encodingKey"`
	Label        string `xml:"masterLabel"`
	Height       int    `xml:"height"`
	URL          string `xml:"url"`
}

// TestTakePaymentButton checks that the button opens the console's page
// of the invoice it is pressed on: its URL, with the settings' public URL
// and the record id merged in as Salesforce would, is one the console's
// route matches with the id where the console reads it, and it names no
// credential (staff sign in to the console themselves).
func TestTakePaymentButton(t *testing.T) {
	var b webLink
	readXML(t, filepath.Join(sourceDir, "objects", "Invoice__c", "webLinks", takePaymentButton+".webLink-meta.xml"), &b)
	if b.FullName != takePaymentButton || b.Label != "Take Payment" || b.DisplayType != "button" ||
		b.LinkType != "url" || b.Availability != "online" || b.EncodingKey != "UTF-8" {
		t.Errorf("button %+v, want an online URL button Take Payment in UTF-8", b)
	}
	if b.OpenType == "newWindow" && b.Height == 0 {
		t.Error("a newWindow button needs a height")
	}
	base := "{!$Setup.Stripesync_Settings__c." + publicURLField + "}"
	rest, ok := strings.CutPrefix(b.URL, base)
	if !ok {
		t.Fatalf("url %q does not start with %s", b.URL, base)
	}
	if !fieldExists("Stripesync_Settings__c", publicURLField) {
		t.Errorf("Stripesync_Settings__c.%s is merged into the button but not shipped", publicURLField)
	}
	merged := "https://pay.example.com" + strings.ReplaceAll(rest, "{!Invoice__c.Id}", sampleInvoiceID)
	if strings.Contains(merged, "{!") {
		t.Fatalf("url %q merges fields other than the setting and the record id", b.URL)
	}
	for _, leak := range []string{"token", "Secret__c", "session"} {
		if strings.Contains(strings.ToLower(b.URL), strings.ToLower(leak)) {
			t.Errorf("url %q carries %s", b.URL, leak)
		}
	}

	var got string
	mux := http.NewServeMux()
	mux.HandleFunc(consoleInvoiceRoute, func(w http.ResponseWriter, r *http.Request) { got = r.PathValue("id") })
	req, err := http.NewRequest(http.MethodGet, merged, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, pattern := mux.Handler(req); pattern != consoleInvoiceRoute {
		t.Fatalf("%s does not reach %s (matched %q)", merged, consoleInvoiceRoute, pattern)
	}
	mux.ServeHTTP(discard{}, req)
	if got != sampleInvoiceID {
		t.Errorf("the console reads invoice %q from %s, want %s", got, merged, sampleInvoiceID)
	}
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}
