package sync

import (
	"context"
	"time"

	"github.com/stripesync/stripesync"
)

// verdict is what the snapshots of one PaymentIntent's events allow.
type verdict int

const (
	complete verdict = iota // record the Payment built from them
	halfOnly                // one half of a pair: the other is likely on its way
	mustRead                // nothing usable: read the PaymentIntent
)

// applySnapshots builds the Payment that the events of one PaymentIntent
// describe, from the objects they carry, and reports whether it is
// complete enough to record without reading Stripe.
//
// A Payment has intent fields (invoice, customer, amount, status) and
// charge fields (the attempt, its time, refunds, dispute, the method). An
// intent snapshot has the first and names its latest charge; a charge
// snapshot has the second. The Payment is complete when:
//
//   - an intent snapshot names no charge (no attempt yet; a charge in
//     the batch is then a later attempt), or
//   - it names one whose snapshot is in the batch, or whose fields the
//     ledger already holds (the same charge recorded before), or
//   - there is only a charge snapshot, and the ledger already holds the
//     PaymentIntent's intent fields.
//
// It is not complete, and the PaymentIntent is read, when the other half
// is nowhere (an intent whose charge was never seen, a charge of a
// PaymentIntent the ledger does not know), when an event carries nothing
// usable (a dispute, a refund, a Checkout Session, an old API version),
// unless a snapshot at least as new covers it, or when no snapshot
// decodes. Stale snapshots need no special case: the result goes through
// RecordPayment, whose state precedence never lets older state win.
func (e *Engine) applySnapshots(ctx context.Context, id string, evs []stripesync.Event, ledger *batchLedger) (stripesync.Payment, verdict, error) {
	var (
		intent        *stripesync.PaymentSnapshot
		intentAt      int64 // the intent snapshot's event time, Unix seconds
		charges       []stripesync.PaymentSnapshot
		newestSnap    int64
		newestUncover int64
	)
	for _, ev := range evs {
		at := ev.Created.Unix()
		s, ok := e.billing.EventSnapshot(ev)
		if !ok {
			newestUncover = max(newestUncover, at)
			continue
		}
		newestSnap = max(newestSnap, at)
		switch {
		case s.Intent:
			if intent == nil || at > intentAt || (at == intentAt && statusAtLeast(s.Payment.Status, intent.Payment.Status)) {
				intent, intentAt = &s, at
			}
		case s.Charge:
			charges = append(charges, s)
		}
	}
	if newestSnap == 0 || newestUncover > newestSnap {
		return stripesync.Payment{}, mustRead, nil
	}

	var want string // the charge to join: the intent's latest, or any
	if intent != nil {
		if intent.LatestChargeID == "" {
			// No attempt when the intent was rendered; a charge in the
			// batch is a later attempt, and says how it went.
			if charge, ok := newestCharge(charges, ""); ok {
				return chargeOnto(intent.Payment, charge), complete, nil
			}
			return intent.Payment, complete, nil
		}
		want = intent.LatestChargeID
	}
	charge, haveCharge := newestCharge(charges, want)
	if intent != nil && haveCharge {
		return withCharge(intent.Payment, charge.Payment), complete, nil
	}

	stored, known, err := ledger.payment(ctx, id)
	switch {
	case err != nil:
		return stripesync.Payment{}, mustRead, err
	case !known:
		return stripesync.Payment{}, halfOnly, nil
	}
	if intent != nil {
		if stored.ChargeID != want || stored.ChargeCreated.IsZero() {
			return stripesync.Payment{}, halfOnly, nil
		}
		return withCharge(intent.Payment, stored), complete, nil
	}
	if !haveCharge {
		return stripesync.Payment{}, halfOnly, nil
	}
	return chargeOnto(stored, charge), complete, nil
}

// batchLedger is the ledger's payments for the PaymentIntents of one batch,
// read together the first time one of them is needed: a batch of halves
// (each waiting for its other half, or for a read) costs one query rather
// than one per PaymentIntent, and a batch of whole pairs, which never asks,
// costs none.
type batchLedger struct {
	payments stripesync.PaymentLedger
	ids      []string // the batch's PaymentIntents
	stored   map[string]stripesync.Payment
	err      error
	read     bool
}

func newBatchLedger(payments stripesync.PaymentLedger, ids []string) *batchLedger {
	return &batchLedger{payments: payments, ids: ids}
}

// payment returns the stored payment of PaymentIntent id, one of the
// batch's, and whether the ledger knows it.
func (l *batchLedger) payment(ctx context.Context, id string) (stripesync.Payment, bool, error) {
	if !l.read {
		l.stored, l.err = l.payments.PaymentsByID(ctx, l.ids)
		l.read = true
	}
	p, ok := l.stored[id]
	return p, ok, l.err
}

// statusAtLeast reports whether status a is at least as far along as b
// within one attempt (the rank Payment.Supersedes uses).
func statusAtLeast(a, b stripesync.PaymentStatus) bool {
	return stripesync.Payment{Status: a}.Supersedes(stripesync.Payment{Status: b})
}

// newestCharge picks, among the charge snapshots of charge want (any
// charge when want is ""), the one that supersedes the others.
func newestCharge(charges []stripesync.PaymentSnapshot, want string) (stripesync.PaymentSnapshot, bool) {
	var best stripesync.PaymentSnapshot
	found := false
	for _, c := range charges {
		if want != "" && c.Payment.ChargeID != want {
			continue
		}
		if !found || asPayment(c).Supersedes(asPayment(best)) {
			best, found = c, true
		}
	}
	return best, found
}

// asPayment is a charge snapshot with the status it implies, for ordering.
func asPayment(c stripesync.PaymentSnapshot) stripesync.Payment {
	p := c.Payment
	p.Status = c.ChargeStatus
	return p
}

// withCharge is the intent fields of intent with the charge fields of
// charge.
func withCharge(intent, charge stripesync.Payment) stripesync.Payment {
	p := intent
	p.ChargeID = charge.ChargeID
	p.ChargeCreated = charge.ChargeCreated
	p.Refunded = charge.Refunded
	p.Disputed = charge.Disputed
	p.Method, p.MethodDetail = charge.Method, charge.MethodDetail
	p.PaidAt = time.Time{}
	if p.Status == stripesync.PaymentSucceeded {
		p.PaidAt = p.ChargeCreated
	}
	return p
}

// chargeOnto applies a charge snapshot to the payment the ledger holds:
// its charge fields, and the status the charge implies, unless the ledger
// already has that charge at a status as far along (a canceled intent
// whose failed charge is seen again stays canceled).
func chargeOnto(stored stripesync.Payment, c stripesync.PaymentSnapshot) stripesync.Payment {
	p := stored
	if stored.ChargeID != c.Payment.ChargeID || !statusAtLeast(stored.Status, c.ChargeStatus) {
		p.Status = c.ChargeStatus
		p.FailureReason = c.Payment.FailureReason
	}
	return withCharge(p, c.Payment)
}
