package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stripesync/stripesync"
)

// Stripe's test bank account that settles, and the routing number every
// test account has.
const (
	testRouting = "110000000"
	testAccount = "000123456789"
)

// achBody is a staff payment of amount from the test account that
// settles.
func achBody(amount string) string {
	return fmt.Sprintf(`{"amount":%q,"ach":{"routing_number":%q,"account_number":%q,`+
		`"account_holder_type":"individual","account_holder_name":"Jenny Rosen"}}`, amount, testRouting, testAccount)
}

// staffAnswer is the JSON of a staff payment or verification answer.
type staffAnswer struct {
	ID            string `json:"id"`
	Status        string `json:"status"`
	PaymentMethod string `json:"payment_method"`
	NextStep      string `json:"next_step"`
	Error         struct {
		Message string `json:"message"`
	} `json:"error"`
}

func (a apiAnswer) decode(t testing.TB) staffAnswer {
	t.Helper()
	var out staffAnswer
	if err := json.Unmarshal([]byte(a.body), &out); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", a.status, err, a.body)
	}
	return out
}

// TestStaffBankPayment takes 30.00 of a 50.00 invoice from bank details
// read out on the phone: the payment waits for the micro-deposits in the
// ledger, the CRM and the staff API, holding its amount; wrong amounts are
// refused with the attempts left; the right ones start the debit, and the
// settlement pays the invoice with the card payment of the rest. An ACH
// payment of a EUR invoice is refused before Stripe is called.
func TestStaffBankPayment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the serve binary")
	}
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) { testStaffBankPayment(t, db == "postgres") })
	}
}

