package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/stripesync/stripesync/receipts/smtptest"
	syncer "github.com/stripesync/stripesync/sync"
)

// demoPayLink is the customer's side: a payment link is mailed for a new
// invoice, the customer pays 20.00 of it on the pay page through Checkout
// with a new card, then the 30.00 left with the card Checkout saved, and
// lands on a receipt each time. A real customer does this in a browser;
// the demo does it with plain HTTP, which the pages support (they need no
// JavaScript). It returns the pay page and portal URLs it used.
func demoPayLink(ctx context.Context, a *app, emu *emulators, mail *smtptest.Server, account, dir string, stdout io.Writer) (payURL, portalURL string, err error) {
	inv := emu.sf.Insert("Invoice__c", map[string]any{
		"Name": "INV-2001", "Account__c": account, "Amount__c": "50.00",
		"CurrencyIsoCode": "USD", "Status__c": "Open", "Due_Date__c": "2026-12-31",
	})
	before := len(mail.Messages())
	link, err := a.engine.IssuePaymentLink(ctx, syncer.LinkRequest{InvoiceID: inv, Email: true, RequestID: "demo-" + inv})
	if err != nil {
		return "", "", err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	msgs, err := mail.WaitMessages(wctx, before+1)
	if err != nil {
		return "", "", fmt.Errorf("waiting for the payment link e-mail: %w", err)
	}
	sent := msgs[len(msgs)-1]
	fmt.Fprintf(stdout, "  Mailed %q to %s.\n", sent.Subject, strings.Join(sent.To, ", "))

	jar, _ := cookiejar.New(nil)
	customer := &customerBrowser{client: &http.Client{Jar: jar, Timeout: 30 * time.Second}, dir: dir}
	first, err := customer.payWithNewCard(ctx, link.URL, "20.00", "4242424242424242")
	if err != nil {
		return "", "", fmt.Errorf("pay 20.00 with a new card: %w", err)
	}
	fmt.Fprintf(stdout, "  Paid 20.00 on the pay page through Checkout with a new Visa: redirected to the receipt, saved as %s.\n", first)
	second, err := customer.payWithSavedCard(ctx, link.URL, "30.00")
	if err != nil {
		return "", "", fmt.Errorf("pay 30.00 with the saved card: %w", err)
	}
	fmt.Fprintf(stdout, "  Paid 30.00 with the saved card (no Checkout): redirected to the receipt, saved as %s.\n", second)
	// The link and the two receipts, so that the demo folder holds every
	// message once the walkthrough ends.
	if _, err := mail.WaitMessages(wctx, before+3); err != nil {
		return "", "", fmt.Errorf("waiting for the pay page's receipts: %w", err)
	}
	for {
		rec, _ := emu.sf.Get("Invoice__c", inv)
		if link, _ := rec["Payment_Link__c"].(string); rec["Status__c"] == "Paid" && link == "" {
			fmt.Fprintf(stdout, "  INV-2001 is Paid in the CRM; its Payment_Link__c was cleared.\n")
			break
		}
		if wctx.Err() != nil {
			return "", "", fmt.Errorf("INV-2001 is %v in the CRM with link %v, want Paid without one", rec["Status__c"], rec["Payment_Link__c"])
		}
		time.Sleep(20 * time.Millisecond)
	}
	portalURL, _, err = a.engine.PortalLink(ctx, account)
	return link.URL, portalURL, err
}

// customerBrowser is the demo's customer: a cookie jar and the forms of
// the pay page and of the emulator's hosted Checkout.
type customerBrowser struct {
	client *http.Client
	dir    string // where receipts are saved
	n      int
	// lastBody is the body of the last response, kept for keepReceipt.
	lastBody []byte
}

var (
	nonceField = regexp.MustCompile(`name="nonce" value="([^"]+)"`)
	savedCard  = regexp.MustCompile(`value="(saved:pm_[^"]+)"`)
)

// payPage loads the pay page and returns its form nonce and body.
func (c *customerBrowser) payPage(ctx context.Context, link string) (nonce, page string, err error) {
	page, _, err = c.get(ctx, link)
	if err != nil {
		return "", "", err
	}
	m := nonceField.FindStringSubmatch(page)
	if m == nil {
		return "", "", errors.New("the pay page has no form")
	}
	return m[1], page, nil
}

func (c *customerBrowser) payWithNewCard(ctx context.Context, link, amount, card string) (string, error) {
	nonce, _, err := c.payPage(ctx, link)
	if err != nil {
		return "", err
	}
	checkout, resp, err := c.post(ctx, link, url.Values{"nonce": {nonce}, "amount": {amount}, "method": {"card"}})
	if err != nil {
		return "", err
	}
	if !strings.Contains(checkout, `id="cardNumber"`) {
		return "", fmt.Errorf("the pay page did not lead to Checkout (%s)", resp.Request.URL)
	}
	_, resp, err = c.post(ctx, resp.Request.URL.String(), url.Values{
		"method": {"card"}, "email": {"ap@example.com"}, "cardNumber": {card},
		"cardExpiry": {"12 / 30"}, "cardCvc": {"123"}, "billingName": {"Demo Customer"},
	})
	if err != nil {
		return "", err
	}
	return c.keepReceipt(resp)
}

func (c *customerBrowser) payWithSavedCard(ctx context.Context, link, amount string) (string, error) {
	nonce, page, err := c.payPage(ctx, link)
	if err != nil {
		return "", err
	}
	m := savedCard.FindStringSubmatch(page)
	if m == nil {
		return "", errors.New("the pay page offers no saved card")
	}
	_, resp, err := c.post(ctx, link, url.Values{"nonce": {nonce}, "amount": {amount}, "method": {m[1]}})
	if err != nil {
		return "", err
	}
	return c.keepReceipt(resp)
}

// keepReceipt saves the receipt PDF a payment redirected to.
func (c *customerBrowser) keepReceipt(resp *http.Response) (string, error) {
	if resp.Header.Get("Content-Type") != "application/pdf" {
		return "", fmt.Errorf("the payment ended on %s (%s), not a receipt", resp.Request.URL.Path, resp.Header.Get("Content-Type"))
	}
	c.n++
	path := filepath.Join(c.dir, fmt.Sprintf("pay-page-receipt-%d.pdf", c.n))
	return path, os.WriteFile(path, c.lastBody, 0o644)
}

func (c *customerBrowser) get(ctx context.Context, u string) (string, *http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", nil, err
	}
	return c.do(req)
}

func (c *customerBrowser) post(ctx context.Context, u string, form url.Values) (string, *http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return "", nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// do sends req, following redirects as a browser does, and keeps the
// final body.
func (c *customerBrowser) do(req *http.Request) (string, *http.Response, error) {
	resp, err := c.client.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("%s %s: %s", req.Method, resp.Request.URL.Path, resp.Status)
	}
	c.lastBody = body
	return string(body), resp, nil
}
