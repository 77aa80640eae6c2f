package sync_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm"
	"github.com/stripesync/stripesync/crm/crmtest"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/salesforce"
)

const (
	testTriggerWindow = 20 * time.Millisecond
	testOrgID         = "00D000000000001EAA"
	testTriggerSecret = "trigger-secret-0123456789"
)

// triggerWorld is a world whose CRM emulator sends Outbound Messages to
// the daemon's listener, as a workflow rule on Account would.
type triggerWorld struct {
	*world
	web      *httptest.Server
	outbound *crmtest.Outbound
	stop     func() // stops the workers
	ids      []string
}

func newTriggerWorld(t testing.TB, accounts int, ob crmtest.OutboundConfig) *triggerWorld {
	t.Helper()
	w := &triggerWorld{world: newWorld(t)}
	w.triggers = w.db.WithTriggerWindow(testTriggerWindow)
	w.rebuild(t)
	w.ids = w.seed(accounts, nil)
	w.push(t)

	w.web = httptest.NewServer(httpapi.NewServer(httpapi.Config{Triggers: &httpapi.TriggerConfig{
		Secret:   testTriggerSecret,
		OrgID:    testOrgID,
		Objects:  map[string]bool{stripesync.ObjectAccount: true, stripesync.ObjectInvoice: true},
		Outbound: crm.OutboundCodec{},
		Accept:   w.triggers.AcceptTriggers,
		Accepted: func() { w.engine.NotifyTriggers() },
	}}))
	t.Cleanup(w.web.Close)
	w.startWorkers()
	t.Cleanup(func() { w.stop() })

	ob.URL = w.web.URL + "/salesforce/outbound/" + testTriggerSecret
	ob.Object = stripesync.ObjectAccount
	if ob.RetryBase == 0 {
		ob.RetryBase = 10 * time.Millisecond
	}
	w.outbound = w.sf.AddOutbound(ob)
	return w
}

func (w *triggerWorld) startWorkers() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	engine := w.engine
	go func() {
		defer close(done)
		_ = engine.RunWorkers(ctx)
	}()
	w.stop = func() { cancel(); <-done }
}

func (w *triggerWorld) customerName(t testing.TB, crmID string) string {
	t.Helper()
	c := w.st.CustomersWithMetadata(stripesync.MetadataAccountID, crmID)
	if len(c) != 1 {
		t.Fatalf("account %s has %d customers", crmID, len(c))
	}
	return c[0].Name
}

// customerUpdates counts the Stripe customer updates made since the last
// ResetRequests.
func (w *triggerWorld) customerUpdates() int {
	n := 0
	for _, r := range w.st.Requests() {
		if r.Method == "POST" && strings.HasPrefix(r.Path, "/v1/customers/cus_") {
			n++
		}
	}
	return n
}

func TestOutboundMessagePushesTheEditedAccount(t *testing.T) {
	w := newTriggerWorld(t, 3, crmtest.OutboundConfig{OnWrite: true})
	w.st.ResetRequests()
	w.sf.Update("Account", w.ids[1], map[string]any{"Name": "Edited In Salesforce"})
	eventually(t, "the Stripe customer renamed", func() bool { return w.customerName(t, w.ids[1]) == "Edited In Salesforce" })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := w.outbound.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := w.customerUpdates(); n != 1 {
		t.Errorf("%d Stripe updates for one edit, want 1", n)
	}
	if w.customerName(t, w.ids[0]) != "Account 0000" {
		t.Error("an account nobody edited changed")
	}
}

func TestRepeatedOutboundMessageMakesOneStripeUpdate(t *testing.T) {
	w := newTriggerWorld(t, 2, crmtest.OutboundConfig{Duplicate: 4})
	w.sf.Update("Account", w.ids[0], map[string]any{"Name": "Renamed Once"})
	w.st.ResetRequests()
	w.outbound.Notify(w.ids[0])
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := w.outbound.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the rename in Stripe", func() bool { return w.customerName(t, w.ids[0]) == "Renamed Once" })
	time.Sleep(200 * time.Millisecond)
	if sent := w.outbound.Stats().Sent; sent < 5 {
		t.Fatalf("the emulator sent %d messages, want the message 5 times", sent)
	}
	if n := w.customerUpdates(); n != 1 {
		t.Errorf("the same message delivered 5 times made %d Stripe updates, want exactly 1", n)
	}
}

