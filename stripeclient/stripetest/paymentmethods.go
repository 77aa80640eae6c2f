package stripetest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Payment method types the emulator implements.
const (
	typeCardPM = "card"
	typeBankPM = "us_bank_account"
)

// failure is how a charge on a test payment method fails: a card decline
// (code card_declined plus a decline code, or a code of its own) or an ACH
// debit returned by the bank.
type failure struct {
	code, declineCode, message string
	// blocked payments were stopped by Stripe's fraud screening (Radar)
	// before they reached the card network.
	blocked bool
}

// testMethod is one of Stripe's magic test PaymentMethod ids
// (https://stripe.com/docs/testing): the instrument it stands for and what
// happens when it is charged.
type testMethod struct {
	kind    string // typeCardPM or typeBankPM
	brand   string // card brand as the API spells it: visa, mastercard, amex…
	funding string // credit or debit
	last4   string
	// fails is the card error every charge gets, or for ACH the return
	// that settlement brings.
	fails *failure
	// needsAuth cards ask for 3D Secure on every payment: on session the
	// PaymentIntent goes requires_action, off session it fails with
	// authentication_required. MOTO payments are exempt.
	needsAuth bool
	// neverSettles ACH debits stay processing (pm_usBankAccount_processing).
	neverSettles bool
	// disputed ACH debits are disputed right after they settle.
	disputed bool
	// chargeOnly cards can be attached to a customer though every charge
	// fails (pm_card_chargeCustomerFail); the other decline cards can't be
	// attached.
	chargeOnly bool
}

// attachable reports whether Stripe lets the method be attached to a
// customer: not the decline cards, whose attach fails with the decline.
func (tm testMethod) attachable() bool {
	return tm.fails == nil || tm.chargeOnly || tm.kind == typeBankPM
}

// Decline messages as Stripe words them to the customer.
const (
	msgDeclined = "Your card was declined."
	msgAuth     = "Your card was declined. This transaction requires authentication."
)

func cardDecline(declineCode, message string) *failure {
	return &failure{code: "card_declined", declineCode: declineCode, message: message}
}

// The card failures of the test cards
// (https://stripe.com/docs/testing#declined-payments), which DeclineNext
// also makes, by the decline code (or, without one, the error code).
var (
	declineGeneric      = cardDecline("generic_decline", msgDeclined)
	declineInsufficient = cardDecline("insufficient_funds", "Your card has insufficient funds.")
	declineLost         = cardDecline("lost_card", msgDeclined)
	declineStolen       = cardDecline("stolen_card", msgDeclined)
	declineVelocity     = cardDecline("card_velocity_exceeded", "Your card was declined for making repeated attempts too frequently or exceeding its amount limit.")
	// declineFraudulent is Radar's block of 4100000000000019
	// (https://docs.stripe.com/radar/testing); its decline_code is
	// unverified.
	declineFraudulent = &failure{code: "card_declined", declineCode: "fraudulent", message: msgDeclined, blocked: true}
	declineExpired    = &failure{code: "expired_card", message: "Your card has expired."}
	declineCVC        = &failure{code: "incorrect_cvc", message: "Your card's security code is incorrect."}
	declineProcessing = &failure{code: "processing_error", message: "An error occurred while processing your card. Try again in a little bit."}
)

var cardDeclines = map[string]*failure{
	"generic_decline":        declineGeneric,
	"insufficient_funds":     declineInsufficient,
	"lost_card":              declineLost,
	"stolen_card":            declineStolen,
	"card_velocity_exceeded": declineVelocity,
	"fraudulent":             declineFraudulent,
	"expired_card":           declineExpired,
	"incorrect_cvc":          declineCVC,
	"processing_error":       declineProcessing,
}

// achReturn is an ACH failure. The codes are the charge failure codes
// Stripe documents for ACH returns; the messages are unverified.
func achReturn(code, message string) *failure {
	return &failure{code: code, message: message}
}

