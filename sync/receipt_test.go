package sync_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/receipts"
	"github.com/stripesync/stripesync/receipts/pdftext"
	"github.com/stripesync/stripesync/receipts/smtptest"
	"github.com/stripesync/stripesync/store/storetest"
	syncer "github.com/stripesync/stripesync/sync"
)

// testReceiptLease is the engine's lease on a receipt job (receiptLease).
const testReceiptLease = 2 * time.Minute

// receiptWorld is a world without running workers, whose engine and store
// share a manual clock, with one pushed account, one pulled invoice and
// one succeeded payment of it waiting for its receipt. The tests run the
// receipt job step by step.
type receiptWorld struct {
	*world
	clock   *storetest.Clock
	mail    *smtptest.Server
	account string
	payment string
}

// newReceiptWorld builds a receiptWorld; queue, if not nil, wraps the
// store's queue for the engine.
func newReceiptWorld(t *testing.T, queue func(stripesync.Queue) stripesync.Queue) *receiptWorld {
	t.Helper()
	w := &receiptWorld{world: newWorld(t), clock: storetest.NewClock(time.Now())}
	w.db = w.db.WithClock(w.clock.Now)
	w.ledger = w.db
	w.mail = smtptest.NewServer(t, smtptest.Options{})
	mailer, err := receipts.NewMailer(receipts.MailConfig{URL: w.mail.URL(), From: "billing@seller.test"})
	if err != nil {
		t.Fatal(err)
	}
	w.receipts = receipts.Sender{Mailer: mailer}
	w.tune = func(c *syncer.Config) {
		c.Now = w.clock.Now
		if queue != nil {
			c.Queue = queue(w.db)
		}
	}
	w.rebuild(t)

	ctx := t.Context()
	w.account = w.seed(1, nil)[0]
	w.push(t)
	inv := w.sf.Insert("Invoice__c", map[string]any{
		"Name": "INV-4401", "Account__c": w.account, "Amount__c": "50.00",
		"CurrencyIsoCode": "USD", "Status__c": "Open", "Due_Date__c": "2026-12-31",
	})
	if _, err := w.engine.PullInvoices(ctx); err != nil {
		t.Fatal(err)
	}
	w.payment = "pi_receipt_1"
	_, _, err = w.db.RecordPayment(ctx, stripesync.Payment{
		ID: w.payment, InvoiceID: inv, AccountID: w.account, Amount: usd(3000),
		Status: stripesync.PaymentSucceeded, Method: stripesync.MethodCard, MethodDetail: "Visa •••• 4242",
		Created: w.clock.Now(), PaidAt: w.clock.Now(), ChargeID: "ch_receipt_1", ChargeCreated: w.clock.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// receiptPDF serves receipt downloads as cmd/stripesync does, through
// whichever engine w has when the download comes.
func (w *world) receiptPDF(signer *receipts.Signer) func(ctx context.Context, token string) ([]byte, error) {
	return func(ctx context.Context, token string) ([]byte, error) {
		id, err := signer.PaymentID(token)
		if err != nil {
			return nil, err
		}
		r, err := w.engine.Receipt(ctx, id)
		if err != nil {
			return nil, err
		}
		return receipts.Render(r)
	}
}

// sendReceipts runs one round of the receipt job and returns how many
// jobs it claimed.
func (w *receiptWorld) sendReceipts(t *testing.T) int {
	t.Helper()
	n, err := w.engine.SendReceipts(t.Context())
	if err != nil {
		t.Logf("SendReceipts: %v", err)
	}
	return n
}

func TestReceiptDownloadNeedsNoCRM(t *testing.T) {
	w := newReceiptWorld(t, nil)
	if n := w.sendReceipts(t); n != 1 {
		t.Fatalf("the receipt job claimed %d jobs, want 1", n)
	}
	msgs := w.mail.Messages()
	if len(msgs) != 1 || len(msgs[0].Attachments) != 1 {
		t.Fatalf("mailed %+v, want one message with the PDF", msgs)
	}
	mailed := msgs[0].Attachments[0].Data

	signer, err := receipts.NewSigner([]byte("receipt-link-signing-key-of-32-bytes!"))
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(httpapi.NewServer(httpapi.Config{
		ReceiptPDF: w.receiptPDF(signer),
	}))
	t.Cleanup(web.Close)

	// Salesforce is down: every data call would get a 503.
	w.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultHTML503})
	before := w.sf.Calls().Total
	resp, err := http.Get(web.URL + "/receipts/" + signer.Token(w.payment) + ".pdf")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download during a CRM outage: %d %s", resp.StatusCode, body)
	}
	if calls := w.sf.Calls().Total - before; calls != 0 {
		t.Errorf("the download cost %d CRM requests, want 0", calls)
	}
	if string(body) != string(mailed) {
		t.Errorf("the downloaded PDF (%d bytes) differs from the mailed one (%d bytes)", len(body), len(mailed))
	}
	doc, err := pdftext.Read(body)
	if err != nil {
		t.Fatalf("the downloaded receipt is not a PDF: %v", err)
	}
	for _, want := range []string{"Account 0000", "INV-4401", "30.00 USD", "Visa"} {
		if !strings.Contains(doc.Text(), want) {
			t.Errorf("downloaded receipt lacks %q:\n%s", want, doc.Text())
		}
	}
}

