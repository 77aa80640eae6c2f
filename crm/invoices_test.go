package crm

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
)

func usd(a int64) stripesync.Money { return stripesync.Money{Amount: a, Currency: "USD"} }

func TestInvoices(t *testing.T) {
	clock := &manualClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, crmtest.Options{Clock: clock.Now}, nil)
	acct := e.sf.Insert("Account", map[string]any{"Name": "Acme"})
	tick := func() time.Time {
		clock.Set(clock.Now().Add(time.Second))
		return clock.Now()
	}
	insert := func(fields map[string]any) (string, time.Time) {
		stamp := tick()
		fields["Account__c"] = acct
		return e.sf.Insert("Invoice__c", fields), stamp
	}
	full, t1 := insert(map[string]any{"Name": "INV-1", "Amount__c": "1250.75", "Amount_Paid__c": "250.5",
		"CurrencyIsoCode": "usd", "Due_Date__c": "2024-05-31", "Auto_Pay__c": true, "Status__c": "Partially Paid"})
	yen, t2 := insert(map[string]any{"Name": "INV-2", "Amount__c": "5000", "CurrencyIsoCode": "JPY"})
	dinar, t3 := insert(map[string]any{"Name": "INV-3", "Amount__c": "12.345", "Amount_Paid__c": "0.005",
		"CurrencyIsoCode": "KWD", "Status__c": "open"})
	// 2^53+1 cents: exact only if the amount never passes through a float.
	huge, t4 := insert(map[string]any{"Name": "INV-4", "Amount__c": "90071992547409.93", "CurrencyIsoCode": "USD", "Status__c": "Paid"})
	oddStatus, t5 := insert(map[string]any{"Name": "INV-5", "Amount__c": "10", "CurrencyIsoCode": "USD", "Status__c": "Disputed"})
	fraction, t6 := insert(map[string]any{"Name": "INV-6", "Amount__c": "100.5", "CurrencyIsoCode": "JPY", "Status__c": "Draft"})
	noCurrency, t7 := insert(map[string]any{"Name": "INV-7", "Amount__c": "10"})
	gone, _ := insert(map[string]any{"Name": "INV-8", "Amount__c": "1", "CurrencyIsoCode": "EUR", "Status__c": "Void"})
	t8 := tick()
	e.sf.Delete("Invoice__c", gone)

	var got []stripesync.Invoice
	for inv, err := range e.c.Invoices(t.Context(), time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, inv)
	}
	want := []stripesync.Invoice{
		{ID: full, Number: "INV-1", AccountID: acct, Total: usd(125075), DueDate: time.Date(2024, 5, 31, 0, 0, 0, 0, time.UTC),
			AutoPay: true, Status: stripesync.InvoicePartiallyPaid, AmountPaid: usd(25050), ModStamp: t1},
		{ID: yen, Number: "INV-2", AccountID: acct, Total: stripesync.Money{Amount: 5000, Currency: "JPY"},
			Status: stripesync.InvoiceOpen, AmountPaid: stripesync.Money{Currency: "JPY"}, ModStamp: t2},
		{ID: dinar, Number: "INV-3", AccountID: acct, Total: stripesync.Money{Amount: 12345, Currency: "KWD"},
			Status: stripesync.InvoiceOpen, AmountPaid: stripesync.Money{Amount: 5, Currency: "KWD"}, ModStamp: t3},
		{ID: huge, Number: "INV-4", AccountID: acct, Total: usd(9007199254740993),
			Status: stripesync.InvoicePaid, AmountPaid: usd(0), ModStamp: t4},
		// Bad data is reported on the invoice, not as a stream error.
		{ID: oddStatus, Number: "INV-5", AccountID: acct, Total: usd(1000), Status: "", AmountPaid: usd(0), ModStamp: t5},
		{ID: fraction, Number: "INV-6", AccountID: acct, Status: stripesync.InvoiceDraft, ModStamp: t6},
		{ID: noCurrency, Number: "INV-7", AccountID: acct, Status: stripesync.InvoiceOpen, ModStamp: t7},
		{ID: gone, Number: "INV-8", AccountID: acct, Total: stripesync.Money{Amount: 100, Currency: "EUR"},
			Status: stripesync.InvoiceVoid, AmountPaid: stripesync.Money{Currency: "EUR"}, ModStamp: t8, Deleted: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Invoices (-want +got):\n%s", diff)
	}
	if c := e.sf.Calls(); c.QueryAll != 1 || c.Query != 0 {
		t.Errorf("QueryAll, Query calls = %d, %d, want 1, 0", c.QueryAll, c.Query)
	}

	var since []string
	for inv, err := range e.c.Invoices(t.Context(), t7) {
		if err != nil {
			t.Fatal(err)
		}
		since = append(since, inv.Number)
	}
	if diff := cmp.Diff([]string{"INV-7", "INV-8"}, since); diff != "" {
		t.Errorf("Invoices(since INV-7's stamp) (-want +got):\n%s", diff)
	}
}

