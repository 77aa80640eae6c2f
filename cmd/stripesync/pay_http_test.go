package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/stripesync/stripesync/links"
)

// These tests drive the pay page and the portal of the built daemon over
// plain HTTP, as a browser without JavaScript would: one cookie jar a
// browser, every redirect looked at, and the hosted Stripe pages of the
// emulator posted to directly.

// checkoutPrefix is where the emulator's hosted Checkout pages live.
func (w *payWorld) checkoutPrefix() string { return w.emu.st.URL() + "/checkout/pay/cs_" }

// toCheckout submits the pay page of link in s and checks that it
// redirects to a hosted Checkout page.
func (w *payWorld) toCheckout(t *testing.T, s *surfer, link, amount, method string) page {
	t.Helper()
	to := s.submitPay(t, link, amount, method)
	to.want(t, http.StatusSeeOther)
	if !strings.HasPrefix(to.location, w.checkoutPrefix()) {
		t.Fatalf("paying %s by %s redirects to %q, want Checkout", amount, method, to.location)
	}
	return to
}

// TestPayHTTPBounds: amounts below Stripe's minimum or above the balance
// are refused on the page, before anything reaches Stripe; the minimum
// itself is accepted, in a currency without decimals too.
func TestPayHTTPBounds(t *testing.T) {
	w := newPayWorld(t, false)
	usd := w.payLink(t, w.invoice(t, "INV-2001", "100.00", "USD"))
	jpy := w.payLink(t, w.invoice(t, "INV-2002", "1000", "JPY"))
	s := newSurfer(t)

	before := w.paymentWrites()
	s.submitPay(t, usd, "0.49", "card").want(t, http.StatusBadRequest, "The amount must be at least 0.50 USD")
	s.submitPay(t, usd, "100.01", "card").want(t, http.StatusBadRequest, "The amount must be at most 100.00 USD")
	s.submitPay(t, jpy, "49", "card").want(t, http.StatusBadRequest, "The amount must be at least 50 JPY")
	s.submitPay(t, jpy, "1001", "card").want(t, http.StatusBadRequest, "The amount must be at most 1000 JPY")
	if got := w.paymentWrites(); got != before {
		t.Errorf("refused amounts made %d Checkout/PaymentIntent writes to Stripe, want none", got-before)
	}
	w.wantNothingReserved(t, usd, "100.00")
	w.wantNothingReserved(t, jpy, "1000")

	to := w.toCheckout(t, s, jpy, "50", "card")
	if cs := w.session(t, to.location); cs.Amount != 50 || cs.Mode != "payment" || cs.Status != "open" {
		t.Errorf("the Checkout Session of 50 JPY: %+v", cs)
	}
}

// TestPayHTTPTwoBrowsers: two browsers asking for Checkout of the whole
// balance at the same moment; one gets it, the other is told a payment is
// in progress until the first one cancels.
func TestPayHTTPTwoBrowsers(t *testing.T) {
	for _, db := range []struct {
		name     string
		postgres bool
	}{{"sqlite", false}, {"postgres", true}} {
		t.Run(db.name, func(t *testing.T) {
			if db.postgres && testing.Short() {
				t.Skip("needs Postgres")
			}
			twoBrowsers(t, newPayWorld(t, db.postgres))
		})
	}
}

