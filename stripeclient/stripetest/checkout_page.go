package stripetest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The hosted Checkout page, at <base URL>/checkout/pay/{cs_id} (the
// session's url). It works without JavaScript: one form posts back to the
// same URL. Elements a browser test can rely on:
//
//   - #email: the customer's email (prefilled from the customer)
//   - input[name=method][value=card] (#methodCard) and
//     input[name=method][value=us_bank_account] (#methodBank): the method
//     choice, shown for the session's payment_method_types
//   - card: #cardNumber, #cardExpiry ("MM / YY"), #cardCvc, #billingName
//   - bank: #accountHolderName; input[name=bankEntry][value=instant]
//     (#bankInstant, "instant verification (test institution)", which links
//     the test account 000123456789) or [value=manual] (#bankManual, "enter
//     bank details manually", which goes to micro-deposits) with
//     #routingNumber and #accountNumber
//   - #submit: pays (or saves, in setup mode); #cancel: the link back to
//     cancel_url; #error: the message of a refused card or entry
//   - #amount and #business: what is paid, to whom; #product: the line items
//
// Stripe's test cards work (https://docs.stripe.com/testing): 4242… pays,
// 4000000000000002 and 4000000000009995 are declined, 4000002760003184
// and 4000000000003220 ask for 3D Secure on the authentication page
// (#authComplete, #authFail). Bank accounts use routing 110000000 and the
// test account numbers of Stripe's docs. A completed payment redirects
// (303) to success_url with {CHECKOUT_SESSION_ID} replaced.

// testCards maps Stripe's test card numbers to the magic PaymentMethods
// that stand for them.
var testCards = map[string]string{
	"4242424242424242": "pm_card_visa",
	"4000056655665556": "pm_card_visa_debit",
	"5555555555554444": "pm_card_mastercard",
	"378282246310005":  "pm_card_amex",
	"6011111111111117": "pm_card_discover",
	"4000000000000002": "pm_card_visa_chargeDeclined",
	"4000000000009995": "pm_card_visa_chargeDeclinedInsufficientFunds",
	"4000000000009987": "pm_card_visa_chargeDeclinedLostCard",
	"4000000000009979": "pm_card_visa_chargeDeclinedStolenCard",
	"4000000000006975": "pm_card_visa_chargeDeclinedVelocityLimitExceeded",
	"4000000000000069": "pm_card_chargeDeclinedExpiredCard",
	"4000000000000127": "pm_card_chargeDeclinedIncorrectCvc",
	"4000000000000119": "pm_card_chargeDeclinedProcessingError",
	"4100000000000019": "pm_card_chargeDeclinedFraudulent",
	"4000000000000341": "pm_card_chargeCustomerFail",
	"4000002760003184": "pm_card_authenticationRequired",
	"4000000000003220": "pm_card_threeDSecure2Required",
}

// testBankAccounts maps Stripe's test account numbers (routing 110000000)
// to their magic PaymentMethods.
var testBankAccounts = map[string]string{
	"000123456789": "pm_usBankAccount_success",
	"000111111113": "pm_usBankAccount_accountClosed",
	"000111111116": "pm_usBankAccount_noAccount",
	"000222222227": "pm_usBankAccount_insufficientFunds",
	"000333333335": "pm_usBankAccount_debitNotAuthorized",
	"000444444440": "pm_usBankAccount_invalidCurrency",
	"000555555559": "pm_usBankAccount_dispute",
	"000000000009": "pm_usBankAccount_processing",
}

// checkoutForm is what the page posts.
type checkoutForm struct {
	Email, Method                                string
	CardNumber, CardExpiry, CardCvc, BillingName string
	AccountHolderName, BankEntry                 string
	RoutingNumber, AccountNumber                 string
}

func readCheckoutForm(r *http.Request) checkoutForm {
	v := r.PostForm
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return checkoutForm{
		Email: get("email"), Method: get("method"),
		CardNumber: get("cardNumber"), CardExpiry: get("cardExpiry"), CardCvc: get("cardCvc"), BillingName: get("billingName"),
		AccountHolderName: get("accountHolderName"), BankEntry: get("bankEntry"),
		RoutingNumber: get("routingNumber"), AccountNumber: get("accountNumber"),
	}
}

// checkoutView is the data of the checkout template.
type checkoutView struct {
	ID, Business, Mode, Action string
	Items                      []itemView
	Total                      string
	Card, Bank                 bool
	BankInstant, BankManual    bool
	Form                       checkoutForm
	Error                      string
	CancelURL                  string
}

type itemView struct{ Name, Quantity, Amount string }

// view builds the page of sess. The caller holds s.mu.
func (s *Server) checkoutView(sess *sessionRecord, in checkoutForm, msg string) checkoutView {
	v := checkoutView{
		ID: sess.id, Business: s.business, Mode: sess.mode, Action: "/checkout/pay/" + sess.id,
		Card: slices.Contains(sess.methodTypes, typeCardPM), Bank: slices.Contains(sess.methodTypes, typeBankPM),
		BankInstant: sess.verification != "microdeposits", BankManual: sess.verification != "instant",
		Form: in, Error: msg, CancelURL: sess.cancelURL,
	}
	for _, it := range sess.items {
		v.Items = append(v.Items, itemView{Name: it.name, Quantity: strconv.FormatInt(it.quantity, 10),
			Amount: displayAmount(it.unit*it.quantity, sess.currency)})
	}
	if sess.mode == "payment" {
		v.Total = displayAmount(sess.amount, sess.currency)
	}
	if v.Form.Email == "" {
		if cr, ok := s.customers.byID[sess.customer]; ok {
			v.Form.Email = cr.Email
		}
	}
	if v.Form.Method == "" {
		v.Form.Method = sess.methodTypes[0]
	}
	if v.Form.BankEntry == "" {
		v.Form.BankEntry = "instant"
		if !v.BankInstant {
			v.Form.BankEntry = "manual"
		}
	}
	return v
}

// pageSession finds the session of a page request, expiring it if due, or
// returns the notice a customer would see instead. The caller holds s.mu.
func (s *Server) pageSession(id string) (*sessionRecord, *notice) {
	sess, ok := s.pay.sessions[id]
	if !ok {
		return nil, &notice{Title: "Something went wrong", Message: "The page you were looking for could not be found."}
	}
	s.expireIfDue(sess)
	switch sess.status {
	case csExpired:
		return nil, &notice{Title: "This checkout session has expired",
			Message: "The time to complete this checkout has run out.", LinkURL: sess.cancelURL, LinkText: "Return to " + s.business}
	case csComplete:
		return nil, &notice{Title: "Thanks for your payment",
			Message: "This checkout session is complete.", LinkURL: sess.successRedirect(), LinkText: "Continue"}
	}
	return sess, nil
}

// lockPageSession takes s.mu and returns the session of the page. When
// there is none to act on (unknown, expired, complete) it answers with the
// notice a customer would see, releases s.mu and returns nil.
func (s *Server) lockPageSession(w http.ResponseWriter, r *http.Request) *sessionRecord {
	s.mu.Lock()
	sess, n := s.pageSession(r.PathValue("id"))
	if n != nil {
		s.mu.Unlock()
		s.renderNotice(w, http.StatusOK, *n)
		return nil
	}
	return sess
}

func (s *Server) checkoutPage(w http.ResponseWriter, r *http.Request) {
	sess := s.lockPageSession(w, r)
	if sess == nil {
		return
	}
	if s.pendingAuth(sess) {
		s.mu.Unlock()
		http.Redirect(w, r, "/checkout/pay/"+sess.id+"/authenticate", http.StatusSeeOther)
		return
	}
	v := s.checkoutView(sess, checkoutForm{}, "")
	s.mu.Unlock()
	s.render(w, http.StatusOK, "checkout", v)
}

func (s *Server) checkoutSubmit(w http.ResponseWriter, r *http.Request) {
	if !parsePageForm(w, r) {
		return
	}
	in := readCheckoutForm(r)
	sess := s.lockPageSession(w, r)
	if sess == nil {
		return
	}
	entry, msg := in.entry(sess, s.clock())
	if msg != "" {
		v := s.checkoutView(sess, in, msg)
		s.mu.Unlock()
		s.render(w, http.StatusOK, "checkout", v)
		return
	}
	res, err := s.submitCheckout(sess, entry)
	s.respondCheckout(w, r, sess, in, res, err)
}

// respondCheckout answers a submission or an authentication and releases
// s.mu, which the caller holds.
func (s *Server) respondCheckout(w http.ResponseWriter, r *http.Request, sess *sessionRecord, in checkoutForm, res checkoutResult, err error) {
	switch {
	case err != nil:
		v := s.checkoutView(sess, in, err.Error())
		s.mu.Unlock()
		s.render(w, http.StatusBadRequest, "checkout", v)
	case res.failure != nil:
		v := s.checkoutView(sess, in, res.failure.Message)
		s.mu.Unlock()
		s.render(w, http.StatusOK, "checkout", v)
	case res.needsAuth:
		s.mu.Unlock()
		http.Redirect(w, r, "/checkout/pay/"+sess.id+"/authenticate", http.StatusSeeOther)
	default:
		to := sess.successRedirect()
		s.mu.Unlock()
		http.Redirect(w, r, to, http.StatusSeeOther)
	}
}

// Messages the page shows for bad entries, worded as Stripe's payment
// form words them.
const (
	msgEmail          = "Your email address is invalid."
	msgNumberIncomp   = "Your card number is incomplete."
	msgNumberInvalid  = "Your card number is invalid."
	msgNotTestCard    = "Your card was declined. Your request was in test mode, but used a non test card. For a list of valid test cards, visit: https://stripe.com/docs/testing."
	msgExpiryIncomp   = "Your card's expiration date is incomplete."
	msgExpiryPast     = "Your card's expiration date is in the past."
	msgExpiryInvalid  = "Your card's expiration date is invalid."
	msgCvcIncomp      = "Your card's security code is incomplete."
	msgNameIncomp     = "Your name is incomplete."
	msgRouting        = "Your routing number is invalid."
	msgAccountNumber  = "Your account number is invalid."
	msgMethodRequired = "Choose a payment method."
)

// entry checks the form against sess and returns what it stands for, or a
// message to show.
func (in checkoutForm) entry(sess *sessionRecord, now time.Time) (checkoutEntry, string) {
	if !validEmail(in.Email) {
		return checkoutEntry{}, msgEmail
	}
	e := checkoutEntry{email: in.Email}
	if !slices.Contains(sess.methodTypes, in.Method) {
		return e, msgMethodRequired
	}
	if in.Method == typeBankPM {
		return in.bankEntry(sess, e)
	}
	number := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, in.CardNumber)
	switch {
	case len(number) < 13 || !digits(number):
		return e, msgNumberIncomp
	case !luhn(number):
		return e, msgNumberInvalid
	}
	method, ok := testCards[number]
	if !ok {
		return e, msgNotTestCard
	}
	month, year, msg := parseExpiry(in.CardExpiry, now)
	if msg != "" {
		return e, msg
	}
	cvcLen := 3
	if strings.HasPrefix(number, "3") {
		cvcLen = 4
	}
	if len(in.CardCvc) != cvcLen || !digits(in.CardCvc) {
		return e, msgCvcIncomp
	}
	if in.BillingName == "" {
		return e, msgNameIncomp
	}
	e.method, e.expMonth, e.expYear, e.name = method, month, year, in.BillingName
	return e, ""
}

