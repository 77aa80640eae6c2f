package sync_test

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm"
	"github.com/stripesync/stripesync/crm/crmtest"
	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/store/storetest"
	"github.com/stripesync/stripesync/stripeclient"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
	syncer "github.com/stripesync/stripesync/sync"
)

// world is one engine wired to real emulators over HTTP and a real SQLite
// ledger.
type world struct {
	sf     *crmtest.Server
	st     *stripetest.Server
	db     *store.DB
	ledger stripesync.Ledger // db, or a wrapper of it
	crm    *crm.Client
	engine *syncer.Engine
	// receipts, when set before rebuild, mails receipts.
	receipts syncer.ReceiptSender
	// triggers, when set before rebuild, is the trigger inbox.
	triggers *store.DB
	// tune, when set before rebuild, adjusts the engine's configuration.
	tune func(*syncer.Config)
	// stripeURL, when set before rebuild, is where the engine reaches
	// Stripe instead of the emulator: a test's proxy (see frontStripe).
	stripeURL string
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{
		sf: crmtest.NewServer(t, crmtest.Options{ClientID: "cid", ClientSecret: "csecret", OrgID: testOrgID}),
		st: stripetest.NewServer(t, stripetest.Options{Seed: 1}),
		db: storetest.OpenSQLite(t),
	}
	w.ledger = w.db
	w.rebuild(t)
	return w
}

