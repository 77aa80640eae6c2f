package stripetest

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// PayParams describe a payment made outside the daemon, as a customer's
// browser makes it with Stripe.js: the PaymentIntent is created and
// confirmed on session, 3D Secure is completed, and an ACH mandate is
// accepted.
type PayParams struct {
	Account  string // connected account; "" is the platform
	Livemode bool
	Customer string // optional cus_ id
	Amount   int64  // minor units
	Currency string // any case
	// PaymentMethod is a magic test id (pm_card_visa,
	// pm_usBankAccount_success, …) or a pm_ id made earlier; "" means
	// pm_card_visa.
	PaymentMethod    string
	Metadata         map[string]string
	Description      string
	SetupFutureUsage string // on_session or off_session to save the method on the customer
}

// Pay creates and confirms a PaymentIntent as Stripe.js would and returns
// its id. Events are emitted as for an API payment, without a request. A
// card that is declined leaves a failed PaymentIntent: its id is returned
// with a *PaymentError. An ACH payment returns while processing.
func (s *Server) Pay(p PayParams) (piID string, err error) {
	f := p.form()
	if aerr := checkCreateIntent(f); aerr != nil {
		return "", fmt.Errorf("stripetest: pay: %s (%s)", aerr.Message, aerr.Param)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.accountFor(p.Account); err != nil {
		return "", err
	}
	r, err := s.goPayment(scope{account: p.Account, livemode: p.Livemode}, f)
	if r == nil {
		return "", err
	}
	return r.ID, err
}

func (p PayParams) form() form {
	f := form{
		"amount":   strconv.FormatInt(p.Amount, 10),
		"currency": p.Currency,
		"confirm":  "true",
	}
	setIf(f, "customer", p.Customer)
	setIf(f, "payment_method", cmpOr(p.PaymentMethod, "pm_card_visa"))
	setIf(f, "description", p.Description)
	setIf(f, "setup_future_usage", p.SetupFutureUsage)
	if len(p.Metadata) > 0 {
		md := form{}
		for k, v := range p.Metadata {
			md[k] = v
		}
		f["metadata"] = md
	}
	// The payment form offers cards, and bank accounts for USD.
	types := []string{typeCardPM}
	if strings.EqualFold(p.Currency, "usd") {
		types = append(types, typeBankPM)
	}
	f["payment_method_types"] = types
	// Stripe.js collects the ACH mandate on the page.
	f["mandate_data"] = form{"customer_acceptance": form{
		"type":   "online",
		"online": form{"ip_address": "127.0.0.1", "user_agent": "stripetest"},
	}}
	return f
}

func setIf(f form, name, v string) {
	if v != "" {
		f[name] = v
	}
}

// goPayment creates and confirms a PaymentIntent for a Go-level payment.
// It returns the record when one was made, and the failure: a
// *PaymentError for a declined card, another error for a refused request.
// The caller holds s.mu.
func (s *Server) goPayment(sc scope, f form) (*intentRecord, error) {
	if s.closed {
		return nil, errors.New("stripetest: the emulator is closed")
	}
	r, aerr := s.newIntent(sc, origin{}, f, true)
	switch {
	case aerr == nil:
		return r, nil
	case aerr.status == http.StatusPaymentRequired && r != nil && r.LastPaymentError != nil:
		e := *r.LastPaymentError
		return r, &e
	}
	return r, fmt.Errorf("stripetest: payment refused: %s (%s)", aerr.Message, aerr.Param)
}
