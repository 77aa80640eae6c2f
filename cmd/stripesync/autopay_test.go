package main

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
)

// autoPayWorld is a pay world with mail to ops, a fast retry schedule, and
// helpers to give an account an auto-pay invoice and a default card.
type autoPayWorld struct {
	*payWorld
}

func newAutoPayWorld(t *testing.T, postgres bool, extra ...string) *autoPayWorld {
	t.Helper()
	// Only the test's runs may charge: the daemon's own daily run must not
	// be due today, and a time earlier in the day would be (a daemon
	// started after its time runs it at once). So the daemon keeps a zone
	// where it is now noon-something, on today's UTC date, and runs at
	// 23:30 there, more than ten hours away.
	now := time.Now()
	zone := noonZone(now)
	if loc, err := time.LoadLocation(zone); err != nil || now.In(loc).Hour() != 12 || now.In(loc).Day() != now.UTC().Day() {
		t.Fatalf("zone %s at %s: %v", zone, now.UTC(), err)
	}
	env := append([]string{"STRIPESYNC_OPS_EMAIL=ops@acme.test", "STRIPESYNC_AUTOPAY_RETRY=2s,4s,8s",
		"STRIPESYNC_TIMEZONE=" + zone, "STRIPESYNC_AUTOPAY_AT=23:30"}, extra...)
	return &autoPayWorld{newPayWorld(t, postgres, env...)}
}

// noonZone names a fixed zone whose clock reads 12:xx at now, on now's UTC
// date.
func noonZone(now time.Time) string {
	switch offset := 12 - now.UTC().Hour(); {
	case offset > 0:
		return fmt.Sprintf("Etc/GMT-%d", offset) // POSIX signs: GMT-3 is UTC+3
	case offset < 0:
		return fmt.Sprintf("Etc/GMT+%d", -offset)
	default:
		return "UTC"
	}
}

// customer adds a CRM account with an auto-pay invoice of amount due on
// due, pushes it, and makes the test card a saved card of its Stripe
// customer, the default one when dflt is set. It returns the invoice id and
// the card's payment method.
func (w *autoPayWorld) customer(t *testing.T, name, number, amount, due, card string, dflt bool) (invoice, pm string) {
	t.Helper()
	account := w.emu.sf.Insert("Account", map[string]any{"Name": name, "Billing_Email__c": "ap@" + strings.ReplaceAll(strings.ToLower(name), " ", "") + ".test"})
	invoice = w.emu.sf.Insert("Invoice__c", map[string]any{
		"Name": number, "Account__c": account, "Amount__c": amount, "CurrencyIsoCode": "USD",
		"Status__c": "Open", "Due_Date__c": due, "Auto_Pay__c": true,
	})
	w.run(t, "sync", "accounts")
	customer := w.customerOf(t, account)
	sw := &staffWorld{payWorld: w.payWorld}
	pm = sw.postStripe(t, emuStripeKey, "/v1/payment_methods/"+card+"/attach", url.Values{"customer": {customer}})
	if strings.HasPrefix(card, "pm_usBankAccount") {
		// A bank account is debited off session under the mandate it
		// was set up with, as Checkout's setup mode leaves it.
		sw.postStripe(t, emuStripeKey, "/v1/setup_intents", url.Values{
			"customer": {customer}, "payment_method": {pm}, "payment_method_types[]": {"us_bank_account"},
			"confirm": {"true"}, "usage": {"off_session"}, "mandate_data[customer_acceptance][type]": {"offline"},
		})
	}
	if dflt {
		sw.postStripe(t, emuStripeKey, "/v1/customers/"+customer, url.Values{"invoice_settings[default_payment_method]": {pm}})
	}
	return invoice, pm
}

// autopay runs `stripesync autopay` and returns its output and whether it
// exited 0.
func (w *autoPayWorld) autopay(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	out, err := w.try(t, append([]string{"autopay"}, args...)...)
	return out, err == nil
}

func line(out, number string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, number+" ") {
			return l
		}
	}
	return ""
}

