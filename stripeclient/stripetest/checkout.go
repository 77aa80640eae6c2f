package stripetest

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"
)

// CheckoutParams describe a customer paying through a Checkout Session
// (mode=payment) for one amount.
type CheckoutParams struct {
	Account  string // connected account; "" is the platform
	Livemode bool
	Customer string // optional cus_ id
	Amount   int64  // minor units
	Currency string // any case
	// PaymentMethod is the magic test id the customer pays with; ""
	// means pm_card_visa. An ACH one (pm_usBankAccount_…) leaves the
	// payment processing.
	PaymentMethod string
	// Metadata stays on the Session; PaymentIntentMetadata is
	// payment_intent_data[metadata], the only metadata the PaymentIntent
	// gets.
	Metadata              map[string]string
	PaymentIntentMetadata map[string]string
	// SetupFutureUsage is payment_intent_data[setup_future_usage]: it
	// saves the method on the customer.
	SetupFutureUsage  string
	ClientReferenceID string
}

type sessionRecord struct {
	id            string
	account       string
	livemode      bool
	customer      string
	amount        int64
	currency      string
	metadata      map[string]string
	clientRef     string
	pi            string
	paymentStatus string // unpaid, paid
	status        string // open, complete
	methodTypes   []string
	created       time.Time
}

// sessionLifetime is how long a Checkout Session stays open by default.
const sessionLifetime = 24 * time.Hour

// CompleteCheckout simulates a customer paying through a Checkout Session:
// the PaymentIntent is created when the customer confirms (API 2022-08-01
// and later), then checkout.session.completed is emitted with the session,
// whose payment_intent is the PaymentIntent and payment_status is paid for
// a card or unpaid for ACH, which settles later with
// checkout.session.async_payment_succeeded or …_failed. A declined card
// leaves the session open: the failed PaymentIntent's id is returned with
// a *PaymentError.
func (s *Server) CompleteCheckout(p CheckoutParams) (sessionID, piID string, err error) {
	pay := PayParams{
		Account: p.Account, Livemode: p.Livemode, Customer: p.Customer, Amount: p.Amount,
		Currency: p.Currency, PaymentMethod: p.PaymentMethod, Metadata: p.PaymentIntentMetadata,
		SetupFutureUsage: p.SetupFutureUsage,
	}
	f := pay.form()
	if aerr := checkCreateIntent(f); aerr != nil {
		return "", "", fmt.Errorf("stripetest: checkout: %s (%s)", aerr.Message, aerr.Param)
	}
	if err := checkMetadata(form{"metadata": toForm(p.Metadata)}); err != nil {
		return "", "", fmt.Errorf("stripetest: checkout: %s (%s)", err.Message, err.Param)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := scope{account: p.Account, livemode: p.Livemode}
	sess := &sessionRecord{
		id: newCheckoutID(p.Livemode), account: p.Account, livemode: p.Livemode, customer: p.Customer,
		amount: p.Amount, currency: strings.ToLower(p.Currency), metadata: maps.Clone(p.Metadata),
		clientRef: p.ClientReferenceID, paymentStatus: "unpaid", status: "open",
		methodTypes: f["payment_method_types"].([]string), created: s.clock(),
	}
	r, err := s.goPayment(sc, f)
	if r == nil {
		return "", "", err
	}
	s.pay.sessions[sess.id] = sess
	if err != nil {
		return sess.id, r.ID, err
	}
	r.session = sess.id
	sess.pi = r.ID
	sess.status = "complete"
	if r.Status == piSucceeded {
		sess.paymentStatus = "paid"
	}
	s.emit(sc, origin{}, "checkout.session.completed", s.renderSession(sess), nil)
	return sess.id, r.ID, nil
}

// asyncCheckoutResult tells a Checkout integration how a delayed (ACH)
// payment ended. The caller holds s.mu.
func (s *Server) asyncCheckoutResult(r *intentRecord, ok bool) {
	sess, found := s.pay.sessions[r.session]
	if !found {
		return
	}
	typ := "checkout.session.async_payment_failed"
	if ok {
		sess.paymentStatus = "paid"
		typ = "checkout.session.async_payment_succeeded"
	}
	s.emit(scope{account: sess.account, livemode: sess.livemode}, origin{}, typ, s.renderSession(sess), nil)
}

func newCheckoutID(livemode bool) string {
	if livemode {
		return newID("cs_live_")
	}
	return newID("cs_test_")
}

func toForm(m map[string]string) form {
	f := form{}
	for k, v := range m {
		f[k] = v
	}
	return f
}

// sessionJSON is the Checkout Session object (API 2023-10-16), mode
// payment.
type sessionJSON struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	AmountSubtotal     int64             `json:"amount_subtotal"`
	AmountTotal        int64             `json:"amount_total"`
	CancelURL          *string           `json:"cancel_url"`
	ClientReferenceID  *string           `json:"client_reference_id"`
	Created            int64             `json:"created"`
	Currency           string            `json:"currency"`
	Customer           *string           `json:"customer"`
	CustomerCreation   *string           `json:"customer_creation"`
	ExpiresAt          int64             `json:"expires_at"`
	Livemode           bool              `json:"livemode"`
	Metadata           map[string]string `json:"metadata"`
	Mode               string            `json:"mode"`
	PaymentIntent      *string           `json:"payment_intent"`
	PaymentMethodTypes []string          `json:"payment_method_types"`
	PaymentStatus      string            `json:"payment_status"`
	Status             string            `json:"status"`
	SuccessURL         *string           `json:"success_url"`
	UIMode             string            `json:"ui_mode"`
	URL                *string           `json:"url"`
}

func (s *Server) renderSession(sess *sessionRecord) sessionJSON {
	md := maps.Clone(sess.metadata)
	if md == nil {
		md = map[string]string{}
	}
	out := sessionJSON{
		ID: sess.id, Object: "checkout.session", AmountSubtotal: sess.amount, AmountTotal: sess.amount,
		ClientReferenceID: nullable(sess.clientRef), Created: sess.created.Unix(), Currency: sess.currency,
		Customer: nullable(sess.customer), ExpiresAt: sess.created.Add(sessionLifetime).Unix(),
		Livemode: sess.livemode, Metadata: md, Mode: "payment", PaymentIntent: nullable(sess.pi),
		PaymentMethodTypes: append([]string{}, sess.methodTypes...), PaymentStatus: sess.paymentStatus,
		Status: sess.status, UIMode: "hosted",
	}
	if sess.status == "open" {
		u := "https://checkout.stripe.com/c/pay/" + sess.id + "#" + strconv.FormatInt(sess.created.Unix(), 36)
		out.URL = &u
	}
	return out
}