func (in checkoutForm) bankEntry(sess *sessionRecord, e checkoutEntry) (checkoutEntry, string) {
	if in.AccountHolderName == "" {
		return e, msgNameIncomp
	}
	e.name = in.AccountHolderName
	switch {
	case in.BankEntry == "instant" && sess.verification != "microdeposits":
		// The test institution links its success account at once.
		e.method = "pm_usBankAccount_success"
		return e, ""
	case in.BankEntry == "manual" && sess.verification != "instant":
	default:
		return e, msgMethodRequired
	}
	if len(in.RoutingNumber) != 9 || !digits(in.RoutingNumber) || in.RoutingNumber != testBankRouting {
		return e, msgRouting
	}
	method, ok := testBankAccounts[in.AccountNumber]
	if !ok {
		return e, msgAccountNumber
	}
	e.method, e.microdeposits = method, true
	return e, ""
}

// parseExpiry reads "MM / YY" (or MM/YY, MMYY, MM/YYYY).
func parseExpiry(raw string, now time.Time) (month, year int64, msg string) {
	d := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, raw)
	if len(d) != 4 && len(d) != 6 {
		return 0, 0, msgExpiryIncomp
	}
	month, _ = strconv.ParseInt(d[:2], 10, 64)
	year, _ = strconv.ParseInt(d[2:], 10, 64)
	if len(d) == 4 {
		year += 2000
	}
	if month < 1 || month > 12 {
		return 0, 0, msgExpiryInvalid
	}
	if year < int64(now.Year()) || (year == int64(now.Year()) && month < int64(now.Month())) {
		return 0, 0, msgExpiryPast
	}
	return month, year, ""
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// luhn is the card number checksum.
func luhn(number string) bool {
	sum := 0
	for i := range len(number) {
		d := int(number[len(number)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// authView is the data of the 3D Secure page.
type authView struct {
	ID, Business, Total, Action string
}

// authPage is the emulated 3D Secure challenge at
// /checkout/pay/{cs_id}/authenticate: #authComplete and #authFail.
func (s *Server) authPage(w http.ResponseWriter, r *http.Request) {
	sess := s.lockPageSession(w, r)
	if sess == nil {
		return
	}
	if !s.pendingAuth(sess) {
		s.mu.Unlock()
		http.Redirect(w, r, "/checkout/pay/"+sess.id, http.StatusSeeOther)
		return
	}
	v := authView{ID: sess.id, Business: s.business, Action: "/checkout/pay/" + sess.id + "/authenticate"}
	if sess.mode == "payment" {
		v.Total = displayAmount(sess.amount, sess.currency)
	}
	s.mu.Unlock()
	s.render(w, http.StatusOK, "auth", v)
}

func (s *Server) authSubmit(w http.ResponseWriter, r *http.Request) {
	if !parsePageForm(w, r) {
		return
	}
	sess := s.lockPageSession(w, r)
	if sess == nil {
		return
	}
	res, err := s.authenticateCheckout(sess, r.PostForm.Get("action") == "complete")
	s.respondCheckout(w, r, sess, checkoutForm{}, res, err)
}
