package sync_test

import (
	"testing"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/store/storetest"
	"github.com/stripesync/stripesync/stripeclient"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
	syncer "github.com/stripesync/stripesync/sync"
)

// reconcileWorld is a world without webhooks: payments reach the ledger
// only through the pull, so a test can let Stripe move on without the
// ledger knowing.
func reconcileWorld(t *testing.T, db *store.DB) *world {
	t.Helper()
	w := &world{
		sf: crmtest.NewServer(t, crmtest.Options{ClientID: "cid", ClientSecret: "csecret", OrgID: testOrgID}),
		st: stripetest.NewServer(t, stripetest.Options{Seed: 1}),
		db: db,
	}
	w.ledger = w.db
	w.rebuild(t)
	return w
}

func (w *world) reconcile(t *testing.T, repair bool) syncer.ReconcileReport {
	t.Helper()
	b, err := stripeclient.New(stripeclient.Config{Key: "sk_test_engine", BaseURL: w.st.URL(), RatePerSecond: 5000})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := w.engine.Reconcile(t.Context(), syncer.ReconcileSources{Stripe: b, CRM: w.crm, Ledger: w.db},
		syncer.ReconcileOptions{Repair: repair})
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if rep.Run.Status != stripesync.RunSucceeded {
		t.Fatalf("reconcile run %s: %s", rep.Run.Status, rep.Run.Error)
	}
	return rep
}