// The ACH returns that both a test account and a return code (ach.go)
// bring.
var (
	achInsufficientFunds = achReturn("insufficient_funds", "The customer's account has insufficient funds to cover this payment.")
	achNotAuthorized     = achReturn("debit_not_authorized", "The customer has notified their bank that this payment was unauthorized.")
)

var testMethods = map[string]testMethod{
	"pm_card_visa":       {kind: typeCardPM, brand: "visa", funding: "credit", last4: "4242"},
	"pm_card_visa_debit": {kind: typeCardPM, brand: "visa", funding: "debit", last4: "5556"},
	"pm_card_mastercard": {kind: typeCardPM, brand: "mastercard", funding: "credit", last4: "4444"},
	"pm_card_amex":       {kind: typeCardPM, brand: "amex", funding: "credit", last4: "8431"},
	"pm_card_discover":   {kind: typeCardPM, brand: "discover", funding: "credit", last4: "1117"},

	"pm_card_visa_chargeDeclined":                      {kind: typeCardPM, brand: "visa", funding: "credit", last4: "0002", fails: declineGeneric},
	"pm_card_chargeDeclined":                           {kind: typeCardPM, brand: "visa", funding: "credit", last4: "0002", fails: declineGeneric},
	"pm_card_visa_chargeDeclinedInsufficientFunds":     {kind: typeCardPM, brand: "visa", funding: "credit", last4: "9995", fails: declineInsufficient},
	"pm_card_chargeDeclinedInsufficientFunds":          {kind: typeCardPM, brand: "visa", funding: "credit", last4: "9995", fails: declineInsufficient},
	"pm_card_visa_chargeDeclinedLostCard":              {kind: typeCardPM, brand: "visa", funding: "credit", last4: "9987", fails: declineLost},
	"pm_card_visa_chargeDeclinedStolenCard":            {kind: typeCardPM, brand: "visa", funding: "credit", last4: "9979", fails: declineStolen},
	"pm_card_visa_chargeDeclinedVelocityLimitExceeded": {kind: typeCardPM, brand: "visa", funding: "credit", last4: "6975", fails: declineVelocity},
	"pm_card_chargeDeclinedExpiredCard":                {kind: typeCardPM, brand: "visa", funding: "credit", last4: "0069", fails: declineExpired},
	"pm_card_chargeDeclinedIncorrectCvc":               {kind: typeCardPM, brand: "visa", funding: "credit", last4: "0127", fails: declineCVC},
	"pm_card_chargeDeclinedProcessingError":            {kind: typeCardPM, brand: "visa", funding: "credit", last4: "0119", fails: declineProcessing},
	"pm_card_chargeDeclinedFraudulent":                 {kind: typeCardPM, brand: "visa", funding: "credit", last4: "0019", fails: declineFraudulent},
	"pm_card_chargeCustomerFail":                       {kind: typeCardPM, brand: "visa", funding: "credit", last4: "0341", fails: declineGeneric, chargeOnly: true},
	"pm_card_authenticationRequired":                   {kind: typeCardPM, brand: "visa", funding: "credit", last4: "3184", needsAuth: true},
	"pm_card_threeDSecure2Required":                    {kind: typeCardPM, brand: "visa", funding: "credit", last4: "3220", needsAuth: true},

	"pm_usBankAccount_success":            {kind: typeBankPM, last4: "6789"},
	"pm_usBankAccount_accountClosed":      {kind: typeBankPM, last4: "1113", fails: achReturn("account_closed", "The customer's bank account has been closed.")},
	"pm_usBankAccount_noAccount":          {kind: typeBankPM, last4: "1116", fails: achReturn("no_account", "The customer's bank account could not be located.")},
	"pm_usBankAccount_insufficientFunds":  {kind: typeBankPM, last4: "2227", fails: achInsufficientFunds},
	"pm_usBankAccount_debitNotAuthorized": {kind: typeBankPM, last4: "3335", fails: achNotAuthorized},
	"pm_usBankAccount_invalidCurrency":    {kind: typeBankPM, last4: "4440", fails: achReturn("invalid_currency", "The bank was unable to process this payment because of its currency.")},
	"pm_usBankAccount_dispute":            {kind: typeBankPM, last4: "5559", disputed: true},
	"pm_usBankAccount_processing":         {kind: typeBankPM, last4: "0009", neverSettles: true},
}