// lostCompletions is a queue whose first lose completions never happen:
// the process died right after the work, before recording it done.
type lostCompletions struct {
	stripesync.Queue
	lose atomic.Int32
}

func (q *lostCompletions) Complete(ctx context.Context, ids ...int64) error {
	if q.lose.Add(-1) >= 0 {
		return errors.New("killed before the job was completed")
	}
	return q.Queue.Complete(ctx, ids...)
}

func TestReceiptIsNotMailedAgainAfterACrashBeforeCompletion(t *testing.T) {
	lost := &lostCompletions{}
	lost.lose.Store(1)
	w := newReceiptWorld(t, func(q stripesync.Queue) stripesync.Queue { lost.Queue = q; return lost })
	if n := w.sendReceipts(t); n != 1 {
		t.Fatalf("the receipt job claimed %d jobs, want 1", n)
	}
	// The lease of the job that was never completed ends; the job is
	// claimed again.
	w.clock.Advance(testReceiptLease + time.Second)
	if n := w.sendReceipts(t); n != 1 {
		t.Fatalf("after the lease the receipt job claimed %d jobs, want the abandoned one", n)
	}
	w.clock.Advance(testReceiptLease + time.Second)
	if n := w.sendReceipts(t); n != 0 {
		t.Errorf("the receipt job is still queued (%d claimed), want it completed", n)
	}
	if n := len(w.mail.Messages()); n != 1 {
		t.Errorf("the SMTP server received %d receipts, want exactly 1", n)
	}
}

func TestReceiptInterruptedInsideSMTPIsResentAfterTheLease(t *testing.T) {
	w := newReceiptWorld(t, nil)
	ctx := t.Context()
	r, err := w.engine.Receipt(ctx, w.payment)
	if err != nil {
		t.Fatal(err)
	}
	// A worker claims the job, records that it starts sending 30 s later,
	// and dies inside the SMTP conversation.
	if jobs, err := w.db.Claim(ctx, stripesync.JobSendReceipt, 1, testReceiptLease); err != nil || len(jobs) != 1 {
		t.Fatalf("Claim = %v, %v; want the receipt job", jobs, err)
	}
	w.clock.Advance(30 * time.Second)
	sendingAt := w.clock.Now()
	if _, ok, err := w.db.StartReceiptMail(ctx, w.payment, testReceiptLease); err != nil || !ok {
		t.Fatalf("StartReceiptMail = %v, %v", ok, err)
	}

	// The job's lease is over, but the send started less than a lease
	// ago: the job is deferred, not sent.
	w.clock.Advance(testReceiptLease - 30*time.Second + time.Second)
	if n := w.sendReceipts(t); n != 1 {
		t.Fatalf("after the job's lease the receipt job claimed %d jobs, want 1", n)
	}
	if n := w.sendReceipts(t); n != 0 {
		t.Errorf("the deferred job was claimed again at once (%d)", n)
	}
	if n := len(w.mail.Messages()); n != 0 {
		t.Fatalf("mailed %d receipts while the interrupted send's lease lasted, want 0", n)
	}

	// A lease after the send started, the receipt is mailed again, under
	// the Message-ID the interrupted send used, so the mail system can
	// drop the copy if the first one got through.
	w.clock.Advance(sendingAt.Add(testReceiptLease).Sub(w.clock.Now()) + time.Second)
	if n := w.sendReceipts(t); n != 1 {
		t.Fatalf("after the send's lease the receipt job claimed %d jobs, want 1", n)
	}
	msgs := w.mail.Messages()
	want := receipts.ReceiptMessage(r, nil).MessageID
	if len(msgs) != 1 || msgs[0].MessageID != want {
		t.Fatalf("mailed %d messages (%+v), want 1 with Message-ID %s", len(msgs), msgs, want)
	}
	if want != "<receipt-"+r.Number+"@stripesync>" {
		t.Errorf("Message-ID %s does not derive from the receipt number %s", want, r.Number)
	}
	w.clock.Advance(testReceiptLease + time.Second)
	if n := w.sendReceipts(t); n != 0 || len(w.mail.Messages()) != 1 {
		t.Errorf("after the resend: %d jobs claimed, %d messages; want 0 and 1", n, len(w.mail.Messages()))
	}
}