func TestInvoicesPaged(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, func(c *Config) { c.PageSize = 200 })
	for i := range 450 {
		e.sf.Insert("Invoice__c", map[string]any{"Name": fmt.Sprintf("INV-%03d", i),
			"Amount__c": fmt.Sprintf("%d.%02d", i, i%100), "CurrencyIsoCode": "USD"})
	}
	n := 0
	for inv, err := range e.c.Invoices(t.Context(), time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		if want := usd(int64(n*100 + n%100)); inv.Total != want || inv.Number != fmt.Sprintf("INV-%03d", n) {
			t.Fatalf("invoice %d = %s %v, want total %v", n, inv.Number, inv.Total, want)
		}
		n++
	}
	if n != 450 {
		t.Errorf("streamed %d invoices, want 450", n)
	}
	if c := e.sf.Calls(); c.QueryAll != 1 || c.QueryMore != 2 {
		t.Errorf("QueryAll, QueryMore calls = %d, %d, want 1, 2", c.QueryAll, c.QueryMore)
	}
}

func TestInvoice(t *testing.T) {
	clock := &manualClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, crmtest.Options{Clock: clock.Now}, nil)
	id := e.sf.Insert("Invoice__c", map[string]any{"Name": "INV-1", "Amount__c": "99.99", "CurrencyIsoCode": "USD"})
	want := stripesync.Invoice{ID: id, Number: "INV-1", Total: usd(9999), Status: stripesync.InvoiceOpen,
		AmountPaid: usd(0), ModStamp: clock.Now()}
	got, err := e.c.Invoice(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Invoice (-want +got):\n%s", diff)
	}
	// The 15-character form names the same record.
	if got, err := e.c.Invoice(t.Context(), id[:15]); err != nil || got.ID != id {
		t.Errorf("Invoice(15-char id) = %v, %v", got.ID, err)
	}

	e.sf.Delete("Invoice__c", id)
	got, err = e.c.Invoice(t.Context(), id)
	if err != nil || !got.Deleted || got.Total != usd(9999) {
		t.Errorf("deleted Invoice = %+v, %v, want it with Deleted set", got, err)
	}
	_, err = e.c.Invoice(t.Context(), "a0XRO0000000zzzAAA")
	wantCode(t, err, stripesync.ENOTFOUND)

	calls := e.sf.Calls().Total
	for _, bad := range []string{"", "a0X' OR Name != '", "a0XRO0000000zzzA", "a0XRO0000000zzzAAAA"} {
		_, err := e.c.Invoice(t.Context(), bad)
		wantCode(t, err, stripesync.EINVALID)
	}
	if got := e.sf.Calls().Total; got != calls {
		t.Errorf("%d requests sent for malformed ids", got-calls)
	}
}

