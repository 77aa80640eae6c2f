package sync_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/links"
	"github.com/stripesync/stripesync/receipts"
	syncer "github.com/stripesync/stripesync/sync"
)

const testPublicURL = "https://pay.seller.test"

// newLinkWorld is a payWorld with payment links on (auto-issue as
// given), mailed through the world's SMTP server.
func newLinkWorld(t *testing.T, auto bool) *payWorld {
	t.Helper()
	signer, err := links.NewSigner([]byte("payment-link-signing-key-32-bytes!!"))
	if err != nil {
		t.Fatal(err)
	}
	return newPayWorld(t, func(c *syncer.Config) {
		c.Links = &syncer.LinkConfig{
			Signer: signer, PublicURL: testPublicURL, AutoIssue: auto,
			Ledger:      c.Payments.(stripesync.PaymentLinkLedger),
			Revocations: c.Payments.(stripesync.LinkRevocations),
			Mailer:      c.Receipts.(receipts.Sender),
		}
	})
}

// crmLink is Payment_Link__c as the CRM shows it ("" for null).
func (w *payWorld) crmLink(t *testing.T, id string) string {
	t.Helper()
	rec, ok := w.sf.Get("Invoice__c", id)
	if !ok {
		t.Fatalf("invoice %s not in the CRM", id)
	}
	s, _ := rec["Payment_Link__c"].(string)
	return s
}