// The test bank every ACH test method belongs to.
const (
	testBankName    = "STRIPE TEST BANK"
	testBankRouting = "110000000"
)

// paymentMethod is a PaymentMethod object. Using a magic id creates a new
// one each time, as Stripe does, so the PaymentIntent shows a pm_ id of its
// own.
type paymentMethod struct {
	id       string
	account  string
	livemode bool
	method   testMethod
	customer string // set once attached (setup_future_usage)
	// mandated bank accounts have a reusable mandate and may be debited
	// without new mandate_data.
	mandated bool
	// detached methods were attached once and may not be used again.
	detached bool
	// What a hosted page or POST /v1/payment_methods collected: the
	// card's expiry (0 means the test cards' default), the bank account's
	// holder and account types ("" means individual, checking) and the
	// billing details.
	expMonth, expYear       int64
	holderType, accountType string
	name, email             string
	// unverified bank accounts were made from account numbers through
	// the API: nothing proved they are the customer's, so a debit waits
	// for micro-deposits until one verification succeeds.
	unverified bool
	// declines is how many of the next charges fail with decline
	// (DeclineNext).
	declines int
	decline  *failure
	seq      int64
	created  time.Time
}

// resolveMethod turns a payment_method parameter into a PaymentMethod the
// scope may use: a magic id makes a new one, a pm_ id made earlier is
// looked up.
func (s *Server) resolveMethod(sc scope, id string) (*paymentMethod, *apiError) {
	if tm, ok := testMethods[id]; ok {
		return s.newMethod(sc, tm), nil
	}
	pm, ok := s.pay.methods[id]
	if !ok || !sc.sees(pm.account, pm.livemode) {
		if strings.HasPrefix(id, "pm_card_") || strings.HasPrefix(id, "pm_usBankAccount_") {
			return nil, invalidRequest(http.StatusBadRequest, "emulator_unsupported", "payment_method",
				"stripetest: test payment method %s is not emulated", id)
		}
		return nil, invalidRequest(http.StatusBadRequest, "resource_missing", "payment_method",
			"No such PaymentMethod: '%s'", id)
	}
	if pm.detached {
		return nil, invalidParam("", "payment_method", msgMethodSpent)
	}
	return pm, nil
}

// msgMethodSpent is Stripe's refusal of a method that was detached.
const msgMethodSpent = "This PaymentMethod was previously used without being attached to a Customer or was detached from a Customer, and may not be used again."

// newMethod stores a new PaymentMethod for the instrument tm. The caller
// holds s.mu.
func (s *Server) newMethod(sc scope, tm testMethod) *paymentMethod {
	pm := &paymentMethod{
		id: newID("pm_"), account: sc.account, livemode: sc.livemode,
		method: tm, seq: s.pay.next(), created: s.clock(),
	}
	s.pay.methods[pm.id] = pm
	return pm
}

// paymentMethodJSON is the PaymentMethod object (API 2023-10-16), as it
// appears in errors and last_payment_error.
type paymentMethodJSON struct {
	ID             string             `json:"id"`
	Object         string             `json:"object"`
	BillingDetails billingDetailsJSON `json:"billing_details"`
	Card           *pmCardJSON        `json:"card,omitempty"`
	USBankAccount  *pmBankJSON        `json:"us_bank_account,omitempty"`
	Created        int64              `json:"created"`
	Customer       *string            `json:"customer"`
	Livemode       bool               `json:"livemode"`
	Metadata       map[string]string  `json:"metadata"`
	Type           string             `json:"type"`
}

type billingDetailsJSON struct {
	Address *addressJSON `json:"address"`
	Email   *string      `json:"email"`
	Name    *string      `json:"name"`
	Phone   *string      `json:"phone"`
}