func TestAccount(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	id := e.sf.Insert("Account", map[string]any{"Name": "Acme", "CurrencyIsoCode": "eur", "Stripe_Mapping__c": "Ignore"})
	got, err := e.c.Account(t.Context(), id)
	if err != nil || got.ID != id || got.Name != "Acme" || got.Currency != "EUR" || got.Policy != stripesync.PolicyIgnore || got.Deleted {
		t.Errorf("Account = %+v, %v", got, err)
	}
	e.sf.Delete("Account", id)
	got, err = e.c.Account(t.Context(), id)
	if err != nil || !got.Deleted || got.Name != "Acme" {
		t.Errorf("deleted Account = %+v, %v, want it with Deleted set", got, err)
	}
	_, err = e.c.Account(t.Context(), "001RO0000000zzzAAA")
	wantCode(t, err, stripesync.ENOTFOUND)
	_, err = e.c.Account(t.Context(), "../limits")
	wantCode(t, err, stripesync.EINVALID)
	if c := e.sf.Calls(); c.QueryAll != 3 || c.SObject != 0 {
		t.Errorf("QueryAll, SObject calls = %d, %d, want 3, 0 (one call per read)", c.QueryAll, c.SObject)
	}
}

func TestUpdateInvoices(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	ins := func(cur, status string) string {
		return e.sf.Insert("Invoice__c", map[string]any{"Name": "INV", "Amount__c": "5000", "CurrencyIsoCode": cur, "Status__c": status})
	}
	dollars, yen, dinar, keep, gone := ins("USD", "Open"), ins("JPY", "Open"), ins("KWD", "Open"), ins("USD", "Draft"), ins("USD", "Open")
	e.sf.Delete("Invoice__c", gone)
	jpy := func(a int64) stripesync.Money { return stripesync.Money{Amount: a, Currency: "JPY"} }
	kwd := func(a int64) stripesync.Money { return stripesync.Money{Amount: a, Currency: "KWD"} }
	updates := []stripesync.InvoiceUpdate{
		{InvoiceID: dollars, AmountPaid: usd(499999), BalanceDue: usd(1), Status: stripesync.InvoicePartiallyPaid},
		{InvoiceID: yen, AmountPaid: jpy(5000), BalanceDue: jpy(0), Status: stripesync.InvoicePaid},
		{InvoiceID: dinar, AmountPaid: kwd(5000010), BalanceDue: kwd(-10), Status: stripesync.InvoicePaid}, // overpaid
		{InvoiceID: keep, AmountPaid: usd(0), BalanceDue: usd(500000)},                                     // Status "" leaves Draft
		{InvoiceID: gone, AmountPaid: usd(1), BalanceDue: usd(1), Status: stripesync.InvoiceOpen},
		{InvoiceID: "a0XRO0000000zzzAAA", AmountPaid: usd(1), BalanceDue: usd(1), Status: stripesync.InvoiceOpen},
		{InvoiceID: "", AmountPaid: usd(1), BalanceDue: usd(1)},
	}
	perRecord, err := e.c.UpdateInvoices(t.Context(), updates)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range perRecord[:4] {
		if err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	wantCode(t, perRecord[4], stripesync.ENOTFOUND)
	if ae := apiErrorOf(t, perRecord[4]); ae.Code != "ENTITY_IS_DELETED" {
		t.Errorf("deleted invoice: %+v", ae)
	}
	wantCode(t, perRecord[5], stripesync.EINVALID)
	wantCode(t, perRecord[6], stripesync.EINVALID)
	if got := e.sf.Calls().Collections; got != 1 {
		t.Errorf("collection calls = %d, want 1", got)
	}

	type stored struct{ paid, due, status any }
	wants := map[string]stored{
		dollars: {"4999.99", "0.01", "Partially Paid"},
		yen:     {"5000", "0", "Paid"},
		dinar:   {"5000.01", "-0.01", "Paid"},
		keep:    {"0", "5000", "Draft"},
	}
	for id, want := range wants {
		rec, _ := e.sf.Get("Invoice__c", id)
		if got := (stored{rec["Amount_Paid__c"], rec["Balance_Due__c"], rec["Status__c"]}); got != want {
			t.Errorf("invoice %s stored %v, want %v", id, got, want)
		}
	}
	// What was written reads back as the same money.
	for _, u := range updates[:4] {
		inv, err := e.c.Invoice(t.Context(), u.InvoiceID)
		if err != nil || inv.AmountPaid != u.AmountPaid {
			t.Errorf("Invoice(%s).AmountPaid = %v, %v, want %v", u.InvoiceID, inv.AmountPaid, err, u.AmountPaid)
		}
	}
}