func testStaffBankPayment(t *testing.T, postgres bool) {
	w := newStaffWorld(t, postgres, "INV-2001", "50.00")
	payments := "/v1/invoices/" + w.invoice + "/payments"

	// A EUR invoice cannot be paid from a US bank account.
	eur := w.payWorld.invoice(t, "INV-2002", "40.00", "EUR")
	w.run(t, "sync", "accounts")
	writes := w.paymentWrites()
	refused := w.postJSON(t, w.base, "alice", "eur-1", "/v1/invoices/"+eur+"/payments", achBody("10.00"))
	if refused.status != http.StatusBadRequest || !strings.Contains(refused.decode(t).Error.Message, "only USD invoices") {
		t.Errorf("ACH on a EUR invoice: %d %s, want 400 naming USD", refused.status, refused.body)
	}
	if n := w.paymentWrites(); n != writes {
		t.Errorf("the refused EUR payment wrote %d payment requests to Stripe", n-writes)
	}

	bank := w.postJSON(t, w.base, "alice", "call-ach", payments, achBody("30.00"))
	got := bank.decode(t)
	if bank.status != http.StatusCreated || got.Status != string(stripesync.PaymentAwaitingVerification) ||
		!strings.HasPrefix(got.PaymentMethod, "pm_") || got.NextStep != stripesync.NextStepVerify {
		t.Fatalf("ACH payment: %d %s", bank.status, bank.body)
	}
	if strings.Contains(bank.body, testAccount) {
		t.Errorf("the answer repeats the account number: %s", bank.body)
	}
	// The PaymentIntent waits for micro-deposits, mandated offline.
	intents := w.intentsOf(w.invoice)
	if len(intents) != 1 || intents[0].Status != "requires_action" || intents[0].Amount != 3000 {
		t.Fatalf("Stripe holds %+v, want one 30.00 PaymentIntent in requires_action", intents)
	}
	// The CRM shows it waiting, with what has to happen next.
	waitFor(t, "the CRM's Payment__c awaiting verification", func() bool {
		rec, ok := w.emu.sf.GetByExternalID("Payment__c", "Stripe_Payment_Id__c", got.ID)
		return ok && rec["Status__c"] == "Awaiting Verification" && rec["Failure_Reason__c"] == stripesync.NextStepVerify
	})
	// The 30.00 is held: only 20.00 is left to pay.
	over := w.pay(t, w.base, "bob", "call-card-1", "25.00", w.card)
	if over.status != http.StatusConflict || !strings.Contains(over.body, "Only 20.00 USD is left to pay on INV-2001") {
		t.Errorf("25.00 by card on top of the bank payment: %d %s, want 409 with 20.00 left", over.status, over.body)
	}

	verify := "/v1/payment-methods/" + got.PaymentMethod + "/verify"
	wrong := w.postJSON(t, w.base, "bob", "", verify, `{"amounts":[12,34]}`)
	if wrong.status != http.StatusBadRequest || !strings.Contains(wrong.decode(t).Error.Message, "9 attempts left") {
		t.Errorf("wrong amounts: %d %s, want 400 with 9 attempts left", wrong.status, wrong.body)
	}
	if a := w.postJSON(t, w.base, "", "", verify, `{"amounts":[32,45]}`); a.status != http.StatusUnauthorized {
		t.Errorf("verification without a token: %d %s, want 401", a.status, a.body)
	}
	if a := w.postJSON(t, w.base, "bob", "", "/v1/payment-methods/pm_nobody/verify", `{"amounts":[32,45]}`); a.status != http.StatusNotFound {
		t.Errorf("verification of an account nobody entered: %d %s, want 404", a.status, a.body)
	}
	right := w.postJSON(t, w.base, "bob", "", verify, `{"amounts":[32,45]}`)
	if v := right.decode(t); right.status != http.StatusOK || v.Status != string(stripesync.PaymentProcessing) || v.NextStep != stripesync.NextStepSettle {
		t.Fatalf("right amounts: %d %s, want 200 Processing", right.status, right.body)
	}

	card := w.pay(t, w.base, "bob", "call-card-2", "20.00", w.card)
	if card.status != http.StatusCreated {
		t.Fatalf("20.00 by card: %d %s", card.status, card.body)
	}
	if err := w.emu.st.SettleACH(got.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the invoice Paid in the CRM", func() bool { return w.crmInvoice(t, w.invoice)["Status__c"] == "Paid" })
	waitFor(t, "two receipts mailed", func() bool { return w.receiptsMailed() == 2 })

	_, inv := w.invoiceAsStaff(t, "alice")
	var trail []string
	for _, a := range inv.Audit {
		trail = append(trail, a.Staff+" "+a.Action+" "+a.Detail+": "+a.Outcome)
	}
	// The EUR invoice's refusal is in its own trail, not in this one.
	want := []string{
		"alice payment 30.00 from bank account ••••6789 (individual, Jenny Rosen): ok",
		"bob payment 25.00 with " + w.card + ": Only 20.00 USD is left to pay on INV-2001",
		"bob verification amounts 12, 34: The amounts do not match the micro-deposits; 9 attempts left.",
		"bob verification amounts 32, 45: ok",
		"bob payment 20.00 with " + w.card + ": ok",
	}
	if strings.Join(trail, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit trail:\n%s\nwant:\n%s", strings.Join(trail, "\n"), strings.Join(want, "\n"))
	}
	for _, line := range strings.Split(w.d.log.From(0), "\n") {
		if strings.Contains(line, testAccount) {
			t.Errorf("the daemon logged the account number: %s", line)
		}
	}
}

// TestStaffPayCLI takes a 40.00 invoice's payments from the command line:
// 15.00 by the saved card, then 25.00 from bank details, a wrong
// verification (exit 1, the attempts left) and the right one; the guard is
// the API's, and so is the audit trail, under the operator's login.
func TestStaffPayCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	w := newStaffWorld(t, false, "INV-2101", "40.00")
	w.env = append(w.env, "USER=olga")

	out := w.run(t, "pay", "--invoice", w.invoice, "--amount", "15.00", "--payment-method", w.card)
	if !strings.Contains(out, "15.00 USD Succeeded Visa •••• 4242") {
		t.Errorf("pay by card printed %q", out)
	}
	if out, err := w.try(t, "pay", "--invoice", w.invoice, "--amount", "30.00", "--payment-method", w.card); err == nil ||
		!strings.Contains(out, "Only 25.00 USD is left to pay on INV-2101") {
		t.Errorf("paying 30.00 of 25.00 from the CLI: %v\n%s", err, out)
	}
	out = w.run(t, "pay", "--invoice", w.invoice, "--amount", "25.00", "--ach-routing", testRouting,
		"--ach-account", testAccount, "--holder-type", "company", "--holder-name", "Initech LLC")
	m := regexp.MustCompile(`stripesync verify --payment-method (pm_\S+)`).FindStringSubmatch(out)
	if !strings.Contains(out, "25.00 USD Awaiting Verification") || m == nil {
		t.Fatalf("pay by bank printed %q", out)
	}
	if out, err := w.try(t, "verify", "--payment-method", m[1], "--amounts", "12,34"); err == nil || !strings.Contains(out, "9 attempts left") {
		t.Errorf("a wrong verification from the CLI: %v\n%s", err, out)
	}
	if out := w.run(t, "verify", "--payment-method", m[1], "--code", "SM11AA"); !strings.Contains(out, "25.00 USD Processing") {
		t.Errorf("verify printed %q", out)
	}
	_, inv := w.invoiceAsStaff(t, "alice")
	var who []string
	for _, a := range inv.Audit {
		who = append(who, a.Staff+" "+a.Action)
	}
	want := "cli:olga payment,cli:olga payment,cli:olga payment,cli:olga verification,cli:olga verification"
	if strings.Join(who, ",") != want {
		t.Errorf("audit trail %q, want %q", who, want)
	}
}

