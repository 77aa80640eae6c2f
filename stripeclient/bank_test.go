package stripeclient

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// phoneBank are the details of Stripe's test account that settles.
var phoneBank = stripesync.BankAccountDetails{
	RoutingNumber: "110000000", AccountNumber: "000123456789",
	HolderType: stripesync.HolderCompany, HolderName: "Acme Corp",
}

// phoneBankCharge is a staff member's charge of a bank account entered by
// hand: verified with micro-deposits first.
func phoneBankCharge(customerID, pmID string) stripesync.ChargeRequest {
	return stripesync.ChargeRequest{
		CustomerID: customerID, PaymentMethodID: pmID, InvoiceID: "a01000000000001AAA",
		Amount: stripesync.Money{Amount: 12500, Currency: "USD"}, Channel: stripesync.ChannelPhone,
		Description: "Invoice INV-1001", Microdeposits: true,
		Mandate: &stripesync.MandateAcceptance{AcceptedAt: time.Unix(1764633500, 0), IPAddress: "203.0.113.7", UserAgent: "stripesync staff console"},
	}
}

func TestCreateBankMethod(t *testing.T) {
	srv := stripetest.NewServer(t, stripetest.Options{})
	c, logs := newClient(t, srv, Config{})
	cus := srv.CreateCustomer(stripetest.Customer{Name: "Acme Corp"})

	got, err := c.CreateBankMethod(t.Context(), cus, phoneBank, "stripesync:bank-method:a01:staff-7")
	if err != nil {
		t.Fatal(err)
	}
	want := stripesync.SavedMethod{ID: got.ID, CustomerID: cus, Type: stripesync.MethodTypeBank, Last4: "6789", BankName: "STRIPE TEST BANK"}
	if diff := cmp.Diff(want, got); diff != "" || !strings.HasPrefix(got.ID, "pm_") {
		t.Errorf("method (-want +got):\n%s", diff)
	}
	if l := got.Label(); l != "STRIPE TEST BANK •••• 6789" {
		t.Errorf("Label() = %q", l)
	}
	var keys []string
	for _, r := range srv.Requests() {
		keys = append(keys, r.Method+" "+r.Path+" "+r.IdempotencyKey)
	}
	wantKeys := []string{
		"POST /v1/payment_methods stripesync:bank-method:a01:staff-7:create",
		"POST /v1/payment_methods/" + got.ID + "/attach stripesync:bank-method:a01:staff-7:attach",
	}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	form := srv.Requests()[0].Params
	for k, v := range map[string]string{
		"type": "us_bank_account", "us_bank_account[routing_number]": "110000000", "us_bank_account[account_number]": "000123456789",
		"us_bank_account[account_holder_type]": "company", "billing_details[name]": "Acme Corp",
	} {
		if form.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, form.Get(k), v)
		}
	}

	// A retry (the staff member pressed again) makes no second method.
	again, err := c.CreateBankMethod(t.Context(), cus, phoneBank, "stripesync:bank-method:a01:staff-7")
	if err != nil || again.ID != got.ID {
		t.Errorf("retry = %+v, %v; want %s again", again, err, got.ID)
	}
	methods, err := c.SavedMethods(t.Context(), cus)
	if err != nil || len(methods) != 1 {
		t.Errorf("saved methods = %+v, %v; want the one bank account", methods, err)
	}
	if strings.Contains(logs.String(), phoneBank.AccountNumber) {
		t.Errorf("the log shows the account number:\n%s", logs)
	}
}

func TestCreateBankMethodRefusals(t *testing.T) {
	srv := stripetest.NewServer(t, stripetest.Options{})
	c, _ := newClient(t, srv, Config{})
	cus := srv.CreateCustomer(stripetest.Customer{})
	badRouting := phoneBank
	badRouting.RoutingNumber = "110000001"
	tests := []struct {
		name     string
		customer string
		d        stripesync.BankAccountDetails
		key      string
		want     stripesync.ErrorCode
		requests int
	}{
		{"bad routing number", cus, badRouting, "k1", stripesync.EINVALID, 0},
		{"no key", cus, phoneBank, "", stripesync.EINVALID, 0},
		{"key too long for its derived keys", cus, phoneBank, strings.Repeat("k", 250), stripesync.EINVALID, 0},
		{"no customer", "", phoneBank, "k2", stripesync.EINVALID, 0},
		{"unknown customer", "cus_missing", phoneBank, "k3", stripesync.ENOTFOUND, 2},
	}
	for _, tt := range tests {
		srv.ResetRequests()
		_, err := c.CreateBankMethod(t.Context(), tt.customer, tt.d, tt.key)
		if code := stripesync.CodeOf(err); code != tt.want {
			t.Errorf("%s: err = %v (%s), want %s", tt.name, err, code, tt.want)
		}
		if n := len(srv.Requests()); n != tt.requests {
			t.Errorf("%s: %d requests, want %d", tt.name, n, tt.requests)
		}
	}
}

