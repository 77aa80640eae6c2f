package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/stripesync/stripesync/internal/browsertest"
)

// TestPortalInBrowser: the portal lists the account's invoices and
// receipts, makes a saved card the default, adds a card through Checkout
// in setup mode and removes it again, each change made in Stripe.
func TestPortalInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Chromium against the built daemon")
	}
	w := newPayWorld(t, false)
	b := newBrowser(t)
	paid := w.invoice(t, "INV-3001", "20.00", "USD")
	w.invoice(t, "INV-3002", "75.00", "USD")
	w.run(t, "sync", "accounts") // the hourly pull: the ledger learns the invoices

	// A first payment saves a Visa.
	b.do(t, "open the payment link", chromedp.Navigate(w.payLink(t, paid)), chromedp.WaitVisible(chromedp.CSS("#amount")))
	b.do(t, "pay with a new card", chromedp.Click(chromedp.CSS(`input[name=method][value=card]`)), chromedp.Click(chromedp.CSS("#pay")))
	b.fillCard(t, "4242424242424242")
	b.do(t, "confirm on Checkout", chromedp.Click(chromedp.CSS("#submit")))
	b.waitReceipt(t, 1)
	w.payLink(t, w.emu.sf.Insert("Invoice__c", map[string]any{"Name": "INV-3003", "Account__c": w.account, "Amount__c": "5.00", "CurrencyIsoCode": "USD", "Status__c": "Open"}))

	portal := w.portalLink(t, w.account)
	b.do(t, "open the portal", chromedp.Navigate(portal), chromedp.WaitVisible(chromedp.CSS("h1")))
	browsertest.Screenshot(t, b.ctx, "portal")
	browsertest.AssertAccessible(t, b.ctx)
	page := b.text(t)
	for _, want := range []string{"INV-3001", "INV-3002", "INV-3003", "Receipt R-000001", "Visa •••• 4242, expires 12/30", "Add a card", "Add a bank account"} {
		if !strings.Contains(page, want) {
			t.Errorf("the portal lacks %q:\n%s", want, page)
		}
	}

	b.do(t, "make the Visa the default", chromedp.Click(chromedp.CSS(`button[name=action][value=default]`)))
	b.waitText(t, "Your default payment method was changed")
	if page := b.text(t); !strings.Contains(page, "Default for auto-pay") {
		t.Errorf("after Make default the portal shows:\n%s", page)
	}
	customer := w.customerOf(t, w.account)
	var cust struct {
		InvoiceSettings struct {
			Default string `json:"default_payment_method"`
		} `json:"invoice_settings"`
	}
	w.stripeGET(t, "/v1/customers/"+customer, &cust)
	visa := cust.InvoiceSettings.Default
	if !strings.HasPrefix(visa, "pm_") {
		t.Fatalf("the customer's default payment method is %q", visa)
	}

	b.do(t, "add a card", chromedp.Click(chromedp.CSS(`button[name=kind][value=card]`)))
	b.fillCard(t, "5555555555554444")
	browsertest.Screenshot(t, b.ctx, "checkout-setup")
	b.do(t, "save it on Checkout", chromedp.Click(chromedp.CSS("#submit")))
	page = b.waitText(t, "Your new payment method was saved")
	if !strings.Contains(page, "Your new payment method was saved") || !strings.Contains(page, "Mastercard •••• 4444") {
		t.Fatalf("after adding a card the portal shows:\n%s", page)
	}
	browsertest.Screenshot(t, b.ctx, "portal-two-cards")

	b.do(t, "remove the Mastercard", chromedp.Click(chromedp.CSS(`li:not(:has(.badge)) button[name=action][value=remove]`)))
	b.waitText(t, "The payment method was removed")
	if page := b.text(t); strings.Contains(page, "Mastercard") || !strings.Contains(page, "Visa •••• 4242") {
		t.Errorf("after removing the Mastercard the portal shows:\n%s", page)
	}
	var list struct {
		Data []struct {
			ID   string `json:"id"`
			Card struct {
				Brand string `json:"brand"`
			} `json:"card"`
		} `json:"data"`
	}
	w.stripeGET(t, "/v1/customers/"+customer+"/payment_methods", &list)
	if len(list.Data) != 1 || list.Data[0].ID != visa {
		t.Errorf("the customer's methods in Stripe after the removal: %+v, want only %s", list.Data, visa)
	}
}
