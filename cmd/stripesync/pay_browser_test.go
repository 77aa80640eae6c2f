package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/stripesync/stripesync/internal/browsertest"
	"github.com/stripesync/stripesync/receipts/pdftext"
)

// browser is one headless Chromium with a record of the receipt PDFs it
// was sent to.
type browser struct {
	ctx      context.Context
	mu       gosync.Mutex
	receipts []string // URLs of application/pdf responses, in order
}

func newBrowser(t *testing.T) *browser {
	b := &browser{ctx: browsertest.New(t)}
	err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && e.Response.MimeType == "application/pdf" {
			b.mu.Lock()
			b.receipts = append(b.receipts, e.Response.URL)
			b.mu.Unlock()
		}
	})
	if err == nil {
		_, err = chromedp.Call(b.ctx, network.Enable, network.EnableParams{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// do runs browser actions, failing the test on an error.
func (b *browser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// text returns the visible text of the page.
func (b *browser) text(t *testing.T) string {
	t.Helper()
	return value(t, b, "read the page", chromedp.Text(chromedp.CSS("body")))
}

// value runs one action that returns a value.
func value[T any](t *testing.T, b *browser, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitText waits until the page shows want (the page a click led to has
// loaded) and returns its text.
func (b *browser) waitText(t *testing.T, want string) string {
	t.Helper()
	var page string
	deadline := time.Now().Add(30 * time.Second)
	for {
		// While the next page loads the old one's nodes vanish: an error
		// here only means "not yet".
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		cancel()
		if err == nil {
			page = got
		}
		if strings.Contains(page, want) {
			return page
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page never showed %q; it shows:\n%s", want, page)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitReceipt waits until the browser has been sent its nth receipt PDF
// and returns its URL.
func (b *browser) waitReceipt(t *testing.T, n int) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		got := len(b.receipts)
		b.mu.Unlock()
		if got >= n {
			return b.receipts[n-1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	browsertest.Screenshot(t, b.ctx, "no-receipt")
	url := value(t, b, "read the location", chromedp.Location())
	t.Fatalf("the browser did not land on receipt %d; it is at %s showing:\n%s", n, url, b.text(t))
	return ""
}

// fillCard pays on the emulator's hosted Checkout page with a test card.
func (b *browser) fillCard(t *testing.T, number string) {
	t.Helper()
	b.do(t, "fill in the card on Checkout",
		chromedp.WaitVisible(chromedp.CSS("#cardNumber")),
		chromedp.SendKeys(chromedp.CSS("#cardNumber"), number),
		chromedp.SendKeys(chromedp.CSS("#cardExpiry"), "12 / 30"),
		chromedp.SendKeys(chromedp.CSS("#cardCvc"), "123"),
		chromedp.SendKeys(chromedp.CSS("#billingName"), "Jane Doe"),
	)
}

// checkReceipt downloads a receipt PDF and checks what it says.
func checkReceipt(t *testing.T, url string, want ...string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("receipt %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	pdf, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := pdftext.Read(pdf)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(doc.Text(), w) {
			t.Errorf("receipt lacks %q:\n%s", w, doc.Text())
		}
	}
}

// TestPayInBrowser is the customer's path through a real browser: a
// payment link for a 50.00 USD invoice, 20.00 with a new card through
// Checkout, landing on the receipt, then the rest with the saved card.
func TestPayInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Chromium against the built daemon")
	}
	w := newPayWorld(t, false)
	b := newBrowser(t)
	inv := w.invoice(t, "INV-1001", "50.00", "USD")
	link := w.payLink(t, inv)

	t.Logf("link %s daemon %s", link, w.d.addr)
	b.do(t, "open the payment link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#amount")))
	browsertest.Screenshot(t, b.ctx, "pay-page")
	browsertest.AssertAccessible(t, b.ctx)
	page := b.text(t)
	for _, want := range []string{"INV-1001", "50.00 USD", "Acme Supplies", "A new card", "A new US bank account"} {
		if !strings.Contains(page, want) {
			t.Errorf("pay page lacks %q", want)
		}
	}
	if order := browsertest.FocusOrder(t, b.ctx, 2); order[0] != "#amount" {
		t.Errorf("the first Tab stop is %v, want the amount", order)
	}

	b.do(t, "pay 20.00 with a new card",
		chromedp.SetValue(chromedp.CSS("#amount"), "20.00"),
		chromedp.Click(chromedp.CSS(`input[name=method][value=card]`)),
		chromedp.Click(chromedp.CSS("#pay")),
	)
	b.fillCard(t, "4242424242424242")
	browsertest.Screenshot(t, b.ctx, "checkout")
	b.do(t, "confirm on Checkout", chromedp.Click(chromedp.CSS("#submit")))
	first := b.waitReceipt(t, 1)
	checkReceipt(t, first, "20.00", "INV-1001", "Visa")

	b.do(t, "open the link again", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#amount")))
	browsertest.Screenshot(t, b.ctx, "pay-page-saved-card")
	page = b.text(t)
	if !strings.Contains(page, "Visa •••• 4242, expires 12/30") || !strings.Contains(page, "Receipt") {
		t.Errorf("the second visit shows no saved card or receipt:\n%s", page)
	}
	amount := value(t, b, "read the amount", chromedp.Value(chromedp.CSS("#amount")))
	if amount != "30.00" {
		t.Errorf("the amount defaults to %q, want the balance 30.00", amount)
	}
	b.do(t, "pay the rest with the saved card",
		chromedp.Click(chromedp.CSS(`input[name=method][value^="saved:"]`)),
		chromedp.Click(chromedp.CSS("#pay")),
	)
	second := b.waitReceipt(t, 2)
	checkReceipt(t, second, "30.00", "INV-1001")

	waitFor(t, "the invoice Paid in the CRM", func() bool { return w.crmInvoice(t, inv)["Status__c"] == "Paid" })
	waitFor(t, "two Payment__c in the CRM", func() bool { return w.emu.sf.Count("Payment__c") == 2 })
	waitFor(t, "two receipts mailed", func() bool { return w.receiptsMailed() == 2 })
	if n := len(w.intentsOf(inv)); n != 2 {
		t.Errorf("%d PaymentIntents for the invoice, want 2", n)
	}

	b.do(t, "open the paid link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("h1")))
	browsertest.Screenshot(t, b.ctx, "paid")
	if page := b.text(t); !strings.Contains(page, "This invoice is paid") || strings.Contains(page, "Pay with") {
		t.Errorf("the paid link shows:\n%s", page)
	}
}

// TestPayByBankInBrowser: an 80.00 USD invoice paid with a new bank
// account entered by hand: Checkout completes unpaid, the micro-deposits
// are verified on Stripe's page, the payment is pending on the pay page
// and the invoice is not Paid until the debit settles.
func TestPayByBankInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Chromium against the built daemon")
	}
	w := newPayWorld(t, false)
	b := newBrowser(t)
	inv := w.invoice(t, "INV-4001", "80.00", "USD")
	link := w.payLink(t, inv)

	b.do(t, "open the payment link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#amount")))
	b.do(t, "pay with a new bank account",
		chromedp.Click(chromedp.CSS(`input[name=method][value=us_bank_account]`)),
		chromedp.Click(chromedp.CSS("#pay")),
		chromedp.WaitVisible(chromedp.CSS("#accountHolderName")),
		chromedp.SendKeys(chromedp.CSS("#accountHolderName"), "Jane Doe"),
		chromedp.Click(chromedp.CSS("#bankManual")),
		chromedp.SendKeys(chromedp.CSS("#routingNumber"), "110000000"),
		chromedp.SendKeys(chromedp.CSS("#accountNumber"), "000123456789"),
	)
	browsertest.Screenshot(t, b.ctx, "checkout-bank")
	b.do(t, "confirm on Checkout", chromedp.Click(chromedp.CSS("#submit")))
	b.waitText(t, "Confirm your bank account") // back on the daemon
	browsertest.Screenshot(t, b.ctx, "bank-return")
	browsertest.AssertAccessible(t, b.ctx)

	pis := w.intentsOf(inv)
	if len(pis) != 1 {
		t.Fatalf("%d PaymentIntents for the invoice", len(pis))
	}
	b.do(t, "verify the micro-deposits", chromedp.Navigate(w.verificationURL(t, pis[0].ID)),
		chromedp.WaitVisible(chromedp.CSS("#amount1")),
		chromedp.SendKeys(chromedp.CSS("#amount1"), "32"),
		chromedp.SendKeys(chromedp.CSS("#amount2"), "45"),
		chromedp.Click(chromedp.CSS("#verify")),
	)
	b.waitText(t, "is verified")
	b.do(t, "open the link again", chromedp.Navigate(link))
	page := b.waitText(t, "This invoice is being paid")
	if !strings.Contains(page, "Pending") || !strings.Contains(page, "80.00 USD") || !strings.Contains(page, "Processing") || strings.Contains(page, "Pay with") {
		t.Errorf("the pay page after verification shows:\n%s", page)
	}
	browsertest.Screenshot(t, b.ctx, "pay-page-pending")
	if st := w.crmInvoice(t, inv)["Status__c"]; st == "Paid" {
		t.Errorf("the invoice is %v in the CRM while the debit is processing", st)
	}
	if err := w.emu.st.SettleACH(pis[0].ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the invoice Paid in the CRM", func() bool { return w.crmInvoice(t, inv)["Status__c"] == "Paid" })
}
