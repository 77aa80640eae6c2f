package crm

import (
	"fmt"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
)

func TestGet(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	id := e.sf.Insert("Invoice__c", map[string]any{"Name": "INV-1", "Amount__c": "1250.75", "Auto_Pay__c": true})
	r, err := e.c.Get(t.Context(), "Invoice__c", id, []string{"Name", "Amount__c", "Auto_Pay__c", "Due_Date__c"})
	if err != nil {
		t.Fatal(err)
	}
	if r.String("Amount__c") != "1250.75" || !r.Bool("Auto_Pay__c") || r.String("Due_Date__c") != "" || len(r) != 4 {
		t.Errorf("Get = %v", r)
	}

	e.sf.Delete("Invoice__c", id)
	_, err = e.c.Get(t.Context(), "Invoice__c", id, nil)
	wantCode(t, err, stripesync.ENOTFOUND)
	_, err = e.c.Get(t.Context(), "Invoice__c", "a0XRO0000000zzzAAA", nil)
	wantCode(t, err, stripesync.ENOTFOUND)
	// Names and ids that could reshape the URL are refused before any call.
	calls := e.sf.Calls().Total
	for _, tt := range []struct {
		obj, id string
		fields  []string
	}{
		{"Invoice__c/x", id, nil},
		{"Invoice__c", "../limits", nil},
		{"Invoice__c", id, []string{"Name,Id"}},
	} {
		_, err := e.c.Get(t.Context(), tt.obj, tt.id, tt.fields)
		wantCode(t, err, stripesync.EINVALID)
	}
	if got := e.sf.Calls().Total; got != calls {
		t.Errorf("%d requests sent for invalid input", got-calls)
	}
}

func TestUpsert(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	paidAt := time.Date(2024, 5, 1, 12, 34, 56, 123456789, time.FixedZone("", 3600))
	created, err := e.c.Upsert(t.Context(), "Payment__c", "Stripe_Payment_Id__c", "pi_1/x",
		Record{"Amount__c": "10.00", "Status__c": "Processing", "Stripe_Payment_Id__c": "ignored", "Id": "", "Paid_At__c": paidAt})
	if err != nil || !created {
		t.Fatalf("Upsert = %v, %v, want created", created, err)
	}
	created, err = e.c.Upsert(t.Context(), "Payment__c", "Stripe_Payment_Id__c", "pi_1/x", Record{"Status__c": "Succeeded"})
	if err != nil || created {
		t.Fatalf("second Upsert = %v, %v, want updated", created, err)
	}
	var rows []Record
	for r, err := range e.c.Query(t.Context(), "SELECT Stripe_Payment_Id__c, Status__c, Amount__c, Paid_At__c FROM Payment__c") {
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if len(rows) != 1 || rows[0].String("Stripe_Payment_Id__c") != "pi_1/x" || rows[0].String("Status__c") != "Succeeded" || rows[0].String("Amount__c") != "10.0" {
		t.Errorf("payments = %v", rows)
	}
	if got, err := rows[0].Time("Paid_At__c"); err != nil || !got.Equal(paidAt.Truncate(time.Millisecond)) {
		t.Errorf("Paid_At__c = %v, %v, want %v to the millisecond", got, err, paidAt)
	}

	e.sf.Insert("Payment__c", map[string]any{"Stripe_Payment_Id__c": "pi_dup"})
	e.sf.Insert("Payment__c", map[string]any{"Stripe_Payment_Id__c": "pi_dup"})
	_, err = e.c.Upsert(t.Context(), "Payment__c", "Stripe_Payment_Id__c", "pi_dup", Record{})
	wantCode(t, err, stripesync.ECONFLICT)
	_, err = e.c.Upsert(t.Context(), "Payment__c", "Status__c", "x", Record{})
	wantCode(t, err, stripesync.ENOTFOUND)
	_, err = e.c.Upsert(t.Context(), "Payment__c", "Stripe_Payment_Id__c", "pi_2", Record{"Id": "a0YRO0000000001AAA"})
	wantCode(t, err, stripesync.EINVALID)
}

func TestUpsertRecords(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	recs := make([]Record, 250)
	for i := range recs {
		recs[i] = Record{"Stripe_Payment_Id__c": fmt.Sprintf("pi_%03d", i), "Amount__c": "5.00", "Id": ""}
	}
	recs[10] = Record{"Amount__c": "5.00"}                                      // no external id
	recs[20] = Record{"Stripe_Payment_Id__c": "pi_x", "Amount__c": "not money"} // rejected by Salesforce
	perRecord, err := e.c.UpsertRecords(t.Context(), "Payment__c", "Stripe_Payment_Id__c", recs)
	if err != nil {
		t.Fatal(err)
	}
	for i, rerr := range perRecord {
		switch i {
		case 10:
			wantCode(t, rerr, stripesync.EINVALID)
		case 20:
			wantCode(t, rerr, stripesync.EINVALID)
			if ae := apiErrorOf(t, rerr); ae.Code != "JSON_PARSER_ERROR" || ae.Fields[0] != "Amount__c" {
				t.Errorf("record 20: APIError = %+v", ae)
			}
		default:
			if rerr != nil {
				t.Errorf("record %d: %v", i, rerr)
			}
		}
	}
	if got := e.sf.Count("Payment__c"); got != 248 {
		t.Errorf("payments = %d, want 248", got)
	}
	if got := e.sf.Calls().Collections; got != 2 {
		t.Errorf("collection calls = %d, want 2 (249 sendable records)", got)
	}
	// Running it again updates in place.
	if _, err := e.c.UpsertRecords(t.Context(), "Payment__c", "Stripe_Payment_Id__c", recs[:5]); err != nil {
		t.Fatal(err)
	}
	if got := e.sf.Count("Payment__c"); got != 248 {
		t.Errorf("payments after rerun = %d, want 248", got)
	}
}
