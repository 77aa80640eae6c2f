package stripesync

import (
	"strings"
	"time"
)

// This file holds what staff type in when a customer pays by US bank
// account over the phone: the account details, and later the
// micro-deposits that prove the customer owns the account. Both are
// checked here, before Stripe is called, so that a typo read out over the
// phone gets a plain answer at once instead of a Stripe error or, worse, a
// debit of somebody else's account.

// Account holder types, as Stripe names them
// (us_bank_account[account_holder_type]).
const (
	HolderIndividual = "individual"
	HolderCompany    = "company"
)

// BankAccountDetails are the US bank account details a customer reads out
// to staff over the phone.
type BankAccountDetails struct {
	RoutingNumber string
	AccountNumber string
	HolderType    string // HolderIndividual or HolderCompany
	HolderName    string
}

// Validate checks the details as a bank would before Stripe sees them: a
// 9-digit routing number whose ABA checksum holds, an account number of 4
// to 17 digits, a known holder type and a holder name. A problem is
// EINVALID with a message that names the field in plain words. The account
// number never appears in a message (only its last four digits): messages
// reach logs, the audit trail and the staff console.
func (d BankAccountDetails) Validate() error {
	switch r := d.RoutingNumber; {
	case r == "":
		return Errorf(EINVALID, "The routing number is missing.")
	case len(r) != 9 || !allDigits(r):
		return Errorf(EINVALID, "The routing number must be exactly 9 digits.")
	case !abaChecksum(r):
		return Errorf(EINVALID, "The routing number %s is not a valid US bank routing number: check the digits.", r)
	}
	switch a := d.AccountNumber; {
	case a == "":
		return Errorf(EINVALID, "The account number is missing.")
	case !allDigits(a):
		return Errorf(EINVALID, "The account number ending %s must contain digits only.", maskAccount(a))
	case len(a) < 4 || len(a) > 17:
		return Errorf(EINVALID, "The account number ending %s must be 4 to 17 digits long, not %d.", maskAccount(a), len(a))
	}
	if d.HolderType != HolderIndividual && d.HolderType != HolderCompany {
		return Errorf(EINVALID, "The account holder type must be %q or %q.", HolderIndividual, HolderCompany)
	}
	if strings.TrimSpace(d.HolderName) == "" {
		return Errorf(EINVALID, "The account holder's name is missing.")
	}
	return nil
}

// Masked is the account number as messages may show it ("••••6789").
func (d BankAccountDetails) Masked() string { return maskAccount(d.AccountNumber) }

// maskAccount shows an account number as its last four characters
// behind bullets ("••••6789"), the most of it any message may carry.
func maskAccount(n string) string {
	if len(n) <= 4 {
		return "••••"
	}
	return "••••" + n[len(n)-4:]
}

// abaChecksum is the ABA routing number check: the digits weighted 3, 7, 1
// in turn sum to a multiple of 10.
func abaChecksum(r string) bool {
	weights := [3]int{3, 7, 1}
	sum := 0
	for i := range len(r) {
		sum += int(r[i]-'0') * weights[i%3]
	}
	return sum%10 == 0
}

// MicrodepositVerification is what the customer reads back once the
// micro-deposits Stripe sent reached their account: the two amounts in
// cents, or the descriptor code of the one deposit (SM followed by four
// characters).
type MicrodepositVerification struct {
	Amounts        []int64 // exactly two, in cents, or nil
	DescriptorCode string  // e.g. "SM11AA", or ""
}

// Validate checks that exactly one of the two forms is given: two amounts,
// each of at least 1 and below 100 cents (micro-deposits are less than a
// dollar), or a code of SM and four letters or digits. A problem is
// EINVALID in plain words. It does not check the values against Stripe's:
// a wrong guess costs one of the customer's ten attempts, which only Stripe
// counts.
func (v MicrodepositVerification) Validate() error {
	code := v.DescriptorCode
	switch {
	case v.Amounts != nil && code != "":
		return Errorf(EINVALID, "Give either the two deposit amounts or the descriptor code, not both.")
	case code != "":
		if len(code) != 6 || !strings.HasPrefix(code, "SM") || !alphanumeric(code[2:]) {
			return Errorf(EINVALID, "The descriptor code must be SM followed by 4 letters or digits, as on the bank statement (e.g. SM11AA).")
		}
		return nil
	case len(v.Amounts) != 2:
		return Errorf(EINVALID, "Give both micro-deposit amounts (exactly two), or the descriptor code.")
	}
	for _, a := range v.Amounts {
		if a < 1 || a > 99 {
			return Errorf(EINVALID, "Each micro-deposit amount is between 1 and 99 cents; %d is not.", a)
		}
	}
	return nil
}

func alphanumeric(s string) bool {
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// PendingVerification is a payment staff took from a bank account entered
// by hand that waits for the customer to report its micro-deposits. Staff
// name the account (its payment method) when the customer calls back;
// Stripe verifies the PaymentIntent.
type PendingVerification struct {
	PaymentMethodID string // pm_…
	PaymentIntentID string // pi_…
	InvoiceID       string
	Created         time.Time
}