// TestAutoPay charges the invoices due today with auto-pay on: a dry run
// first, which charges nothing; then a run that charges the due one once
// (a second run the same day charges nothing more), leaves alone the one
// due later and the one without a default method but says why, retries a
// soft decline on its schedule until it is paid, and gives up at once on
// a hard decline, which lands in the inbox, the ops digest and the CRM.
func TestAutoPay(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the serve binary")
	}
	w := newAutoPayWorld(t, false)
	today := time.Now().UTC().Format(time.DateOnly)
	later := time.Now().UTC().AddDate(0, 0, 10).Format(time.DateOnly)
	due, _ := w.customer(t, "Initech Two", "INV-5001", "50.00", today, "pm_card_visa", true)
	notYet, _ := w.customer(t, "Hooli", "INV-5002", "20.00", later, "pm_card_visa", true)
	noDefault, _ := w.customer(t, "Pied Piper", "INV-5003", "30.00", today, "pm_card_visa", false)
	soft, softCard := w.customer(t, "Globex", "INV-5004", "40.00", today, "pm_card_visa", true)
	hard, hardCard := w.customer(t, "Umbrella", "INV-5005", "60.00", today, "pm_card_visa", true)
	if err := w.emu.st.DeclineNext(softCard, 2, "insufficient_funds"); err != nil {
		t.Fatal(err)
	}
	if err := w.emu.st.DeclineNext(hardCard, 5, "lost_card"); err != nil {
		t.Fatal(err)
	}

	out, ok := w.autopay(t, "--dry-run")
	if !ok || !strings.Contains(line(out, "INV-5001"), "would charge") || !strings.Contains(line(out, "INV-5003"), "no default payment method") ||
		line(out, "INV-5002") != "" {
		t.Errorf("dry run:\n%s", out)
	}
	if n := len(w.intentsOf(due)); n != 0 {
		t.Fatalf("the dry run made %d PaymentIntents", n)
	}

	out, ok = w.autopay(t)
	if ok {
		t.Errorf("a run with declines exited 0:\n%s", out)
	}
	for number, want := range map[string]string{
		"INV-5001": "charged", "INV-5003": "no default payment method", "INV-5004": "declined, will retry", "INV-5005": "failed",
	} {
		if !strings.Contains(line(out, number), want) {
			t.Errorf("%s: %q, want %q\n%s", number, line(out, number), want, out)
		}
	}
	// The same day again: nothing is charged twice, the soft decline
	// waits for its retry.
	out, _ = w.autopay(t)
	if !strings.Contains(line(out, "INV-5004"), "the next try is on") || line(out, "INV-5001") != "" {
		t.Errorf("the second run:\n%s", out)
	}
	if pis := w.intentsOf(due); len(pis) != 1 || pis[0].Amount != 5000 {
		t.Errorf("INV-5001 has PaymentIntents %+v, want one of 50.00", pis)
	}
	if n := len(w.intentsOf(notYet)) + len(w.intentsOf(noDefault)); n != 0 {
		t.Errorf("%d PaymentIntents for invoices not to be charged", n)
	}

	// The soft decline: tried again after 2 s (declined), after 4 s
	// (paid); one payment, the failure resolved.
	time.Sleep(2 * time.Second)
	out, _ = w.autopay(t)
	if !strings.Contains(line(out, "INV-5004"), "declined, will retry") {
		t.Errorf("the first retry:\n%s", out)
	}
	time.Sleep(2 * time.Second)
	out, ok = w.autopay(t)
	if !ok || !strings.Contains(line(out, "INV-5004"), "charged") {
		t.Errorf("the second retry:\n%s", out)
	}
	waitFor(t, "INV-5004 Paid in the CRM", func() bool { return w.crmInvoice(t, soft)["Status__c"] == "Paid" })
	succeeded := 0
	for _, pi := range w.intentsOf(soft) {
		if pi.Status == "succeeded" {
			succeeded++
		}
	}
	if pis := w.intentsOf(soft); len(pis) != 3 || succeeded != 1 {
		t.Errorf("INV-5004 has %d PaymentIntents, %d succeeded; want 3 attempts and one payment", len(pis), succeeded)
	}
	list := w.run(t, "failures", "list", "--status", "all")
	if !strings.Contains(lineWith(list, soft), "resolved") {
		t.Errorf("the soft decline is not resolved:\n%s", list)
	}

	// The hard decline: no retry, open in the inbox, mailed to ops, and
	// its reason in the CRM.
	if got := lineWith(list, hard); !strings.Contains(got, "open") || !strings.Contains(got, "lost_card") {
		t.Errorf("the hard decline in the inbox: %q\n%s", got, list)
	}
	if n := len(w.intentsOf(hard)); n != 1 {
		t.Errorf("the hard decline was tried %d times, want once", n)
	}
	waitFor(t, "the ops digest", func() bool {
		for _, m := range w.mail.Messages() {
			if m.To[0] == "ops@acme.test" && strings.Contains(m.Text, "lost_card") {
				return true
			}
		}
		return false
	})
	waitFor(t, "Failure_Reason__c of the hard decline", func() bool {
		pis := w.intentsOf(hard)
		if len(pis) != 1 {
			return false
		}
		rec, ok := w.emu.sf.GetByExternalID("Payment__c", "Stripe_Payment_Id__c", pis[0].ID)
		return ok && rec["Status__c"] == string(stripesync.PaymentFailed) && strings.Contains(rec["Failure_Reason__c"].(string), "lost_card")
	})
	// The customer gives a new card: a retry from the inbox charges it.
	id, _, _ := strings.Cut(strings.TrimSpace(lineWith(list, hard)), " ")
	sw := &staffWorld{payWorld: w.payWorld}
	customer := w.intentsOf(hard)[0].Customer
	newCard := sw.postStripe(t, emuStripeKey, "/v1/payment_methods/pm_card_mastercard/attach", url.Values{"customer": {customer}})
	sw.postStripe(t, emuStripeKey, "/v1/customers/"+customer, url.Values{"invoice_settings[default_payment_method]": {newCard}})
	if out := w.run(t, "failures", "retry", id); !strings.Contains(out, "resolved") {
		t.Errorf("failures retry %s:\n%s", id, out)
	}
	waitFor(t, "INV-5005 Paid after the retry", func() bool { return w.crmInvoice(t, hard)["Status__c"] == "Paid" })
}

