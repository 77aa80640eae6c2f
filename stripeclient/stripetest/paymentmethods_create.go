package stripetest

import (
	"net/http"
	"strconv"
	"strings"
)

// POST /v1/payment_methods makes a PaymentMethod from raw details: a card
// from its number, as Stripe.js sends it from a browser with the
// publishable key (stripejs.go), or a US bank account from its routing and
// account numbers, as a server sends it with the secret key. Only Stripe's
// test numbers are accepted (testCards and testBankAccounts in
// checkout_page.go), and the PaymentMethod made behaves as the magic test
// PaymentMethod of the same number does: 4242… pays, 4000000000000002
// declines when charged, 000123456789 settles, 000111111113 is returned
// as closed.
//
// A bank account made this way is unverified: nothing showed it belongs to
// the customer, so the first PaymentIntent or SetupIntent confirmed with
// it waits in requires_action for micro-deposits (needsMicrodeposits), as
// Stripe does for accounts entered by hand.

// createMethodParams are the parameters of POST /v1/payment_methods.
var createMethodParams = withCommon(map[string]param{
	"type": {},
	"card": {kind: kObject, children: map[string]param{
		"number": {}, "exp_month": {kind: kInt}, "exp_year": {kind: kInt}, "cvc": {},
	}},
	"us_bank_account": {kind: kObject, children: map[string]param{
		"routing_number": {}, "account_number": {}, "account_holder_type": {}, "account_type": {},
	}},
	"billing_details": {kind: kObject, children: map[string]param{
		"name": {}, "email": {}, "phone": {},
		"address": {kind: kObject, children: map[string]param{
			"line1": {}, "line2": {}, "city": {}, "state": {}, "postal_code": {}, "country": {},
		}},
	}},
})

func createMethodEndpoint() endpoint {
	return endpoint{
		method: http.MethodPost, path: "/v1/payment_methods",
		params:      createMethodParams,
		notEmulated: []string{"metadata", "allow_redisplay", "customer", "payment_method", "radar_options"},
		check:       checkCreateMethod,
		run:         (*Server).createMethod,
		publishable: true,
	}
}

func checkCreateMethod(f form) *apiError {
	if err := checkNoExpand(f); err != nil {
		return err
	}
	bd, _ := f["billing_details"].(form)
	for _, name := range []string{"address", "phone"} {
		if _, sent := bd[name]; sent {
			return notEmulated("billing_details[" + name + "]")
		}
	}
	typ, _ := f.str("type")
	card, _ := f["card"].(form)
	bank, _ := f["us_bank_account"].(form)
	switch typ {
	case "":
		return missingParam("type")
	case typeCardPM:
		if bank != nil {
			return invalidParam("", "us_bank_account", "You cannot pass us_bank_account when creating a PaymentMethod of type card.")
		}
		if card == nil {
			return missingParam("card")
		}
		for _, name := range []string{"number", "exp_month", "exp_year"} {
			if v, _ := card.str(name); v == "" {
				return missingParam("card[" + name + "]")
			}
		}
		return nil
	case typeBankPM:
		if card != nil {
			return invalidParam("", "card", "You cannot pass card when creating a PaymentMethod of type us_bank_account.")
		}
		return checkBankDetails(f, bank)
	}
	return invalidRequest(http.StatusBadRequest, "emulator_unsupported", "type",
		"stripetest: PaymentMethod type %q is not emulated (card and us_bank_account are)", typ)
}

// checkBankDetails validates a us_bank_account's numbers and holder.
// Stripe's exact wording for a malformed routing or account number is
// unverified. The messages never repeat the account number.
func checkBankDetails(f form, bank form) *apiError {
	if bank == nil {
		return missingParam("us_bank_account")
	}
	routing, _ := bank.str("routing_number")
	account, _ := bank.str("account_number")
	switch {
	case routing == "":
		return missingParam("us_bank_account[routing_number]")
	case account == "":
		return missingParam("us_bank_account[account_number]")
	case len(routing) != 9 || !digits(routing) || !abaValid(routing):
		return invalidParam("", "us_bank_account[routing_number]", "Invalid routing number: it must be a valid 9-digit US routing number.")
	case len(account) < 4 || len(account) > 17 || !digits(account):
		return invalidParam("", "us_bank_account[account_number]", "Invalid account number: it must be 4 to 17 digits.")
	case routing != testBankRouting:
		return invalidRequest(http.StatusBadRequest, "emulator_unsupported", "us_bank_account[routing_number]",
			"stripetest: only the test routing number %s is emulated", testBankRouting)
	}
	if _, ok := testBankAccounts[account]; !ok {
		return invalidRequest(http.StatusBadRequest, "emulator_unsupported", "us_bank_account[account_number]",
			"stripetest: only Stripe's test account numbers are emulated (https://docs.stripe.com/testing#non-card-payments)")
	}
	switch t, _ := bank.str("account_holder_type"); t {
	case "", "individual", "company":
	default:
		return invalidParam("", "us_bank_account[account_holder_type]",
			"Invalid us_bank_account[account_holder_type]: must be one of individual or company")
	}
	switch t, _ := bank.str("account_type"); t {
	case "", "checking", "savings":
	default:
		return invalidParam("", "us_bank_account[account_type]",
			"Invalid us_bank_account[account_type]: must be one of checking or savings")
	}
	bd, _ := f["billing_details"].(form)
	if name, _ := bd.str("name"); strings.TrimSpace(name) == "" {
		return missingParam("billing_details[name]")
	}
	return nil
}

