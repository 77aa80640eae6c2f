package salesforce_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm"
	"github.com/stripesync/stripesync/crm/crmtest"
	"github.com/stripesync/stripesync/salesforce"
)

// criteria is what an object's notices must fire on, from the daemon's
// mapping: fires lists the fields whose every edit matters to the daemon;
// guarded, the fields it also writes back, whose edit matters only in
// states where the daemon never changes them (the customer id of an
// Existing account, Status__c into or out of Draft or Void).
type criteria struct {
	object, apexList string
	fires, guarded   []string
}

func triggerCriteria() []criteria {
	m := crm.DefaultMapping()
	var invoice []string
	for _, f := range m.Invoice.Pulled() {
		// CurrencyIsoCode exists only with multi-currency, so shipped
		// metadata cannot name it; a currency edit waits for the
		// scheduled pull.
		if !slices.Contains(m.Invoice.WrittenBack(), f) && f != m.Invoice.Currency {
			invoice = append(invoice, f)
		}
	}
	return []criteria{
		{m.Account.Object, "ACCOUNT_FIELDS", m.Account.Pushed(), []string{m.Account.StripeCustomerID}},
		{m.Invoice.Object, "INVOICE_FIELDS", invoice, []string{m.Invoice.Status}},
	}
}

// TestTriggerCriteria checks that the workflow rules and the Apex
// triggers fire on the same fields, and that those are the ones the
// daemon's mapping says it pushes or pulls.
func TestTriggerCriteria(t *testing.T) {
	apex := readSource(t, "classes/StripesyncTrigger.cls")
	for _, c := range triggerCriteria() {
		t.Run(c.object, func(t *testing.T) {
			wf, err := salesforce.ReadWorkflow(c.object)
			if err != nil {
				t.Fatal(err)
			}
			r := wf.Rules[0]
			// ISCHANGED and PRIORVALUE are allowed only in rules evaluated
			// at every save; ISCHANGED is false on a new record.
			if r.TriggerType != "onAllChanges" {
				t.Errorf("rule %s: triggerType %s, want onAllChanges", r.FullName, r.TriggerType)
			}
			if !regexp.MustCompile(`\bISNEW\(\)`).MatchString(r.Formula) {
				t.Errorf("rule %s does not fire on ISNEW()", r.FullName)
			}
			var changed []string
			for _, m := range regexp.MustCompile(`\bISCHANGED\(\s*(\w+)\s*\)`).FindAllStringSubmatch(r.Formula, -1) {
				changed = append(changed, m[1])
			}
			if got, want := slices.Sorted(slices.Values(changed)), slices.Sorted(slices.Values(slices.Concat(c.fires, c.guarded))); !slices.Equal(got, want) {
				t.Errorf("rule %s: ISCHANGED of %v, want %v", r.FullName, got, want)
			}
			for _, m := range regexp.MustCompile(`\b(?:ISPICKVAL|PRIORVALUE)\(\s*(\w+)`).FindAllStringSubmatch(r.Formula, -1) {
				if f := m[1]; f != "PRIORVALUE" && !slices.Contains(c.fires, f) && !slices.Contains(c.guarded, f) {
					t.Errorf("rule %s tests %s, which the daemon does not read", r.FullName, f)
				}
			}

			list := regexp.MustCompile(c.apexList + `\s*=\s*new List<String>\{([^}]*)\}`).FindStringSubmatch(apex)
			if list == nil {
				t.Fatalf("StripesyncTrigger.cls has no %s", c.apexList)
			}
			var fields []string
			for _, m := range regexp.MustCompile(`'(\w+)'`).FindAllStringSubmatch(list[1], -1) {
				fields = append(fields, m[1])
			}
			if !slices.Equal(fields, c.fires) {
				t.Errorf("StripesyncTrigger.%s = %v, want %v", c.apexList, fields, c.fires)
			}
		})
	}
	for _, guard := range []string{
		"record.Stripe_Mapping__c == 'Existing' && changed(record, old, 'Stripe_Customer_Id__c')",
		"changed(record, old, 'Status__c')",
		"STAFF_STATUSES = new Set<String>{ 'Draft', 'Void' }",
	} {
		if !regexp.MustCompile(regexp.QuoteMeta(guard)).MatchString(apex) {
			t.Errorf("StripesyncTrigger.cls does not contain %q", guard)
		}
	}
}

// ruleWorld is the emulator running a shipped workflow rule against a
// listener that counts the notifications, and the daemon's CRM client.
type ruleWorld struct {
	sf       *crmtest.Server
	crm      *crm.Client
	outbound *crmtest.Outbound
	notices  atomic.Int64
}

func newRuleWorld(t *testing.T, object string) *ruleWorld {
	t.Helper()
	w := &ruleWorld{sf: crmtest.NewServer(t, crmtest.Options{ClientID: "cid", ClientSecret: "csecret"})}
	listener := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		msg, err := crm.ParseOutboundMessage(body)
		if err != nil {
			t.Errorf("listener: %v", err)
			rw.WriteHeader(http.StatusBadRequest)
			return
		}
		w.notices.Add(int64(len(msg.Notifications)))
		rw.Write(crm.AckResponse())
	}))
	t.Cleanup(listener.Close)
	wf, err := salesforce.ReadWorkflow(object)
	if err != nil {
		t.Fatal(err)
	}
	w.outbound = w.sf.AddOutbound(crmtest.OutboundConfig{
		URL: listener.URL, Object: object, Fields: wf.OutboundMessages[0].Fields,
		OnWrite: true, Criteria: wf.Rules[0].Formula, RetryBase: time.Millisecond,
	})
	w.crm, err = crm.New(crm.Config{LoginURL: w.sf.URL(), ClientID: "cid", ClientSecret: "csecret"})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// expect waits for the queued notices to be delivered and checks that the