// lineWith is the line of out that mentions s.
func lineWith(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// TestAutoPayOnTwoProcesses runs auto-pay from two processes at once on
// one Postgres: each due invoice is charged once.
func TestAutoPayOnTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	w := newAutoPayWorld(t, true)
	today := time.Now().UTC().Format(time.DateOnly)
	var invoices []string
	for _, name := range []string{"Alpha", "Beta", "Gamma", "Delta"} {
		inv, _ := w.customer(t, name, "INV-6"+name, "15.00", today, "pm_card_visa", true)
		invoices = append(invoices, inv)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if out, ok := w.autopay(t); !ok {
				t.Errorf("autopay:\n%s", out)
			}
		})
	}
	wg.Wait()
	w.autopay(t) // and once more, later
	for _, inv := range invoices {
		if pis := w.intentsOf(inv); len(pis) != 1 || pis[0].Status != "succeeded" {
			t.Errorf("invoice %s has PaymentIntents %+v, want one succeeded", inv, pis)
		}
	}
}

// TestAutoPayBankDebitAndLink: a bank debit is pending until it settles,
// and a returned one stops the invoice's auto-pay; a hard card decline,
// with STRIPESYNC_AUTOPAY_SEND_LINK_ON_FAILURE, e-mails the customer a
// payment link and says so in the inbox.
func TestAutoPayBankDebitAndLink(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the serve binary")
	}
	w := newAutoPayWorld(t, false, "STRIPESYNC_AUTOPAY_SEND_LINK_ON_FAILURE=true")
	today := time.Now().UTC().Format(time.DateOnly)
	bank, _ := w.customer(t, "Vandelay", "INV-7001", "25.00", today, "pm_usBankAccount_success", true)
	card, cardPM := w.customer(t, "Kramerica", "INV-7002", "35.00", today, "pm_card_visa", true)
	auth, _ := w.customer(t, "Pendant", "INV-7003", "45.00", today, "pm_card_authenticationRequired", true)
	if err := w.emu.st.DeclineNext(cardPM, 5, "stolen_card"); err != nil {
		t.Fatal(err)
	}
	out, _ := w.autopay(t)
	if !strings.Contains(line(out, "INV-7001"), "processing") || !strings.Contains(line(out, "INV-7002"), "failed") ||
		!strings.Contains(line(out, "INV-7003"), "failed") {
		t.Fatalf("the run:\n%s", out)
	}
	waitFor(t, "the payment link mailed to the card's customer", func() bool {
		for _, m := range w.mail.Messages() {
			if m.To[0] == "ap@kramerica.test" && strings.Contains(m.Subject, "INV-7002") {
				return true
			}
		}
		return false
	})
	list := w.run(t, "failures", "list")
	if got := lineWith(list, card); !strings.Contains(got, "A payment link was e-mailed to ap@kramerica.test") {
		t.Errorf("the card's failure: %q", got)
	}
	// A card that asks for 3-D Secure cannot be charged off session: no
	// retry, the customer is sent a link to pay on session.
	if got := lineWith(list, auth); !strings.Contains(got, "open") || !strings.Contains(got, "authentication_required") {
		t.Errorf("the 3-D Secure card's failure: %q\n%s", got, list)
	}

	// The bank returns the debit: the invoice's auto-pay stops, with the
	// return in the inbox.
	pis := w.intentsOf(bank)
	if len(pis) != 1 || pis[0].Status != "processing" {
		t.Fatalf("the bank debit: %+v", pis)
	}
	if err := w.emu.st.ReturnACH(pis[0].ID, "R01"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the ACH return in the inbox", func() bool {
		return strings.Contains(lineWith(w.run(t, "failures", "list"), bank), "ACH return")
	})
	if got := lineWith(w.run(t, "failures", "list"), bank); !strings.Contains(got, "insufficient_funds") {
		t.Errorf("the return's entry: %q", got)
	}
	out, _ = w.autopay(t)
	if !strings.Contains(line(out, "INV-7001"), "auto-pay stopped (open)") {
		t.Errorf("after the return, the run:\n%s", out)
	}
	if n := len(w.intentsOf(bank)); n != 1 {
		t.Errorf("the returned invoice was debited %d times, want once", n)
	}
}
