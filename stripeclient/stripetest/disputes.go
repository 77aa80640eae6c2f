package stripetest

import (
	"errors"
	"fmt"
	"time"
)

type disputeRecord struct {
	id       string
	account  string
	livemode bool
	amount   int64
	currency string
	charge   string
	pi       string
	reason   string
	created  time.Time
}

// disputeJSON is the dispute object (API 2023-10-16) as
// charge.dispute.created carries it.
type disputeJSON struct {
	ID                  string              `json:"id"`
	Object              string              `json:"object"`
	Amount              int64               `json:"amount"`
	BalanceTransactions []any               `json:"balance_transactions"`
	Charge              string              `json:"charge"`
	Created             int64               `json:"created"`
	Currency            string              `json:"currency"`
	Evidence            struct{}            `json:"evidence"`
	EvidenceDetails     evidenceDetailsJSON `json:"evidence_details"`
	IsChargeRefundable  bool                `json:"is_charge_refundable"`
	Livemode            bool                `json:"livemode"`
	Metadata            map[string]string   `json:"metadata"`
	PaymentIntent       *string             `json:"payment_intent"`
	Reason              string              `json:"reason"`
	Status              string              `json:"status"`
}

type evidenceDetailsJSON struct {
	DueBy           int64 `json:"due_by"`
	HasEvidence     bool  `json:"has_evidence"`
	PastDue         bool  `json:"past_due"`
	SubmissionCount int   `json:"submission_count"`
}

// evidenceWindow is how long a merchant has to answer a dispute.
const evidenceWindow = 7 * 24 * time.Hour

// Dispute makes the customer dispute the PaymentIntent's latest charge, as
// a cardholder (or, for ACH, the account holder) would: the charge becomes
// disputed and charge.dispute.created is emitted with the dispute, whose
// charge and payment_intent name the payment. The charge must have
// succeeded and not be disputed already.
func (s *Server) Dispute(piID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("stripetest: the emulator is closed")
	}
	r, ok := s.pay.intents[piID]
	if !ok {
		return fmt.Errorf("stripetest: no PaymentIntent %s", piID)
	}
	return s.disputeLocked(r)
}

func (s *Server) disputeLocked(r *intentRecord) error {
	ch, ok := s.pay.charges[r.LatestCharge]
	switch {
	case !ok || ch.Status != "succeeded":
		return fmt.Errorf("stripetest: PaymentIntent %s has no succeeded charge to dispute", r.ID)
	case ch.Disputed:
		return fmt.Errorf("stripetest: charge %s is already disputed", ch.ID)
	}
	d := &disputeRecord{
		id: newID("dp_"), account: ch.Account, livemode: ch.Livemode,
		amount: ch.Amount - ch.AmountRefunded, currency: ch.Currency, charge: ch.ID, pi: r.ID,
		reason: "fraudulent", created: s.clock(),
	}
	if ch.MethodType == typeBankPM {
		d.reason = "debit_not_authorized"
	}
	s.pay.disputes[d.id] = d
	ch.Disputed = true
	s.emit(scope{account: d.account, livemode: d.livemode}, origin{}, "charge.dispute.created", renderDispute(d), nil)
	return nil
}

func renderDispute(d *disputeRecord) disputeJSON {
	return disputeJSON{
		ID: d.id, Object: "dispute", Amount: d.amount, BalanceTransactions: []any{}, Charge: d.charge,
		Created: d.created.Unix(), Currency: d.currency,
		EvidenceDetails: evidenceDetailsJSON{DueBy: d.created.Add(evidenceWindow).Unix()},
		Livemode:        d.livemode, Metadata: map[string]string{}, PaymentIntent: nullable(d.pi),
		Reason: d.reason, Status: "needs_response",
	}
}
