package stripetest

// paymentStore holds every payment object of every scope; the Server's
// mutex guards it. seq orders objects by creation across all of them, so
// lists are newest first even within one second.
type paymentStore struct {
	seq      int64
	methods  map[string]*paymentMethod
	intents  map[string]*intentRecord
	charges  map[string]*chargeRecord
	refunds  map[string]*refundRecord
	disputes map[string]*disputeRecord
	sessions map[string]*sessionRecord
}

func (ps *paymentStore) init() {
	ps.methods = map[string]*paymentMethod{}
	ps.intents = map[string]*intentRecord{}
	ps.charges = map[string]*chargeRecord{}
	ps.refunds = map[string]*refundRecord{}
	ps.disputes = map[string]*disputeRecord{}
	ps.sessions = map[string]*sessionRecord{}
}

func (ps *paymentStore) next() int64 {
	ps.seq++
	return ps.seq
}

// stopTimers cancels every scheduled ACH settlement.
func (ps *paymentStore) stopTimers() {
	for _, r := range ps.intents {
		if r.timer != nil {
			r.timer.Stop()
			r.timer = nil
		}
	}
}