type pmCardJSON struct {
	Brand       string `json:"brand"`
	Country     string `json:"country"`
	ExpMonth    int64  `json:"exp_month"`
	ExpYear     int64  `json:"exp_year"`
	Fingerprint string `json:"fingerprint"`
	Funding     string `json:"funding"`
	Last4       string `json:"last4"`
}

type pmBankJSON struct {
	AccountHolderType string `json:"account_holder_type"`
	AccountType       string `json:"account_type"`
	BankName          string `json:"bank_name"`
	Fingerprint       string `json:"fingerprint"`
	Last4             string `json:"last4"`
	RoutingNumber     string `json:"routing_number"`
}

// Test cards expire in the December after next, so they are always valid.
func (s *Server) cardExpiry() (month, year int64) {
	return 12, int64(s.clock().Year() + 2)
}

func (s *Server) renderMethod(pm *paymentMethod) paymentMethodJSON {
	out := paymentMethodJSON{
		ID:       pm.id,
		Object:   "payment_method",
		Created:  pm.created.Unix(),
		Customer: nullable(pm.customer),
		Livemode: pm.livemode,
		Metadata: map[string]string{},
		Type:     pm.method.kind,
	}
	out.BillingDetails.Name = nullable(pm.name)
	out.BillingDetails.Email = nullable(pm.email)
	if pm.method.kind == typeCardPM {
		m, y := s.cardExpiry()
		if pm.expMonth != 0 {
			m, y = pm.expMonth, pm.expYear
		}
		out.Card = &pmCardJSON{
			Brand: pm.method.brand, Country: "US", ExpMonth: m, ExpYear: y,
			Fingerprint: pm.method.fingerprint(), Funding: pm.method.funding, Last4: pm.method.last4,
		}
		return out
	}
	out.USBankAccount = &pmBankJSON{
		AccountHolderType: cmpOr(pm.holderType, "individual"), AccountType: cmpOr(pm.accountType, "checking"), BankName: testBankName,
		Fingerprint: pm.method.fingerprint(), Last4: pm.method.last4, RoutingNumber: testBankRouting,
	}
	return out
}

// fingerprint identifies the instrument, the same for every PaymentMethod
// made from one magic id, as Stripe's fingerprint is per card or account.
func (tm testMethod) fingerprint() string {
	sum := sha256.Sum256([]byte(tm.kind + ":" + tm.brand + ":" + tm.last4))
	return hex.EncodeToString(sum[:8])
}

// DeclineNext makes the card behind PaymentMethod pmID (a pm_ id, such as
// one saved on a customer) decline its next n charges, then charge as
// before, so a retry schedule can be tested: each attempt, on session or
// off, gets the 402 card_error of the test card with declineCode
// (generic_decline, insufficient_funds, lost_card, stolen_card,
// card_velocity_exceeded, fraudulent; or, for the declines that have no
// decline code, expired_card, incorrect_cvc, processing_error). A card
// that asks for 3D Secure still does so first (requires_action on
// session, authentication_required off session), and those attempts do not
// count. n <= 0 clears what is left.
func (s *Server) DeclineNext(pmID string, n int, declineCode string) error {
	f, ok := cardDeclines[declineCode]
	if !ok {
		return fmt.Errorf("stripetest: %q is not a card decline the emulator makes", declineCode)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pm, ok := s.pay.methods[pmID]
	switch {
	case !ok:
		return fmt.Errorf("stripetest: no PaymentMethod %s", pmID)
	case pm.method.kind != typeCardPM:
		return fmt.Errorf("stripetest: PaymentMethod %s is a %s, not a card", pmID, pm.method.kind)
	}
	pm.declines, pm.decline = max(0, n), f
	return nil
}

// takeDecline uses up one of the declines DeclineNext asked for, if any.
// The caller holds s.mu.
func (pm *paymentMethod) takeDecline() *failure {
	if pm.declines == 0 {
		return nil
	}
	pm.declines--
	return pm.decline
}
