package sync_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/receipts"
	"github.com/stripesync/stripesync/receipts/pdftext"
	"github.com/stripesync/stripesync/receipts/smtptest"
	"github.com/stripesync/stripesync/stripeclient"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
	syncer "github.com/stripesync/stripesync/sync"
)

const testWebhookSecret = "whsec_engine_test_secret"

// payWorld is a running daemon in miniature: the engine's workers, the
// webhook endpoint over real HTTP that the Stripe emulator delivers to, and
// a real SMTP server receiving the receipts.
type payWorld struct {
	*world
	web     *httptest.Server
	signer  *receipts.Signer
	mail    *smtptest.Server
	account string // CRM account id
	cus     string // its Stripe customer
}

// newPayWorld starts a payWorld; tune, if given, adjusts the engine's
// configuration.
func newPayWorld(t testing.TB, tune ...func(*syncer.Config)) *payWorld {
	t.Helper()
	w := &payWorld{world: newWorld(t)}
	if len(tune) > 0 {
		w.tune = func(c *syncer.Config) {
			for _, f := range tune {
				f(c)
			}
		}
	}
	w.mail = smtptest.NewServer(t, smtptest.Options{Username: "u", Password: "p"})
	mailer, err := receipts.NewMailer(receipts.MailConfig{URL: w.mail.URL(), From: "billing@seller.test"})
	if err != nil {
		t.Fatal(err)
	}
	w.receipts = receipts.Sender{Mailer: mailer}
	w.rebuild(t)

	if w.signer, err = receipts.NewSigner([]byte("receipt-link-signing-key-of-32-bytes!")); err != nil {
		t.Fatal(err)
	}
	w.web = httptest.NewServer(httpapi.NewServer(httpapi.Config{
		Webhook: &httpapi.WebhookConfig{
			Verify: func(payload []byte, sig string) (stripesync.Event, error) {
				return stripeclient.VerifyWebhook(payload, sig, []string{testWebhookSecret}, 300*time.Second, time.Now())
			},
			Accept:   w.db.AcceptEvent,
			Accepted: w.engine.NotifyEvents,
		},
		ReceiptPDF: w.receiptPDF(w.signer),
	}))
	t.Cleanup(w.web.Close)
	if err := w.st.AddWebhookEndpoint(w.web.URL+"/stripe/webhook", testWebhookSecret); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.engine.RunWorkers(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })

	w.account = w.seed(1, nil)[0]
	w.push(t)
	links, err := w.db.AccountLinks(t.Context(), []string{w.account})
	if err != nil {
		t.Fatal(err)
	}
	w.cus = links[w.account].StripeID
	return w
}

// invoice creates an invoice in the CRM and pulls it into the ledger.
func (w *payWorld) invoice(t testing.TB, number, amount, currency string) string {
	t.Helper()
	id := w.sf.Insert("Invoice__c", map[string]any{
		"Name": number, "Account__c": w.account, "Amount__c": amount,
		"CurrencyIsoCode": currency, "Status__c": "Open", "Due_Date__c": "2026-12-31",
	})
	if _, err := w.engine.PullInvoices(t.Context()); err != nil {
		t.Fatal(err)
	}
	return id
}

func (w *payWorld) pay(t testing.TB, invoice string, amount int64, currency, method string) string {
	t.Helper()
	pi, err := w.st.Pay(stripetest.PayParams{
		Customer: w.cus, Amount: amount, Currency: currency, PaymentMethod: method,
		Metadata: map[string]string{stripesync.MetadataInvoiceID: invoice},
	})
	if err != nil {
		t.Fatalf("pay %d %s on %s: %v", amount, currency, invoice, err)
	}
	return pi
}

// crmInvoice is an invoice as the CRM shows it.
type crmInvoice struct {
	Status           string
	Paid, BalanceDue stripesync.Money
}

func (w *payWorld) crmInvoice(t testing.TB, id string) crmInvoice {
	t.Helper()
	rec, ok := w.sf.Get("Invoice__c", id)
	if !ok {
		t.Fatalf("invoice %s not in the CRM", id)
	}
	cur := fmt.Sprint(rec["CurrencyIsoCode"])
	money := func(field string) stripesync.Money {
		if rec[field] == nil {
			return stripesync.Money{Currency: cur}
		}
		m, err := stripesync.ParseMoney(fmt.Sprint(rec[field]), cur)
		if err != nil {
			t.Fatalf("%s = %v: %v", field, rec[field], err)
		}
		return m
	}
	status, _ := rec["Status__c"].(string)
	return crmInvoice{Status: status, Paid: money("Amount_Paid__c"), BalanceDue: money("Balance_Due__c")}
}