// saves since the last call sent want notices.
func (w *ruleWorld) expect(t *testing.T, what string, want int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := w.outbound.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.notices.Swap(0); got != want {
		t.Errorf("%s: %d notices, want %d", what, got, want)
	}
}

// TestAccountRuleIgnoresWriteBacks runs the shipped Account rule in the
// emulator: creates and edits of pushed fields send a notice, the
// daemon's write-backs (through the daemon's own client) do not.
func TestAccountRuleIgnoresWriteBacks(t *testing.T) {
	w := newRuleWorld(t, stripesync.ObjectAccount)
	m := crm.DefaultMapping().Account
	id := w.sf.Insert(m.Object, map[string]any{m.Name: "Acme", m.Policy: "Create"})
	w.expect(t, "insert", 1)
	for _, f := range m.Pushed() {
		v := "edited " + f
		if f == m.Policy {
			v = "Ignore"
		}
		w.sf.Update(m.Object, id, map[string]any{f: v})
		w.expect(t, "edit of "+f, 1)
	}
	w.sf.Update(m.Object, id, map[string]any{m.Name: "acme"})
	w.expect(t, "a rename that only changes case", 1)

	w.sf.Update(m.Object, id, map[string]any{m.Policy: "Create"})
	w.expect(t, "back to Create", 1)
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	writeBacks := [][]stripesync.AccountSyncUpdate{
		{{AccountID: id, StripeCustomerID: "cus_new", SyncedAt: at}}, // a create
		{{AccountID: id, SyncError: "Stripe said no"}},               // a failure
		{{AccountID: id, StripeCustomerID: "cus_new", SyncedAt: at.Add(time.Hour)}},
	}
	for i, u := range writeBacks {
		if _, err := w.crm.WriteAccountSync(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		w.expect(t, "write-back "+string(rune('1'+i)), 0)
	}
	for _, f := range m.WrittenBack() {
		v := any("cus_" + f)
		if f == m.SyncedAt {
			v = at.Add(2 * time.Hour)
		}
		w.sf.Update(m.Object, id, map[string]any{f: v})
		w.expect(t, "an edit of "+f+" alone under Create", 0)
	}

	// Existing: the customer id names the customer to bind, and the
	// daemon writes back only the one it read.
	w.sf.Update(m.Object, id, map[string]any{m.Policy: "Existing"})
	w.expect(t, "policy to Existing", 1)
	w.sf.Update(m.Object, id, map[string]any{m.StripeCustomerID: "cus_other"})
	w.expect(t, "a new customer id under Existing", 1)
	if _, err := w.crm.WriteAccountSync(t.Context(), []stripesync.AccountSyncUpdate{{AccountID: id, StripeCustomerID: "cus_other", SyncedAt: at}}); err != nil {
		t.Fatal(err)
	}
	w.expect(t, "write-back under Existing", 0)
}

// TestInvoiceRuleIgnoresRollups runs the shipped Invoice__c rule in the
// emulator: creates, edits of pulled fields and the staff's status moves
// send a notice; the daemon's rollups (through its own client) do not.
func TestInvoiceRuleIgnoresRollups(t *testing.T) {
	w := newRuleWorld(t, stripesync.ObjectInvoice)
	m := crm.DefaultMapping().Invoice
	id := w.sf.Insert(m.Object, map[string]any{m.Number: "INV-1", m.Amount: "100", m.Currency: "USD", m.Status: "Draft"})
	w.expect(t, "insert", 1)
	w.sf.Update(m.Object, id, map[string]any{m.Status: "Open"})
	w.expect(t, "staff open a draft", 1)

	usd := func(cents int64) stripesync.Money { return stripesync.Money{Amount: cents, Currency: "USD"} }
	for _, u := range []stripesync.InvoiceUpdate{
		{InvoiceID: id, AmountPaid: usd(4000), BalanceDue: usd(6000), Status: stripesync.InvoicePartiallyPaid},
		{InvoiceID: id, AmountPaid: usd(10000), BalanceDue: usd(0), Status: stripesync.InvoicePaid},
		{InvoiceID: id, AmountPaid: usd(0), BalanceDue: usd(10000), Status: stripesync.InvoiceOpen}, // refunded
		{InvoiceID: id, AmountPaid: usd(0), BalanceDue: usd(10000)},
	} {
		if _, err := w.crm.UpdateInvoices(t.Context(), []stripesync.InvoiceUpdate{u}); err != nil {
			t.Fatal(err)
		}
		w.expect(t, "rollup to "+string(u.Status), 0)
	}
	w.sf.Update(m.Object, id, map[string]any{m.PaymentLink: "https://pay.example/inv-1"})
	w.expect(t, "payment link", 0)

	edits := map[string]any{m.Account: w.sf.Insert("Account", map[string]any{"Name": "Acme"}), m.Amount: "120",
		m.DueDate: "2024-06-01", m.AutoPay: true}
	for _, c := range triggerCriteria() {
		if c.object != m.Object {
			continue
		}
		for _, f := range c.fires {
			v, ok := edits[f]
			if !ok {
				v = "edited " + f
			}
			w.sf.Update(m.Object, id, map[string]any{f: v})
			w.expect(t, "edit of "+f, 1)
		}
	}
	w.sf.Update(m.Object, id, map[string]any{m.Status: "Void"})
	w.expect(t, "staff void the invoice", 1)
}