func TestReceiptWaitsForAPushOfItsAccount(t *testing.T) {
	w := newReceiptWorld(t, nil)
	ctx := t.Context()
	// An account the ledger has not read, as right after the upgrade that
	// added account contacts and before the first push.
	unread := w.seed(1, map[string]any{"Name": "Unread Co", "Billing_Email__c": "unread@example.test"})[0]
	if _, _, err := w.db.RecordPayment(ctx, stripesync.Payment{
		ID: "pi_unread", AccountID: unread, Amount: usd(1200), Status: stripesync.PaymentSucceeded,
		Created: w.clock.Now(), PaidAt: w.clock.Now(), ChargeID: "ch_unread", ChargeCreated: w.clock.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	to := func() (n int) {
		for _, m := range w.mail.Messages() {
			if slices.Contains(m.To, "unread@example.test") {
				n++
			}
		}
		return n
	}
	w.sendReceipts(t)
	if n := to(); n != 0 {
		t.Fatalf("mailed %d receipts to an account the ledger has not read", n)
	}
	// Its refund notice waits for the push too, rather than being dropped
	// as if the account had no billing e-mail.
	if _, _, err := w.db.RecordPayment(ctx, stripesync.Payment{
		ID: "pi_unread", AccountID: unread, Amount: usd(1200), Refunded: 200, Status: stripesync.PaymentSucceeded,
		Created: w.clock.Now(), PaidAt: w.clock.Now(), ChargeID: "ch_unread", ChargeCreated: w.clock.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.engine.SendRefundNotices(ctx); err != nil {
		t.Fatal(err)
	}
	if n := to(); n != 0 {
		t.Fatalf("mailed %d messages to an account the ledger has not read", n)
	}
	w.push(t)
	w.clock.Advance(time.Minute) // past the retry backoff of a first attempt
	w.sendReceipts(t)
	if _, err := w.engine.SendRefundNotices(ctx); err != nil {
		t.Fatal(err)
	}
	if n := to(); n != 2 {
		t.Errorf("after the push, %d messages (receipt and refund notice) reached the account, want 2", n)
	}
}

// TestReceiptKeepsTheBalanceOfItsMoment re-renders the receipts of two
// payments after the first is refunded: each still shows what was left
// right after it, not the invoice's balance now.
func TestReceiptKeepsTheBalanceOfItsMoment(t *testing.T) {
	w := newPayWorld(t)
	inv := w.invoice(t, "INV-1005", "100.00", "USD")
	first := w.pay(t, inv, 3000, "usd", "pm_card_visa")
	eventually(t, "the first payment recorded", func() bool { return w.crmInvoice(t, inv).Status == "Partially Paid" })
	second := w.pay(t, inv, 5000, "usd", "pm_card_mastercard")
	eventually(t, "the second payment recorded", func() bool { return w.crmInvoice(t, inv).Paid == usd(8000) })
	if err := w.st.Refund(first, 3000); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the refund recorded", func() bool { return w.crmInvoice(t, inv).Paid == usd(5000) })
	for id, want := range map[string]stripesync.Money{first: usd(7000), second: usd(2000)} {
		r, err := w.engine.Receipt(t.Context(), id)
		if err != nil || r.BalanceLeft != want {
			t.Errorf("receipt of %s after the refund shows balance %v (%v), want %v", id, r.BalanceLeft, err, want)
		}
	}
}