// crmPayments reads the Payment__c records of an invoice through the REST
// API, as a CRM user would see them.
func (w *payWorld) crmPayments(t testing.TB, invoice string) []map[string]string {
	t.Helper()
	soql := "SELECT Stripe_Payment_Id__c, Amount__c, Status__c, Amount_Refunded__c, Method__c, Payment_Method_Detail__c, Receipt_Number__c, Failure_Reason__c FROM Payment__c"
	if invoice != "" {
		soql += " WHERE Invoice__c = '" + invoice + "'"
	}
	var out []map[string]string
	for r, err := range w.crm.Query(t.Context(), soql+" ORDER BY Stripe_Payment_Id__c") {
		if err != nil {
			t.Fatal(err)
		}
		row := map[string]string{}
		for k, v := range r {
			if k != "attributes" && v != nil {
				row[k] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	return out
}

// eventually polls cond until it holds or 15 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func usd(a int64) stripesync.Money { return stripesync.Money{Amount: a, Currency: "USD"} }

func TestTwoPartialPaymentsRollUpToPaidAndMailReceipts(t *testing.T) {
	w := newPayWorld(t)
	inv := w.invoice(t, "INV-1001", "50.00", "USD")

	w.pay(t, inv, 2500, "usd", "pm_card_visa")
	eventually(t, "Partially Paid in the CRM", func() bool { return w.crmInvoice(t, inv).Status == "Partially Paid" })
	if got := w.crmInvoice(t, inv); got.Paid != usd(2500) || got.BalanceDue != usd(2500) {
		t.Errorf("after the first payment the CRM shows %+v, want paid 25.00, balance 25.00", got)
	}

	w.pay(t, inv, 2500, "usd", "pm_card_mastercard")
	eventually(t, "Paid in the CRM", func() bool { return w.crmInvoice(t, inv).Status == "Paid" })
	if got := w.crmInvoice(t, inv); got.Paid != usd(5000) || got.BalanceDue != usd(0) {
		t.Errorf("the CRM shows %+v, want Amount_Paid__c 50.00 and Balance_Due__c 0.00", got)
	}
	// A payment's earlier states (payment_intent.created: Pending) may
	// reach the CRM first; the last write is the final state.
	eventually(t, "two succeeded Payment__c rows", func() bool {
		ps := w.crmPayments(t, inv)
		return len(ps) == 2 && ps[0]["Status__c"] == "Succeeded" && ps[1]["Status__c"] == "Succeeded"
	})
	for _, p := range w.crmPayments(t, inv) {
		if p["Status__c"] != "Succeeded" || p["Method__c"] != "Card" || !strings.Contains(p["Payment_Method_Detail__c"], "••••") || p["Receipt_Number__c"] == "" {
			t.Errorf("Payment__c = %v", p)
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	msgs, err := w.mail.WaitMessages(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	numbers := map[string]bool{}
	for _, m := range msgs {
		if len(m.To) != 1 || m.To[0] != "billing0000@example.test" || len(m.Attachments) != 1 {
			t.Fatalf("message to %v with %d attachments, want one PDF to the account's billing e-mail", m.To, len(m.Attachments))
		}
		doc, err := pdftext.Read(m.Attachments[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		text := doc.Text()
		number := strings.TrimSuffix(strings.TrimPrefix(m.Attachments[0].Name, "receipt-"), ".pdf")
		numbers[number] = true
		if !strings.Contains(text, number) || !strings.Contains(text, "25.00 USD") || !strings.Contains(text, "INV-1001") {
			t.Errorf("receipt PDF text lacks its number %s, the amount or the invoice:\n%s", number, text)
		}
	}
	if len(numbers) != 2 {
		t.Errorf("receipt numbers %v, want two distinct", numbers)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(w.mail.Messages()); n != 2 {
		t.Errorf("%d messages, want each receipt mailed once", n)
	}
}

func TestACHIsPendingUntilItSettles(t *testing.T) {
	w := newPayWorld(t)
	inv := w.invoice(t, "INV-2001", "80.00", "USD")
	pi := w.pay(t, inv, 8000, "usd", "pm_usBankAccount_success")
	eventually(t, "the ACH payment in the ledger", func() bool {
		p, err := w.db.Payment(t.Context(), pi)
		return err == nil && p.Status == stripesync.PaymentProcessing
	})
	eventually(t, "Payment__c Processing", func() bool {
		ps := w.crmPayments(t, inv)
		return len(ps) == 1 && ps[0]["Status__c"] == "Processing"
	})
	_, roll, err := w.db.Invoice(t.Context(), inv)
	if err != nil {
		t.Fatal(err)
	}
	if roll.Status != stripesync.InvoiceOpen || roll.Paid.Amount != 0 || roll.Pending != usd(8000) {
		t.Errorf("while processing: rollup %+v, want Open, nothing paid, 80.00 pending", roll)
	}
	if got := w.crmInvoice(t, inv); got.Status == "Paid" || got.Paid.Amount != 0 {
		t.Errorf("while processing the CRM shows %+v, want not paid", got)
	}

	if err := w.st.SettleACH(pi); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Paid after settlement", func() bool { return w.crmInvoice(t, inv).Status == "Paid" })

	// A debit the bank returns gives the balance back and records why.
	inv2 := w.invoice(t, "INV-2002", "80.00", "USD")
	pi2 := w.pay(t, inv2, 8000, "usd", "pm_usBankAccount_accountClosed")
	if err := w.st.SettleACH(pi2); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the failed ACH in the CRM", func() bool {
		ps := w.crmPayments(t, inv2)
		return len(ps) == 1 && ps[0]["Status__c"] == "Failed" && ps[0]["Failure_Reason__c"] != ""
	})
	eventually(t, "the invoice rolled up", func() bool { return w.crmInvoice(t, inv2).BalanceDue == usd(8000) })
	if got := w.crmInvoice(t, inv2); got.Status != "Open" || got.Paid.Amount != 0 {
		t.Errorf("after a failed ACH the CRM shows %+v, want Open with the full balance", got)
	}
}

func TestRefundReopensAPaidInvoice(t *testing.T) {
	w := newPayWorld(t)
	inv := w.invoice(t, "INV-3001", "50.00", "USD")
	pi := w.pay(t, inv, 5000, "usd", "pm_card_visa")
	eventually(t, "Paid", func() bool { return w.crmInvoice(t, inv).Status == "Paid" })

	if err := w.st.Refund(pi, 1000); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Partially Paid after the refund", func() bool { return w.crmInvoice(t, inv).Status == "Partially Paid" })
	if got := w.crmInvoice(t, inv); got.BalanceDue != usd(1000) || got.Paid != usd(4000) {
		t.Errorf("after refunding 10.00 the CRM shows %+v, want balance 10.00", got)
	}
	eventually(t, "Amount_Refunded__c", func() bool {
		ps := w.crmPayments(t, inv)
		if len(ps) != 1 {
			return false
		}
		m, err := stripesync.ParseMoney(ps[0]["Amount_Refunded__c"], "USD")
		return err == nil && m == usd(1000) && ps[0]["Status__c"] == "Partially Refunded"
	})
}

func TestJPYInvoiceRollsUpExactly(t *testing.T) {
	w := newPayWorld(t)
	inv := w.invoice(t, "INV-4001", "5000", "JPY")
	w.pay(t, inv, 1234, "jpy", "pm_card_visa")
	w.pay(t, inv, 3766, "jpy", "pm_card_visa")
	eventually(t, "Paid", func() bool { return w.crmInvoice(t, inv).Status == "Paid" })
	got := w.crmInvoice(t, inv)
	if want := (stripesync.Money{Amount: 5000, Currency: "JPY"}); got.Paid != want || got.BalanceDue.Amount != 0 {
		t.Errorf("CRM shows %+v, want exactly 5000 JPY paid and nothing due", got)
	}
}

func TestPaymentForUnknownInvoiceIsKeptAndVisible(t *testing.T) {
	w := newPayWorld(t)
	pi := w.pay(t, "a0XDOESNOTEXIST0AA", 1500, "usd", "pm_card_visa")
	eventually(t, "the unmatched payment in the CRM", func() bool {
		for _, p := range w.crmPayments(t, "") {
			if p["Stripe_Payment_Id__c"] == pi {
				return true
			}
		}
		return false
	})
	unmatched, err := w.db.UnmatchedPayments(t.Context(), 10)
	if err != nil || len(unmatched) != 1 || unmatched[0].ID != pi {
		t.Errorf("unmatched payments = %+v, %v; want the one payment", unmatched, err)
	}
}

// snapshot is what a scenario leaves behind, in terms independent of the
// ids an emulator happens to generate.
func (w *payWorld) snapshot(t *testing.T, invoices []string) []string {
	t.Helper()
	var out []string
	for _, inv := range invoices {
		c := w.crmInvoice(t, inv)
		_, roll, err := w.db.Invoice(t.Context(), inv)
		if err != nil {
			t.Fatal(err)
		}
		rec, _ := w.sf.Get("Invoice__c", inv)
		line := fmt.Sprintf("%v crm=%s/%s/%s ledger=%s/%s/%s:", rec["Name"], c.Status, c.Paid, c.BalanceDue, roll.Status, roll.Paid, roll.Balance)
		var ps []string
		for _, p := range w.crmPayments(t, inv) {
			ps = append(ps, fmt.Sprintf("%s %s %s refunded=%s %s", p["Amount__c"], p["Status__c"], p["Method__c"], p["Amount_Refunded__c"], p["Payment_Method_Detail__c"]))
		}
		slices.Sort(ps)
		out = append(out, line+strings.Join(ps, "; "))
	}
	return out
}

// scenario makes the same payments on any world: full, two partial, ACH,
// a refund, a decline.
func scenario(t *testing.T, w *payWorld) []string {
	t.Helper()
	a := w.invoice(t, "INV-A", "100.00", "USD")
	b := w.invoice(t, "INV-B", "50.00", "USD")
	c := w.invoice(t, "INV-C", "80.00", "USD")
	w.pay(t, a, 10000, "usd", "pm_card_visa")
	w.pay(t, b, 2000, "usd", "pm_card_visa")
	w.pay(t, b, 3000, "usd", "pm_card_amex")
	ach := w.pay(t, c, 8000, "usd", "pm_usBankAccount_success")
	if err := w.st.SettleACH(ach); err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.Pay(stripetest.PayParams{Customer: w.cus, Amount: 500, Currency: "usd", PaymentMethod: "pm_card_visa_chargeDeclined",
		Metadata: map[string]string{stripesync.MetadataInvoiceID: a}}); err == nil {
		t.Fatal("a declined card paid")
	}
	full := w.pay(t, c, 100, "usd", "pm_card_visa") // overpayment: a credit
	if err := w.st.Refund(full, 100); err != nil {
		t.Fatal(err)
	}
	return []string{a, b, c}
}

// settle waits until every delivery is done and the queues are empty.
func (w *payWorld) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := w.st.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the queues to drain", func() bool {
		// Counted, not claimed: a claim would use up the jobs' attempts.
		b, err := w.db.InboxBacklog(t.Context())
		return err == nil && b.Events == 0 && b.Jobs == 0
	})
}

func TestDuplicatedShuffledWebhooksEndLikeOneInOrderDelivery(t *testing.T) {
	inOrder := newPayWorld(t)
	ids := scenario(t, inOrder)
	inOrder.settle(t)
	want := inOrder.snapshot(t, ids)

	t.Logf("in-order outcome:\n%s", strings.Join(want, "\n"))
	messy := newPayWorld(t)
	messy.st.SetWebhookOptions(stripetest.WebhookOptions{Duplicates: 2, Shuffle: true})
	ids = scenario(t, messy)
	messy.settle(t)
	got := messy.snapshot(t, ids)
	if !slices.Equal(got, want) {
		t.Errorf("three shuffled deliveries:\n%s\nwant, as in order:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := len(messy.st.Deliveries()); d < 3*len(inOrder.st.Deliveries())-10 {
		t.Errorf("only %d deliveries in the messy world; the duplicates were not sent", d)
	}
}

func TestPullRecoversPaymentsMadeWhileWebhooksWereOff(t *testing.T) {
	w := newPayWorld(t)
	w.st.SetWebhookOptions(stripetest.WebhookOptions{Disabled: true})
	var invs []string
	for i := range 5 {
		inv := w.invoice(t, fmt.Sprintf("INV-50%02d", i), "30.00", "USD")
		w.pay(t, inv, 3000, "usd", "pm_card_visa")
		invs = append(invs, inv)
	}
	time.Sleep(300 * time.Millisecond)
	for _, inv := range invs {
		if ps, _ := w.db.Payments(t.Context(), inv); len(ps) != 0 {
			t.Fatalf("a payment arrived although webhooks are off")
		}
	}
	// Stripe stamps events in whole seconds and the pull trusts its list
	// only for events from an earlier second, so let the second turn.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	w.st.ResetRequests()
	run, err := w.engine.PullPayments(t.Context(), syncer.PullOptions{})
	if err != nil || run.Status != stripesync.RunSucceeded {
		t.Fatalf("pull: %+v, %v", run, err)
	}
	for _, r := range w.st.Requests() {
		if strings.HasPrefix(r.Path, "/v1/payment_intents/") {
			t.Errorf("the pull read %s again although it had just listed it", r.Path)
		}
	}
	for _, inv := range invs {
		eventually(t, "invoice "+inv+" Paid", func() bool { return w.crmInvoice(t, inv).Status == "Paid" })
	}
}

// TestPullRunsEveryListWhenOneFails pays invoices while no webhook is
// heard, then pulls with one of the two Stripe lists refused (a restricted
// key without the permission): the other list alone recovers every
// payment, and the run is failed with the refusal named and the cursor
// held, so the next pull looks at the same window again.
func TestPullRunsEveryListWhenOneFails(t *testing.T) {
	forbidden := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"error":{"type":"invalid_request_error","message":"The provided key 'rk_test_***' does not have the required permissions for this endpoint."}}`)
	}
	for path, named := range map[string]string{
		"/v1/events":          "list Stripe events",
		"/v1/payment_intents": "list PaymentIntents",
	} {
		t.Run(path, func(t *testing.T) {
			w := newWorld(t)
			acct := w.seed(1, nil)[0]
			w.push(t)
			links, err := w.db.AccountLinks(t.Context(), []string{acct})
			if err != nil {
				t.Fatal(err)
			}
			var invs []string
			for i := range 3 {
				invs = append(invs, w.sf.Insert("Invoice__c", map[string]any{
					"Name": fmt.Sprintf("INV-60%02d", i), "Account__c": acct, "Amount__c": "25.00",
					"CurrencyIsoCode": "USD", "Status__c": "Open",
				}))
			}
			if _, err := w.engine.PullInvoices(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, inv := range invs {
				if _, err := w.st.Pay(stripetest.PayParams{Customer: links[acct].StripeID, Amount: 2500, Currency: "usd",
					Metadata: map[string]string{stripesync.MetadataInvoiceID: inv}}); err != nil {
					t.Fatal(err)
				}
			}

			w.stripeURL = frontStripe(t, w.st, map[string]http.HandlerFunc{path: forbidden})
			w.rebuild(t)
			run, err := w.engine.PullPayments(t.Context(), syncer.PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != stripesync.RunFailed || !strings.Contains(run.Error, named) {
				t.Errorf("pull with %s refused = %+v, want failed naming %q", path, run, named)
			}
			if c, err := w.db.Cursor(t.Context(), "payments"); err != nil || !c.IsZero() {
				t.Errorf("the failed pull moved the cursor to %v (%v)", c, err)
			}
			for {
				n, err := w.engine.WriteBack(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
			}
			for _, inv := range invs {
				ps, err := w.db.Payments(t.Context(), inv)
				if err != nil || len(ps) != 1 || ps[0].Status != stripesync.PaymentSucceeded || ps[0].Amount != usd(2500) {
					t.Errorf("invoice %s: payments %+v (%v), want one of 25.00 USD succeeded", inv, ps, err)
				}
				if rec, _ := w.sf.Get("Invoice__c", inv); rec["Status__c"] != "Paid" {
					t.Errorf("invoice %s is %v in the CRM, want Paid", inv, rec["Status__c"])
				}
			}

			w.stripeURL = ""
			w.rebuild(t)
			if run, err := w.engine.PullPayments(t.Context(), syncer.PullOptions{}); err != nil || run.Status != stripesync.RunSucceeded || run.CursorTo.IsZero() {
				t.Errorf("pull with both lists back = %+v, %v; want succeeded with the cursor moved", run, err)
			}
		})
	}
}

func TestCRMAndMailOutagesDelayButLoseNothing(t *testing.T) {
	w := newPayWorld(t)
	inv := w.invoice(t, "INV-6001", "40.00", "USD")
	// The CRM refuses every write and the mail server the first two
	// messages while the payment comes in.
	w.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultHTML503, Path: "composite"})
	w.mail.SetFailNext(2)
	pi := w.pay(t, inv, 4000, "usd", "pm_card_visa")
	eventually(t, "the payment in the ledger", func() bool {
		p, err := w.db.Payment(t.Context(), pi)
		return err == nil && p.Status == stripesync.PaymentSucceeded
	})
	time.Sleep(1500 * time.Millisecond)
	if got := w.crmInvoice(t, inv); got.Status != "Open" {
		t.Fatalf("the CRM was down, yet shows %+v", got)
	}
	w.sf.ClearFaults()
	eventually(t, "Paid once the CRM is back", func() bool { return w.crmInvoice(t, inv).Status == "Paid" })
	eventually(t, "the Payment__c row", func() bool { return len(w.crmPayments(t, inv)) == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if _, err := w.mail.WaitMessages(ctx, 1); err != nil {
		t.Fatalf("receipt never arrived after the mail server recovered: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(w.mail.Messages()); n != 1 {
		t.Errorf("%d receipts delivered, want exactly 1", n)
	}
}

func TestReceiptDownloadNeedsItsSignedToken(t *testing.T) {
	w := newPayWorld(t)
	inv := w.invoice(t, "INV-7001", "30.00", "USD")
	pi := w.pay(t, inv, 3000, "usd", "pm_card_visa")
	var number string
	eventually(t, "a receipt number", func() bool {
		p, err := w.db.Payment(t.Context(), pi)
		number = p.ReceiptNumber
		return err == nil && number != ""
	})
	get := func(path string) (int, []byte) {
		resp, err := http.Get(w.web.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	status, body := get("/receipts/" + w.signer.Token(pi) + ".pdf")
	if status != http.StatusOK {
		t.Fatalf("download: %d %s", status, body)
	}
	doc, err := pdftext.Read(body)
	if err != nil {
		t.Fatal(err)
	}
	if text := doc.Text(); !strings.Contains(text, number) || !strings.Contains(text, "30.00 USD") {
		t.Errorf("downloaded receipt lacks %s or the amount:\n%s", number, text)
	}
	other, err := receipts.NewSigner([]byte("another-key-another-key-another-key!!"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"/receipts/" + other.Token(pi) + ".pdf", // signed with another key
		"/receipts/" + pi + ".pdf",              // the bare id
		"/receipts/" + w.signer.Token(pi),       // no .pdf
	} {
		if status, _ := get(path); status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, status)
		}
	}
}

func TestPaymentOfADeletedAccountIsStillWrittenToTheCRM(t *testing.T) {
	w := newPayWorld(t)
	inv := w.invoice(t, "INV-8001", "20.00", "USD")
	w.sf.Delete("Account", w.account)
	pi := w.pay(t, inv, 2000, "usd", "pm_card_visa")
	eventually(t, "the Payment__c row without its account", func() bool {
		ps := w.crmPayments(t, inv)
		return len(ps) == 1 && ps[0]["Stripe_Payment_Id__c"] == pi
	})
}

func TestCheckoutDisputeAndCustomerDeletionEvents(t *testing.T) {
	w := newPayWorld(t)
	inv := w.invoice(t, "INV-9101", "45.00", "USD")

	// checkout.session.completed: the PaymentIntent is found through the
	// session and recorded with the invoice from payment_intent_data.
	_, pi, err := w.st.CompleteCheckout(stripetest.CheckoutParams{
		Customer: w.cus, Amount: 4500, Currency: "usd",
		PaymentIntentMetadata: map[string]string{stripesync.MetadataInvoiceID: inv, stripesync.MetadataChannel: stripesync.ChannelPaymentLink},
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Checkout payment Paid in the CRM", func() bool { return w.crmInvoice(t, inv).Status == "Paid" })
	p, err := w.db.Payment(t.Context(), pi)
	if err != nil || p.Channel != stripesync.ChannelPaymentLink || p.AccountID != w.account {
		t.Errorf("checkout payment = %+v, %v; want channel Payment Link and the account from the customer link", p, err)
	}

	// charge.dispute.created: the ledger learns of the dispute.
	if err := w.st.Dispute(pi); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the dispute in the ledger", func() bool {
		p, err := w.db.Payment(t.Context(), pi)
		return err == nil && p.Disputed
	})

	// customer.deleted: the link stops being bound and the CRM says why.
	w.st.DeleteCustomer(w.cus)
	eventually(t, "the deletion in the ledger and the CRM", func() bool {
		links, err := w.db.AccountLinks(t.Context(), []string{w.account})
		rec, _ := w.sf.Get("Account", w.account)
		msg, _ := rec["Stripe_Sync_Error__c"].(string)
		return err == nil && links[w.account].State == stripesync.LinkFailed && strings.Contains(msg, w.cus)
	})
}
