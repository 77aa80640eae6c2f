package crm

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
)

// changedFields lists the fields whose values differ between two reads
// of a record, the platform's modification stamps left out.
func changedFields(before, after map[string]any) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(after)) {
		switch k {
		case "LastModifiedDate", "SystemModstamp":
			continue
		}
		if b, a := before[k], after[k]; b != a {
			if bt, ok := b.(time.Time); ok {
				if at, ok := a.(time.Time); ok && bt.Equal(at) {
					continue
				}
			}
			out = append(out, k)
		}
	}
	return out
}

// TestAccountPushedAndWrittenBack holds AccountMapping.Pushed and
// WrittenBack, which the shipped workflow rule and Apex trigger are
// checked against, to what the client does: an edit of each pushed field
// changes what a push sends (the customer's hash) or decides by (the
// policy); an edit of any other field read does not; and WriteAccountSync
// writes exactly the write-back fields.
func TestAccountPushedAndWrittenBack(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	m := DefaultMapping().Account
	id := e.sf.Insert("Account", map[string]any{"Name": "Before", "Stripe_Mapping__c": "Create", "CurrencyIsoCode": "USD"})
	read := func() (string, stripesync.Policy) {
		a, err := e.c.Account(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return a.Customer().Hash(), a.Policy
	}
	edits := map[string]any{m.Policy: "Existing", m.Currency: "EUR", m.StripeCustomerID: "cus_edited", m.SyncError: "edited"}
	for _, f := range e.c.accountFields() {
		switch f {
		case "Id", "SystemModstamp", "IsDeleted":
			continue
		}
		hash, policy := read()
		v, ok := edits[f]
		if !ok {
			v = "edited " + f
		}
		e.sf.Update("Account", id, map[string]any{f: v})
		newHash, newPolicy := read()
		if pushed, affects := slices.Contains(m.Pushed(), f), newHash != hash || newPolicy != policy; pushed != affects {
			t.Errorf("an edit of %s: in Pushed %t, changes what a push sends or decides %t", f, pushed, affects)
		}
	}

	before, _ := e.sf.Get("Account", id)
	_, err := e.c.WriteAccountSync(t.Context(), []stripesync.AccountSyncUpdate{
		{AccountID: id, StripeCustomerID: "cus_written", SyncedAt: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), SyncError: "failed"},
	})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := e.sf.Get("Account", id)
	if got, want := changedFields(before, after), slices.Sorted(slices.Values(m.WrittenBack())); !slices.Equal(got, want) {
		t.Errorf("WriteAccountSync changed %v, WrittenBack lists %v", got, want)
	}
}

// TestInvoiceWrittenBack holds InvoiceMapping.WrittenBack to
// UpdateInvoices: every field the rollup writes is listed. (The payment
// link is listed too: the daemon owns it, so no rule may fire on it.)
func TestInvoiceWrittenBack(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	m := DefaultMapping().Invoice
	id := e.sf.Insert("Invoice__c", map[string]any{"Name": "INV-1", "Amount__c": "10", "CurrencyIsoCode": "USD", "Status__c": "Open"})
	before, _ := e.sf.Get("Invoice__c", id)
	_, err := e.c.UpdateInvoices(t.Context(), []stripesync.InvoiceUpdate{{
		InvoiceID: id, AmountPaid: stripesync.Money{Amount: 400, Currency: "USD"},
		BalanceDue: stripesync.Money{Amount: 600, Currency: "USD"}, Status: stripesync.InvoicePartiallyPaid,
	}})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := e.sf.Get("Invoice__c", id)
	for _, f := range changedFields(before, after) {
		if !slices.Contains(m.WrittenBack(), f) {
			t.Errorf("UpdateInvoices writes %s, which InvoiceMapping.WrittenBack does not list", f)
		}
	}
	if n := len(changedFields(before, after)); n < 3 {
		t.Errorf("UpdateInvoices changed %d fields, want the amount paid, the balance and the status", n)
	}
}