// staffBank is an emulator, a client of it and a customer with a bank
// account that staff entered by hand (not verified yet): the customer's
// and the method's ids.
func staffBank(t *testing.T) (*stripetest.Server, *Client, string, string) {
	t.Helper()
	srv := stripetest.NewServer(t, stripetest.Options{})
	c, _ := newClient(t, srv, Config{})
	cus := srv.CreateCustomer(stripetest.Customer{})
	m, err := c.CreateBankMethod(t.Context(), cus, phoneBank, "bank")
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, cus, m.ID
}

// TestChargeWithMicrodeposits: a bank account entered by hand is charged,
// waits for micro-deposits, and is processing once the customer reads
// them back; a wrong guess says how many attempts are left.
func TestChargeWithMicrodeposits(t *testing.T) {
	srv, c, cus, pm := staffBank(t)
	p, err := c.Charge(t.Context(), phoneBankCharge(cus, pm), "charge")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != stripesync.PaymentAwaitingVerification || !strings.HasPrefix(p.ID, "pi_") || p.Amount.Amount != 12500 {
		t.Fatalf("payment = %+v, want awaiting verification", p)
	}
	create := srv.Requests()[len(srv.Requests())-1]
	if v := create.Params.Get("payment_method_options[us_bank_account][verification_method]"); v != "microdeposits" {
		t.Errorf("verification_method = %q, want microdeposits", v)
	}

	_, err = c.VerifyMicrodeposits(t.Context(), p.ID, stripesync.MicrodepositVerification{Amounts: []int64{12, 34}}, "verify-1")
	if stripesync.CodeOf(err) != stripesync.EINVALID || stripesync.MessageOf(err) != "The amounts do not match the micro-deposits; 9 attempts left." {
		t.Errorf("wrong amounts: %v (%s)", err, stripesync.CodeOf(err))
	}
	_, err = c.VerifyMicrodeposits(t.Context(), p.ID, stripesync.MicrodepositVerification{DescriptorCode: "SM22BB"}, "verify-2")
	if stripesync.MessageOf(err) != "The descriptor code does not match the one on the statement; 8 attempts left." {
		t.Errorf("wrong code: %v", err)
	}
	_, err = c.VerifyMicrodeposits(t.Context(), p.ID, stripesync.MicrodepositVerification{Amounts: []int64{32, 45}}, "verify-1")
	if stripesync.CodeOf(err) != stripesync.ECONFLICT {
		t.Errorf("a key reused with other amounts: %v (%s), want ECONFLICT", err, stripesync.CodeOf(err))
	}

	got, err := c.VerifyMicrodeposits(t.Context(), p.ID, stripesync.MicrodepositVerification{Amounts: []int64{32, 45}}, "verify-3")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != p.ID || got.Status != stripesync.PaymentProcessing || got.Method != stripesync.MethodACH || got.MethodDetail != "Bank •••• 6789" {
		t.Errorf("after verification: %+v, want processing ACH Bank •••• 6789", got)
	}
	_, err = c.VerifyMicrodeposits(t.Context(), p.ID, stripesync.MicrodepositVerification{DescriptorCode: "SM11AA"}, "verify-4")
	if stripesync.CodeOf(err) != stripesync.ECONFLICT {
		t.Errorf("verifying again: %v (%s), want ECONFLICT", err, stripesync.CodeOf(err))
	}
	if err := srv.SettleACH(p.ID); err != nil {
		t.Fatal(err)
	}
	if settled, err := c.PaymentIntent(t.Context(), p.ID); err != nil || settled.Status != stripesync.PaymentSucceeded {
		t.Errorf("settled: %+v, %v", settled, err)
	}
}

// TestChargeUnverifiedWithoutMicrodeposits keeps the older answer: a bank
// account waiting for micro-deposits is EDECLINED unless the request asked
// for them.
func TestChargeUnverifiedWithoutMicrodeposits(t *testing.T) {
	srv, c, cus, pm := staffBank(t)
	r := phoneBankCharge(cus, pm)
	r.Microdeposits = false
	_, err := c.Charge(t.Context(), r, "charge")
	var d *stripesync.Decline
	if stripesync.CodeOf(err) != stripesync.EDECLINED || !errors.As(err, &d) || d.DeclineCode != "verify_with_microdeposits" {
		t.Errorf("err = %v, want EDECLINED verify_with_microdeposits", err)
	}
	if v := srv.Requests()[len(srv.Requests())-1].Params.Get("payment_method_options[us_bank_account][verification_method]"); v != "" {
		t.Errorf("verification_method = %q sent without Microdeposits", v)
	}
}

