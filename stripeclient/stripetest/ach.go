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

// processingDebit finds the ACH debit of PaymentIntent piID that is
// waiting for the bank's answer. The caller holds s.mu.
func (s *Server) processingDebit(piID string) (*intentRecord, *chargeRecord, *paymentMethod, error) {
	if s.closed {
		return nil, nil, nil, errors.New("stripetest: the emulator is closed")
	}
	r, ok := s.pay.intents[piID]
	if !ok {
		return nil, nil, nil, fmt.Errorf("stripetest: no PaymentIntent %s", piID)
	}
	ch, chOK := s.pay.charges[r.LatestCharge]
	pm, pmOK := s.pay.methods[r.PaymentMethod]
	if r.Status != piProcessing || !chOK || !pmOK || pm.method.kind != typeBankPM {
		return nil, nil, nil, fmt.Errorf("stripetest: PaymentIntent %s is %s, not an ACH debit in processing", piID, r.Status)
	}
	return r, ch, pm, nil
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
	r, ch, pm, err := s.processingDebit(piID)
	if err != nil {
		return err
	}
	if pm.method.neverSettles {
		return fmt.Errorf("stripetest: PaymentIntent %s is paid from a test account that never settles", piID)
	}
	r.stopSettle()
	if f := pm.method.fails; f != nil {
		s.returnDebit(r, ch, pm, f)
		return nil
	}
	sc := scope{account: r.Account, livemode: r.Livemode}
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

// achReturnCodes maps the NACHA return codes ReturnACH takes to the
// failure code Stripe gives the charge, as Stripe's table of ACH network
// codes lists them (https://docs.stripe.com/declines/network-codes). The
// messages are the emulator's own (Stripe's are unverified).
var achReturnCodes = map[string]*failure{
	"R01": achInsufficientFunds,
	"R09": achInsufficientFunds,
	"R02": achReturn("bank_account_closed", "The customer's bank account is closed."),
	"R03": achInvalidDetails,
	"R04": achInvalidDetails,
	"R05": achNotAuthorized,
	"R07": achNotAuthorized,
	"R08": achNotAuthorized,
	"R10": achNotAuthorized,
	"R11": achNotAuthorized,
	"R29": achNotAuthorized,
	"R31": achNotAuthorized,
	"R15": achReturn("recipient_deceased", "The owner of the customer's bank account is reported deceased."),
	"R16": achReturn("bank_account_frozen", "The customer's bank account is frozen."),
	"R20": achReturn("bank_account_restricted", "The customer's bank does not allow direct debits from this account."),
}

var achInvalidDetails = achReturn("bank_account_invalid_details", "The customer's bank account details are not correct.")

// ReturnACH makes the bank return an ACH debit that is processing, with a
// NACHA return code (R01 insufficient funds, R02 account closed, R03 no
// account, R10 not authorized, …; achReturnCodes lists them), whatever its
// test account would have done, pm_usBankAccount_processing included: the
// charge fails with the matching failure code (insufficient_funds,
// bank_account_closed, debit_not_authorized, …), the PaymentIntent goes
// back to requires_payment_method with last_payment_error, and
// charge.failed, payment_intent.payment_failed and, for a Checkout
// payment, checkout.session.async_payment_failed are emitted without a
// request. A debit that has succeeded cannot be returned this way: Stripe
// reports a late, unauthorized return as a dispute, which Dispute makes.
func (s *Server) ReturnACH(piID, code string) error {
	f, ok := achReturnCodes[code]
	if !ok {
		return fmt.Errorf("stripetest: %q is not an ACH return code the emulator knows (R01, R02, R03, R10, …)", code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ch, pm, err := s.processingDebit(piID)
	if err != nil {
		return err
	}
	r.stopSettle()
	s.returnDebit(r, ch, pm, f)
	return nil
}

// returnDebit fails a processing debit with the bank's return f. The
// caller holds s.mu.
func (s *Server) returnDebit(r *intentRecord, ch *chargeRecord, pm *paymentMethod, f *failure) {
	sc := scope{account: r.Account, livemode: r.Livemode}
	ch.fail(f)
	s.failIntent(r, pm, &PaymentError{Type: typeInvalidRequest, Code: f.code, Message: f.message})
	s.emit(sc, origin{}, "charge.failed", s.renderCharge(ch), nil)
	s.emit(sc, origin{}, "payment_intent.payment_failed", s.renderIntent(r, nil), nil)
	s.asyncCheckoutResult(r, false)
}

// stopSettle cancels a scheduled settlement.
func (r *intentRecord) stopSettle() {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}