// drainWriteBack runs the CRM write-back until nothing is due.
func (w *world) drainWriteBack(t *testing.T) {
	t.Helper()
	for {
		n, err := w.engine.WriteBack(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// kinds maps each drift kind found to the ids it was found on.
func kinds(rep syncer.ReconcileReport) map[syncer.DriftKind][]string {
	out := map[syncer.DriftKind][]string{}
	for _, d := range rep.Drift {
		out[d.Kind] = append(out[d.Kind], d.ID)
	}
	return out
}

func TestReconcileFindsEachPlantedDriftOnceAndRepairsWhatTheDaemonOwns(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *store.DB{
		"sqlite": storetest.OpenSQLite, "postgres": storetest.OpenPostgres,
	} {
		t.Run(name, func(t *testing.T) { testReconcile(t, open(t)) })
	}
}

func testReconcile(t *testing.T, db *store.DB) {
	w := reconcileWorld(t, db)
	ctx := t.Context()
	accts := w.seed(4, nil)
	w.push(t)
	links, err := w.db.AccountLinks(ctx, accts)
	if err != nil {
		t.Fatal(err)
	}
	cus := func(i int) string { return links[accts[i]].StripeID }
	invoice := func(acct, number string) string {
		return w.sf.Insert("Invoice__c", map[string]any{
			"Name": number, "Account__c": acct, "Amount__c": "50.00",
			"CurrencyIsoCode": "USD", "Status__c": "Open", "Due_Date__c": "2026-12-31",
		})
	}
	inv1, inv2 := invoice(accts[0], "INV-1"), invoice(accts[1], "INV-2")
	if _, err := w.engine.PullInvoices(ctx); err != nil {
		t.Fatal(err)
	}
	pay := func(invoice string, amount int64) string {
		pi, err := w.st.Pay(stripetest.PayParams{Customer: cus(0), Amount: amount, Currency: "usd",
			Metadata: map[string]string{stripesync.MetadataInvoiceID: invoice}})
		if err != nil {
			t.Fatal(err)
		}
		return pi
	}
	refunded := pay(inv1, 2000)
	pay(inv1, 1000)
	if _, err := w.engine.PullPayments(ctx, syncer.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	w.drainWriteBack(t)

	clean := w.reconcile(t, false)
	if len(clean.Drift) != 0 {
		t.Fatalf("a clean world has drift: %+v", clean.Drift)
	}
	if clean.Compared["payments"] != 2 || clean.Compared["customers"] != 4 || clean.Compared["links"] != 4 ||
		clean.Compared["invoices"] != 2 || clean.Compared["accounts"] != 4 {
		t.Errorf("compared %v, want 2 payments, 4 customers, 4 links, 2 invoices, 4 accounts", clean.Compared)
	}

	// The planted drift.
	if err := w.st.Refund(refunded, 500); err != nil { // a refund the ledger missed
		t.Fatal(err)
	}
	missing := pay(inv1, 700)                                                                      // a payment missing from the ledger
	w.sf.Update("Invoice__c", inv2, map[string]any{"Amount_Paid__c": "7.00"})                      // a wrong Amount_Paid__c
	duplicate := w.st.CreateCustomer(stripetest.Customer{Name: "Dup", Metadata: map[string]string{ // a second customer for one account
		stripesync.MetadataAccountID: accts[1]}})
	w.st.DeleteCustomer(cus(2))                                                                     // a link pointing at a deleted customer
	w.sf.Update("Account", accts[3], map[string]any{"Stripe_Customer_Id__c": "cus_typo"})           // a wrong Stripe_Customer_Id__c
	newAcct := w.seed(1, nil)[0]                                                                    // an account never pushed,
	adopted := w.st.CreateCustomer(stripetest.Customer{Name: "Orphan", Metadata: map[string]string{ // whose customer exists
		stripesync.MetadataAccountID: newAcct}})

	want := map[syncer.DriftKind][]string{
		syncer.DriftPaymentRefunded:     {refunded},
		syncer.DriftPaymentMissing:      {missing},
		syncer.DriftCRMInvoiceRollup:    {inv2},
		syncer.DriftCustomerDuplicate:   {duplicate},
		syncer.DriftCustomerUnlinked:    {adopted},
		syncer.DriftLinkCustomerMissing: {accts[2]},
		syncer.DriftCRMCustomerID:       {accts[3]},
	}
	check := func(rep syncer.ReconcileReport, want map[syncer.DriftKind][]string) {
		t.Helper()
		got := kinds(rep)
		for _, k := range syncer.DriftKinds {
			if len(got[k]) != len(want[k]) || (len(want[k]) > 0 && got[k][0] != want[k][0]) {
				t.Errorf("%s: found %v, want %v", k, got[k], want[k])
			}
		}
		if rep.Run.Failed != len(rep.Drift) || rep.Counts()[syncer.DriftCustomerDuplicate] != len(want[syncer.DriftCustomerDuplicate]) {
			t.Errorf("run log Failed = %d, drift %d, counts %v", rep.Run.Failed, len(rep.Drift), rep.Counts())
		}
	}
	found := w.reconcile(t, false)
	check(found, want)
	if found.Run.Pushed != 0 {
		t.Errorf("a run without --repair repaired %d", found.Run.Pushed)
	}

	repaired := w.reconcile(t, true)
	check(repaired, want)
	for _, d := range repaired.Drift {
		if d.Repaired == (d.Kind == syncer.DriftCustomerDuplicate) {
			t.Errorf("%s %s: repaired = %t", d.Kind, d.ID, d.Repaired)
		}
	}
	if repaired.Run.Pushed != len(want)-1 || repaired.Unrepaired() != 1 {
		t.Errorf("repair run: pushed %d, unrepaired %d; want %d and 1", repaired.Run.Pushed, repaired.Unrepaired(), len(want)-1)
	}

	after := w.reconcile(t, false)
	check(after, map[syncer.DriftKind][]string{syncer.DriftCustomerDuplicate: {duplicate}})

	// What the repair did, seen from each side.
	if p, err := w.db.Payment(ctx, refunded); err != nil || p.Refunded != 500 {
		t.Errorf("refunded payment in the ledger: %+v, %v", p, err)
	}
	if p, err := w.db.Payment(ctx, missing); err != nil || p.Amount.Amount != 700 {
		t.Errorf("missing payment in the ledger: %+v, %v", p, err)
	}
	if rec, _ := w.sf.Get("Invoice__c", inv2); rec["Amount_Paid__c"] == "7.00" {
		t.Errorf("Amount_Paid__c of %s still 7.00: %v", inv2, rec["Amount_Paid__c"])
	}
	if rec, _ := w.sf.Get("Account", accts[3]); rec["Stripe_Customer_Id__c"] != cus(3) {
		t.Errorf("Stripe_Customer_Id__c of %s = %v, want %s", accts[3], rec["Stripe_Customer_Id__c"], cus(3))
	}
	if l, err := w.db.AccountLinks(ctx, []string{newAcct, accts[2]}); err != nil ||
		l[newAcct].State != stripesync.LinkBound || l[newAcct].StripeID != adopted || l[accts[2]].State == stripesync.LinkBound {
		t.Errorf("links after repair: %+v, %v", l, err)
	}
	for _, c := range w.st.Customers() {
		if c.ID == duplicate && c.Deleted {
			t.Error("the duplicate customer was deleted")
		}
	}
	runs, err := w.db.Runs(ctx, "reconcile", 10)
	if err != nil || len(runs) != 4 {
		t.Fatalf("reconcile runs: %d, %v", len(runs), err)
	}
	if runs[0].Failed != 1 || runs[1].Failed != len(want) || runs[1].Pushed != len(want)-1 || runs[0].Status != stripesync.RunSucceeded {
		t.Errorf("run log (newest first): %+v", runs[:2])
	}
}

func TestReconcileReportsACustomerTwoLinksNameOnceAndLeavesIt(t *testing.T) {
	w := reconcileWorld(t, storetest.OpenSQLite(t))
	accts := w.seed(2, nil)
	w.push(t)
	links, err := w.db.AccountLinks(t.Context(), accts)
	if err != nil {
		t.Fatal(err)
	}
	// The second account's link is pointed at the first account's customer.
	second := links[accts[1]]
	own := second.StripeID
	second.StripeID = links[accts[0]].StripeID
	if err := w.db.SaveAccountLink(t.Context(), second); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got := kinds(w.reconcile(t, true))
		if ids := got[syncer.DriftCustomerLinkedTwice]; len(ids) != 1 || ids[0] != second.StripeID {
			t.Errorf("customer_linked_twice: %v, want once, on %s", ids, second.StripeID)
		}
		// The second account's own customer now looks like a duplicate:
		// reported, never deleted.
		if ids := got[syncer.DriftCustomerDuplicate]; len(ids) != 1 || ids[0] != own {
			t.Errorf("customer_duplicate: %v, want %s", ids, own)
		}
		// Nor is the disputed link written to the CRM.
		if ids := got[syncer.DriftCRMCustomerID]; len(ids) != 1 || ids[0] != accts[1] {
			t.Errorf("crm_customer_id: %v, want %s", ids, accts[1])
		}
	}
	if l, _ := w.db.AccountLinks(t.Context(), accts[1:]); l[accts[1]].StripeID != second.StripeID {
		t.Errorf("repair changed the link a person must decide on: %+v", l[accts[1]])
	}
	if rec, _ := w.sf.Get("Account", accts[1]); rec["Stripe_Customer_Id__c"] != own {
		t.Errorf("Stripe_Customer_Id__c of %s = %v, want %s kept", accts[1], rec["Stripe_Customer_Id__c"], own)
	}
	if n := len(w.st.Customers()); n != 2 {
		t.Errorf("%d customers in Stripe, want both kept", n)
	}
}

func TestReconcileReportsAPaymentRecordTheLedgerLacksAndKeepsIt(t *testing.T) {
	w := reconcileWorld(t, storetest.OpenSQLite(t))
	ctx := t.Context()
	accts := w.seed(1, nil)
	w.push(t)
	links, err := w.db.AccountLinks(ctx, accts)
	if err != nil {
		t.Fatal(err)
	}
	inv := w.sf.Insert("Invoice__c", map[string]any{"Name": "INV-1", "Account__c": accts[0], "Amount__c": "50.00",
		"CurrencyIsoCode": "USD", "Status__c": "Open", "Due_Date__c": "2026-12-31"})
	if _, err := w.engine.PullInvoices(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.Pay(stripetest.PayParams{Customer: links[accts[0]].StripeID, Amount: 2000, Currency: "usd",
		Metadata: map[string]string{stripesync.MetadataInvoiceID: inv}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.engine.PullPayments(ctx, syncer.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	w.drainWriteBack(t)
	if clean := w.reconcile(t, false); len(clean.Drift) != 0 || clean.Compared["payment_records"] != 1 {
		t.Fatalf("a clean world: drift %+v, compared %v (want 1 payment record)", clean.Drift, clean.Compared)
	}

	// A Payment__c naming a PaymentIntent neither Stripe nor the ledger
	// holds (made by hand, or copied from another org), and a deleted one.
	orphan := w.sf.Insert("Payment__c", map[string]any{"Stripe_Payment_Id__c": "pi_madeByHand", "Invoice__c": inv,
		"Account__c": accts[0], "Amount__c": "5.00", "Status__c": "Succeeded"})
	deleted := w.sf.Insert("Payment__c", map[string]any{"Stripe_Payment_Id__c": "pi_deletedRecord", "Invoice__c": inv,
		"Account__c": accts[0], "Amount__c": "5.00", "Status__c": "Succeeded"})
	w.sf.Delete("Payment__c", deleted)
	for _, repair := range []bool{false, true, false} {
		rep := w.reconcile(t, repair)
		if len(rep.Drift) != 1 || rep.Drift[0].Kind != syncer.DriftCRMPaymentUnknown || rep.Drift[0].ID != "pi_madeByHand" || rep.Drift[0].Repaired {
			t.Errorf("repair=%t: drift %+v, want pi_madeByHand once as crm_payment_unknown, not repaired", repair, rep.Drift)
		}
	}
	if _, ok := w.sf.Get("Payment__c", orphan); !ok {
		t.Errorf("reconcile deleted the Payment__c %s", orphan)
	}
}