// abaValid is the ABA routing number checksum: the digits weighted 3, 7,
// 1 in turn sum to a multiple of 10.
func abaValid(r string) bool {
	sum := 0
	for i := range len(r) {
		sum += int(r[i]-'0') * [3]int{3, 7, 1}[i%3]
	}
	return sum%10 == 0
}

func (s *Server) createMethod(c *call) (any, *apiError) {
	typ, _ := c.params.str("type")
	if c.publishable && typ != typeCardPM {
		return nil, secretKeyRequired()
	}
	bd, _ := c.params["billing_details"].(form)
	s.mu.Lock()
	defer s.mu.Unlock()
	var pm *paymentMethod
	if typ == typeBankPM {
		bank, _ := c.params["us_bank_account"].(form)
		pm = s.newMethod(c.scope, testMethods[testBankAccounts[str(bank, "account_number")]])
		pm.holderType, pm.accountType = str(bank, "account_holder_type"), str(bank, "account_type")
		pm.unverified = true
	} else {
		tm, month, year, aerr := s.readCard(c.params["card"].(form))
		if aerr != nil {
			return nil, aerr
		}
		pm = s.newMethod(c.scope, tm)
		pm.expMonth, pm.expYear = month, year
	}
	pm.name, pm.email = str(bd, "name"), str(bd, "email")
	return s.renderMethod(pm), nil
}

// Stripe's card errors for details it refuses when a card PaymentMethod is
// made (https://docs.stripe.com/error-codes).
const (
	msgIncorrectNumber = "Your card number is incorrect."
	msgBadExpMonth     = "Your card's expiration month is invalid."
	msgBadExpYear      = "Your card's expiration year is invalid."
	msgBadCvc          = "Your card's security code is invalid."
)

// cardError is a 402 card_error about one of the card's details.
func cardError(code, declineCode, param, message string) *apiError {
	return &apiError{status: http.StatusPaymentRequired, Type: typeCard, Code: code, DeclineCode: declineCode,
		Param: param, Message: message, DocURL: docURL(code)}
}

// readCard checks card[number], card[exp_month], card[exp_year] and
// card[cvc] and returns the test card they stand for. A two-digit year is
// in this century, as Stripe reads it.
func (s *Server) readCard(card form) (testMethod, int64, int64, *apiError) {
	number := strings.ReplaceAll(str(card, "number"), " ", "")
	if len(number) < 13 || len(number) > 19 || !digits(number) || !luhn(number) {
		return testMethod{}, 0, 0, cardError("incorrect_number", "", "number", msgIncorrectNumber)
	}
	id, ok := testCards[number]
	if !ok {
		return testMethod{}, 0, 0, cardError("card_declined", "test_mode_live_card", "", msgNotTestCard)
	}
	month, _ := strconv.ParseInt(str(card, "exp_month"), 10, 64)
	year, _ := strconv.ParseInt(str(card, "exp_year"), 10, 64)
	if year < 100 {
		year += 2000
	}
	now := s.clock()
	switch {
	case month < 1 || month > 12:
		return testMethod{}, 0, 0, cardError("invalid_expiry_month", "", "exp_month", msgBadExpMonth)
	case year < int64(now.Year()) || year > int64(now.Year())+50:
		return testMethod{}, 0, 0, cardError("invalid_expiry_year", "", "exp_year", msgBadExpYear)
	case year == int64(now.Year()) && month < int64(now.Month()):
		return testMethod{}, 0, 0, cardError("invalid_expiry_month", "", "exp_month", msgBadExpMonth)
	}
	cvcLen := 3
	if strings.HasPrefix(number, "3") {
		cvcLen = 4
	}
	if cvc := str(card, "cvc"); cvc != "" && (len(cvc) != cvcLen || !digits(cvc)) {
		return testMethod{}, 0, 0, cardError("invalid_cvc", "", "cvc", msgBadCvc)
	}
	return testMethods[id], month, year, nil
}
