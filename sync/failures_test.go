package sync_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
	"github.com/stripesync/stripesync/receipts"
	"github.com/stripesync/stripesync/receipts/smtptest"
	"github.com/stripesync/stripesync/store/storetest"
	syncer "github.com/stripesync/stripesync/sync"
)

// digestWorld is an engine with the failure inbox on, mailing its digest
// to ops through a real SMTP server, on a manual clock.
type digestWorld struct {
	*world
	clock  *storetest.Clock
	mail   *smtptest.Server
	counts map[string]int // source/code → counted
}

func newDigestWorld(t *testing.T) *digestWorld {
	t.Helper()
	w := &digestWorld{world: newWorld(t), clock: storetest.NewClock(time.Now()), counts: map[string]int{}}
	w.db = w.db.WithClock(w.clock.Now)
	w.ledger = w.db
	w.mail = smtptest.NewServer(t, smtptest.Options{})
	mailer, err := receipts.NewMailer(receipts.MailConfig{URL: w.mail.URL(), From: "stripesync@seller.test"})
	if err != nil {
		t.Fatal(err)
	}
	w.tune = func(c *syncer.Config) {
		c.Now = w.clock.Now
		c.Failures = &syncer.FailureConfig{
			Inbox: w.db, Notifier: receipts.Sender{Mailer: mailer}, OpsEmail: "ops@seller.test",
			ConsoleURL: "https://pay.seller.test",
			Counted:    func(s stripesync.FailureSource, code string) { w.counts[string(s)+"/"+code]++ },
		}
	}
	w.rebuild(t)
	return w
}

// digest runs the digest step until it has nothing due, and returns how
// many steps handled a job.
func (w *digestWorld) digest(t *testing.T) int {
	t.Helper()
	steps := 0
	for {
		n, err := w.engine.SendFailureDigest(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return steps
		}
		steps++
	}
}

// TestFailureDigestStorm records 200 failures within ten seconds: ops get
// one message within a minute of the first, listing every one of them,
// each counted once; a failure after the digest comes in the next one.
func TestFailureDigestStorm(t *testing.T) {
	w := newDigestWorld(t)
	ctx := t.Context()
	for i := range 200 {
		_, err := w.engine.RecordFailure(ctx, stripesync.Failure{
			Key: fmt.Sprintf("payment:pi_storm_%03d", i), Source: stripesync.FailurePayPage,
			InvoiceID: "a0B1", Amount: stripesync.Money{Amount: 1000, Currency: "USD"}, Code: "insufficient_funds",
			Message: "Your card has insufficient funds.",
		})
		if err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(50 * time.Millisecond)
	}
	if steps := w.digest(t); steps != 0 {
		t.Errorf("a digest ran before it was due (%d steps)", steps)
	}
	w.clock.Advance(30 * time.Second) // 40 s after the first failure
	if steps := w.digest(t); steps != 1 {
		t.Errorf("%d digests ran when one was due", steps)
	}
	msgs := w.mail.Messages()
	if len(msgs) != 1 {
		t.Fatalf("ops got %d messages for the storm, want 1", len(msgs))
	}
	m := msgs[0]
	if m.To[0] != "ops@seller.test" || m.Subject != "stripesync: 200 payment failures" {
		t.Errorf("message to %v: %q", m.To, m.Subject)
	}
	for _, want := range []string{"#1  pay page, 10.00 USD, insufficient_funds (open)", "#200 ",
		"Next: " + stripesync.NextStepFor("insufficient_funds"), "https://pay.seller.test/staff/invoices/a0B1"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the digest does not say %q", want)
		}
	}
	if w.counts["pay page/insufficient_funds"] != 200 {
		t.Errorf("counted %v, want 200 pay page/insufficient_funds", w.counts)
	}

	// Seen again, the same failures are not mailed again; a new one is,
	// in the next digest.
	if _, err := w.engine.RecordFailure(ctx, stripesync.Failure{Key: "payment:pi_storm_000", Source: stripesync.FailurePayPage, Code: "insufficient_funds"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.engine.RecordFailure(ctx, stripesync.Failure{Key: "payment:pi_late", Source: stripesync.FailureStaff, Code: "expired_card"}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(31 * time.Second)
	w.digest(t)
	msgs = w.mail.Messages()
	if len(msgs) != 2 || msgs[1].Subject != "stripesync: 1 payment failure" || !strings.Contains(msgs[1].Text, "staff, expired_card") {
		t.Errorf("after the storm ops got %d messages; the last: %q\n%s", len(msgs), msgs[len(msgs)-1].Subject, msgs[len(msgs)-1].Text)
	}
	if open, err := w.db.ListFailures(ctx, stripesync.FailureFilter{Status: stripesync.FailureOpen, Limit: 500}); err != nil || len(open) != 201 {
		t.Errorf("the inbox lists %d open failures, want 201 (%v)", len(open), err)
	}
}

// TestFailureDigestRetriesMail: a mail server that refuses keeps the
// failures due, and the digest goes out once it accepts.
func TestFailureDigestRetriesMail(t *testing.T) {
	w := newDigestWorld(t)
	if _, err := w.engine.RecordFailure(t.Context(), stripesync.Failure{Key: "payment:pi_1", Source: stripesync.FailureAutoPay, Code: "expired_card"}); err != nil {
		t.Fatal(err)
	}
	w.mail.SetFailNext(1)
	w.clock.Advance(31 * time.Second)
	w.digest(t)
	if n := len(w.mail.Messages()); n != 0 {
		t.Fatalf("%d messages through a refusing server", n)
	}
	w.clock.Advance(5 * time.Minute) // past the job's retry
	w.digest(t)
	if msgs := w.mail.Messages(); len(msgs) != 1 || !strings.Contains(msgs[0].Text, "auto-pay, expired_card") {
		t.Errorf("after the retry: %d messages", len(msgs))
	}
}

// TestDeadWriteBackInInbox: a CRM write-back that used its last attempt is
// a dead letter and an entry of the failure inbox.
func TestDeadWriteBackInInbox(t *testing.T) {
	w := newWorld(t)
	w.tune = func(c *syncer.Config) { c.Failures = &syncer.FailureConfig{Inbox: w.db} }
	w.rebuild(t)
	ctx := t.Context()
	account := w.seed(1, nil)[0]
	w.push(t)
	inv := w.sf.Insert("Invoice__c", map[string]any{
		"Name": "INV-9901", "Account__c": account, "Amount__c": "10.00", "CurrencyIsoCode": "USD", "Status__c": "Open",
	})
	if _, err := w.engine.PullInvoices(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Enqueue(ctx, stripesync.Job{Kind: stripesync.JobCRMInvoice, Payload: []byte(`{"id":"` + inv + `"}`), MaxAttempts: 1}); err != nil {
		t.Fatal(err)
	}
	w.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultHTML503})
	for range 3 {
		_, _ = w.engine.WriteBack(ctx) // the 503 is the expected failure
	}
	failures, err := w.db.ListFailures(ctx, stripesync.FailureFilter{Status: stripesync.FailureOpen})
	if err != nil || len(failures) != 1 || failures[0].Source != stripesync.FailureWriteBack || failures[0].InvoiceID != inv ||
		failures[0].Code != "write_back_failed" || failures[0].NextStep != stripesync.NextStepFor("write_back_failed") {
		t.Errorf("the failure inbox holds %+v, %v; want the dead write-back of %s", failures, err, inv)
	}
}