// rebuild makes a fresh engine and fresh adapters, as a restarted process
// would have.
func (w *world) rebuild(t testing.TB) {
	t.Helper()
	c, err := crm.New(crm.Config{LoginURL: w.sf.URL(), ClientID: "cid", ClientSecret: "csecret"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := stripeclient.New(stripeclient.Config{Key: "sk_test_engine", BaseURL: cmp.Or(w.stripeURL, w.st.URL()), RatePerSecond: 5000})
	if err != nil {
		t.Fatal(err)
	}
	w.crm = c
	cfg := syncer.Config{
		// The engine's log goes to the test's output: shown with -v, and
		// beside the failure when a test fails.
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		CRM:    c, Billing: b, Ledger: w.ledger, Payments: w.db, Queue: w.db, Receipts: w.receipts,
		Business: stripesync.Business{Name: "Seller Supplies Inc.", Address: []string{"1 Harbor Way", "Oakland, CA 94607"}},
	}
	if w.triggers != nil {
		cfg.Triggers = w.triggers
		cfg.TriggerWindow = testTriggerWindow
	}
	if w.tune != nil {
		w.tune(&cfg)
	}
	w.engine, err = syncer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
}

// frontStripe starts a proxy in front of the emulator that answers the
// paths in override itself, as a gateway or a backend lacking an endpoint
// would, and forwards every other request. It returns the proxy's URL, for
// world.stripeURL.
func frontStripe(t testing.TB, st *stripetest.Server, override map[string]http.HandlerFunc) string {
	t.Helper()
	target, err := url.Parse(st.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := override[r.URL.Path]; ok {
			h(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (w *world) push(t testing.TB) stripesync.SyncRun {
	t.Helper()
	run, err := w.engine.PushAccounts(t.Context(), syncer.PushOptions{})
	if err != nil {
		t.Fatalf("PushAccounts: %v", err)
	}
	return run
}

// seed inserts n accounts with the Create policy and returns their ids.
func (w *world) seed(n int, extra map[string]any) []string {
	ids := make([]string, n)
	for i := range n {
		f := map[string]any{
			"Name":              fmt.Sprintf("Account %04d", i),
			"Billing_Email__c":  fmt.Sprintf("billing%04d@example.test", i),
			"Phone":             "+1 555 0100",
			"BillingStreet":     fmt.Sprintf("%d Main St", i),
			"BillingCity":       "Springfield",
			"BillingState":      "IL",
			"BillingPostalCode": "62701",
			"BillingCountry":    "US",
			"CurrencyIsoCode":   "USD",
		}
		for k, v := range extra {
			f[k] = v
		}
		ids[i] = w.sf.Insert("Account", f)
	}
	return ids
}

// assertOneCustomerEach checks the invariant: every account has exactly one
// live customer carrying its id in metadata, the ledger links to it, and the
// CRM shows its id and no error.
func (w *world) assertOneCustomerEach(t testing.TB, ids []string) {
	t.Helper()
	links, err := w.db.AccountLinks(t.Context(), ids)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, id := range ids {
		custs := w.st.CustomersWithMetadata(stripesync.MetadataAccountID, id)
		link := links[id]
		rec, _ := w.sf.Get("Account", id)
		switch {
		case len(custs) != 1:
			t.Errorf("account %s has %d customers, want 1", id, len(custs))
		case link.State != stripesync.LinkBound || link.StripeID != custs[0].ID:
			t.Errorf("account %s: link %+v, want bound to %s", id, link, custs[0].ID)
		case rec["Stripe_Customer_Id__c"] != custs[0].ID:
			t.Errorf("account %s: CRM Stripe_Customer_Id__c = %v, want %s", id, rec["Stripe_Customer_Id__c"], custs[0].ID)
		case rec["Stripe_Sync_Error__c"] != nil && rec["Stripe_Sync_Error__c"] != "":
			t.Errorf("account %s: CRM Stripe_Sync_Error__c = %v, want empty", id, rec["Stripe_Sync_Error__c"])
		default:
			continue
		}
		if bad++; bad > 5 {
			t.Fatal("too many broken accounts; stopping")
		}
	}
}

func TestPushCreatesOnceThenSkipsThenUpdatesOnlyChanged(t *testing.T) {
	w := newWorld(t)
	ids := w.seed(500, nil)

	run := w.push(t)
	if run.Status != stripesync.RunSucceeded || run.Seen != 500 || run.Pushed != 500 || run.Failed != 0 {
		t.Fatalf("first run = %+v, want 500 seen and pushed, succeeded", run)
	}
	if got := len(w.st.Customers()); got != 500 {
		t.Fatalf("Stripe has %d customers, want exactly 500", got)
	}
	w.assertOneCustomerEach(t, ids)
	c := w.st.CustomersWithMetadata(stripesync.MetadataAccountID, ids[7])[0]
	if c.Name != "Account 0007" || c.Email != "billing0007@example.test" || c.Address.City != "Springfield" {
		t.Errorf("customer of account 7 = %+v, want the CRM's fields", c)
	}

	w.st.ResetRequests()
	run = w.push(t)
	if got := len(w.st.Requests()); got != 0 {
		t.Fatalf("second run made %d Stripe calls, want 0", got)
	}
	if run.Pushed != 0 || run.Failed != 0 {
		t.Errorf("second run = %+v, want nothing pushed", run)
	}

	for _, id := range ids[100:105] {
		w.sf.Update("Account", id, map[string]any{"Name": "Renamed " + id})
	}
	w.st.ResetRequests()
	run = w.push(t)
	reqs := w.st.Requests()
	if len(reqs) != 5 || run.Pushed != 5 {
		t.Fatalf("after 5 edits: %d Stripe calls and %d pushed, want 5 and 5", len(reqs), run.Pushed)
	}
	for _, r := range reqs {
		if r.Method != "POST" || !strings.HasPrefix(r.Path, "/v1/customers/cus_") {
			t.Errorf("unexpected request %s %s, want a customer update", r.Method, r.Path)
		}
	}
	for _, id := range ids[100:105] {
		if got := w.st.CustomersWithMetadata(stripesync.MetadataAccountID, id)[0].Name; got != "Renamed "+id {
			t.Errorf("customer of %s has name %q after the edit", id, got)
		}
	}
	if got := len(w.st.Customers()); got != 500 {
		t.Errorf("Stripe has %d customers after updates, want 500", got)
	}
}

func TestPushExistingPolicy(t *testing.T) {
	w := newWorld(t)
	w.tune = func(c *syncer.Config) { c.Failures = &syncer.FailureConfig{Inbox: w.db} }
	w.rebuild(t)
	known := w.st.CreateCustomer(stripetest.Customer{Name: "Pre-existing"})
	good := w.seed(1, map[string]any{"Stripe_Mapping__c": "Existing", "Stripe_Customer_Id__c": known})[0]
	bad := w.seed(1, map[string]any{"Stripe_Mapping__c": "Existing", "Stripe_Customer_Id__c": "cus_doesnotexist"})[0]
	others := w.seed(10, nil)

	run := w.push(t)
	if run.Failed != 1 || run.Pushed != 11 || run.Status != stripesync.RunPartial {
		t.Fatalf("run = %+v, want 11 pushed, 1 failed, partial", run)
	}
	links, err := w.db.AccountLinks(t.Context(), []string{good, bad})
	if err != nil {
		t.Fatal(err)
	}
	if l := links[good]; l.State != stripesync.LinkBound || l.StripeID != known {
		t.Errorf("Existing account link = %+v, want bound to %s", l, known)
	}
	if l := links[bad]; !strings.Contains(l.LastError, "cus_doesnotexist") {
		t.Errorf("unknown Existing id: ledger error %q, want it named", l.LastError)
	}
	rec, _ := w.sf.Get("Account", bad)
	if msg, _ := rec["Stripe_Sync_Error__c"].(string); !strings.Contains(msg, "cus_doesnotexist") {
		t.Errorf("unknown Existing id: CRM Stripe_Sync_Error__c = %q, want it named", msg)
	}
	if got := len(w.st.Customers()); got != 11 {
		t.Errorf("Stripe has %d customers, want 11 (1 existing + 10 created)", got)
	}
	// The account waits for a person in the failure inbox.
	if f, err := w.db.FailureByKey(t.Context(), "customer:"+bad); err != nil || f.Source != stripesync.FailureCustomer ||
		f.Code != "customer_missing" || f.AccountID != bad || !strings.Contains(f.Message, "cus_doesnotexist") {
		t.Errorf("the failure inbox holds %+v, %v; want the missing customer", f, err)
	}
	w.assertOneCustomerEach(t, others)

	// The failure is permanent until the CRM record changes: the cursor
	// moved past it and the next run costs nothing.
	w.st.ResetRequests()
	w.push(t)
	if got := len(w.st.Requests()); got != 0 {
		t.Errorf("rerun made %d Stripe calls, want 0", got)
	}
	// Fixing the id in the CRM brings it back and clears the error.
	second := w.st.CreateCustomer(stripetest.Customer{Name: "Second pre-existing"})
	w.sf.Update("Account", bad, map[string]any{"Stripe_Customer_Id__c": second})
	run = w.push(t)
	if run.Failed != 0 || run.Pushed != 1 {
		t.Errorf("after the fix: %+v, want 1 pushed", run)
	}
	rec, _ = w.sf.Get("Account", bad)
	if rec["Stripe_Sync_Error__c"] != nil && rec["Stripe_Sync_Error__c"] != "" {
		t.Errorf("error not cleared in the CRM: %v", rec["Stripe_Sync_Error__c"])
	}
}

func TestPushIgnoreAndDelete(t *testing.T) {
	w := newWorld(t)
	ignored := w.seed(3, map[string]any{"Stripe_Mapping__c": "Ignore"})
	kept := w.seed(3, nil)
	w.push(t)
	if got := len(w.st.Customers()); got != 3 {
		t.Fatalf("Stripe has %d customers, want 3 (Ignore accounts untouched)", got)
	}
	for _, id := range ignored {
		if n := len(w.st.CustomersWithMetadata(stripesync.MetadataAccountID, id)); n != 0 {
			t.Errorf("ignored account %s got %d customers", id, n)
		}
	}

	w.sf.Delete("Account", kept[0])
	w.st.ResetRequests()
	w.push(t)
	if got := len(w.st.Requests()); got != 0 {
		t.Errorf("a deleted account cost %d Stripe calls, want 0", got)
	}
	links, err := w.db.AccountLinks(t.Context(), kept[:1])
	if err != nil {
		t.Fatal(err)
	}
	if l := links[kept[0]]; l.State != stripesync.LinkUnbound || l.StripeID == "" {
		t.Errorf("deleted account link = %+v, want unbound, customer id kept", l)
	}
	c := w.st.CustomersWithMetadata(stripesync.MetadataAccountID, kept[0])
	if len(c) != 1 || c[0].Deleted {
		t.Errorf("the deleted account's customer = %+v, want it alive in Stripe", c)
	}
}

// crashingLedger simulates a process killed between the Stripe create and
// the ledger commit: the save that would record the binding of the chosen
// accounts never happens, and the push of those accounts ends there.
type crashingLedger struct {
	stripesync.Ledger
	crashOn map[string]bool
}

func (l crashingLedger) SaveAccountLink(ctx context.Context, link stripesync.AccountLink) error {
	if link.State == stripesync.LinkBound && l.crashOn[link.CRMID] {
		return stripesync.Errorf(stripesync.EUNAVAILABLE, "process killed")
	}
	return l.Ledger.SaveAccountLink(ctx, link)
}

func TestPushSurvivesLostResponsesServerErrorsAndCrashes(t *testing.T) {
	w := newWorld(t)
	ids := w.seed(300, nil)
	crash := map[string]bool{}
	for _, id := range ids[:20] {
		crash[id] = true
	}
	w.ledger = crashingLedger{Ledger: w.db, crashOn: crash}
	w.rebuild(t)
	w.st.SetFaults(stripetest.Faults{Rate500: 0.10, RateLostResponse: 0.10, WritesOnly: true})

	run := w.push(t)
	if run.Failed == 0 {
		t.Fatalf("first run = %+v; with faults and crashes some accounts must fail", run)
	}
	t.Logf("faulty run: %+v", run)

	// Restart without the crash, faults still on, until a run is clean.
	w.ledger = w.db
	w.rebuild(t)
	for i := 0; run.Failed > 0; i++ {
		if i == 10 {
			bad, _ := w.db.AccountLinks(t.Context(), ids)
			for id, l := range bad {
				if l.LastError != "" || l.State != stripesync.LinkBound {
					t.Logf("%s: %+v", id, l)
				}
			}
			t.Fatalf("still failing after 10 reruns: %+v", run)
		}
		run = w.push(t)
	}
	w.st.SetFaults(stripetest.Faults{})
	w.assertOneCustomerEach(t, ids)
	if got := len(w.st.Customers()); got != 300 {
		t.Errorf("Stripe has %d customers, want exactly 300", got)
	}
}

// TestPendingCreateSurvivesASearchThatAnswers404 recovers a create whose
// outcome was lost while Stripe's search answers 404, as a backend without
// the Search API does: bare, or by reading "search" as a customer id. That
// says nothing about the account, so the link stays pending and a later
// run, with search back, adopts the one customer the create made.
func TestPendingCreateSurvivesASearchThatAnswers404(t *testing.T) {
	noSuchCustomerSearch := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"id","message":"No such customer: 'search'"}}`)
	}
	for name, search := range map[string]http.HandlerFunc{
		"bare 404":                 http.NotFound,
		"No such customer: search": noSuchCustomerSearch,
	} {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t)
			ids := w.seed(3, nil)
			lost := ids[1]
			w.ledger = crashingLedger{Ledger: w.db, crashOn: map[string]bool{lost: true}}
			w.rebuild(t)
			w.push(t)
			if n := len(w.st.CustomersWithMetadata(stripesync.MetadataAccountID, lost)); n != 1 {
				t.Fatalf("the crashed create left %d customers, want 1", n)
			}

			w.ledger = w.db
			w.stripeURL = frontStripe(t, w.st, map[string]http.HandlerFunc{"/v1/customers/search": search})
			w.rebuild(t)
			for range 2 {
				run := w.push(t)
				if run.Failed != 1 {
					t.Errorf("run while search answers 404 = %+v, want the pending account failed", run)
				}
				links, err := w.db.AccountLinks(t.Context(), []string{lost})
				if err != nil {
					t.Fatal(err)
				}
				if l := links[lost]; l.State != stripesync.LinkPending || !strings.Contains(l.LastError, "search customers") {
					t.Errorf("link after a 404 from search = %+v, want pending with the search named", l)
				}
			}

			w.stripeURL = ""
			w.rebuild(t)
			if run := w.push(t); run.Status != stripesync.RunSucceeded || run.Pushed != 1 {
				t.Errorf("run with search back = %+v, want the pending account pushed", run)
			}
			w.assertOneCustomerEach(t, ids)
			if got := len(w.st.Customers()); got != 3 {
				t.Errorf("Stripe has %d customers, want 3", got)
			}
		})
	}
}

func TestPushReauthenticatesWhenSessionExpires(t *testing.T) {
	w := newWorld(t)
	ids := w.seed(50, nil)
	w.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultSessionExpired, Times: 1, After: 1})
	run := w.push(t)
	if run.Status != stripesync.RunSucceeded || run.Pushed != 50 {
		t.Fatalf("run = %+v, want all 50 pushed despite the expired session", run)
	}
	if got := w.sf.Calls().Token; got != 2 {
		t.Errorf("token endpoint called %d times, want 2 (login and one re-login)", got)
	}
	w.assertOneCustomerEach(t, ids)
}

func TestPushStopsCleanlyAtTheAPILimit(t *testing.T) {
	w := newWorld(t)
	ids := w.seed(1200, nil)
	// Let the first query page and the first write-back through, then
	// refuse everything: the second batch's write-back fails.
	w.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultRequestLimit, After: 3})
	run := w.push(t)
	if run.Status != stripesync.RunFailed || !strings.Contains(run.Error, "Limit") {
		t.Fatalf("run = %+v, want failed with the limit named", run)
	}
	runs, err := w.db.Runs(t.Context(), "accounts", 1)
	if err != nil || len(runs) != 1 || runs[0].Status != stripesync.RunFailed || runs[0].Error == "" {
		t.Fatalf("run log = %+v, %v; want the failed run recorded with its error", runs, err)
	}
	cursor, err := w.db.Cursor(t.Context(), "accounts")
	if err != nil {
		t.Fatal(err)
	}
	// Every account at or before the cursor must be fully handled.
	links, err := w.db.AccountLinks(t.Context(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		rec, _ := w.sf.Get("Account", id)
		if links[id].State == stripesync.LinkBound && rec["Stripe_Customer_Id__c"] == links[id].StripeID {
			continue
		}
		stamp, _ := time.Parse("2006-01-02T15:04:05.000-0700", fmt.Sprint(rec["SystemModstamp"]))
		if !stamp.IsZero() && stamp.Before(cursor) {
			t.Fatalf("cursor %v moved past unhandled account %s (modstamp %v)", cursor, id, stamp)
		}
	}

	w.sf.ClearFaults()
	for range 2 {
		run = w.push(t)
	}
	if run.Status != stripesync.RunSucceeded {
		t.Fatalf("after the limit lifted: %+v", run)
	}
	w.assertOneCustomerEach(t, ids)
}

func TestPushAdoptsCustomerWhenLedgerIsLost(t *testing.T) {
	w := newWorld(t)
	ids := w.seed(20, nil)
	w.push(t)

	// A new, empty ledger: the CRM still names each customer, whose
	// metadata proves it is ours, so nothing is created again.
	w.db = storetest.OpenSQLite(t)
	w.ledger = w.db
	w.rebuild(t)
	run := w.push(t)
	if run.Failed != 0 {
		t.Fatalf("run = %+v", run)
	}
	if got := len(w.st.Customers()); got != 20 {
		t.Errorf("Stripe has %d customers, want 20 (adopted, not recreated)", got)
	}
	w.assertOneCustomerEach(t, ids)
}

func TestPushHonoursCancellation(t *testing.T) {
	w := newWorld(t)
	w.seed(50, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	run, err := w.engine.PushAccounts(ctx, syncer.PushOptions{})
	if err == nil && run.Status != stripesync.RunFailed {
		t.Errorf("cancelled push: run %+v, err %v; want an error or a failed run", run, err)
	}
	if c, _ := w.db.Cursor(t.Context(), "accounts"); !c.IsZero() {
		t.Errorf("cancelled run moved the cursor to %v", c)
	}
	if n := len(w.st.Customers()); n != 0 {
		t.Errorf("cancelled run created %d customers", n)
	}
}
