package stripeclient

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
)

// startStripeMock runs stripe-mock (the go tool pinned in go.mod) on
// ephemeral loopback ports and returns its base URL. The contract test must
// not be skipped, so any failure to start it fails the test.
func startStripeMock(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// "go tool -n" builds the tool once (then serves it from the build
	// cache) and prints the binary's path.
	out, err := exec.CommandContext(ctx, "go", "tool", "-n", "stripe-mock").Output()
	if err != nil {
		t.Fatalf("build stripe-mock: %v", err)
	}
	bin := strings.TrimSpace(string(out))

	// Both listeners get explicit ephemeral addresses: stripe-mock would
	// otherwise also open HTTPS on the fixed port 12112.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stripe-mock: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("stripe-mock did not start listening within 30s")
	}
	return ""
}

// TestStripeMockContract sends every request shape the Client makes to
// stripe-mock, which validates them against Stripe's OpenAPI spec and
// rejects unknown or malformed parameters. Its answers are canned, so only
// acceptance is asserted.
func TestStripeMockContract(t *testing.T) {
	url := startStripeMock(t)
	c, err := New(Config{Key: "sk_test_123", BaseURL: url, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	full := stripesync.Customer{
		Name:  "Acme Corp",
		Email: "billing@acme.example",
		Phone: "+1 555 0100",
		Address: stripesync.Address{
			Line1: "1 Main St", City: "Springfield", State: "IL", PostalCode: "62701", Country: "US",
		},
		CRMAccountID: "001000000000001AAA",
	}
	if _, err := c.CreateCustomer(ctx, full, "contract-create-full"); err != nil {
		t.Errorf("CreateCustomer(all fields): %v", err)
	}
	if _, err := c.CreateCustomer(ctx, stripesync.Customer{Name: "Only Name"}, "contract-create-min"); err != nil {
		t.Errorf("CreateCustomer(name only): %v", err)
	}
	if err := c.UpdateCustomer(ctx, "cus_123", full, "contract-update-full"); err != nil {
		t.Errorf("UpdateCustomer(all fields): %v", err)
	}
	if err := c.UpdateCustomer(ctx, "cus_123", stripesync.Customer{}, "contract-update-clear"); err != nil {
		t.Errorf("UpdateCustomer(all fields empty): %v", err)
	}
	if _, err := c.Customer(ctx, "cus_123"); err != nil {
		t.Errorf("Customer: %v", err)
	}
	if _, err := c.FindCustomerByAccount(ctx, "001'quoted\\id"); err != nil {
		t.Errorf("FindCustomerByAccount: %v", err)
	}

	// Payments: retrieve with the charge expanded, and list pages in both
	// directions with created[gte] and data.latest_charge.
	if _, err := c.PaymentIntent(ctx, "pi_123"); err != nil {
		t.Errorf("PaymentIntent: %v", err)
	}
	since := time.Unix(1_700_000_000, 0)
	for _, cursor := range [][2]string{{"", ""}, {"pi_123", ""}, {"", "pi_123"}} {
		if _, _, err := c.paymentIntentPage(ctx, since, cursor[0], cursor[1]); err != nil {
			t.Errorf("list payment intents (after %q, before %q): %v", cursor[0], cursor[1], err)
		}
		if _, _, err := c.eventPage(ctx, since, strings.Replace(cursor[0], "pi_", "evt_", 1), strings.Replace(cursor[1], "pi_", "evt_", 1)); err != nil {
			t.Errorf("list events (after %q, before %q): %v", cursor[0], cursor[1], err)
		}
	}
	for _, err := range c.PaymentIntents(ctx, time.Time{}) {
		if err != nil {
			t.Errorf("PaymentIntents without since: %v", err)
		}
	}
	n := 0
	for e, err := range c.Events(ctx, since) {
		if err != nil {
			t.Errorf("Events: %v", err)
			break
		}
		if e.ID == "" || e.Type == "" {
			t.Errorf("stripe-mock's event parsed as %+v", e)
		}
		n++
	}
	if n == 0 {
		t.Error("Events yielded nothing from stripe-mock's canned list")
	}

	contractCollect(t, c)
	connected, err := New(Config{Key: "sk_test_123", BaseURL: url, Account: "acct_123", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	contractCollect(t, connected)
	if _, err := connected.Account(ctx, "acct_123"); err != nil {
		t.Errorf("Account: %v", err)
	}
}

// contractCollect sends the Collector's request shapes: Checkout Sessions
// in both modes, with and without a bank account; charges of a card (MOTO,
// off-session) and of a bank account with a mandate; the saved-method
// calls and the portal.
func contractCollect(t *testing.T, c *Client) {
	t.Helper()
	ctx := t.Context()
	usd := stripesync.Money{Amount: 12500, Currency: "USD"}
	pay := stripesync.CheckoutRequest{
		Mode: stripesync.CheckoutPayment, CustomerID: "cus_123", InvoiceID: "a01000000000001AAA",
		Description: "Invoice INV-1001", Amount: usd,
		Methods:    []string{stripesync.MethodTypeCard, stripesync.MethodTypeBank},
		SaveMethod: true, Channel: stripesync.ChannelPaymentLink,
		SuccessURL: "https://pay.example/done?session_id={CHECKOUT_SESSION_ID}",
		CancelURL:  "https://pay.example/invoice", ExpiresAt: time.Now().Add(time.Hour),
	}
	cardOnly := pay
	cardOnly.Methods, cardOnly.SaveMethod, cardOnly.Channel, cardOnly.CancelURL = []string{stripesync.MethodTypeCard}, false, "", ""
	cardOnly.Amount = stripesync.Money{Amount: 5000, Currency: "EUR"}
	setup := stripesync.CheckoutRequest{
		Mode: stripesync.CheckoutSetup, CustomerID: "cus_123", Methods: pay.Methods,
		SuccessURL: pay.SuccessURL, CancelURL: pay.CancelURL, ExpiresAt: time.Now().Add(24 * time.Hour),
	}
	setupUSD := setup
	setupUSD.Amount.Currency = "USD"
	for name, r := range map[string]stripesync.CheckoutRequest{
		"payment, card and bank": pay, "payment, card only": cardOnly, "setup": setup, "setup in USD": setupUSD,
	} {
		if _, err := c.CreateCheckoutSession(ctx, r, "contract-checkout-"+name); err != nil {
			t.Errorf("CreateCheckoutSession(%s): %v", name, err)
		}
	}
	if _, err := c.CheckoutSession(ctx, "cs_test_123"); err != nil {
		t.Errorf("CheckoutSession: %v", err)
	}
	if _, err := c.ExpireCheckoutSession(ctx, "cs_test_123"); err != nil {
		t.Errorf("ExpireCheckoutSession: %v", err)
	}

	// Charge reads the method, then confirms; stripe-mock's canned
	// PaymentIntent is not succeeded, so only a refusal of the request
	// (EINVALID) counts. The shapes of both method types are sent as
	// such too.
	charge := stripesync.ChargeRequest{
		CustomerID: "cus_123", PaymentMethodID: "pm_123", InvoiceID: "a01000000000001AAA", Amount: usd,
		Channel: stripesync.ChannelPhone, Description: "Invoice INV-1001", MOTO: true,
	}
	if _, err := c.Charge(ctx, charge, "contract-charge"); stripesync.CodeOf(err) == stripesync.EINVALID {
		t.Errorf("Charge: %v", err)
	}
	autoPay := charge
	autoPay.MOTO, autoPay.OffSession, autoPay.Channel = false, true, stripesync.ChannelAutoPay
	bank := charge
	bank.MOTO = false
	bank.Mandate = &stripesync.MandateAcceptance{AcceptedAt: time.Unix(1_700_000_000, 0), IPAddress: "203.0.113.7", UserAgent: "Mozilla/5.0"}
	bankByHand := bank
	bankByHand.Microdeposits = true
	for _, tc := range []struct {
		name, methodType string
		r                stripesync.ChargeRequest
	}{
		{"card, MOTO", stripesync.MethodTypeCard, charge},
		{"card, off-session", stripesync.MethodTypeCard, autoPay},
		{"bank, mandate", stripesync.MethodTypeBank, bank},
		{"bank, off-session", stripesync.MethodTypeBank, autoPay},
		{"bank entered by staff, micro-deposits", stripesync.MethodTypeBank, bankByHand},
	} {
		params, err := chargeParams(tc.r, tc.methodType)
		if err != nil {
			t.Fatalf("chargeParams(%s): %v", tc.name, err)
		}
		params.SetIdempotencyKey("contract-confirm-" + tc.name)
		if _, err := c.confirmIntent(ctx, "contract charge", params); err != nil {
			t.Errorf("confirm PaymentIntent (%s): %v", tc.name, err)
		}
	}

	// Staff's bank details: the create and the attach, then both forms
	// of the micro-deposit verification (stripe-mock's canned
	// PaymentIntent is in requires_payment_method, so EDECLINED is the
	// answer to a request it accepted).
	details := stripesync.BankAccountDetails{RoutingNumber: "110000000", AccountNumber: "000123456789",
		HolderType: stripesync.HolderIndividual, HolderName: "Jane Doe"}
	if _, err := c.CreateBankMethod(ctx, "cus_123", details, "contract-bank-method"); err != nil {
		t.Errorf("CreateBankMethod: %v", err)
	}
	for _, v := range []stripesync.MicrodepositVerification{{Amounts: []int64{32, 45}}, {DescriptorCode: "SM11AA"}} {
		if _, err := c.VerifyMicrodeposits(ctx, "pi_123", v, fmt.Sprintf("contract-verify-%v", v)); err != nil && stripesync.CodeOf(err) != stripesync.EDECLINED {
			t.Errorf("VerifyMicrodeposits(%+v): %v", v, err)
		}
	}

	if _, err := c.SavedMethods(ctx, "cus_123"); err != nil {
		t.Errorf("SavedMethods: %v", err)
	}
	if _, _, err := c.methodPage(ctx, "cus_123", "pm_123"); err != nil {
		t.Errorf("list payment methods after a cursor: %v", err)
	}
	if err := c.DetachMethod(ctx, "pm_123"); err != nil {
		t.Errorf("DetachMethod: %v", err)
	}
	if err := c.SetDefaultMethod(ctx, "cus_123", "pm_123"); err != nil {
		t.Errorf("SetDefaultMethod: %v", err)
	}
	for _, ret := range []string{"https://pay.example/portal/done", ""} {
		if _, err := c.BillingPortalURL(ctx, "cus_123", ret); err != nil {
			t.Errorf("BillingPortalURL(return %q): %v", ret, err)
		}
	}
}
