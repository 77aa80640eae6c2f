package stripetest

import (
	"errors"
	"fmt"
	"time"
)

// scheduleSettle arranges the settlement of an ACH debit that just went
// processing, when Options.ACHSettleAfter asks for it. The caller holds
// s.mu.
func (s *Server) scheduleSettle(r *intentRecord) {
	pm := s.pay.methods[r.PaymentMethod]
	if s.settleAfter <= 0 || s.closed || pm == nil || pm.method.neverSettles {
		return
	}
	id := r.ID
	r.timer = time.AfterFunc(s.settleAfter, func() {
		if err := s.SettleACH(id); err != nil {
			s.log.Debug("stripe emulator: scheduled ACH settlement skipped", "payment_intent", id, "error", err)
		}
	})
}

// SettleACH ends an ACH debit that is processing, as the bank's answer
// days later would: the PaymentIntent succeeds, or goes back to
// requires_payment_method with last_payment_error, as its test account
// says (pm_usBankAccount_success succeeds, pm_usBankAccount_dispute
// succeeds and is then disputed, the failing accounts fail). It is an
// error to settle a PaymentIntent that is not processing, or one paid from
// pm_usBankAccount_processing, which never settles.
func (s *Server) SettleACH(piID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("stripetest: the emulator is closed")
	}
	r, ok := s.pay.intents[piID]
	if !ok {
		return fmt.Errorf("stripetest: no PaymentIntent %s", piID)
	}
	ch, chOK := s.pay.charges[r.LatestCharge]
	pm, pmOK := s.pay.methods[r.PaymentMethod]
	switch {
	case r.Status != piProcessing || !chOK || !pmOK || pm.method.kind != typeBankPM:
		return fmt.Errorf("stripetest: PaymentIntent %s is %s, not an ACH debit in processing", piID, r.Status)
	case pm.method.neverSettles:
		return fmt.Errorf("stripetest: PaymentIntent %s is paid from a test account that never settles", piID)
	}
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	sc := scope{account: r.Account, livemode: r.Livemode}
	if f := pm.method.fails; f != nil {
		ch.fail(f)
		s.failIntent(r, pm, &PaymentError{Type: typeInvalidRequest, Code: f.code, Message: f.message})
		s.emit(sc, origin{}, "charge.failed", s.renderCharge(ch), nil)
		s.emit(sc, origin{}, "payment_intent.payment_failed", s.renderIntent(r, nil), nil)
		s.asyncCheckoutResult(r, false)
		return nil
	}
	ch.succeed()
	r.Status = piSucceeded
	r.AmountReceived = r.Amount
	s.emit(sc, origin{}, "charge.succeeded", s.renderCharge(ch), nil)
	s.emit(sc, origin{}, "payment_intent.succeeded", s.renderIntent(r, nil), nil)
	s.asyncCheckoutResult(r, true)
	if pm.method.disputed {
		return s.disputeLocked(r)
	}
	return nil
}
