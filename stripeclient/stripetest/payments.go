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
	setups   map[string]*setupRecord
	micro    map[string]*microdeposits // by the hosted verification page's id
	portals  map[string]*portalSession // by the page's token
	// portalConfig is the emulator's one billing portal configuration.
	portalConfig string
}

func (ps *paymentStore) init() {
	ps.methods = map[string]*paymentMethod{}
	ps.intents = map[string]*intentRecord{}
	ps.charges = map[string]*chargeRecord{}
	ps.refunds = map[string]*refundRecord{}
	ps.disputes = map[string]*disputeRecord{}
	ps.sessions = map[string]*sessionRecord{}
	ps.setups = map[string]*setupRecord{}
	ps.micro = map[string]*microdeposits{}
	ps.portals = map[string]*portalSession{}
}

func (ps *paymentStore) next() int64 {
	ps.seq++
	return ps.seq
}

// stopTimers cancels every scheduled ACH settlement.
func (ps *paymentStore) stopTimers() {
	for _, r := range ps.intents {
		r.stopSettle()
	}
}