// newCard makes a card PaymentMethod the way the console's Stripe.js does:
// with the publishable key, straight to Stripe, the daemon never seeing
// the number. It returns the pm_ id.
func (w *staffWorld) newCard(t *testing.T, number string) string {
	t.Helper()
	return w.postStripe(t, w.emu.st.PublishableKey(), "/v1/payment_methods", url.Values{
		"type": {"card"}, "card[number]": {number}, "card[exp_month]": {"12"}, "card[exp_year]": {"2034"}, "card[cvc]": {"123"},
	})
}

// TestStaffNewCardPayment pays with cards Stripe.js has just made rather
// than saved ones: a declined card is refused in plain words and leaves
// nothing reserved; a good one is charged without being saved on the
// customer; a method saved on another customer is refused.
func TestStaffNewCardPayment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the serve binary")
	}
	w := newStaffWorld(t, false, "INV-2201", "50.00")

	declined := w.pay(t, w.base, "alice", "call-declined", "20.00", w.newCard(t, "4000000000000002"))
	if declined.status != http.StatusPaymentRequired || declined.decode(t).Error.Message != "Your card was declined." {
		t.Errorf("a declined card: %d %s, want 402 with Stripe's words", declined.status, declined.body)
	}
	// Nothing stays reserved: the whole balance can be paid at once.
	good := w.pay(t, w.base, "bob", "call-good", "50.00", w.newCard(t, "4242424242424242"))
	if g := good.decode(t); good.status != http.StatusCreated || g.Status != string(stripesync.PaymentSucceeded) {
		t.Fatalf("50.00 by a new card after the decline: %d %s", good.status, good.body)
	}
	var methods struct {
		Data []struct{ ID string } `json:"data"`
	}
	w.stripeGET(t, "/v1/customers/"+w.customerOf(t, w.account)+"/payment_methods", &methods)
	if len(methods.Data) != 1 || methods.Data[0].ID != w.card {
		t.Errorf("the customer's saved methods are %+v, want only the saved card %s", methods.Data, w.card)
	}
	waitFor(t, "the invoice Paid in the CRM", func() bool { return w.crmInvoice(t, w.invoice)["Status__c"] == "Paid" })

	other := w.payWorld.invoice(t, "INV-2202", "10.00", "USD")
	w.run(t, "sync", "accounts")
	stranger := w.emu.sf.Insert("Account", map[string]any{"Name": "Globex", "Billing_Email__c": "ap@globex.test"})
	w.run(t, "sync", "accounts")
	theirs := w.saveCard(t, w.customerOf(t, stranger), "pm_card_visa")
	refused := w.postJSON(t, w.base, "alice", "call-theirs", "/v1/invoices/"+other+"/payments",
		fmt.Sprintf(`{"amount":"10.00","payment_method":%q}`, theirs))
	if refused.status != http.StatusBadRequest || refused.decode(t).Error.Message != "Payment method "+theirs+" belongs to another customer" ||
		len(w.intentsOf(other)) != 0 {
		t.Errorf("a method saved on another customer: %d %s, %d PaymentIntents", refused.status, refused.body, len(w.intentsOf(other)))
	}
}
