package sync

import (
	"context"
	"strings"

	"github.com/stripesync/stripesync"
)

// collectionEvent applies what an event means for collection, before the
// payment it may also concern is applied: a Checkout Session that
// completed or expired releases its reservation, and a change to a
// customer's saved methods (made in Checkout, the Billing Portal or the
// Dashboard) marks the ledger's copy stale, so that the next page that
// shows them reads them from Stripe. It returns that customer ("" for
// none); processEvents marks each once per batch. The worker itself makes
// no Stripe call for methods: a refresh is two paced calls, which held
// every payment of a burst of Checkouts back from the CRM (each Checkout
// sends checkout.session.completed and payment_method.attached). Both
// steps are idempotent, so a redelivery or the pull's replay costs
// nothing.
func (e *Engine) collectionEvent(ctx context.Context, ev stripesync.Event) (string, error) {
	if e.collect == nil {
		return "", nil
	}
	switch {
	case strings.HasPrefix(ev.Type, "checkout.session."):
		if s, ok := e.collect.collector.EventSession(ev); ok {
			return e.collect.sessionSettled(ctx, ev.Type, s)
		}
	case strings.HasPrefix(ev.Type, "payment_method.") || ev.Type == "customer.updated":
		if id, ok := e.collect.collector.EventMethodCustomer(ev); ok {
			return id, nil
		}
	}
	return "", nil
}

// staleCustomers are the customers whose methods a batch's events changed, in
// the order first asked, with the events that asked.
type staleCustomers struct {
	order []string
	asked map[string][]stripesync.Event
}

func (r *staleCustomers) add(customer string, ev stripesync.Event) {
	if r.asked == nil {
		r.asked = map[string][]stripesync.Event{}
	}
	if _, seen := r.asked[customer]; !seen {
		r.order = append(r.order, customer)
	}
	r.asked[customer] = append(r.asked[customer], ev)
}

// staleMethods marks each customer's saved methods stale. A failure
// fails the events that asked and were otherwise done, so that their
// retry marks again; the others are tried again anyway.
func (e *Engine) staleMethods(ctx context.Context, r staleCustomers, s *settlement) {
	for _, customer := range r.order {
		if err := e.collect.ledger.StaleMethods(ctx, customer); err != nil {
			e.logger.Warn("mark saved methods stale", "customer_id", customer, "error", err)
			s.redo(e, r.asked[customer], err)
		}
	}
}