func (w *payWorld) writeBack(t *testing.T) {
	t.Helper()
	if _, err := w.engine.WriteBack(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestPulledInvoiceGetsALinkOnceAndLosesItWhenPaid(t *testing.T) {
	w := newLinkWorld(t, true)
	inv := w.invoice(t, "INV-7001", "120.00", "USD")
	draft := w.sf.Insert("Invoice__c", map[string]any{"Name": "INV-7002", "Account__c": w.account, "Amount__c": "5.00", "CurrencyIsoCode": "USD", "Status__c": "Draft"})
	if _, err := w.engine.PullInvoices(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a link in the CRM", func() bool { return w.crmLink(t, inv) != "" })
	link := w.crmLink(t, inv)
	token, ok := strings.CutPrefix(link, testPublicURL+"/pay/")
	if !ok {
		t.Fatalf("Payment_Link__c = %q, want a %s/pay/ link", link, testPublicURL)
	}
	l, err := w.engine.VerifyPaymentLink(t.Context(), token)
	if err != nil || l.Subject != inv {
		t.Fatalf("the CRM's link verifies as %+v, %v; want invoice %s", l, err, inv)
	}
	if got := time.Until(l.Expires); got < 719*time.Hour || got > 720*time.Hour {
		t.Errorf("the link expires in %s, want the default 720h", got)
	}
	if got := w.crmLink(t, draft); got != "" {
		t.Errorf("the draft invoice got the link %q", got)
	}

	// Pulled again (touched in the CRM): the same link, no new token.
	w.sf.Update("Invoice__c", inv, map[string]any{"Due_Date__c": "2027-01-31"})
	if _, err := w.engine.PullInvoices(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.writeBack(t)
	if got := w.crmLink(t, inv); got != link {
		t.Errorf("a second pull changed the link:\n%s\n%s", link, got)
	}

	w.pay(t, inv, 12000, "usd", "pm_card_visa")
	eventually(t, "the paid invoice's link to be cleared", func() bool {
		return w.crmInvoice(t, inv).Status == "Paid" && w.crmLink(t, inv) == ""
	})
}

func TestNoLinkForADraftVoidPaidOrUnknownInvoice(t *testing.T) {
	w := newLinkWorld(t, false)
	insert := func(number, amount, status string) string {
		return w.sf.Insert("Invoice__c", map[string]any{"Name": number, "Account__c": w.account, "Amount__c": amount, "CurrencyIsoCode": "USD", "Status__c": status})
	}
	cases := []struct {
		name, id string
		code     stripesync.ErrorCode
	}{
		{"draft", insert("INV-1", "10.00", "Draft"), stripesync.ECONFLICT},
		{"void", insert("INV-2", "10.00", "Void"), stripesync.ECONFLICT},
		{"zero balance", insert("INV-3", "0.00", "Open"), stripesync.ECONFLICT},
		{"unknown", "a0X000000000999AAA", stripesync.ENOTFOUND},
	}
	for _, tc := range cases {
		l, err := w.engine.IssuePaymentLink(t.Context(), syncer.LinkRequest{InvoiceID: tc.id})
		if stripesync.CodeOf(err) != tc.code {
			t.Errorf("%s: %+v, %v; want %s", tc.name, l, err, tc.code)
		}
	}
	w.writeBack(t)
	for _, tc := range cases[:3] {
		if got := w.crmLink(t, tc.id); got != "" {
			t.Errorf("%s: the invoice got the link %q", tc.name, got)
		}
	}
}

func TestRevokedLinksStopWorkingAndLeaveTheCRM(t *testing.T) {
	w := newLinkWorld(t, true)
	inv := w.invoice(t, "INV-7101", "50.00", "USD")
	old, err := w.engine.IssuePaymentLink(t.Context(), syncer.LinkRequest{InvoiceID: inv})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the link to reach the CRM", func() bool { return w.crmLink(t, inv) == old.URL })
	token := strings.TrimPrefix(old.URL, testPublicURL+"/pay/")
	time.Sleep(2 * time.Millisecond) // tokens keep milliseconds
	if err := w.engine.RevokePaymentLinks(t.Context(), inv); err != nil {
		t.Fatal(err)
	}
	if _, err := w.engine.VerifyPaymentLink(t.Context(), token); !errors.Is(err, syncer.ErrLinkRevoked) {
		t.Errorf("a revoked link verifies with %v, want ErrLinkRevoked", err)
	}
	eventually(t, "the revoked link to leave the CRM", func() bool { return w.crmLink(t, inv) == "" })
	// The next pull respects the revocation.
	w.sf.Update("Invoice__c", inv, map[string]any{"Due_Date__c": "2027-02-28"})
	if _, err := w.engine.PullInvoices(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.writeBack(t)
	if got := w.crmLink(t, inv); got != "" {
		t.Errorf("the pull after a revocation issued %q", got)
	}
	time.Sleep(2 * time.Millisecond)
	fresh, err := w.engine.IssuePaymentLink(t.Context(), syncer.LinkRequest{InvoiceID: inv})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.engine.VerifyPaymentLink(t.Context(), strings.TrimPrefix(fresh.URL, testPublicURL+"/pay/")); err != nil {
		t.Errorf("a link issued after the revocation: %v", err)
	}
	if err := w.engine.RevokePaymentLinks(t.Context(), "a0X000000000999AAA"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
		t.Errorf("revoking an unknown invoice: %v, want ENOTFOUND", err)
	}
}

func TestEmailedLinkIsSentOnceAndRetriedAfterAnSMTPFailure(t *testing.T) {
	w := newLinkWorld(t, false)
	inv := w.invoice(t, "INV-7201", "75.50", "USD")
	w.mail.SetFailNext(1)
	req := syncer.LinkRequest{InvoiceID: inv, Email: true, RequestID: "req-7201"}
	l, err := w.engine.IssuePaymentLink(t.Context(), req)
	if err != nil || !l.Emailed {
		t.Fatalf("%+v, %v", l, err)
	}
	msgs, err := w.mail.WaitMessages(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	for _, want := range []string{"Seller Supplies Inc.", "INV-7201", "75.50 USD", "31 December 2026", l.URL} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the text lacks %q:\n%s", want, m.Text)
		}
		if !strings.Contains(m.HTML, strings.ReplaceAll(want, "&", "&amp;")) {
			t.Errorf("the HTML lacks %q:\n%s", want, m.HTML)
		}
	}
	time.Sleep(1500 * time.Millisecond) // a second message would have come by now
	if n := len(w.mail.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
	noMail := w.sf.Insert("Account", map[string]any{"Name": "No Mail Co"})
	other := w.sf.Insert("Invoice__c", map[string]any{"Name": "INV-7202", "Account__c": noMail, "Amount__c": "5.00", "CurrencyIsoCode": "USD", "Status__c": "Open"})
	if _, err := w.engine.IssuePaymentLink(t.Context(), syncer.LinkRequest{InvoiceID: other, Email: true}); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("mailing to an account without a billing e-mail: %v, want EINVALID", err)
	}
}