func TestReorderedOutboundMessagesEndAtTheNewestState(t *testing.T) {
	w := newTriggerWorld(t, 1, crmtest.OutboundConfig{Reorder: true, BatchMax: 1})
	for i := range 6 {
		w.sf.Update("Account", w.ids[0], map[string]any{"Name": "Version " + string(rune('A'+i))})
		w.outbound.Notify(w.ids[0])
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := w.outbound.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Stripe at the newest CRM state", func() bool { return w.customerName(t, w.ids[0]) == "Version F" })
	time.Sleep(200 * time.Millisecond)
	if got := w.customerName(t, w.ids[0]); got != "Version F" {
		t.Errorf("after shuffled messages Stripe shows %q, want the newest CRM name", got)
	}
}

func TestAcknowledgedTriggerSurvivesARestart(t *testing.T) {
	w := newTriggerWorld(t, 1, crmtest.OutboundConfig{})
	// The daemon dies right after acknowledging: its workers never run.
	w.stop()
	w.sf.Update("Account", w.ids[0], map[string]any{"Name": "Acked Before The Crash"})
	w.outbound.Notify(w.ids[0])
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := w.outbound.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if st := w.outbound.Stats(); st.Acked == 0 {
		t.Fatalf("the message was not acknowledged: %+v", st)
	}
	time.Sleep(100 * time.Millisecond)
	if w.customerName(t, w.ids[0]) == "Acked Before The Crash" {
		t.Fatal("pushed without workers; the test proves nothing")
	}

	// Restart: a new engine over the same database picks the trigger up.
	w.rebuild(t)
	w.startWorkers()
	w.engine.NotifyTriggers()
	eventually(t, "the acknowledged trigger pushed after the restart", func() bool {
		return w.customerName(t, w.ids[0]) == "Acked Before The Crash"
	})
}

func TestOutboundMessageForAnIgnoredAccountTouchesNothing(t *testing.T) {
	w := newTriggerWorld(t, 1, crmtest.OutboundConfig{OnWrite: true})
	ignored := w.seed(1, map[string]any{"Stripe_Mapping__c": "Ignore"})[0]
	w.push(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := w.outbound.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	w.st.ResetRequests()
	acked := w.outbound.Stats().Acked
	w.sf.Update("Account", ignored, map[string]any{"Name": "Still Ignored"})
	if err := w.outbound.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if w.outbound.Stats().Acked == acked {
		t.Fatal("the edit sent no Outbound Message; the test proves nothing")
	}
	// An edit of a Create account in the same world reaches Stripe within
	// tens of milliseconds (TestOutboundMessagePushesTheEditedAccount), so
	// this wait covers the coalescing window and the push many times over.
	time.Sleep(300 * time.Millisecond)
	if n := len(w.st.Requests()); n != 0 {
		t.Errorf("an edit of an Ignore account made %d Stripe calls, want 0", n)
	}
	if c := w.st.CustomersWithMetadata(stripesync.MetadataAccountID, ignored); len(c) != 0 {
		t.Errorf("the Ignore account has customers: %+v", c)
	}
}

// TestWriteBacksDoNotComeBackAsTriggers runs the shipped Account workflow
// rule in the emulator against the real listener and engine: the
// write-backs that follow each push (customer id, sync time) send no
// Outbound Message and cost no CRM read, while an edit of a pushed field
// sends exactly one and reaches Stripe.
func TestWriteBacksDoNotComeBackAsTriggers(t *testing.T) {
	wf, err := salesforce.ReadWorkflow(stripesync.ObjectAccount)
	if err != nil {
		t.Fatal(err)
	}
	// One notification per message, so that Acked counts notifications.
	w := newTriggerWorld(t, 0, crmtest.OutboundConfig{OnWrite: true, Criteria: wf.Rules[0].Formula,
		Fields: wf.OutboundMessages[0].Fields, BatchMax: 1})
	syncedAt := func(id string) any {
		rec, _ := w.sf.Get("Account", id)
		return rec["Stripe_Synced_At__c"]
	}
	// settle waits until the notices queued so far were delivered and any
	// trigger they (or a write-back's echo) caused was processed.
	settle := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		for range 2 {
			if err := w.outbound.WaitIdle(ctx); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // the coalescing window and a push, many times over
		}
	}

	reads := w.sf.Calls().QueryAll
	ids := w.seed(5, nil)
	eventually(t, "the new accounts pushed and written back", func() bool {
		for _, id := range ids {
			if syncedAt(id) == nil {
				return false
			}
		}
		return true
	})
	settle()
	w.assertOneCustomerEach(t, ids)
	if acked := w.outbound.Stats().Acked; acked != len(ids) {
		t.Errorf("%d Outbound Messages for %d creates, want %d: the write-backs came back as triggers", acked, len(ids), len(ids))
	}
	if n := w.sf.Calls().QueryAll - reads; n != int64(len(ids)) {
		t.Errorf("trigger processing read the CRM %d times for %d creates, want %d", n, len(ids), len(ids))
	}

	w.st.ResetRequests()
	reads, acked, before := w.sf.Calls().QueryAll, w.outbound.Stats().Acked, syncedAt(ids[2])
	w.sf.Update("Account", ids[2], map[string]any{"Name": "Renamed In Salesforce"})
	eventually(t, "the rename in Stripe and its write-back", func() bool {
		return w.customerName(t, ids[2]) == "Renamed In Salesforce" && syncedAt(ids[2]) != before
	})
	settle()
	if n := w.outbound.Stats().Acked - acked; n != 1 {
		t.Errorf("%d Outbound Messages for one rename, want 1", n)
	}
	if n := w.customerUpdates(); n != 1 {
		t.Errorf("%d Stripe updates for one rename, want 1", n)
	}
	if n := w.sf.Calls().QueryAll - reads; n != 1 {
		t.Errorf("trigger processing read the CRM %d times for one rename, want 1", n)
	}
}
