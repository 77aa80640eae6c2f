package crmtest

import (
	"net/http"
	"net/url"
	"testing"
)

func TestLookups(t *testing.T) {
	w := newWire(t, Options{})
	acct := w.s.Insert("Account", map[string]any{"Name": "Acme"})
	inv := w.s.Insert("Invoice__c", map[string]any{"Name": "INV-1"})
	gone := w.s.Insert("Invoice__c", map[string]any{"Name": "INV-2"})
	w.s.Delete("Invoice__c", gone)
	// Seeds are not checked: a test may plant a dangling reference.
	w.s.Insert("Payment__c", map[string]any{"Invoice__c": "a0XRO0000000zzzAAA"})

	for _, tt := range []struct {
		name, method, path, body string
		code                     string
	}{
		{"create, deleted invoice", "POST", "/sobjects/Payment__c", `{"Invoice__c":"` + gone + `"}`, "ENTITY_IS_DELETED"},
		{"create, wrong object", "POST", "/sobjects/Payment__c", `{"Invoice__c":"` + acct + `"}`, "FIELD_INTEGRITY_EXCEPTION"},
		{"update, unknown invoice", "PATCH", "/sobjects/Invoice__c/" + inv, `{"Account__c":"001RO0000000zzzAAA"}`, "INVALID_CROSS_REFERENCE_KEY"},
		{"upsert, not an id", "PATCH", "/sobjects/Payment__c/Stripe_Payment_Id__c/pi_1", `{"Account__c":"Acme"}`, "MALFORMED_ID"},
	} {
		status, header, body := w.call(tt.method, tt.path, tt.body)
		wantRESTError(t, status, header, body, http.StatusBadRequest, tt.code)
	}
	if n := w.s.Count("Payment__c"); n != 1 {
		t.Errorf("%d payments after refused writes, want the 1 seeded", n)
	}

	// A 15-character id works in a lookup, stored in its 18-character
	// form, and in a SOQL filter on Id.
	status, _, body := w.call("POST", "/sobjects/Payment__c", `{"Invoice__c":"`+inv[:15]+`","Account__c":"`+acct+`"}`)
	if status != http.StatusCreated {
		t.Fatalf("create with a 15-character lookup: %d %s", status, body)
	}
	var res struct{ ID string }
	mustJSON(t, body, &res)
	if rec, _ := w.s.Get("Payment__c", res.ID); rec["Invoice__c"] != inv {
		t.Errorf("Invoice__c stored as %v, want %s", rec["Invoice__c"], inv)
	}
	status, _, body = w.call("GET", "/query?q="+url.QueryEscape("SELECT Name FROM Invoice__c WHERE Id = '"+inv[:15]+"'"), "")
	var page struct{ TotalSize int }
	mustJSON(t, body, &page)
	if status != http.StatusOK || page.TotalSize != 1 {
		t.Errorf("query by 15-character id: %d %s", status, body)
	}
}
