package stripetest

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Refund is an emulated refund as tests see it.
type Refund struct {
	ID            string
	Account       string
	Livemode      bool
	Amount        int64 // minor units
	Currency      string
	Charge        string
	PaymentIntent string
	Reason        string
	Status        string // always succeeded: refunds settle at once
	Metadata      map[string]string
	Created       time.Time
}

type refundRecord struct {
	Refund
	seq int64
	txn string
}

var refundFields = map[string]param{
	"payment_intent": {},
	"charge":         {},
	"amount":         {kind: kInt},
	"reason":         {},
	"metadata":       {kind: kMap},
}

func refundEndpoints() []endpoint {
	return []endpoint{
		{
			method: http.MethodPost, path: "/v1/refunds",
			params: withCommon(refundFields),
			notEmulated: []string{"currency", "customer", "instructions_email", "origin",
				"refund_application_fee", "reverse_transfer"},
			check: checkRefund,
			run:   (*Server).createRefund,
		},
		{
			method: http.MethodGet, path: "/v1/refunds/{id}",
			params: withCommon(nil),
			check:  checkNoExpand,
			run:    (*Server).retrieveRefund,
		},
	}
}

func (s *Server) retrieveRefund(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	re, ok := s.pay.refunds[c.path["id"]]
	if !ok || !c.scope.sees(re.Account, re.Livemode) {
		return nil, noSuch("refund", c.path["id"])
	}
	return renderRefund(re), nil
}

func checkRefund(f form) *apiError {
	pi, _ := f.str("payment_intent")
	ch, _ := f.str("charge")
	if pi == "" && ch == "" {
		return invalidParam("parameter_missing", "payment_intent",
			"One of the following params should be provided for this request: payment_intent or charge.")
	}
	if v, ok := f.str("amount"); ok && v != "" && f.int("amount", 0) < 1 {
		return invalidParam("parameter_invalid_integer", "amount", "This value must be greater than or equal to 1.")
	}
	switch r, _ := f.str("reason"); r {
	case "", "duplicate", "fraudulent", "requested_by_customer":
	default:
		return invalidParam("", "reason", "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer")
	}
	if err := checkMetadata(f); err != nil {
		return err
	}
	return checkNoExpand(f)
}

// refundable finds the charge a refund request is about.
func (s *Server) refundable(c *call) (*chargeRecord, *apiError) {
	piID, _ := c.params.str("payment_intent")
	chID, _ := c.params.str("charge")
	if chID == "" {
		r, ok := s.pay.intents[piID]
		if !ok || !c.scope.sees(r.Account, r.Livemode) {
			return nil, invalidRequest(http.StatusBadRequest, "resource_missing", "payment_intent",
				"No such payment_intent: '%s'", piID)
		}
		ch, ok := s.pay.charges[r.LatestCharge]
		if r.Status != piSucceeded || !ok {
			return nil, invalidParam("", "payment_intent",
				"This PaymentIntent (%s) does not have a successful charge to refund.", piID)
		}
		return ch, nil
	}
	ch, ok := s.pay.charges[chID]
	if !ok || !c.scope.sees(ch.Account, ch.Livemode) {
		return nil, invalidRequest(http.StatusBadRequest, "resource_missing", "charge", "No such charge: '%s'", chID)
	}
	if piID != "" && ch.PaymentIntent != piID {
		return nil, invalidParam("", "charge", "The charge %s does not belong to the PaymentIntent %s.", chID, piID)
	}
	if ch.Status != "succeeded" {
		return nil, invalidParam("", "charge", "Charge %s cannot be refunded because its status is %s.", chID, ch.Status)
	}
	return ch, nil
}

func (s *Server) createRefund(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := s.refundable(c)
	if aerr != nil {
		return nil, aerr
	}
	left := ch.Amount - ch.AmountRefunded
	if left == 0 {
		return nil, invalidParam("charge_already_refunded", "", "Charge %s has already been refunded.", ch.ID)
	}
	amount := c.params.int("amount", left)
	if amount > left {
		return nil, invalidParam("", "amount", "Refund amount (%s) is greater than unrefunded amount on charge (%s)",
			formatAmount(amount, ch.Currency), formatAmount(left, ch.Currency))
	}
	re := &refundRecord{seq: s.pay.next(), txn: newID("txn_")}
	re.Refund = Refund{
		ID: newID("re_"), Account: ch.Account, Livemode: ch.Livemode, Amount: amount, Currency: ch.Currency,
		Charge: ch.ID, PaymentIntent: ch.PaymentIntent, Status: "succeeded", Metadata: map[string]string{},
		Created: s.clock(),
	}
	re.Reason, _ = c.params.str("reason")
	applyMetadata(re.Metadata, c.params)
	s.pay.refunds[re.ID] = re

	before := s.renderCharge(ch)
	ch.AmountRefunded += amount
	ch.Refunded = ch.AmountRefunded == ch.Amount
	after := s.renderCharge(ch)
	s.emit(c.scope, c.origin(), "charge.refunded", after, previousAttributes(before, after))
	s.emit(c.scope, c.origin(), "refund.created", renderRefund(re), nil)
	return renderRefund(re), nil
}

// Refunds returns every refund of every scope, oldest first.
func (s *Server) Refunds() []Refund {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := slices.Collect(maps.Values(s.pay.refunds))
	slices.SortFunc(recs, func(a, b *refundRecord) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Refund, len(recs))
	for i, r := range recs {
		out[i] = r.Refund
		out[i].Metadata = maps.Clone(r.Metadata)
	}
	return out
}

// refundJSON is the refund object (API 2023-10-16).
type refundJSON struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Amount             int64             `json:"amount"`
	BalanceTransaction *string           `json:"balance_transaction"`
	Charge             string            `json:"charge"`
	Created            int64             `json:"created"`
	Currency           string            `json:"currency"`
	Metadata           map[string]string `json:"metadata"`
	PaymentIntent      *string           `json:"payment_intent"`
	Reason             *string           `json:"reason"`
	ReceiptNumber      *string           `json:"receipt_number"`
	SourceTransferRev  *string           `json:"source_transfer_reversal"`
	Status             string            `json:"status"`
	TransferReversal   *string           `json:"transfer_reversal"`
}

func renderRefund(re *refundRecord) refundJSON {
	md := maps.Clone(re.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	return refundJSON{
		ID: re.ID, Object: "refund", Amount: re.Amount, BalanceTransaction: nullable(re.txn), Charge: re.Charge,
		Created: re.Created.Unix(), Currency: re.Currency, Metadata: md, PaymentIntent: nullable(re.PaymentIntent),
		Reason: nullable(re.Reason), Status: re.Status,
	}
}

// Refund refunds amount (0 = all that is left) of a succeeded
// PaymentIntent, as the business would from Stripe's dashboard: the same
// checks and events as POST /v1/refunds, with no request behind them.
func (s *Server) Refund(piID string, amount int64) error {
	s.mu.Lock()
	r, ok := s.pay.intents[piID]
	var sc scope
	if ok {
		sc = scope{account: r.Account, livemode: r.Livemode}
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("stripetest: refund: no PaymentIntent %s", piID)
	}
	f := form{"payment_intent": piID}
	if amount > 0 {
		f["amount"] = strconv.FormatInt(amount, 10)
	}
	if _, aerr := s.createRefund(&call{scope: sc, params: f}); aerr != nil {
		return fmt.Errorf("stripetest: refund %s: %s", piID, aerr.Message)
	}
	return nil
}