// TestVerifyMicrodepositsFails: the verification ends in a decline after
// ten wrong attempts, at once for Stripe's "attempts exceeded" values,
// and when the deposits were not verified in time.
func TestVerifyMicrodepositsFails(t *testing.T) {
	srv := stripetest.NewServer(t, stripetest.Options{})
	c, _ := newClient(t, srv, Config{})
	cus := srv.CreateCustomer(stripetest.Customer{})
	awaiting := func(t *testing.T) string {
		t.Helper()
		m, err := c.CreateBankMethod(t.Context(), cus, phoneBank, "bank-"+t.Name())
		if err != nil {
			t.Fatal(err)
		}
		p, err := c.Charge(t.Context(), phoneBankCharge(cus, m.ID), "charge-"+t.Name())
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	wantDecline := func(t *testing.T, err error, piID, code, says string) {
		t.Helper()
		var d *stripesync.Decline
		if stripesync.CodeOf(err) != stripesync.EDECLINED || !errors.As(err, &d) {
			t.Fatalf("err = %v (%s), want EDECLINED", err, stripesync.CodeOf(err))
		}
		if d.Code != code || d.PaymentIntentID != piID || !strings.Contains(stripesync.MessageOf(err), says) {
			t.Errorf("decline %+v (message %q), want %s on %s saying %q", d, stripesync.MessageOf(err), code, piID, says)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("the error carries the client secret: %v", err)
		}
		p, rerr := c.PaymentIntent(t.Context(), piID)
		if rerr != nil || p.Status != stripesync.PaymentFailed {
			t.Errorf("the payment is %+v, %v; want Failed", p, rerr)
		}
	}

	t.Run("ten wrong attempts", func(t *testing.T) {
		pi := awaiting(t)
		for i := 1; i < 10; i++ {
			_, err := c.VerifyMicrodeposits(t.Context(), pi, stripesync.MicrodepositVerification{Amounts: []int64{1, int64(i)}}, fmt.Sprint("try-", i))
			want := fmt.Sprintf("The amounts do not match the micro-deposits; %d attempts left.", 10-i)
			if i == 9 {
				want = "The amounts do not match the micro-deposits; 1 attempt left."
			}
			if stripesync.CodeOf(err) != stripesync.EINVALID || stripesync.MessageOf(err) != want {
				t.Fatalf("attempt %d: %v, want EINVALID %q", i, err, want)
			}
		}
		_, err := c.VerifyMicrodeposits(t.Context(), pi, stripesync.MicrodepositVerification{Amounts: []int64{1, 10}}, "try-10")
		wantDecline(t, err, pi, "payment_method_microdeposit_verification_attempts_exceeded", "too many wrong attempts")
	})
	t.Run("attempts exceeded at once", func(t *testing.T) {
		pi := awaiting(t)
		_, err := c.VerifyMicrodeposits(t.Context(), pi, stripesync.MicrodepositVerification{DescriptorCode: "SM33CC"}, "k-exceeded")
		wantDecline(t, err, pi, "payment_method_microdeposit_verification_attempts_exceeded", "too many wrong attempts")
	})
	t.Run("timed out", func(t *testing.T) {
		pi := awaiting(t)
		_, err := c.VerifyMicrodeposits(t.Context(), pi, stripesync.MicrodepositVerification{Amounts: []int64{40, 41}}, "k-timeout")
		wantDecline(t, err, pi, "payment_method_microdeposit_verification_timeout", "not verified in time")
	})
	t.Run("bad input sends nothing", func(t *testing.T) {
		srv.ResetRequests()
		for _, v := range []stripesync.MicrodepositVerification{{}, {Amounts: []int64{32, 450}}, {DescriptorCode: "11AA"}} {
			if _, err := c.VerifyMicrodeposits(t.Context(), "pi_123", v, "k"); stripesync.CodeOf(err) != stripesync.EINVALID {
				t.Errorf("VerifyMicrodeposits(%+v) = %v, want EINVALID", v, err)
			}
		}
		if _, err := c.VerifyMicrodeposits(t.Context(), " ", stripesync.MicrodepositVerification{DescriptorCode: "SM11AA"}, "k"); stripesync.CodeOf(err) != stripesync.EINVALID {
			t.Errorf("no PaymentIntent id: %v", err)
		}
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("%d requests sent", n)
		}
	})
	t.Run("unknown PaymentIntent", func(t *testing.T) {
		_, err := c.VerifyMicrodeposits(t.Context(), "pi_missing", stripesync.MicrodepositVerification{DescriptorCode: "SM11AA"}, "k-missing")
		if stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("err = %v (%s), want ENOTFOUND", err, stripesync.CodeOf(err))
		}
	})
}

// TestVerifyMicrodepositsServerError: a 500, which the emulator gives only
// as a fault, is a failure of unknown outcome, not a refusal; and the
// amounts go as Stripe's indexed array.
func TestVerifyMicrodepositsServerError(t *testing.T) {
	f := newFakeStripe(t)
	f.on(http.MethodPost, "/v1/payment_intents/pi_1/verify_microdeposits",
		reply{status: 500, body: `{"error":{"type":"api_error","message":"An unknown error occurred"}}`})
	c := f.client(Config{})
	_, err := c.VerifyMicrodeposits(t.Context(), "pi_1", stripesync.MicrodepositVerification{Amounts: []int64{32, 45}}, "k")
	if stripesync.CodeOf(err) != stripesync.EUNAVAILABLE {
		t.Errorf("err = %v (%s), want EUNAVAILABLE", err, stripesync.CodeOf(err))
	}
	if form := f.requests()[0].Form; form.Get("amounts[0]") != "32" || form.Get("amounts[1]") != "45" || form.Get("expand[0]") != "latest_charge" {
		t.Errorf("form = %v", form)
	}
}