func twoBrowsers(t *testing.T, w *payWorld) {
	link := w.payLink(t, w.invoice(t, "INV-2101", "60.00", "USD"))
	surfers := []*surfer{newSurfer(t), newSurfer(t)}
	forms := []url.Values{
		payForm(surfers[0].get(t, link).nonce(t), "60.00", "card"),
		payForm(surfers[1].get(t, link).nonce(t), "60.00", "card"),
	}
	answers := make([]page, 2)
	errs := make([]error, 2)
	var wg gosync.WaitGroup
	for i, s := range surfers {
		wg.Go(func() {
			answers[i], errs[i] = s.try(t.Context(), http.MethodPost, link, "application/x-www-form-urlencoded", forms[i].Encode())
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	first, second := 0, 1
	if answers[1].status == http.StatusSeeOther {
		first, second = 1, 0
	}
	answers[first].want(t, http.StatusSeeOther)
	if !strings.HasPrefix(answers[first].location, w.checkoutPrefix()) {
		t.Fatalf("the first browser is sent to %q, want Checkout", answers[first].location)
	}
	answers[second].want(t, http.StatusConflict, "Another payment of this invoice is in progress")

	// Asking again changes nothing while the first Checkout is open: the
	// page says why and offers no form.
	again := surfers[second].get(t, link)
	again.want(t, http.StatusOK, "Another payment of this invoice is in progress")
	if strings.Contains(again.body, "<form") {
		t.Errorf("the pay page offers a form while the whole balance is held:\n%s", again.body)
	}

	// The first browser walks away: Checkout's cancel link releases the
	// amount and expires the session.
	cs := w.session(t, answers[first].location)
	back := surfers[first].get(t, cs.CancelURL)
	if back.status != http.StatusSeeOther || back.location != link {
		t.Fatalf("cancel_url answered %d → %q, want 303 to the pay page", back.status, back.location)
	}
	if got := w.session(t, answers[first].location).Status; got != "expired" {
		t.Errorf("the canceled Checkout Session is %s, want expired", got)
	}
	w.toCheckout(t, surfers[second], link, "60.00", "card")
}

// TestPayHTTPDoubleSubmitSavedCard: the saved-card form posted twice at
// once and then once more charges once, and every answer is the receipt.
func TestPayHTTPDoubleSubmitSavedCard(t *testing.T) {
	w := newPayWorld(t, false)
	inv := w.invoice(t, "INV-2201", "100.00", "USD")
	link := w.payLink(t, inv)
	s := newSurfer(t)
	if r := s.payByCard(t, link, "20.00"); r.status != http.StatusOK || r.contentType != "application/pdf" {
		t.Fatalf("paying 20.00 by card ends at %s: %d %s", r.url, r.status, r.contentType)
	}

	answers := doubleSubmit(t, s, link, "30.00", "Visa •••• 4242")
	for i, a := range answers {
		a.want(t, http.StatusSeeOther)
		if a.location != answers[0].location {
			t.Errorf("submit %d leads to %q, submit 0 to %q", i, a.location, answers[0].location)
		}
	}
	if r := s.get(t, answers[0].location); r.status != http.StatusOK || r.contentType != "application/pdf" {
		t.Errorf("the submits lead to %s: %d %s, want the receipt PDF", r.url, r.status, r.contentType)
	}
	wantIntents(t, w, inv, 3000, 2)
	s.get(t, link).want(t, http.StatusOK, `id="balance">50.00 USD<`)
}

// TestPayHTTPDoubleSubmitSavedBank: the same for a saved bank account,
// whose charge carries the mandate the payer accepted on the form; the
// repeat comes a few seconds later, as a reload of the answer would.
func TestPayHTTPDoubleSubmitSavedBank(t *testing.T) {
	w := newPayWorld(t, false)
	inv := w.invoice(t, "INV-2211", "100.00", "USD")
	link := w.payLink(t, inv)
	s := newSurfer(t)
	back := s.post(t, w.toCheckout(t, s, link, "20.00", "us_bank_account").location, bankCheckout("instant"))
	back.want(t, http.StatusSeeOther)
	s.follow(t, back).want(t, http.StatusOK, "Your payment is on its way")

	answers := doubleSubmit(t, s, link, "30.00", "STRIPE TEST BANK •••• 6789")
	for _, a := range answers {
		a.want(t, http.StatusOK, "Your payment is on its way", "30.00 USD")
	}
	wantIntents(t, w, inv, 3000, 2)
}

// TestPayHTTPResubmitCheckout: the new-card form submitted again a moment
// later (a double click, a reload) never opens a second Checkout Session
// nor frees the amount the first one holds.
func TestPayHTTPResubmitCheckout(t *testing.T) {
	w := newPayWorld(t, false)
	link := w.payLink(t, w.invoice(t, "INV-2221", "45.00", "USD"))
	s := newSurfer(t)
	body := payForm(s.get(t, link).nonce(t), "45.00", "card")
	first := s.post(t, link, body)
	first.want(t, http.StatusSeeOther)
	time.Sleep(1100 * time.Millisecond) // Stripe's expires_at is in seconds
	// Within the minute the repeat replays the first session; across a
	// minute boundary Stripe refuses the key's new expiry, and the page
	// says the payment is under way.
	switch again := s.post(t, link, body); again.status {
	case http.StatusSeeOther:
		if again.location != first.location {
			t.Errorf("the repeat goes to %q, the first submit to %q", again.location, first.location)
		}
	default:
		again.want(t, http.StatusConflict, "This payment was already started from this page")
	}
	if cs := w.session(t, first.location); cs.Status != "open" {
		t.Errorf("the first Checkout Session is %s after the repeat, want open", cs.Status)
	}
	newSurfer(t).get(t, link).want(t, http.StatusOK, "Another payment of this invoice is in progress")
}

// doubleSubmit posts the pay form of link for amount with the saved
// method labelled label twice at once, then once more a second later (a
// mandate's acceptance time is in seconds), and returns the three answers.
func doubleSubmit(t *testing.T, s *surfer, link, amount, label string) []page {
	t.Helper()
	form := s.get(t, link)
	form.want(t, http.StatusOK, label)
	m := savedMethod.FindStringSubmatch(form.body)
	if m == nil {
		t.Fatalf("the pay page offers no saved method:\n%s", form.body)
	}
	body := payForm(form.nonce(t), amount, m[1]).Encode()
	answers := make([]page, 3)
	errs := make([]error, 2)
	var wg gosync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			answers[i], errs[i] = s.try(t.Context(), http.MethodPost, link, "application/x-www-form-urlencoded", body)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1100 * time.Millisecond)
	answers[2] = s.do(t, http.MethodPost, link, "application/x-www-form-urlencoded", body)
	return answers
}

// wantIntents checks that the emulator holds exactly one PaymentIntent of
// amount (minor units) for the invoice, and total in all.
func wantIntents(t *testing.T, w *payWorld, invoiceID string, amount int64, total int) {
	t.Helper()
	pis := w.intentsOf(invoiceID)
	n := 0
	for _, pi := range pis {
		if pi.Amount == amount {
			n++
		}
	}
	if n != 1 || len(pis) != total {
		t.Errorf("%d PaymentIntents of %d (%d in all) for the invoice, want 1 (%d)", n, amount, len(pis), total)
	}
}

// TestPayHTTPBadLinks: a tampered, an expired and a revoked token show
// the "not valid" page and write nothing, even to a form with a genuine
// nonce; a paid invoice's link shows its receipts and no form.
func TestPayHTTPBadLinks(t *testing.T) {
	w := newPayWorld(t, false)
	inv := w.invoice(t, "INV-2301", "40.00", "USD")
	link := w.payLink(t, inv)
	s := newSurfer(t)
	nonce := s.get(t, link).nonce(t)

	token := strings.TrimPrefix(link, w.base+"/pay/")
	i := len(token) / 2
	flip := byte('A')
	if token[i] == 'A' {
		flip = 'B'
	}
	tampered := w.base + "/pay/" + token[:i] + string(flip) + token[i+1:]

	signer, err := links.NewSigner([]byte(signingKey(t, w)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	old, err := signer.Token(links.Link{Kind: links.Pay, Subject: inv, Issued: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	expired := w.base + "/pay/" + old

	revoked := w.payLink(t, inv)
	w.run(t, "link", "--invoice", inv, "--revoke")

	before := w.paymentWrites()
	for _, c := range []struct{ name, url, text string }{
		{"tampered", tampered, "This link is not valid"},
		{"expired", expired, "This payment link has expired"},
		{"revoked", revoked, "This link is not valid"},
		{"revoked first link", link, "This link is not valid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			get := s.get(t, c.url)
			get.want(t, http.StatusNotFound, c.text)
			post := s.post(t, c.url, payForm(nonce, "40.00", "card"))
			post.want(t, http.StatusNotFound, c.text)
			for _, p := range []page{get, post} {
				if strings.Contains(p.body, "<form") {
					t.Errorf("%s shows a form:\n%s", c.name, p.body)
				}
			}
		})
	}
	if got := w.paymentWrites(); got != before {
		t.Errorf("bad links made %d Checkout/PaymentIntent writes to Stripe, want none", got-before)
	}
	w.wantNothingReserved(t, w.payLink(t, inv), "40.00")

	paid := w.payLink(t, w.invoice(t, "INV-2302", "10.00", "USD"))
	s.payByCard(t, paid, "10.00")
	p := s.get(t, paid)
	p.want(t, http.StatusOK, "This invoice is paid", "Receipt ", "10.00 USD")
	if strings.Contains(p.body, "<form") || !regexp.MustCompile(`<a href="[^"]+">Receipt `).MatchString(p.body) {
		t.Errorf("the paid invoice's page has a form or no receipt link:\n%s", p.body)
	}
}

// signingKey is the STRIPESYNC_SIGNING_KEY of the world.
func signingKey(t *testing.T, w *payWorld) string {
	t.Helper()
	for _, kv := range w.env {
		if k, ok := strings.CutPrefix(kv, "STRIPESYNC_SIGNING_KEY="); ok {
			return k
		}
	}
	t.Fatal("the world has no signing key")
	return ""
}

// TestPayHTTPEuroHasNoBank: a EUR invoice offers cards only, and a forged
// bank account choice is refused before Stripe hears of it.
func TestPayHTTPEuroHasNoBank(t *testing.T) {
	w := newPayWorld(t, false)
	link := w.payLink(t, w.invoice(t, "INV-2501", "70.00", "EUR"))
	s := newSurfer(t)
	form := s.get(t, link)
	form.want(t, http.StatusOK, `value="card"`)
	if strings.Contains(form.body, "us_bank_account") || strings.Contains(form.body, "US bank account") ||
		strings.Contains(form.body, "paying with a bank account") || strings.Contains(form.body, "A new card or bank account") {
		t.Errorf("the EUR pay page offers a bank account:\n%s", form.body)
	}
	before := w.paymentWrites()
	s.post(t, link, payForm(form.nonce(t), "70.00", "us_bank_account")).want(t, http.StatusBadRequest, "Bank accounts")
	if got := w.paymentWrites(); got != before {
		t.Errorf("the forged choice made %d Checkout/PaymentIntent writes to Stripe, want none", got-before)
	}
	w.wantNothingReserved(t, link, "70.00")
}

// TestPayHTTPACHMicrodeposits: a new bank account entered by hand on
// Checkout waits for micro-deposits; once verified the payment is
// processing (pending on the page, Processing in the CRM), and it pays
// the invoice only when it settles.
func TestPayHTTPACHMicrodeposits(t *testing.T) {
	w := newPayWorld(t, false)
	inv := w.invoice(t, "INV-2601", "80.00", "USD")
	link := w.payLink(t, inv)
	s := newSurfer(t)

	to := w.toCheckout(t, s, link, "80.00", "us_bank_account")
	cs := w.session(t, to.location)
	back := s.post(t, to.location, bankCheckout("manual"))
	back.want(t, http.StatusSeeOther)
	s.follow(t, back).want(t, http.StatusOK, "Confirm your bank account to finish paying", "confirm the micro-deposits", "80.00 USD")

	pi := w.session(t, to.location).Intent
	if pi == "" {
		t.Fatalf("Checkout Session %s has no PaymentIntent", cs.ID)
	}
	// Until the bank account is confirmed nothing is debited, yet the
	// amount counts as pending: another payer cannot pay the balance
	// again.
	other := newSurfer(t).get(t, link)
	other.want(t, http.StatusOK, "This invoice is being paid", "A bank payment of 80.00 USD")
	if strings.Contains(other.body, "<form") {
		t.Errorf("while the micro-deposits wait, another visitor is offered a form:\n%s", other.body)
	}
	verify := w.verificationURL(t, pi)
	s.get(t, verify).want(t, http.StatusOK)
	s.post(t, verify, url.Values{"amount1": {"32"}, "amount2": {"45"}}).want(t, http.StatusOK)

	waitFor(t, "the pay page to show 80.00 pending", func() bool {
		return strings.Contains(s.get(t, link).body, `id="pending">80.00 USD<`)
	})
	waitFor(t, "a Processing Payment__c in the CRM", func() bool {
		p, ok := w.emu.sf.GetByExternalID("Payment__c", "Stripe_Payment_Id__c", pi)
		return ok && p["Status__c"] == "Processing" && p["Invoice__c"] == inv
	})
	if got := w.crmInvoice(t, inv)["Status__c"]; got == "Paid" {
		t.Errorf("the invoice is %v in the CRM before the debit settled", got)
	}

	if err := w.emu.st.SettleACH(pi); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the invoice Paid in the CRM", func() bool { return w.crmInvoice(t, inv)["Status__c"] == "Paid" })
}

// portalMethods are the saved methods a portal page lists, label → pm_ id.
var portalMethods = regexp.MustCompile(`(?s)<span class="label">([^<]+)</span>.*?name="method" value="(pm_[^"]+)"`)

func methodsOf(p page) map[string]string {
	out := map[string]string{}
	for _, m := range portalMethods.FindAllStringSubmatch(p.body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// TestPortalHTTP: the portal shows one account's invoices only, and its
// buttons add, remove and set the default method in Stripe and open
// Stripe's Billing Portal.
func TestPortalHTTP(t *testing.T) {
	w := newPayWorld(t, false)
	inv := w.invoice(t, "INV-2701", "25.00", "USD")
	other := w.emu.sf.Insert("Account", map[string]any{"Name": "Hooli", "Billing_Email__c": "ap@hooli.test"})
	w.emu.sf.Insert("Invoice__c", map[string]any{
		"Name": "INV-2702", "Account__c": other, "Amount__c": "35.00", "CurrencyIsoCode": "USD",
		"Status__c": "Open", "Due_Date__c": "2026-12-31",
	})
	w.run(t, "sync", "accounts")

	s := newSurfer(t)
	mine, theirs := w.portalLink(t, w.account), w.portalLink(t, other)
	s.get(t, mine).want(t, http.StatusOK, "INV-2701", "25.00 USD")
	s.get(t, theirs).want(t, http.StatusOK, "INV-2702")
	if p := s.get(t, mine); strings.Contains(p.body, "INV-2702") {
		t.Errorf("the first account's portal shows the other's invoice:\n%s", p.body)
	}
	if p := s.get(t, theirs); strings.Contains(p.body, "INV-2701") {
		t.Errorf("the second account's portal shows the first's invoice:\n%s", p.body)
	}

	// A card saved by paying, a second one added from the portal.
	s.payByCard(t, w.payLink(t, inv), "5.00")
	portal := s.get(t, mine)
	add := s.post(t, mine+"/add", url.Values{"nonce": {portal.nonce(t)}, "kind": {"card"}})
	add.want(t, http.StatusSeeOther)
	if !strings.HasPrefix(add.location, w.checkoutPrefix()) {
		t.Fatalf("add a card redirects to %q, want Checkout", add.location)
	}
	if cs := w.session(t, add.location); cs.Mode != "setup" {
		t.Errorf("add a card opens a %s-mode Checkout Session, want setup", cs.Mode)
	}
	saved := s.post(t, add.location, cardCheckout("5555555555554444"))
	saved.want(t, http.StatusSeeOther)
	portal = s.follow(t, saved)
	portal.want(t, http.StatusOK, "Your new payment method was saved.")
	methods := methodsOf(portal)
	visa, master := methods["Visa •••• 4242, expires 12/30"], methods["Mastercard •••• 4444, expires 12/30"]
	if visa == "" || master == "" || len(methods) != 2 {
		t.Fatalf("the portal lists %v, want the Visa and the Mastercard", methods)
	}

	customer := w.customerOf(t, w.account)
	s.post(t, mine+"/methods", url.Values{"nonce": {portal.nonce(t)}, "method": {master}, "action": {"default"}}).
		want(t, http.StatusSeeOther)
	var cus struct {
		Settings struct {
			Default string `json:"default_payment_method"`
		} `json:"invoice_settings"`
	}
	w.stripeGET(t, "/v1/customers/"+customer, &cus)
	if cus.Settings.Default != master {
		t.Errorf("invoice_settings.default_payment_method = %q, want %s", cus.Settings.Default, master)
	}
	s.get(t, mine).want(t, http.StatusOK, "Default for auto-pay")

	s.post(t, mine+"/methods", url.Values{"nonce": {portal.nonce(t)}, "method": {visa}, "action": {"remove"}}).
		want(t, http.StatusSeeOther)
	var pm struct {
		Customer *string `json:"customer"`
	}
	w.stripeGET(t, "/v1/payment_methods/"+visa, &pm)
	if pm.Customer != nil {
		t.Errorf("the removed card is still attached to %s", *pm.Customer)
	}
	if got := methodsOf(s.get(t, mine)); len(got) != 1 || got["Mastercard •••• 4444, expires 12/30"] != master {
		t.Errorf("after the removal the portal lists %v, want the Mastercard only", got)
	}

	// Another account's method cannot be touched through this portal.
	s.post(t, theirs+"/methods", url.Values{"nonce": {s.get(t, theirs).nonce(t)}, "method": {master}, "action": {"remove"}}).
		want(t, http.StatusNotFound)

	stripe := s.post(t, mine+"/stripe", url.Values{"nonce": {portal.nonce(t)}})
	stripe.want(t, http.StatusSeeOther)
	if !strings.HasPrefix(stripe.location, w.emu.st.URL()+"/billing/p/session/") {
		t.Errorf("the Billing Portal button redirects to %q, want the emulator's billing portal", stripe.location)
	}
}

// TestPayHTTPHostileBodies: a body over 8 KB, a malformed one and one of
// another type are refused with 400, and nothing is reserved or sent.
func TestPayHTTPHostileBodies(t *testing.T) {
	w := newPayWorld(t, false)
	link := w.payLink(t, w.invoice(t, "INV-2801", "90.00", "USD"))
	s := newSurfer(t)
	nonce := s.get(t, link).nonce(t)
	const form = "application/x-www-form-urlencoded"

	big := payForm(nonce, "90.00", "card")
	big.Set("padding", strings.Repeat("x", 9<<10))
	before := w.paymentWrites()
	for _, c := range []struct{ name, contentType, body string }{
		{"oversized", form, big.Encode()},
		{"oversized, padding first", form, "padding=" + strings.Repeat("x", 9<<10) + "&" + payForm(nonce, "90.00", "card").Encode()},
		{"malformed", form, "nonce=" + nonce + "&amount=90.00&method=card&%zz"},
		{"json", "application/json", `{"nonce":"` + nonce + `","amount":"90.00","method":"card"}`},
		{"multipart", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"amount\"\r\n\r\n90.00\r\n--x--\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s.do(t, http.MethodPost, link, c.contentType, c.body).want(t, http.StatusBadRequest, "The form could not be read")
		})
	}
	if got := w.paymentWrites(); got != before {
		t.Errorf("hostile bodies made %d Checkout/PaymentIntent writes to Stripe, want none", got-before)
	}
	w.wantNothingReserved(t, link, "90.00")
}
